// The simulator's one source of randomness: a seeded SplitMix64 generator
// owned by the project, so the same seed gives the same world on every build
// (std:: distributions and absl::BitGen differ across builds). Components
// draw from sub-streams derived from (seed, stream id), so adding a fault
// kind or a new random choice in one component does not reshuffle the
// others.
#ifndef PROCTOR_SIM_CORE_PRNG_H_
#define PROCTOR_SIM_CORE_PRNG_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "runtime/model/check.h"

namespace proctor::sim {

class Prng {
 public:
  explicit constexpr Prng(uint64_t seed) : state_(seed) {}

  // A generator for the named sub-stream of `seed`: independent of the order
  // in which streams are created.
  static Prng Stream(uint64_t seed, absl::string_view stream) {
    return Prng(Mix(seed ^ Mix(HashName(stream))));
  }
  // A child stream, e.g. one per VM: Stream(seed, "vm").Fork(cid).
  Prng Fork(uint64_t key) const { return Prng(Mix(state_ ^ Mix(key + 1))); }

  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix(state_);
  }

  // Uniform in [0, bound), unbiased (Lemire's method). bound > 0.
  uint64_t Below(uint64_t bound) {
    PROCTOR_CHECK(bound > 0);
    __uint128_t m = static_cast<__uint128_t>(Next()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = -bound % bound;
      while (low < threshold) {
        m = static_cast<__uint128_t>(Next()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // Uniform in [lo, hi], both included. lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    PROCTOR_CHECK(lo <= hi);
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    if (span == UINT64_MAX) return static_cast<int64_t>(Next());
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + Below(span + 1));
  }

  // True with probability per_million / 1,000,000 (integer-only, so the
  // same on every machine).
  bool Chance(uint32_t per_million) { return Below(1'000'000) < per_million; }

  uint64_t state() const { return state_; }

 private:
  static constexpr uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // FNV-1a: stable across builds, unlike std::hash.
  static constexpr uint64_t HashName(absl::string_view name) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : name) {
      h ^= static_cast<uint8_t>(c);
      h *= 0x100000001b3ULL;
    }
    return h;
  }

  uint64_t state_;
};

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_CORE_PRNG_H_
