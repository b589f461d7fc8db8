#include "runtime/channel/channel.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/channel/counter.h"
#include "runtime/channel/koid_allocator.h"

namespace proctor {
namespace {

Message Msg(std::string bytes, std::vector<HandleId> handles = {}) {
  return Message{std::move(bytes), std::move(handles)};
}

std::pair<EndpointId, EndpointId> NewPair(ChannelTable& table) {
  absl::StatusOr<std::pair<EndpointId, EndpointId>> pair = table.CreatePair();
  EXPECT_TRUE(pair.ok()) << pair.status();
  return *pair;
}

TEST(ChannelTableTest, CH1_EndpointKoidsStartAtTheBase) {
  ChannelTable table(100);
  auto [a, b] = NewPair(table);
  auto [c, d] = NewPair(table);
  EXPECT_EQ(a, EndpointId{100});
  EXPECT_EQ(b, EndpointId{101});
  EXPECT_EQ(c, EndpointId{102});
  EXPECT_EQ(d, EndpointId{103});
}

TEST(ChannelTableTest, CH1_SharedKoidAllocatorInterleavesChannelsAndCounters) {
  KoidAllocator koids(10);
  ChannelTable channels(&koids);
  CounterTable counters(&koids);
  auto [a, b] = NewPair(channels);
  absl::StatusOr<CounterId> counter = counters.Create();
  ASSERT_TRUE(counter.ok());
  auto [c, d] = NewPair(channels);
  EXPECT_EQ(a, EndpointId{10});
  EXPECT_EQ(b, EndpointId{11});
  EXPECT_EQ(*counter, CounterId{12});
  EXPECT_EQ(c, EndpointId{13});
  EXPECT_EQ(d, EndpointId{14});
  EXPECT_EQ(koids.peek(), 15u);
}

TEST(ChannelTableTest, CH1_DeliversWholeInOrderExactlyOnce) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  ASSERT_EQ(table.Write(a, Msg("one", {HandleId{7}})), ChannelStatus::kOk);
  ASSERT_EQ(table.Write(a, Msg("two")), ChannelStatus::kOk);
  ASSERT_EQ(table.Write(b, Msg("back")), ChannelStatus::kOk);
  ASSERT_EQ(table.Write(a, Msg("three", {HandleId{8}, HandleId{9}})),
            ChannelStatus::kOk);
  EXPECT_EQ(table.QueuedMessages(b), 3u);
  EXPECT_EQ(table.QueuedMessages(a), 1u);

  Message m;
  ASSERT_EQ(table.Read(b, &m), ChannelStatus::kOk);
  EXPECT_EQ(m, Msg("one", {HandleId{7}}));
  ASSERT_EQ(table.Read(b, &m), ChannelStatus::kOk);
  EXPECT_EQ(m, Msg("two"));
  ASSERT_EQ(table.Read(b, &m), ChannelStatus::kOk);
  EXPECT_EQ(m, Msg("three", {HandleId{8}, HandleId{9}}));
  EXPECT_EQ(table.Read(b, &m), ChannelStatus::kShouldWait);
  ASSERT_EQ(table.Read(a, &m), ChannelStatus::kOk);
  EXPECT_EQ(m, Msg("back"));
  EXPECT_EQ(table.Read(a, &m), ChannelStatus::kShouldWait);
}

TEST(ChannelTableTest, CH1_AcceptsTheLargestMessage) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  Message biggest{std::string(65536, 'x'),
                  std::vector<HandleId>(64, HandleId{5})};
  ASSERT_EQ(table.Write(a, biggest), ChannelStatus::kOk);
  Message m;
  ASSERT_EQ(table.Read(b, &m), ChannelStatus::kOk);
  EXPECT_EQ(m, biggest);
}

TEST(ChannelTableTest, CH1_TooManyBytesIsOutOfRangeAndNotDelivered) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  EXPECT_EQ(table.Write(a, Msg(std::string(65537, 'x'))),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(table.QueuedMessages(b), 0u);
  EXPECT_EQ(table.SignalsOf(b), kSignalNone);
  Message m;
  EXPECT_EQ(table.Read(b, &m), ChannelStatus::kShouldWait);
}

TEST(ChannelTableTest, CH1_TooManyHandlesIsOutOfRangeAndNotDelivered) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  EXPECT_EQ(table.Write(a, Msg("h", std::vector<HandleId>(65, HandleId{5}))),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(table.QueuedMessages(b), 0u);
}

TEST(ChannelTableTest, CH1_OversizeIsOutOfRangeEvenWhenThePeerIsClosed) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  table.Close(b);
  EXPECT_EQ(table.Write(a, Msg(std::string(65537, 'x'))),
            ChannelStatus::kOutOfRange);
}

TEST(ChannelTableTest, CH1_ReadingAnEmptyQueueShouldWait) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  Message m = Msg("untouched");
  EXPECT_EQ(table.Read(b, &m), ChannelStatus::kShouldWait);
  EXPECT_EQ(m, Msg("untouched"));
  EXPECT_EQ(table.Read(a, &m), ChannelStatus::kShouldWait);
}

TEST(ChannelTableTest, CH1_WritingToAClosedPeerFailsWithPeerClosed) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  table.Close(b);
  EXPECT_EQ(table.Write(a, Msg("lost")), ChannelStatus::kPeerClosed);
  EXPECT_EQ(table.SignalsOf(a), kSignalPeerClosed);
}

TEST(ChannelTableTest, CH1_QueuedMessagesStayReadableAfterThePeerCloses) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  ASSERT_EQ(table.Write(a, Msg("1")), ChannelStatus::kOk);
  ASSERT_EQ(table.Write(a, Msg("2")), ChannelStatus::kOk);
  table.Close(a);
  EXPECT_EQ(table.SignalsOf(b), kSignalReadable | kSignalPeerClosed);
  Message m;
  ASSERT_EQ(table.Read(b, &m), ChannelStatus::kOk);
  EXPECT_EQ(m, Msg("1"));
  ASSERT_EQ(table.Read(b, &m), ChannelStatus::kOk);
  EXPECT_EQ(m, Msg("2"));
  EXPECT_EQ(table.SignalsOf(b), kSignalPeerClosed);
  EXPECT_EQ(table.Read(b, &m), ChannelStatus::kPeerClosed);
}

TEST(ChannelTableTest, CH1_SignalsFollowTheQueueAndThePeer) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  EXPECT_EQ(table.SignalsOf(a), kSignalNone);
  EXPECT_EQ(table.SignalsOf(b), kSignalNone);
  ASSERT_EQ(table.Write(a, Msg("x")), ChannelStatus::kOk);
  EXPECT_EQ(table.SignalsOf(a), kSignalNone);
  EXPECT_EQ(table.SignalsOf(b), kSignalReadable);
  Message m;
  ASSERT_EQ(table.Read(b, &m), ChannelStatus::kOk);
  EXPECT_EQ(table.SignalsOf(b), kSignalNone);
  table.Close(a);
  EXPECT_EQ(table.SignalsOf(b), kSignalPeerClosed);
  EXPECT_EQ(table.SignalsOf(a), kSignalNone);  // closed: no signals
}

TEST(ChannelTableTest, CH1_UnknownOrClosedEndpointIsBadHandle) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  Message m;
  EXPECT_EQ(table.Write(EndpointId{999}, Msg("x")), ChannelStatus::kBadHandle);
  EXPECT_EQ(table.Read(EndpointId{999}, &m), ChannelStatus::kBadHandle);
  ASSERT_EQ(table.Write(b, Msg("for a")), ChannelStatus::kOk);
  table.Close(a);
  EXPECT_FALSE(table.IsOpen(a));
  EXPECT_EQ(table.Write(a, Msg("x")), ChannelStatus::kBadHandle);
  EXPECT_EQ(table.Read(a, &m), ChannelStatus::kBadHandle);
  EXPECT_EQ(table.QueuedMessages(a), 0u);  // discarded on close
  table.Close(a);                          // idempotent
  table.Close(EndpointId{999});
  EXPECT_TRUE(table.IsOpen(b));
}

TEST(ChannelTableTest, CH1_FullQueueShouldWaitAndQueuesNothing) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  for (size_t i = 0; i < ChannelTable::kMaxQueuedMessages; ++i) {
    ASSERT_EQ(table.Write(a, Msg(std::to_string(i))), ChannelStatus::kOk);
  }
  EXPECT_EQ(table.Write(a, Msg("one too many")), ChannelStatus::kShouldWait);
  EXPECT_EQ(table.QueuedMessages(b), 4096u);
  Message m;
  ASSERT_EQ(table.Read(b, &m), ChannelStatus::kOk);
  EXPECT_EQ(m, Msg("0"));
  EXPECT_EQ(table.Write(a, Msg("fits again")), ChannelStatus::kOk);
  EXPECT_EQ(table.QueuedMessages(b), 4096u);
}

TEST(ChannelTableTest, CH1_ClosingBothEndsForgetsTheChannel) {
  ChannelTable table;
  auto [a, b] = NewPair(table);
  auto [c, d] = NewPair(table);
  EXPECT_EQ(table.open_channels(), 2u);
  EXPECT_EQ(table.open_endpoints(), 4u);
  table.Close(a);
  EXPECT_EQ(table.open_channels(), 2u);
  EXPECT_EQ(table.open_endpoints(), 3u);
  table.Close(b);
  EXPECT_EQ(table.open_channels(), 1u);
  EXPECT_EQ(table.open_endpoints(), 2u);
  EXPECT_TRUE(table.IsOpen(c));
  EXPECT_TRUE(table.IsOpen(d));
}

TEST(ChannelTableTest, CH1_TooManyChannelsIsResourceExhausted) {
  ChannelTable table;
  std::pair<EndpointId, EndpointId> last;
  for (size_t i = 0; i < ChannelTable::kMaxChannels; ++i) {
    absl::StatusOr<std::pair<EndpointId, EndpointId>> pair = table.CreatePair();
    ASSERT_TRUE(pair.ok()) << i;
    last = *pair;
  }
  absl::StatusOr<std::pair<EndpointId, EndpointId>> full = table.CreatePair();
  EXPECT_EQ(full.status(),
            absl::ResourceExhaustedError(
                "channel table is full: 16384 channels are open"));
  table.Close(last.first);
  EXPECT_FALSE(table.CreatePair().ok());  // half-open still counts
  table.Close(last.second);
  EXPECT_TRUE(table.CreatePair().ok());
}

}  // namespace
}  // namespace proctor
