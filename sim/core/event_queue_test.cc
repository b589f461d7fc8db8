#include "sim/core/event_queue.h"

#include <vector>

#include "gtest/gtest.h"
#include "sim/core/prng.h"

namespace proctor::sim {
namespace {

TEST(EventQueueTest, PopsInTimeOrderWithTiesInSchedulingOrder) {
  EventQueue<int> q(16);
  ASSERT_TRUE(q.Push(Instant{30}, 1));
  ASSERT_TRUE(q.Push(Instant{10}, 2));
  ASSERT_TRUE(q.Push(Instant{30}, 3));
  ASSERT_TRUE(q.Push(Instant{10}, 4));
  ASSERT_TRUE(q.Push(Instant{20}, 5));
  std::vector<int> order;
  while (!q.empty()) order.push_back(q.Pop().payload);
  EXPECT_EQ(order, (std::vector<int>{2, 4, 5, 1, 3}));
}

TEST(EventQueueTest, RefusesBeyondCapacity) {
  EventQueue<int> q(2);
  EXPECT_TRUE(q.Push(Instant{1}, 1));
  EXPECT_TRUE(q.Push(Instant{1}, 2));
  EXPECT_FALSE(q.Push(Instant{1}, 3));
  EXPECT_EQ(q.size(), 2u);
  q.Pop();
  EXPECT_TRUE(q.Push(Instant{0}, 4));
  EXPECT_EQ(q.top().payload, 4);
}

TEST(EventQueueTest, MatchesASortedReferenceOnRandomSchedules) {
  Prng p(5);
  EventQueue<uint64_t> q(100000);
  std::vector<std::pair<int64_t, uint64_t>> ref;
  for (uint64_t i = 0; i < 5000; ++i) {
    int64_t t = p.Between(0, 100);
    ASSERT_TRUE(q.Push(Instant{t}, i));
    ref.emplace_back(t, i);
  }
  std::stable_sort(ref.begin(), ref.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  });
  for (const auto& [t, i] : ref) {
    auto e = q.Pop();
    ASSERT_EQ(e.at.ns, t);
    ASSERT_EQ(e.payload, i);
  }
}

}  // namespace
}  // namespace proctor::sim
