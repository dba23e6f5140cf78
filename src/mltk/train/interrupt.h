#pragma once
// Ctrl-C during training: the first SIGINT only raises a flag, so the current batch finishes and
// last.pt is saved before the process exits with 130.
namespace mltk::train {

// Installs the SIGINT handler (idempotent).
void install_interrupt_handler();
bool interrupt_requested();

}  // namespace mltk::train
