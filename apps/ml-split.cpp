// ml-split: writes the stratified cross-validation folds and test set of an image-folder dataset.
#include "mltk/cli/tool_mains.h"

int main(int argc, char** argv) { return mltk::cli::ml_split_main(argc, argv); }
