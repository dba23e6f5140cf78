#pragma once
// The command-line tools' entry points, one per tool: apps/<tool>.cpp's main() only calls its own.
// The tools' code lives in the library (src/mltk/cli/tools/), where the CLI11 and LibTorch headers
// it needs are compiled once per batch of files instead of once per tool.

namespace mltk::cli {

int ml_export_main(int argc, char** argv);
int ml_import_fashion_mnist_main(int argc, char** argv);
int ml_inference_main(int argc, char** argv);
int ml_init_config_main(int argc, char** argv);
int ml_report_main(int argc, char** argv);
int ml_split_main(int argc, char** argv);
int ml_train_main(int argc, char** argv);

}  // namespace mltk::cli
