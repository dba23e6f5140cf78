// ml-export: exports trained checkpoints to ONNX and validates the files against LibTorch.
#include "mltk/cli/tool_mains.h"

int main(int argc, char** argv) { return mltk::cli::ml_export_main(argc, argv); }
