// Opset-dependent operator forms that the ONNX 1.12 conformance data (one opset per operator)
// does not cover: attribute forms of older opsets, opset 18 inputs, and padding corner cases;
// and the errors operators raise for input they cannot evaluate.
#include "mltk/runtime/reference_evaluator.h"
#include "onnx_test_models.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <stdexcept>
#include <string>

using mltk::testing::SingleNodeModel;

namespace {

const auto kLongs = torch::TensorOptions().dtype(torch::kLong);

void expect_equal(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, 1e-5, 1e-6)) << "actual:\n" << actual << "\nexpected:\n" << expected;
}

TEST(ReferenceEvaluatorOpsets, SoftmaxBeforeOpset13NormalisesTheFlattenedTail) {
  const auto x = torch::randn({2, 3, 4});
  auto old_form = SingleNodeModel("Softmax", 11, {"x"}).attr("axis", int64_t{1}).run({x});
  expect_equal(old_form.at(0), torch::softmax(x.reshape({2, 12}), 1).reshape({2, 3, 4}));
  auto new_form = SingleNodeModel("Softmax", 13, {"x"}).attr("axis", int64_t{1}).run({x});
  expect_equal(new_form.at(0), torch::softmax(x, 1));
  auto old_default = SingleNodeModel("Softmax", 11, {"x"}).run({x});
  expect_equal(old_default.at(0), torch::softmax(x.reshape({2, 12}), 1).reshape({2, 3, 4}));
}

TEST(ReferenceEvaluatorOpsets, LogSoftmaxBeforeOpset13NormalisesTheFlattenedTail) {
  const auto x = torch::randn({2, 3, 4});
  auto old_form = SingleNodeModel("LogSoftmax", 11, {"x"}).run({x});
  expect_equal(old_form.at(0), torch::log_softmax(x.reshape({2, 12}), 1).reshape({2, 3, 4}));
}

TEST(ReferenceEvaluatorOpsets, ClipBoundsAreAttributesBeforeOpset11) {
  const auto x = torch::linspace(-2, 2, 9);
  auto old_form = SingleNodeModel("Clip", 7, {"x"}).attr("min", -0.5F).attr("max", 0.5F).run({x});
  expect_equal(old_form.at(0), x.clamp(-0.5, 0.5));
  auto only_max = SingleNodeModel("Clip", 13, {"x", "", "hi"}).initializer("hi", torch::tensor(1.0F)).run({x});
  expect_equal(only_max.at(0), x.clamp_max(1.0));
}

TEST(ReferenceEvaluatorOpsets, SqueezeAndUnsqueezeAxesAreAttributesBeforeOpset13) {
  const auto x = torch::randn({2, 3});
  auto unsqueezed = SingleNodeModel("Unsqueeze", 11, {"x"}).attr("axes", std::vector<int64_t>{3, 0}).run({x});
  EXPECT_EQ(unsqueezed.at(0).sizes(), (std::vector<int64_t>{1, 2, 3, 1}));
  const auto y = torch::randn({1, 2, 1});
  auto squeezed = SingleNodeModel("Squeeze", 11, {"x"}).attr("axes", std::vector<int64_t>{-1}).run({y});
  EXPECT_EQ(squeezed.at(0).sizes(), (std::vector<int64_t>{1, 2}));
  auto squeeze_all = SingleNodeModel("Squeeze", 11, {"x"}).run({y});
  EXPECT_EQ(squeeze_all.at(0).sizes(), (std::vector<int64_t>{2}));
}

TEST(ReferenceEvaluatorOpsets, SplitSizesByOpset) {
  const auto x = torch::arange(7, torch::kFloat);
  auto attribute_form =
      SingleNodeModel("Split", 11, {"x"}, {"a", "b"}).attr("split", std::vector<int64_t>{3, 4}).run({x});
  expect_equal(attribute_form.at(1), torch::arange(3, 7, torch::kFloat));
  // Opset 18 num_outputs: ceil(7 / 3) = 3 per part, the last part takes the remainder.
  auto counted = SingleNodeModel("Split", 18, {"x"}, {"a", "b", "c"}).attr("num_outputs", int64_t{3}).run({x});
  ASSERT_EQ(counted.size(), 3U);
  EXPECT_EQ(counted[2].numel(), 1);
  EXPECT_EQ(counted[0].numel(), 3);
}

TEST(ReferenceEvaluatorOpsets, ReduceMeanAxesMoveToAnInputInOpset18) {
  const auto x = torch::randn({2, 3, 4});
  auto attribute_form = SingleNodeModel("ReduceMean", 13, {"x"})
                            .attr("axes", std::vector<int64_t>{-1})
                            .attr("keepdims", int64_t{0})
                            .run({x});
  expect_equal(attribute_form.at(0), x.mean(-1));
  auto input_form = SingleNodeModel("ReduceMean", 18, {"x", "axes"})
                        .initializer("axes", torch::tensor({1}, kLongs))
                        .run({x});
  expect_equal(input_form.at(0), x.mean(1, /*keepdim=*/true));
  auto noop = SingleNodeModel("ReduceMean", 18, {"x"}).attr("noop_with_empty_axes", int64_t{1}).run({x});
  expect_equal(noop.at(0), x);
  auto all = SingleNodeModel("ReduceMean", 18, {"x"}).attr("keepdims", int64_t{0}).run({x});
  expect_equal(all.at(0), x.mean());
}

TEST(ReferenceEvaluatorOpsets, ReduceSumAxesMoveToAnInputInOpset13) {
  const auto x = torch::randn({2, 3, 4});
  auto attribute_form = SingleNodeModel("ReduceSum", 11, {"x"}).attr("axes", std::vector<int64_t>{0, -1}).run({x});
  expect_equal(attribute_form.at(0), x.sum(std::vector<int64_t>{0, 2}, /*keepdim=*/true));
  auto input_form = SingleNodeModel("ReduceSum", 13, {"x", "axes"})
                        .initializer("axes", torch::tensor({1}, kLongs))
                        .attr("keepdims", int64_t{0})
                        .run({x});
  expect_equal(input_form.at(0), x.sum(1));
  auto integers = SingleNodeModel("ReduceSum", 13, {"x"}).run({torch::ones({2, 3}, torch::kInt)});
  EXPECT_EQ(integers.at(0).scalar_type(), torch::kInt);
  EXPECT_EQ(integers.at(0).item<int>(), 6);
}

TEST(ReferenceEvaluatorOpsets, TopKAttributeBeforeOpset10AndTiesInIndexOrder) {
  const auto x = torch::tensor({{3.0F, 1.0F, 3.0F, 2.0F, 3.0F}});
  auto attribute_form = SingleNodeModel("TopK", 9, {"x"}, {"values", "indices"}).attr("k", int64_t{2}).run({x});
  expect_equal(attribute_form.at(0), torch::tensor({{3.0F, 3.0F}}));
  EXPECT_TRUE(torch::equal(attribute_form.at(1), torch::tensor({{0, 2}}, kLongs)));
  auto smallest = SingleNodeModel("TopK", 11, {"x", "k"}, {"values", "indices"})
                      .initializer("k", torch::tensor({4}, kLongs))
                      .attr("largest", int64_t{0})
                      .run({x});
  EXPECT_TRUE(torch::equal(smallest.at(1), torch::tensor({{1, 3, 0, 2}}, kLongs)));
}

TEST(ReferenceEvaluatorOpsets, SliceAttributesBeforeOpset10AndReversedInputs) {
  const auto x = torch::arange(24, torch::kFloat).reshape({4, 6});
  auto attribute_form = SingleNodeModel("Slice", 9, {"x"})
                            .attr("starts", std::vector<int64_t>{1})
                            .attr("ends", std::vector<int64_t>{std::numeric_limits<int64_t>::max()})
                            .attr("axes", std::vector<int64_t>{1})
                            .run({x});
  expect_equal(attribute_form.at(0), x.slice(1, 1));
  // starts=-1, ends=INT64_MIN, steps=-1 reverses the axis (the flip idiom exporters emit).
  auto reversed = SingleNodeModel("Slice", 13, {"x", "s", "e", "a", "st"})
                      .initializer("s", torch::tensor({-1}, kLongs))
                      .initializer("e", torch::tensor({std::numeric_limits<int64_t>::min()}, kLongs))
                      .initializer("a", torch::tensor({0}, kLongs))
                      .initializer("st", torch::tensor({-1}, kLongs))
                      .run({x});
  expect_equal(reversed.at(0), x.flip(0));
}

TEST(ReferenceEvaluatorOpsets, PadByOpset) {
  const auto x = torch::randn({1, 2, 3, 3});
  auto attribute_form = SingleNodeModel("Pad", 7, {"x"})
                            .attr("pads", std::vector<int64_t>{0, 0, 1, 0, 0, 0, 0, 2})
                            .attr("value", 1.5F)
                            .run({x});
  expect_equal(attribute_form.at(0), torch::constant_pad_nd(x, {0, 2, 1, 0}, 1.5));
  auto reflect = SingleNodeModel("Pad", 13, {"x", "p"})
                     .initializer("p", torch::tensor({0, 0, 1, 1, 0, 0, 1, 1}, kLongs))
                     .attr("mode", std::string("reflect"))
                     .run({x});
  expect_equal(reflect.at(0), torch::reflection_pad2d(x, {1, 1, 1, 1}));
}

TEST(ReferenceEvaluatorOpsets, CeilModePoolingDropsWindowsStartingInEndPadding) {
  const auto x = torch::randn({1, 2, 5, 5});
  auto max_pooled = SingleNodeModel("MaxPool", 13, {"x"})
                        .attr("kernel_shape", std::vector<int64_t>{2, 2})
                        .attr("strides", std::vector<int64_t>{2, 2})
                        .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                        .attr("ceil_mode", int64_t{1})
                        .run({x});
  expect_equal(max_pooled.at(0), torch::max_pool2d(x, 2, 2, 1, 1, /*ceil_mode=*/true));
  auto averaged = SingleNodeModel("AveragePool", 13, {"x"})
                      .attr("kernel_shape", std::vector<int64_t>{3, 3})
                      .attr("strides", std::vector<int64_t>{2, 2})
                      .attr("pads", std::vector<int64_t>{1, 1, 1, 1})
                      .attr("ceil_mode", int64_t{1})
                      .attr("count_include_pad", int64_t{0})
                      .run({x});
  expect_equal(averaged.at(0), torch::avg_pool2d(x, 3, 2, 1, /*ceil_mode=*/true, /*count_include_pad=*/false));
}

TEST(ReferenceEvaluatorOpsets, InferenceBatchNormAndDropoutMask) {
  const auto x = torch::randn({2, 3, 4, 4});
  const auto scale = torch::rand({3}) + 0.5;
  const auto bias = torch::randn({3});
  const auto mean = torch::randn({3});
  const auto var = torch::rand({3}) + 0.5;
  auto normalised = SingleNodeModel("BatchNormalization", 9, {"x", "s", "b", "m", "v"})
                        .initializer("s", scale)
                        .initializer("b", bias)
                        .initializer("m", mean)
                        .initializer("v", var)
                        .run({x});
  expect_equal(normalised.at(0), torch::batch_norm(x, scale, bias, mean, var, false, 0.0, 1e-5, false));
  auto dropped = SingleNodeModel("Dropout", 12, {"x"}, {"y", "mask"}).run({x});
  expect_equal(dropped.at(0), x);
  EXPECT_TRUE(dropped.at(1).all().item<bool>());
}

TEST(ReferenceEvaluatorOpsets, ConstantScalarAndListForms) {
  auto floats = SingleNodeModel("Constant", 13, {}).attr("value_floats", std::vector<float>{1.0F, 2.5F}).run({});
  expect_equal(floats.at(0), torch::tensor({1.0F, 2.5F}));
  auto an_int = SingleNodeModel("Constant", 13, {}).attr("value_int", int64_t{7}).run({});
  EXPECT_EQ(an_int.at(0).scalar_type(), torch::kLong);
  EXPECT_EQ(an_int.at(0).dim(), 0);
  EXPECT_EQ(an_int.at(0).item<int64_t>(), 7);
}

TEST(ReferenceEvaluatorOpsets, ResizeOpset11PassesAnEmptyScalesWithSizes) {
  const auto x = torch::arange(4, torch::kFloat).reshape({1, 1, 2, 2});
  auto resized = SingleNodeModel("Resize", 11, {"x", "roi", "scales", "sizes"})
                     .initializer("roi", torch::empty({0}))
                     .initializer("scales", torch::empty({0}))
                     .initializer("sizes", torch::tensor({1, 1, 4, 4}, kLongs))
                     .run({x});
  // half_pixel nearest with round_prefer_floor repeats each pixel twice.
  expect_equal(resized.at(0), x.repeat_interleave(2, 2).repeat_interleave(2, 3));
  auto integers = SingleNodeModel("Resize", 13, {"x", "", "scales"})
                      .initializer("scales", torch::tensor({1.0F, 1.0F, 2.0F, 2.0F}))
                      .run({x.to(torch::kInt)});
  EXPECT_TRUE(torch::equal(integers.at(0), resized.at(0).to(torch::kInt)));
}

// PyTorch stacks LSTM gates as i, f, g, o and GRU gates as r, z, n; ONNX as i, o, f, c and z, r, h.
torch::Tensor onnx_gate_order(const torch::Tensor& pytorch_stacked, const std::vector<int64_t>& order) {
  const auto gates = pytorch_stacked.detach().chunk(static_cast<int64_t>(order.size()), 0);
  std::vector<torch::Tensor> reordered;
  for (int64_t gate : order) reordered.push_back(gates[gate]);
  return torch::cat(reordered);
}

// ONNX W, R and B ([num_directions, ...]) of a one-layer bidirectional PyTorch RNN module.
std::vector<torch::Tensor> onnx_rnn_weights(const torch::nn::Module& module, const std::vector<int64_t>& order) {
  auto parameters = module.named_parameters();
  std::vector<torch::Tensor> w, r, b;
  for (const std::string suffix : {"", "_reverse"}) {
    w.push_back(onnx_gate_order(parameters["weight_ih_l0" + suffix], order));
    r.push_back(onnx_gate_order(parameters["weight_hh_l0" + suffix], order));
    b.push_back(torch::cat({onnx_gate_order(parameters["bias_ih_l0" + suffix], order),
                            onnx_gate_order(parameters["bias_hh_l0" + suffix], order)}));
  }
  return {torch::stack(w), torch::stack(r), torch::stack(b)};
}

// A bidirectional `op_type` node with hidden size 4 and the given ONNX W, R and B.
SingleNodeModel bidirectional_node(const std::string& op_type, const std::vector<torch::Tensor>& weights,
                                   const std::vector<std::string>& outputs) {
  SingleNodeModel model(op_type, 14, {"x", "w", "r", "b"}, outputs);
  model.initializer("w", weights[0]).initializer("r", weights[1]).initializer("b", weights[2]);
  model.attr("hidden_size", int64_t{4}).attr("direction", std::string("bidirectional"));
  return model;
}

// The conformance data only runs forward RNN/LSTM/GRU nodes; PyTorch's modules check the
// reverse direction, and its GRU is ONNX's linear_before_reset=1 form.
TEST(ReferenceEvaluatorOpsets, BidirectionalRecurrentNodesMatchPyTorch) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  const auto x = torch::randn({5, 2, 3});
  torch::nn::LSTM lstm(torch::nn::LSTMOptions(3, 4).bidirectional(true));
  const auto lstm_weights = onnx_rnn_weights(*lstm, {0, 3, 1, 2});
  const auto lstm_outputs = bidirectional_node("LSTM", lstm_weights, {"y", "y_h", "y_c"}).run({x});
  const auto [lstm_y, lstm_states] = lstm->forward(x);
  // ONNX Y is [seq, num_directions, batch, hidden]; PyTorch concatenates the directions.
  expect_equal(lstm_outputs.at(0).permute({0, 2, 1, 3}).reshape({5, 2, 8}), lstm_y);
  expect_equal(lstm_outputs.at(1), std::get<0>(lstm_states));
  expect_equal(lstm_outputs.at(2), std::get<1>(lstm_states));

  torch::nn::GRU gru(torch::nn::GRUOptions(3, 4).bidirectional(true));
  const auto gru_weights = onnx_rnn_weights(*gru, {1, 0, 2});
  const auto gru_outputs =
      bidirectional_node("GRU", gru_weights, {"y", "y_h"}).attr("linear_before_reset", int64_t{1}).run({x});
  const auto [gru_y, gru_h] = gru->forward(x);
  expect_equal(gru_outputs.at(0).permute({0, 2, 1, 3}).reshape({5, 2, 8}), gru_y);
  expect_equal(gru_outputs.at(1), gru_h);

  torch::nn::RNN rnn(torch::nn::RNNOptions(3, 4).bidirectional(true));
  const auto rnn_weights = onnx_rnn_weights(*rnn, {0});
  const auto rnn_outputs = bidirectional_node("RNN", rnn_weights, {"y", "y_h"}).run({x});
  const auto [rnn_y, rnn_h] = rnn->forward(x);
  expect_equal(rnn_outputs.at(0).permute({0, 2, 1, 3}).reshape({5, 2, 8}), rnn_y);
  expect_equal(rnn_outputs.at(1), rnn_h);
}

// Runs the model and expects a failure whose message names the node's operator and `problem`.
void expect_failure(SingleNodeModel model, const std::vector<torch::Tensor>& inputs, const std::string& op_type,
                    const std::string& problem) {
  try {
    model.run(inputs);
    ADD_FAILURE() << op_type << " accepted the input; expected: " << problem;
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(op_type + " node"), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

TEST(ReferenceEvaluatorBadInput, IndicesOutsideTheAxisAreRejected) {
  const auto data = torch::randn({2, 3});
  expect_failure(SingleNodeModel("Gather", 13, {"x", "i"}).initializer("i", torch::tensor({0, 2}, kLongs)), {data},
                 "Gather", "indices must lie in [-2, 2)");
  expect_failure(SingleNodeModel("GatherElements", 13, {"x", "i"})
                     .initializer("i", torch::tensor({{0, -4}}, kLongs))
                     .attr("axis", int64_t{1}),
                 {data}, "GatherElements", "indices must lie in [-3, 3)");
  expect_failure(SingleNodeModel("TopK", 11, {"x", "k"}, {"v", "i"}).initializer("k", torch::tensor({4}, kLongs)),
                 {data}, "TopK", "k = 4 must lie in [0, 3]");
}

TEST(ReferenceEvaluatorBadInput, ShapesAndAttributesOperatorsCannotUse) {
  const auto x = torch::randn({1, 6, 2, 2});
  expect_failure(SingleNodeModel("Tile", 13, {"x", "r"}).initializer("r", torch::tensor({1, -1, 1, 1}, kLongs)), {x},
                 "Tile", "repeats must not be negative");
  expect_failure(SingleNodeModel("DepthToSpace", 13, {"x"}).attr("blocksize", int64_t{2}), {x}, "DepthToSpace",
                 "divisible by blocksize squared");
  expect_failure(SingleNodeModel("SpaceToDepth", 13, {"x"}).attr("blocksize", int64_t{0}), {x}, "SpaceToDepth",
                 "blocksize must be positive");
  expect_failure(SingleNodeModel("Trilu", 14, {"x"}), {torch::randn({3})}, "Trilu", "rank 2 or more");
  expect_failure(SingleNodeModel("ConvTranspose", 13, {"x", "w"})
                     .initializer("w", torch::randn({6, 1, 3, 3}))
                     .attr("kernel_shape", std::vector<int64_t>{2, 2}),
                 {x}, "ConvTranspose", "kernel_shape does not match");
  expect_failure(SingleNodeModel("ArgMax", 13, {"x"}).attr("axis", int64_t{4}), {x}, "ArgMax",
                 "axis 4 is out of range for rank 4");
  expect_failure(SingleNodeModel("LSTM", 14, {"x", "w", "r"})
                     .initializer("w", torch::randn({1, 6, 2}))
                     .initializer("r", torch::randn({1, 8, 2}))
                     .attr("hidden_size", int64_t{2}),
                 {torch::randn({3, 1, 2})}, "LSTM", "W and R must be [num_directions, 4 * hidden_size");
  expect_failure(SingleNodeModel("Resize", 13, {"x", "", "scales", "sizes"})
                     .initializer("scales", torch::tensor({1.0F, 1.0F, 2.0F, 2.0F}))
                     .initializer("sizes", torch::tensor({1, 6, 4, 4}, kLongs)),
                 {x}, "Resize", "exactly one of scales and sizes");
  expect_failure(SingleNodeModel("Resize", 13, {"x", "", "", "sizes"})
                     .initializer("sizes", torch::tensor({1, 6, 4, 4}, kLongs))
                     .attr("mode", std::string("linear")),
                 {x.to(torch::kInt)}, "Resize", "mode 'linear' needs floating-point input");
}

}  // namespace
