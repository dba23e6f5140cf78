#include "mltk/benchmark/latency.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace mltk::benchmark {

LatencySummary summarize_latencies(std::vector<double> times_ms, int64_t batch_size) {
  if (times_ms.empty()) throw std::invalid_argument("no latencies to summarize");
  if (batch_size < 1) throw std::invalid_argument(fmt::format("batch size {} is not positive", batch_size));
  for (const double ms : times_ms)
    if (!std::isfinite(ms) || ms < 0) throw std::invalid_argument(fmt::format("latency {} ms is not a duration", ms));
  std::sort(times_ms.begin(), times_ms.end());
  const size_t n = times_ms.size();
  LatencySummary summary;
  summary.median_ms = n % 2 == 1 ? times_ms[n / 2] : (times_ms[n / 2 - 1] + times_ms[n / 2]) / 2;
  // ceil(0.9 * n) in integers, so that 10 runs give the 9th value and not, by rounding, the 10th.
  summary.p90_ms = times_ms[(9 * n + 9) / 10 - 1];
  // A run under the clock's resolution would divide by zero; such a figure has no meaning anyway.
  summary.images_per_second = summary.median_ms > 0 ? batch_size * 1000.0 / summary.median_ms : 0;
  return summary;
}

}  // namespace mltk::benchmark
