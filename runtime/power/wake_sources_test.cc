#include "runtime/power/wake_sources.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proctor {
namespace {

using ::testing::Optional;

TEST(WakeSourcesTest, PW1_CounterSourceActiveWhilePositive) {
  WakeSources sources;
  ASSERT_TRUE(sources.AddCounter(CounterId{7}, "proxy").ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);

  ASSERT_TRUE(sources.SetCounterValue(CounterId{7}, 1).ok());
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{7}));
  EXPECT_TRUE(sources.IsActive(WakeSourceId{7}));

  ASSERT_TRUE(sources.SetCounterValue(CounterId{7}, 0).ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);
  ASSERT_TRUE(sources.SetCounterValue(CounterId{7}, -3).ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);
}

TEST(WakeSourcesTest, PW1_CounterSourceIgnoresSignals) {
  WakeSources sources;
  ASSERT_TRUE(sources.AddCounter(CounterId{7}, "proxy").ok());
  ASSERT_TRUE(sources.SetHandleSignals(HandleId{7}, kSignalPositive).ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);
}

TEST(WakeSourcesTest, PW1_HandleSourceActiveWhileMaskAsserted) {
  WakeSources sources;
  ASSERT_TRUE(
      sources.AddHandle(HandleId{4}, "timer", kSignalReadable | kSignalUser0)
          .ok());
  ASSERT_TRUE(sources.SetHandleSignals(HandleId{4}, kSignalPeerClosed).ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);

  ASSERT_TRUE(
      sources.SetHandleSignals(HandleId{4}, kSignalPeerClosed | kSignalUser0)
          .ok());
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{4}));

  ASSERT_TRUE(sources.SetHandleSignals(HandleId{4}, kSignalNone).ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);
  // A counter value on the same koid does not make a handle source active.
  ASSERT_TRUE(sources.SetCounterValue(CounterId{4}, 5).ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);
}

TEST(WakeSourcesTest, PW1_RemoveIsIdempotent) {
  WakeSources sources;
  ASSERT_TRUE(sources.AddCounter(CounterId{7}, "proxy").ok());
  ASSERT_TRUE(sources.SetCounterValue(CounterId{7}, 2).ok());

  EXPECT_TRUE(sources.Remove(WakeSourceId{7}));
  EXPECT_FALSE(sources.Remove(WakeSourceId{7}));
  EXPECT_FALSE(sources.Remove(WakeSourceId{99}));
  EXPECT_EQ(sources.size(), 0u);
  EXPECT_FALSE(sources.Contains(WakeSourceId{7}));
  EXPECT_EQ(sources.FirstActive(), std::nullopt);
}

TEST(WakeSourcesTest, PW1_FirstActiveIsTheLowestActiveId) {
  WakeSources sources;
  ASSERT_TRUE(sources.AddCounter(CounterId{30}, "c30").ok());
  ASSERT_TRUE(sources.AddCounter(CounterId{10}, "c10").ok());
  ASSERT_TRUE(sources.AddCounter(CounterId{20}, "c20").ok());
  ASSERT_TRUE(sources.SetCounterValue(CounterId{30}, 1).ok());
  ASSERT_TRUE(sources.SetCounterValue(CounterId{20}, 1).ok());
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{20}));
  ASSERT_TRUE(sources.SetCounterValue(CounterId{20}, 0).ok());
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{30}));
}

TEST(WakeSourcesTest, PW1_AddingAnExistingIdReplacesIt) {
  WakeSources sources;
  ASSERT_TRUE(sources.AddCounter(CounterId{5}, "old").ok());
  ASSERT_TRUE(sources.SetHandleSignals(HandleId{5}, kSignalUser1).ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);

  ASSERT_TRUE(sources.AddHandle(HandleId{5}, "new", kSignalUser1).ok());
  EXPECT_EQ(sources.size(), 1u);
  const WakeSource* source = sources.Find(WakeSourceId{5});
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->kind, WakeSourceKind::kHandle);
  EXPECT_EQ(source->name, "new");
  EXPECT_EQ(source->mask, kSignalUser1);
  // The signals observed before the replacement still count.
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{5}));
}

TEST(WakeSourcesTest, PW1_NamesAreKept) {
  WakeSources sources;
  ASSERT_TRUE(sources.AddCounter(CounterId{5}, "binder").ok());
  EXPECT_EQ(sources.Name(WakeSourceId{5}), "binder");
  EXPECT_EQ(sources.Name(WakeSourceId{6}), "");
  EXPECT_EQ(sources.Find(WakeSourceId{6}), nullptr);
  EXPECT_EQ(WakeSourceKindName(WakeSourceKind::kCounter), "counter");
  EXPECT_EQ(WakeSourceKindName(WakeSourceKind::kHandle), "handle");
}

TEST(WakeSourcesTest, PW1_ValueSeenBeforeRegistrationMakesSourceActive) {
  WakeSources sources;
  ASSERT_TRUE(sources.SetCounterValue(CounterId{9}, 3).ok());
  ASSERT_TRUE(sources.SetHandleSignals(HandleId{8}, kSignalUser0).ok());
  EXPECT_EQ(sources.FirstActive(), std::nullopt);

  ASSERT_TRUE(sources.AddCounter(CounterId{9}, "late").ok());
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{9}));
  ASSERT_TRUE(sources.AddHandle(HandleId{8}, "late-handle", kSignalUser0).ok());
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{8}));
}

TEST(WakeSourcesTest, PW1_ValueIsRememberedAcrossRemoveAndAddAgain) {
  WakeSources sources;
  ASSERT_TRUE(sources.AddCounter(CounterId{9}, "proxy").ok());
  ASSERT_TRUE(sources.SetCounterValue(CounterId{9}, 1).ok());
  ASSERT_TRUE(sources.Remove(WakeSourceId{9}));
  ASSERT_TRUE(sources.AddCounter(CounterId{9}, "proxy").ok());
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{9}));
}

TEST(WakeSourcesTest, PW1_RefusesMoreThanMaxWakeSources) {
  WakeSources sources;
  for (uint64_t i = 1; i <= WakeSources::kMaxWakeSources; ++i) {
    ASSERT_TRUE(sources.AddCounter(CounterId{i}, "c").ok());
  }
  const uint64_t one_too_many = WakeSources::kMaxWakeSources + 1;
  absl::Status status = sources.AddCounter(CounterId{one_too_many}, "c");
  EXPECT_EQ(status, absl::ResourceExhaustedError(
                        "PW-1: too many wake sources (limit 1024)"));
  EXPECT_EQ(sources.AddHandle(HandleId{one_too_many}, "h", kSignalUser0),
            status);
  EXPECT_EQ(sources.size(), WakeSources::kMaxWakeSources);
  // Replacing an existing source needs no room.
  EXPECT_TRUE(sources.AddHandle(HandleId{1}, "h", kSignalUser0).ok());
  // Removing one makes room again.
  ASSERT_TRUE(sources.Remove(WakeSourceId{2}));
  EXPECT_TRUE(sources.AddCounter(CounterId{one_too_many}, "c").ok());
}

TEST(WakeSourcesTest, PW1_RefusesAnOverlongName) {
  WakeSources sources;
  const std::string longest(WakeSources::kMaxNameBytes, 'n');
  EXPECT_TRUE(sources.AddCounter(CounterId{1}, longest).ok());
  EXPECT_EQ(sources.AddHandle(HandleId{2}, longest + "n", kSignalUser0),
            absl::InvalidArgumentError(
                "PW-1: wake source name is 1025 bytes; the limit is 1024"));
  EXPECT_FALSE(sources.Contains(WakeSourceId{2}));
}

TEST(WakeSourcesTest, PW1_RememberedObservationsAreBounded) {
  WakeSources sources;
  ASSERT_TRUE(sources.AddCounter(CounterId{1}, "registered").ok());
  for (uint64_t i = 0; i < WakeSources::kMaxUnregisteredObservations; ++i) {
    ASSERT_TRUE(sources.SetCounterValue(CounterId{1000 + i}, 1).ok());
  }
  const absl::Status full = absl::ResourceExhaustedError(
      "PW-1: too many unregistered kernel objects observed active (limit "
      "1024)");
  EXPECT_EQ(sources.SetCounterValue(CounterId{5000}, 1), full);
  EXPECT_EQ(sources.SetHandleSignals(HandleId{5001}, kSignalUser0), full);
  // Inactive observations of unknown koids take no room.
  EXPECT_TRUE(sources.SetCounterValue(CounterId{5000}, 0).ok());
  // Known koids and registered sources are always updated.
  EXPECT_TRUE(sources.SetCounterValue(CounterId{1000}, 2).ok());
  ASSERT_TRUE(sources.SetCounterValue(CounterId{1}, 1).ok());
  EXPECT_THAT(sources.FirstActive(), Optional(WakeSourceId{1}));
  // An observation going idle frees its room.
  ASSERT_TRUE(sources.SetCounterValue(CounterId{1000}, 0).ok());
  EXPECT_TRUE(sources.SetCounterValue(CounterId{5000}, 1).ok());
  // The dropped observation of 5001 is simply unknown: inactive on add.
  ASSERT_TRUE(sources.AddHandle(HandleId{5001}, "h", kSignalUser0).ok());
  EXPECT_FALSE(sources.IsActive(WakeSourceId{5001}));
}

}  // namespace
}  // namespace proctor
