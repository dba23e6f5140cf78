#pragma once
// The facts of a deployment folder (model.json) and the model card written from them (README.md).
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/validate/export_validator.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace mltk::cli {

struct DeploymentFacts {
  const checkpoint::Checkpoint* checkpoint = nullptr;
  std::string checkpoint_path;
  int eval_resize = 0;
  int opset = 0;
  bool dynamic_batch = true;
  const validate::ExportValidation* validation = nullptr;  // null when validation was off
  std::optional<double> test_accuracy;                    // from the checkpoint's test report
  std::string model_sha256;
  std::string ort_web_version;
  std::optional<std::string> quantization;  // the file's quantization metadata (JSON); none for float
};

// {"architecture", "model_type", "class_names", "input_size", "eval_resize", "normalization",
//  "preprocessing", "input", "outputs", "opset", "model_file", "model_sha256", "validation",
//  "test_accuracy", "checkpoint", "versions", "quantization"}; what the web app and classify.mjs read.
nlohmann::json model_json(const DeploymentFacts& facts);

// README.md: what the model is, how it was checked, how to serve and call it, and the files.
std::string model_card(const nlohmann::json& model);

}  // namespace mltk::cli
