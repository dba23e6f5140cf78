// Decode + train augmentation throughput of the DataLoader, for bench/decode_augment_benchmark.py.
// Usage: mltk_decode_augment TRAIN_DIR WORKERS EPOCHS   (TRAIN_DIR holds one folder per class)
// Prints one JSON object: images delivered, seconds and images per second over the timed epochs.
#include "mltk/common/torch_runtime.h"
#include "mltk/config/config.h"
#include "mltk/data/class_folders.h"
#include "mltk/data/data_loader.h"
#include "mltk/data/splitter.h"
#include "mltk/pipeline/transform_options.h"

#include <chrono>
#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
  using namespace mltk;
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " TRAIN_DIR WORKERS EPOCHS\n";
    return 2;
  }
  const std::string train_dir = argv[1];
  // One intra-op thread: the workers are the parallelism, as in PyTorch's DataLoader workers.
  configure_torch_runtime(1);
  const auto classes = data::discover_classes(train_dir);
  std::vector<data::Sample> samples;
  for (size_t label = 0; label < classes.size(); ++label)
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(train_dir) / classes[label]))
      if (data::has_image_extension(entry.path().string()))
        samples.push_back({entry.path().string(), static_cast<int64_t>(label)});

  data::LoaderOptions options;
  options.shuffle = true;
  options.num_workers = std::stoi(argv[2]);
  const int epochs = std::stoi(argv[3]);
  data::DataLoader loader(samples, std::make_shared<data::TrainTransform>(pipeline::train_transform_options(config::default_config())), options);
  const auto run_epoch = [&loader](int epoch) {
    size_t images = 0;
    loader.start_epoch(epoch);
    while (auto batch = loader.next()) images += batch->sample_indices.size();
    return images;
  };
  run_epoch(-1);  // warm-up: page cache and allocator, as the Python side gets
  size_t images = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int epoch = 0; epoch < epochs; ++epoch) images += run_epoch(epoch);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "{\"images\": " << images << ", \"seconds\": " << seconds << ", \"img_per_s\": " << images / seconds
            << "}\n";
  return 0;
}
