// ml-import-fashion-mnist: writes a class-folder subset of Fashion-MNIST (Debian's
#include "mltk/cli/tool_mains.h"

int main(int argc, char** argv) { return mltk::cli::ml_import_fashion_mnist_main(argc, argv); }
