#pragma once
// runs/<run>/report.html: a training run's page, rewritten after every epoch so it can be reloaded
// while the run goes on.
#include "mltk/train/run_status.h"

#include "mltk/report/page.h"

#include <string>

namespace mltk::report {

// The run folder's report.html.
std::string run_page_path(const train::RunFolder& folder);

// The page: status and key figures, curves (loss, accuracy, learning rate, images/s) with the best
// epoch, resumes and early stop marked, the epoch table, the configuration and environment, and
// after training the test evaluation of best.pt.
Page run_page(const train::RunStatus& status);

// Writes run_page() atomically; a failure is logged as a warning, never stopping the training. The
// write time is logged at debug level (--verbose).
void write_run_page(const train::RunStatus& status);

}  // namespace mltk::report
