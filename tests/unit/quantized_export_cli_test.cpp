// ml-export --quantize int8 as users run it, on a small CNN trained briefly on the hymenoptera
// photographs: the quantized file keeps the float model's answers in ONNX Runtime and in the
// reference evaluator, a damaged one is caught, and bad input is reported by name.
#include "mltk/common/atomic_file.h"
#include "mltk/common/subprocess.h"
#include "mltk/data/splitter.h"
#include "mltk/runtime/onnx_model_loader.h"

#include "support/data_fixtures.h"
#include "support/test_support.h"
#include "support/toy_dataset.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace {

using namespace mltk;
using mltk::testkit::read_json;
namespace fs = std::filesystem;

std::map<std::string, std::string> metadata_of(const std::string& onnx_path) {
  const auto model = runtime::load_onnx_model(onnx_path);  // a range-for over a temporary's member would dangle
  std::map<std::string, std::string> metadata;
  for (const auto& entry : model.metadata_props()) metadata[entry.key()] = entry.value();
  return metadata;
}


// One brief training run on the photographs, shared by the tests.
class QuantizedExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (testkit::hymenoptera_dir().empty()) return;
    dir_ = new TempDir("mltk-quantize");
    const fs::path raw = dir_->path() / "data" / "hymenoptera" / "raw";
    fs::create_directories(raw);
    for (const auto* part : {"train", "val"})
      fs::copy(fs::path(testkit::hymenoptera_dir()) / part, raw / part, fs::copy_options::recursive);
    data::SplitOptions split;
    split.folds = 2;
    data::split_dataset(raw.string(), (raw.parent_path() / "splits").string(), split);
    std::ofstream(dir_->file("hymenoptera.yaml"))
        << "data:\n  dataset_name: hymenoptera\n  data_dir: " << dir_->file("data")
        << "\n  num_folds: 2\n  num_workers: 2\n"
           "model:\n  type: custom\n  custom_architecture: simple_cnn\n  input_size: 64\n"
           "training:\n  num_epochs: 4\n  batch_size: 16\n"
           "optimizer:\n  name: adam\n  lr: 0.001\nscheduler:\n  name: none\n"
           "transforms:\n  eval:\n    resize: 72\n";
    trained_ = new ProcessResult(
        testkit::run_tool("ml-train", {"--config", dir_->file("hymenoptera.yaml"), "--runs_dir", dir_->file("runs")}));
  }
  static void TearDownTestSuite() {
    delete trained_;
    delete dir_;
  }

  void SetUp() override {
    MLTK_REQUIRE_HYMENOPTERA();
    ASSERT_EQ(trained_->exit_code, 0) << trained_->err;
  }

  static std::string checkpoint() { return dir_->file("runs/hymenoptera_custom_fold_0/weights/best.pt"); }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static std::string test_index() { return dir_->file("data/hymenoptera/splits/test.txt"); }

  static TempDir* dir_;
  static ProcessResult* trained_;
};
TempDir* QuantizedExport::dir_ = nullptr;
ProcessResult* QuantizedExport::trained_ = nullptr;

TEST_F(QuantizedExport, KeepsTheFloatModelsAnswersInOnnxRuntimeAndTheReferenceEvaluator) {
  MLTK_REQUIRE_ONNXRUNTIME();
  const auto quantized = file("int8.onnx");
  // Calibration defaults to the fold's training index, validation to the test index.
  const auto run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", quantized,
                                                   "--quantize", "int8", "--calibration_images", "64", "--runtime",
                                                   "onnxruntime"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("Calibrated on 64 images from"), std::string::npos) << run.err;
  const auto report = read_json(file("int8.validation.json"));
  EXPECT_TRUE(report["quantized"].get<bool>());
  EXPECT_NE(report["runtime"].get<std::string>().find("onnxruntime"), std::string::npos);
  const auto& images = report["validation_data"];
  EXPECT_EQ(images["source"], test_index());
  EXPECT_GE(images["top1_agreement"].get<double>(), 0.97) << images.dump(2);
  EXPECT_NE(report["status"], "FAIL") << report.dump(2);

  const auto metadata = metadata_of(quantized);
  const auto quantization = nlohmann::json::parse(metadata.at("quantization"));
  EXPECT_EQ(quantization["calibration_method"], "percentile");  // the default
  EXPECT_EQ(quantization["calibration_images"], 64);
  const auto verdict = nlohmann::json::parse(metadata.at("quantization_verdict"));
  EXPECT_EQ(verdict["status"], report["status"]);
  EXPECT_EQ(verdict["top1_agreement"], images["top1_agreement"]);

  // The float export of the same checkpoint, for the size.
  ASSERT_EQ(testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", file("float.onnx"),
                                            "--no-validate"})
                .exit_code,
            0);
  EXPECT_LT(fs::file_size(quantized), fs::file_size(file("float.onnx")) * 0.3);

  // The same file in the reference evaluator, through --validate_only.
  const auto again = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--validate_only",
                                                     "--onnx_path", quantized});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto reference = read_json(file("int8.validation.json"));
  EXPECT_EQ(reference["runtime"], "reference");
  EXPECT_GE(reference["validation_data"]["top1_agreement"].get<double>(), 0.97);
}

// Multiplies every value of the float initializer `name` by `factor`.
void scale_initializer(const std::string& path, const std::string& name, float factor) {
  auto model = runtime::load_onnx_model(path);
  for (auto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (tensor.name() != name) continue;
    auto& raw = *tensor.mutable_raw_data();
    for (size_t at = 0; at + sizeof(float) <= raw.size(); at += sizeof(float)) {
      float value = 0;
      std::memcpy(&value, raw.data() + at, sizeof value);
      value *= factor;
      std::memcpy(raw.data() + at, &value, sizeof value);
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << model.SerializeAsString();
    return;
  }
  FAIL() << "no initializer " << name;
}

TEST_F(QuantizedExport, ATamperedScaleIsWarnedOrFailed) {
  const auto quantized = file("tampered.onnx");
  ASSERT_EQ(testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", quantized, "--quantize",
                                            "int8", "--calibration_images", "32", "--no-validate"})
                .exit_code,
            0);
  // The second convolution's weights read three times too large: its outputs saturate.
  scale_initializer(quantized, "conv2.weight_scale", 3.0F);
  const auto run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--validate_only", "--onnx_path",
                                                   quantized, "--validation_data", test_index()});
  const auto status = read_json(file("tampered.validation.json"))["status"].get<std::string>();
  EXPECT_TRUE(status == "WARN" || status == "FAIL") << run.err;
  EXPECT_EQ(run.exit_code, status == "FAIL" ? 1 : 0) << run.err;
  EXPECT_NE(run.err.find("top-1 agreement"), std::string::npos) << run.err;
}

TEST_F(QuantizedExport, ReportsBadCalibrationInputByName) {
  const auto empty = file("no_images");
  fs::create_directories(empty);
  auto run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", file("a.onnx"),
                                             "--quantize", "int8", "--calibration_data", empty});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("--calibration_data " + empty + " holds no image file"), std::string::npos) << run.err;
  EXPECT_FALSE(fs::exists(file("a.onnx")));

  // Undecodable files among the calibration images are skipped and named.
  const auto mixed = file("mixed/ants");
  fs::create_directories(mixed);
  int copied = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(testkit::hymenoptera_dir()) / "val" / "ants")) {
    if (copied++ == 6) break;
    fs::copy(entry.path(), fs::path(mixed) / entry.path().filename());
  }
  testkit::write_jpeg_without_image(mixed + "/broken.jpg");
  run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", file("b.onnx"),
                                        "--quantize", "int8", "--calibration_data", file("mixed"), "--no-validate"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("1 calibration image could not be decoded and was skipped"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(mixed + "/broken.jpg"), std::string::npos) << run.err;
  EXPECT_EQ(nlohmann::json::parse(metadata_of(file("b.onnx")).at("quantization"))["calibration_images"], 6);

  // Only corrupt images: nothing to calibrate on.
  const auto broken = file("broken_only");
  fs::create_directories(broken);
  testkit::write_jpeg_without_image(broken + "/x.jpg");
  run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", file("c.onnx"),
                                        "--quantize", "int8", "--calibration_data", broken, "--no-validate"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("none of its images could be decoded"), std::string::npos) << run.err;

  run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", file("d.onnx"),
                                        "--quantize", "int8", "--calibration_method", "entropy"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("entropy"), std::string::npos) << run.err;

  run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", file("e.onnx"),
                                        "--calibration_images", "8"});
  EXPECT_EQ(run.exit_code, 2) << "calibration flags need --quantize";
}

TEST_F(QuantizedExport, QuantizeWithValidateOnlyRefusesAFloatFile) {
  ASSERT_EQ(testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", file("plain.onnx"),
                                            "--no-validate"})
                .exit_code,
            0);
  const auto run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--validate_only", "--onnx_path",
                                                   file("plain.onnx"), "--quantize", "int8"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(file("plain.onnx") + " is a float export"), std::string::npos) << run.err;
}

TEST_F(QuantizedExport, DynamicKeepsTheFloatModelsAnswersWithoutCalibration) {
  MLTK_REQUIRE_ONNXRUNTIME();
  const auto quantized = file("dynamic.onnx");
  const auto run = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path", quantized,
                                                   "--quantize", "dynamic", "--runtime", "onnxruntime"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err.find("Calibrated"), std::string::npos) << run.err;
  // simple_cnn's two linear layers; its convolutions stay float.
  EXPECT_NE(run.err.find("Quantized the weights of 2 matrix products"), std::string::npos) << run.err;
  const auto report = read_json(file("dynamic.validation.json"));
  EXPECT_TRUE(report["quantized"].get<bool>());
  const auto& images = report["validation_data"];
  EXPECT_EQ(images["source"], test_index());
  EXPECT_GE(images["top1_agreement"].get<double>(), 0.97) << images.dump(2);
  EXPECT_NE(report["status"], "FAIL") << report.dump(2);

  const auto metadata = metadata_of(quantized);
  EXPECT_EQ(nlohmann::json::parse(metadata.at("quantization"))["format"], "dynamic");
  EXPECT_EQ(nlohmann::json::parse(metadata.at("quantization_verdict"))["status"], report["status"]);

  // The same file in the reference evaluator, which runs DynamicQuantizeLinear and MatMulInteger itself.
  const auto again = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--validate_only",
                                                     "--onnx_path", quantized, "--quantize", "dynamic"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto reference = read_json(file("dynamic.validation.json"));
  EXPECT_EQ(reference["runtime"], "reference");
  EXPECT_GE(reference["validation_data"]["top1_agreement"].get<double>(), 0.97);

  // Calibration options mean nothing to a dynamic export, and saying so beats ignoring them.
  const auto calibrated = testkit::run_tool("ml-export", {"--checkpoint_path", checkpoint(), "--output_path",
                                                          file("f.onnx"), "--quantize", "dynamic",
                                                          "--calibration_images", "8"});
  EXPECT_EQ(calibrated.exit_code, 2);
  EXPECT_NE(calibrated.err.find("--calibration_images: applies to --quantize int8 only"), std::string::npos)
      << calibrated.err;
  EXPECT_FALSE(fs::exists(file("f.onnx")));
}

}  // namespace
