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
  // Data-parallel training: the loader yields only shard `shard` of `num_shards`, the samples at
  // positions shard, shard + num_shards, ... of the epoch's order, as DistributedSampler does. With
  // pad_shards the order is first extended by repeating its start until every shard has the same
  // length, so that every process takes the same number of steps.
  size_t num_shards = 1, shard = 0;
  bool pad_shards = false;
};

struct Batch {
  torch::Tensor images;                // float [N, 3, H, W]
  torch::Tensor labels;                // int64 [N]
  std::vector<size_t> sample_indices;  // positions in the loader's sample list
};

// Batches come out in order, and their content depends only on (seed, epoch, sample order), never
// on thread scheduling, num_workers or the shard: the epoch's order is one permutation of every
// sample, and each image's augmentation is drawn from (seed, epoch, its index in the sample list).
// An image that cannot be decoded is logged once (WARNING with its path) and left out of that and
// every later epoch; its batch is one sample smaller. A sharded loader keeps it in the order, so
// that every process's order stays the same, and leaves it out of its batch every epoch.
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
  // Batches of this loader's shard in one epoch.
  size_t num_batches() const;
  // Paths found undecodable so far, in the order they were found.
  std::vector<std::string> skipped_files() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mltk::data
