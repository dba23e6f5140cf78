// ml-inference on a model trained by ml-train: its report agrees with predictions computed here
// through the library, and --images classifies single files.
#include "mltk/data/data_loader.h"
#include "mltk/data/split_index.h"
#include "mltk/inference/loaded_model.h"
#include "mltk/pipeline/predict.h"
#include "mltk/pipeline/transform_options.h"
#include "support/toy_dataset.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace {

using namespace mltk;

class MlInference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("mltk-inference");
    testkit::write_shapes_dataset(dir_->file("data"), "shapes", 30, 32, 4);
    std::ofstream(dir_->file("shapes.yaml")) << testkit::shapes_config(dir_->file("data"), "shapes", 32);
    // Two epochs: a half-trained model makes mistakes, so the confusion matrix is not trivially diagonal.
    const auto trained = testkit::run_tool(
        "ml-train", {"--config", dir_->file("shapes.yaml"), "--num_epochs", "2", "--runs_dir", dir_->file("runs")});
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string best() { return dir_->file("runs/shapes_custom_fold_0/weights/best.pt"); }

  static TempDir* dir_;
};
TempDir* MlInference::dir_ = nullptr;

TEST_F(MlInference, ReportMatchesAnIndependentCountOfTheLibraryPredictions) {
  const auto result = testkit::run_tool("ml-inference", {"--checkpoint_path", best()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("Confusion matrix"), std::string::npos) << result.out;
  const auto report = nlohmann::json::parse(read_file(dir_->file("runs/shapes_custom_fold_0/weights/best.test_report.json")));

  // Predict the test split here, sample by sample, and count by hand.
  const auto loaded = inference::load_model(best());
  const auto samples = data::read_index(dir_->file("data/shapes/splits/test.txt"), dir_->file("data/shapes/raw"),
                                        loaded.checkpoint.class_names);
  data::DataLoader loader(samples, std::make_shared<const data::EvalTransform>(pipeline::eval_transform_options(loaded.config)), data::LoaderOptions{1});
  const auto predictions =
      pipeline::predict([&](const torch::Tensor& x) { return loaded.model->forward(x); }, loader);
  std::vector<std::vector<int64_t>> confusion(2, std::vector<int64_t>(2, 0));
  int64_t correct = 0;
  for (size_t i = 0; i < predictions.labels.size(); ++i) {
    ++confusion[predictions.labels[i]][predictions.predicted[i]];
    correct += predictions.labels[i] == predictions.predicted[i];
  }
  ASSERT_EQ(report["num_samples"].get<size_t>(), samples.size());
  EXPECT_EQ(report["confusion_matrix"], nlohmann::json(confusion));
  EXPECT_DOUBLE_EQ(report["accuracy"].get<double>(), static_cast<double>(correct) / samples.size());
  for (int c = 0; c < 2; ++c) {
    const double tp = confusion[c][c];
    const double recall = tp / (confusion[c][0] + confusion[c][1]);
    const double predicted = confusion[0][c] + confusion[1][c];
    const double precision = predicted > 0 ? tp / predicted : 0.0;
    const auto& scores = report["per_class"][loaded.checkpoint.class_names[c]];
    EXPECT_DOUBLE_EQ(scores["recall"].get<double>(), recall);
    EXPECT_DOUBLE_EQ(scores["precision"].get<double>(), precision);
  }
}

TEST_F(MlInference, ImagesPrintsOneClassAndConfidencePerImage) {
  const auto folder = dir_->file("data/shapes/raw/squares");
  const auto result = testkit::run_tool("ml-inference", {"--checkpoint_path", best(), "--images", folder});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    std::istringstream fields(line);
    std::string path, name;
    double confidence = 0;
    fields >> path >> name >> confidence;
    EXPECT_TRUE(name == "circles" || name == "squares") << line;
    EXPECT_GE(confidence, 0.5) << line;
    EXPECT_LE(confidence, 1.0) << line;
  }
  EXPECT_EQ(count, 30);
}

TEST_F(MlInference, MissingSplitFileSaysHowToCreateIt) {
  const auto result =
      testkit::run_tool("ml-inference", {"--checkpoint_path", best(), "--split_file", dir_->file("absent.txt")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("ml-split"), std::string::npos) << result.err;
}

// The exported file evaluated through the reference evaluator must classify the test split exactly
// as the checkpoint does: same accuracy, same confusion matrix.
// ResNet-18's basic blocks are what the frozen graph runs on Winograd kernels (the shapes model has
// a pooling after each convolution, so none of its convolutions qualifies).
TEST_F(MlInference, DirectConvolutionsReportWhatWinogradReports) {
  auto config = testkit::shapes_config(dir_->file("data"), "shapes", 32);
  const std::string custom = "type: custom\n  custom_architecture: tiny_net";
  ASSERT_NE(config.find(custom), std::string::npos) << config;
  config.replace(config.find(custom), custom.size(), "type: base\n  architecture: resnet18");
  std::ofstream(dir_->file("resnet18.yaml")) << config;
  const auto trained = testkit::run_tool("ml-train", {"--config", dir_->file("resnet18.yaml"), "--num_epochs", "1",
                                                      "--runs_dir", dir_->file("resnet_runs")});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto checkpoint = dir_->file("resnet_runs/shapes_base_fold_0/weights/best.pt");
  const auto report_of = [&](std::vector<std::string> flags, const std::string& name) {
    flags.insert(flags.end(), {"--checkpoint_path", checkpoint, "--output", dir_->file(name), "--verbose"});
    const auto result = testkit::run_tool("ml-inference", flags);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return std::make_pair(nlohmann::json::parse(read_file(dir_->file(name))), result.out + result.err);
  };
  const auto [winograd, winograd_log] = report_of({}, "winograd.json");
  const auto [direct, direct_log] = report_of({"--direct_convolutions"}, "direct.json");
  const std::string rewritten = "convolutions of the frozen graph run on Winograd kernels";
  EXPECT_NE(winograd_log.find(rewritten), std::string::npos) << winograd_log;
  EXPECT_EQ(direct_log.find(rewritten), std::string::npos) << direct_log;
  EXPECT_EQ(winograd["confusion_matrix"], direct["confusion_matrix"]);
  EXPECT_EQ(winograd["accuracy"], direct["accuracy"]);
}

TEST_F(MlInference, OnnxPathReportsWhatTheCheckpointReports) {
  const auto exported = testkit::run_tool("ml-export", {"--checkpoint_path", best(), "--no-validate"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const auto onnx = dir_->file("runs/shapes_custom_fold_0/weights/best.onnx");
  const auto from_onnx = testkit::run_tool("ml-inference", {"--onnx_path", onnx});
  ASSERT_EQ(from_onnx.exit_code, 0) << from_onnx.err;
  const auto from_checkpoint = testkit::run_tool("ml-inference", {"--checkpoint_path", best()});
  ASSERT_EQ(from_checkpoint.exit_code, 0) << from_checkpoint.err;

  const auto weights = dir_->file("runs/shapes_custom_fold_0/weights/");
  const auto onnx_report = nlohmann::json::parse(read_file(weights + "best.onnx_test_report.json"));
  const auto checkpoint_report = nlohmann::json::parse(read_file(weights + "best.test_report.json"));
  EXPECT_EQ(onnx_report["num_samples"], checkpoint_report["num_samples"]);
  EXPECT_EQ(onnx_report["confusion_matrix"], checkpoint_report["confusion_matrix"]);
  EXPECT_EQ(onnx_report["accuracy"], checkpoint_report["accuracy"]);
}

}  // namespace
