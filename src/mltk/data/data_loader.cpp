#include "mltk/data/data_loader.h"

#include "mltk/common/logging.h"
#include "mltk/data/image_io.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <thread>

namespace mltk::data {

struct DataLoader::Impl {
  std::vector<Sample> samples;
  std::shared_ptr<const ImageTransform> transform;
  LoaderOptions options;

  mutable std::mutex mutex;
  std::condition_variable work_available, batch_ready;
  std::set<size_t> undecodable;     // sample indices, excluded from later epochs
  std::vector<std::string> skipped;  // their paths, in the order found

  // The epoch in progress. Workers take batch numbers in order; the consumer returns them in order.
  int epoch = 0;
  bool started = false, stopping = false;
  std::vector<std::vector<size_t>> batches;
  size_t next_to_build = 0, next_to_return = 0;
  std::map<size_t, Batch> ready;
  std::exception_ptr failure;
  std::vector<std::thread> workers;

  size_t window() const { return static_cast<size_t>(std::max({options.prefetch_batches, options.num_workers, 1})); }

  void plan_epoch(int new_epoch) {
    // A shard's loader learns only of its own shard's broken images; leaving them in the order keeps
    // the order, and so the shards, the same in every process.
    const bool keep_undecodable = options.num_shards > 1;
    std::vector<size_t> order;
    for (size_t i = 0; i < samples.size(); ++i)
      if (keep_undecodable || !undecodable.count(i)) order.push_back(i);
    if (options.shuffle) {
      // Sample indices never reach the maximum, so this stream is distinct from every sample's.
      Random rng = Random::for_sample(options.seed, new_epoch, std::numeric_limits<uint64_t>::max());
      for (size_t i = order.size(); i > 1; --i)
        std::swap(order[i - 1], order[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(i) - 1))]);
    }
    order = shard_of(order);
    batches.clear();
    const auto batch_size = static_cast<size_t>(options.batch_size);
    for (size_t start = 0; start < order.size(); start += batch_size) {
      const size_t end = std::min(order.size(), start + batch_size);
      if (end - start < batch_size && options.drop_last) break;
      batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start), order.begin() + static_cast<std::ptrdiff_t>(end));
    }
    epoch = new_epoch;
    next_to_build = next_to_return = 0;
    ready.clear();
    failure = nullptr;
    stopping = false;
    started = true;
  }

  std::vector<size_t> shard_of(const std::vector<size_t>& order) const {
    if (options.num_shards == 1 || order.empty()) return order;
    size_t length = order.size();
    if (options.pad_shards) length = (length + options.num_shards - 1) / options.num_shards * options.num_shards;
    std::vector<size_t> shard;
    for (size_t position = options.shard; position < length; position += options.num_shards)
      shard.push_back(order[position % order.size()]);
    return shard;
  }

  size_t shard_size(size_t samples_left) const {
    if (options.num_shards == 1) return samples_left;
    if (options.pad_shards) return (samples_left + options.num_shards - 1) / options.num_shards;
    return samples_left / options.num_shards + (options.shard < samples_left % options.num_shards ? 1 : 0);
  }

  // Records a sample that failed to decode; true the first time, so it is logged once.
  bool mark_undecodable(size_t index) {
    std::lock_guard lock(mutex);
    if (!undecodable.insert(index).second) return false;
    skipped.push_back(samples[index].path);
    return true;
  }

  // Decodes and transforms one batch, each image written straight into its slice of the batch
  // tensor. Runs without the lock: it only reads state fixed for the epoch.
  Batch build(const std::vector<size_t>& indices, int batch_epoch) {
    const int64_t size = transform->output_size();
    torch::Tensor images = torch::empty({static_cast<int64_t>(indices.size()), 3, size, size}, torch::kFloat32);
    Batch batch;
    std::vector<int64_t> labels;
    for (size_t index : indices) {
      Random rng = Random::for_sample(options.seed, batch_epoch, index);
      torch::Tensor slot = images[static_cast<int64_t>(labels.size())];
      const FileBytes file = read_file_bytes(samples[index].path);
      const std::string error = file.ok() ? transform->decode_and_transform(file.bytes, rng, slot) : file.error;
      if (!error.empty()) {
        if (mark_undecodable(index))
          log::warning("Skipping image that cannot be decoded: {} ({})", samples[index].path, error);
        continue;
      }
      labels.push_back(samples[index].label);
      batch.sample_indices.push_back(index);
    }
    if (!labels.empty()) {
      batch.images = images.narrow(0, 0, static_cast<int64_t>(labels.size()));
      batch.labels = torch::tensor(labels, torch::kInt64);
    }
    return batch;
  }

  void work() {
    std::unique_lock lock(mutex);
    while (true) {
      work_available.wait(lock, [&] {
        return stopping || next_to_build >= batches.size() || next_to_build < next_to_return + window();
      });
      if (stopping || next_to_build >= batches.size()) return;
      const size_t number = next_to_build++;
      const int batch_epoch = epoch;
      lock.unlock();
      Batch batch;
      std::exception_ptr error;
      try {
        batch = build(batches[number], batch_epoch);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (error && !failure) failure = error;
      ready.emplace(number, std::move(batch));
      batch_ready.notify_all();
    }
  }

  void stop_workers() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    work_available.notify_all();
    for (auto& worker : workers) worker.join();
    workers.clear();
  }

  // The next batch in order, possibly empty when every image in it was undecodable.
  std::optional<Batch> take() {
    if (options.num_workers == 0) {
      if (next_to_return >= batches.size()) return std::nullopt;
      return build(batches[next_to_return++], epoch);
    }
    std::unique_lock lock(mutex);
    if (next_to_return >= batches.size()) return std::nullopt;
    batch_ready.wait(lock, [&] { return failure || ready.count(next_to_return); });
    if (failure) std::rethrow_exception(failure);
    auto node = ready.extract(next_to_return++);
    lock.unlock();
    work_available.notify_all();
    return std::move(node.mapped());
  }
};

DataLoader::DataLoader(std::vector<Sample> samples, std::shared_ptr<const ImageTransform> transform,
                       LoaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  if (!transform) throw std::invalid_argument("DataLoader needs a transform");
  if (options.batch_size < 1) throw std::invalid_argument("batch_size must be at least 1");
  if (options.num_workers < 0) throw std::invalid_argument("num_workers must not be negative");
  if (options.num_shards < 1 || options.shard >= options.num_shards)
    throw std::invalid_argument("shard must be below num_shards, and num_shards at least 1");
  impl_->samples = std::move(samples);
  impl_->transform = std::move(transform);
  impl_->options = options;
}

DataLoader::~DataLoader() { impl_->stop_workers(); }

void DataLoader::start_epoch(int epoch) {
  impl_->stop_workers();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->plan_epoch(epoch);
  }
  for (int i = 0; i < impl_->options.num_workers; ++i) impl_->workers.emplace_back([this] { impl_->work(); });
}

std::optional<Batch> DataLoader::next() {
  if (!impl_->started) start_epoch(0);
  while (auto batch = impl_->take())
    if (!batch->sample_indices.empty()) return batch;
  return std::nullopt;
}

size_t DataLoader::num_samples() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->samples.size() - impl_->undecodable.size();
}

size_t DataLoader::num_batches() const {
  const size_t planned = impl_->options.num_shards > 1 ? impl_->samples.size() : num_samples();
  const size_t samples = impl_->shard_size(planned), batch_size = static_cast<size_t>(impl_->options.batch_size);
  return impl_->options.drop_last ? samples / batch_size : (samples + batch_size - 1) / batch_size;
}

std::vector<std::string> DataLoader::skipped_files() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->skipped;
}

}  // namespace mltk::data
