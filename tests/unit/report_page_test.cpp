// The HTML pages of ml-train and ml-inference on a small trained model, checked in headless
// chromium against the files they summarise: every chart holds exactly the values of metrics.csv,
// the rendered confusion matrices equal ml-inference's JSON report, no console errors or network
// requests, and a screenshot that is not blank. Screenshots stay in build/report-screenshots/.
#include "mltk/common/subprocess.h"
#include "support/test_support.h"
#include "support/toy_dataset.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

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

}  // namespace
