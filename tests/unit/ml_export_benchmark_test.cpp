// ml-export --benchmark as users run it: the built tool on small checkpoints, its console table
// and JSON report checked against each other and against the raw per-run times the report keeps
// (median, p90 and images/s recomputed here), and the usage errors of its flags.
#include "mltk/common/subprocess.h"

#include "support/export_fixtures.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <sstream>

using namespace mltk;
using mltk::testkit::read_json;
using testkit::CliRun;
using testkit::ml_export;
using testkit::save_model_checkpoint;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {


// The figures of one table row as printed: batch, load ms, median ms, p90 ms, images/s, peak MiB.
struct TableRow {
  int64_t batch = 0;
  double load_ms = 0, median_ms = 0, p90_ms = 0, images_per_second = 0;
  std::optional<double> peak_mib;
};

// The INFO rows `  <runtime> <six figures>` of the log, for one runtime name.
std::vector<TableRow> table_rows(const std::string& log, const std::string& runtime) {
  std::vector<TableRow> rows;
  std::istringstream lines(log);
  const std::string prefix = " | INFO     |   " + runtime + " ";
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(prefix);
    if (at == std::string::npos) continue;
    std::istringstream figures(line.substr(at + prefix.size()));
    TableRow row;
    std::string memory;
    if (!(figures >> row.batch >> row.load_ms >> row.median_ms >> row.p90_ms >> row.images_per_second >> memory)) continue;
    if (memory != "-") row.peak_mib = std::stod(memory);
    rows.push_back(row);
  }
  return rows;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double p90_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[static_cast<size_t>(std::ceil(0.9 * values.size())) - 1];
}

std::vector<int64_t> batch_sizes(const json& runtime) {
  std::vector<int64_t> sizes;
  for (const auto& batch : runtime["batches"]) sizes.push_back(batch["batch_size"]);
  return sizes;
}

// Every figure of `report` against the raw times it keeps and against the printed table in `log`;
// adds the times and load times, which the run must have spent, to `spent_ms`.
void check_report(const json& report, const std::string& log, int runs, double& spent_ms) {
  EXPECT_EQ(report["runs"], runs);
  EXPECT_EQ(report["warmup"], 3);
  const auto& runtimes = report["runtimes"];
  ASSERT_EQ(runtimes.size(), 3u);
  EXPECT_EQ(runtimes[0]["runtime"].get<std::string>().rfind("onnxruntime 1.", 0), 0u) << runtimes[0]["runtime"];
  EXPECT_EQ(runtimes[1]["runtime"], "reference");
  EXPECT_EQ(runtimes[2]["runtime"], "libtorch eager");
  EXPECT_EQ(runtimes[0]["memory_measure"], "process_peak");
  EXPECT_EQ(runtimes[1]["memory_measure"], "resident_growth");
  EXPECT_EQ(runtimes[2]["memory_measure"], "resident_growth");

  for (const auto& runtime : runtimes) {
    const std::string name = runtime["runtime"];
    SCOPED_TRACE(name);
    const double load_ms = runtime["load_ms"];
    EXPECT_GT(load_ms, 0.0);
    spent_ms += load_ms;
    const auto rows = table_rows(log, name);
    EXPECT_EQ(rows.size(), runtime["batches"].size()) << log;
    for (size_t i = 0; i < runtime["batches"].size(); ++i) {
      const auto& batch = runtime["batches"][i];
      const int64_t batch_size = batch["batch_size"];
      SCOPED_TRACE("batch size " + std::to_string(batch_size));
      const auto times = batch["times_ms"].get<std::vector<double>>();
      ASSERT_EQ(times.size(), static_cast<size_t>(runs));
      for (const double ms : times) {
        EXPECT_GT(ms, 0.0);
        spent_ms += ms;
      }
      const double median = batch["median_ms"], p90 = batch["p90_ms"], images_per_second = batch["images_per_second"];
      EXPECT_DOUBLE_EQ(median, median_of(times));
      EXPECT_DOUBLE_EQ(p90, p90_of(times));
      EXPECT_LE(median, p90);
      EXPECT_NEAR(images_per_second, batch_size * 1000.0 / median, 1e-9 * images_per_second);
      ASSERT_FALSE(batch["peak_memory_bytes"].is_null());
      const int64_t memory = batch["peak_memory_bytes"];
      // The Node process holds Node.js and ONNX Runtime: tens of MiB at least. Growth can be small.
      EXPECT_GE(memory, runtime["memory_measure"] == "process_peak" ? int64_t{20} << 20 : 0);

      if (i >= rows.size()) continue;
      const TableRow& row = rows[i];
      EXPECT_EQ(row.batch, batch_size);
      EXPECT_NEAR(row.load_ms, load_ms, 0.05 + 1e-9);
      EXPECT_NEAR(row.median_ms, median, 0.0005 + 1e-9);
      EXPECT_NEAR(row.p90_ms, p90, 0.0005 + 1e-9);
      EXPECT_NEAR(row.images_per_second, images_per_second, 0.05 + 1e-9 * images_per_second);
      ASSERT_TRUE(row.peak_mib.has_value());
      EXPECT_NEAR(*row.peak_mib, memory / 1048576.0, 0.05 + 1e-9);
    }
  }
}

class MlExportBenchmark : public ::testing::Test {
 protected:
  void SetUp() override { MLTK_REQUIRE_ONNXRUNTIME(); }
};

TEST_F(MlExportBenchmark, TableAndReportAgreeWithTheMeasuredRuns) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "simple_cnn");
  const auto start = std::chrono::steady_clock::now();
  const CliRun run = ml_export({"--checkpoint_path", checkpoint, "--batch_size", "2", "--dynamic_axes", "--threads",
                                "1", "--benchmark", "--benchmark_runs", "7"});
  const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(run.exit_code, 0) << run.log;

  const std::string report_path = dir.file("best.benchmark.json");
  ASSERT_TRUE(fs::exists(report_path)) << run.log;
  EXPECT_NE(run.log.find("Benchmark report: " + report_path), std::string::npos) << run.log;
  EXPECT_NE(run.log.find("Benchmark of " + dir.file("best.onnx") + ": 7 timed runs after 3 warm-up runs"),
            std::string::npos)
      << run.log;
  const json report = read_json(report_path);
  EXPECT_EQ(report["onnx_path"], dir.file("best.onnx"));
  EXPECT_TRUE(report["note"].is_null());
  // Every runtime at batch size 1 and at the export's, with the thread count asked for.
  for (const auto& runtime : report["runtimes"]) {
    EXPECT_EQ(batch_sizes(runtime), (std::vector<int64_t>{1, 2})) << runtime["runtime"];
    EXPECT_EQ(runtime["threads"], 1) << runtime["runtime"];
  }
  double spent_ms = 0;
  check_report(report, run.log, 7, spent_ms);
  // The figures were spent in this run: the tool ran longer than all of them together.
  EXPECT_LT(spent_ms, wall_ms);
}

TEST_F(MlExportBenchmark, PatternGivesOneTablePerCheckpointAndAFixedBatchIsTimedAtItsSize) {
  TempDir dir;
  save_model_checkpoint(dir, "a.pt", "simple_cnn");
  save_model_checkpoint(dir, "b.pt", "tiny_net");
  const CliRun run =
      ml_export({"--pattern", dir.file("*.pt"), "--batch_size", "2", "--benchmark", "--benchmark_runs", "2"});
  ASSERT_EQ(run.exit_code, 0) << run.log;
  for (const std::string stem : {"a", "b"}) {
    SCOPED_TRACE(stem);
    EXPECT_NE(run.log.find("Benchmark of " + dir.file(stem + ".onnx") + ":"), std::string::npos) << run.log;
    const json report = read_json(dir.file(stem + ".benchmark.json"));
    EXPECT_EQ(report["onnx_path"], dir.file(stem + ".onnx"));
    ASSERT_EQ(report["runtimes"].size(), 3u);
    // The file only takes batches of 2; LibTorch has no such limit.
    EXPECT_EQ(batch_sizes(report["runtimes"][0]), std::vector<int64_t>{2});
    EXPECT_EQ(batch_sizes(report["runtimes"][1]), std::vector<int64_t>{2});
    EXPECT_EQ(batch_sizes(report["runtimes"][2]), (std::vector<int64_t>{1, 2}));
    ASSERT_TRUE(report["note"].is_string());
    EXPECT_NE(report["note"].get<std::string>().find("--dynamic_axes"), std::string::npos) << report["note"];
  }
  // Two tables: each runtime's rows appear once per checkpoint.
  EXPECT_EQ(table_rows(run.log, "reference").size(), 2u) << run.log;
  EXPECT_EQ(table_rows(run.log, "libtorch eager").size(), 4u) << run.log;
}

TEST_F(MlExportBenchmark, ValidateOnlyTimesTheGivenFile) {
  TempDir dir;
  const std::string checkpoint = save_model_checkpoint(dir, "best.pt", "simple_cnn");
  ASSERT_EQ(ml_export({"--checkpoint_path", checkpoint, "--no-validate"}).exit_code, 0);
  fs::create_directories(dir.file("deploy"));
  const std::string moved = dir.file("deploy/bees.onnx");
  fs::rename(dir.file("best.onnx"), moved);

  const CliRun run = ml_export(
      {"--checkpoint_path", checkpoint, "--validate_only", "--onnx_path", moved, "--benchmark", "--benchmark_runs", "3"});
  ASSERT_EQ(run.exit_code, 0) << run.log;
  EXPECT_NE(run.log.find("PASS"), std::string::npos) << run.log;
  EXPECT_FALSE(fs::exists(dir.file("best.benchmark.json")));
  const json report = read_json(dir.file("deploy/bees.benchmark.json"));
  EXPECT_EQ(report["onnx_path"], moved);
  double spent_ms = 0;
  check_report(report, run.log, 3, spent_ms);
}

TEST(MlExportBenchmarkUsage, RunCountsBelowOneOrWithoutBenchmarkAreUsageErrors) {
  TempDir dir;
  const std::string checkpoint = dir.file("never_read.pt");
  for (const std::string runs : {"0", "-3", "many"}) {
    const CliRun run = ml_export({"--checkpoint_path", checkpoint, "--benchmark", "--benchmark_runs", runs});
    EXPECT_EQ(run.exit_code, 2) << runs << "\n" << run.log;
    EXPECT_NE(run.log.find("--benchmark_runs"), std::string::npos) << run.log;
  }
  const CliRun without = ml_export({"--checkpoint_path", checkpoint, "--benchmark_runs", "5"});
  EXPECT_EQ(without.exit_code, 2) << without.log;
  EXPECT_NE(without.log.find("--benchmark"), std::string::npos) << without.log;
}

}  // namespace
