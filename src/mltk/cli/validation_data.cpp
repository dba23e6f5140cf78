#include "mltk/cli/validation_data.h"

#include "mltk/checkpoint/checkpoint.h"
#include "mltk/data/split_index.h"
#include "mltk/inference/image_predictions.h"
#include "mltk/inference/loaded_model.h"
#include "mltk/pipeline/dataset.h"
#include "mltk/pipeline/transform_options.h"

#include <filesystem>
#include <stdexcept>

namespace mltk::cli {
namespace {

namespace fs = std::filesystem;

// Large enough to keep both runtimes busy, small enough that a batch of 224x224 images stays
// around 10 MB.
constexpr int64_t kValidationBatchSize = 16;

std::vector<data::Sample> samples_of_images(const std::string& path, const std::vector<std::string>& class_names) {
  std::vector<data::Sample> samples;
  for (const auto& image : inference::collect_images({path}))
    samples.push_back({image, data::class_of(image, class_names).value_or(-1)});
  return samples;
}

// ml-split writes <dataset>/splits/*.txt beside <dataset>/raw, which makes the index usable from
// any working directory; the configuration's data_dir is the fallback for indexes kept elsewhere.
std::string raw_folder_for_index(const std::string& index_file, const config::Config& config) {
  const auto beside = fs::absolute(index_file).parent_path().parent_path() / "raw";
  if (fs::is_directory(beside)) return beside.string();
  return pipeline::dataset_layout(config).raw_dir;
}

}  // namespace

validate::ValidationImages load_validation_data(const std::string& path, const checkpoint::Checkpoint& checkpoint,
                                                const std::string& checkpoint_path) {
  if (!fs::exists(path)) throw std::runtime_error("--validation_data " + path + " does not exist");
  const auto config = inference::checkpoint_config(checkpoint, checkpoint_path);
  const bool is_index = fs::is_regular_file(path) && fs::path(path).extension() == ".txt";
  auto samples = is_index ? data::read_index(path, raw_folder_for_index(path, config), checkpoint.class_names)
                          : samples_of_images(path, checkpoint.class_names);
  if (samples.empty())
    throw std::runtime_error("--validation_data " + path + " holds no image file");

  data::LoaderOptions options;
  options.batch_size = kValidationBatchSize;
  options.num_workers = config.data.num_workers;
  // Scaling by 255 and no offset leave the resized and cropped pixel values as they are, which
  // each side of the validation then normalises as it takes them.
  auto transform = pipeline::eval_transform_options(config);
  transform.mean = {0, 0, 0};
  transform.std = {1 / 255.0, 1 / 255.0, 1 / 255.0};
  auto loader = std::make_shared<data::DataLoader>(std::move(samples), std::make_shared<const data::EvalTransform>(transform),
                                                   options);
  return {path, std::move(loader)};
}

}  // namespace mltk::cli
