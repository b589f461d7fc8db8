#include "runtime/container/event_bus.h"

#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace proctor {
namespace {

ContainerEvent Kind(ContainerEvent::Kind kind) {
  ContainerEvent event;
  event.kind = kind;
  return event;
}

ContainerEvent Exit(int code) {
  ContainerEvent event;
  event.kind = ContainerEvent::Kind::kExit;
  event.exit = ExitStatus::Exited(code);
  return event;
}

std::pair<ContainerId, ContainerEvent> Entry(uint64_t id, ContainerEvent e) {
  return {ContainerId{id}, std::move(e)};
}

constexpr SubscriberId kA{1};
constexpr SubscriberId kB{2};

TEST(EventBusTest, CN1_EventsInOrder) {
  ContainerEventBus bus;
  ASSERT_TRUE(bus.Subscribe(kA).ok());
  ASSERT_TRUE(bus.Subscribe(kB).ok());
  bus.Publish(ContainerId{7}, Kind(ContainerEvent::Kind::kInstalled));
  bus.Publish(ContainerId{8}, Kind(ContainerEvent::Kind::kInstalled));
  bus.Publish(ContainerId{7}, Kind(ContainerEvent::Kind::kStarted));
  bus.Publish(ContainerId{7}, Exit(3));
  bus.Publish(ContainerId{7}, Kind(ContainerEvent::Kind::kUninstalled));

  const std::vector<std::pair<ContainerId, ContainerEvent>> expected = {
      Entry(7, Kind(ContainerEvent::Kind::kInstalled)),
      Entry(8, Kind(ContainerEvent::Kind::kInstalled)),
      Entry(7, Kind(ContainerEvent::Kind::kStarted)),
      Entry(7, Exit(3)),
      Entry(7, Kind(ContainerEvent::Kind::kUninstalled)),
  };
  // A polls all at once; B in small batches: both see the same sequence.
  absl::StatusOr<EventBatch> a = bus.Poll(kA, 64);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->events, expected);
  EXPECT_EQ(a->missed, 0u);

  std::vector<std::pair<ContainerId, ContainerEvent>> b_seen;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<EventBatch> b = bus.Poll(kB, 2);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->missed, 0u);
    b_seen.insert(b_seen.end(), b->events.begin(), b->events.end());
  }
  EXPECT_EQ(b_seen, expected);
  EXPECT_EQ(bus.Poll(kA, 64)->events.size(), 0u);
}

TEST(EventBusTest, CN1_SubscriberSeesOnlyLaterEvents) {
  ContainerEventBus bus;
  bus.Publish(ContainerId{1}, Kind(ContainerEvent::Kind::kInstalled));
  ASSERT_TRUE(bus.Subscribe(kA).ok());
  bus.Publish(ContainerId{1}, Kind(ContainerEvent::Kind::kStarted));
  EventBatch batch = *bus.Poll(kA, 64);
  EXPECT_EQ(batch.events, (std::vector<std::pair<ContainerId, ContainerEvent>>{
                              Entry(1, Kind(ContainerEvent::Kind::kStarted))}));
}

TEST(EventBusTest, CN1_SlowSubscriberLagsAndIsToldHowMany) {
  ContainerEventBus bus(/*subscriber_capacity=*/3);
  ASSERT_TRUE(bus.Subscribe(kA).ok());  // slow
  ASSERT_TRUE(bus.Subscribe(kB).ok());  // keeps up
  std::vector<std::pair<ContainerId, ContainerEvent>> b_seen;
  for (int code = 0; code < 8; ++code) {
    bus.Publish(ContainerId{1}, Exit(code));
    EventBatch b = *bus.Poll(kB, 64);
    EXPECT_EQ(b.missed, 0u);
    b_seen.insert(b_seen.end(), b.events.begin(), b.events.end());
  }
  EXPECT_EQ(b_seen.size(), 8u);

  // A held only the newest 3 and lost the 5 before them.
  EventBatch a = *bus.Poll(kA, 64);
  EXPECT_EQ(a.missed, 5u);
  EXPECT_EQ(a.events,
            (std::vector<std::pair<ContainerId, ContainerEvent>>{
                Entry(1, Exit(5)), Entry(1, Exit(6)), Entry(1, Exit(7))}));
  // Told once: the count resets.
  bus.Publish(ContainerId{1}, Exit(8));
  a = *bus.Poll(kA, 64);
  EXPECT_EQ(a.missed, 0u);
  EXPECT_EQ(
      a.events,
      (std::vector<std::pair<ContainerId, ContainerEvent>>{Entry(1, Exit(8))}));
}

TEST(EventBusTest, CN1_DefaultCapacityIs256) {
  ContainerEventBus bus;
  EXPECT_EQ(bus.subscriber_capacity(), ContainerEventBus::kSubscriberCapacity);
  ASSERT_TRUE(bus.Subscribe(kA).ok());
  for (int code = 0; code < 300; ++code)
    bus.Publish(ContainerId{1}, Exit(code));
  EventBatch a = *bus.Poll(kA, 1000);
  EXPECT_EQ(a.missed, 44u);
  ASSERT_EQ(a.events.size(), 256u);
  EXPECT_EQ(a.events.front().second, Exit(44));
  EXPECT_EQ(a.events.back().second, Exit(299));
}

TEST(EventBusTest, CN1_PollWithZeroMaxReportsOnlyTheMissedCount) {
  ContainerEventBus bus(1);
  ASSERT_TRUE(bus.Subscribe(kA).ok());
  bus.Publish(ContainerId{1}, Exit(0));
  bus.Publish(ContainerId{1}, Exit(1));
  EventBatch a = *bus.Poll(kA, 0);
  EXPECT_EQ(a.missed, 1u);
  EXPECT_TRUE(a.events.empty());
  a = *bus.Poll(kA, 1);
  EXPECT_EQ(a.missed, 0u);
  EXPECT_EQ(
      a.events,
      (std::vector<std::pair<ContainerId, ContainerEvent>>{Entry(1, Exit(1))}));
}

TEST(EventBusTest, CN1_DuplicateSubscriberIsRejected) {
  ContainerEventBus bus;
  ASSERT_TRUE(bus.Subscribe(kA).ok());
  absl::Status status = bus.Subscribe(kA);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "CN-1: subscriber 1 is already subscribed");
}

TEST(EventBusTest, CN1_SubscribersAreBounded) {
  ContainerEventBus bus;
  for (uint64_t i = 0; i < ContainerEventBus::kMaxSubscribers; ++i) {
    ASSERT_TRUE(bus.Subscribe(SubscriberId{i}).ok());
  }
  absl::Status status = bus.Subscribe(SubscriberId{1000});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "CN-1: too many subscribers (max 64)");
  // Unsubscribing makes room again.
  ASSERT_TRUE(bus.Unsubscribe(SubscriberId{0}).ok());
  EXPECT_TRUE(bus.Subscribe(SubscriberId{1000}).ok());
}

TEST(EventBusTest, CN1_UnknownSubscriberIsNotFound) {
  ContainerEventBus bus;
  absl::StatusOr<EventBatch> batch = bus.Poll(SubscriberId{9}, 1);
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(batch.status().message(), "CN-1: no subscriber 9");
  absl::Status status = bus.Unsubscribe(SubscriberId{9});
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "CN-1: no subscriber 9");
}

TEST(EventBusTest, CN1_UnsubscribedSubscriberStopsReceiving) {
  ContainerEventBus bus;
  ASSERT_TRUE(bus.Subscribe(kA).ok());
  bus.Publish(ContainerId{1}, Exit(0));
  ASSERT_TRUE(bus.Unsubscribe(kA).ok());
  EXPECT_EQ(bus.subscriber_count(), 0u);
  // Resubscribing starts fresh.
  ASSERT_TRUE(bus.Subscribe(kA).ok());
  EventBatch a = *bus.Poll(kA, 10);
  EXPECT_TRUE(a.events.empty());
  EXPECT_EQ(a.missed, 0u);
}

}  // namespace
}  // namespace proctor
