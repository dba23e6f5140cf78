// The HTML pages of ml-train and ml-inference on a small trained model, checked in headless
// chromium against the files they summarise: every chart holds exactly the values of metrics.csv,
// the rendered confusion matrices equal ml-inference's JSON report, no console errors or network
// requests, and a screenshot that is not blank. Screenshots stay in build/report-screenshots/.
#include "mltk/common/subprocess.h"
#include "support/test_support.h"
#include "support/toy_dataset.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace {

using namespace mltk;
namespace fs = std::filesystem;

// metrics.csv read as columns of numbers by header name.
std::map<std::string, std::vector<double>> read_csv_columns(const std::string& path) {
  std::istringstream lines(read_file(path));
  std::string line;
  std::getline(lines, line);
  std::vector<std::string> names;
  std::istringstream header(line);
  for (std::string name; std::getline(header, name, ',');) names.push_back(name);
  std::map<std::string, std::vector<double>> columns;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    size_t i = 0;
    for (std::string field; std::getline(fields, field, ',') && i < names.size(); ++i) columns[names[i]].push_back(std::stod(field));
  }
  return columns;
}

// The page's #mltk-data JSON, read from the file as a browser would not need to.
nlohmann::json embedded_data(const std::string& page_path) {
  const std::string html = read_file(page_path);
  const std::string open = "<script type=\"application/json\" id=\"mltk-data\">";
  const auto begin = html.find(open);
  if (begin == std::string::npos) return nullptr;
  const auto end = html.find("</script>", begin);
  return nlohmann::json::parse(html.substr(begin + open.size(), end - begin - open.size()));
}

std::string screenshot_path(const std::string& name) {
  const auto dir = fs::path(MLTK_BINARY_DIR) / "report-screenshots";
  fs::create_directories(dir);
  return (dir / (name + ".png")).string();
}

// Runs tools/browser/inspect_report_page.mjs and returns what it printed.
nlohmann::json inspect_in_browser(const std::string& page, const std::string& screenshot) {
  const auto result = run_process({"node", testkit::browser_tools_dir() + "/inspect_report_page.mjs", page, screenshot});
  if (result.exit_code != 0) throw std::runtime_error("inspect_report_page.mjs failed: " + result.err + result.out);
  return nlohmann::json::parse(result.out);
}

// A blank page is one colour; a page with tables and curves has many pixels far from white.
void expect_not_blank(const std::string& screenshot) {
  const cv::Mat image = cv::imread(screenshot, cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(image.empty()) << screenshot;
  const double dark_share = static_cast<double>(cv::countNonZero(image < 200)) / image.total();
  EXPECT_GT(dark_share, 0.01) << screenshot << " looks blank";
}

int64_t wrong_predictions(const nlohmann::json& confusion) {
  int64_t wrong = 0;
  for (size_t t = 0; t < confusion.size(); ++t)
    for (size_t p = 0; p < confusion[t].size(); ++p)
      if (t != p) wrong += confusion[t][p].get<int64_t>();
  return wrong;
}

class ReportPage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("mltk-report");
    testkit::write_shapes_dataset(dir_->file("data"), "shapes", 30, 32, 4);
    std::ofstream(dir_->file("shapes.yaml")) << testkit::shapes_config(dir_->file("data"), "shapes", 32);
    // Two epochs, then a resume for two more: a half-trained model makes mistakes to show, and
    // the resume must be visible on the page.
    auto trained = testkit::run_tool("ml-train", {"--config", dir_->file("shapes.yaml"), "--num_epochs", "2",
                                                  "--runs_dir", dir_->file("runs")});
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    trained = testkit::run_tool("ml-train", {"--config", dir_->file("shapes.yaml"), "--num_epochs", "4", "--resume",
                                             "--runs_dir", dir_->file("runs")});
    ASSERT_EQ(trained.exit_code, 0) << trained.err;
    const auto evaluated = testkit::run_tool("ml-inference", {"--checkpoint_path", run_file("weights/best.pt")});
    ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string run_file(const std::string& name) { return dir_->file("runs/shapes_custom_fold_0/" + name); }

  // The folds of a cross-validation as ml-report finds them: fold 0 the trained run, fold 1 a
  // finished run with a known history, fold 2 absent, fold 3 still training, fold 4 with a damaged
  // metrics.json.
  static constexpr double kFold1BestVal = 0.9375, kFold1Test = 0.5;
  static void write_history(const std::string& folder, const std::vector<double>& val_accuracies) {
    auto history = nlohmann::json::array();
    for (size_t i = 0; i < val_accuracies.size(); ++i)
      history.push_back({{"epoch", i + 1}, {"train_loss", 1.0 / (i + 1)}, {"train_accuracy", 0.5}, {"val_loss", 0.75},
                         {"val_accuracy", val_accuracies[i]}, {"lr", 0.001}, {"epoch_seconds", 2.0},
                         {"images_per_second", 40.0}});
    fs::create_directories(folder);
    std::ofstream(folder + "/metrics.json") << history.dump();
  }
  static std::string cv_folder(int fold) { return dir_->file("cv/shapes_custom_fold_" + std::to_string(fold)); }
  // Idempotent: the first test that needs the folds writes them.
  static void prepare_folds() {
    if (fs::exists(cv_folder(0))) return;
    fs::create_directories(dir_->file("cv"));
    fs::copy(run_file(""), cv_folder(0), fs::copy_options::recursive);
    write_history(cv_folder(1), {0.5, kFold1BestVal, 0.875});
    std::ofstream(cv_folder(1) + "/run_state.json")
        << nlohmann::json{{"state", "early_stopped"}, {"epochs_done", 3}, {"planned_epochs", 10},
                          {"test_accuracy", kFold1Test}, {"test_images", 16}, {"test_checkpoint_epoch", 2}}.dump();
    write_history(cv_folder(3), {0.99});
    std::ofstream(cv_folder(3) + "/run_state.json")
        << nlohmann::json{{"state", "training"}, {"epochs_done", 1}, {"planned_epochs", 10}, {"test_accuracy", nullptr}}.dump();
    fs::create_directories(cv_folder(4));
    std::ofstream(cv_folder(4) + "/metrics.json") << "[{\"epoch\": 1, \"train_loss\": ";
  }
  static double fold0_best_val() {
    const auto accuracy = read_csv_columns(run_file("metrics.csv")).at("val_accuracy");
    return *std::max_element(accuracy.begin(), accuracy.end());
  }
  static std::string line_of(const std::string& text, const std::string& start) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(start, 0) == 0) return line;
    return "";
  }

  static TempDir* dir_;
};
TempDir* ReportPage::dir_ = nullptr;

TEST_F(ReportPage, RunPageChartsHoldExactlyTheValuesOfMetricsCsv) {
  MLTK_REQUIRE_BROWSER();
  const auto seen = inspect_in_browser(run_file("report.html"), screenshot_path("run_page"));
  EXPECT_TRUE(seen["problems"].empty()) << seen["problems"].dump(2);
  EXPECT_TRUE(seen["notice"].is_null()) << seen["notice"];
  const auto csv = read_csv_columns(run_file("metrics.csv"));
  ASSERT_EQ(csv.at("epoch").size(), 4u);
  ASSERT_EQ(seen["charts"].size(), 4u) << seen["charts"].dump();
  size_t series_seen = 0;
  for (const auto& [id, chart] : seen["charts"].items()) {
    EXPECT_EQ(chart["data"][0].get<std::vector<double>>(), csv.at("epoch")) << id;
    for (size_t i = 0; i < chart["keys"].size(); ++i, ++series_seen) {
      const auto key = chart["keys"][i].get<std::string>();
      EXPECT_EQ(chart["data"][i + 1].get<std::vector<double>>(), csv.at(key)) << id << " " << key;
    }
  }
  EXPECT_EQ(series_seen, 6u);  // train/val loss and accuracy, lr, images/s
  expect_not_blank(screenshot_path("run_page"));
}

TEST_F(ReportPage, RunPageEvaluationEqualsTheJsonReportOfTheSameCheckpoint) {
  MLTK_REQUIRE_BROWSER();
  const auto seen = inspect_in_browser(run_file("report.html"), screenshot_path("run_page"));
  const auto report = nlohmann::json::parse(read_file(run_file("weights/best.test_report.json")));
  EXPECT_EQ(seen["confusion"], report["confusion_matrix"]);
  const int64_t wrong = wrong_predictions(report["confusion_matrix"]);
  ASSERT_EQ(seen["thumbnails"].size(), static_cast<size_t>(std::min<int64_t>(wrong, 12)));
  for (const auto& thumbnail : seen["thumbnails"]) {
    EXPECT_GT(thumbnail["width"].get<int>(), 0) << "a thumbnail did not decode";
    EXPECT_LE(std::max(thumbnail["width"].get<int>(), thumbnail["height"].get<int>()), 96);
  }
}

TEST_F(ReportPage, InferencePageConfusionMatrixEqualsItsJsonReport) {
  MLTK_REQUIRE_BROWSER();
  const auto page = run_file("weights/best.test_report.html");
  const auto seen = inspect_in_browser(page, screenshot_path("inference_page"));
  EXPECT_TRUE(seen["problems"].empty()) << seen["problems"].dump(2);
  const auto report = nlohmann::json::parse(read_file(run_file("weights/best.test_report.json")));
  EXPECT_EQ(seen["confusion"], report["confusion_matrix"]);
  EXPECT_EQ(embedded_data(page)["evaluation"]["per_class"], report["per_class"]);
  expect_not_blank(screenshot_path("inference_page"));
}

TEST_F(ReportPage, MarksTheBestEpochOfMetricsCsvAndTheResume) {
  const auto csv = read_csv_columns(run_file("metrics.csv"));
  const auto& accuracy = csv.at("val_accuracy");
  const size_t best = std::max_element(accuracy.begin(), accuracy.end()) - accuracy.begin();
  const auto markers = embedded_data(run_file("report.html"))["markers"];
  EXPECT_NE(std::find(markers.begin(), markers.end(),
                      nlohmann::json{{"epoch", csv.at("epoch")[best]}, {"kind", "best"},
                                     {"label", "best (epoch " + std::to_string(static_cast<int>(csv.at("epoch")[best])) + ")"}}),
            markers.end())
      << markers.dump();
  size_t resumes = 0;
  for (const auto& marker : markers)
    if (marker["kind"] == "resumed") {
      ++resumes;
      EXPECT_EQ(marker["epoch"], 2) << marker.dump();
    }
  EXPECT_EQ(resumes, 1u) << markers.dump();
}

TEST_F(ReportPage, WithoutTheChartLibraryWritesTablesAndWarnsNamingSetup) {
  TempDir empty("mltk-no-uplot");
  TempDir runs("mltk-report-runs");
  setenv("MLTK_BROWSER_DIR", empty.path().c_str(), 1);
  const auto trained = testkit::run_tool("ml-train", {"--config", dir_->file("shapes.yaml"), "--num_epochs", "1",
                                                      "--runs_dir", runs.path().string()});
  unsetenv("MLTK_BROWSER_DIR");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.err.find("scripts/setup.sh"), std::string::npos) << trained.err;
  const std::string html = read_file(runs.file("shapes_custom_fold_0/report.html"));
  EXPECT_NE(html.find("class=\"notice\""), std::string::npos);
  EXPECT_EQ(html.find(".uplot"), std::string::npos) << "uPlot's style sheet was inlined";
  EXPECT_NE(html.find("<table id=\"epochs\">"), std::string::npos);
  EXPECT_NE(html.find("<table class=\"confusion\""), std::string::npos);
}

TEST_F(ReportPage, ResumeWithCorruptMetricsJsonFailsNamingTheFile) {
  TempDir runs("mltk-corrupt-metrics");
  const auto trained = testkit::run_tool("ml-train", {"--config", dir_->file("shapes.yaml"), "--num_epochs", "1",
                                                      "--runs_dir", runs.path().string()});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto metrics = runs.file("shapes_custom_fold_0/metrics.json");
  std::ofstream(metrics, std::ios::trunc) << "[{\"epoch\": 1, \"train_loss\": ";
  const auto resumed = testkit::run_tool("ml-train", {"--config", dir_->file("shapes.yaml"), "--num_epochs", "2",
                                                      "--resume", "--runs_dir", runs.path().string()});
  EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
  EXPECT_NE(resumed.err.find(metrics), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.err.find("--overwrite"), std::string::npos) << resumed.err;
}

// run_state.json says how the run ended and holds the test accuracy of best.pt, which ml-inference
// measures independently on the same split.
TEST_F(ReportPage, RunStateRecordsTheOutcomeAndTheTestAccuracyOfBestPt) {
  const auto state = nlohmann::json::parse(read_file(run_file("run_state.json")));
  const auto csv = read_csv_columns(run_file("metrics.csv"));
  EXPECT_EQ(state["state"], "completed") << state.dump();
  EXPECT_EQ(state["epochs_done"], csv.at("epoch").back());
  EXPECT_EQ(state["planned_epochs"], 4);
  const auto report = nlohmann::json::parse(read_file(run_file("weights/best.test_report.json")));
  EXPECT_DOUBLE_EQ(state["test_accuracy"].get<double>(), report["accuracy"].get<double>());
  EXPECT_EQ(state["test_images"], report["num_samples"]);
}

TEST_F(ReportPage, SummarisesTheFinishedFoldsAndNamesTheOneToDeploy) {
  prepare_folds();
  const auto run = testkit::run_tool("ml-report", {"--runs", dir_->file("cv/shapes_custom_fold_*")});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  const double best0 = fold0_best_val();
  const double test0 = nlohmann::json::parse(read_file(run_file("weights/best.test_report.json")))["accuracy"];
  const std::string deploy = kFold1BestVal > best0 ? "shapes_custom_fold_1" : "shapes_custom_fold_0";
  EXPECT_NE(line_of(run.out, deploy).find("deploy"), std::string::npos) << run.out;
  EXPECT_NE(line_of(run.out, "shapes_custom_fold_2").find("missing"), std::string::npos) << run.out;
  EXPECT_NE(line_of(run.out, "shapes_custom_fold_3").find("unfinished: 1 of 10 epochs"), std::string::npos) << run.out;
  EXPECT_NE(line_of(run.out, "shapes_custom_fold_4").find(cv_folder(4) + "/metrics.json is damaged"), std::string::npos)
      << run.out;

  const auto page = embedded_data(dir_->file("cv/shapes_custom_fold_report.html"));
  ASSERT_TRUE(page.is_object()) << "no page beside the runs";
  ASSERT_EQ(page["runs"].size(), 5u) << page["runs"].dump(2);
  std::vector<std::string> counted;
  for (const auto& entry : page["runs"])
    if (entry["counted"].get<bool>()) counted.push_back(entry["name"]);
  EXPECT_EQ(counted, (std::vector<std::string>{"shapes_custom_fold_0", "shapes_custom_fold_1"}));
  const double mean = (best0 + kFold1BestVal) / 2;
  const auto& summary = page["summary"];
  EXPECT_NEAR(summary["best_val_accuracy"]["mean"].get<double>(), mean, 1e-12);
  EXPECT_NEAR(summary["best_val_accuracy"]["std"].get<double>(), std::abs(best0 - kFold1BestVal) / 2, 1e-12);
  EXPECT_NEAR(summary["test_accuracy"]["mean"].get<double>(), (test0 + kFold1Test) / 2, 1e-12);
  EXPECT_EQ(summary["deploy"], deploy);
  EXPECT_NE(run.out.find(fmt::format("{:.4f} ± {:.4f}", mean, std::abs(best0 - kFold1BestVal) / 2)), std::string::npos)
      << run.out;
}

TEST_F(ReportPage, PageOverlaysEveryRunsCurvesWithTheValuesOfItsMetricsCsv) {
  MLTK_REQUIRE_BROWSER();
  prepare_folds();
  const std::string page = dir_->file("cv/overlay.html");
  ASSERT_EQ(testkit::run_tool("ml-report", {"--runs", dir_->file("cv/*"), "--output_path", page}).exit_code, 0);
  const auto seen = inspect_in_browser(page, screenshot_path("cross_validation_page"));
  EXPECT_TRUE(seen["problems"].empty()) << seen["problems"].dump(2);
  const auto& accuracy = seen["charts"]["val_accuracy"];
  ASSERT_TRUE(accuracy.is_object()) << seen["charts"].dump();
  const auto csv = read_csv_columns(run_file("metrics.csv"));
  // The shared epoch axis is that of the longest run, fold 0's four epochs.
  EXPECT_EQ(accuracy["data"][0].get<std::vector<double>>(), csv.at("epoch"));
  const auto data = embedded_data(page);
  std::map<std::string, nlohmann::json> by_name;  // run name -> the values its line holds
  for (size_t i = 0; i < accuracy["keys"].size(); ++i) {
    const auto key = accuracy["keys"][i].get<std::string>();
    for (const auto& series : data["charts"][0]["series"])
      if (series["key"] == key) by_name[series["label"]] = accuracy["data"][i + 1];
  }
  EXPECT_EQ(by_name.size(), 3u) << "folds 0, 1 and 3 have histories";
  EXPECT_EQ(by_name["shapes_custom_fold_0"].get<std::vector<double>>(), csv.at("val_accuracy"));
  EXPECT_EQ(by_name["shapes_custom_fold_1"], (nlohmann::json{0.5, kFold1BestVal, 0.875, nullptr}));
  EXPECT_EQ(by_name["shapes_custom_fold_3"], (nlohmann::json{0.99, nullptr, nullptr, nullptr}));
  expect_not_blank(screenshot_path("cross_validation_page"));
}

TEST_F(ReportPage, ComparisonBadInputIsReportedClearly) {
  prepare_folds();
  const auto none = testkit::run_tool("ml-report", {"--runs", dir_->file("cv/other_fold_*")});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no run folder matches --runs \"" + dir_->file("cv/other_fold_*") + "\""), std::string::npos)
      << none.err;
  const auto unusable = testkit::run_tool("ml-report", {"--runs", cv_folder(3), cv_folder(4), "--output_path",
                                                        dir_->file("cv/unusable.html")});
  EXPECT_EQ(unusable.exit_code, 1);
  EXPECT_NE(unusable.err.find("No run could be summarised"), std::string::npos) << unusable.err;
  EXPECT_TRUE(fs::exists(dir_->file("cv/unusable.html"))) << "the page lists why each run was left out";
  EXPECT_EQ(testkit::run_tool("ml-report", {}).exit_code, 2);
}

// The split's number of folds (data.num_folds: 4 in the runs' config.yaml) tells which folds a pattern
// should have matched; folders named one by one are a choice, not a gap.
TEST_F(ReportPage, MissingFoldsComeFromTheSplitsNumberOfFolds) {
  prepare_folds();
  const auto patterned = testkit::run_tool("ml-report", {"--runs", dir_->file("cv/shapes_custom_fold_[01]"),
                                                         "--output_path", dir_->file("cv/two.html")});
  ASSERT_EQ(patterned.exit_code, 0) << patterned.err;
  for (const char* fold : {"shapes_custom_fold_2", "shapes_custom_fold_3"})
    EXPECT_NE(line_of(patterned.out, fold).find("missing"), std::string::npos) << patterned.out;
  EXPECT_EQ(line_of(patterned.out, "shapes_custom_fold_4"), "") << patterned.out;
  const auto listed = testkit::run_tool("ml-report", {"--runs", cv_folder(0), cv_folder(3), "--output_path",
                                                      dir_->file("cv/listed.html")});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out.find("missing"), std::string::npos) << listed.out;
}

// ml-export --pattern over the folds says which checkpoint's run has the highest best validation
// accuracy, read from its metrics.json.
TEST_F(ReportPage, ExportPatternPrintsEachRunsBestValidationAccuracy) {
  prepare_folds();
  TempDir runs("mltk-pattern-runs");
  for (const int fold : {0, 1}) {
    const std::string folder = runs.file("shapes_custom_fold_" + std::to_string(fold));
    fs::create_directories(folder + "/weights");
    fs::copy_file(run_file("weights/best.pt"), folder + "/weights/best.pt");
  }
  fs::copy_file(run_file("metrics.json"), runs.file("shapes_custom_fold_0/metrics.json"));
  write_history(runs.file("shapes_custom_fold_1"), {0.5, kFold1BestVal, 0.875});
  std::ofstream(runs.file("shapes_custom_fold_1/run_state.json"))
      << nlohmann::json{{"state", "interrupted"}, {"epochs_done", 3}, {"planned_epochs", 10}, {"test_accuracy", nullptr}}.dump();
  const auto run = testkit::run_tool("ml-export", {"--pattern", runs.file("*/weights/best.pt")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const double best0 = fold0_best_val();
  const auto csv = read_csv_columns(run_file("metrics.csv"));
  const auto& csv_epochs = csv.at("epoch");
  const auto& csv_val = csv.at("val_accuracy");
  const int epoch0 = static_cast<int>(csv_epochs[std::max_element(csv_val.begin(), csv_val.end()) - csv_val.begin()]);
  EXPECT_NE(run.err.find(fmt::format("shapes_custom_fold_0  {:.4f} at epoch {}", best0, epoch0)), std::string::npos)
      << run.err;
  // The interrupted run is shown but, as in ml-report, not chosen.
  EXPECT_NE(run.err.find(fmt::format("shapes_custom_fold_1  {:.4f} at epoch 2 (interrupted)\n", kFold1BestVal)),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find(fmt::format("shapes_custom_fold_0  {:.4f} at epoch {}  <- highest", best0, epoch0)),
            std::string::npos)
      << run.err;
}

// ml-export on a checkpoint of a run folder adds its validation to the run's page, once however often
// it runs; the section shows what best.validation.json holds.
TEST_F(ReportPage, ExportAddsItsValidationToTheRunPage) {
  MLTK_REQUIRE_BROWSER();
  const std::string run = dir_->file("export_run/shapes_custom_fold_0");
  fs::create_directories(dir_->file("export_run"));
  fs::copy(run_file(""), run, fs::copy_options::recursive);
  for (int pass = 0; pass < 2; ++pass) {
    const auto exported = testkit::run_tool(
        "ml-export", {"--checkpoint_path", run + "/weights/best.pt", "--validation_data", dir_->file("data/shapes/splits/test.txt")});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    EXPECT_NE(exported.err.find("Validation added to the run page: " + run + "/report.html"), std::string::npos)
        << exported.err;
  }
  const std::string html = read_file(run + "/report.html");
  size_t sections = 0;
  for (size_t at = html.find("<section id=\"validation\">"); at != std::string::npos;
       at = html.find("<section id=\"validation\">", at + 1))
    ++sections;
  EXPECT_EQ(sections, 1u);
  const auto report = nlohmann::json::parse(read_file(run + "/weights/best.validation.json"));
  EXPECT_EQ(embedded_data(run + "/report.html")["validation"], report);

  const auto seen = inspect_in_browser(run + "/report.html", screenshot_path("run_page_with_validation"));
  EXPECT_TRUE(seen["problems"].empty()) << seen["problems"].dump(2);
  EXPECT_EQ(seen["charts"].size(), 4u) << "the run's charts still draw";
  ASSERT_EQ(seen["validation"].size(), report["batches"].size()) << seen["validation"].dump();
  for (size_t i = 0; i < report["batches"].size(); ++i) {
    const auto& batch = report["batches"][i];
    const auto& cells = seen["validation"][i];
    EXPECT_EQ(cells[0], std::to_string(batch["batch_size"].get<int>()));
    EXPECT_EQ(cells[1], batch["status"]);
    EXPECT_EQ(cells[2], fmt::format("{:.2e}", batch["metrics"]["max_abs_diff"].get<double>()));
    EXPECT_EQ(cells[3], fmt::format("{:.2e}", batch["metrics"]["mse"].get<double>()));
  }
  expect_not_blank(screenshot_path("run_page_with_validation"));
}

// A checkpoint outside a run folder gets a page of its own beside the ONNX file.
TEST_F(ReportPage, ExportOutsideARunFolderWritesAValidationPage) {
  TempDir dir("mltk-validation-page");
  fs::copy_file(run_file("weights/best.pt"), dir.file("model.pt"));
  const auto exported = testkit::run_tool("ml-export", {"--checkpoint_path", dir.file("model.pt")});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string page = dir.file("model.validation.html");
  ASSERT_TRUE(fs::exists(page)) << exported.err;
  EXPECT_EQ(embedded_data(page)["validation"], nlohmann::json::parse(read_file(dir.file("model.validation.json"))));
  MLTK_REQUIRE_BROWSER();
  const auto seen = inspect_in_browser(page, screenshot_path("validation_page"));
  EXPECT_TRUE(seen["problems"].empty()) << seen["problems"].dump(2);
  EXPECT_FALSE(seen["validation"].empty());
  expect_not_blank(screenshot_path("validation_page"));
}

}  // namespace
