#include "sim/core/prng.h"

#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace proctor::sim {
namespace {

TEST(PrngTest, SameSeedSameSequence) {
  Prng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Next(), b.Next());
}

TEST(PrngTest, KnownValuesAreStableAcrossBuilds) {
  // SplitMix64 reference values for seed 0: a change here reshuffles every
  // recorded seed, so it must be deliberate.
  Prng p(0);
  EXPECT_EQ(p.Next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(p.Next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(Prng::Stream(7, "faults").Next(), Prng::Stream(7, "faults").Next());
}

TEST(PrngTest, StreamsAreIndependentOfCreationOrder) {
  Prng faults1 = Prng::Stream(9, "faults");
  Prng other = Prng::Stream(9, "workload");
  Prng faults2 = Prng::Stream(9, "faults");
  (void)other.Next();
  EXPECT_EQ(faults1.Next(), faults2.Next());
  EXPECT_NE(Prng::Stream(9, "faults").Next(),
            Prng::Stream(9, "workload").Next());
  EXPECT_NE(Prng::Stream(9, "vm").Fork(1).Next(),
            Prng::Stream(9, "vm").Fork(2).Next());
}

TEST(PrngTest, BelowStaysInRangeAndCoversIt) {
  Prng p(1);
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    uint64_t v = p.Below(7);
    ASSERT_LT(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
  for (int i = 0; i < 1000; ++i) {
    int64_t v = p.Between(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
  }
  EXPECT_EQ(p.Between(5, 5), 5);
}

TEST(PrngTest, ChanceMatchesItsRateRoughly) {
  Prng p(3);
  int hits = 0;
  for (int i = 0; i < 100000; ++i) hits += p.Chance(250'000);
  EXPECT_GT(hits, 24000);
  EXPECT_LT(hits, 26000);
  Prng q(3);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(q.Chance(0));
    EXPECT_TRUE(q.Chance(1'000'000));
  }
}

}  // namespace
}  // namespace proctor::sim
