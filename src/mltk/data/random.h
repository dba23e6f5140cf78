#pragma once
// Per-sample random numbers whose values do not depend on the standard library's distribution
// implementations or on which thread processes the sample.
#include <cstdint>
#include <random>

namespace mltk::data {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  // The generator of sample `index` in `epoch` of a run seeded with `seed`.
  static Random for_sample(uint64_t seed, int64_t epoch, uint64_t index);

  double uniform(double low, double high);       // [low, high)
  int64_t uniform_int(int64_t low, int64_t high);  // [low, high], inclusive as Python's randint
  bool bernoulli(double p) { return uniform(0.0, 1.0) < p; }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace mltk::data
