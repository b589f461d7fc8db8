#include "runtime/channel/counter.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace proctor {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(CounterTest, CT1_AddChangesTheValue) {
  Counter counter;
  EXPECT_EQ(counter.value(), 0);
  EXPECT_EQ(counter.Add(3), ChannelStatus::kOk);
  EXPECT_EQ(counter.Add(-1), ChannelStatus::kOk);
  EXPECT_EQ(counter.value(), 2);
  EXPECT_EQ(counter.Add(-5), ChannelStatus::kOk);
  EXPECT_EQ(counter.value(), -3);
}

TEST(CounterTest, CT1_SignalsPositiveAboveZeroNonPositiveOtherwise) {
  Counter counter;
  EXPECT_EQ(counter.signals(), kSignalNonPositive);
  ASSERT_EQ(counter.Add(1), ChannelStatus::kOk);
  EXPECT_EQ(counter.signals(), kSignalPositive);
  ASSERT_EQ(counter.Add(-1), ChannelStatus::kOk);
  EXPECT_EQ(counter.signals(), kSignalNonPositive);
  ASSERT_EQ(counter.Add(-1), ChannelStatus::kOk);
  EXPECT_EQ(counter.signals(), kSignalNonPositive);
}

TEST(CounterTest, CT1_OverflowIsOutOfRangeAndChangesNothing) {
  Counter counter(kMax - 1);
  EXPECT_EQ(counter.Add(1), ChannelStatus::kOk);
  EXPECT_EQ(counter.value(), kMax);
  EXPECT_EQ(counter.Add(1), ChannelStatus::kOutOfRange);
  EXPECT_EQ(counter.value(), kMax);
  EXPECT_EQ(counter.Add(kMax), ChannelStatus::kOutOfRange);
  EXPECT_EQ(counter.value(), kMax);
  EXPECT_EQ(counter.signals(), kSignalPositive);
}

TEST(CounterTest, CT1_UnderflowIsOutOfRangeAndChangesNothing) {
  Counter counter(kMin + 1);
  EXPECT_EQ(counter.Add(-1), ChannelStatus::kOk);
  EXPECT_EQ(counter.value(), kMin);
  EXPECT_EQ(counter.Add(-1), ChannelStatus::kOutOfRange);
  EXPECT_EQ(counter.value(), kMin);
  EXPECT_EQ(counter.Add(kMin), ChannelStatus::kOutOfRange);
  EXPECT_EQ(counter.value(), kMin);
  EXPECT_EQ(counter.Add(kMax), ChannelStatus::kOk);
  EXPECT_EQ(counter.value(), -1);
}

TEST(CounterTableTest, CT1_TableAddsAndReportsTheValueAfter) {
  CounterTable table(50);
  absl::StatusOr<CounterId> id = table.Create();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, CounterId{50});
  int64_t after = -99;
  EXPECT_EQ(table.Add(*id, 2, &after), ChannelStatus::kOk);
  EXPECT_EQ(after, 2);
  EXPECT_EQ(table.SignalsOf(*id), kSignalPositive);
  EXPECT_EQ(table.Add(*id, kMax, &after), ChannelStatus::kOutOfRange);
  EXPECT_EQ(after, 2);
  EXPECT_EQ(table.Value(*id), 2);
}

TEST(CounterTableTest, CT1_UnknownOrClosedCounterIsBadHandle) {
  CounterTable table;
  absl::StatusOr<CounterId> id = table.Create(4);
  ASSERT_TRUE(id.ok());
  int64_t after = -99;
  EXPECT_EQ(table.Add(CounterId{999}, 1, &after), ChannelStatus::kBadHandle);
  EXPECT_EQ(after, -99);
  table.Close(*id);
  table.Close(*id);  // idempotent
  EXPECT_EQ(table.Add(*id, 1), ChannelStatus::kBadHandle);
  EXPECT_EQ(table.Value(*id), std::nullopt);
  EXPECT_EQ(table.SignalsOf(*id), kSignalNone);
  EXPECT_EQ(table.size(), 0u);
}

TEST(CounterTableTest, CT1_TooManyCountersIsResourceExhausted) {
  CounterTable table;
  CounterId last;
  for (size_t i = 0; i < CounterTable::kMaxCounters; ++i) {
    absl::StatusOr<CounterId> id = table.Create();
    ASSERT_TRUE(id.ok()) << i;
    last = *id;
  }
  EXPECT_EQ(table.Create().status(),
            absl::ResourceExhaustedError(
                "counter table is full: 16384 counters are live"));
  table.Close(last);
  EXPECT_TRUE(table.Create().ok());
}

}  // namespace
}  // namespace proctor
