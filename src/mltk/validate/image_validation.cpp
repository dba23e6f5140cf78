#include "mltk/validate/image_validation.h"

#include "mltk/validate/pixel_inputs.h"

#include <torch/torch.h>

#include <stdexcept>

namespace mltk::validate {
namespace {

// Feeds `batch` to a graph whose batch dimension is `size`, in groups of `size` rows.
torch::Tensor run_in_fixed_groups(runtime::OnnxRunner& runner, const torch::Tensor& batch, int64_t size) {
  std::vector<torch::Tensor> outputs;
  for (int64_t start = 0; start < batch.size(0); start += size) {
    const int64_t rows = std::min(size, batch.size(0) - start);
    auto group = batch.narrow(0, start, rows);
    if (rows < size) group = torch::cat({group, group.narrow(0, rows - 1, 1).expand({size - rows, -1, -1, -1})});
    outputs.push_back(runner.run({group.contiguous()}).at(0).narrow(0, 0, rows));
  }
  return torch::cat(outputs);
}

int64_t count_equal(const torch::Tensor& a, const torch::Tensor& b) { return a.eq(b).sum().item<int64_t>(); }

}  // namespace

ImageValidation validate_on_images(models::ClassifierImpl& model, runtime::OnnxRunner& runner,
                                   const ValidationImages& images, std::optional<int64_t> fixed_batch,
                                   const checkpoint::Normalization& normalization, bool onnx_takes_pixels) {
  torch::NoGradGuard no_grad;
  ImageValidation out;
  out.source = images.source;
  std::vector<torch::Tensor> model_logits, onnx_logits;
  auto& loader = *images.loader;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    const auto inputs = paired_inputs(pixels_of_batch(batch->images), normalization, onnx_takes_pixels);
    const auto expected = model.forward(inputs.model);
    const auto actual = fixed_batch ? run_in_fixed_groups(runner, inputs.onnx, *fixed_batch)
                                    : runner.run({inputs.onnx}).at(0);
    if (actual.sizes() != expected.sizes())
      throw std::runtime_error("the ONNX graph returned logits of shape " + c10::str(actual.sizes()) +
                               " for images where the model returns " + c10::str(expected.sizes()));
    const auto model_top1 = expected.argmax(1);
    const auto onnx_top1 = actual.argmax(1);
    out.agreeing += count_equal(model_top1, onnx_top1);
    const auto known = batch->labels.ge(0);
    out.labelled += known.sum().item<int64_t>();
    out.model_correct += count_equal(model_top1.masked_select(known), batch->labels.masked_select(known));
    out.onnx_correct += count_equal(onnx_top1.masked_select(known), batch->labels.masked_select(known));
    model_logits.push_back(expected);
    onnx_logits.push_back(actual);
  }
  out.skipped = loader.skipped_files();
  if (model_logits.empty())
    throw std::runtime_error("--validation_data " + images.source + ": none of its images could be decoded");
  const auto expected = torch::cat(model_logits);
  out.images = expected.size(0);
  out.report = evaluate(expected, torch::cat(onnx_logits));
  return out;
}

nlohmann::json to_json(const ImageValidation& validation) {
  const auto accuracy = [&](int64_t correct) {
    return validation.labelled ? nlohmann::json(static_cast<double>(correct) / validation.labelled) : nlohmann::json();
  };
  nlohmann::json out = to_json(validation.report);
  out["source"] = validation.source;
  out["images"] = validation.images;
  out["agreeing"] = validation.agreeing;
  out["top1_agreement"] = validation.agreement();
  out["skipped"] = validation.skipped;
  out["labelled"] = validation.labelled;
  out["model_accuracy"] = accuracy(validation.model_correct);
  out["onnx_accuracy"] = accuracy(validation.onnx_correct);
  return out;
}

}  // namespace mltk::validate
