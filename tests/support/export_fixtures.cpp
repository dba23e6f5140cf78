#include "support/export_fixtures.h"

#include "mltk/checkpoint/checkpoint.h"
#include "mltk/models/zoo.h"

#include <torch/torch.h>

namespace mltk::testkit {

std::string save_model_checkpoint(const TempDir& dir, const std::string& name, const std::string& architecture) {
  torch::manual_seed(11);
  const auto model = models::create_model({architecture, 3, kExportInputSize, std::nullopt});
  checkpoint::Checkpoint checkpoint;
  checkpoint.model_state_dict = checkpoint::state_dict_of(*model);
  checkpoint.model = {"custom", architecture, 3, kExportInputSize};
  checkpoint.class_names = {"ants", "bees", "wasps"};
  checkpoint.epoch = 4;
  const std::string path = dir.file(name);
  checkpoint::save_checkpoint(checkpoint, path);
  return path;
}

CliRun ml_export(const std::vector<std::string>& args) {
  std::vector<std::string> argv{MLTK_BINARY_DIR "/bin/ml-export"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = run_process(argv);
  return {result.exit_code, result.out + result.err};
}

}  // namespace mltk::testkit
