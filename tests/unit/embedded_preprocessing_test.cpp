// ml-export --preprocessing embedded: the file takes uint8 [N, H, W, 3] pixels. ONNX Runtime (Node)
// runs it on pixels; LibTorch runs the model on the same pixels normalised by the transforms that
// are checked against torchvision (data::to_normalized_tensor), so the normalisation inside the
// graph is compared with an implementation independent of it.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/common/subprocess.h"
#include "mltk/data/image_io.h"
#include "mltk/data/transforms.h"
#include "mltk/models/zoo.h"
#include "mltk/onnx_export/embedded_preprocessing.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/validate/export_validator.h"

#include "support/data_fixtures.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

using namespace mltk;
namespace fs = std::filesystem;

namespace {

constexpr int kInputSize = 64;
// Non-ImageNet values, so that a graph normalising with the wrong constants fails.
const checkpoint::Normalization kNormalization{{0.5, 0.4, 0.3}, {0.2, 0.25, 0.3}};

models::Classifier seeded_model() {
  torch::manual_seed(5);
  auto model = models::create_model({"simple_cnn", 3, kInputSize, std::nullopt});
  model->eval();
  return model;
}

std::string export_embedded(models::ClassifierImpl& model, const std::string& path, int64_t batch, bool dynamic) {
  onnx_export::ExportOptions options;
  options.batch_size = batch;
  options.dynamic_batch = dynamic;
  options.input_shape = {3, kInputSize, kInputSize};
  options.embedded_preprocessing = kNormalization;
  onnx_export::export_to_onnx(model, path, options);
  return path;
}

// ToTensor + Normalize of each image, stacked: the LibTorch side's input for uint8 [N, H, W, 3].
torch::Tensor normalised_independently(const torch::Tensor& pixels) {
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < pixels.size(0); ++i) {
    const torch::Tensor image = pixels[i].contiguous();
    const cv::Mat rgb(kInputSize, kInputSize, CV_8UC3, image.data_ptr<uint8_t>());
    images.push_back(data::to_normalized_tensor(rgb, kNormalization.mean, kNormalization.std));
  }
  return torch::stack(images);
}

// Centre crops of real photos, resized as the eval transform does.
torch::Tensor hymenoptera_pixels(int count) {
  std::vector<torch::Tensor> crops;
  for (const auto& entry : fs::directory_iterator(testkit::hymenoptera_dir() + "/val/bees")) {
    const auto decoded = data::decode_image(entry.path().string());
    if (!decoded.ok()) continue;
    const auto resize = data::resize_then_center_crop(decoded.rgb.size(), 73, kInputSize);
    const cv::Mat crop = resize(decoded.rgb(resize.source()));
    crops.push_back(torch::from_blob(const_cast<uchar*>(crop.data), {kInputSize, kInputSize, 3}, torch::kUInt8).clone());
    if (static_cast<int>(crops.size()) == count) break;
  }
  return torch::stack(crops);
}

TEST(EmbeddedPreprocessing, GraphTakesUint8PixelsAndGivesLogitsAndProbabilities) {
  TempDir dir;
  auto model = seeded_model();
  for (const bool dynamic : {false, true}) {
    const auto path = export_embedded(*model, dir.file(dynamic ? "dynamic.onnx" : "fixed.onnx"), 2, dynamic);
    const auto proto = runtime::load_onnx_model(path);
    const auto& graph = proto.graph();
    ASSERT_EQ(graph.input_size(), 1);
    EXPECT_EQ(graph.input(0).name(), "image");
    const auto& type = graph.input(0).type().tensor_type();
    EXPECT_EQ(type.elem_type(), onnx::TensorProto::UINT8);
    ASSERT_EQ(type.shape().dim_size(), 4);
    if (dynamic) EXPECT_EQ(type.shape().dim(0).dim_param(), "batch_size");
    else EXPECT_EQ(type.shape().dim(0).dim_value(), 2);
    EXPECT_EQ(type.shape().dim(1).dim_value(), kInputSize);
    EXPECT_EQ(type.shape().dim(2).dim_value(), kInputSize);
    EXPECT_EQ(type.shape().dim(3).dim_value(), 3);
    ASSERT_EQ(graph.output_size(), 2);
    EXPECT_EQ(graph.output(0).name(), "logits");
    EXPECT_EQ(graph.output(1).name(), "probabilities");
  }
}

TEST(EmbeddedPreprocessing, OnnxRuntimeOnPixelsMatchesLibTorchOnNormalisedPixels) {
  MLTK_REQUIRE_ONNXRUNTIME();
  MLTK_REQUIRE_HYMENOPTERA();
  TempDir dir;
  auto model = seeded_model();
  const auto path = export_embedded(*model, dir.file("embedded.onnx"), 1, true);
  runtime::OnnxRuntimeNode ort(path, 1);
  torch::manual_seed(17);
  const auto random = torch::randint(0, 256, {5, kInputSize, kInputSize, 3}, torch::kUInt8);
  for (const auto& pixels : {random, hymenoptera_pixels(8)}) {
    torch::NoGradGuard no_grad;
    const auto logits = model->forward(normalised_independently(pixels));
    const auto probabilities = torch::softmax(logits, 1);
    const auto outputs = ort.run({pixels});
    ASSERT_EQ(outputs.size(), 2u);
    EXPECT_LT((outputs[0] - logits).abs().max().item<double>(), 1e-4);
    EXPECT_LT((outputs[1] - probabilities).abs().max().item<double>(), 1e-5);
    EXPECT_TRUE(torch::equal(outputs[1].argmax(1), probabilities.argmax(1)));
  }
}

TEST(EmbeddedPreprocessing, ValidationFeedsPixelsToBothSides) {
  TempDir dir;
  auto model = seeded_model();
  const auto path = export_embedded(*model, dir.file("embedded.onnx"), 2, false);
  validate::ExportValidationOptions options;
  options.input_shape = {3, kInputSize, kInputSize};
  options.normalization = kNormalization;
  const auto validation = validate::validate_export(*model, path, options);
  EXPECT_TRUE(validation.takes_pixels);
  EXPECT_EQ(validation.status, validate::Status::Pass);
  EXPECT_EQ(nlohmann::json::parse(read_file(validation.report_path)).at("preprocessing"), "embedded");

  // Validated as if normalised with other constants, the same file must fail: the check sees the
  // graph's normalisation.
  options.normalization = checkpoint::Normalization{};
  EXPECT_EQ(validate::validate_export(*model, path, options).status, validate::Status::Fail);
}

}  // namespace
