// ml-export: exports trained checkpoints to ONNX and validates the files against LibTorch.
#include "mltk/cli/tool_mains.h"

#include "mltk/cli/app.h"
#include "mltk/cli/export_command.h"

namespace mltk::cli {

int ml_export_main(int argc, char** argv) {
  CLI::App app{"ml-export: export checkpoints to ONNX and check that the ONNX file computes what the\n"
               "checkpoint's model computes (see docs/ml-export.md)."};
  cli::ExportFlags flags;
  cli::CommonOptions common;
  cli::add_export_options(app, flags);
  cli::add_common_options(app, common);
  return cli::run(app, common, argc, argv, [&] {
    flags.settings.runtime_threads = common.threads;
    return cli::run_export_command(flags);
  });
}

}  // namespace mltk::cli
