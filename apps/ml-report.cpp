// ml-report: compares the runs of a cross-validation and names the fold to deploy.
#include "mltk/cli/tool_mains.h"

int main(int argc, char** argv) { return mltk::cli::ml_report_main(argc, argv); }
