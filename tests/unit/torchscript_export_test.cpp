// TorchScript export against PyTorch itself. Modules of every operator family are written in Python and
// traced with torch.jit.trace by Debian's python3-torch (tests/oracle/torchscript_modules.py); each is
// exported here at opsets 11, 14 and 17 with a dynamic batch, run in ONNX Runtime at batch sizes 2 and
// 3 and compared with the eager Python module's outputs. The same modules through torch.onnx.export
// are the peer: every module it exports correctly, we must export too.
#include "mltk/checkpoint/torch_file_reader.h"
#include "mltk/onnx_export/converters.h"
#include "mltk/onnx_export/torchscript.h"
#include "mltk/runtime/onnx_model_checks.h"
#include "mltk/runtime/operator_registry.h"
#include "mltk/runtime/runner_factory.h"
#include "support/export_fixtures.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx/defs/schema.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>

namespace fs = std::filesystem;
using namespace mltk;

namespace {

constexpr int kOpsets[] = {11, 14, 17};

// Operators that do not exist at an opset: the module does not apply there (Einsum before opset 12;
// ScatterElements sums duplicate indices, as scatter_add does, only from opset 16).
bool applies(const std::string& name, int opset) {
  return !(name == "einsum" && opset < 12) && !(name == "scatter_add" && opset < 16);
}

struct ScriptCase {
  std::string name;
  std::string family;
  std::vector<std::vector<int64_t>> input_shapes;
  std::map<int, std::string> peer_errors;  // opset -> torch.onnx.export's error; absent when it exported
};

struct SavedIo {
  std::vector<torch::Tensor> inputs, outputs, inputs_other, outputs_other;
};

std::vector<torch::Tensor> tensors(const c10::IValue& list) {
  std::vector<torch::Tensor> result;
  for (const auto& element : list.toListRef()) result.push_back(element.toTensor());
  return result;
}

// "" when `actual` matches `expected` within 1e-4 scaled by the largest expected magnitude.
std::string mismatch(const std::vector<torch::Tensor>& expected, const std::vector<torch::Tensor>& actual) {
  if (expected.size() != actual.size())
    return std::to_string(actual.size()) + " outputs for " + std::to_string(expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i].sizes() != actual[i].sizes())
      return "output " + std::to_string(i) + " has shape " + ::testing::PrintToString(actual[i].sizes()) +
             " instead of " + ::testing::PrintToString(expected[i].sizes());
    const auto want = expected[i].to(torch::kDouble), got = actual[i].to(torch::kDouble);
    const double tolerance = 1e-4 * std::max(1.0, want.abs().max().item<double>());
    const double difference = (want - got).abs().max().item<double>();
    if (!(difference <= tolerance))
      return "output " + std::to_string(i) + " differs by " + std::to_string(difference) + " (tolerance " +
             std::to_string(tolerance) + ")";
  }
  return "";
}

// "" when each graph output declares the shape Python's outputs have: a dimension whose size differs
// between batch 2 and batch 3 symbolic, every other one fixed at its size.
std::string check_declared_output_shapes(const std::string& onnx_path, const SavedIo& io) {
  const auto model = runtime::load_checked_onnx_model(onnx_path);
  if (static_cast<size_t>(model.graph().output_size()) != io.outputs.size())
    return "the graph declares " + std::to_string(model.graph().output_size()) + " outputs for " +
           std::to_string(io.outputs.size());
  for (size_t i = 0; i < io.outputs.size(); ++i) {
    const auto& output = model.graph().output(static_cast<int>(i));
    const auto& dims = output.type().tensor_type().shape().dim();
    const auto at_2 = io.outputs[i].sizes(), at_3 = io.outputs_other[i].sizes();
    if (static_cast<size_t>(dims.size()) != at_2.size())
      return output.name() + " declares rank " + std::to_string(dims.size()) + " for " + std::to_string(at_2.size());
    for (size_t d = 0; d < at_2.size(); ++d) {
      const auto& dim = dims[static_cast<int>(d)];
      const bool follows_batch = at_2[d] != at_3[d];
      if (follows_batch ? dim.has_dim_value() : !(dim.has_dim_value() && dim.dim_value() == at_2[d]))
        return output.name() + " declares dimension " + std::to_string(d) + " as " +
               (dim.has_dim_value() ? std::to_string(dim.dim_value()) : "'" + dim.dim_param() + "'") + " where Python's is " +
               std::to_string(at_2[d]) + " at batch 2 and " + std::to_string(at_3[d]) + " at batch 3";
    }
  }
  return "";
}

// "" when the ONNX file computes what Python computed, at both batch sizes.
std::string check_in_onnxruntime(const std::string& onnx_path, const SavedIo& io) {
  try {
    auto runner = runtime::make_onnx_runner("onnxruntime", onnx_path, 1);
    if (auto problem = mismatch(io.outputs, runner->run(io.inputs)); !problem.empty()) return "batch 2: " + problem;
    if (auto problem = mismatch(io.outputs_other, runner->run(io.inputs_other)); !problem.empty())
      return "batch 3: " + problem;
    return "";
  } catch (const std::exception& error) {
    return std::string("ONNX Runtime: ") + error.what();
  }
}

class TorchScriptExport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testkit::oracle_available() || !testkit::onnxruntime_installed()) return;
    folder_ = (fs::path(::testing::TempDir()) / "torchscript_modules").string();
    fs::remove_all(folder_);
    testkit::run_oracle("torchscript_modules.py", {folder_});
    std::ifstream manifest(fs::path(folder_) / "manifest.json");
    for (const auto& entry : nlohmann::json::parse(manifest)) {
      ScriptCase script_case{entry["name"].get<std::string>(), entry["family"].get<std::string>(),
                             entry["input_shapes"].get<std::vector<std::vector<int64_t>>>(), {}};
      for (const auto& [opset, error] : entry["peer"].items())
        if (!error.is_null()) script_case.peer_errors[std::stoi(opset)] = error;
      cases_.push_back(std::move(script_case));
    }
  }

  void SetUp() override {
    MLTK_REQUIRE_ORACLE();
    MLTK_REQUIRE_ONNXRUNTIME();
  }

  static SavedIo saved_io(const std::string& name) {
    const auto path = (fs::path(folder_) / (name + ".io.pt")).string();
    const auto saved = checkpoint::read_torch_file(path).toGenericDict();
    return {tensors(saved.at("inputs")), tensors(saved.at("outputs")), tensors(saved.at("inputs_other")),
            tensors(saved.at("outputs_other"))};
  }

  // Exports the case at `opset` with a dynamic batch; "" when the file matches Python in ONNX Runtime.
  // Each export is made once and its outcome kept for the other tests.
  static std::string export_and_check(const ScriptCase& script_case, int opset) {
    const auto key = script_case.name + "@" + std::to_string(opset);
    if (auto known = outcomes_.find(key); known != outcomes_.end()) return known->second;
    return outcomes_[key] = first_export_and_check(script_case, opset);
  }

  static std::string first_export_and_check(const ScriptCase& script_case, int opset) {
    const auto module = onnx_export::load_torchscript((fs::path(folder_) / (script_case.name + ".pt")).string());
    onnx_export::ScriptExportOptions options;
    options.opset = opset;
    options.batch_size = script_case.input_shapes.front().front();
    options.dynamic_batch = true;
    options.input_shapes = script_case.input_shapes;
    const auto path = (fs::path(folder_) / (script_case.name + ".ours" + std::to_string(opset) + ".onnx")).string();
    onnx_export::ExportReport report;
    try {
      report = onnx_export::export_script_module(module, path, options);
    } catch (const std::exception& error) {
      return std::string("export: ") + error.what();
    }
    // Every ONNX operator in the file must be one the converters of its aten operators declare.
    std::set<std::string> declared{"Identity", "Constant"};
    for (const auto& [aten, count] : report.aten_ops)
      if (const auto* entry = onnx_export::converter_registry().find(aten, opset))
        declared.insert(entry->emits.begin(), entry->emits.end());
    for (const auto& [onnx_op, count] : report.onnx_ops)
      if (declared.count(onnx_op) == 0) return "emits " + onnx_op + ", which no converter of its operators declares";
    const auto io = saved_io(script_case.name);
    if (auto problem = check_declared_output_shapes(path, io); !problem.empty()) return problem;
    return check_in_onnxruntime(path, io);
  }

  // "" when torch.onnx.export's file for the case at `opset` matches Python in ONNX Runtime; checked
  // once per file.
  static std::string peer_check(const ScriptCase& script_case, int opset) {
    const auto key = script_case.name + "@" + std::to_string(opset);
    if (auto known = peer_outcomes_.find(key); known != peer_outcomes_.end()) return known->second;
    const auto peer_file = (fs::path(folder_) / (script_case.name + ".peer" + std::to_string(opset) + ".onnx")).string();
    return peer_outcomes_[key] = check_in_onnxruntime(peer_file, saved_io(script_case.name));
  }

  static std::string folder_;
  static std::vector<ScriptCase> cases_;
  static std::map<std::string, std::string> outcomes_;
  static std::map<std::string, std::string> peer_outcomes_;
};

std::string TorchScriptExport::folder_;
std::vector<ScriptCase> TorchScriptExport::cases_;
std::map<std::string, std::string> TorchScriptExport::outcomes_;
std::map<std::string, std::string> TorchScriptExport::peer_outcomes_;

TEST_F(TorchScriptExport, EveryFamilyMatchesPyTorchInOnnxRuntimeAtOpsets11To17) {
  ASSERT_GE(cases_.size(), 90u);
  std::map<std::string, std::pair<int, int>> by_family;  // family -> (correct, tried)
  for (const auto& script_case : cases_) {
    for (const int opset : kOpsets) {
      if (!applies(script_case.name, opset)) continue;
      SCOPED_TRACE(script_case.name + " at opset " + std::to_string(opset));
      const auto problem = export_and_check(script_case, opset);
      auto& [correct, tried] = by_family[script_case.family];
      ++tried;
      correct += problem.empty();
      EXPECT_EQ(problem, "");
    }
  }
  for (const auto& [family, counts] : by_family)
    std::cout << "[ figures  ] " << family << ": " << counts.first << "/" << counts.second << " exports correct\n";
}

// torch.onnx.export's files are checked the same way; at opset 14 both sides' shares are printed.
TEST_F(TorchScriptExport, ExportsEveryModuleThatTorchOnnxExportsCorrectly) {
  int ours_correct = 0, peer_correct = 0, total = 0;
  for (const auto& script_case : cases_) {
    for (const int opset : kOpsets) {
      if (script_case.peer_errors.count(opset) || !applies(script_case.name, opset)) continue;
      SCOPED_TRACE(script_case.name + " at opset " + std::to_string(opset));
      if (!peer_check(script_case, opset).empty()) continue;
      EXPECT_EQ(export_and_check(script_case, opset), "") << "torch.onnx.export exports this module correctly";
    }
  }
  for (const auto& script_case : cases_) {
    ++total;
    ours_correct += export_and_check(script_case, 14).empty();
    if (!script_case.peer_errors.count(14)) peer_correct += peer_check(script_case, 14).empty();
  }
  std::cout << "[ figures  ] opset 14, Python-traced test modules exported correctly: ours " << ours_correct << "/"
            << total << ", torch.onnx.export " << peer_correct << "/" << total << "\n";
}

class MlExportTorchScript : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testkit::oracle_available()) return;
    folder_ = (fs::path(::testing::TempDir()) / "torchscript_fixtures").string();
    fs::remove_all(folder_);
    testkit::run_oracle("torchscript_modules.py", {"--fixtures", folder_});
  }
  void SetUp() override { MLTK_REQUIRE_ORACLE(); }
  static std::string fixture(const std::string& name) { return (fs::path(folder_) / name).string(); }
  static std::string folder_;
};

std::string MlExportTorchScript::folder_;

// Two inputs of different ranks, a tuple of two outputs, a dynamic batch: exported, validated in the
// reference evaluator (PASS), and the file computes Python's outputs in ONNX Runtime at batch 2 and 3.
TEST_F(MlExportTorchScript, TwoInputsAndATupleOfOutputsExportValidateAndMatchPython) {
  MLTK_REQUIRE_ONNXRUNTIME();
  const auto onnx_path = fixture("two_inputs.onnx");
  const auto run = testkit::ml_export({"--torchscript", fixture("two_inputs.pt"), "--input_shape", "2,3,8,8",
                                       "--input_shape", "2,6", "--dynamic_axes", "--output_path", onnx_path});
  EXPECT_EQ(run.exit_code, 0) << run.log;
  EXPECT_NE(run.log.find("Loading TorchScript module from " + fixture("two_inputs.pt")), std::string::npos) << run.log;
  EXPECT_NE(run.log.find("batch sizes 2, 3"), std::string::npos) << run.log;
  EXPECT_NE(run.log.find("PASS"), std::string::npos) << run.log;
  const auto report = nlohmann::json::parse(read_file(fs::path(folder_) / "two_inputs.validation.json"));
  EXPECT_EQ(report["batches"].size(), 4u);  // two outputs at two batch sizes
  const auto saved = checkpoint::read_torch_file(fixture("two_inputs.io.pt")).toGenericDict();
  const SavedIo io{tensors(saved.at("inputs")), tensors(saved.at("outputs")), tensors(saved.at("inputs_other")),
                   tensors(saved.at("outputs_other"))};
  EXPECT_EQ(check_in_onnxruntime(onnx_path, io), "");
}

TEST_F(MlExportTorchScript, RefusalsNameTheProblem) {
  struct Refusal {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Refusal> refusals{
      {{"--torchscript", fixture("not_torchscript.pt"), "--input_shape", "1,2"}, "is not a TorchScript file"},
      {{"--torchscript", fixture("missing.pt"), "--input_shape", "1,2"}, "TorchScript file not found"},
      {{"--torchscript", fixture("int_argument.pt"), "--input_shape", "1,2"},
       "forward takes argument 'times' of type int"},
      {{"--torchscript", fixture("two_inputs.pt"), "--input_shape", "2,3,8,8"},
       "forward takes 2 tensors (image, features) but 1 --input_shape was given"},
      {{"--torchscript", fixture("two_inputs.pt"), "--input_shape", "2,3,8", "--input_shape", "2,6"},
       "forward fails on inputs of shape [2, 3, 8], [2, 6]"},
      {{"--torchscript", fixture("two_inputs.pt"), "--input_shape", "2,x,8,8", "--input_shape", "2,6"},
       "--input_shape '2,x,8,8': expected positive sizes"},
      {{"--torchscript", fixture("branching.pt"), "--input_shape", "1,4"}, "forward has control flow"},
  };
  for (const auto& refusal : refusals) {
    SCOPED_TRACE(::testing::PrintToString(refusal.args));
    const auto run = testkit::ml_export(refusal.args);
    EXPECT_EQ(run.exit_code, 1) << run.log;
    EXPECT_NE(run.log.find(refusal.message), std::string::npos) << run.log;
    EXPECT_EQ(run.log.find("Traceback"), std::string::npos) << run.log;
  }
  // Usage errors: --input_shape without --torchscript, checkpoint-only flags with it.
  EXPECT_EQ(testkit::ml_export({"--checkpoint_path", "x.pt", "--input_shape", "1,3"}).exit_code, 2);
  EXPECT_EQ(testkit::ml_export({"--torchscript", fixture("two_inputs.pt")}).exit_code, 2);
  EXPECT_EQ(testkit::ml_export({"--torchscript", fixture("two_inputs.pt"), "--input_shape", "2,3,8,8", "--input_shape",
                                "2,6", "--quantize", "int8"})
                .exit_code,
            2);
}

TEST(ConverterRegistry, OverlappingOpsetRangesAreRefused) {
  onnx_export::ConverterRegistry registry;
  const auto convert = onnx_export::unary_converter("Relu");
  registry.add("aten::relu", {"Relu"}, convert, {11, 13});
  registry.add("aten::relu", {"Relu"}, convert, {14, 17});
  EXPECT_EQ(registry.find("aten::relu", 13)->opsets.last, 13);
  EXPECT_EQ(registry.find("aten::relu", 14)->opsets.first, 14);
  EXPECT_THROW(registry.add("aten::relu", {"Relu"}, convert, {13, 14}), std::logic_error);
  EXPECT_THROW(registry.add("aten::relu", {"Relu"}, convert), std::logic_error);
  EXPECT_THROW(registry.add("aten::tanh", {"Tanh"}, convert, {10, 12}), std::logic_error);
  EXPECT_EQ(registry.find("aten::tanh", 12), nullptr);
  EXPECT_EQ(registry.opsets_of("aten::relu").size(), 7u);
}

// Every ONNX operator a converter can emit exists at every opset of its range and is implemented by
// the reference evaluator, so the default --runtime reference can run any export.
TEST(ConverterRegistry, EveryEmittableOperatorExistsAtItsOpsetsAndRunsInTheReferenceEvaluator) {
  const auto& evaluator = runtime::default_operator_registry();
  std::map<int, int> operators_per_opset;
  for (const auto& entry : onnx_export::converter_registry().entries()) {
    EXPECT_FALSE(entry.emits.empty()) << entry.aten_operator;
    for (int opset = entry.opsets.first; opset <= entry.opsets.last; ++opset) {
      ++operators_per_opset[opset];
      for (const auto& onnx_op : entry.emits)
        EXPECT_NE(onnx::OpSchemaRegistry::Schema(onnx_op, opset), nullptr)
            << entry.aten_operator << " emits " << onnx_op << ", which ONNX opset " << opset << " lacks";
    }
    for (const auto& onnx_op : entry.emits)
      EXPECT_NE(evaluator.find(onnx_op), nullptr)
          << entry.aten_operator << " emits " << onnx_op << ", which the reference evaluator does not implement";
  }
  for (const auto& [opset, count] : operators_per_opset)
    std::cout << "[ figures  ] aten operators converted at opset " << opset << ": " << count << "\n";
  EXPECT_GE(operators_per_opset[14], operators_per_opset[11]);
}

}  // namespace
