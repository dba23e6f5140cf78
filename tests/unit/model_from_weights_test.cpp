// Models built from a checkpoint's weights skip their random initialisation and share the weights'
// memory; what they compute must still be exactly what Python computes with the same weights.
#include "mltk/checkpoint/state_dict.h"
#include "mltk/models/skip_initialisation.h"
#include "mltk/models/truncated_normal.h"
#include "mltk/pipeline/model_builder.h"
#include "support/python_reference.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

namespace {

using namespace mltk;

constexpr float kSentinel = 7.25f;

torch::Tensor sentinel() { return torch::full({64, 32}, kSentinel); }

bool all_sentinel(const torch::Tensor& tensor) { return tensor.eq(kSentinel).all().item<bool>(); }

TEST(SkipInitialisation, RandomFillsLeaveTensorsAsTheyAre) {
  torch::NoGradGuard no_grad;
  {
    models::SkipInitialisation skip;
    EXPECT_TRUE(models::initialisation_skipped());
    auto uniform = sentinel(), normal = sentinel(), kaiming = sentinel(), truncated = sentinel();
    uniform.uniform_(-1.0, 1.0);
    normal.normal_(0.0, 1.0);
    torch::nn::init::kaiming_normal_(kaiming);
    models::trunc_normal_(truncated, 0.0, 0.02);
    EXPECT_TRUE(all_sentinel(uniform));
    EXPECT_TRUE(all_sentinel(normal));
    EXPECT_TRUE(all_sentinel(kaiming));
    EXPECT_TRUE(all_sentinel(truncated));
    // Everything else computes as usual.
    EXPECT_EQ(sentinel().add(1.0).sum().item<float>(), 64 * 32 * (kSentinel + 1.0f));
    EXPECT_TRUE(torch::ones({3}).equal(torch::nn::init::ones_(torch::zeros({3}))));
  }
  EXPECT_FALSE(models::initialisation_skipped());
  auto uniform = sentinel();
  uniform.uniform_(-1.0, 1.0);
  EXPECT_LE(uniform.abs().max().item<float>(), 1.0f);
  auto truncated = sentinel();
  models::trunc_normal_(truncated, 0.0, 0.02);
  EXPECT_LE(truncated.abs().max().item<float>(), 2.0f);
}

TEST(SkipInitialisation, OnlyAppliesToItsOwnThread) {
  models::SkipInitialisation skip;
  auto filled = sentinel();
  std::thread([&] { filled.uniform_(-1.0, 1.0); }).join();
  EXPECT_FALSE(all_sentinel(filled));
}

// Python's state dict (torchvision 0.14, or the Python definition of the custom models) loaded
// without initialisation gives Python's outputs.
class ModelFromWeights : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelFromWeights, MatchesPythonAndSharesTheWeights) {
  MLTK_REQUIRE_ORACLE();
  const std::string architecture = GetParam();
  TempDir dir;
  const auto reference = testkit::python_reference(architecture, dir.path().string());

  auto model = pipeline::create_model_with_weights({architecture, 2}, reference.state_dict, reference.file);
  model->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor output = model->forward(reference.input);
  ASSERT_EQ(output.sizes(), reference.output.sizes());
  EXPECT_LE((output - reference.output).abs().max().item<double>(), testkit::output_tolerance(reference))
      << architecture;

  const auto own = model->named_parameters();
  for (const auto& [name, tensor] : reference.state_dict)
    if (const auto* parameter = own.find(name)) EXPECT_EQ(parameter->data_ptr(), tensor.data_ptr()) << name;
}

INSTANTIATE_TEST_SUITE_P(Representatives, ModelFromWeights,
                         ::testing::Values("resnet18", "mobilenet_v3_small", "convnext_tiny", "tiny_net"),
                         [](const auto& info) { return info.param; });

TEST(ModelFromWeights, IncompleteWeightsAreRejectedNamingTheSource) {
  auto donor = models::create_model({"tiny_net", 2});
  auto state = checkpoint::state_dict_of(*donor);
  state.pop_back();
  const std::string message = testkit::message_of_throw<std::exception>(
      [&] { pipeline::create_model_with_weights({"tiny_net", 2}, state, "partial.pt"); });
  EXPECT_NE(message.find("partial.pt"), std::string::npos) << message;
  EXPECT_NE(message.find("missing keys"), std::string::npos) << message;
}

TEST(ModelFromWeights, WeightsOfAnotherTypeAreCopiedAndConverted) {
  auto donor = models::create_model({"tiny_net", 2});
  checkpoint::StateDict doubles;
  for (const auto& [name, tensor] : checkpoint::state_dict_of(*donor))
    doubles.emplace_back(name, tensor.is_floating_point() ? tensor.to(torch::kDouble) : tensor);
  auto model = pipeline::create_model_with_weights({"tiny_net", 2}, doubles, "doubles.pt");
  for (const auto& parameter : model->parameters()) EXPECT_EQ(parameter.scalar_type(), torch::kFloat);
  const auto own = checkpoint::state_dict_of(*model);
  for (size_t i = 0; i < own.size(); ++i)
    EXPECT_TRUE(own[i].second.equal(checkpoint::state_dict_of(*donor)[i].second)) << own[i].first;
}

}  // namespace
