#pragma once
// Ctrl-C (SIGINT) or SIGTERM during training: the first signal only raises a flag, so the current
// batch finishes and last.pt is saved before the process exits with 128 + the signal number.
namespace mltk::train {

// Installs the SIGINT and SIGTERM handler (idempotent).
void install_interrupt_handler();
bool interrupt_requested();
// The signal that asked to stop (SIGINT or SIGTERM), 0 while none has.
int interrupt_signal();

}  // namespace mltk::train
