// Every zoo architecture against its Python oracle (torchvision 0.14, or the Python definition of the
// custom models): the state dict Python saves loads strictly, and the outputs agree.
#include "mltk/checkpoint/state_dict.h"
#include "mltk/checkpoint/torch_file_reader.h"
#include "mltk/models/zoo.h"
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
  const std::string reference = dir.file("reference.pt");
  testkit::run_oracle("reference_model.py", {"forward", architecture, reference});

  const auto saved = checkpoint::read_torch_file(reference).toGenericDict();
  auto model = models::create_model({architecture, 2});
  checkpoint::load_state_dict(*model, checkpoint::state_dict_from_ivalue(saved.at("state_dict"), reference),
                              reference);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor output = model->forward(saved.at("input").toTensor());
  const torch::Tensor expected = saved.at("output").toTensor();
  ASSERT_EQ(output.sizes(), expected.sizes());
  // 1e-4 absolute, scaled up for outputs beyond 1 in magnitude: deep randomly initialised networks
  // (resnet152 reaches ~1e8) produce values whose float32 spacing alone exceeds 1e-4.
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  EXPECT_LE((output - expected).abs().max().item<double>(), 1e-4 * scale)
      << architecture << " (largest output magnitude " << scale << ")";
}

INSTANTIATE_TEST_SUITE_P(AllArchitectures, TorchvisionParity,
                         ::testing::ValuesIn(models::ModelZoo::instance().names()),
                         [](const auto& info) { return info.param; });

}  // namespace
