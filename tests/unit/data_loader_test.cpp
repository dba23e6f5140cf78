// DataLoader: completeness, labels, determinism across seeds, epochs and worker counts, and
// undecodable images.
#include "mltk/common/subprocess.h"
#include "mltk/data/class_folders.h"
#include "mltk/data/data_loader.h"
#include "mltk/data/split_index.h"
#include "mltk/data/splitter.h"
#include "mltk/pipeline/transform_options.h"
#include "support/data_fixtures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

namespace {

using namespace mltk;
using data::Batch;
using data::DataLoader;
using data::LoaderOptions;
using data::Sample;

std::shared_ptr<const data::ImageTransform> train_transform(int size = 16) {
  return std::make_shared<data::TrainTransform>(pipeline::train_transform_options(config::default_config({{"model.input_size", std::to_string(size)}})));
}

// Four classes, 11 images each, every image filled with its class colour.
std::vector<Sample> colour_dataset(const TempDir& dir) {
  testkit::write_class_folders(dir.file("raw"), {{"a", 11}, {"b", 11}, {"c", 11}, {"d", 11}});
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.file("raw")))
    if (entry.is_regular_file()) paths.push_back(std::filesystem::relative(entry.path(), dir.file("raw")).generic_string());
  data::write_index(dir.file("all.txt"), paths);
  return data::read_index(dir.file("all.txt"), dir.file("raw"), data::discover_classes(dir.file("raw")));
}

LoaderOptions options(int64_t batch_size, bool shuffle, int num_workers, uint64_t seed = 42, bool drop_last = false) {
  LoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = shuffle;
  options.num_workers = num_workers;
  options.seed = seed;
  options.drop_last = drop_last;
  return options;
}

std::vector<Batch> run_epoch(DataLoader& loader, int epoch) {
  loader.start_epoch(epoch);
  std::vector<Batch> batches;
  while (auto batch = loader.next()) batches.push_back(std::move(*batch));
  return batches;
}

std::vector<size_t> order_of(const std::vector<Batch>& batches) {
  std::vector<size_t> order;
  for (const auto& batch : batches) order.insert(order.end(), batch.sample_indices.begin(), batch.sample_indices.end());
  return order;
}

void expect_same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].sample_indices, b[i].sample_indices);
    EXPECT_TRUE(torch::equal(a[i].images, b[i].images)) << "batch " << i;
    EXPECT_TRUE(torch::equal(a[i].labels, b[i].labels)) << "batch " << i;
  }
}

TEST(DataLoader, DeliversEverySampleOncePerEpochWithItsLabel) {
  TempDir dir;
  const auto samples = colour_dataset(dir);
  const auto mean = config::default_config().transforms.mean, std = config::default_config().transforms.std;
  DataLoader loader(samples, train_transform(), options(8, true, 2, 3));
  EXPECT_EQ(loader.num_batches(), 6u);  // 44 / 8 rounded up
  for (int epoch = 0; epoch < 2; ++epoch) {
    const auto batches = run_epoch(loader, epoch);
    ASSERT_EQ(batches.size(), 6u);
    EXPECT_EQ(batches.back().sample_indices.size(), 4u);
    auto order = order_of(batches);
    std::sort(order.begin(), order.end());
    std::vector<size_t> expected(samples.size());
    std::iota(expected.begin(), expected.end(), 0);
    EXPECT_EQ(order, expected);
    for (const auto& batch : batches) {
      ASSERT_EQ(batch.images.sizes(), (std::vector<int64_t>{batch.labels.size(0), 3, 16, 16}));
      for (int64_t i = 0; i < batch.labels.size(0); ++i) {
        const int64_t label = batch.labels[i].item<int64_t>();
        EXPECT_EQ(label, samples[batch.sample_indices[i]].label);
        // The pixels say which class folder the image came from: undo Normalize on the red channel.
        const double red = (batch.images[i][0].mean().item<double>() * std[0] + mean[0]) * 255.0;
        EXPECT_NEAR(red, testkit::label_colour(static_cast<int>(label))[0], 1.0);
      }
    }
  }
}

TEST(DataLoader, SameSeedSameBatchesAndNewEpochNewOrder) {
  TempDir dir;
  const auto samples = colour_dataset(dir);
  const LoaderOptions seeded = options(5, true, 2, 11);
  DataLoader first(samples, train_transform(), seeded), second(samples, train_transform(), seeded);
  const auto epoch0 = run_epoch(first, 0);
  expect_same_batches(epoch0, run_epoch(second, 0));
  EXPECT_NE(order_of(epoch0), order_of(run_epoch(first, 1)));
  expect_same_batches(epoch0, run_epoch(first, 0));  // restarting an epoch replays it
}

TEST(DataLoader, InlineAndTwoWorkersGiveIdenticalBatches) {
  TempDir dir;
  const auto samples = colour_dataset(dir);
  DataLoader inline_loader(samples, train_transform(), options(6, true, 0, 5));
  DataLoader threaded(samples, train_transform(), options(6, true, 2, 5));
  for (int epoch = 0; epoch < 2; ++epoch) expect_same_batches(run_epoch(inline_loader, epoch), run_epoch(threaded, epoch));
}

TEST(DataLoader, DropLastAndUnshuffledOrder) {
  TempDir dir;
  const auto samples = colour_dataset(dir);
  DataLoader loader(samples, train_transform(), options(8, false, 0, 42, true));
  const auto batches = run_epoch(loader, 0);
  EXPECT_EQ(batches.size(), 5u);
  EXPECT_EQ(loader.num_batches(), 5u);
  const auto order = order_of(batches);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

// Data-parallel processes each load one shard; together they must see what a single process sees,
// with the same augmentation of every image.
TEST(DataLoader, ShardsInterleaveOneGlobalOrderWithUnchangedAugmentation) {
  TempDir dir;
  const auto samples = colour_dataset(dir);  // 44 images: 3 shards do not divide them evenly
  DataLoader whole(samples, train_transform(), options(44, true, 0, 9));
  const auto reference = run_epoch(whole, 3);
  const auto global_order = order_of(reference);
  std::map<size_t, torch::Tensor> reference_image;
  for (size_t i = 0; i < global_order.size(); ++i) reference_image[global_order[i]] = reference[0].images[static_cast<int64_t>(i)];

  for (const bool pad : {true, false}) {
    std::vector<size_t> seen;
    for (size_t shard = 0; shard < 3; ++shard) {
      LoaderOptions sharded = options(4, true, shard == 1 ? 2 : 0, 9);
      sharded.num_shards = 3;
      sharded.shard = shard;
      sharded.pad_shards = pad;
      DataLoader loader(samples, train_transform(), sharded);
      const auto batches = run_epoch(loader, 3);
      const auto order = order_of(batches);
      EXPECT_EQ(loader.num_batches(), batches.size());
      EXPECT_EQ(order.size(), pad ? 15u : (shard < 2 ? 15u : 14u)) << "shard " << shard;
      for (size_t k = 0; k < order.size(); ++k) {
        EXPECT_EQ(order[k], global_order[(shard + 3 * k) % global_order.size()]) << "shard " << shard << " position " << k;
        EXPECT_TRUE(torch::equal(batches[k / 4].images[static_cast<int64_t>(k % 4)], reference_image[order[k]]))
            << "sample " << order[k] << " is augmented differently in shard " << shard;
      }
      seen.insert(seen.end(), order.begin(), order.end());
    }
    std::sort(seen.begin(), seen.end());
    std::vector<size_t> expected(44);
    std::iota(expected.begin(), expected.end(), 0);
    if (pad) expected.insert(std::upper_bound(expected.begin(), expected.end(), global_order[0]), global_order[0]);
    EXPECT_EQ(seen, expected) << (pad ? "padded" : "unpadded");
  }
}

TEST(DataLoader, UndecodableImageIsSkippedOnceWithoutShiftingLabels) {
  TempDir dir;
  auto samples = colour_dataset(dir);
  std::ofstream(dir.file("raw/b/broken.png")) << "not a png";
  samples.insert(samples.begin() + 3, Sample{dir.file("raw/b/broken.png"), 1});
  DataLoader loader(samples, train_transform(), options(4, false, 2));
  const auto first = run_epoch(loader, 0);
  EXPECT_EQ(first[0].sample_indices, (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(loader.skipped_files(), std::vector<std::string>{dir.file("raw/b/broken.png")});
  EXPECT_EQ(loader.num_samples(), 44u);
  const auto second = run_epoch(loader, 1);
  EXPECT_EQ(second[0].sample_indices, (std::vector<size_t>{0, 1, 2, 4}));
  EXPECT_EQ(loader.skipped_files().size(), 1u);
  for (const auto& batch : second)
    for (size_t i = 0; i < batch.sample_indices.size(); ++i)
      EXPECT_EQ(batch.labels[static_cast<int64_t>(i)].item<int64_t>(), samples[batch.sample_indices[i]].label);
}

// Each process's loader finds only its own shard's broken images; the shards must still split the
// same order in every later epoch, or processes would train on overlapping data and step unevenly.
TEST(DataLoader, AnUndecodableImageLeavesTheShardsOfLaterEpochsUnchanged) {
  TempDir dir;
  auto samples = colour_dataset(dir);
  std::ofstream(dir.file("raw/b/broken.png")) << "not a png";
  samples.insert(samples.begin() + 3, Sample{dir.file("raw/b/broken.png"), 1});
  const auto sharded = [](size_t shard) {
    LoaderOptions options_of_shard = options(4, true, 0, 8);
    options_of_shard.num_shards = 2;
    options_of_shard.shard = shard;
    options_of_shard.pad_shards = true;
    return options_of_shard;
  };
  DataLoader first_shard(samples, train_transform(), sharded(0)), second_shard(samples, train_transform(), sharded(1));
  for (int epoch = 0; epoch < 3; ++epoch) {
    // Only the shard that holds the broken image this epoch learns of it.
    const auto first = order_of(run_epoch(first_shard, epoch)), second = order_of(run_epoch(second_shard, epoch));
    std::set<size_t> together(first.begin(), first.end());
    together.insert(second.begin(), second.end());
    EXPECT_LE(first.size() + second.size(), 45u) << "epoch " << epoch;  // at most the padding repeats one
    EXPECT_EQ(together.size(), 44u) << "epoch " << epoch;
    EXPECT_FALSE(together.count(3)) << "epoch " << epoch;
    EXPECT_EQ(first_shard.num_batches(), second_shard.num_batches());
  }
}

TEST(DataLoader, JpegWithoutImageDataIsSkippedOnceByTheTrainTransform) {
  TempDir dir;
  auto samples = colour_dataset(dir);
  // The train transform reads the crop box from the header, which is intact, before decoding fails.
  testkit::write_jpeg_without_image(dir.file("raw/c/empty.jpg"));
  samples.insert(samples.begin() + 5, Sample{dir.file("raw/c/empty.jpg"), 2});
  DataLoader loader(samples, train_transform(), options(8, true, 2));
  for (int epoch = 0; epoch < 2; ++epoch) {
    size_t delivered = 0;
    for (const auto& batch : run_epoch(loader, epoch)) delivered += batch.sample_indices.size();
    EXPECT_EQ(delivered, 44u);
  }
  EXPECT_EQ(loader.skipped_files(), std::vector<std::string>{dir.file("raw/c/empty.jpg")});
}

TEST(DataLoader, HymenopteraTrainGifIsReportedOnceAndSkipped) {
  MLTK_REQUIRE_HYMENOPTERA();
  const std::string raw = testkit::hymenoptera_dir();
  const auto classes = data::discover_classes(raw);
  // Index every file, the GIF included, as an index written by hand (not by ml-split) could.
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(raw + "/train"))
    if (entry.is_regular_file()) paths.push_back(std::filesystem::relative(entry.path(), raw).generic_string());
  TempDir dir;
  data::write_index(dir.file("train.txt"), paths);
  const auto samples = data::read_index(dir.file("train.txt"), raw, classes);
  ASSERT_EQ(samples.size(), 245u);
  DataLoader loader(samples, std::make_shared<data::EvalTransform>(pipeline::eval_transform_options(config::default_config())),
                    options(32, true, 2));
  for (int epoch = 0; epoch < 2; ++epoch) {
    size_t delivered = 0;
    for (const auto& batch : run_epoch(loader, epoch)) delivered += batch.sample_indices.size();
    EXPECT_EQ(delivered, 244u);
  }
  ASSERT_EQ(loader.skipped_files().size(), 1u);
  EXPECT_NE(loader.skipped_files()[0].find("imageNotFound.gif"), std::string::npos);
}

}  // namespace
