// Runs the ONNX node conformance suite (Debian libonnx-testdata) against the reference
// evaluator: every single-node case whose operator the registry implements is one test.
#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/operator_registry.h"
#include "mltk/runtime/reference_evaluator.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <onnx/defs/schema.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace mltk::runtime;

namespace {

const char* const kNodeTestRoot = "/usr/share/libonnx-testdata/data/node";

// ONNX backend-test defaults (onnx/backend/test/case/test_case.py).
constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;

// ONNX 1.12's test data stores bfloat16 tensors as their UINT16 bit patterns (numpy has no
// bfloat16), while the models declare BFLOAT16.
const char* const kBfloat16AsUint16 =
    "test data holds BFLOAT16 values as UINT16 bit patterns, which LibTorch 1.13 cannot represent";

// LibTorch 1.13 has uint8 as its only unsigned integer type.
const char* const kNoUint16 = "UINT16 tensors have no LibTorch 1.13 equivalent";
const char* const kNoUint32 = "UINT32 tensors have no LibTorch 1.13 equivalent";
const char* const kNoUint64 = "UINT64 tensors have no LibTorch 1.13 equivalent";

// Cases of implemented operators that the evaluator deliberately cannot run, with the reason.
const std::map<std::string, std::string>& skipped_cases() {
  static const std::map<std::string, std::string> skips = {
      {"test_batchnorm_epsilon_training_mode", "training-mode BatchNormalization (batch statistics) is not supported"},
      {"test_batchnorm_example_training_mode", "training-mode BatchNormalization (batch statistics) is not supported"},
      {"test_training_dropout", "training-mode Dropout (random mask) is not supported"},
      {"test_training_dropout_default", "training-mode Dropout (random mask) is not supported"},
      {"test_training_dropout_default_mask", "training-mode Dropout (random mask) is not supported"},
      {"test_training_dropout_mask", "training-mode Dropout (random mask) is not supported"},
      {"test_training_dropout_zero_ratio", "training-mode Dropout (random mask) is not supported"},
      {"test_training_dropout_zero_ratio_mask", "training-mode Dropout (random mask) is not supported"},
      {"test_cast_FLOAT_to_STRING", "STRING tensors have no LibTorch equivalent"},
      {"test_cast_STRING_to_FLOAT", "STRING tensors have no LibTorch equivalent"},
      {"test_castlike_FLOAT_to_STRING_expanded", "STRING tensors have no LibTorch equivalent"},
      {"test_castlike_STRING_to_FLOAT_expanded", "STRING tensors have no LibTorch equivalent"},
      {"test_pow_types_float32_uint32", kNoUint32},
      {"test_pow_types_float32_uint64", kNoUint64},
      {"test_max_uint16", kNoUint16},
      {"test_max_uint32", kNoUint32},
      {"test_max_uint64", kNoUint64},
      {"test_min_uint16", kNoUint16},
      {"test_min_uint32", kNoUint32},
      {"test_min_uint64", kNoUint64},
      {"test_mod_uint16", kNoUint16},
      {"test_mod_uint32", kNoUint32},
      {"test_mod_uint64", kNoUint64},
      {"test_cast_FLOAT_to_BFLOAT16", kBfloat16AsUint16},
      {"test_cast_BFLOAT16_to_FLOAT", kBfloat16AsUint16},
      {"test_castlike_FLOAT_to_BFLOAT16_expanded", kBfloat16AsUint16},
      {"test_castlike_BFLOAT16_to_FLOAT_expanded", kBfloat16AsUint16},
      {"test_identity_opt", "optional-typed inputs (OptionalProto) are not supported"},
      {"test_identity_sequence", "sequence-typed inputs (SequenceProto) are not supported"},
  };
  return skips;
}

struct ConformanceCase {
  std::string name;  // directory name, e.g. test_conv_with_strides_padding
  fs::path directory;
  std::string op_type;
};

// gtest prints parameters of failing tests; the directory name identifies the case.
void PrintTo(const ConformanceCase& test_case, std::ostream* os) { *os << test_case.name; }

// A case belongs to an operator when its model is a single default-domain node of that type;
// multi-node ("_expanded" function bodies) and unregistered operators are not ours to run.
std::vector<ConformanceCase> discover_cases() {
  if (!fs::is_directory(kNodeTestRoot)) return {{"testdata_missing", {}, {}}};
  const auto& registry = default_operator_registry();
  std::vector<ConformanceCase> cases;
  for (const auto& entry : fs::directory_iterator(kNodeTestRoot)) {
    const auto model_path = entry.path() / "model.onnx";
    if (!fs::is_regular_file(model_path)) continue;
    const auto model = load_onnx_model(model_path.string());
    if (model.graph().node_size() != 1) continue;
    const auto& node = model.graph().node(0);
    if (!node.domain().empty() || registry.find(node.op_type()) == nullptr) continue;
    cases.push_back({entry.path().filename().string(), entry.path(), node.op_type()});
  }
  std::sort(cases.begin(), cases.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return cases;
}

std::vector<fs::path> sorted_matching(const fs::path& directory, const std::string& prefix) {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) paths.push_back(entry.path());
  }
  // input_10.pb must follow input_9.pb, so order by the numeric suffix.
  std::sort(paths.begin(), paths.end(), [&](const fs::path& a, const fs::path& b) {
    return std::stoi(a.stem().string().substr(prefix.size())) < std::stoi(b.stem().string().substr(prefix.size()));
  });
  return paths;
}

std::vector<torch::Tensor> load_tensors(const fs::path& data_set, const std::string& prefix) {
  std::vector<torch::Tensor> tensors;
  for (const auto& path : sorted_matching(data_set, prefix)) {
    tensors.push_back(tensor_from_proto(load_tensor_proto(path.string())));
  }
  return tensors;
}

// numpy.testing.assert_allclose semantics: |actual - expected| <= atol + rtol * |expected|,
// NaNs equal; integer and bool outputs must match exactly.
void expect_close(const torch::Tensor& actual, const torch::Tensor& expected) {
  ASSERT_EQ(actual.scalar_type(), expected.scalar_type());
  ASSERT_EQ(actual.sizes(), expected.sizes());
  if (!expected.is_floating_point()) {
    EXPECT_TRUE(torch::equal(actual.contiguous(), expected)) << "actual:\n" << actual << "\nexpected:\n" << expected;
    return;
  }
  const auto a = actual.to(torch::kDouble);
  const auto e = expected.to(torch::kDouble);
  const auto within = (a - e).abs() <= kAtol + kRtol * e.abs();
  const auto both_nan = a.isnan() & e.isnan();
  const auto same_inf = a.isinf() & (a == e);
  const auto ok = within | both_nan | same_inf;
  EXPECT_TRUE(ok.all().item<bool>()) << ok.logical_not().sum().item<int64_t>() << " of " << e.numel()
                                     << " elements differ; max abs diff "
                                     << (a - e).abs().nan_to_num(0).max().item<double>() << "\nactual:\n"
                                     << actual << "\nexpected:\n"
                                     << expected;
}

// A few cases were generated at opsets below the evaluator's range (GlobalAveragePool at 1,
// HardSigmoid at 6). When the operator's ONNX schema is unchanged between that opset and the
// lowest supported one, the case is equally valid there, so it runs re-stamped to that opset.
std::string runnable_model_path(const ConformanceCase& test_case) {
  const auto original = test_case.directory / "model.onnx";
  auto model = load_onnx_model(original.string());
  for (auto& import : *model.mutable_opset_import()) {
    if (!import.domain().empty() || import.version() >= kMinSupportedOpset) continue;
    const auto* declared = onnx::OpSchemaRegistry::Schema(test_case.op_type, static_cast<int>(import.version()));
    const auto* supported = onnx::OpSchemaRegistry::Schema(test_case.op_type, static_cast<int>(kMinSupportedOpset));
    if (declared == nullptr || supported == nullptr || declared->SinceVersion() != supported->SinceVersion()) {
      return original.string();  // semantics differ: let the evaluator report the unsupported opset
    }
    import.set_version(kMinSupportedOpset);
    const auto restamped = fs::path(::testing::TempDir()) / (test_case.name + "_restamped.onnx");
    std::ofstream(restamped, std::ios::binary) << model.SerializeAsString();
    return restamped.string();
  }
  return original.string();
}

class OnnxNodeConformance : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(OnnxNodeConformance, MatchesReferenceOutputs) {
  const auto& test_case = GetParam();
  if (test_case.op_type.empty()) {
    const char* ci = std::getenv("CI");
    const std::string message = std::string("ONNX test data not found at ") + kNodeTestRoot +
                                " (install the libonnx-testdata package)";
    if (ci != nullptr && std::string(ci) == "true") FAIL() << message;
    GTEST_SKIP() << message;
  }
  const auto skip = skipped_cases().find(test_case.name);
  if (skip != skipped_cases().end()) GTEST_SKIP() << skip->second;

  ReferenceEvaluator evaluator(runnable_model_path(test_case));
  const auto data_sets = sorted_matching(test_case.directory, "test_data_set_");
  ASSERT_FALSE(data_sets.empty()) << "no test_data_set_* in " << test_case.directory;
  for (const auto& data_set : data_sets) {
    SCOPED_TRACE(data_set.string());
    const auto expected = load_tensors(data_set, "output_");
    const auto actual = evaluator.run(load_tensors(data_set, "input_"));
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE("output " + std::to_string(i));
      expect_close(actual[i], expected[i]);
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<ConformanceCase>& info) {
  std::string name = info.param.name;
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Node, OnnxNodeConformance, ::testing::ValuesIn(discover_cases()), case_name);

// Guards against a comparison that silently accepts everything.
TEST(OnnxNodeConformanceComparison, FlagsValuesOutsideTolerance) {
  const auto expected = torch::tensor({1.0F, 100.0F, std::nanf("")});
  expect_close(expected * (1 + 0.5 * kRtol), expected);
  EXPECT_NONFATAL_FAILURE(expect_close(expected * (1 + 2 * kRtol), expected), "2 of 3 elements differ");
  EXPECT_NONFATAL_FAILURE(expect_close(torch::tensor({1, 2}), torch::tensor({1, 3})), "actual");
}

// Every implemented operator must be exercised by at least one case that actually runs.
TEST(OnnxNodeConformanceCoverage, EveryRegisteredOperatorRunsSomeCase) {
  if (!fs::is_directory(kNodeTestRoot)) GTEST_SKIP() << "ONNX test data not installed";
  const auto cases = discover_cases();
  for (const auto& op_type : default_operator_registry().op_types()) {
    const bool covered = std::any_of(cases.begin(), cases.end(), [&](const auto& c) {
      return c.op_type == op_type && skipped_cases().count(c.name) == 0;
    });
    EXPECT_TRUE(covered) << op_type << " has no runnable conformance case";
  }
}

// A skip entry that matches no discovered case is stale and would hide nothing but confusion.
TEST(OnnxNodeConformanceSkips, NameOnlyDiscoveredCases) {
  if (!fs::is_directory(kNodeTestRoot)) GTEST_SKIP() << "ONNX test data not installed";
  const auto cases = discover_cases();
  for (const auto& skip : skipped_cases()) {
    const bool found = std::any_of(cases.begin(), cases.end(), [&](const auto& c) { return c.name == skip.first; });
    EXPECT_TRUE(found) << skip.first;
  }
}

}  // namespace
