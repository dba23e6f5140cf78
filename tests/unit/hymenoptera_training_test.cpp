// The real photographs end to end: split (reporting the undecodable GIF), one short epoch of
// tiny_net, and a best.pt that Python loads strictly.
#include "mltk/data/splitter.h"
#include "support/data_fixtures.h"
#include "support/test_support.h"
#include "support/toy_dataset.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace {

using namespace mltk;
namespace fs = std::filesystem;

TEST(TrainingHymenoptera, SplitsTrainsOneEpochAndWritesAPythonLoadableCheckpoint) {
  MLTK_REQUIRE_HYMENOPTERA();
  const fs::path source = testkit::hymenoptera_dir();
  TempDir dir("mltk-hymenoptera");
  const fs::path raw = dir.path() / "data" / "hymenoptera" / "raw";
  fs::create_directories(raw);
  // A copy, not symlinks: the class-folder discovery does not follow links.
  for (const auto* part : {"train", "val"}) fs::copy(source / part, raw / part, fs::copy_options::recursive);

  data::SplitOptions split;
  split.folds = 2;
  const auto report = data::split_dataset(raw.string(), (raw.parent_path() / "splits").string(), split);
  EXPECT_NE(std::find(report.skipped_files.begin(), report.skipped_files.end(), "train/ants/imageNotFound.gif"),
            report.skipped_files.end());

  std::ofstream(dir.file("hymenoptera.yaml")) << "data:\n  dataset_name: hymenoptera\n  data_dir: " << dir.file("data")
                                              << "\n  num_folds: 2\n  num_workers: 2\n"
                                                 "model:\n  type: custom\n  custom_architecture: tiny_net\n  input_size: 64\n"
                                                 "training:\n  num_epochs: 1\n  batch_size: 16\n"
                                                 "transforms:\n  eval:\n    resize: 72\n";
  const auto result = testkit::run_tool("ml-train", {"--config", dir.file("hymenoptera.yaml"), "--runs_dir", dir.file("runs")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("Test accuracy of best.pt"), std::string::npos) << result.err;
  const auto best = dir.file("runs/hymenoptera_custom_fold_0/weights/best.pt");
  ASSERT_TRUE(fs::exists(best));

  MLTK_REQUIRE_ORACLE();
  const auto summary = nlohmann::json::parse(testkit::run_oracle("check_checkpoint.py", {best}));
  EXPECT_EQ(summary["class_names"], nlohmann::json({"ants", "bees"}));
  EXPECT_EQ(summary["input_size"], 64);
}

}  // namespace
