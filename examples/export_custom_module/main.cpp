// Defines a small image classifier with LibTorch's C++ API, exports it to ONNX with mltk and checks
// the file against the module itself.
//
//   export_custom_module [OUTPUT.onnx] [reference|onnxruntime]
//
// Exit status: 0 when the export validates (PASS or WARN), 1 when it fails, 2 on a usage error.
#include <mltk/onnx_export/exporter.h>
#include <mltk/validate/function_validation.h>

#include <torch/torch.h>

#include <cstdio>
#include <exception>
#include <string>

namespace nn = torch::nn;

// Stem, one residual block and a linear head: enough operators (convolution, batch norm, SiLU,
// GELU, addition, pooling, matrix product) to show how a user's own module goes through the exporter.
struct SmallNetImpl : nn::Module {
  explicit SmallNetImpl(int64_t classes)
      : stem(register_module("stem", nn::Conv2d(nn::Conv2dOptions(3, 16, 3).stride(2).padding(1).bias(false)))),
        stem_norm(register_module("stem_norm", nn::BatchNorm2d(16))),
        block(register_module("block", nn::Conv2d(nn::Conv2dOptions(16, 16, 3).padding(1)))),
        head(register_module("head", nn::Linear(16, classes))) {}

  torch::Tensor forward(const torch::Tensor& images) {
    auto x = torch::silu(stem_norm(stem(images)));
    x = x + torch::gelu(block(x));
    x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    return head(x);
  }

  nn::Conv2d stem;
  nn::BatchNorm2d stem_norm;
  nn::Conv2d block;
  nn::Linear head;
};
TORCH_MODULE(SmallNet);

int main(int argc, char** argv) {
  if (argc > 3) {
    std::fprintf(stderr, "usage: %s [OUTPUT.onnx] [reference|onnxruntime]\n", argv[0]);
    return 2;
  }
  const std::string output_path = argc > 1 ? argv[1] : "small_net.onnx";
  const std::string runtime = argc > 2 ? argv[2] : "reference";
  try {
    torch::manual_seed(0);
    SmallNet model(10);
    model->eval();

    mltk::onnx_export::ExportOptions options;
    options.opset = 14;
    options.input_shape = {3, 64, 64};
    options.dynamic_batch = true;  // the file accepts any batch size
    options.metadata = {{"model", "SmallNet"}};
    const auto forward = [&model](const torch::Tensor& images) { return model->forward(images); };
    const auto report = mltk::onnx_export::export_to_onnx(*model, forward, output_path, options);
    std::printf("exported %s: %lld ONNX nodes, %lld initializers\n", report.path.c_str(),
                static_cast<long long>(report.node_count), static_cast<long long>(report.initializer_count));

    mltk::validate::FunctionValidationOptions validation_options;
    validation_options.input_shapes = {{1, 3, 64, 64}};
    validation_options.dynamic_batch = true;
    validation_options.runtime = runtime;
    const auto run_module = [&model](const std::vector<torch::Tensor>& inputs) {
      torch::NoGradGuard no_grad;
      return std::vector<torch::Tensor>{model->forward(inputs.at(0))};
    };
    const auto validation = mltk::validate::validate_function_export(run_module, output_path, validation_options);
    for (const auto& batch : validation.batches) {
      const auto& metrics = batch.report.comparison.metrics;
      std::printf("batch %lld in %s: %s (max abs diff %.3g)\n", static_cast<long long>(batch.batch_size),
                  validation.runtime.c_str(), mltk::validate::to_string(batch.report.verdict.status).c_str(),
                  metrics ? metrics->max_abs_diff : -1.0);
    }
    std::printf("validation: %s (report %s)\n", mltk::validate::to_string(validation.status).c_str(),
                validation.report_path.c_str());
    return validation.status == mltk::validate::Status::Fail ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
