// ml-export --deploy_dir: the folder it writes, checked against independent implementations: the
// web app in headless Debian chromium and node/classify.mjs in Node against ml-inference (LibTorch),
// the recorded checksum against coreutils' sha256sum; and the refusals that must leave nothing behind.
#include "mltk/checkpoint/checkpoint.h"
#include "mltk/common/sha256.h"
#include "mltk/common/subprocess.h"
#include "mltk/models/zoo.h"
#include "mltk/runtime/onnx_model_loader.h"

#include "support/data_fixtures.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace mltk;
namespace fs = std::filesystem;

namespace {

const std::string kExport = MLTK_BINARY_DIR "/bin/ml-export";
const std::string kInference = MLTK_BINARY_DIR "/bin/ml-inference";
const std::string kSource = MLTK_SOURCE_DIR;
constexpr int kInputSize = 64;
constexpr int kEvalResize = 73;  // round(64 * 8 / 7)
// The browser decodes JPEGs with libjpeg-turbo as ml-inference does; what remains is float
// rounding in two runtimes.
constexpr double kBrowserBound = 1e-3;
// jpeg-js is a separate JPEG decoder whose inverse DCT and chroma upsampling round differently from
// libjpeg-turbo's, moving about a third of the crop's values by one or two grey levels; the test
// model's scaled-up output layer turns that into probability differences of a few hundredths.
constexpr double kNodeBound = 5e-2;
// Outputs closer than this to a tie are not compared by label: a rounding difference may flip them.
constexpr double kTieMargin = 0.01;
// An int8 file's logits differ from the float model's by a few quantization steps, which the test
// model's scaled-up output layer magnifies: labels are compared where the float model is this sure.
constexpr double kQuantizedConfidence = 0.75;

// tiny_net with seeded weights whose output layer is scaled up, so that photos give confident,
// varied answers rather than near ties.
std::string save_checkpoint(const fs::path& path) {
  torch::manual_seed(3);
  const auto model = models::create_model({"tiny_net", 2, kInputSize, std::nullopt});
  checkpoint::Checkpoint checkpoint;
  checkpoint.model_state_dict = checkpoint::state_dict_of(*model);
  for (auto& [name, tensor] : checkpoint.model_state_dict)
    if (name == "fc.weight") tensor = tensor * 40;
  checkpoint.model = {"custom", "tiny_net", 2, kInputSize, kEvalResize};
  checkpoint.class_names = {"ants", "bees"};
  fs::create_directories(path.parent_path());
  checkpoint::save_checkpoint(checkpoint, path.string());
  return path.string();
}

ProcessResult run(const std::vector<std::string>& argv) { return run_process(argv); }

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

struct Prediction {
  std::string label;
  double confidence = 0;
};

// ml-inference --images: path<TAB>class<TAB>confidence per decodable image.
std::map<std::string, Prediction> ml_inference(const std::string& checkpoint, const std::vector<std::string>& images) {
  std::vector<std::string> argv{kInference, "--checkpoint_path", checkpoint, "--images"};
  argv.insert(argv.end(), images.begin(), images.end());
  const auto result = run(argv);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::map<std::string, Prediction> out;
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find('\t'), second = line.rfind('\t');
    if (first == std::string::npos || first == second) continue;
    out[line.substr(0, first)] = {line.substr(first + 1, second - first - 1), std::stod(line.substr(second + 1))};
  }
  return out;
}

// The first `count` photos of hymenoptera's val/ants and val/bees, alternating, copied into
// `folder` under plain names (file names with spaces would need URL escaping in the page).
std::vector<std::string> copy_photos(const fs::path& folder, int count) {
  std::vector<std::vector<fs::path>> classes;
  for (const char* name : {"val/ants", "val/bees"}) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(testkit::hymenoptera_dir() + "/" + name)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    classes.push_back(files);
  }
  fs::create_directories(folder);
  std::vector<std::string> names;
  for (int i = 0; static_cast<int>(names.size()) < count; ++i) {
    const auto& source = classes[i % 2].at(i / 2);
    const std::string name = "photo_" + std::to_string(i) + source.extension().string();
    fs::copy_file(source, folder / name);
    names.push_back(name);
  }
  return names;
}

// Photos copied into the web folder: their paths for ml-inference and their URLs for the page.
struct WebPhotos {
  std::vector<std::string> paths;
  std::vector<std::string> urls;
};
WebPhotos photos_in_web_folder(const fs::path& deployment, int count) {
  WebPhotos photos;
  for (const auto& photo : copy_photos(deployment / "web" / "photos", count)) {
    photos.paths.push_back((deployment / "web" / "photos" / photo).string());
    photos.urls.push_back("photos/" + photo);
  }
  return photos;
}

// The seeded checkpoint in a run folder, deployed with `flags` and validated on hymenoptera's val photos.
struct DemoDeployment {
  std::string checkpoint;
  fs::path folder;
  ProcessResult exported;
};
DemoDeployment deploy_demo(const TempDir& dir, const std::vector<std::string>& flags) {
  DemoDeployment demo{save_checkpoint(dir.path() / "runs" / "demo" / "weights" / "best.pt"), dir.path() / "deployed", {}};
  std::vector<std::string> argv{kExport, "--checkpoint_path", demo.checkpoint, "--deploy_dir", demo.folder.string(),
                                "--validation_data", testkit::hymenoptera_dir() + "/val"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  demo.exported = run(argv);
  return demo;
}

std::string sha256sum(const std::string& path) {
  const auto result = run({"sha256sum", path});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.out.substr(0, 64);
}

// Hidden temporary folders a deployment may have left beside `dir`.
std::vector<std::string> leftovers_beside(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir.parent_path()))
    if (entry.path().filename().string().rfind("." + dir.filename().string() + ".deploy-", 0) == 0)
      out.push_back(entry.path().string());
  return out;
}

TEST(Deployment, Sha256MatchesCoreutils) {
  TempDir dir;
  std::ofstream(dir.file("empty")).close();
  std::ofstream(dir.file("abc")) << "abc";
  {
    std::ofstream big(dir.file("big"), std::ios::binary);
    for (uint64_t i = 0; i < 3'000'000; ++i) big.put(static_cast<char>((i * 7919) >> 3));  // unsigned: no overflow
  }
  for (const char* name : {"empty", "abc", "big"})
    EXPECT_EQ(sha256_hex_of_file(dir.file(name)), sha256sum(dir.file(name))) << name;
}

TEST(Deployment, WebAppAndNodeExampleAgreeWithMlInference) {
  MLTK_REQUIRE_HYMENOPTERA();
  MLTK_REQUIRE_ONNXRUNTIME();
  TempDir dir;
  const auto [checkpoint, deployment, exported] = deploy_demo(dir, {});
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;

  for (const char* file : {"model.onnx", "model.json", "README.md", "web/index.html", "web/app.mjs", "web/preprocess.mjs",
                           "web/model.onnx", "web/model.json", "web/ort.wasm.min.mjs", "web/ort-wasm-simd-threaded.mjs",
                           "web/ort-wasm-simd-threaded.wasm", "node/classify.mjs", "node/preprocess.mjs",
                           "node/package.json", "node/package-lock.json"})
    EXPECT_TRUE(fs::is_regular_file(deployment / file)) << file;
  EXPECT_TRUE(leftovers_beside(deployment).empty());
  const auto model = nlohmann::json::parse(read_file(deployment / "model.json"));
  EXPECT_EQ(model.at("eval_resize"), kEvalResize);
  EXPECT_EQ(model.at("input_size"), kInputSize);
  EXPECT_EQ(model.at("class_names"), nlohmann::json({"ants", "bees"}));
  EXPECT_EQ(model.at("model_sha256"), sha256sum((deployment / "model.onnx").string()));
  EXPECT_EQ(read_file(deployment / "web" / "model.onnx"), read_file(deployment / "model.onnx"));
  EXPECT_EQ(model.at("validation").at("status"), "PASS");
  EXPECT_GT(model.at("validation").at("images").at("count").get<int>(), 100);
  const std::string card = read_file(deployment / "README.md");
  EXPECT_NE(card.find(model.at("model_sha256").get<std::string>()), std::string::npos);
  EXPECT_NE(card.find("Cross-Origin-Embedder-Policy"), std::string::npos);

  const auto [paths, urls] = photos_in_web_folder(deployment, 48);
  const auto expected = ml_inference(checkpoint, paths);
  ASSERT_EQ(expected.size(), paths.size());
  const auto index_of = [](const std::string& label) { return label == "ants" ? 0 : 1; };

  // The page, served without and with the headers that enable threads.
  const std::string screenshot = MLTK_BINARY_DIR "/deployment_web_app.png";
  for (const bool isolated : {false, true}) {
    std::vector<std::string> argv{"node", kSource + "/tests/browser/classify_deployment.mjs"};
    if (isolated) argv.push_back("--isolated");
    argv.push_back((deployment / "web").string());
    argv.push_back(isolated ? MLTK_BINARY_DIR "/deployment_web_app_isolated.png" : screenshot);
    argv.insert(argv.end(), urls.begin(), urls.end());
    const auto browser = run(argv);
    ASSERT_EQ(browser.exit_code, 0) << browser.out << browser.err;
    const auto lines = json_lines(browser.out);
    ASSERT_EQ(lines.size(), paths.size() + 1);
    EXPECT_EQ(lines[0].at("crossOriginIsolated"), isolated);
    if (isolated) EXPECT_GT(lines[0].at("threads").get<int>(), 1);
    else EXPECT_EQ(lines[0].at("threads"), 1);
    int confident = 0;
    double largest = 0;
    for (size_t i = 0; i < paths.size(); ++i) {
      const auto& ours = expected.at(paths[i]);
      const auto& page = lines[i + 1];
      const double difference =
          std::abs(page.at("probabilities").at(index_of(ours.label)).get<double>() - ours.confidence);
      largest = std::max(largest, difference);
      EXPECT_LE(difference, kBrowserBound) << urls[i];
      if (ours.confidence < 0.5 + kTieMargin) continue;
      ++confident;
      EXPECT_EQ(page.at("label"), ours.label) << urls[i];
    }
    EXPECT_GE(confident, 40) << "too many near ties to compare labels";
    std::cout << (isolated ? "isolated" : "single-threaded") << " page: " << confident
              << " confident photos, largest probability difference " << largest << "\n";
  }
  std::cout << "screenshot: " << screenshot << "\n";

  // node/classify.mjs, with the npm packages scripts/setup.sh installed for the suite.
  fs::create_directory_symlink(kSource + "/tools/deploy/node/node_modules", deployment / "node" / "node_modules");
  std::vector<std::string> argv{"node", (deployment / "node" / "classify.mjs").string()};
  argv.insert(argv.end(), paths.begin(), paths.end());
  const auto node = run(argv);
  ASSERT_EQ(node.exit_code, 0) << node.err;
  const auto lines = json_lines(node.out);
  ASSERT_EQ(lines.size(), paths.size());
  double largest = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto& ours = expected.at(paths[i]);
    EXPECT_EQ(lines[i].at("image"), paths[i]);
    const double difference =
        std::abs(lines[i].at("probabilities").at(index_of(ours.label)).get<double>() - ours.confidence);
    largest = std::max(largest, difference);
    EXPECT_LE(difference, kNodeBound) << urls[i];
    if (ours.confidence >= 0.5 + kNodeBound + kTieMargin) EXPECT_EQ(lines[i].at("label"), ours.label) << urls[i];
  }
  std::cout << "node/classify.mjs: largest probability difference " << largest << "\n";
}

// A quantized deployment: the int8 file, with the preprocessing inside, serves in the page and keeps
// the float model's answers on the photos it is confident about.
TEST(Deployment, QuantizedModelServesInTheWebApp) {
  MLTK_REQUIRE_HYMENOPTERA();
  MLTK_REQUIRE_ONNXRUNTIME();
  TempDir dir;
  const auto [checkpoint, deployment, exported] =
      deploy_demo(dir, {"--quantize", "int8", "--calibration_data", testkit::hymenoptera_dir() + "/train",
                        "--calibration_images", "64"});
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  const auto model = nlohmann::json::parse(read_file(deployment / "model.json"));
  EXPECT_EQ(model.at("quantization").at("format"), "QDQ");
  EXPECT_EQ(model.at("quantization").at("calibration_images"), 64);
  EXPECT_NE(model.at("validation").at("status"), "FAIL");
  EXPECT_NE(read_file(deployment / "README.md").find("| weights | int8 (static"), std::string::npos);
  const auto graph = runtime::load_onnx_model((deployment / "model.onnx").string()).graph();
  ASSERT_EQ(graph.input_size(), 1);
  EXPECT_EQ(graph.input(0).type().tensor_type().elem_type(), onnx::TensorProto::UINT8);
  EXPECT_TRUE(std::any_of(graph.node().begin(), graph.node().end(),
                          [](const auto& node) { return node.op_type() == "QuantizeLinear"; }));

  const auto [paths, urls] = photos_in_web_folder(deployment, 16);
  const auto expected = ml_inference(checkpoint, paths);
  ASSERT_EQ(expected.size(), paths.size());
  std::vector<std::string> argv{"node", kSource + "/tests/browser/classify_deployment.mjs", (deployment / "web").string(),
                                MLTK_BINARY_DIR "/deployment_web_app_int8.png"};
  argv.insert(argv.end(), urls.begin(), urls.end());
  const auto browser = run(argv);
  ASSERT_EQ(browser.exit_code, 0) << browser.out << browser.err;
  const auto lines = json_lines(browser.out);
  ASSERT_EQ(lines.size(), paths.size() + 1);
  EXPECT_NE(lines[0].at("about").get<std::string>().find("int8 (static) weights"), std::string::npos) << lines[0];
  int confident = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto& ours = expected.at(paths[i]);
    if (ours.confidence < kQuantizedConfidence) continue;
    ++confident;
    EXPECT_EQ(lines[i + 1].at("label"), ours.label) << urls[i] << " float confidence " << ours.confidence;
  }
  EXPECT_GE(confident, 8) << "too few confident photos to compare";
}

struct ExportRun {
  int exit_code;
  std::string log;
};

ExportRun ml_export(std::vector<std::string> args, const std::string& environment = "") {
  std::vector<std::string> argv{"env"};
  if (!environment.empty()) argv.push_back(environment);
  argv.push_back(kExport);
  argv.insert(argv.end(), args.begin(), args.end());
  const auto result = run(argv);
  return {result.exit_code, result.out + result.err};
}

TEST(Deployment, ExistingFolderIsReplacedOnlyWithOverwrite) {
  TempDir dir;
  const std::string checkpoint = save_checkpoint(dir.path() / "best.pt");
  const fs::path deployment = dir.path() / "deployed";
  fs::create_directories(deployment);
  std::ofstream(deployment / "notes.txt") << "keep me";

  const auto refused = ml_export({"--checkpoint_path", checkpoint, "--deploy_dir", deployment.string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.log.find("--overwrite"), std::string::npos) << refused.log;
  EXPECT_EQ(read_file(deployment / "notes.txt"), "keep me");
  EXPECT_FALSE(fs::exists(deployment / "model.onnx"));

  const auto replaced = ml_export({"--checkpoint_path", checkpoint, "--deploy_dir", deployment.string(), "--overwrite"});
  ASSERT_EQ(replaced.exit_code, 0) << replaced.log;
  EXPECT_FALSE(fs::exists(deployment / "notes.txt"));
  EXPECT_TRUE(fs::is_regular_file(deployment / "web" / "model.onnx"));
  EXPECT_TRUE(leftovers_beside(deployment).empty());
}

TEST(Deployment, UsageErrors) {
  TempDir dir;
  const std::string checkpoint = save_checkpoint(dir.path() / "best.pt");
  const std::string deployment = dir.file("deployed");
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--deploy_dir", deployment, "--validate_only"}).exit_code, 2);
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--overwrite"}).exit_code, 2);
  EXPECT_EQ(ml_export({"--checkpoint_path", checkpoint, "--deploy_dir", deployment, "--preprocessing", "external"}).exit_code, 2);
  EXPECT_FALSE(fs::exists(deployment));
}

TEST(Deployment, UnwritableLocationLeavesNothing) {
  TempDir dir;
  const std::string checkpoint = save_checkpoint(dir.path() / "best.pt");
  // Root ignores permission bits, so the test writes where nobody can: /proc.
  const fs::path deployment = "/proc/mltk-deployment-test";
  const auto run = ml_export({"--checkpoint_path", checkpoint, "--deploy_dir", deployment.string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.log.find(deployment.string()), std::string::npos) << run.log;
  EXPECT_FALSE(fs::exists(deployment));
}

TEST(Deployment, MissingRuntimeFilesNameTheSetupScript) {
  TempDir dir, empty;
  const std::string checkpoint = save_checkpoint(dir.path() / "best.pt");
  const fs::path deployment = dir.path() / "deployed";
  const auto run = ml_export({"--checkpoint_path", checkpoint, "--deploy_dir", deployment.string()},
                             "MLTK_BROWSER_DIR=" + empty.path().string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.log.find("scripts/setup.sh"), std::string::npos) << run.log;
  EXPECT_NE(run.log.find("onnxruntime-web"), std::string::npos) << run.log;
  EXPECT_FALSE(fs::exists(deployment));
  EXPECT_TRUE(leftovers_beside(deployment).empty());
}

TEST(Deployment, FailedExportLeavesNothing) {
  TempDir dir;
  const fs::path checkpoint = dir.path() / "broken.pt";
  std::ofstream(checkpoint) << "not a checkpoint";
  const fs::path deployment = dir.path() / "deployed";
  const auto run = ml_export({"--checkpoint_path", checkpoint.string(), "--deploy_dir", deployment.string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_FALSE(fs::exists(deployment));
  EXPECT_TRUE(leftovers_beside(deployment).empty()) << run.log;
}

TEST(Deployment, PatternWritesOneFolderPerRun) {
  TempDir dir;
  save_checkpoint(dir.path() / "runs" / "first" / "weights" / "best.pt");
  save_checkpoint(dir.path() / "runs" / "second" / "weights" / "best.pt");
  const fs::path deployments = dir.path() / "deployments";
  const auto run = ml_export({"--pattern", (dir.path() / "runs" / "*" / "weights" / "best.pt").string(),
                              "--deploy_dir", deployments.string()});
  ASSERT_EQ(run.exit_code, 0) << run.log;
  for (const char* name : {"first", "second"}) {
    const auto model = nlohmann::json::parse(read_file(deployments / name / "model.json"));
    EXPECT_NE(model.at("checkpoint").at("path").get<std::string>().find(std::string("/") + name + "/"), std::string::npos);
  }
}

}  // namespace
