#include "sim/oracle/power_rules.h"

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sim/oracle/oracle.h"
#include "sim/oracle/testing/feed.h"

namespace proctor::sim {
namespace {

using oracle_testing::Feed;
using oracle_testing::K;
using oracle_testing::Msg;
using oracle_testing::ViolationMessage;
using oracle_testing::ViolationRule;

constexpr WatcherId kWatcher{1};
constexpr uint64_t kAlarm = 30;    // a handle wake source watching USER0
constexpr uint64_t kCounter = 10;  // proxy 1's counter, a wake source
constexpr uint64_t kContainerEnd = 3;

class OraclePowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const RequestId watch = f.Request();
    f.In(input::RegisterWakeWatcher{watch, kWatcher})
        .Out({action::SignalWatcher{kWatcher, WakeSignal::kAwake},
              action::Reply{watch, absl::OkStatus(), {}}});
    const RequestId source = f.Request();
    f.In(input::AddWakeSource{source, K(kAlarm), "alarm", kSignalUser0})
        .Out({action::WakeSourceAdded{K(kAlarm), "alarm"},
              action::Reply{source, absl::OkStatus(), {}}});
    const RequestId proxy = f.Request();
    f.Fact(fact::ChannelCreated{K(1), K(2)})
        .Fact(fact::ChannelCreated{K(kContainerEnd), K(4)})
        .In(input::AddProxy{proxy, ProxyId{1}, K(kContainerEnd), K(2),
                            K(kCounter), "p"})
        .Out({action::WakeSourceAdded{K(kCounter), "p"},
              action::Reply{proxy, absl::OkStatus(), {}}});
  }
  // A suspend_container that suspends the container.
  RequestId Suspend() {
    const RequestId r = f.Request();
    f.In(input::SuspendContainer{r})
        .Out({action::SuspendGuest{},
              action::SignalWatcher{kWatcher, WakeSignal::kAsleep}});
    return r;
  }
  // The alarm rings, and the runtime resumes the container.
  void WakeByAlarm(RequestId suspend, absl::Duration slept) {
    f.In(input::HandleSignalled{K(kAlarm), kSignalUser0})
        .Out({action::ResumeGuest{},
              action::SignalWatcher{kWatcher, WakeSignal::kAwake},
              action::Reply{suspend, absl::OkStatus(),
                            SuspendResult{K(kAlarm), "alarm", slept}}});
  }
  // The proxy writes message 1 into the container endpoint, the counter at 1.
  void MessageIntoContainer() {
    f.Fact(fact::PeerWrote{K(1), 1})
        .In(input::MessageRead{K(2), ChannelStatus::kOk, Msg(1)})
        .Out(action::CounterAdd{K(kCounter), 1})
        .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 1})
        .Out(action::WriteMessage{K(kContainerEnd), Msg(1)});
  }

  Oracle oracle;
  Feed f{oracle};
};

// ---- PW-2 ----

TEST_F(OraclePowerTest, PW2_WatcherSeesAlternatingSignals) {
  f.At(1);
  const RequestId suspend = Suspend();
  f.At(4);
  WakeByAlarm(suspend, absl::Seconds(3));
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("PW-2"), 0u);
  EXPECT_GT(oracle.stats().Checks("PW-3"), 0u);
}

TEST_F(OraclePowerTest, PW2_WatcherRegisteredWhileAsleepIsToldAsleep) {
  Suspend();
  const RequestId r = f.Request();
  f.In(input::RegisterWakeWatcher{r, WatcherId{2}})
      .Out({action::SignalWatcher{WatcherId{2}, WakeSignal::kAsleep},
            action::Reply{r, absl::OkStatus(), {}}});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OraclePowerTest, PW2_FirstSignalAwakeWhileSuspendedIsViolation) {
  Suspend();
  const RequestId r = f.Request();
  f.In(input::RegisterWakeWatcher{r, WatcherId{2}})
      .Out(action::SignalWatcher{WatcherId{2}, WakeSignal::kAwake});
  EXPECT_EQ(ViolationRule(oracle), "PW-2");
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-2: watcher 2 was first told AWAKE while the container is "
            "suspended; expected ASLEEP");
}

TEST_F(OraclePowerTest, PW2_RegistrationWithoutSignalIsViolation) {
  const RequestId r = f.Request();
  f.In(input::RegisterWakeWatcher{r, WatcherId{2}})
      .Out(action::Reply{r, absl::OkStatus(), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-2: watcher 2 registered without being signalled at once");
}

TEST_F(OraclePowerTest, PW2_SignalForRefusedRegistrationIsViolation) {
  const RequestId r = f.Request();
  f.In(input::RegisterWakeWatcher{r, WatcherId{2}})
      .Out({action::SignalWatcher{WatcherId{2}, WakeSignal::kAwake},
            action::Reply{r, absl::ResourceExhaustedError("full"), {}}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-2: watcher 2 was signalled though its registration was "
            "refused: RESOURCE_EXHAUSTED: full");
}

TEST_F(OraclePowerTest, PW2_TwoAsleepInARowIsViolation) {
  f.At(1);
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r})
      .Out({action::SuspendGuest{},
            action::SignalWatcher{kWatcher, WakeSignal::kAsleep},
            action::SignalWatcher{kWatcher, WakeSignal::kAsleep}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-2: watcher 1 told ASLEEP twice in a row (at 1.000000000s and "
            "at 1.000000000s)");
}

TEST_F(OraclePowerTest, PW2_AsleepWhileAwakeIsViolation) {
  f.In(input::HandleSignalled{K(kAlarm), kSignalNone})
      .Out(action::SignalWatcher{kWatcher, WakeSignal::kAsleep});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-2: watcher 1 told ASLEEP while the container is awake");
}

TEST_F(OraclePowerTest, PW2_SignalToUnknownWatcherIsViolation) {
  f.In(input::HandleSignalled{K(kAlarm), kSignalNone})
      .Out(action::SignalWatcher{WatcherId{7}, WakeSignal::kAwake});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-2: signal_watcher AWAKE to watcher 7, which is not registered");
}

TEST_F(OraclePowerTest, PW2_WatcherNotToldOfSuspendIsViolation) {
  f.At(1);
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r}).Out(action::SuspendGuest{});
  f.At(2).In(input::HandleSignalled{K(kAlarm), kSignalNone});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-2: watcher 1 was not told ASLEEP when the container was "
            "suspended (step of suspend_container #12 at 1.000000000s)");
}

// ---- PW-3 ----

TEST_F(OraclePowerTest, PW3_SuspendWhileCounterActiveIsViolation) {
  MessageIntoContainer();
  Suspend();
  EXPECT_EQ(ViolationRule(oracle), "PW-3");
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: suspend_guest while wake source 'p' (10) is active");
}

TEST_F(OraclePowerTest, PW3_RefusalWhileSourceActiveIsAccepted) {
  f.In(input::HandleSignalled{K(kAlarm), kSignalUser0});
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r})
      .Out(action::Reply{r, absl::FailedPreconditionError("busy"), {}});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OraclePowerTest, PW3_RefusalWithNothingActiveIsViolation) {
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r})
      .Out(action::Reply{r, absl::FailedPreconditionError("busy"), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: suspend_container 4 refused (FAILED_PRECONDITION: busy) "
            "though no wake source is active");
}

TEST_F(OraclePowerTest, PW3_SuspendAfterTheFaultsStoppedRefusedIsViolation) {
  MessageIntoContainer();
  f.Quiet();
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r})
      .Out(action::Reply{r, absl::FailedPreconditionError("busy"), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: the suspend requested after the faults stopped (request 4) "
            "was refused: FAILED_PRECONDITION: busy");
}

TEST_F(OraclePowerTest,
       PW3_QuietSuspendHeldByMessagesLostWithTheContainersEndIsAccepted) {
  // The container closes its end with message 1 unread: it is never
  // handled, the counter never drains, and its source (PX-4 with PW-4)
  // rightly keeps the container awake.
  MessageIntoContainer();
  f.Fact(fact::PeerClosed{K(4)}).Quiet();
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r})
      .Out(action::Reply{r, absl::FailedPreconditionError("busy"), {}});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OraclePowerTest,
       PW3_QuietSuspendHeldByACountThatNeverEnteredIsViolation) {
  // The count completes after the container closed its end; the message is
  // dropped, but its count stays.
  f.Fact(fact::PeerWrote{K(1), 1})
      .In(input::MessageRead{K(2), ChannelStatus::kOk, Msg(1)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .Fact(fact::PeerClosed{K(4)})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 1})
      .Quiet();
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r})
      .Out(action::Reply{r, absl::FailedPreconditionError("busy"), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: the suspend requested after the faults stopped (request 4) "
            "was refused: FAILED_PRECONDITION: busy; counter 10 reads 1 but "
            "only 0 messages that entered the container are unhandled");
}

TEST_F(OraclePowerTest,
       PW3_QuietSuspendHeldOnlyByLostMessagesAfterATakeBackIsAccepted) {
  // Message 1 entered the container and is lost with its closed end; the
  // count of message 2, which could not enter, is taken back. What is left
  // on the counter is exactly the lost message: the refusal is right.
  MessageIntoContainer();
  f.In(input::MessageWritten{K(kContainerEnd), ChannelStatus::kOk})
      .Fact(fact::PeerWrote{K(1), 2})
      .In(input::MessageRead{K(2), ChannelStatus::kOk, Msg(2)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .Fact(fact::PeerClosed{K(4)})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 2})
      .Out(action::CounterAdd{K(kCounter), -1})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 1})
      .Quiet();
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r})
      .Out(action::Reply{r, absl::FailedPreconditionError("busy"), {}});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OraclePowerTest,
       PW3_QuietSuspendRefusedWhileTheTakeBackIsStillDueIsViolation) {
  // As above, but the count of message 2 is never taken back.
  MessageIntoContainer();
  f.In(input::MessageWritten{K(kContainerEnd), ChannelStatus::kOk})
      .Fact(fact::PeerWrote{K(1), 2})
      .In(input::MessageRead{K(2), ChannelStatus::kOk, Msg(2)})
      .Out(action::CounterAdd{K(kCounter), 1})
      .Fact(fact::PeerClosed{K(4)})
      .In(input::CounterAdded{K(kCounter), ChannelStatus::kOk, 2})
      .Quiet();
  const RequestId r = f.Request();
  f.In(input::SuspendContainer{r})
      .Out(action::Reply{r, absl::FailedPreconditionError("busy"), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: the suspend requested after the faults stopped (request 4) "
            "was refused: FAILED_PRECONDITION: busy; counter 10 reads 2 but "
            "only 1 messages that entered the container are unhandled");
}

TEST_F(OraclePowerTest, PW3_SuspendNeitherDoneNorRefusedIsViolation) {
  const RequestId r = f.Request();
  f.At(1).In(input::SuspendContainer{r});
  f.At(2).In(input::HandleSignalled{K(kAlarm), kSignalNone});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: suspend_container 4 neither suspended the container nor was "
            "refused (step of suspend_container #12 at 1.000000000s)");
}

TEST_F(OraclePowerTest, PW3_WokenByInactiveSourceIsViolation) {
  f.At(1);
  const RequestId suspend = Suspend();
  f.At(4)
      .In(input::HandleSignalled{K(kAlarm), kSignalUser0})
      .Out({action::ResumeGuest{},
            action::SignalWatcher{kWatcher, WakeSignal::kAwake},
            action::Reply{suspend, absl::OkStatus(),
                          SuspendResult{K(kCounter), "p", absl::Seconds(3)}}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: suspend request 4 says it was woken by 10, which is not an "
            "active wake source at 4.000000000s");
}

TEST_F(OraclePowerTest, PW3_WrongSleptIsViolation) {
  f.At(1);
  const RequestId suspend = Suspend();
  f.At(4);
  WakeByAlarm(suspend, absl::Seconds(4));
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: suspend request 4 says it slept 4s, but it was suspended "
            "from 1.000000000s to 4.000000000s (3s)");
}

TEST_F(OraclePowerTest, PW3_WrongWakerNameIsViolation) {
  f.At(1);
  const RequestId suspend = Suspend();
  f.At(4)
      .In(input::HandleSignalled{K(kAlarm), kSignalUser0})
      .Out({action::ResumeGuest{},
            action::SignalWatcher{kWatcher, WakeSignal::kAwake},
            action::Reply{suspend, absl::OkStatus(),
                          SuspendResult{K(kAlarm), "bell", absl::Seconds(3)}}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: suspend request 4 names its waker 'bell', but wake source "
            "'alarm' (30) has another name");
}

TEST_F(OraclePowerTest, PW3_ResumeWithoutActiveSourceIsViolation) {
  f.At(1);
  Suspend();
  f.At(2)
      .In(input::HandleSignalled{K(kAlarm), kSignalUser1})
      .Out(action::ResumeGuest{});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: resume_guest with no active wake source (suspended since "
            "1.000000000s)");
}

TEST_F(OraclePowerTest, PW3_StayingSuspendedWhileHandleActiveIsViolation) {
  f.At(1);
  Suspend();
  f.At(2).In(input::HandleSignalled{K(kAlarm), kSignalUser0});
  f.At(3).In(input::HandleSignalled{K(kAlarm), kSignalUser0});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: the container stayed suspended although wake source "
            "'alarm' (30) is active (step of handle_signalled #15 at "
            "2.000000000s)");
}

TEST_F(OraclePowerTest, PW3_SecondSuspendGuestIsViolation) {
  Suspend();
  Suspend();
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: suspend_guest while the container is already suspended "
            "(since 0.000000000s)");
}

TEST_F(OraclePowerTest, PW3_AnswerBeforeResumeIsViolation) {
  const RequestId suspend = Suspend();
  f.In(input::HandleSignalled{K(kAlarm), kSignalNone})
      .Out(action::Reply{suspend, absl::OkStatus(),
                         SuspendResult{K(kAlarm), "alarm", absl::Seconds(0)}});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-3: suspend request 4 answered OK before the container was "
            "resumed");
}

TEST_F(OraclePowerTest, PW3_ShutdownAbortsTheSuspend) {
  const RequestId suspend = Suspend();
  const RequestId shutdown = f.Request();
  f.In(input::Shutdown{shutdown})
      .Out({action::ResumeGuest{},
            action::SignalWatcher{kWatcher, WakeSignal::kAwake},
            action::Reply{suspend, absl::AbortedError("shutting down"), {}}});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

// ---- PW-4 ----

TEST_F(OraclePowerTest, PW4_SuspendWhileCounterReadsPositiveIsViolation) {
  MessageIntoContainer();
  // The runtime is told the counter is back to 0 before the container has
  // handled the message (the world's fact says it has not).
  f.In(input::CounterChanged{K(kCounter), 0});
  Suspend();
  EXPECT_EQ(ViolationRule(oracle), "PW-4");
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-4: suspend_guest while counter 10 of wake source 'p' (10) "
            "reads 1");
}

TEST_F(OraclePowerTest, PW4_SuspendWithUnhandledMessageIsViolation) {
  MessageIntoContainer();
  const RequestId remove = f.Request();
  f.In(input::RemoveWakeSource{remove, K(kCounter)})
      .Out({action::WakeSourceRemoved{K(kCounter)},
            action::Reply{remove, absl::OkStatus(), {}}});
  Suspend();
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-4: suspend_guest while 1 messages counted on counter 10 are in "
            "the container unhandled");
}

TEST_F(OraclePowerTest, PW4_SuspendAfterTheMessageWasHandledIsAccepted) {
  MessageIntoContainer();
  f.Fact(fact::ContainerHandled{K(kCounter), 0})
      .In(input::CounterChanged{K(kCounter), 0});
  Suspend();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("PW-4"), 0u);
}

TEST_F(OraclePowerTest, PW4_StayingSuspendedWhileCounterPositiveIsViolation) {
  f.At(1);
  Suspend();
  f.At(2).In(input::CounterChanged{K(kCounter), 1});
  f.At(3).In(input::HandleSignalled{K(kAlarm), kSignalNone});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-4: the container stayed suspended although wake source 'p' "
            "(10) is active (step of counter_changed #15 at 2.000000000s)");
}

// ---- PW-1 ----

TEST_F(OraclePowerTest, PW1_RemovalWithoutRemovedActionIsViolation) {
  const RequestId r = f.Request();
  f.At(1)
      .In(input::RemoveWakeSource{r, K(kAlarm)})
      .Out(action::Reply{r, absl::OkStatus(), {}});
  f.At(2).In(input::HandleSignalled{K(kAlarm), kSignalNone});
  EXPECT_EQ(ViolationMessage(oracle),
            "PW-1: remove_wake_source of registered source 30 emitted no "
            "wake_source_removed (step of remove_wake_source #12 at "
            "1.000000000s)");
}

}  // namespace
}  // namespace proctor::sim
