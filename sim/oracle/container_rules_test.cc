#include "sim/oracle/container_rules.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sim/oracle/oracle.h"
#include "sim/oracle/testing/feed.h"

namespace proctor::sim {
namespace {

using oracle_internal::HasDotDotComponent;
using oracle_testing::Ct;
using oracle_testing::Feed;
using oracle_testing::Sec;
using oracle_testing::ViolationMessage;
using oracle_testing::ViolationRule;

constexpr TimerId Grace(uint64_t container) {
  return TimerId{TimerKind::kStopGrace, container};
}

ContainerEvent Event(ContainerEvent::Kind kind) {
  ContainerEvent event;
  event.kind = kind;
  return event;
}
ContainerEvent ExitEvent(ExitStatus status) {
  ContainerEvent event;
  event.kind = ContainerEvent::Kind::kExit;
  event.exit = status;
  return event;
}
ContainerEvent Cgroup(uint64_t oom) {
  ContainerEvent event;
  event.kind = ContainerEvent::Kind::kCGroup;
  event.memory.oom = oom;
  return event;
}
action::EmitContainerEvent Emit(uint64_t id, ContainerEvent event) {
  return action::EmitContainerEvent{Ct(id), std::move(event)};
}

class OracleContainerTest : public ::testing::Test {
 protected:
  // Container 1 with two socket relays and ports 100..104.
  void Install(uint64_t id = 1) {
    ContainerSpec spec;
    spec.socket_relays = 2;
    spec.port_start = 100;
    spec.port_end = 104;
    const RequestId r = f.Request();
    f.In(input::InstallContainer{r, Ct(id), spec})
        .Out({Emit(id, Event(ContainerEvent::Kind::kInstalled)),
              action::Reply{r, absl::OkStatus(), {}}});
  }
  void Start(uint64_t id = 1) {
    const RequestId r = f.Request();
    f.In(input::StartContainer{r, Ct(id)})
        .Out(action::BootVm{Ct(id), 1})
        .In(input::VmBooted{Ct(id), std::nullopt})
        .Out(action::ConnectAgent{Ct(id), 1})
        .In(input::AgentConnected{Ct(id), std::nullopt})
        .Out({action::StartSocketRelay{Ct(id), 100},
              action::StartSocketRelay{Ct(id), 101},
              action::CreateProcess{Ct(id)}})
        .In(input::ProcessCreated{Ct(id), std::nullopt})
        .Out(action::StartProcess{Ct(id)})
        .In(input::ProcessStarted{Ct(id), std::nullopt})
        .Out({Emit(id, Event(ContainerEvent::Kind::kStarted)),
              action::Reply{r, absl::OkStatus(), StartupTiming{}}});
  }
  void Release(uint64_t id = 1) {
    f.Out({action::StopSocketRelays{Ct(id)}, action::DeleteProcess{Ct(id)},
           action::StopVm{Ct(id)}});
  }
  // A stop with `grace` at the current time.
  RequestId Stop(absl::Duration grace) {
    const RequestId r = f.Request();
    f.In(input::StopContainer{r, Ct(1), grace})
        .Out({action::SignalContainer{Ct(1), kSigTerm},
              action::ArmTimer{Grace(1), f.now() + grace},
              action::WaitProcess{Ct(1)}});
    return r;
  }
  // A copy_file of `path` whose transfer uses `port`.
  void Copy(const std::string& path, uint32_t port) {
    const RequestId r = f.Request();
    f.In(input::CopyFile{r, Ct(1), input::CopyDirection::kIn, path})
        .Out({action::StartTransfer{Ct(1), input::CopyDirection::kIn, port,
                                    "/run/proctor/containers/1/rootfs/" + path},
              action::Reply{r, absl::OkStatus(), std::string("/x")}});
  }

  Oracle oracle;
  Feed f{oracle};
};

// ---- CN-1 ----

TEST_F(OracleContainerTest, CN1_LifeInOrderIsAccepted) {
  Install();
  Start();
  f.In(input::CgroupMemory{Ct(1), MemoryEvent{}}).Out(Emit(1, Cgroup(0)));
  f.In(input::ContainerExited{Ct(1), ExitStatus::Exited(0)})
      .Out(Emit(1, ExitEvent(ExitStatus::Exited(0))));
  const RequestId wait = f.Request();
  f.In(input::WaitContainer{wait, Ct(1)});
  Release();
  f.Out(action::Reply{wait, absl::OkStatus(), ExitStatus::Exited(0)});
  const RequestId uninstall = f.Request();
  f.In(input::UninstallContainer{uninstall, Ct(1)})
      .Out({Emit(1, Event(ContainerEvent::Kind::kUninstalled)),
            action::Reply{uninstall, absl::OkStatus(), {}}})
      .Quiet()
      .End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("CN-1"), 0u);
  EXPECT_GT(oracle.stats().Checks("CN-2"), 0u);
  EXPECT_GT(oracle.stats().Checks("CN-3"), 0u);
}

TEST_F(OracleContainerTest, CN1_CgroupEventAfterExitIsViolation) {
  Install();
  Start();
  f.In(input::ContainerExited{Ct(1), ExitStatus::Exited(0)})
      .Out({Emit(1, ExitEvent(ExitStatus::Exited(0))), Emit(1, Cgroup(2))});
  EXPECT_EQ(ViolationRule(oracle), "CN-1");
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-1: container 1 kind=cgroup memory={low=none high=none max=none "
            "oom=2 oom_kill=none} while it is exited; expected installed, "
            "started, exit, uninstalled in that order");
}

TEST_F(OracleContainerTest, CN1_StartedBeforeInstalledIsViolation) {
  f.In(input::ProcessStarted{Ct(1), std::nullopt})
      .Out(Emit(1, Event(ContainerEvent::Kind::kStarted)));
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-1: container 1 kind=started while it is not installed; "
            "expected installed, started, exit, uninstalled in that order");
}

TEST_F(OracleContainerTest, CN1_InstalledWithoutRequestIsViolation) {
  f.In(input::ProcessStarted{Ct(1), std::nullopt})
      .Out(Emit(1, Event(ContainerEvent::Kind::kInstalled)));
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-1: container 1 kind=installed without an install_container "
            "for it");
}

TEST_F(OracleContainerTest, CN1_InstallWithoutEventIsViolation) {
  const RequestId r = f.Request();
  f.At(1)
      .In(input::InstallContainer{r, Ct(1), ContainerSpec{}})
      .Out(action::Reply{r, absl::OkStatus(), {}});
  f.At(2).Quiet();
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-1: install_container 1 answered OK but no installed event "
            "followed (step of install_container #1 at 1.000000000s)");
}

TEST_F(OracleContainerTest, CN1_SubscriberSeesTheSameEventsInOrder) {
  const RequestId sub = f.Request();
  f.In(input::SubscribeEvents{sub, SubscriberId{1}})
      .Out(action::Reply{sub, absl::OkStatus(), {}});
  Install();
  Start();
  EventBatch first;
  first.events = {{Ct(1), Event(ContainerEvent::Kind::kInstalled)}};
  EventBatch rest;
  rest.events = {{Ct(1), Event(ContainerEvent::Kind::kStarted)}};
  const RequestId poll = f.Request();
  f.In(input::PollEvents{poll, SubscriberId{1}, 1})
      .Out(action::Reply{poll, absl::OkStatus(), first});
  const RequestId poll2 = f.Request();
  f.In(input::PollEvents{poll2, SubscriberId{1}, 8})
      .Out(action::Reply{poll2, absl::OkStatus(), rest});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleContainerTest, CN1_MissedEventsAreSkipped) {
  const RequestId sub = f.Request();
  f.In(input::SubscribeEvents{sub, SubscriberId{1}})
      .Out(action::Reply{sub, absl::OkStatus(), {}});
  Install();
  Start();
  EventBatch batch;
  batch.events = {{Ct(1), Event(ContainerEvent::Kind::kStarted)}};
  batch.missed = 1;
  const RequestId poll = f.Request();
  f.In(input::PollEvents{poll, SubscriberId{1}, 8})
      .Out(action::Reply{poll, absl::OkStatus(), batch});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleContainerTest, CN1_SubscriberSeesAnotherOrderIsViolation) {
  const RequestId sub = f.Request();
  f.In(input::SubscribeEvents{sub, SubscriberId{1}})
      .Out(action::Reply{sub, absl::OkStatus(), {}});
  Install();
  Start();
  EventBatch batch;
  batch.events = {{Ct(1), Event(ContainerEvent::Kind::kStarted)},
                  {Ct(1), Event(ContainerEvent::Kind::kInstalled)}};
  const RequestId poll = f.Request();
  f.In(input::PollEvents{poll, SubscriberId{1}, 8})
      .Out(action::Reply{poll, absl::OkStatus(), batch});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-1: subscriber 1 got container 1 kind=started as event 1, "
            "expected container 1 kind=installed");
}

TEST_F(OracleContainerTest, CN1_ShortPollWithEventsLeftIsViolation) {
  const RequestId sub = f.Request();
  f.In(input::SubscribeEvents{sub, SubscriberId{1}})
      .Out(action::Reply{sub, absl::OkStatus(), {}});
  Install();
  Start();
  EventBatch batch;
  batch.events = {{Ct(1), Event(ContainerEvent::Kind::kInstalled)}};
  const RequestId poll = f.Request();
  f.In(input::PollEvents{poll, SubscriberId{1}, 8})
      .Out(action::Reply{poll, absl::OkStatus(), batch});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-1: a poll of subscriber 1 returned 1 of up to 8 events while 1 "
            "published events were still unseen");
}

TEST_F(OracleContainerTest, CN1_StartedContainerWithoutExitAtEndIsViolation) {
  f.At(1);
  Install();
  Start();
  f.At(100).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-1: container 1 started at 1.000000000s but never got its exit "
            "event");
}

// ---- CN-2 ----

TEST_F(OracleContainerTest, CN2_ExitEventWithAnotherStatusIsViolation) {
  Install();
  Start();
  f.At(2)
      .In(input::ContainerExited{Ct(1), ExitStatus::Exited(7)})
      .Out(Emit(1, ExitEvent(ExitStatus::Exited(0))));
  EXPECT_EQ(ViolationRule(oracle), "CN-2");
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-2: container 1 kind=exit status=Exit(0) but its "
            "container_exited at 2.000000000s said Exit(7)");
}

TEST_F(OracleContainerTest, CN2_ExitEventWithoutContainerExitedIsViolation) {
  Install();
  Start();
  f.In(input::CgroupMemory{Ct(1), MemoryEvent{}})
      .Out(Emit(1, ExitEvent(ExitStatus::Exited(0))));
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-2: container 1 kind=exit status=Exit(0) but the world reported "
            "no container_exited for this run");
}

TEST_F(OracleContainerTest, CN2_ExitThatOvertookProcessStartedIsAccepted) {
  Install();
  const RequestId r = f.Request();
  f.In(input::StartContainer{r, Ct(1)})
      .Out(action::BootVm{Ct(1), 1})
      .In(input::VmBooted{Ct(1), std::nullopt})
      .Out(action::ConnectAgent{Ct(1), 1})
      .In(input::AgentConnected{Ct(1), std::nullopt})
      .Out({action::StartSocketRelay{Ct(1), 100},
            action::StartSocketRelay{Ct(1), 101}, action::CreateProcess{Ct(1)}})
      .In(input::ProcessCreated{Ct(1), std::nullopt})
      .Out(action::StartProcess{Ct(1)})
      .In(input::ContainerExited{Ct(1), ExitStatus::Exited(3)})
      .In(input::ProcessStarted{Ct(1), std::nullopt})
      .Out({Emit(1, Event(ContainerEvent::Kind::kStarted)),
            action::Reply{r, absl::OkStatus(), StartupTiming{}},
            Emit(1, ExitEvent(ExitStatus::Exited(3)))})
      .Quiet()
      .End();
  EXPECT_EQ(ViolationMessage(oracle), "");
}

// ---- CN-3 ----

TEST_F(OracleContainerTest, CN3_WaitAnsweredWithAnotherStatusIsViolation) {
  Install();
  Start();
  const RequestId wait = f.Request();
  f.At(1)
      .In(input::WaitContainer{wait, Ct(1)})
      .Out(action::WaitProcess{Ct(1)})
      .At(2)
      .In(input::ContainerExited{Ct(1), ExitStatus::Signalled(kSigTerm)})
      .Out(Emit(1, ExitEvent(ExitStatus::Signalled(kSigTerm))));
  Release();
  f.Out(action::Reply{wait, absl::OkStatus(), ExitStatus::Exited(0)});
  EXPECT_EQ(ViolationRule(oracle), "CN-3");
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-3: wait request 3 for container 1 answered Exit(0), but its "
            "container_exited at 2.000000000s said Signalled(SIGTERM)");
}

TEST_F(OracleContainerTest, CN3_WaitAnsweredBeforeTheExitIsViolation) {
  Install();
  Start();
  const RequestId wait = f.Request();
  f.In(input::WaitContainer{wait, Ct(1)})
      .Out(action::Reply{wait, absl::OkStatus(), ExitStatus::Exited(0)});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-3: wait request 3 for container 1 answered OK before the "
            "container exited");
}

TEST_F(OracleContainerTest, CN3_AskingTheGuestTwiceIsViolation) {
  Install();
  Start();
  f.In(input::WaitContainer{f.Request(), Ct(1)})
      .Out(action::WaitProcess{Ct(1)})
      .In(input::WaitContainer{f.Request(), Ct(1)})
      .Out(action::WaitProcess{Ct(1)});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-3: wait_process for container 1 twice in one run");
}

TEST_F(OracleContainerTest, CN3_CleanupTwiceIsViolation) {
  Install();
  Start();
  f.In(input::ContainerExited{Ct(1), ExitStatus::Exited(0)})
      .Out(Emit(1, ExitEvent(ExitStatus::Exited(0))));
  const RequestId wait = f.Request();
  f.In(input::WaitContainer{wait, Ct(1)});
  Release();
  f.Out(action::Reply{wait, absl::OkStatus(), ExitStatus::Exited(0)});
  const RequestId again = f.Request();
  f.In(input::WaitContainer{again, Ct(1)}).Out(action::StopSocketRelays{Ct(1)});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-3: stop_socket_relays for container 1 twice in one run");
}

TEST_F(OracleContainerTest, CN3_WaitNotAnsweredAtTheExitIsViolation) {
  Install();
  Start();
  const RequestId wait = f.Request();
  f.In(input::WaitContainer{wait, Ct(1)})
      .Out(action::WaitProcess{Ct(1)})
      .At(2)
      .In(input::ContainerExited{Ct(1), ExitStatus::Exited(0)})
      .Out(Emit(1, ExitEvent(ExitStatus::Exited(0))))
      .At(3)
      .Quiet();
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-3: container 1 exited at 2.000000000s but 0 stops and 1 waits "
            "for it were not answered at once (step of container_exited #19 "
            "at 2.000000000s)");
}

TEST_F(OracleContainerTest, CN3_WaitAfterTheExitNotAnsweredAtOnceIsViolation) {
  Install();
  Start();
  f.In(input::ContainerExited{Ct(1), ExitStatus::Exited(0)})
      .Out(Emit(1, ExitEvent(ExitStatus::Exited(0))));
  const RequestId wait = f.Request();
  f.At(1).In(input::WaitContainer{wait, Ct(1)});
  f.At(2).Quiet();
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-3: wait request 3 for container 1, whose exit is known, was "
            "not answered at once with it (step of wait_container #19 at "
            "1.000000000s)");
}

// ---- CN-4 ----

TEST_F(OracleContainerTest, CN4_StopAnsweredWhenTheContainerExits) {
  Install();
  Start();
  f.At(1);
  const RequestId stop = Stop(absl::Seconds(5));
  f.At(1.005)
      .In(input::ContainerExited{Ct(1), ExitStatus::Signalled(kSigTerm)})
      .Out({Emit(1, ExitEvent(ExitStatus::Signalled(kSigTerm))),
            action::CancelTimer{Grace(1)}});
  Release();
  f.Out(action::Reply{stop, absl::OkStatus(), ExitStatus::Signalled(kSigTerm)});
  f.At(6).In(input::TimerFired{Grace(1)}).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("CN-4"), 0u);
}

TEST_F(OracleContainerTest, CN4_StopWaitingForTheWholeGraceIsViolation) {
  Install();
  Start();
  f.At(1);
  const RequestId stop = Stop(absl::Seconds(5));
  f.At(1.005)
      .In(input::ContainerExited{Ct(1), ExitStatus::Signalled(kSigTerm)})
      .Out(Emit(1, ExitEvent(ExitStatus::Signalled(kSigTerm))));
  f.At(6).In(input::TimerFired{Grace(1)});
  Release();
  f.Out(action::Reply{stop, absl::OkStatus(), ExitStatus::Signalled(kSigTerm)});
  EXPECT_EQ(ViolationRule(oracle), "CN-4");
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-4: container 1 exited at 1.005000000s but 1 stops and 0 waits "
            "for it were not answered at once (step of container_exited #21 "
            "at 1.005000000s)");
}

TEST_F(OracleContainerTest, CN4_ShutdownStopDelayingAWaitIsViolation) {
  Install();
  Start();
  const RequestId wait = f.Request();
  f.In(input::WaitContainer{wait, Ct(1)}).Out(action::WaitProcess{Ct(1)});
  const RequestId shutdown = f.Request();
  f.At(1)
      .In(input::Shutdown{shutdown})
      .Out({action::SignalContainer{Ct(1), kSigTerm},
            action::ArmTimer{Grace(1), Sec(11)}});
  f.At(1.005)
      .In(input::ContainerExited{Ct(1), ExitStatus::Signalled(kSigTerm)})
      .Out(Emit(1, ExitEvent(ExitStatus::Signalled(kSigTerm))));
  f.At(11).In(input::TimerFired{Grace(1)});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-4: container 1 exited at 1.005000000s but 0 stops and 1 waits "
            "for it were not answered at once (step of container_exited #22 "
            "at 1.005000000s)");
}

TEST_F(OracleContainerTest, CN4_SigkillAtTheEndOfTheGraceIsAccepted) {
  Install();
  Start();
  f.At(1);
  const RequestId stop = Stop(absl::Seconds(5));
  f.At(6)
      .In(input::TimerFired{Grace(1)})
      .Out(action::SignalContainer{Ct(1), kSigKill})
      .In(input::ContainerExited{Ct(1), ExitStatus::Signalled(kSigKill)})
      .Out(Emit(1, ExitEvent(ExitStatus::Signalled(kSigKill))));
  Release();
  f.Out(action::Reply{stop, absl::OkStatus(), ExitStatus::Signalled(kSigKill)});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleContainerTest, CN4_SigkillBeforeTheEndOfTheGraceIsViolation) {
  Install();
  Start();
  f.At(1);
  Stop(absl::Seconds(5));
  f.At(3)
      .In(input::TimerFired{Grace(1)})
      .Out(action::SignalContainer{Ct(1), kSigKill});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-4: SIGKILL to container 1 at 3.000000000s but its grace ends "
            "at 6.000000000s (stop began at 1.000000000s)");
}

TEST_F(OracleContainerTest, CN4_SigkillAfterTheExitIsViolation) {
  Install();
  Start();
  f.At(1);
  Stop(absl::Seconds(5));
  f.At(2)
      .In(input::ContainerExited{Ct(1), ExitStatus::Exited(0)})
      .Out(action::SignalContainer{Ct(1), kSigKill});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-4: SIGKILL to container 1 at 2.000000000s after it exited at "
            "2.000000000s");
}

TEST_F(OracleContainerTest, CN4_SigkillWithoutStopIsViolation) {
  Install();
  Start();
  f.In(input::TimerFired{Grace(1)})
      .Out(action::SignalContainer{Ct(1), kSigKill});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-4: SIGKILL to container 1 at 0.000000000s without a stop whose "
            "grace ran out");
}

TEST_F(OracleContainerTest, CN4_SigkillAskedByTheClientIsAccepted) {
  Install();
  Start();
  const RequestId kill = f.Request();
  f.In(input::KillContainer{kill, Ct(1), kSigKill})
      .Out({action::SignalContainer{Ct(1), kSigKill},
            action::Reply{kill, absl::OkStatus(), {}}});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

TEST_F(OracleContainerTest, CN4_MissedSigkillIsViolation) {
  Install();
  Start();
  f.At(1);
  Stop(absl::Seconds(5));
  f.At(7).In(input::CgroupMemory{Ct(1), MemoryEvent{}});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-4: container 1 was still running at the end of its grace "
            "6.000000000s (stop began at 1.000000000s), expected SIGKILL then; "
            "none by 7.000000000s");
}

// ---- CN-7 ----

TEST_F(OracleContainerTest, CN7_PortsIncreaseWithinTheRange) {
  Install();
  Start();
  Copy("a", 102);
  Copy("b", 104);
  const RequestId r = f.Request();
  f.In(input::CopyFile{r, Ct(1), input::CopyDirection::kIn, "c"})
      .Out(action::Reply{
          r, absl::ResourceExhaustedError("CN-7: port range exhausted"), {}});
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("CN-7"), 0u);
}

TEST_F(OracleContainerTest, CN7_ReusedPortIsViolation) {
  Install();
  Start();
  Copy("a", 100);
  EXPECT_EQ(ViolationRule(oracle), "CN-7");
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-7: start_transfer for container 1 on port 100 after port 101: "
            "ports must increase and never be reused");
}

TEST_F(OracleContainerTest, CN7_PortOutsideTheRangeIsViolation) {
  Install();
  Start();
  Copy("a", 105);
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-7: start_transfer for container 1 on port 105, outside its "
            "range [100, 104]");
}

TEST_F(OracleContainerTest, CN7_ExhaustedWithPortsLeftIsViolation) {
  Install();
  Start();
  const RequestId r = f.Request();
  f.In(input::CopyFile{r, Ct(1), input::CopyDirection::kIn, "c"})
      .Out(action::Reply{
          r, absl::ResourceExhaustedError("CN-7: port range exhausted"), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-7: copy_file of container 1 refused as 'port range exhausted' "
            "with 3 ports of [100, 104] left (needs 1)");
}

TEST_F(OracleContainerTest, CN7_StartThatNeedsMorePortsThanLeftIsAccepted) {
  ContainerSpec spec;
  spec.socket_relays = 3;
  spec.port_start = 100;
  spec.port_end = 101;
  const RequestId install = f.Request();
  f.In(input::InstallContainer{install, Ct(1), spec})
      .Out({Emit(1, Event(ContainerEvent::Kind::kInstalled)),
            action::Reply{install, absl::OkStatus(), {}}});
  const RequestId r = f.Request();
  f.In(input::StartContainer{r, Ct(1)})
      .Out(action::BootVm{Ct(1), 1})
      .In(input::VmBooted{Ct(1), std::nullopt})
      .Out(action::ConnectAgent{Ct(1), 1})
      .In(input::AgentConnected{Ct(1), std::nullopt})
      .Out({action::StopVm{Ct(1)},
            action::Reply{
                r,
                absl::ResourceExhaustedError("CN-7: port range exhausted"),
                {}}});
  EXPECT_EQ(ViolationMessage(oracle), "");
}

// ---- CN-8 ----

TEST(OracleGuestPathTest, CN8_DotDotComponents) {
  EXPECT_TRUE(HasDotDotComponent(".."));
  EXPECT_TRUE(HasDotDotComponent("/a/../b"));
  EXPECT_TRUE(HasDotDotComponent("//../etc"));
  EXPECT_TRUE(HasDotDotComponent("a/.."));
  EXPECT_FALSE(HasDotDotComponent("a/..b/c"));
  EXPECT_FALSE(HasDotDotComponent("..."));
  EXPECT_FALSE(HasDotDotComponent(""));
  EXPECT_FALSE(HasDotDotComponent("/a/./b"));
}

TEST_F(OracleContainerTest, CN8_DotDotRefusedIsAccepted) {
  Install();
  Start();
  const RequestId r = f.Request();
  f.In(input::CopyFile{r, Ct(1), input::CopyDirection::kOut, "/a/../../etc"})
      .Out(action::Reply{r, absl::InvalidArgumentError("CN-8: escapes"), {}});
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("CN-8"), 0u);
}

TEST_F(OracleContainerTest, CN8_TransferForDotDotPathIsViolation) {
  Install();
  Start();
  Copy("../etc/passwd", 102);
  EXPECT_EQ(ViolationRule(oracle), "CN-8");
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-8: start_transfer for container 1 for a copy_file whose guest "
            "path has a '..' component");
}

TEST_F(OracleContainerTest, CN8_DotDotAcceptedIsViolation) {
  Install();
  Start();
  const RequestId r = f.Request();
  f.In(input::CopyFile{r, Ct(1), input::CopyDirection::kIn, "a/.."})
      .Out(action::Reply{r, absl::OkStatus(), std::string("/x")});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-8: copy_file for container 1 with a '..' component in its "
            "guest path was accepted");
}

TEST_F(OracleContainerTest, CN8_TransferPathWithDotDotIsViolation) {
  Install();
  Start();
  const RequestId r = f.Request();
  f.In(input::CopyFile{r, Ct(1), input::CopyDirection::kIn, "a"})
      .Out(action::StartTransfer{Ct(1), input::CopyDirection::kIn, 102,
                                 "/run/../a"});
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-8: start_transfer for container 1 with path \"/run/../a\", "
            "which has a '..' component");
}

TEST_F(OracleContainerTest, CN8_DotDotNotRefusedAtOnceIsViolation) {
  Install();
  Start();
  const RequestId r = f.Request();
  f.At(1).In(input::CopyFile{r, Ct(1), input::CopyDirection::kIn, ".."});
  f.At(2).Quiet();
  EXPECT_EQ(ViolationMessage(oracle),
            "CN-8: copy_file for container 1 with a '..' component in its "
            "guest path was not refused at once (step of copy_file #17 at "
            "1.000000000s)");
}

}  // namespace
}  // namespace proctor::sim
