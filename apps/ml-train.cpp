// ml-train: trains an image classifier from a YAML configuration.
#include "mltk/cli/tool_mains.h"

int main(int argc, char** argv) { return mltk::cli::ml_train_main(argc, argv); }
