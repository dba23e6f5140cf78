#include "mltk/data/random.h"

namespace mltk::data {
namespace {

// SplitMix64 finaliser: spreads nearby inputs (consecutive indices, epochs) over the whole range,
// so the per-sample generators are unrelated.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Random Random::for_sample(uint64_t seed, int64_t epoch, uint64_t index) {
  return Random(mix(mix(mix(seed) ^ static_cast<uint64_t>(epoch)) ^ index));
}

double Random::uniform(double low, double high) {
  // 53 random bits -> [0, 1): the same values with every standard library, unlike
  // std::uniform_real_distribution whose algorithm is implementation-defined.
  const double unit = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
  return low + (high - low) * unit;
}

int64_t Random::uniform_int(int64_t low, int64_t high) {
  const uint64_t span = static_cast<uint64_t>(high - low) + 1;
  // Rejection sampling removes the modulo bias.
  const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % span);
  uint64_t draw;
  do draw = engine_();
  while (draw >= limit);
  return low + static_cast<int64_t>(draw % span);
}

}  // namespace mltk::data
