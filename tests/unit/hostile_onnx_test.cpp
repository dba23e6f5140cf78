// Hand-made ONNX files: the checked loader refuses each one, naming the file and the problem, and
// ONNX Runtime (the independent oracle) refuses each one too, so that a file the reference
// evaluator accepts is one ONNX Runtime loads.
#include "mltk/common/subprocess.h"
#include "mltk/runtime/onnx_model_checks.h"
#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/runner_factory.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace {

using namespace mltk;

void declare(onnx::ValueInfoProto& info, const std::string& name, const std::vector<int64_t>& shape) {
  info.set_name(name);
  auto* tensor = info.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t dim : shape) tensor->mutable_shape()->add_dim()->set_dim_value(dim);
}

// y = Relu(Conv(x, W)): x 1x3x5x5, W 4x3x3x3, y 1x4x3x3; fully typed, as an exporter writes it.
onnx::ModelProto conv_relu_model() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* import = model.add_opset_import();
  import->set_domain("");
  import->set_version(13);
  auto* graph = model.mutable_graph();
  graph->set_name("conv_relu");
  declare(*graph->add_input(), "x", {1, 3, 5, 5});
  declare(*graph->add_output(), "y", {1, 4, 3, 3});
  *graph->add_initializer() = runtime::tensor_to_proto(torch::randn({4, 3, 3, 3}), "W");
  auto* conv = graph->add_node();
  conv->set_op_type("Conv");
  conv->set_name("conv");
  conv->add_input("x");
  conv->add_input("W");
  conv->add_output("c");
  auto* strides = conv->add_attribute();
  strides->set_name("strides");
  strides->set_type(onnx::AttributeProto::INTS);
  strides->add_ints(1);
  strides->add_ints(1);
  auto* relu = graph->add_node();
  relu->set_op_type("Relu");
  relu->set_name("relu");
  relu->add_input("c");
  relu->add_output("y");
  return model;
}

struct CraftedModel {
  std::string name;
  std::string expected;  // a fragment of our error message
  std::function<void(onnx::ModelProto&, const std::string& folder)> damage;
  bool onnxruntime_refuses = true;  // false where only our supported range is narrower
};

void set_external(onnx::TensorProto& tensor, const std::string& location, const std::string& length = "") {
  tensor.clear_raw_data();
  tensor.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* entry = tensor.add_external_data();
  entry->set_key("location");
  entry->set_value(location);
  if (!length.empty()) {
    auto* size = tensor.add_external_data();
    size->set_key("length");
    size->set_value(length);
  }
}

std::vector<CraftedModel> crafted_models() {
  return {
      {"duplicate_attribute", "Conv node 'conv' has attribute 'strides' more than once",
       [](onnx::ModelProto& m, const std::string&) {
         *m.mutable_graph()->mutable_node(0)->add_attribute() = m.graph().node(0).attribute(0);
       }},
      {"zero_stride", "Conv node 'conv' has strides 0; every value must be at least 1",
       [](onnx::ModelProto& m, const std::string&) {
         for (auto& attribute : *m.mutable_graph()->mutable_node(0)->mutable_attribute())
           if (attribute.name() == "strides") attribute.set_ints(0, 0);
       }},
      {"undefined_input", "reads 'ghost', which no graph input, initializer or node defines",
       [](onnx::ModelProto& m, const std::string&) { m.mutable_graph()->mutable_node(1)->set_input(0, "ghost"); }},
      {"cycle", "reads 'y' before any node computes it",
       [](onnx::ModelProto& m, const std::string&) { m.mutable_graph()->mutable_node(0)->set_input(0, "y"); }},
      {"name_assigned_twice", "reuses a name already defined",
       [](onnx::ModelProto& m, const std::string&) { m.mutable_graph()->mutable_node(1)->set_output(0, "c"); }},
      {"short_initializer", "initializer 'W' holds 428 bytes of data for 108 elements of 4 bytes",
       [](onnx::ModelProto& m, const std::string&) {
         auto* raw = m.mutable_graph()->mutable_initializer(0)->mutable_raw_data();
         raw->resize(raw->size() - 4);
       }},
      {"initializer_dims_disagree", "holds 432 bytes of data for 216 elements",
       [](onnx::ModelProto& m, const std::string&) { m.mutable_graph()->mutable_initializer(0)->set_dims(0, 8); }},
      {"external_data_absolute", "absolute path '/etc/passwd'",
       [](onnx::ModelProto& m, const std::string&) { set_external(*m.mutable_graph()->mutable_initializer(0), "/etc/passwd"); }},
      {"external_data_parent", "outside the model's folder",
       [](onnx::ModelProto& m, const std::string&) {
         set_external(*m.mutable_graph()->mutable_initializer(0), "../weights.bin");
       }},
      {"external_data_short", "has 16 bytes of external data for 108 elements",
       [](onnx::ModelProto& m, const std::string& folder) {
         std::ofstream(folder + "/weights.bin", std::ios::binary) << std::string(16, '\0');
         set_external(*m.mutable_graph()->mutable_initializer(0), "weights.bin");
       }},
      {"external_data_past_end", "reads bytes 0..432",
       [](onnx::ModelProto& m, const std::string& folder) {
         std::ofstream(folder + "/weights.bin", std::ios::binary) << std::string(16, '\0');
         set_external(*m.mutable_graph()->mutable_initializer(0), "weights.bin", "432");
       }},
      {"wrong_initializer_type", "fails strict shape inference",
       [](onnx::ModelProto& m, const std::string&) {
         *m.mutable_graph()->mutable_initializer(0) =
             runtime::tensor_to_proto(torch::randn({4, 3, 3, 3}, torch::kDouble), "W");
       }},
      {"unknown_operator", "fails the ONNX checker",
       [](onnx::ModelProto& m, const std::string&) { m.mutable_graph()->mutable_node(1)->set_op_type("Relux"); }},
      {"opset_beyond_support", "opset 19",
       [](onnx::ModelProto& m, const std::string&) { m.mutable_opset_import(0)->set_version(19); },
       /*onnxruntime_refuses=*/false},
  };
}

std::string write_model(const std::string& folder, const std::string& name, const onnx::ModelProto& model) {
  const std::string path = folder + "/" + name + ".onnx";
  std::ofstream(path, std::ios::binary) << model.SerializeAsString();
  return path;
}

TEST(HostileOnnx, IntactModelLoadsAndRuns) {
  TempDir dir;
  const std::string path = write_model(dir.path().string(), "intact", conv_relu_model());
  EXPECT_NO_THROW(runtime::load_checked_onnx_model(path));
  const auto outputs = runtime::make_onnx_runner("reference", path)->run({torch::randn({1, 3, 5, 5})});
  EXPECT_EQ(outputs.at(0).sizes().vec(), (std::vector<int64_t>{1, 4, 3, 3}));
}

TEST(HostileOnnx, EachCraftedModelIsRefusedNamingTheFile) {
  for (const auto& crafted : crafted_models()) {
    TempDir dir;
    const std::string folder = (dir.path() / "models").string();
    std::filesystem::create_directories(folder);
    auto model = conv_relu_model();
    crafted.damage(model, folder);
    const std::string path = write_model(folder, crafted.name, model);
    const auto message = testkit::message_of_throw([&] { runtime::load_checked_onnx_model(path); });
    EXPECT_NE(message.find(path), std::string::npos) << crafted.name << ": " << message;
    EXPECT_NE(message.find(crafted.expected), std::string::npos) << crafted.name << ": " << message;
  }
}

// The oracle: every model refused above for a reason ONNX Runtime shares, ONNX Runtime refuses too
// (loading or running it), so the loader's checks are not stricter than the format.
TEST(HostileOnnx, OnnxRuntimeRefusesTheSameModels) {
  MLTK_REQUIRE_ONNXRUNTIME();
  TempDir dir;
  const std::string intact = write_model(dir.path().string(), "intact", conv_relu_model());
  EXPECT_NO_THROW(runtime::make_onnx_runner("onnxruntime", intact)->run({torch::randn({1, 3, 5, 5})}));
  for (const auto& crafted : crafted_models()) {
    if (!crafted.onnxruntime_refuses) continue;
    TempDir case_dir;
    const std::string folder = (case_dir.path() / "models").string();
    std::filesystem::create_directories(folder);
    auto model = conv_relu_model();
    crafted.damage(model, folder);
    const std::string path = write_model(folder, crafted.name, model);
    EXPECT_THROW(runtime::make_onnx_runner("onnxruntime", path)->run({torch::randn({1, 3, 5, 5})}), std::exception)
        << crafted.name << " loads in ONNX Runtime";
  }
}

}  // namespace
