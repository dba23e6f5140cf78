// ml-init-config: writes a commented starting configuration for a dataset folder.
#include "mltk/cli/tool_mains.h"

int main(int argc, char** argv) { return mltk::cli::ml_init_config_main(argc, argv); }
