// Stratified k-fold splitting: determinism, stratification, disjointness, both raw layouts.
#include "mltk/common/subprocess.h"
#include "mltk/data/split_index.h"
#include "mltk/data/splitter.h"
#include "support/data_fixtures.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

namespace {

using namespace mltk;
using data::SplitOptions;
namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string class_of(const std::string& relative) { return fs::path(relative).parent_path().filename().string(); }

size_t count_class(const std::vector<std::string>& paths, const std::string& name) {
  return static_cast<size_t>(std::count_if(paths.begin(), paths.end(), [&](const auto& p) { return class_of(p) == name; }));
}

// Checks every fold of `splits` against the invariants the trainer relies on; returns all the images.
std::set<std::string> check_folds(const std::string& splits, int folds) {
  const auto test = lines_of(data::test_index_path(splits));
  const std::set<std::string> test_set(test.begin(), test.end());
  std::set<std::string> pool, all_val;
  for (int k = 0; k < folds; ++k) {
    const auto train = lines_of(data::fold_index_path(splits, k, "train"));
    const auto val = lines_of(data::fold_index_path(splits, k, "val"));
    EXPECT_TRUE(std::is_sorted(train.begin(), train.end()));
    std::set<std::string> fold(train.begin(), train.end());
    for (const auto& path : val) EXPECT_TRUE(fold.insert(path).second) << path << " in train and val of fold " << k;
    for (const auto& path : fold) EXPECT_FALSE(test_set.count(path)) << path << " in fold " << k << " and test";
    if (k == 0) pool = fold;
    EXPECT_EQ(fold, pool) << "fold " << k << " does not use every image exactly once";
    for (const auto& path : val) EXPECT_TRUE(all_val.insert(path).second) << path << " validates twice";
  }
  EXPECT_EQ(all_val, pool);
  pool.insert(test_set.begin(), test_set.end());
  return pool;
}

TEST(Splitter, SameInputAndSeedGiveByteIdenticalFiles) {
  TempDir dir;
  testkit::write_class_folders(dir.file("raw"), {{"cat", 23}, {"dog", 17}, {"eel", 9}});
  const auto first = data::split_dataset(dir.file("raw"), dir.file("a"), {});
  data::split_dataset(dir.file("raw"), dir.file("b"), {});
  for (const auto& path : first.written_files)
    EXPECT_EQ(read_file(path), read_file(dir.file("b/" + fs::path(path).filename().string()))) << path;
  SplitOptions other_seed;
  other_seed.seed = 7;
  data::split_dataset(dir.file("raw"), dir.file("c"), other_seed);
  EXPECT_NE(read_file(dir.file("a/test.txt")), read_file(dir.file("c/test.txt")));
}

TEST(Splitter, FoldsAreStratifiedDisjointAndCoverEveryImage) {
  TempDir dir;
  const std::map<std::string, int> sizes{{"cat", 23}, {"dog", 17}, {"eel", 9}};
  testkit::write_class_folders(dir.file("raw"), sizes);
  SplitOptions options;
  options.folds = 4;
  const auto report = data::split_dataset(dir.file("raw"), dir.file("splits"), options);
  EXPECT_EQ(check_folds(dir.file("splits"), 4).size(), 23u + 17u + 9u);
  EXPECT_EQ(report.written_files.size(), 9u);

  const auto test = lines_of(dir.file("splits/test.txt"));
  for (const auto& [name, size] : sizes) {
    const size_t expected_test = static_cast<size_t>(size * 0.2 + 0.5);
    EXPECT_EQ(count_class(test, name), expected_test) << name;
    const double pool = size - static_cast<double>(expected_test);
    for (int k = 0; k < 4; ++k) {
      // Each fold's validation part holds pool / folds images of the class, give or take one.
      const auto val = lines_of(data::fold_index_path(dir.file("splits"), k, "val"));
      EXPECT_NEAR(static_cast<double>(count_class(val, name)), pool / 4, 1.0) << name << " fold " << k;
    }
    EXPECT_EQ(report.per_class.at(name).images, static_cast<size_t>(size));
  }
}

TEST(Splitter, NonImageFilesAreSkippedAndReported) {
  TempDir dir;
  testkit::write_class_folders(dir.file("raw"), {{"a", 6}, {"b", 6}});
  std::ofstream(dir.file("raw/a/notes.txt")) << "not an image";
  testkit::write_solid_image(dir.file("raw/b/photo.JPG"), {1, 2, 3});
  const auto report = data::split_dataset(dir.file("raw"), dir.file("splits"), {});
  EXPECT_EQ(report.skipped_files, std::vector<std::string>{"a/notes.txt"});
  EXPECT_EQ(report.per_class.at("b").images, 7u);  // upper-case extensions count
  EXPECT_EQ(check_folds(dir.file("splits"), 5).count("a/notes.txt"), 0u);
}

TEST(Splitter, EmptyClassIsAnErrorNamingIt) {
  TempDir dir;
  testkit::write_class_folders(dir.file("raw"), {{"full", 10}});
  fs::create_directories(dir.file("raw/empty"));
  std::ofstream(dir.file("raw/empty/readme.md")) << "nothing here";
  try {
    data::split_dataset(dir.file("raw"), dir.file("splits"), {});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'empty'"), std::string::npos) << e.what();
  }
}

void write_given_split_layout(const TempDir& dir) {
  testkit::write_class_folders(dir.file("raw/train"), {{"ants", 12}, {"bees", 14}});
  testkit::write_class_folders(dir.file("raw/val"), {{"ants", 5}, {"bees", 6}});
}

TEST(Splitter, GivenSplitLayoutIsPooledByDefault) {
  TempDir dir;
  write_given_split_layout(dir);
  const auto report = data::split_dataset(dir.file("raw"), dir.file("splits"), {});
  EXPECT_TRUE(report.given_split_layout);
  EXPECT_EQ(report.class_names, (std::vector<std::string>{"ants", "bees"}));
  EXPECT_EQ(check_folds(dir.file("splits"), 5).size(), 37u);
  const auto test = lines_of(dir.file("splits/test.txt"));
  EXPECT_EQ(count_class(test, "ants"), 3u);  // round(17 * 0.2)
  EXPECT_EQ(count_class(test, "bees"), 4u);  // round(20 * 0.2)
  // Pooled: the drawn test set mixes both parts of the given split.
  EXPECT_EQ(report.per_class.at("ants").images, 17u);
}

TEST(Splitter, KeepGivenSplitUsesValAsTheTestSet) {
  TempDir dir;
  write_given_split_layout(dir);
  SplitOptions options;
  options.keep_given_split = true;
  options.folds = 3;
  data::split_dataset(dir.file("raw"), dir.file("splits"), options);
  check_folds(dir.file("splits"), 3);
  for (const auto& path : lines_of(dir.file("splits/test.txt"))) EXPECT_EQ(path.rfind("val/", 0), 0u) << path;
  EXPECT_EQ(lines_of(dir.file("splits/test.txt")).size(), 11u);
  for (const auto& path : lines_of(dir.file("splits/fold_0_train.txt"))) EXPECT_EQ(path.rfind("train/", 0), 0u) << path;
}

TEST(Splitter, KeepGivenSplitNeedsTheTrainValLayout) {
  TempDir dir;
  testkit::write_class_folders(dir.file("raw"), {{"a", 6}, {"b", 6}});
  SplitOptions options;
  options.keep_given_split = true;
  EXPECT_THROW(data::split_dataset(dir.file("raw"), dir.file("splits"), options), std::invalid_argument);
}

TEST(Splitter, RealHymenopteraInBothModes) {
  MLTK_REQUIRE_HYMENOPTERA();
  const std::string raw = testkit::hymenoptera_dir();
  TempDir dir;
  const auto pooled = data::split_dataset(raw, dir.file("pooled"), {});
  // 245 train + 153 val files, one of which (imageNotFound.gif) is not an image OpenCV reads.
  EXPECT_EQ(pooled.skipped_files, std::vector<std::string>{"train/ants/imageNotFound.gif"});
  EXPECT_EQ(check_folds(dir.file("pooled"), 5).size(), 397u);

  SplitOptions keep;
  keep.keep_given_split = true;
  data::split_dataset(raw, dir.file("kept"), keep);
  EXPECT_EQ(check_folds(dir.file("kept"), 5).size(), 397u);
  EXPECT_EQ(lines_of(dir.file("kept/test.txt")).size(), 153u);

  const auto samples = data::read_index(dir.file("kept/fold_0_train.txt"), raw, pooled.class_names);
  for (const auto& sample : samples)
    EXPECT_EQ(fs::path(sample.path).parent_path().filename().string(), pooled.class_names[sample.label]);
}

TEST(SplitIndex, MissingIndexedFileIsAnErrorNamingIt) {
  TempDir dir;
  testkit::write_class_folders(dir.file("raw"), {{"a", 2}, {"b", 2}});
  data::write_index(dir.file("index.txt"), {"b/img_1.png", "a/img_0.png", "a/gone.png"});
  EXPECT_EQ(read_file(dir.file("index.txt")), "a/gone.png\na/img_0.png\nb/img_1.png\n");
  try {
    data::read_index(dir.file("index.txt"), dir.file("raw"), {"a", "b"});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("a/gone.png"), std::string::npos) << e.what();
  }
  data::write_index(dir.file("index.txt"), {"c/img_0.png"});
  EXPECT_THROW(data::read_index(dir.file("index.txt"), dir.file("raw"), {"a", "b"}), std::runtime_error);
}

}  // namespace
