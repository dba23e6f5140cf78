#pragma once
// What a list of measured latencies says: the median, the 90th percentile and the throughput.
#include <cstdint>
#include <vector>

namespace mltk::benchmark {

struct LatencySummary {
  double median_ms = 0;          // the middle value; the mean of the two middle ones for an even count
  double p90_ms = 0;             // nearest rank: the ceil(0.9 * n)-th smallest value
  double images_per_second = 0;  // batch_size / median
};

// Throws std::invalid_argument when `times_ms` is empty, holds a negative or non-finite value, or
// `batch_size` is below 1.
LatencySummary summarize_latencies(std::vector<double> times_ms, int64_t batch_size);

}  // namespace mltk::benchmark
