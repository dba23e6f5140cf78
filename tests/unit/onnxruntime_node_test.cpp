#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/common/subprocess.h"
#include "mltk/validate/verdict.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

namespace fs = std::filesystem;
using mltk::runtime::OnnxRuntimeNode;
using mltk::TempDir;

namespace {

const fs::path kToolsDir = mltk::testkit::onnxruntime_tools_dir();

// Sets an environment variable for one test and restores the previous value afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

torch::Tensor read_float32(const fs::path& file, const std::vector<int64_t>& dims) {
  const std::string bytes = mltk::read_file(file);
  torch::Tensor tensor = torch::empty(dims, torch::kFloat32);
  EXPECT_EQ(bytes.size(), tensor.nbytes()) << file;
  std::memcpy(tensor.data_ptr(), bytes.data(), std::min(bytes.size(), tensor.nbytes()));
  return tensor;
}

// A tiny CNN exported by PyTorch with a seeded input and PyTorch's own output as the oracle.
struct Oracle {
  TempDir dir{"mltk-ort-oracle"};
  fs::path model;
  torch::Tensor input;
  torch::Tensor expected;
};

std::unique_ptr<Oracle> export_oracle() {
  auto oracle = std::make_unique<Oracle>();
  try {
    mltk::testkit::run_oracle("export_tiny_model.py", {oracle->dir.path().string()});
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return nullptr;
  }
  const auto meta = nlohmann::json::parse(mltk::read_file(oracle->dir.path() / "meta.json"));
  oracle->model = oracle->dir.path() / "tiny.onnx";
  oracle->input = read_float32(oracle->dir.path() / "input.bin", meta.at("input_dims").get<std::vector<int64_t>>());
  oracle->expected = read_float32(oracle->dir.path() / "expected.bin", meta.at("output_dims").get<std::vector<int64_t>>());
  return oracle;
}

void add_value_info(onnx::ValueInfoProto* info, const std::string& name, int elem_type, int64_t size) {
  info->set_name(name);
  auto* tensor_type = info->mutable_type()->mutable_tensor_type();
  tensor_type->set_elem_type(elem_type);
  tensor_type->mutable_shape()->add_dim()->set_dim_value(size);
}

// x: int64[3] -> (same: int64[3] = Identity(x), as_float: float[3] = Cast(x)), built with the
// ONNX protobuf API because torch.onnx.export folds such a graph away.
void write_int64_model(const fs::path& file) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(14);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("int64_roundtrip");
  onnx::NodeProto* identity = graph->add_node();
  identity->set_op_type("Identity");
  identity->add_input("x");
  identity->add_output("same");
  onnx::NodeProto* cast = graph->add_node();
  cast->set_op_type("Cast");
  cast->add_input("x");
  cast->add_output("as_float");
  onnx::AttributeProto* to = cast->add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(onnx::TensorProto::FLOAT);
  add_value_info(graph->add_input(), "x", onnx::TensorProto::INT64, 3);
  add_value_info(graph->add_output(), "same", onnx::TensorProto::INT64, 3);
  add_value_info(graph->add_output(), "as_float", onnx::TensorProto::FLOAT, 3);
  std::ofstream out(file, std::ios::binary);
  ASSERT_TRUE(model.SerializeToOstream(&out));
}

// Tests that really run ONNX Runtime need `npm ci` in tools/ort.
class OnnxRuntimeNodeLive : public ::testing::Test {
 protected:
  void SetUp() override { MLTK_REQUIRE_ONNXRUNTIME(); }
};

}  // namespace

TEST_F(OnnxRuntimeNodeLive, MatchesPyTorchOnExportedModel) {
  const auto oracle = export_oracle();
  ASSERT_TRUE(oracle);
  OnnxRuntimeNode runtime(oracle->model, 1);
  EXPECT_EQ(runtime.name().rfind("onnxruntime 1.30.", 0), 0u) << runtime.name();

  const auto outputs = runtime.run({oracle->input});
  ASSERT_EQ(outputs.size(), 1u);
  ASSERT_EQ(outputs[0].sizes(), oracle->expected.sizes());
  EXPECT_EQ(outputs[0].scalar_type(), torch::kFloat32);
  const double max_abs_diff = (outputs[0] - oracle->expected).abs().max().item<double>();
  EXPECT_LE(max_abs_diff, 1e-5);
  EXPECT_EQ(mltk::validate::evaluate(oracle->expected, outputs[0]).verdict.status, mltk::validate::Status::Pass);
}

TEST_F(OnnxRuntimeNodeLive, RemovesItsTempFiles) {
  const auto oracle = export_oracle();
  ASSERT_TRUE(oracle);
  TempDir tmp("mltk-ort-tmpdir");
  {
    ScopedEnv tmpdir("TMPDIR", tmp.path().string());
    OnnxRuntimeNode(oracle->model).run({oracle->input});
  }
  std::vector<std::string> leftovers;
  for (const auto& entry : fs::recursive_directory_iterator(tmp.path())) leftovers.push_back(entry.path().string());
  EXPECT_TRUE(leftovers.empty()) << ::testing::PrintToString(leftovers);
}

TEST_F(OnnxRuntimeNodeLive, InputMismatchReportsOnnxRuntimeMessage) {
  const auto oracle = export_oracle();
  ASSERT_TRUE(oracle);
  OnnxRuntimeNode runtime(oracle->model);
  const std::string message = mltk::testkit::message_of_throw([&] { runtime.run({torch::zeros({2, 3, 8, 8})}); });
  EXPECT_NE(message.find("invalid dimensions"), std::string::npos) << message;
  EXPECT_NE(message.find(oracle->model.string()), std::string::npos) << message;

  const std::string count = mltk::testkit::message_of_throw([&] { runtime.run({}); });
  EXPECT_NE(count.find("expects 1 input"), std::string::npos) << count;
}

TEST_F(OnnxRuntimeNodeLive, ExchangesInt64TensorsAndKeepsOutputOrder) {
  TempDir dir("mltk-ort-int64");
  const fs::path model = dir.path() / "int64.onnx";
  write_int64_model(model);
  const torch::Tensor x = torch::tensor({int64_t{-3}, int64_t{1} << 40, int64_t{7}});
  const auto outputs = OnnxRuntimeNode(model).run({x});
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(outputs[0], x));
  EXPECT_EQ(outputs[1].scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(outputs[1], x.to(torch::kFloat32)));
}

TEST_F(OnnxRuntimeNodeLive, CorruptModelReportsOnnxRuntimeMessage) {
  TempDir dir("mltk-ort-corrupt");
  const fs::path model = dir.path() / "corrupt.onnx";
  std::ofstream(model) << "not a protobuf";
  OnnxRuntimeNode runtime(model);
  const std::string message = mltk::testkit::message_of_throw([&] { runtime.run({torch::zeros({1})}); });
  EXPECT_NE(message.find("Protobuf parsing failed"), std::string::npos) << message;
}

TEST(OnnxRuntimeNode, MissingModelFileIsNamed) {
  const std::string message = mltk::testkit::message_of_throw([] { OnnxRuntimeNode("/nonexistent/dir/model_xyz.onnx"); });
  EXPECT_NE(message.find("/nonexistent/dir/model_xyz.onnx"), std::string::npos) << message;
}

TEST(OnnxRuntimeNode, EmptyToolsDirGivesInstallHint) {
  TempDir model_dir("mltk-ort-model");
  const fs::path model = model_dir.path() / "m.onnx";
  std::ofstream(model) << "unused";
  TempDir empty("mltk-ort-empty");
  ScopedEnv ort_dir("MLTK_ORT_DIR", empty.path().string());
  const std::string message = mltk::testkit::message_of_throw([&] { OnnxRuntimeNode{model}; });
  EXPECT_NE(message.find("MLTK_ORT_DIR"), std::string::npos) << message;
  EXPECT_NE(message.find("cd " + empty.path().string() + " && ONNXRUNTIME_NODE_INSTALL=skip npm ci"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("apt-get install nodejs npm"), std::string::npos) << message;
}

TEST(OnnxRuntimeNode, MissingNodeModulesGivesInstallHint) {
  TempDir model_dir("mltk-ort-model");
  const fs::path model = model_dir.path() / "m.onnx";
  std::ofstream(model) << "unused";
  // The bridge scripts without their node_modules, as in a fresh checkout.
  TempDir tools("mltk-ort-tools");
  for (const char* file : {"run_model.js", "package.json", "package-lock.json"}) {
    fs::copy_file(kToolsDir / file, tools.path() / file);
  }
  ScopedEnv ort_dir("MLTK_ORT_DIR", tools.path().string());
  const std::string message = mltk::testkit::message_of_throw([&] { OnnxRuntimeNode{model}; });
  EXPECT_NE(message.find("cd " + tools.path().string() + " && ONNXRUNTIME_NODE_INSTALL=skip npm ci"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("apt-get install nodejs npm"), std::string::npos) << message;
}

TEST(OnnxRuntimeNode, NodeMissingFromPathGivesInstallHint) {
  TempDir model_dir("mltk-ort-model");
  const fs::path model = model_dir.path() / "m.onnx";
  std::ofstream(model) << "unused";
  TempDir empty_path("mltk-ort-path");
  ScopedEnv path("PATH", empty_path.path().string());
  const std::string message = mltk::testkit::message_of_throw([&] { OnnxRuntimeNode{model}; });
  EXPECT_NE(message.find("`node`, which is not on PATH"), std::string::npos) << message;
  EXPECT_NE(message.find("apt-get install nodejs npm"), std::string::npos) << message;
}
