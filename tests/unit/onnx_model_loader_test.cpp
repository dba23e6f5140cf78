#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/reference_evaluator.h"
#include "onnx_test_models.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>

using namespace mltk::runtime;
using mltk::testing::SingleNodeModel;
using mltk::testing::write_temp_file;

namespace {

const torch::Tensor kConvWeight = torch::arange(4 * 3 * 3 * 3, torch::kFloat).reshape({4, 3, 3, 3}) / 100;

// y = Conv(x, W) with a 4x3x3x3 weight initializer: big enough that cutting the file in half
// lands inside a field, small enough to build inline.
SingleNodeModel conv_model(const std::string& op_type = "Conv", int64_t opset = 13) {
  SingleNodeModel model(op_type, opset, {"x", "W"});
  model.initializer("W", kConvWeight);
  return model;
}

TEST(OnnxModelLoader, MissingFileNamesThePath) {
  const auto message = mltk::testkit::message_of_throw([] { load_onnx_model("/nonexistent/model.onnx"); });
  EXPECT_NE(message.find("cannot open"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/model.onnx"), std::string::npos) << message;
}

TEST(OnnxModelLoader, TruncatedFileIsRejected) {
  const std::string bytes = conv_model().proto().SerializeAsString();
  const auto path = write_temp_file("truncated.onnx", bytes.substr(0, bytes.size() / 2));
  const auto message = mltk::testkit::message_of_throw([&] { load_onnx_model(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(OnnxModelLoader, GarbageFileIsRejected) {
  const auto path = write_temp_file("garbage.onnx", "this is a text file, not a protobuf\n\xff\xfe");
  const auto message = mltk::testkit::message_of_throw([&] { load_onnx_model(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(OnnxModelLoader, EmptyFileIsNotAModel) {
  const auto path = write_temp_file("empty.onnx", "");
  const auto message = mltk::testkit::message_of_throw([&] { load_onnx_model(path); });
  EXPECT_NE(message.find("not a valid ONNX model"), std::string::npos) << message;
}

TEST(OnnxModelLoader, RejectsOpsetOutsideSupportedRange) {
  for (int64_t opset : {6, 19}) {
    const auto message = mltk::testkit::message_of_throw([&] { default_domain_opset(conv_model("Conv", opset).proto()); });
    EXPECT_NE(message.find("opset " + std::to_string(opset)), std::string::npos) << message;
    EXPECT_NE(message.find("7..18"), std::string::npos) << message;
  }
  EXPECT_EQ(default_domain_opset(conv_model("Conv", 17).proto()), 17);
}

TEST(OnnxTensorConversion, RoundTripsEverySupportedType) {
  for (auto type : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16, torch::kLong, torch::kInt,
                    torch::kShort, torch::kChar, torch::kByte, torch::kBool}) {
    const auto original = (torch::arange(12) % 5).reshape({3, 4}).to(type);
    const auto restored = tensor_from_proto(tensor_to_proto(original, "t"));
    EXPECT_EQ(restored.scalar_type(), type);
    EXPECT_TRUE(torch::equal(restored, original)) << c10::toString(type);
  }
}

TEST(OnnxTensorConversion, ReadsTypedFields) {
  onnx::TensorProto half;
  half.set_data_type(onnx::TensorProto::FLOAT16);
  half.add_dims(2);
  half.add_int32_data(0x3C00);  // 1.0 as IEEE half bits
  half.add_int32_data(0xC000);  // -2.0
  EXPECT_TRUE(torch::equal(tensor_from_proto(half), torch::tensor({1.0, -2.0}).to(torch::kHalf)));

  onnx::TensorProto int8;
  int8.set_data_type(onnx::TensorProto::INT8);
  int8.add_int32_data(-7);
  EXPECT_EQ(tensor_from_proto(int8).item<int8_t>(), -7);  // no dims: a scalar

  onnx::TensorProto longs;
  longs.set_data_type(onnx::TensorProto::INT64);
  longs.add_dims(3);
  longs.add_int64_data(1);
  EXPECT_NE(mltk::testkit::message_of_throw([&] { tensor_from_proto(longs); }).find("holds 1 values"), std::string::npos);
}

TEST(OnnxTensorConversion, ExternalDataIsRejected) {
  auto proto = tensor_to_proto(torch::ones({2}), "weights");
  proto.set_data_location(onnx::TensorProto::EXTERNAL);
  const auto message = mltk::testkit::message_of_throw([&] { tensor_from_proto(proto); });
  EXPECT_NE(message.find("'weights' uses external data"), std::string::npos) << message;
}

TEST(OnnxModelLoader, DirectoryIsNotAModel) {
  const auto folder = std::filesystem::temp_directory_path() / "mltk_loader_test_folder.onnx";
  std::filesystem::create_directories(folder);
  const auto message = mltk::testkit::message_of_throw([&] { load_onnx_model(folder.string()); });
  EXPECT_NE(message.find(folder.string()), std::string::npos) << message;
}

TEST(OnnxTensorConversion, TakingRawDataKeepsTheBufferAndTheValues) {
  for (auto type : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kLong, torch::kByte, torch::kBool}) {
    const auto original = (torch::arange(60) % 7).reshape({3, 4, 5}).to(type);
    auto proto = tensor_to_proto(original, "t");
    const void* buffer = proto.raw_data().data();
    const auto taken = take_tensor_from_proto(proto);
    EXPECT_EQ(taken.data_ptr(), buffer) << c10::toString(type);  // the proto's bytes, not a copy of them
    EXPECT_FALSE(proto.has_raw_data());
    EXPECT_EQ(taken.scalar_type(), type);
    EXPECT_TRUE(torch::equal(taken, original)) << c10::toString(type);
  }
  auto scalar = tensor_to_proto(torch::tensor(2.5), "s");  // a few bytes, held inside the string itself
  EXPECT_EQ(take_tensor_from_proto(scalar).item<float>(), 2.5F);
  auto typed = tensor_to_proto(torch::ones({2}), "typed");
  typed.clear_raw_data();
  typed.add_float_data(3);
  typed.add_float_data(4);
  EXPECT_TRUE(torch::equal(take_tensor_from_proto(typed), torch::tensor({3.0F, 4.0F})));
}

TEST(OnnxTensorConversion, DimensionsNoBufferCanHoldAreRejected) {
  // 2^62 x 4 floats is 2^66 bytes, which wraps around to the 0 bytes of an empty raw_data.
  onnx::TensorProto wrapped;
  wrapped.set_name("huge");
  wrapped.set_data_type(onnx::TensorProto::FLOAT);
  wrapped.add_dims(int64_t{1} << 62);
  wrapped.add_dims(4);
  wrapped.set_raw_data("");
  onnx::TensorProto negative = wrapped;
  negative.clear_dims();
  negative.add_dims(-1);
  onnx::TensorProto typed = wrapped;  // values in float_data, none here: the element count wraps to 0
  typed.clear_raw_data();
  for (auto* proto : {&wrapped, &negative, &typed}) {
    for (const auto& convert : std::vector<std::function<void()>>{[&] { tensor_from_proto(*proto); },
                                                                   [&] { take_tensor_from_proto(*proto); }}) {
      const auto message = mltk::testkit::message_of_throw(convert);
      EXPECT_NE(message.find("tensor 'huge' has dimensions"), std::string::npos) << message;
      EXPECT_NE(message.find("no buffer can hold"), std::string::npos) << message;
    }
  }
  auto short_data = tensor_to_proto(torch::ones({4}), "short");
  short_data.mutable_raw_data()->resize(12);
  const auto message = mltk::testkit::message_of_throw([&] { take_tensor_from_proto(short_data); });
  EXPECT_NE(message.find("has 12 bytes of raw_data, expected 16"), std::string::npos) << message;
  EXPECT_TRUE(short_data.has_raw_data());  // refused, so left as it was
}

TEST(ReferenceEvaluator, RunsAModelAlreadyLoadedAsItRunsItsFile) {
  const auto path = write_temp_file("loaded_conv.onnx", conv_model().proto().SerializeAsString());
  ReferenceEvaluator from_file(path);
  ReferenceEvaluator from_model(load_onnx_model(path), path);
  const auto x = torch::randn({1, 3, 6, 6});
  EXPECT_TRUE(torch::equal(from_model.run({x})[0], from_file.run({x})[0]));
  EXPECT_TRUE(torch::allclose(from_model.run({x})[0], torch::conv2d(x, kConvWeight)));
  const auto message =
      mltk::testkit::message_of_throw([&] { ReferenceEvaluator(conv_model("FancyConv").proto(), "named.onnx"); });
  EXPECT_NE(message.find("'named.onnx'"), std::string::npos) << message;
}

TEST(ReferenceEvaluator, UnsupportedOperatorIsNamed) {
  const auto path = write_temp_file("fancy.onnx", conv_model("FancyConv").proto().SerializeAsString());
  const auto message = mltk::testkit::message_of_throw([&] { ReferenceEvaluator evaluator(path); });
  EXPECT_NE(message.find("operator 'FancyConv' (opset 13) is not implemented"), std::string::npos) << message;
  EXPECT_NE(message.find("FancyConv_under_test"), std::string::npos) << message;
}

TEST(ReferenceEvaluator, RunsConvWithInitializer) {
  const auto path = write_temp_file("conv.onnx", conv_model().proto().SerializeAsString());
  ReferenceEvaluator evaluator(path);
  EXPECT_EQ(evaluator.name(), "reference");
  ASSERT_EQ(evaluator.input_names(), std::vector<std::string>{"x"});
  const auto x = torch::randn({2, 3, 5, 5});
  const auto outputs = evaluator.run({x});
  ASSERT_EQ(outputs.size(), 1U);
  EXPECT_TRUE(torch::allclose(outputs[0], torch::conv2d(x, kConvWeight)));
  EXPECT_THROW(evaluator.run({}), std::runtime_error);
}

TEST(ReferenceEvaluator, RejectsInputsThatContradictTheGraph) {
  auto proto = conv_model().proto();
  auto* tensor_type = proto.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(onnx::TensorProto::FLOAT);
  tensor_type->mutable_shape()->add_dim()->set_dim_param("batch");
  for (int64_t size : {3, 5, 5}) tensor_type->mutable_shape()->add_dim()->set_dim_value(size);
  ReferenceEvaluator evaluator(write_temp_file("typed_conv.onnx", proto.SerializeAsString()));

  EXPECT_EQ(evaluator.run({torch::randn({2, 3, 5, 5})}).at(0).size(0), 2);
  const auto wrong_type = mltk::testkit::message_of_throw([&] { evaluator.run({torch::randn({1, 3, 5, 5}, torch::kDouble)}); });
  EXPECT_NE(wrong_type.find("input 'x' has type Double, the model expects Float"), std::string::npos) << wrong_type;
  const auto wrong_shape = mltk::testkit::message_of_throw([&] { evaluator.run({torch::randn({1, 3, 4, 5})}); });
  EXPECT_NE(wrong_shape.find("input 'x' has shape [1, 3, 4, 5], the model expects [batch, 3, 5, 5]"),
            std::string::npos)
      << wrong_shape;
}

TEST(ReferenceEvaluator, KernelErrorsNameTheNode) {
  SingleNodeModel model("MatMul", 13, {"a", "b"});
  const auto message = mltk::testkit::message_of_throw([&] { model.run({torch::randn({2, 3}), torch::randn({4, 5})}); });
  EXPECT_EQ(message.rfind("MatMul node 'MatMul_under_test': ", 0), 0U) << message;
}

}  // namespace
