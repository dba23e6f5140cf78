// Every architecture of the zoo exported with a dynamic batch and run in ONNX Runtime against
// LibTorch: all of them at opset 14, one per family at the ends of the common range (11 and 17).
// The reference evaluator runs the same files, and must agree with ONNX Runtime as well.
#include "mltk/common/subprocess.h"
#include "mltk/models/zoo.h"
#include "mltk/onnx_export/exporter.h"
#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/runtime/reference_evaluator.h"
#include "support/test_support.h"

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

using namespace mltk;

namespace {

constexpr int64_t kImageSize = 224;  // the ViTs only take 224x224; the other models use it too
constexpr double kTolerance = 1e-4;

struct ZooCase {
  std::string architecture;
  int opset;
};

void PrintTo(const ZooCase& param, std::ostream* out) { *out << param.architecture << " at opset " << param.opset; }

std::vector<ZooCase> zoo_cases() {
  std::vector<ZooCase> cases;
  for (const auto& name : models::ModelZoo::instance().names()) cases.push_back({name, 14});
  for (const auto* name : {"resnet18", "efficientnet_b0", "mobilenet_v3_small", "vgg11", "densenet121", "vit_b_32",
                           "convnext_tiny", "simple_cnn"})
    for (const int opset : {11, 17}) cases.push_back({name, opset});
  return cases;
}

// Fresh initialisation leaves BatchNorm at mean 0 / variance 1, which does not match the actual
// activations: in eval mode the signal of deep MobileNets/EfficientNets then vanishes and every
// input gives the same logits. One train-mode pass with momentum 1 sets the statistics to those
// of a batch, as training would.
void calibrate_batch_norms(models::ClassifierImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& module : model.modules())
    if (auto* norm = module->as<torch::nn::BatchNorm2d>()) norm->options.momentum(1.0);
  model.train();
  model.forward(torch::randn({8, 3, kImageSize, kImageSize}));
  model.eval();
}

// Zero heads, 1e-6 layer scales and unit BatchNorm affines could be mishandled by the exported
// graph and still match. Every parameter is perturbed: those initialised to a constant by 0.1, the
// others by 10% of their own spread so that activations keep their scale in deep stacks. BatchNorm
// statistics are buffers, not parameters.
void perturb_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  auto perturb = [](torch::Tensor& tensor) {
    if (!tensor.is_floating_point()) return;
    const double spread = tensor.numel() > 1 ? tensor.std().item<double>() : 0.0;
    tensor.add_(torch::randn_like(tensor) * (spread > 0 ? 0.1 * spread : 0.1));
  };
  for (auto& parameter : module.parameters()) perturb(parameter);
}

// Calibrated networks give logits in the hundreds or thousands, where float32 rounding alone exceeds
// an absolute tolerance. Scaling the last Linear layer gives logits of unit spread, so that 1e-4
// compares the graphs at a relative precision that is the same for every architecture.
void normalize_logit_scale(models::ClassifierImpl& model) {
  torch::NoGradGuard no_grad;
  torch::nn::LinearImpl* head = nullptr;
  for (auto& module : model.modules())
    if (auto* linear = module->as<torch::nn::Linear>()) head = linear;
  ASSERT_NE(head, nullptr) << "no Linear layer to scale";
  const double spread = model.forward(torch::randn({4, 3, kImageSize, kImageSize})).std().item<double>();
  head->weight.div_(spread);
  head->bias.div_(spread);
}

// How far the model's own float32 output strays from its float64 output on `input`: an export can
// only be compared to 1e-4 on a model whose float32 rounding stays well below that.
double float32_rounding_error(models::ClassifierImpl& model, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  const auto single = model.forward(input).to(torch::kDouble);
  model.to(torch::kDouble);
  const auto reference = model.forward(input.to(torch::kDouble));
  model.to(torch::kFloat);  // float -> double -> float is exact
  return (single - reference).abs().max().item<double>();
}

// A perturbed, calibrated, unit-logit model whose float32 rounding error is small against
// kTolerance. Calibrating before or after the perturbation both give realistic statistics, yet
// which of the two leaves float32 accurate depends on the architecture (checked in torchvision:
// calibrated first, efficientnet_b3 strays from float64 by 0.04; perturbed first, resnet152 by
// 1e-3 and resnet101 by 2e-4), so the second order is tried when the first is not clearly good,
// and the better one is kept.
models::Classifier well_conditioned_model(const std::string& architecture) {
  const auto probe = torch::randn({3, 3, kImageSize, kImageSize});
  models::Classifier best;
  double best_error = std::numeric_limits<double>::infinity();
  for (const bool calibrate_first : {true, false}) {
    torch::manual_seed(0);
    auto model = models::create_model({architecture, 2, kImageSize, std::nullopt});
    if (calibrate_first) calibrate_batch_norms(*model);
    perturb_weights(*model);
    if (!calibrate_first) calibrate_batch_norms(*model);
    normalize_logit_scale(*model);
    const double error = float32_rounding_error(*model, probe);
    if (error < best_error) {
      best = model;
      best_error = error;
    }
    if (best_error <= kTolerance / 10) break;
  }
  if (best_error > kTolerance / 2) {
    ADD_FAILURE() << architecture << ": no test model found whose float32 output is within " << kTolerance / 2
                  << " of float64 (best: " << best_error << ")";
    return nullptr;
  }
  return best;
}

class ZooExport : public ::testing::TestWithParam<ZooCase> {
 protected:
  void SetUp() override { MLTK_REQUIRE_ONNXRUNTIME(); }
};

TEST_P(ZooExport, DynamicBatchMatchesLibTorch) {
  const auto& [architecture, opset] = GetParam();
  auto model = well_conditioned_model(architecture);
  ASSERT_TRUE(model);

  TempDir dir("mltk-zoo-export");
  const auto path = dir.file(architecture + ".onnx");
  onnx_export::ExportOptions options;
  options.opset = opset;
  options.dynamic_batch = true;
  options.input_shape = {3, kImageSize, kImageSize};
  onnx_export::export_to_onnx(*model, path, options);  // runs onnx::checker::check_model

  runtime::OnnxRuntimeNode runtime(path, /*intra_op_threads=*/2);
  runtime::ReferenceEvaluator reference(path);
  for (const int64_t batch : {1, 3}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    const auto input = torch::randn({batch, 3, kImageSize, kImageSize});
    torch::Tensor expected;
    {
      torch::NoGradGuard no_grad;
      expected = model->forward(input);
    }
    const auto actual = runtime.run({input}).at(0);
    ASSERT_EQ(actual.sizes(), expected.sizes());
    // A near-constant output would make the comparison meaningless.
    EXPECT_GT(expected.std().item<double>(), 1e-3) << expected;
    if (batch > 1) EXPECT_GT((expected - expected[0]).abs().max().item<double>(), 1e-3) << "rows are identical";
    EXPECT_LE((actual - expected).abs().max().item<double>(), kTolerance) << "LibTorch " << expected << "\nORT " << actual;
    const auto evaluated = reference.run({input}).at(0);
    EXPECT_LE((evaluated - actual).abs().max().item<double>(), kTolerance)
        << "reference evaluator " << evaluated << "\nORT " << actual;
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, ZooExport, ::testing::ValuesIn(zoo_cases()), [](const auto& info) {
  return info.param.architecture + "_opset" + std::to_string(info.param.opset);
});

}  // namespace
