#include "mltk/train/interrupt.h"

#include <csignal>

namespace mltk::train {

namespace {
volatile std::sig_atomic_t received_signal = 0;

void on_signal(int signal) {
  received_signal = signal;
  // A second signal while the batch finishes means the user wants out now: it gets the default
  // action, which ends the process.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}
}  // namespace

// Launchers and job schedulers stop a process with SIGTERM, a terminal with SIGINT: both save last.pt.
void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}
bool interrupt_requested() { return received_signal != 0; }
int interrupt_signal() { return received_signal; }

}  // namespace mltk::train
