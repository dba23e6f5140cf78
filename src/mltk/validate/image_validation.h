#pragma once
// Validation on real images (ml-export --validation_data): the LibTorch model and the ONNX file
// classify the same preprocessed images, and the report says how often their top-1 classes agree,
// how close their logits are, and, for images whose class is known, the accuracy of each.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/data/data_loader.h"
#include "mltk/models/classifier.h"
#include "mltk/runtime/onnx_runner.h"
#include "mltk/validate/verdict.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mltk::validate {

// The images to validate on: where they came from (shown in logs and the report) and a loader
// that yields them through the checkpoint's evaluation resize and crop, as pixel values 0..255
// held in float [N, 3, H, W] (normalised later, for each side as it takes them). Samples whose
// class is unknown carry the label -1.
struct ValidationImages {
  std::string source;
  std::shared_ptr<data::DataLoader> loader;
};

struct ImageValidation {
  std::string source;
  int64_t images = 0;                  // classified by both
  int64_t agreeing = 0;                // of those, with the same top-1 class
  std::vector<std::string> skipped;    // files that could not be decoded
  int64_t labelled = 0;                // images with a known class
  int64_t model_correct = 0;           // of those, classified correctly by LibTorch
  int64_t onnx_correct = 0;            // ... and by the ONNX file
  Report report;                       // metrics and verdict over the logits of all images
  double agreement() const { return images ? static_cast<double>(agreeing) / images : 0.0; }
};

// Runs every image of `images` through both: the model normalised with `normalization`, the ONNX
// file likewise or, when `onnx_takes_pixels`, as uint8 [N, H, W, 3] pixels. `fixed_batch` is the
// ONNX file's batch dimension when it is not symbolic: images are then fed in groups of exactly
// that size, the last group padded with copies of its last image whose outputs are dropped. The
// first ONNX output is compared with the model's logits. Throws when no image could be decoded.
ImageValidation validate_on_images(models::ClassifierImpl& model, runtime::OnnxRunner& runner,
                                   const ValidationImages& images, std::optional<int64_t> fixed_batch,
                                   const checkpoint::Normalization& normalization, bool onnx_takes_pixels);

// {"source", "images", "agreeing", "top1_agreement", "skipped", "labelled", "model_accuracy",
//  "onnx_accuracy" (null without labelled images), ...verdict.h's to_json(Report)}
nlohmann::json to_json(const ImageValidation& validation);

}  // namespace mltk::validate
