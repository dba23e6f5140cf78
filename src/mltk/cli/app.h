#pragma once
// What every command-line tool shares: common flags, logging and LibTorch set-up, and the mapping
// of failures to exit codes (0 success, 1 failure, 2 usage error).
#include <CLI/CLI.hpp>

#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace mltk::cli {

struct CommonOptions {
  bool verbose = false;
  std::string log_file;
  int threads = 0;
};

// Adds --verbose, --log_file and --threads to `app`.
void add_common_options(CLI::App& app, CommonOptions& options);

// The message of `error` without the C++ backtrace LibTorch appends after the first line; users
// need only the message.
std::string message_of(const std::exception& error);

// Parses argv, sets up logging and LibTorch, then runs `body`. Exceptions from `body` are logged as
// errors and give exit code 1; command-line errors print the usage problem and give 2.
int run(CLI::App& app, const CommonOptions& options, int argc, char** argv, const std::function<int()>& body);

}  // namespace mltk::cli
