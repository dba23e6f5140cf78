#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/runtime/ort_frames.h"
#include "mltk/common/child_process.h"
#include "mltk/common/subprocess.h"
#include "mltk/validate/verdict.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <signal.h>
#include <unistd.h>

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

// A graph built node by node with the ONNX protobuf API, for models torch.onnx.export would fold
// away or cannot produce (several inputs of several element types).
class GraphBuilder {
 public:
  GraphBuilder() {
    model_.set_ir_version(8);
    model_.add_opset_import()->set_version(14);
    model_.mutable_graph()->set_name("bridge_test");
  }
  GraphBuilder& input(const std::string& name, int elem_type, const std::vector<int64_t>& dims) {
    describe(model_.mutable_graph()->add_input(), name, elem_type, dims);
    return *this;
  }
  GraphBuilder& output(const std::string& name, int elem_type, const std::vector<int64_t>& dims) {
    describe(model_.mutable_graph()->add_output(), name, elem_type, dims);
    return *this;
  }
  // A node; `cast_to` >= 0 sets the `to` attribute of a Cast.
  GraphBuilder& node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                     int cast_to = -1) {
    onnx::NodeProto* node = model_.mutable_graph()->add_node();
    node->set_op_type(op);
    for (const auto& name : inputs) node->add_input(name);
    node->add_output(output);
    if (cast_to >= 0) {
      onnx::AttributeProto* to = node->add_attribute();
      to->set_name("to");
      to->set_type(onnx::AttributeProto::INT);
      to->set_i(cast_to);
    }
    return *this;
  }
  void write(const fs::path& file) const {
    std::ofstream out(file, std::ios::binary);
    ASSERT_TRUE(model_.SerializeToOstream(&out));
  }

 private:
  static void describe(onnx::ValueInfoProto* info, const std::string& name, int elem_type,
                       const std::vector<int64_t>& dims) {
    info->set_name(name);
    auto* tensor_type = info->mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(elem_type);
    for (const int64_t dim : dims) tensor_type->mutable_shape()->add_dim()->set_dim_value(dim);
  }

  onnx::ModelProto model_;
};

// x: float[2, 3] -> y = x + x, the smallest model for tests about the process rather than the numbers.
fs::path write_doubling_model(const fs::path& dir) {
  const fs::path file = dir / "double.onnx";
  GraphBuilder()
      .input("x", onnx::TensorProto::FLOAT, {2, 3})
      .node("Add", {"x", "x"}, "y")
      .output("y", onnx::TensorProto::FLOAT, {2, 3})
      .write(file);
  return file;
}

// One process seen in /proc.
struct ProcessEntry {
  pid_t pid = 0;
  char state = '?';
  unsigned long long start_time = 0;  // clock ticks after boot: tells a new process from a reused pid
};

// The processes (zombies included) whose parent is this test binary, read from /proc rather than
// asked of the code under test.
std::vector<ProcessEntry> children_of_this_process() {
  std::vector<ProcessEntry> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t comm_end = stat.rfind(')');
    if (comm_end == std::string::npos) continue;  // the process ended while we looked
    std::istringstream fields(stat.substr(comm_end + 2));
    ProcessEntry process;
    process.pid = std::stoi(name);
    pid_t parent = 0;
    fields >> process.state >> parent;
    std::string skipped;
    for (int field = 5; field < 22; ++field) fields >> skipped;  // up to starttime, field 22
    fields >> process.start_time;
    if (parent == getpid()) children.push_back(process);
  }
  return children;
}

// Tests that really run ONNX Runtime need `npm ci` in tools/ort.
class OnnxRuntimeNodeLive : public ::testing::Test {
 protected:
  void SetUp() override { MLTK_REQUIRE_ONNXRUNTIME(); }
};

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
  GraphBuilder()
      .input("x", onnx::TensorProto::INT64, {3})
      .node("Identity", {"x"}, "same")
      .node("Cast", {"x"}, "as_float", onnx::TensorProto::FLOAT)
      .output("same", onnx::TensorProto::INT64, {3})
      .output("as_float", onnx::TensorProto::FLOAT, {3})
      .write(model);
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
  const std::string message = mltk::testkit::message_of_throw([&] { OnnxRuntimeNode{model}; });
  EXPECT_NE(message.find("ONNX Runtime refused " + model.string()), std::string::npos) << message;
  EXPECT_NE(message.find("Protobuf parsing failed"), std::string::npos) << message;
  EXPECT_TRUE(children_of_this_process().empty());
}

TEST_F(OnnxRuntimeNodeLive, ExchangesEveryDtypeThroughSeveralInputsAndOutputs) {
  using T = onnx::TensorProto;
  struct Port {
    const char* name;
    int onnx_type;
    torch::Tensor value;
  };
  // Byte patterns that read differently as uint8 and int8 (255 and -1), int64s beyond 32 bits, and
  // one input that is not contiguous (a transpose), which the runner must lay out row-major.
  const std::vector<Port> ports{
      {"f32", T::FLOAT, torch::randn({3, 2}).t()},
      {"f64", T::DOUBLE, torch::randn({2, 3}, torch::kFloat64)},
      {"i64", T::INT64, torch::tensor({-(int64_t{1} << 40), int64_t{-1}, int64_t{0}, int64_t{1}, int64_t{1} << 50, int64_t{7}}).view({2, 3})},
      {"i32", T::INT32, torch::tensor({-2147483647 - 1, -1, 0, 1, 65536, 2147483647}, torch::kInt32).view({2, 3})},
      {"u8", T::UINT8, torch::tensor({0, 1, 127, 128, 200, 255}, torch::kInt32).to(torch::kUInt8).view({2, 3})},
      {"i8", T::INT8, torch::tensor({-128, -1, 0, 1, 100, 127}, torch::kInt32).to(torch::kInt8).view({2, 3})},
      {"b", T::BOOL, torch::tensor({1, 0, 0, 1, 1, 0}, torch::kInt32).to(torch::kBool).view({2, 3})},
  };
  GraphBuilder graph;
  std::vector<torch::Tensor> inputs;
  for (const auto& port : ports) {
    const std::string out = std::string(port.name) + "_out";
    graph.input(port.name, port.onnx_type, {2, 3}).node("Identity", {port.name}, out).output(out, port.onnx_type, {2, 3});
    inputs.push_back(port.value);
  }
  // Arithmetic whose result depends on how ONNX Runtime read each byte pattern.
  graph.node("Cast", {"u8"}, "u8_float", T::FLOAT)
      .node("Cast", {"i8"}, "i8_float", T::FLOAT)
      .node("Add", {"f32", "u8_float"}, "partial")
      .node("Add", {"partial", "i8_float"}, "mixed")
      .output("mixed", T::FLOAT, {2, 3})
      .node("Cast", {"b"}, "mask", T::INT64)
      .node("Mul", {"i64", "mask"}, "masked")
      .output("masked", T::INT64, {2, 3});
  TempDir dir("mltk-ort-dtypes");
  const fs::path model = dir.path() / "dtypes.onnx";
  graph.write(model);

  const auto outputs = OnnxRuntimeNode(model).run(inputs);
  ASSERT_EQ(outputs.size(), ports.size() + 2);
  for (size_t i = 0; i < ports.size(); ++i) {
    EXPECT_EQ(outputs[i].scalar_type(), inputs[i].scalar_type()) << ports[i].name;
    EXPECT_TRUE(torch::equal(outputs[i], inputs[i])) << ports[i].name << "\n" << outputs[i] << "\n" << inputs[i];
  }
  const torch::Tensor mixed = inputs[0] + inputs[4].to(torch::kFloat32) + inputs[5].to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(outputs[ports.size()], mixed, 0.0, 1e-5)) << outputs[ports.size()] << "\n" << mixed;
  EXPECT_TRUE(torch::equal(outputs[ports.size() + 1], inputs[2] * inputs[6].to(torch::kInt64)));
}

TEST_F(OnnxRuntimeNodeLive, ManyBatchesRunInOneNodeProcess) {
  TempDir dir("mltk-ort-one-process");
  const fs::path model = write_doubling_model(dir.path());
  ASSERT_TRUE(children_of_this_process().empty());
  {
    OnnxRuntimeNode runtime(model, 1);
    std::set<std::pair<pid_t, unsigned long long>> seen;
    for (int batch = 0; batch < 40; ++batch) {
      const torch::Tensor x = torch::full({2, 3}, static_cast<float>(batch));
      const auto outputs = runtime.run({x});
      ASSERT_EQ(outputs.size(), 1u);
      EXPECT_TRUE(torch::equal(outputs[0], x + x));
      const auto children = children_of_this_process();
      EXPECT_EQ(children.size(), 1u) << "after batch " << batch;
      for (const auto& child : children) seen.insert({child.pid, child.start_time});
    }
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen.begin()->first, runtime.process_id());
  }
  // The runner's destructor ended and reaped it: not even a zombie is left.
  EXPECT_TRUE(children_of_this_process().empty());
}

// The timing request: one latency per timed run, measured during the call, and the stream stays in
// step afterwards (a rejected timing leaves the runner usable, like a rejected run).
TEST_F(OnnxRuntimeNodeLive, TimedRunsGiveOneLatencyPerRunAndKeepTheStreamInStep) {
  TempDir dir("mltk-ort-timed");
  const fs::path model = write_doubling_model(dir.path());
  OnnxRuntimeNode runtime(model, 1);
  const torch::Tensor x = torch::rand({2, 3});
  const auto start = std::chrono::steady_clock::now();
  const std::vector<double> times = runtime.time_runs({x}, 7, 2);
  const double call_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(times.size(), 7u);
  double total_ms = 0;
  for (const double ms : times) {
    EXPECT_GT(ms, 0.0);
    total_ms += ms;
  }
  EXPECT_LT(total_ms, call_ms);

  const std::string message = mltk::testkit::message_of_throw([&] { runtime.time_runs({torch::rand({4, 3})}, 3, 1); });
  EXPECT_NE(message.find("invalid dimensions"), std::string::npos) << message;
  EXPECT_TRUE(torch::equal(runtime.run({x}).front(), x + x));
  EXPECT_EQ(runtime.time_runs({x}, 2, 0).size(), 2u);
  EXPECT_EQ(children_of_this_process().size(), 1u);
  EXPECT_THROW(runtime.time_runs({x}, 0, 0), std::invalid_argument);
}

TEST_F(OnnxRuntimeNodeLive, ProcessKilledDuringRunIsReported) {
  TempDir dir("mltk-ort-killed");
  const fs::path model = write_doubling_model(dir.path());
  OnnxRuntimeNode runtime(model);
  const torch::Tensor x = torch::ones({2, 3});
  ASSERT_EQ(runtime.run({x}).size(), 1u);
  const pid_t pid = runtime.process_id();
  // Stopped, the process cannot answer, so the kill always lands while run() waits for it.
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  std::thread killer([pid] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    kill(pid, SIGKILL);
  });
  const std::string message = mltk::testkit::message_of_throw([&] { runtime.run({x}); });
  killer.join();
  EXPECT_NE(message.find("(node, pid " + std::to_string(pid) + ") was killed by signal 9"), std::string::npos) << message;
  EXPECT_NE(message.find("while running a batch of " + model.string()), std::string::npos) << message;
  EXPECT_TRUE(children_of_this_process().empty());
  EXPECT_EQ(runtime.process_id(), -1);

  const std::string later = mltk::testkit::message_of_throw([&] { runtime.run({x}); });
  EXPECT_NE(later.find("can no longer run"), std::string::npos) << later;
  EXPECT_NE(later.find("killed by signal 9"), std::string::npos) << later;
}

TEST_F(OnnxRuntimeNodeLive, HungProcessIsKilledAfterTheTimeout) {
  TempDir dir("mltk-ort-hung");
  const fs::path model = write_doubling_model(dir.path());
  mltk::runtime::OnnxRuntimeNodeOptions options;
  options.run_timeout = std::chrono::milliseconds(500);
  OnnxRuntimeNode runtime(model, options);
  const pid_t pid = runtime.process_id();
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  const std::string message = mltk::testkit::message_of_throw([&] { runtime.run({torch::ones({2, 3})}); });
  EXPECT_NE(message.find("did not answer within 0.5 s while running a batch of " + model.string()), std::string::npos)
      << message;
  EXPECT_NE(message.find("(node, pid " + std::to_string(pid) + ") was killed by signal 9"), std::string::npos) << message;
  EXPECT_TRUE(children_of_this_process().empty());
}

TEST_F(OnnxRuntimeNodeLive, ServerExitsByItselfWhenItsInputCloses) {
  TempDir dir("mltk-ort-eof");
  const fs::path model = write_doubling_model(dir.path());
  mltk::ChildProcess server({"node", (kToolsDir / "run_model.js").string(), "--serve", model.string()});
  const auto deadline = mltk::ChildProcess::Clock::now() + std::chrono::minutes(2);
  unsigned char prefix[4];
  ASSERT_EQ(server.read(prefix, sizeof prefix, deadline), mltk::ChildProcess::Io::kDone);
  std::string header(mltk::runtime::ort_frames::decode_header_length(prefix), '\0');
  ASSERT_EQ(server.read(header.data(), header.size(), deadline), mltk::ChildProcess::Io::kDone);
  EXPECT_EQ(nlohmann::json::parse(header).at("op"), "ready") << header;
  // stop() closes stdin first and only kills when the deadline passes.
  EXPECT_EQ(server.stop(deadline), "exited with status 0") << server.stderr_tail();
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

}  // namespace
