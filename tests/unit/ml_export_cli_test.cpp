// ml-export as users run it: the built binary on checkpoints written by save_checkpoint, checked
// for the console lines of docs/ml-export.md, exit codes, the files it writes and, through ONNX
// Runtime, that the exported file computes what the model computes.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/cli/app.h"
#include "mltk/cli/export_command.h"
#include "mltk/common/atomic_file.h"
#include "mltk/common/subprocess.h"
#include "mltk/models/zoo.h"
#include "mltk/runtime/onnx_model_loader.h"
#include "mltk/runtime/onnxruntime_node.h"
#include "mltk/validate/verdict.h"

#include "support/data_fixtures.h"
#include "support/export_fixtures.h"
#include "support/onnx_edit.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <mutex>
#include <regex>
#include <sstream>

using namespace mltk;
using mltk::testkit::read_json;
namespace fs = std::filesystem;

namespace {

using testkit::CliRun;
using testkit::ml_export;
using testkit::save_model_checkpoint;
constexpr int64_t kInputSize = testkit::kExportInputSize;

// True when a line reads `YYYY-MM-DD HH:MM:SS | LEVEL    | <message...>` with a message starting
// with `message_start`.
bool has_line(const std::string& log, const std::string& level, const std::string& message_start) {
  static const std::regex timestamp(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})");
  std::istringstream lines(log);
  std::string expected = level;
  expected.resize(8, ' ');
  expected += " | " + message_start;
  for (std::string line; std::getline(lines, line);) {
    if (line.size() < 22 || !std::regex_match(line.substr(0, 19), timestamp) || line.substr(19, 3) != " | ") continue;
    if (line.compare(22, expected.size(), expected) == 0) return true;
  }
  return false;
}

// True when a line at `level` mentions `fragment` anywhere in its message.
bool has_line_mentioning(const std::string& log, const std::string& level, const std::string& fragment) {
  std::istringstream lines(log);
  std::string tag = level;
  tag.resize(8, ' ');
  tag = " | " + tag + " | ";
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(tag);
    if (at != std::string::npos && line.find(fragment, at + tag.size()) != std::string::npos) return true;
  }
  return false;
}



TEST(MlExportCli, ExportsValidatesAndLogsEachStep) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "simple_cnn");
  const std::string onnx = dir.file("best.onnx");
  const CliRun run = ml_export({"--checkpoint_path", checkpoint});

  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Loading checkpoint from " + checkpoint)) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Creating model: simple_cnn (custom)")) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Model loaded successfully")) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Exporting to ONNX format...")) << run.log;
  EXPECT_TRUE(has_line(run.log, "SUCCESS", "✓ Model exported to: " + onnx)) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Validating ONNX export...")) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Runtime: reference, batch size 1")) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Validation metrics:")) << run.log;
  EXPECT_TRUE(std::regex_search(run.log, std::regex(R"(\|   Max difference: \d\.\d\de[-+]\d\d\n)"))) << run.log;
  EXPECT_TRUE(std::regex_search(run.log, std::regex(R"(\|   MSE: \d\.\d\de[-+]\d\d\n)"))) << run.log;
  EXPECT_TRUE(std::regex_search(run.log, std::regex(R"(\|   Cosine similarity: [01]\.\d{6}\n)"))) << run.log;
  EXPECT_TRUE(has_line(run.log, "SUCCESS", "✓ PASS - ONNX export validation successful")) << run.log;

  ASSERT_TRUE(fs::exists(onnx));
  const auto report = read_json(dir.file("best.validation.json"));
  EXPECT_EQ(report["status"], "PASS");
  EXPECT_EQ(report["batches"].size(), 1u);

  const auto model = runtime::load_onnx_model(onnx);
  std::map<std::string, std::string> metadata;
  for (const auto& entry : model.metadata_props()) metadata[entry.key()] = entry.value();
  EXPECT_EQ(metadata["class_names"], R"(["ants","bees","wasps"])");
  EXPECT_EQ(metadata["architecture"], "simple_cnn");
  EXPECT_EQ(metadata["model_type"], "custom");
  EXPECT_EQ(metadata["input_size"], "32");
  EXPECT_EQ(metadata["opset"], "14");
  EXPECT_EQ(metadata["producer"], std::string("mltk ") + MLTK_VERSION);
  EXPECT_EQ(nlohmann::json::parse(metadata["mean"]).size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(metadata["std"]).size(), 3u);

  MLTK_REQUIRE_ONNXRUNTIME();
  const auto loaded = checkpoint::load_checkpoint(checkpoint);
  const auto torch_model = models::create_model({"simple_cnn", 3, kInputSize, std::nullopt});
  checkpoint::load_state_dict(*torch_model, loaded.model_state_dict, checkpoint);
  torch_model->eval();
  torch::NoGradGuard no_grad;
  const auto input = torch::randn({1, 3, kInputSize, kInputSize});
  runtime::OnnxRuntimeNode onnxruntime(onnx);
  const auto verdict = validate::evaluate(torch_model->forward(input), onnxruntime.run({input}).front()).verdict;
  EXPECT_NE(verdict.status, validate::Status::Fail);
}

TEST(MlExportCli, ValidateOnlyPassesThenFailsOnAlteredWeight) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "tiny_net");
  ASSERT_EQ(ml_export({"--checkpoint_path", checkpoint, "--no-validate"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir.file("best.validation.json")));

  const CliRun intact = ml_export({"--checkpoint_path", checkpoint, "--validate_only"});
  EXPECT_EQ(intact.exit_code, 0) << intact.log;
  EXPECT_FALSE(has_line(intact.log, "INFO", "Exporting to ONNX format...")) << intact.log;
  EXPECT_TRUE(has_line(intact.log, "SUCCESS", "✓ PASS")) << intact.log;

  const std::string moved = dir.file("moved.onnx");
  fs::rename(dir.file("best.onnx"), moved);
  testkit::alter_initializer(moved, "fc.bias", 1.0F);
  const CliRun altered = ml_export({"--checkpoint_path", checkpoint, "--onnx_path", moved, "--validate_only"});
  EXPECT_EQ(altered.exit_code, 1) << altered.log;
  EXPECT_TRUE(has_line(altered.log, "ERROR", "✗ FAIL - ONNX export validation failed")) << altered.log;
  EXPECT_TRUE(has_line(altered.log, "ERROR", "  max_abs_diff")) << altered.log;
  EXPECT_EQ(read_json(dir.file("moved.validation.json"))["status"], "FAIL");
}

TEST(MlExportCli, PatternExportContinuesPastACorruptCheckpoint) {
  TempDir dir;
  for (const char* name : {"a.pt", "b.pt", "c.pt"}) save_model_checkpoint(dir, name, "tiny_net");
  fs::resize_file(dir.file("b.pt"), fs::file_size(dir.file("b.pt")) / 2);
  const CliRun run = ml_export({"--pattern", dir.file("*.pt")});

  EXPECT_EQ(run.exit_code, 1) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Found 3 checkpoints matching pattern")) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Exporting checkpoint 1/3: " + dir.file("a.pt"))) << run.log;
  EXPECT_TRUE(has_line(run.log, "SUCCESS", "✓ Exported to " + dir.file("a.onnx"))) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Exporting checkpoint 2/3: " + dir.file("b.pt"))) << run.log;
  EXPECT_TRUE(has_line(run.log, "ERROR", "✗ " + dir.file("b.pt"))) << run.log;
  EXPECT_TRUE(has_line(run.log, "SUCCESS", "✓ Exported to " + dir.file("c.onnx"))) << run.log;
  EXPECT_TRUE(has_line(run.log, "ERROR", "✗ Successfully exported 2/3 models")) << run.log;
  EXPECT_FALSE(fs::exists(dir.file("b.onnx")));
  EXPECT_TRUE(fs::exists(dir.file("c.validation.json")));
}

TEST(MlExportCli, PatternMatchingNothingIsAnError) {
  TempDir dir;
  const CliRun run = ml_export({"--pattern", dir.file("*.pt")});
  EXPECT_EQ(run.exit_code, 1) << run.log;
  EXPECT_TRUE(has_line(run.log, "ERROR", "No checkpoints match --pattern \"" + dir.file("*.pt") + "\"")) << run.log;
}

TEST(MlExportCli, MissingOrNonFolderOutputFolderIsNamed) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "tiny_net");
  const CliRun missing = ml_export({"--checkpoint_path", checkpoint, "--output_path", dir.file("nowhere/model.onnx")});
  EXPECT_EQ(missing.exit_code, 1) << missing.log;
  EXPECT_TRUE(has_line(missing.log, "ERROR", "Output folder '" + dir.file("nowhere") + "' does not exist")) << missing.log;
  EXPECT_FALSE(fs::exists(dir.file("nowhere")));

  const CliRun not_folder = ml_export({"--checkpoint_path", checkpoint, "--output_path", checkpoint + "/model.onnx"});
  EXPECT_EQ(not_folder.exit_code, 1) << not_folder.log;
  EXPECT_TRUE(has_line(not_folder.log, "ERROR", "Output folder '" + checkpoint + "' is not a folder")) << not_folder.log;
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);  // only best.pt
}

TEST(MlExportCli, MissingCheckpointIsNamed) {
  TempDir dir;
  const CliRun run = ml_export({"--checkpoint_path", dir.file("absent.pt")});
  EXPECT_EQ(run.exit_code, 1) << run.log;
  EXPECT_TRUE(has_line_mentioning(run.log, "ERROR", dir.file("absent.pt"))) << run.log;
}

TEST(MlExportCli, UsageErrorsExitWithTwo) {
  TempDir dir;
  const std::string checkpoint = dir.file("best.pt");  // never read: usage is checked first
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--opset_version", "10"}).exit_code, 2);
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--opset_version", "18"}).exit_code, 2);
  EXPECT_EQ(ml_export({}).exit_code, 2);
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--pattern", "*.pt"}).exit_code, 2);
  EXPECT_EQ(ml_export({"--pattern", "*.pt", "--output_path", "x.onnx"}).exit_code, 2);
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--onnx_path", "x.onnx"}).exit_code, 2);
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--runtime", "tensorrt"}).exit_code, 2);
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--batch_size", "0"}).exit_code, 2);
}

TEST(MlExportCli, DynamicAxesValidatesAtTwoBatchSizes) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "tiny_net");
  const CliRun run = ml_export({"--checkpoint_path", checkpoint, "--dynamic_axes", "--batch_size", "2", "--verbose"});
  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Runtime: reference, batch sizes 2, 3")) << run.log;
  EXPECT_TRUE(has_line(run.log, "DEBUG", "Traced aten operators:")) << run.log;
  EXPECT_TRUE(has_line(run.log, "DEBUG", "ONNX operators:")) << run.log;

  const auto report = read_json(dir.file("best.validation.json"));
  EXPECT_TRUE(report["dynamic_batch"].get<bool>());
  ASSERT_EQ(report["batches"].size(), 2u);
  EXPECT_EQ(report["batches"][0]["batch_size"], 2);
  EXPECT_EQ(report["batches"][1]["batch_size"], 3);
  const auto model = runtime::load_onnx_model(dir.file("best.onnx"));
  EXPECT_EQ(model.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch_size");
}

TEST(MlExportCli, ValidatesWithOnnxRuntime) {
  MLTK_REQUIRE_ONNXRUNTIME();
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "tiny_net");
  const CliRun run = ml_export({"--checkpoint_path", checkpoint, "--runtime", "onnxruntime", "--opset_version", "17"});
  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Runtime: onnxruntime ")) << run.log;
  EXPECT_TRUE(has_line(run.log, "SUCCESS", "✓ PASS")) << run.log;
  EXPECT_EQ(read_json(dir.file("best.validation.json"))["runtime"].get<std::string>().rfind("onnxruntime", 0), 0u);
}

// Real images: two labelled classes, one folder that is no class of the checkpoint, and a file
// that cannot be decoded. A fixed batch of 4 makes the 6 images go through a padded last group.
TEST(MlExportCli, ValidationDataReportsAgreementAndAccuracy) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "tiny_net");
  const std::string images = dir.file("images");
  testkit::write_class_folders(images, {{"ants", 3}, {"bees", 2}, {"unsorted", 1}});
  write_file_atomically(images + "/ants/broken.jpg", "not a JPEG");
  const CliRun run = ml_export({"--checkpoint_path", checkpoint, "--batch_size", "4", "--validation_data", images});

  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Validation data: 6 images from " + images +
                                            " (1 could not be decoded and were skipped)")) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "  Top-1 agreement: 100.00% (6/6)")) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "  Accuracy on 5 labelled images: PyTorch ")) << run.log;
  EXPECT_TRUE(has_line(run.log, "SUCCESS", "✓ PASS")) << run.log;

  const auto report = read_json(dir.file("best.validation.json"))["validation_data"];
  EXPECT_EQ(report["source"], images);
  EXPECT_EQ(report["images"], 6);
  EXPECT_EQ(report["labelled"], 5);
  EXPECT_EQ(report["skipped"], nlohmann::json::array({images + "/ants/broken.jpg"}));
  EXPECT_EQ(report["status"], "PASS");
  EXPECT_EQ(report["model_accuracy"], report["onnx_accuracy"]);
  EXPECT_EQ(report["candidate_shape"], nlohmann::json::array({6, 3}));
}

// A split index as ml-split writes it: paths relative to the raw/ folder beside splits/.
TEST(MlExportCli, ValidationDataReadsASplitIndex) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "tiny_net");
  testkit::write_class_folders(dir.file("data/toy/raw"), {{"ants", 2}, {"wasps", 2}});
  fs::create_directories(dir.file("data/toy/splits"));
  const std::string index = dir.file("data/toy/splits/test.txt");
  write_file_atomically(index, "ants/img_0.png\nwasps/img_1.png\n");
  const CliRun run = ml_export({"--checkpoint_path", checkpoint, "--validation_data", index});
  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_TRUE(has_line(run.log, "INFO", "Validation data: 2 images from " + index)) << run.log;
  EXPECT_EQ(read_json(dir.file("best.validation.json"))["validation_data"]["labelled"], 2);

  write_file_atomically(index, "ants/img_0.png\nants/missing.png\n");
  const CliRun stale = ml_export({"--checkpoint_path", checkpoint, "--validation_data", index});
  EXPECT_EQ(stale.exit_code, 1) << stale.log;
  EXPECT_TRUE(has_line_mentioning(stale.log, "ERROR", "missing.png")) << stale.log;

  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--validation_data", dir.file("absent")}).exit_code, 2);
}

// The folder exists but nothing can be created in it, whoever runs the test (procfs refuses new
// files even to root, who ignores permission bits elsewhere).
TEST(MlExportCli, UnwritableOutputFolderIsNamed) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "tiny_net");
  const CliRun run = ml_export({"--checkpoint_path", checkpoint, "--output_path", "/proc/self/model.onnx"});
  EXPECT_EQ(run.exit_code, 1) << run.log;
  EXPECT_TRUE(has_line(run.log, "ERROR", "Output folder '/proc/self' is not writable")) << run.log;
  EXPECT_FALSE(has_line(run.log, "INFO", "Exporting to ONNX format...")) << run.log;  // checked before the export
}

// An architecture registered by a program linking mltk, with an operator the exporter cannot
// convert: ml-export must fail naming the operator and the way out, and write nothing.
class CumprodNetImpl : public models::ClassifierImpl {
 public:
  explicit CumprodNetImpl(int64_t num_classes)
      : conv_(register_module("conv", torch::nn::Conv2d(3, 4, 3))),
        fc_(register_module("fc", torch::nn::Linear(4, num_classes))) {}
  torch::Tensor forward(torch::Tensor images) override {
    return fc_(torch::cumprod(conv_(images), 1).mean({2, 3}));
  }

 private:
  torch::nn::Conv2d conv_;
  torch::nn::Linear fc_;
};

// Runs ml-export's command line in this process, where the test architecture is registered.
int ml_export_in_process(std::vector<std::string> args) {
  CLI::App app;
  cli::ExportFlags flags;
  cli::CommonOptions common;
  cli::add_export_options(app, flags);
  cli::add_common_options(app, common);
  args.insert(args.begin(), "ml-export");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  return cli::run(app, common, static_cast<int>(argv.size()), argv.data(), [&] { return cli::run_export_command(flags); });
}

TEST(MlExportCli, UnsupportedOperatorIsNamedWithTheRemedies) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    models::ModelZoo::register_architecture(
        {"cumprod_net", models::ModelType::custom,
         [](const models::ModelOptions& options) { return std::make_shared<CumprodNetImpl>(options.num_classes); }, ""});
  });
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "cumprod_net");
  const std::string log = dir.file("export.log");
  EXPECT_EQ(ml_export_in_process({"--checkpoint_path", checkpoint, "--log_file", log}), 1);

  const std::string text = read_file(log);
  EXPECT_TRUE(has_line(text, "ERROR", "ONNX export of " + checkpoint + " failed: Unsupported operator 'aten::cumprod' at ONNX opset 14"))
      << text;
  EXPECT_TRUE(has_line_mentioning(text, "ERROR", "--opset_version")) << text;
  EXPECT_FALSE(fs::exists(dir.file("best.onnx")));
}

}  // namespace

namespace {

TEST(MlExportCli, EmbeddedPreprocessingValidatesOnRealImages) {
  MLTK_REQUIRE_HYMENOPTERA();
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "simple_cnn");
  const std::string images = testkit::hymenoptera_dir() + "/val/ants";
  const CliRun run = ml_export({"--checkpoint_path", checkpoint, "--preprocessing", "embedded", "--batch_size", "4",
                                "--validation_data", images});
  ASSERT_EQ(run.exit_code, 0) << run.log;
  const auto report = read_json(dir.file("best.validation.json"));
  EXPECT_EQ(report.at("preprocessing"), "embedded");
  EXPECT_EQ(report.at("status"), "PASS");
  const auto& real = report.at("validation_data");
  EXPECT_GT(real.at("images").get<int>(), 40);
  EXPECT_EQ(real.at("top1_agreement").get<double>(), 1.0);

  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--preprocessing", "inside"}).exit_code, 2);
}

}  // namespace
