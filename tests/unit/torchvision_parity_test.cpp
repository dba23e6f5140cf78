// Every zoo architecture against its Python oracle (torchvision 0.14, or the Python definition of the
// custom models): the state dict Python saves loads strictly, and the outputs agree.
#include "mltk/checkpoint/state_dict.h"
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
}

INSTANTIATE_TEST_SUITE_P(AllArchitectures, TorchvisionParity,
                         ::testing::ValuesIn(models::ModelZoo::instance().names()),
                         [](const auto& info) { return info.param; });

}  // namespace
