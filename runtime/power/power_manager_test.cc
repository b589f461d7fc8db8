#include "runtime/power/power_manager.h"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/describe.h"

namespace proctor {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The signals one watcher received, in order.
std::vector<WakeSignal> SignalsTo(WatcherId watcher,
                                  const ActionList& actions) {
  std::vector<WakeSignal> signals;
  for (const Action& action : actions) {
    if (const auto* a = std::get_if<action::SignalWatcher>(&action);
        a != nullptr && a->watcher == watcher) {
      signals.push_back(a->signal);
    }
  }
  return signals;
}

Instant At(absl::Duration since_origin) { return Instant{} + since_origin; }

constexpr CounterId kCounter{7};
constexpr WakeSourceId kCounterSource{7};
constexpr HandleId kHandle{12};
constexpr WakeSourceId kHandleSource{12};

class PowerManagerTest : public ::testing::Test {
 protected:
  void RegisterWatcher(uint64_t request, uint64_t watcher) {
    ActionList ignored;
    power_.OnRegisterWakeWatcher(
        now_,
        input::RegisterWakeWatcher{RequestId{request}, WatcherId{watcher}},
        ignored);
  }
  void AddCounter(CounterId counter, absl::string_view name) {
    ActionList ignored;
    ASSERT_TRUE(power_.AddCounterWakeSource(now_, counter, name, ignored).ok());
  }
  void AddHandle(uint64_t request, HandleId handle, absl::string_view name,
                 Signals mask) {
    ActionList ignored;
    power_.OnAddWakeSource(
        now_,
        input::AddWakeSource{RequestId{request}, WakeSourceId{handle.value},
                             std::string(name), mask},
        ignored);
  }
  ActionList Suspend(uint64_t request) {
    ActionList actions;
    power_.OnSuspendContainer(now_, input::SuspendContainer{RequestId{request}},
                              actions);
    return actions;
  }
  ActionList CounterValue(CounterId counter, int64_t value) {
    ActionList actions;
    power_.OnCounterValue(now_, counter, value, actions);
    return actions;
  }
  ActionList HandleSignals(HandleId handle, Signals signals) {
    ActionList actions;
    power_.OnHandleSignalled(now_, input::HandleSignalled{handle, signals},
                             actions);
    return actions;
  }

  PowerManager power_;
  Instant now_ = At(absl::Seconds(1));
};

// ---- PW-1 ----

TEST_F(PowerManagerTest, PW1_CounterSourceActiveWhilePositive) {
  ActionList actions;
  ASSERT_TRUE(
      power_.AddCounterWakeSource(now_, kCounter, "binder", actions).ok());
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("wake_source_added source=7 name=\"binder\""));
  EXPECT_FALSE(power_.wake_sources().IsActive(kCounterSource));

  EXPECT_THAT(CounterValue(kCounter, 1), IsEmpty());
  EXPECT_TRUE(power_.wake_sources().IsActive(kCounterSource));
  EXPECT_THAT(CounterValue(kCounter, 0), IsEmpty());
  EXPECT_FALSE(power_.wake_sources().IsActive(kCounterSource));
}

TEST_F(PowerManagerTest, PW1_HandleSourceActiveWhileMaskAsserted) {
  ActionList actions;
  power_.OnAddWakeSource(
      now_,
      input::AddWakeSource{RequestId{3}, kHandleSource, "alarm", kSignalUser0},
      actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("wake_source_added source=12 name=\"alarm\"",
                          "reply request=3 status=OK"));

  EXPECT_THAT(HandleSignals(kHandle, kSignalReadable), IsEmpty());
  EXPECT_FALSE(power_.wake_sources().IsActive(kHandleSource));
  EXPECT_THAT(HandleSignals(kHandle, kSignalReadable | kSignalUser0),
              IsEmpty());
  EXPECT_TRUE(power_.wake_sources().IsActive(kHandleSource));
}

TEST_F(PowerManagerTest, PW1_RemoveIsIdempotent) {
  AddHandle(1, kHandle, "alarm", kSignalUser0);
  ActionList actions;
  power_.OnRemoveWakeSource(
      now_, input::RemoveWakeSource{RequestId{2}, kHandleSource}, actions);
  power_.OnRemoveWakeSource(
      now_, input::RemoveWakeSource{RequestId{3}, kHandleSource}, actions);
  power_.OnRemoveWakeSource(
      now_, input::RemoveWakeSource{RequestId{4}, WakeSourceId{999}}, actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre("wake_source_removed source=12", "reply request=2 status=OK",
                  "reply request=3 status=OK", "reply request=4 status=OK"));
  EXPECT_FALSE(power_.wake_sources().Contains(kHandleSource));
}

TEST_F(PowerManagerTest, PW1_CounterSourceRemoveIsIdempotent) {
  AddCounter(kCounter, "binder");
  ActionList actions;
  power_.RemoveCounterWakeSource(now_, kCounter, actions);
  power_.RemoveCounterWakeSource(now_, kCounter, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("wake_source_removed source=7"));
}

TEST_F(PowerManagerTest, PW1_AddWakeSourceRefusesAnOverlongName) {
  ActionList actions;
  power_.OnAddWakeSource(
      now_,
      input::AddWakeSource{RequestId{5}, kHandleSource,
                           std::string(WakeSources::kMaxNameBytes + 1, 'x'),
                           kSignalUser0},
      actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre(
          "reply request=5 status=INVALID_ARGUMENT: PW-1: wake source name "
          "is 1025 bytes; the limit is 1024"));
  EXPECT_FALSE(power_.wake_sources().Contains(kHandleSource));
}

TEST_F(PowerManagerTest, PW1_AddWakeSourceRefusesBeyondTheLimit) {
  for (uint64_t i = 1; i <= WakeSources::kMaxWakeSources; ++i) {
    AddCounter(CounterId{1000 + i}, "c");
  }
  ActionList actions;
  power_.OnAddWakeSource(
      now_,
      input::AddWakeSource{RequestId{5}, kHandleSource, "alarm", kSignalUser0},
      actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre(
          "reply request=5 status=RESOURCE_EXHAUSTED: PW-1: too many wake "
          "sources (limit 1024)"));

  // A proxy's counter is refused the same way, with no action, so the
  // caller can refuse the proxy.
  ActionList counter_actions;
  EXPECT_EQ(
      power_.AddCounterWakeSource(now_, kCounter, "binder", counter_actions),
      absl::ResourceExhaustedError("PW-1: too many wake sources (limit 1024)"));
  EXPECT_THAT(counter_actions, IsEmpty());
}

TEST_F(PowerManagerTest, PW1_AddingAnExistingSourceReplacesIt) {
  AddHandle(1, kHandle, "old", kSignalUser0);
  ActionList actions;
  power_.OnAddWakeSource(
      now_,
      input::AddWakeSource{RequestId{2}, kHandleSource, "new", kSignalUser1},
      actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("wake_source_added source=12 name=\"new\"",
                          "reply request=2 status=OK"));
  EXPECT_EQ(power_.wake_sources().size(), 1u);
  EXPECT_EQ(power_.wake_sources().Name(kHandleSource), "new");
  EXPECT_THAT(HandleSignals(kHandle, kSignalUser0), IsEmpty());
  EXPECT_FALSE(power_.wake_sources().IsActive(kHandleSource));
}

// ---- PW-2 ----

TEST_F(PowerManagerTest, PW2_RegisterSignalsAwakeAtOnce) {
  ActionList actions;
  power_.OnRegisterWakeWatcher(
      now_, input::RegisterWakeWatcher{RequestId{1}, WatcherId{4}}, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("signal_watcher watcher=4 signal=AWAKE",
                          "reply request=1 status=OK"));
}

TEST_F(PowerManagerTest, PW2_RegisterDuringSuspendSignalsTheCurrentState) {
  AddCounter(kCounter, "binder");
  Suspend(1);
  ActionList actions;
  power_.OnRegisterWakeWatcher(
      now_, input::RegisterWakeWatcher{RequestId{2}, WatcherId{4}}, actions);
  now_ = At(absl::Seconds(2));
  power_.OnCounterValue(now_, kCounter, 1, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("signal_watcher watcher=4 signal=ASLEEP",
                          "reply request=2 status=OK", "resume_guest",
                          "signal_watcher watcher=4 signal=AWAKE",
                          "reply request=1 status=OK value={woken_by=7 "
                          "name=\"binder\" slept=1s}"));
}

TEST_F(PowerManagerTest, PW2_WatchersSeeAsleepThenAwakeInOrder) {
  RegisterWatcher(1, 9);
  RegisterWatcher(2, 3);
  AddHandle(3, kHandle, "alarm", kSignalUser0);

  ActionList actions = Suspend(4);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre("suspend_guest", "signal_watcher watcher=3 signal=ASLEEP",
                  "signal_watcher watcher=9 signal=ASLEEP"));
  now_ = At(absl::Seconds(5));
  EXPECT_THAT(
      DescribeActions(HandleSignals(kHandle, kSignalUser0)),
      ElementsAre("resume_guest", "signal_watcher watcher=3 signal=AWAKE",
                  "signal_watcher watcher=9 signal=AWAKE",
                  "reply request=4 status=OK value={woken_by=12 name=\"alarm\" "
                  "slept=4s}"));
}

TEST_F(PowerManagerTest, PW2_NeverTwoAsleepsInARow) {
  ActionList all;
  power_.OnRegisterWakeWatcher(
      now_, input::RegisterWakeWatcher{RequestId{1}, WatcherId{4}}, all);
  AddCounter(kCounter, "binder");
  power_.OnSuspendContainer(now_, input::SuspendContainer{RequestId{2}}, all);

  ActionList second;
  power_.OnSuspendContainer(now_, input::SuspendContainer{RequestId{3}},
                            second);
  EXPECT_THAT(
      DescribeActions(second),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: PW-3: container is "
          "already suspended"));
  EXPECT_TRUE(power_.suspended());
  all.insert(all.end(), second.begin(), second.end());

  power_.OnCounterValue(now_, kCounter, 1, all);
  power_.OnCounterValue(now_, kCounter, 0, all);
  power_.OnSuspendContainer(now_, input::SuspendContainer{RequestId{4}}, all);
  EXPECT_THAT(SignalsTo(WatcherId{4}, all),
              ElementsAre(WakeSignal::kAwake, WakeSignal::kAsleep,
                          WakeSignal::kAwake, WakeSignal::kAsleep));
}

TEST_F(PowerManagerTest, PW2_RefusesAWatcherThatIsAlreadyRegistered) {
  RegisterWatcher(1, 4);
  Suspend(2);
  ActionList actions;
  power_.OnRegisterWakeWatcher(
      now_, input::RegisterWakeWatcher{RequestId{3}, WatcherId{4}}, actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre(
          "reply request=3 status=ALREADY_EXISTS: PW-2: wake watcher 4 is "
          "already registered"));
}

TEST_F(PowerManagerTest, PW2_RefusesMoreThanMaxWatchers) {
  for (uint64_t i = 1; i <= PowerManager::kMaxWatchers; ++i) {
    RegisterWatcher(i, i);
  }
  ActionList actions;
  power_.OnRegisterWakeWatcher(
      now_, input::RegisterWakeWatcher{RequestId{999}, WatcherId{999}},
      actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre(
          "reply request=999 status=RESOURCE_EXHAUSTED: PW-2: too many wake "
          "watchers (limit 256)"));
  // The refused watcher is not signalled on suspend.
  EXPECT_THAT(SignalsTo(WatcherId{999}, Suspend(1000)), IsEmpty());
}

// ---- PW-3 ----

TEST_F(PowerManagerTest, PW3_RefusesNamingTheActiveSource) {
  RegisterWatcher(1, 4);
  AddHandle(2, HandleId{40}, "alarm", kSignalUser0);
  AddCounter(CounterId{30}, "binder");
  HandleSignals(HandleId{40}, kSignalUser0);
  CounterValue(CounterId{30}, 2);

  EXPECT_THAT(
      DescribeActions(Suspend(3)),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: PW-3: wake source "
          "'binder' (30) is active"));
}

TEST_F(PowerManagerTest, PW3_StateUnchangedOnRefusal) {
  RegisterWatcher(1, 4);
  AddHandle(2, kHandle, "alarm", kSignalUser0);
  HandleSignals(kHandle, kSignalUser0);

  ActionList refused = Suspend(3);
  EXPECT_THAT(
      DescribeActions(refused),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: PW-3: wake source "
          "'alarm' (12) is active"));
  EXPECT_FALSE(power_.suspended());

  // Nothing was left pending: the source going idle and active again does
  // not answer request 3 or resume anything.
  EXPECT_THAT(HandleSignals(kHandle, kSignalNone), IsEmpty());
  EXPECT_THAT(HandleSignals(kHandle, kSignalUser0), IsEmpty());
}

TEST_F(PowerManagerTest, PW3_ReturnsWhichSourceWokeAndHowLong) {
  RegisterWatcher(1, 4);
  AddHandle(2, kHandle, "alarm", kSignalUser0);
  AddCounter(kCounter, "binder");

  now_ = At(absl::Milliseconds(1500));
  EXPECT_THAT(
      DescribeActions(Suspend(3)),
      ElementsAre("suspend_guest", "signal_watcher watcher=4 signal=ASLEEP"));
  EXPECT_TRUE(power_.suspended());

  // A signal outside the mask does not wake it.
  now_ = At(absl::Seconds(2));
  EXPECT_THAT(HandleSignals(kHandle, kSignalReadable), IsEmpty());
  EXPECT_TRUE(power_.suspended());

  now_ = Instant{3'750'000'123};
  ActionList woken = HandleSignals(kHandle, kSignalReadable | kSignalUser0);
  EXPECT_THAT(
      DescribeActions(woken),
      ElementsAre("resume_guest", "signal_watcher watcher=4 signal=AWAKE",
                  "reply request=3 status=OK value={woken_by=12 name=\"alarm\" "
                  "slept=2.250000123s}"));
  ASSERT_EQ(woken.size(), 3u);
  const auto& reply = std::get<action::Reply>(woken[2]);
  EXPECT_EQ(std::get<SuspendResult>(reply.value),
            (SuspendResult{kHandleSource, "alarm",
                           absl::Nanoseconds(2'250'000'123)}));
  EXPECT_FALSE(power_.suspended());
}

TEST_F(PowerManagerTest, PW3_AddingAnActiveSourceDuringSuspendWakesAtOnce) {
  RegisterWatcher(1, 4);
  Suspend(2);
  // Observed before it is a wake source: remembered, but wakes nothing yet.
  EXPECT_THAT(HandleSignals(kHandle, kSignalUser0), IsEmpty());

  now_ = At(absl::Seconds(3));
  ActionList actions;
  power_.OnAddWakeSource(
      now_,
      input::AddWakeSource{RequestId{3}, kHandleSource, "alarm", kSignalUser0},
      actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre("wake_source_added source=12 name=\"alarm\"", "resume_guest",
                  "signal_watcher watcher=4 signal=AWAKE",
                  "reply request=2 status=OK value={woken_by=12 name=\"alarm\" "
                  "slept=2s}",
                  "reply request=3 status=OK"));
}

TEST_F(PowerManagerTest, PW3_SuspendWithNoWakeSourcesWaits) {
  EXPECT_THAT(DescribeActions(Suspend(1)), ElementsAre("suspend_guest"));
  EXPECT_TRUE(power_.suspended());
  EXPECT_THAT(CounterValue(kCounter, 5), IsEmpty());
  EXPECT_TRUE(power_.suspended());
}

// ---- PW-4 ----

TEST_F(PowerManagerTest, PW4_CounterAtOneRefusesSuspend) {
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 1);  // counter_added after a message entered
  EXPECT_THAT(
      DescribeActions(Suspend(1)),
      ElementsAre(
          "reply request=1 status=FAILED_PRECONDITION: PW-3: wake source "
          "'binder' (7) is active"));
  EXPECT_FALSE(power_.suspended());
}

TEST_F(PowerManagerTest, PW4_SuspendSucceedsAfterCounterChangedToZero) {
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 1);
  ASSERT_FALSE(DescribeActions(Suspend(1)).empty());
  EXPECT_FALSE(power_.suspended());

  CounterValue(kCounter, 0);  // counter_changed: the container handled it
  EXPECT_THAT(DescribeActions(Suspend(2)), ElementsAre("suspend_guest"));
  EXPECT_TRUE(power_.suspended());
}

TEST_F(PowerManagerTest, PW4_CounterAddDuringSuspendResumesAtOnce) {
  RegisterWatcher(1, 4);
  AddCounter(kCounter, "binder");
  Suspend(2);

  now_ = At(absl::Milliseconds(1010));
  EXPECT_THAT(
      DescribeActions(CounterValue(kCounter, 1)),
      ElementsAre("resume_guest", "signal_watcher watcher=4 signal=AWAKE",
                  "reply request=2 status=OK value={woken_by=7 name=\"binder\" "
                  "slept=10ms}"));
  EXPECT_FALSE(power_.suspended());
  // And while the message is unhandled the container stays awake.
  EXPECT_THAT(
      DescribeActions(Suspend(3)),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: PW-3: wake source "
          "'binder' (7) is active"));
}

TEST_F(PowerManagerTest, PW4_CounterPositiveBeforeRegistrationRefusesSuspend) {
  CounterValue(kCounter, 1);
  AddCounter(kCounter, "binder");
  EXPECT_THAT(
      DescribeActions(Suspend(1)),
      ElementsAre(
          "reply request=1 status=FAILED_PRECONDITION: PW-3: wake source "
          "'binder' (7) is active"));
}

TEST_F(PowerManagerTest, PW4_CounterRegisteredPositiveDuringSuspendWakes) {
  Suspend(1);
  CounterValue(kCounter, 1);
  ActionList actions;
  ASSERT_TRUE(
      power_.AddCounterWakeSource(now_, kCounter, "binder", actions).ok());
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre("wake_source_added source=7 name=\"binder\"", "resume_guest",
                  "reply request=1 status=OK value={woken_by=7 name=\"binder\" "
                  "slept=0}"));
}

// ---- PX-4 ----

TEST_F(PowerManagerTest, PX4_RemovedCounterNoLongerWakes) {
  RegisterWatcher(1, 4);
  AddCounter(kCounter, "binder");
  ActionList removed;
  power_.RemoveCounterWakeSource(now_, kCounter, removed);
  EXPECT_THAT(DescribeActions(removed),
              ElementsAre("wake_source_removed source=7"));

  Suspend(2);
  EXPECT_THAT(CounterValue(kCounter, 1), IsEmpty());
  EXPECT_TRUE(power_.suspended());
}

TEST_F(PowerManagerTest, PX4_RemovedActiveCounterNoLongerBlocksSuspend) {
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 1);
  ActionList removed;
  power_.RemoveCounterWakeSource(now_, kCounter, removed);
  EXPECT_THAT(DescribeActions(Suspend(1)), ElementsAre("suspend_guest"));
}

// PX-4 with PW-4 (spec "Project additions"): a stopped proxy's counter
// source is removed once the counter has drained.

TEST_F(PowerManagerTest,
       PX4_StoppedProxyWithUnhandledMessagesKeepsItsSourceUntilDrained) {
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 2);
  ActionList retired;
  power_.RetireCounterWakeSource(now_, kCounter, retired);
  EXPECT_THAT(retired, IsEmpty());
  EXPECT_TRUE(power_.retiring(kCounter));
  EXPECT_TRUE(power_.wake_sources().IsActive(kCounterSource));

  EXPECT_THAT(CounterValue(kCounter, 1), IsEmpty());
  EXPECT_TRUE(power_.wake_sources().Contains(kCounterSource));
  EXPECT_THAT(DescribeActions(CounterValue(kCounter, 0)),
              ElementsAre("wake_source_removed source=7"));
  EXPECT_FALSE(power_.wake_sources().Contains(kCounterSource));
  EXPECT_FALSE(power_.retiring(kCounter));

  // Gone for good: a later count neither blocks a suspend nor wakes it.
  EXPECT_THAT(CounterValue(kCounter, 1), IsEmpty());
  EXPECT_THAT(DescribeActions(Suspend(1)), ElementsAre("suspend_guest"));
  EXPECT_THAT(CounterValue(kCounter, 2), IsEmpty());
  EXPECT_TRUE(power_.suspended());
}

TEST_F(PowerManagerTest,
       PX4_StoppedProxyWithDrainedCounterLosesItsSourceAtOnce) {
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 1);
  CounterValue(kCounter, 0);
  ActionList retired;
  power_.RetireCounterWakeSource(now_, kCounter, retired);
  EXPECT_THAT(DescribeActions(retired),
              ElementsAre("wake_source_removed source=7"));
  EXPECT_FALSE(power_.retiring(kCounter));
  EXPECT_FALSE(power_.wake_sources().Contains(kCounterSource));
}

TEST_F(PowerManagerTest, PX4_NegativeCounterCountsAsDrained) {
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 3);
  ActionList actions;
  power_.RetireCounterWakeSource(now_, kCounter, actions);
  power_.OnCounterValue(now_, kCounter, -1, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("wake_source_removed source=7"));
}

TEST_F(PowerManagerTest, PX4_RetireIsIdempotent) {
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 1);
  ActionList actions;
  power_.RetireCounterWakeSource(now_, kCounter, actions);
  power_.RetireCounterWakeSource(now_, kCounter, actions);
  EXPECT_THAT(actions, IsEmpty());
  power_.OnCounterValue(now_, kCounter, 0, actions);
  power_.RetireCounterWakeSource(now_, kCounter, actions);
  power_.OnCounterValue(now_, kCounter, 0, actions);
  // Never registered at all: nothing to remove.
  power_.RetireCounterWakeSource(now_, CounterId{99}, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("wake_source_removed source=7"));
  EXPECT_FALSE(power_.retiring(CounterId{99}));
}

TEST_F(PowerManagerTest, PX4_ANewProxyOnTheCounterEndsItsRetirement) {
  AddCounter(kCounter, "old");
  CounterValue(kCounter, 1);
  ActionList actions;
  power_.RetireCounterWakeSource(now_, kCounter, actions);
  AddCounter(kCounter, "new");
  EXPECT_FALSE(power_.retiring(kCounter));
  // The new proxy runs: its drained counter keeps its source.
  EXPECT_THAT(CounterValue(kCounter, 0), IsEmpty());
  EXPECT_EQ(power_.wake_sources().Name(kCounterSource), "new");
}

TEST_F(PowerManagerTest, PX4_AHandleSourceWithTheCountersIdIsRemovedAtOnce) {
  AddHandle(1, HandleId{kCounter.value}, "alarm", kSignalUser0);
  HandleSignals(HandleId{kCounter.value}, kSignalUser0);
  ActionList actions;
  power_.RetireCounterWakeSource(now_, kCounter, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("wake_source_removed source=7"));
  EXPECT_FALSE(power_.retiring(kCounter));
}

TEST_F(PowerManagerTest, PX4_RetiringSourcesCountAgainstTheWakeSourceLimit) {
  RuntimeLimits limits;
  limits.max_wake_sources = 1;
  PowerManager power(limits);
  ActionList actions;
  ASSERT_TRUE(power.AddCounterWakeSource(now_, kCounter, "a", actions).ok());
  power.OnCounterValue(now_, kCounter, 1, actions);
  power.RetireCounterWakeSource(now_, kCounter, actions);
  EXPECT_EQ(
      power.AddCounterWakeSource(now_, CounterId{8}, "b", actions),
      absl::ResourceExhaustedError("PW-1: too many wake sources (limit 1)"));
  power.OnCounterValue(now_, kCounter, 0, actions);
  EXPECT_TRUE(
      power.AddCounterWakeSource(now_, CounterId{8}, "b", actions).ok());
}

TEST_F(PowerManagerTest,
       PW4_SuspendRefusedWhileAStoppedProxysMessagesAreUnhandled) {
  RegisterWatcher(1, 4);
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 1);
  ActionList retired;
  power_.RetireCounterWakeSource(now_, kCounter, retired);
  EXPECT_THAT(
      DescribeActions(Suspend(2)),
      ElementsAre(
          "reply request=2 status=FAILED_PRECONDITION: PW-3: wake source "
          "'binder' (7) is active"));
  EXPECT_FALSE(power_.suspended());

  // Once the container has handled the message the suspend goes through.
  CounterValue(kCounter, 0);
  EXPECT_THAT(
      DescribeActions(Suspend(3)),
      ElementsAre("suspend_guest", "signal_watcher watcher=4 signal=ASLEEP"));
}

TEST_F(PowerManagerTest, PW1_RemovingARetiringSourceEndsItsRetirement) {
  AddCounter(kCounter, "binder");
  CounterValue(kCounter, 1);
  ActionList actions;
  power_.RetireCounterWakeSource(now_, kCounter, actions);
  power_.OnRemoveWakeSource(
      now_, input::RemoveWakeSource{RequestId{2}, kCounterSource}, actions);
  power_.OnCounterValue(now_, kCounter, 0, actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre("wake_source_removed source=7", "reply request=2 status=OK"));
  EXPECT_FALSE(power_.retiring(kCounter));
}

// ---- RT-2 ----

TEST_F(PowerManagerTest,
       RT2_RetiringSourcesAreRemovedWhenHostResourcesAreReleased) {
  AddCounter(CounterId{30}, "b");
  AddCounter(kCounter, "a");
  AddCounter(CounterId{40}, "c");  // a running proxy's: it stays
  CounterValue(CounterId{30}, 2);
  CounterValue(kCounter, 1);
  CounterValue(CounterId{40}, 1);
  ActionList actions;
  power_.RetireCounterWakeSource(now_, CounterId{30}, actions);
  power_.RetireCounterWakeSource(now_, kCounter, actions);
  ASSERT_THAT(actions, IsEmpty());

  power_.RemoveRetiringWakeSources(now_, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("wake_source_removed source=7",
                          "wake_source_removed source=30"));
  EXPECT_FALSE(power_.retiring(kCounter));
  EXPECT_EQ(power_.wake_sources().size(), 1u);
  ActionList again;
  power_.RemoveRetiringWakeSources(now_, again);
  EXPECT_THAT(again, IsEmpty());
}

TEST_F(PowerManagerTest, RT2_ShutdownResumesAndAbortsThePendingSuspend) {
  RegisterWatcher(1, 4);
  AddCounter(kCounter, "binder");
  Suspend(2);

  ActionList actions;
  power_.Shutdown(now_, actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre(
          "resume_guest", "signal_watcher watcher=4 signal=AWAKE",
          "reply request=2 status=ABORTED: RT-2: runtime is shutting down"));
  EXPECT_FALSE(power_.suspended());
  EXPECT_TRUE(power_.shut_down());

  ActionList again;
  power_.Shutdown(now_, again);
  EXPECT_THAT(again, IsEmpty());
  // The aborted suspend is not answered a second time on wake.
  EXPECT_THAT(CounterValue(kCounter, 1), IsEmpty());
}

TEST_F(PowerManagerTest, RT2_ShutdownWhileAwakeEmitsNothingAndRefusesSuspend) {
  RegisterWatcher(1, 4);
  ActionList actions;
  power_.Shutdown(now_, actions);
  EXPECT_THAT(actions, IsEmpty());
  EXPECT_THAT(
      DescribeActions(Suspend(2)),
      ElementsAre(
          "reply request=2 status=FAILED_PRECONDITION: RT-2: runtime is "
          "shutting down"));
  EXPECT_FALSE(power_.suspended());
}

}  // namespace
}  // namespace proctor
