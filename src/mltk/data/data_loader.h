#pragma once
// Batches of decoded, transformed images, prepared ahead by worker threads.
#include "mltk/data/split_index.h"
#include "mltk/data/transforms.h"

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mltk::data {

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = false;
  uint64_t seed = 42;
  int num_workers = 0;        // 0: decode and transform inline in next()
  int prefetch_batches = 2;   // batches prepared ahead of the consumer
  bool drop_last = false;
};

struct Batch {
  torch::Tensor images;                // float [N, 3, H, W]
  torch::Tensor labels;                // int64 [N]
  std::vector<size_t> sample_indices;  // positions in the loader's sample list
};

// Batches come out in order, and their content depends only on (seed, epoch, sample order), never
// on thread scheduling or num_workers. An image that cannot be decoded is logged once (WARNING
// with its path) and left out of that and every later epoch; its batch is one sample smaller.
class DataLoader {
 public:
  DataLoader(std::vector<Sample> samples, std::shared_ptr<const ImageTransform> transform, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Starts (or restarts) iteration: the order is shuffled with (seed, epoch) when shuffle is set.
  void start_epoch(int epoch);
  // The next batch of the current epoch, or nullopt at its end.
  std::optional<Batch> next();

  // Samples given minus those found undecodable so far.
  size_t num_samples() const;
  size_t num_batches() const;
  // Paths found undecodable so far, in the order they were found.
  std::vector<std::string> skipped_files() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mltk::data
