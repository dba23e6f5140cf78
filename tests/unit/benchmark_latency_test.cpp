// The summary of measured latencies and the resident-memory probes the export benchmark reports.
#include "mltk/benchmark/latency.h"
#include "mltk/benchmark/process_memory.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace mltk::benchmark;

TEST(BenchmarkLatency, OddCountTakesTheMiddleAndTheNearestRankP90) {
  // Sorted: 1 2 3 4 5; the median is 3, ceil(0.9 * 5) = 5 gives the 5th value.
  const auto summary = summarize_latencies({5, 1, 4, 2, 3}, 4);
  EXPECT_DOUBLE_EQ(summary.median_ms, 3.0);
  EXPECT_DOUBLE_EQ(summary.p90_ms, 5.0);
  EXPECT_DOUBLE_EQ(summary.images_per_second, 4 / 0.003);
}

TEST(BenchmarkLatency, EvenCountAveragesTheMiddlePair) {
  // Sorted: 1..10; the median is (5 + 6) / 2, ceil(0.9 * 10) = 9 gives the 9th value.
  const auto summary = summarize_latencies({10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 1);
  EXPECT_DOUBLE_EQ(summary.median_ms, 5.5);
  EXPECT_DOUBLE_EQ(summary.p90_ms, 9.0);
  EXPECT_DOUBLE_EQ(summary.images_per_second, 1000.0 / 5.5);
  // Twenty runs: ceil(18) = 18th value.
  std::vector<double> twenty;
  for (int i = 20; i >= 1; --i) twenty.push_back(i);
  EXPECT_DOUBLE_EQ(summarize_latencies(twenty, 2).p90_ms, 18.0);
}

TEST(BenchmarkLatency, OneRunIsItsOwnMedianAndP90) {
  const auto summary = summarize_latencies({2.5}, 8);
  EXPECT_DOUBLE_EQ(summary.median_ms, 2.5);
  EXPECT_DOUBLE_EQ(summary.p90_ms, 2.5);
  EXPECT_DOUBLE_EQ(summary.images_per_second, 3200.0);
}

TEST(BenchmarkLatency, RejectsWhatIsNoMeasurement) {
  EXPECT_THROW(summarize_latencies({}, 1), std::invalid_argument);
  EXPECT_THROW(summarize_latencies({1, -2}, 1), std::invalid_argument);
  EXPECT_THROW(summarize_latencies({1, std::numeric_limits<double>::quiet_NaN()}, 1), std::invalid_argument);
  EXPECT_THROW(summarize_latencies({1, std::numeric_limits<double>::infinity()}, 1), std::invalid_argument);
  EXPECT_THROW(summarize_latencies({1}, 0), std::invalid_argument);
}

TEST(ProcessMemory, ResidentGrowthSeesMemoryTouchedAfterItStarted) {
  const ResidentGrowth growth;
  constexpr size_t kBytes = size_t{96} << 20;
  // Fresh pages from the kernel: a heap block could reuse pages that earlier tests in this process
  // already made resident, which would rightly not count as growth.
  void* mapped = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mapped, MAP_FAILED);
  auto* block = static_cast<volatile char*>(mapped);
  std::memset(mapped, 1, kBytes);  // every page resident
  const auto peak = growth.peak_bytes();
  EXPECT_EQ(block[kBytes / 2], 1);  // keeps the writes
  munmap(mapped, kBytes);
  ASSERT_TRUE(peak.has_value()) << "this kernel refused to reset the peak resident size";
  EXPECT_GE(*peak, static_cast<int64_t>(kBytes) - (int64_t{4} << 20));
  EXPECT_GE(peak_resident_bytes(getpid()), resident_bytes(getpid()));
}

TEST(ProcessMemory, MissingProcessIsNamed) {
  // Above the kernel's pid_max ceiling (2^22), so no process has it.
  const pid_t absent = (1 << 22) + 7;
  try {
    resident_bytes(absent);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/" + std::to_string(absent) + "/status"), std::string::npos) << e.what();
  }
}
