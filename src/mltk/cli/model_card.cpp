#include "mltk/cli/model_card.h"

#include "mltk/onnx_export/embedded_preprocessing.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace mltk::cli {
namespace {

using nlohmann::json;

json validation_json(const validate::ExportValidation& validation) {
  json out = {{"status", validate::to_string(validation.status)}, {"runtime", validation.runtime}};
  if (const auto metrics = validate::worst_metrics(validation)) {
    out["max_abs_diff"] = metrics->max_abs_diff;
    out["mse"] = metrics->mse;
    out["cosine_similarity"] = metrics->cosine_similarity;
  }
  if (validation.images) {
    out["images"] = {{"source", validation.images->source},
                     {"count", validation.images->images},
                     {"top1_agreement", validation.images->agreement()}};
  }
  return out;
}

std::string percent(double fraction) { return fmt::format("{:.2f}%", 100.0 * fraction); }

}  // namespace

json model_json(const DeploymentFacts& facts) {
  const auto& checkpoint = *facts.checkpoint;
  const auto size = checkpoint.model.input_size;
  return {{"architecture", checkpoint.model.architecture},
          {"model_type", checkpoint.model.type},
          {"class_names", checkpoint.class_names},
          {"input_size", size},
          {"eval_resize", facts.eval_resize},
          {"normalization", {{"mean", checkpoint.normalization.mean}, {"std", checkpoint.normalization.std}}},
          {"preprocessing", "embedded"},
          {"input",
           {{"name", onnx_export::kImageInput},
            {"dtype", "uint8"},
            {"shape", {facts.dynamic_batch ? json("batch_size") : json(1), size, size, 3}},
            {"layout", "NHWC, RGB, resized and centre-cropped"}}},
          {"outputs", json::array({onnx_export::kLogitsOutput, onnx_export::kProbabilitiesOutput})},
          {"opset", facts.opset},
          {"model_file", "model.onnx"},
          {"model_sha256", facts.model_sha256},
          {"validation", facts.validation ? validation_json(*facts.validation) : json()},
          {"test_accuracy", facts.test_accuracy ? json(*facts.test_accuracy) : json()},
          {"checkpoint", {{"path", facts.checkpoint_path}, {"epoch", checkpoint.epoch}}},
          {"versions", {{"mltk", MLTK_VERSION}, {"onnxruntime_web", facts.ort_web_version}}},
          {"quantization", facts.quantization ? json::parse(*facts.quantization) : json()}};
}

std::string model_card(const json& model) {
  const auto classes = model.at("class_names").get<std::vector<std::string>>();
  const int size = model.at("input_size").get<int>();
  std::string validation = "not validated (exported with --no-validate)";
  if (const auto& v = model.at("validation"); !v.is_null()) {
    validation = fmt::format("{} against the LibTorch checkpoint in {}", v.at("status").get<std::string>(),
                             v.at("runtime").get<std::string>());
    if (v.contains("max_abs_diff"))
      validation += fmt::format(" (largest logit difference {:.2e}, cosine similarity {:.6f})",
                                v.at("max_abs_diff").get<double>(), v.at("cosine_similarity").get<double>());
    if (v.contains("images"))
      validation += fmt::format("; on {} real images from {} the top-1 classes agree on {}",
                                v.at("images").at("count").get<int64_t>(), v.at("images").at("source").get<std::string>(),
                                percent(v.at("images").at("top1_agreement").get<double>()));
  }
  std::string weights = "float32";
  if (const auto& q = model.at("quantization"); !q.is_null()) {
    weights = q.at("format") == "dynamic"
                  ? "int8 (dynamic: int8 weights of the matrix products, activations quantized while it runs)"
                  : fmt::format("int8 (static, QDQ: int8 weights, uint8 activations calibrated on {} images)",
                                q.at("calibration_images").get<int64_t>());
  }
  const auto& accuracy = model.at("test_accuracy");
  const auto& mean = model.at("normalization").at("mean");
  const auto& deviation = model.at("normalization").at("std");
  return fmt::format(
      R"(# {architecture} image classifier

| | |
|---|---|
| architecture | {architecture} ({type}) |
| classes ({count}) | {classes} |
| input | RGB, shorter side resized to {resize} pixels (bilinear, antialiased as PIL), centre crop {size}x{size} |
| normalisation (inside the model) | mean {mean}, std {std} |
| ONNX opset | {opset} |
| weights | {weights} |
| validation | {validation} |
| test accuracy | {accuracy} |
| model.onnx sha256 | `{sha}` |
| versions | mltk {mltk}, onnxruntime-web {ort} |

## The model

`model.onnx` takes `image`: uint8 pixels `[N, {size}, {size}, 3]` (RGB, rows then columns), already
resized and centre-cropped as above. It scales, normalises and transposes them itself and returns
`logits` and `probabilities` (softmax over the classes, in the order of `class_names` in `model.json`).
Resizing and cropping are left outside because image decoding differs per platform; `web/` and
`node/` do both exactly as `ml-inference` does.

## Web app (`web/`)

Serve the folder over HTTP, for example

    cd web && python3 -m http.server 8000

and open http://localhost:8000/. Pick or drop an image: the page shows the five most probable classes
and the time taken. Everything runs in the browser (ONNX Runtime Web, WebAssembly) from the files in
`web/`; no network access is needed. Opened as a `file://` URL it cannot load the model.

Without further headers the page runs ONNX Runtime on one thread. A server that sends

    Cross-Origin-Opener-Policy: same-origin
    Cross-Origin-Embedder-Policy: require-corp

makes the page cross-origin isolated, and then it uses up to four WebAssembly threads.

For scripts, `window.mltkClassify(url)` resolves to `{{index, label, probabilities}}`.

## Node (`node/`)

    cd node && npm ci
    node classify.mjs photo.jpg more.png

prints one JSON line per image with the same fields. It decodes JPEG and PNG files with jpeg-js and
pngjs, whose JPEG decoding can differ from libjpeg's by a grey level here and there, so its
probabilities may differ from `ml-inference`'s in the third decimal on some photos.

## Files

- `model.onnx`, `model.json` (the facts above, read by both apps), `README.md` (this card)
- `web/`: `index.html`, `app.mjs`, `preprocess.mjs`, a copy of the model and of `model.json`, and the
  ONNX Runtime Web runtime (`ort.wasm.min.mjs`, `ort-wasm-simd-threaded.mjs`, `ort-wasm-simd-threaded.wasm`)
- `node/`: `classify.mjs`, `preprocess.mjs`, `package.json` and `package-lock.json` (pinned versions)
)",
      fmt::arg("architecture", model.at("architecture").get<std::string>()),
      fmt::arg("type", model.at("model_type").get<std::string>()), fmt::arg("count", classes.size()),
      fmt::arg("classes", fmt::join(classes, ", ")), fmt::arg("resize", model.at("eval_resize").get<int>()),
      fmt::arg("size", size), fmt::arg("mean", mean.dump()), fmt::arg("std", deviation.dump()),
      fmt::arg("opset", model.at("opset").get<int>()), fmt::arg("validation", validation), fmt::arg("weights", weights),
      fmt::arg("accuracy", accuracy.is_null() ? std::string("not measured (no test report beside the checkpoint)")
                                              : percent(accuracy.get<double>())),
      fmt::arg("sha", model.at("model_sha256").get<std::string>()),
      fmt::arg("mltk", model.at("versions").at("mltk").get<std::string>()),
      fmt::arg("ort", model.at("versions").at("onnxruntime_web").get<std::string>()));
}

}  // namespace mltk::cli
