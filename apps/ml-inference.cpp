// ml-inference: evaluates a trained checkpoint on its dataset's test split, or classifies images.
#include "mltk/cli/tool_mains.h"

int main(int argc, char** argv) { return mltk::cli::ml_inference_main(argc, argv); }
