// export_validator: an export compared with its own model passes; a damaged file fails; a
// symbolic batch dimension is checked at two batch sizes; the JSON report lands beside the file.
#include "mltk/common/subprocess.h"
#include "mltk/models/zoo.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/validate/export_validator.h"

#include "support/onnx_edit.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace mltk;

namespace {

constexpr int64_t kValidatorInputSize = 32;

struct ExportedTinyNet {
  models::Classifier model;
  std::string onnx_path;
};

ExportedTinyNet export_tiny_net(const TempDir& dir, bool dynamic_batch, int64_t batch_size = 1) {
  torch::manual_seed(7);
  auto model = models::create_model({"tiny_net", 3, kValidatorInputSize, std::nullopt});
  onnx_export::ExportOptions options;
  options.batch_size = batch_size;
  options.dynamic_batch = dynamic_batch;
  options.input_shape = {3, kValidatorInputSize, kValidatorInputSize};
  const std::string path = dir.file("tiny.onnx");
  onnx_export::export_to_onnx(*model, path, options);
  return {model, path};
}

validate::ExportValidationOptions options_for(int64_t batch_size = 1) {
  validate::ExportValidationOptions options;
  options.batch_size = batch_size;
  options.input_shape = {3, kValidatorInputSize, kValidatorInputSize};
  return options;
}

TEST(ExportValidator, UnchangedExportPassesAndWritesReport) {
  TempDir dir;
  const auto exported = export_tiny_net(dir, false);
  const auto validation = validate::validate_export(*exported.model, exported.onnx_path, options_for());

  EXPECT_EQ(validation.status, validate::Status::Pass);
  EXPECT_EQ(validation.runtime, "reference");
  EXPECT_FALSE(validation.dynamic_batch);
  ASSERT_EQ(validation.batches.size(), 1u);
  EXPECT_EQ(validation.batches[0].batch_size, 1);
  EXPECT_EQ(validation.report_path, dir.file("tiny.validation.json"));

  const auto json = nlohmann::json::parse(read_file(validation.report_path));
  EXPECT_EQ(json["status"], "PASS");
  EXPECT_EQ(json["seed"], validate::kValidationSeed);
  EXPECT_EQ(json["batches"][0]["batch_size"], 1);
  EXPECT_EQ(json["batches"][0]["reference_shape"], nlohmann::json({1, 3}));
}

TEST(ExportValidator, AlteredInitializerFails) {
  TempDir dir;
  const auto exported = export_tiny_net(dir, false);
  testkit::alter_initializer(exported.onnx_path, "fc.bias", 1.0F);
  const auto validation = validate::validate_export(*exported.model, exported.onnx_path, options_for());

  EXPECT_EQ(validation.status, validate::Status::Fail);
  ASSERT_EQ(validation.batches.size(), 1u);
  EXPECT_FALSE(validation.batches[0].report.verdict.reasons.empty());
  const auto worst = validate::worst_metrics(validation);
  ASSERT_TRUE(worst);
  EXPECT_NEAR(worst->max_abs_diff, 1.0, 1e-4);  // the bias moves one logit of every row by 1
  EXPECT_EQ(nlohmann::json::parse(read_file(validation.report_path))["status"], "FAIL");
}

TEST(ExportValidator, SymbolicBatchIsCheckedAtTwoBatchSizes) {
  TempDir dir;
  const auto exported = export_tiny_net(dir, true, 2);
  const auto validation = validate::validate_export(*exported.model, exported.onnx_path, options_for(2));

  EXPECT_TRUE(validation.dynamic_batch);
  ASSERT_EQ(validation.batches.size(), 2u);
  EXPECT_EQ(validation.batches[0].batch_size, 2);
  EXPECT_EQ(validation.batches[1].batch_size, validate::kDynamicCheckBatchSize);
  EXPECT_EQ(validation.status, validate::Status::Pass);
}

TEST(ExportValidator, FixedBatchOfTheFileWinsOverTheRequestedOne) {
  TempDir dir;
  const auto exported = export_tiny_net(dir, false, 4);
  const auto validation = validate::validate_export(*exported.model, exported.onnx_path, options_for(1));
  ASSERT_EQ(validation.batches.size(), 1u);
  EXPECT_EQ(validation.batches[0].batch_size, 4);
}

TEST(ExportValidator, InputShapeMismatchNamesTheFile) {
  TempDir dir;
  const auto exported = export_tiny_net(dir, false);
  auto options = options_for();
  options.input_shape = {3, 64, 64};
  try {
    validate::validate_export(*exported.model, exported.onnx_path, options);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(exported.onnx_path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[3, 32, 32]"), std::string::npos) << e.what();
  }
}

TEST(ExportValidator, ValidationInputsAreReproducible) {
  TempDir dir;
  const auto exported = export_tiny_net(dir, false);
  const auto first = validate::validate_export(*exported.model, exported.onnx_path, options_for());
  const auto second = validate::validate_export(*exported.model, exported.onnx_path, options_for());
  EXPECT_EQ(validate::to_json(first), validate::to_json(second));
}

}  // namespace
