#include "mltk/train/interrupt.h"

#include <csignal>

namespace mltk::train {

namespace {
volatile std::sig_atomic_t interrupted = 0;

void on_sigint(int) {
  // A second Ctrl-C while the batch finishes means the user wants out now: restore the default
  // action so that it terminates the process.
  if (interrupted) std::signal(SIGINT, SIG_DFL);
  interrupted = 1;
}
}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }
bool interrupt_requested() { return interrupted != 0; }

}  // namespace mltk::train
