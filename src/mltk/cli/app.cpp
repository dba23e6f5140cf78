#include "mltk/cli/app.h"

#include "mltk/common/logging.h"
#include "mltk/common/torch_runtime.h"

#include <exception>

namespace mltk::cli {

void add_common_options(CLI::App& app, CommonOptions& options) {
  app.add_flag("--verbose,-v", options.verbose, "Print debug lines");
  app.add_option("--log_file", options.log_file, "Also write the log to this file");
  app.add_option("--threads", options.threads, "LibTorch intra-op threads (default: OMP_NUM_THREADS or every core)")
      ->check(CLI::NonNegativeNumber);
}

std::string message_of(const std::exception& error) {
  std::string message = error.what();
  if (const auto cut = message.find("\nException raised from"); cut != std::string::npos) message.resize(cut);
  return message;
}

int run(CLI::App& app, const CommonOptions& options, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  log::init(options.verbose);
  try {
    if (!options.log_file.empty()) log::add_file(options.log_file);
    configure_torch_runtime(options.threads > 0 ? std::optional<int>(options.threads) : std::nullopt);
    return body();
  } catch (const std::exception& e) {
    log::error("{}", message_of(e));
    return 1;
  }
}

}  // namespace mltk::cli
