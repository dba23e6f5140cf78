// Every zoo architecture against its Python oracle (torchvision 0.14, or the Python definition of the
// custom models): the state dict Python saves loads strictly, and the outputs agree, both eager and
// through the frozen graph ml-inference evaluates with.
#include "mltk/checkpoint/state_dict.h"
#include "mltk/inference/frozen_forward.h"
#include "mltk/models/zoo.h"
#include "support/python_reference.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace {

using namespace mltk;

class TorchvisionParity : public ::testing::TestWithParam<std::string> {};

TEST_P(TorchvisionParity, LoadsPythonStateDictStrictlyAndMatchesOutput) {
  MLTK_REQUIRE_ORACLE();
  const std::string architecture = GetParam();
  TempDir dir;
  const auto reference = testkit::python_reference(architecture, dir.path().string());

  auto model = models::create_model({architecture, 2});
  checkpoint::load_state_dict(*model, reference.state_dict, reference.file);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor output = model->forward(reference.input);
  ASSERT_EQ(output.sizes(), reference.output.sizes());
  EXPECT_LE((output - reference.output).abs().max().item<double>(), testkit::output_tolerance(reference))
      << architecture << " (largest output magnitude " << reference.output.abs().max().item<double>() << ")";

  // The frozen graph at the reference's batch size and, from the same object, at batch 1.
  inference::FrozenForward frozen(*model, [&](const torch::Tensor& x) { return model->forward(x); });
  for (const int64_t batch : {reference.input.size(0), int64_t{1}}) {
    const auto input = reference.input.narrow(0, 0, batch), expected = reference.output.narrow(0, 0, batch);
    const torch::Tensor frozen_output = frozen(input);
    ASSERT_FALSE(frozen.node_kinds(input.sizes().vec()).empty())
        << architecture << " fell back to eager: its frozen graph could not be built";
    ASSERT_EQ(frozen_output.sizes(), expected.sizes());
    EXPECT_LE((frozen_output - expected).abs().max().item<double>(), testkit::output_tolerance(reference))
        << architecture << " through the frozen graph at batch " << batch;
  }
  const auto kinds = frozen.node_kinds(reference.input.sizes().vec());
  // The optimisations took place: batch norms after convolutions folded away, convolutions on oneDNN.
  if (architecture.rfind("resnet", 0) == 0) {
    EXPECT_EQ(kinds.count("aten::batch_norm"), 0u) << architecture;
    EXPECT_GT(kinds.count("prim::mkldnn_convolution") + kinds.count("mkldnn_prepacked::conv2d_run"), 0u)
        << architecture << ::testing::PrintToString(kinds);
  }
}

INSTANTIATE_TEST_SUITE_P(AllArchitectures, TorchvisionParity,
                         ::testing::ValuesIn(models::ModelZoo::instance().names()),
                         [](const auto& info) { return info.param; });

}  // namespace
