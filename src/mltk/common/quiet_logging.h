#pragma once
// For processes that work beside a leading one (the other ranks of a data-parallel job): their
// console and file lines are only warnings and errors, each starting with `prefix`, so that the
// leader's log is not repeated once per process.
#include <string>

namespace mltk::log {

// Applies to the default logger installed by log::init and to files added later.
void keep_only_warnings(const std::string& prefix);

}  // namespace mltk::log
