#include "mltk/cli/validation_data.h"

#include "mltk/checkpoint/checkpoint.h"
#include "mltk/data/split_index.h"
#include "mltk/inference/image_predictions.h"
#include "mltk/inference/loaded_model.h"
#include "mltk/pipeline/dataset.h"
#include "mltk/pipeline/transform_options.h"

#include <algorithm>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace mltk::cli {
namespace {

namespace fs = std::filesystem;

// Large enough to keep both runtimes busy, small enough that a batch of 224x224 images stays
// around 10 MB.
constexpr int64_t kValidationBatchSize = 16;

// Fixed so that two exports of one checkpoint calibrate on the same images.
constexpr uint64_t kImageChoiceSeed = 20240601;

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

std::optional<std::string> existing_index(const checkpoint::Checkpoint& checkpoint, const std::string& checkpoint_path,
                                          bool training) {
  const auto config = inference::checkpoint_config(checkpoint, checkpoint_path);
  if (!config.data.dataset_name) return std::nullopt;
  const auto splits = pipeline::dataset_layout(config).splits_dir;
  const auto path = training ? data::fold_index_path(splits, config.data.fold, "train") : data::test_index_path(splits);
  if (!fs::is_regular_file(path)) return std::nullopt;
  return path;
}

}  // namespace

validate::ValidationImages load_validation_data(const std::string& path, const checkpoint::Checkpoint& checkpoint,
                                                const std::string& checkpoint_path) {
  return load_image_data("--validation_data", path, checkpoint, checkpoint_path, std::nullopt);
}

validate::ValidationImages load_image_data(const std::string& flag, const std::string& path,
                                           const checkpoint::Checkpoint& checkpoint, const std::string& checkpoint_path,
                                           std::optional<int64_t> max_images) {
  if (!fs::exists(path)) throw std::runtime_error(flag + " " + path + " does not exist");
  const auto config = inference::checkpoint_config(checkpoint, checkpoint_path);
  const bool is_index = fs::is_regular_file(path) && fs::path(path).extension() == ".txt";
  auto samples = is_index ? data::read_index(path, raw_folder_for_index(path, config), checkpoint.class_names)
                          : samples_of_images(path, checkpoint.class_names);
  if (samples.empty()) throw std::runtime_error(flag + " " + path + " holds no image file");
  if (max_images && static_cast<int64_t>(samples.size()) > *max_images) {
    std::shuffle(samples.begin(), samples.end(), std::mt19937_64(kImageChoiceSeed));
    samples.resize(static_cast<size_t>(*max_images));
  }

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

std::optional<std::string> training_index_of(const checkpoint::Checkpoint& checkpoint, const std::string& checkpoint_path) {
  return existing_index(checkpoint, checkpoint_path, true);
}

std::optional<std::string> test_index_of(const checkpoint::Checkpoint& checkpoint, const std::string& checkpoint_path) {
  return existing_index(checkpoint, checkpoint_path, false);
}

}  // namespace mltk::cli
