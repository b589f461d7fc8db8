#include "runtime/container/container_manager.h"

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/container/guest_path.h"
#include "runtime/model/describe.h"
#include "runtime/model/testing/action_matchers.h"

namespace proctor {
namespace {

using ::proctor::action_testing::OfType;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr ContainerId kId{7};

Instant Ms(int64_t ms) { return Instant{} + absl::Milliseconds(ms); }

ContainerSpec Spec(uint32_t relays, uint32_t port_start = 5000,
                   uint32_t port_end = 5999, bool owns_vm = true) {
  ContainerSpec spec;
  spec.socket_relays = relays;
  spec.port_start = port_start;
  spec.port_end = port_end;
  spec.owns_vm = owns_vm;
  return spec;
}

// Each helper feeds one input to the manager and returns the actions it
// produced, one line each (runtime/model/describe.h); `last_` keeps them
// for typed checks.
class ContainerManagerTest : public ::testing::Test {
 protected:
  explicit ContainerManagerTest(ContainerManager manager = ContainerManager())
      : manager_(std::move(manager)) {}

  using Lines = std::vector<std::string>;

  Lines Install(ContainerSpec spec = {}, ContainerId id = kId,
                uint64_t request = 1, Instant now = Ms(0)) {
    last_.clear();
    manager_.OnInstallContainer(
        now, input::InstallContainer{RequestId{request}, id, spec}, last_);
    return DescribeActions(last_);
  }
  Lines Uninstall(Instant now, uint64_t request, ContainerId id = kId) {
    last_.clear();
    manager_.OnUninstallContainer(
        now, input::UninstallContainer{RequestId{request}, id}, last_);
    return DescribeActions(last_);
  }
  Lines Start(Instant now, uint64_t request = 2, ContainerId id = kId) {
    last_.clear();
    manager_.OnStartContainer(
        now, input::StartContainer{RequestId{request}, id}, last_);
    return DescribeActions(last_);
  }
  Lines VmBooted(Instant now, std::optional<std::string> error = std::nullopt,
                 ContainerId id = kId) {
    last_.clear();
    manager_.OnVmBooted(now, input::VmBooted{id, std::move(error)}, last_);
    return DescribeActions(last_);
  }
  Lines AgentConnected(Instant now,
                       std::optional<std::string> error = std::nullopt,
                       ContainerId id = kId) {
    last_.clear();
    manager_.OnAgentConnected(now, input::AgentConnected{id, std::move(error)},
                              last_);
    return DescribeActions(last_);
  }
  Lines ProcessCreated(Instant now,
                       std::optional<std::string> error = std::nullopt,
                       ContainerId id = kId) {
    last_.clear();
    manager_.OnProcessCreated(now, input::ProcessCreated{id, std::move(error)},
                              last_);
    return DescribeActions(last_);
  }
  Lines ProcessStarted(Instant now,
                       std::optional<std::string> error = std::nullopt,
                       ContainerId id = kId) {
    last_.clear();
    manager_.OnProcessStarted(now, input::ProcessStarted{id, std::move(error)},
                              last_);
    return DescribeActions(last_);
  }
  Lines Exited(Instant now, ExitStatus status, ContainerId id = kId) {
    last_.clear();
    manager_.OnContainerExited(now, input::ContainerExited{id, status}, last_);
    return DescribeActions(last_);
  }
  Lines Cgroup(Instant now, MemoryEvent event, ContainerId id = kId) {
    last_.clear();
    manager_.OnCgroupMemory(now, input::CgroupMemory{id, event}, last_);
    return DescribeActions(last_);
  }
  Lines Wait(Instant now, uint64_t request, ContainerId id = kId) {
    last_.clear();
    manager_.OnWaitContainer(now, input::WaitContainer{RequestId{request}, id},
                             last_);
    return DescribeActions(last_);
  }
  Lines Stop(Instant now, uint64_t request,
             std::optional<absl::Duration> grace = std::nullopt,
             ContainerId id = kId) {
    last_.clear();
    manager_.OnStopContainer(
        now, input::StopContainer{RequestId{request}, id, grace}, last_);
    return DescribeActions(last_);
  }
  Lines Kill(Instant now, uint64_t request, int signal, ContainerId id = kId) {
    last_.clear();
    manager_.OnKillContainer(
        now, input::KillContainer{RequestId{request}, id, signal}, last_);
    return DescribeActions(last_);
  }
  Lines Copy(Instant now, uint64_t request, std::string path,
             input::CopyDirection direction = input::CopyDirection::kIn,
             ContainerId id = kId) {
    last_.clear();
    manager_.OnCopyFile(
        now,
        input::CopyFile{RequestId{request}, id, direction, std::move(path)},
        last_);
    return DescribeActions(last_);
  }
  Lines Attach(Instant now, uint64_t request, uint32_t slot,
               ContainerId id = kId) {
    last_.clear();
    manager_.OnAttachBlockDevice(
        now, input::AttachBlockDevice{RequestId{request}, id, slot}, last_);
    return DescribeActions(last_);
  }
  Lines Fire(Instant now, TimerKind kind, ContainerId id = kId) {
    last_.clear();
    manager_.OnTimerFired(now, input::TimerFired{TimerId{kind, id.value}},
                          last_);
    return DescribeActions(last_);
  }
  Lines Subscribe(uint64_t request, uint64_t subscriber) {
    last_.clear();
    manager_.OnSubscribeEvents(
        Ms(0),
        input::SubscribeEvents{RequestId{request}, SubscriberId{subscriber}},
        last_);
    return DescribeActions(last_);
  }
  Lines Unsubscribe(uint64_t request, uint64_t subscriber) {
    last_.clear();
    manager_.OnUnsubscribeEvents(
        Ms(0),
        input::UnsubscribeEvents{RequestId{request}, SubscriberId{subscriber}},
        last_);
    return DescribeActions(last_);
  }
  // The batch of a successful poll.
  EventBatch Poll(uint64_t subscriber, uint32_t max_events = 64) {
    last_.clear();
    manager_.OnPollEvents(
        Ms(0),
        input::PollEvents{RequestId{99}, SubscriberId{subscriber}, max_events},
        last_);
    const auto& reply = std::get<action::Reply>(last_.at(0));
    EXPECT_TRUE(reply.status.ok()) << reply.status;
    return std::get<EventBatch>(reply.value);
  }
  Lines StopAll(Instant now) {
    last_.clear();
    manager_.StopAll(now, last_);
    return DescribeActions(last_);
  }

  // Installs (if needed) and runs the whole start sequence at `at`.
  void RunAt(Instant at, ContainerId id = kId, ContainerSpec spec = {}) {
    if (manager_.Find(id) == nullptr) Install(spec, id, 1000 + id.value, at);
    Start(at, 2000 + id.value, id);
    if (spec.owns_vm) VmBooted(at, std::nullopt, id);
    AgentConnected(at, std::nullopt, id);
    ProcessCreated(at, std::nullopt, id);
    ProcessStarted(at, std::nullopt, id);
    ASSERT_EQ(State(id), ContainerState::kRunning);
  }

  std::optional<ContainerState> State(ContainerId id = kId) const {
    const ContainerInstance* c = manager_.Find(id);
    if (c == nullptr) return std::nullopt;
    return c->state();
  }

  const action::Reply& OnlyReply() const {
    const std::vector<action::Reply> replies = OfType<action::Reply>(last_);
    EXPECT_EQ(replies.size(), 1u);
    return std::get<action::Reply>(last_.back());
  }

  ContainerManager manager_;
  ActionList last_;
};

// ---- CN-1: events ----

TEST_F(ContainerManagerTest, CN1_EventsInOrder) {
  ASSERT_THAT(Subscribe(50, 1), ElementsAre("reply request=50 status=OK"));
  EXPECT_THAT(Install(Spec(1)),
              ElementsAre("container_event container=7 kind=installed",
                          "reply request=1 status=OK"));
  EXPECT_THAT(Start(Ms(10)), ElementsAre("boot_vm container=7 attempt=1"));
  EXPECT_THAT(VmBooted(Ms(20)),
              ElementsAre("connect_agent container=7 attempt=1"));
  EXPECT_THAT(AgentConnected(Ms(30)),
              ElementsAre("start_socket_relay container=7 port=5000",
                          "create_process container=7"));
  EXPECT_THAT(ProcessCreated(Ms(40)), ElementsAre("start_process container=7"));
  EXPECT_THAT(
      ProcessStarted(Ms(50)),
      ElementsAre("container_event container=7 kind=started",
                  "reply request=2 status=OK value={vm_boot=10ms spec_build=0 "
                  "agent_connect=10ms socket_relays=0 stdio_prepare=0 "
                  "config_write=0 request_encode=0 create_process=10ms "
                  "start_gate_wait=0 start_process=10ms total=40ms}"));
  MemoryEvent memory;
  memory.high = 2;
  memory.oom = 1;
  EXPECT_THAT(
      Cgroup(Ms(55), memory),
      ElementsAre("container_event container=7 kind=cgroup memory={low=none "
                  "high=2 max=none oom=1 oom_kill=none}"));
  EXPECT_THAT(
      Exited(Ms(60), ExitStatus::Exited(0)),
      ElementsAre("container_event container=7 kind=exit status=Exit(0)"));
  EXPECT_THAT(Uninstall(Ms(70), 3),
              ElementsAre("stop_socket_relays container=7",
                          "delete_process container=7", "stop_vm container=7",
                          "container_event container=7 kind=uninstalled",
                          "reply request=3 status=OK"));

  // The bus carries exactly the events the actions announced, in order.
  const EventBatch batch = Poll(1);
  EXPECT_EQ(batch.missed, 0u);
  std::vector<std::string> seen;
  for (const auto& [id, event] : batch.events) {
    seen.push_back(absl::StrCat("container=", id.value, " ",
                                DescribeContainerEvent(event)));
  }
  EXPECT_THAT(seen, ElementsAre("container=7 kind=installed",
                                "container=7 kind=started",
                                "container=7 kind=cgroup memory={low=none "
                                "high=2 max=none oom=1 oom_kill=none}",
                                "container=7 kind=exit status=Exit(0)",
                                "container=7 kind=uninstalled"));
}

TEST_F(ContainerManagerTest, CN1_EverySubscriberSeesTheSameOrder) {
  Subscribe(50, 1);
  Subscribe(51, 2);
  Install({}, ContainerId{1});
  Install({}, ContainerId{2});
  RunAt(Ms(5), ContainerId{2});
  Exited(Ms(6), ExitStatus::Exited(4), ContainerId{2});
  const EventBatch first = Poll(1);
  const EventBatch second = Poll(2);
  EXPECT_EQ(first, second);
  ASSERT_EQ(first.events.size(), 4u);
  EXPECT_EQ(first.events[0].first, ContainerId{1});
  EXPECT_EQ(first.events[3].second.exit, ExitStatus::Exited(4));
}

TEST_F(ContainerManagerTest, CN1_CgroupEventsOnlyWhileRunning) {
  MemoryEvent memory;
  memory.oom_kill = 3;
  Install();
  EXPECT_THAT(Cgroup(Ms(1), memory), IsEmpty());
  Start(Ms(2));
  EXPECT_THAT(Cgroup(Ms(3), memory), IsEmpty());
  VmBooted(Ms(3));
  AgentConnected(Ms(3));
  ProcessCreated(Ms(3));
  ProcessStarted(Ms(3));
  EXPECT_THAT(
      Cgroup(Ms(4), memory),
      ElementsAre("container_event container=7 kind=cgroup memory={low=none "
                  "high=none max=none oom=none oom_kill=3}"));
  EXPECT_EQ(std::get<action::EmitContainerEvent>(last_[0]).event.memory,
            memory);
  Exited(Ms(5), ExitStatus::Exited(0));
  EXPECT_THAT(Cgroup(Ms(6), memory), IsEmpty());
}

TEST_F(ContainerManagerTest, CN1_SlowSubscriberLagsAndIsToldHowMany) {
  ContainerManager small(IsTransientVmnetBootError, /*subscriber_capacity=*/2);
  manager_ = std::move(small);
  Subscribe(50, 1);
  for (uint64_t id = 1; id <= 5; ++id) Install({}, ContainerId{id});
  // Installs never wait for the subscriber; it lost the 3 oldest.
  const EventBatch batch = Poll(1);
  EXPECT_EQ(batch.missed, 3u);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].first, ContainerId{4});
  EXPECT_EQ(batch.events[1].first, ContainerId{5});
  EXPECT_EQ(Poll(1).missed, 0u);
}

TEST_F(ContainerManagerTest, CN1_EventSubscriptionErrors) {
  EXPECT_THAT(Subscribe(50, 1), ElementsAre("reply request=50 status=OK"));
  EXPECT_THAT(
      Subscribe(51, 1),
      ElementsAre(
          "reply request=51 status=ALREADY_EXISTS: CN-1: subscriber 1 is "
          "already subscribed"));
  last_.clear();
  manager_.OnPollEvents(
      Ms(0), input::PollEvents{RequestId{52}, SubscriberId{9}}, last_);
  EXPECT_THAT(
      DescribeActions(last_),
      ElementsAre("reply request=52 status=NOT_FOUND: CN-1: no subscriber 9"));
  EXPECT_THAT(
      Unsubscribe(53, 9),
      ElementsAre("reply request=53 status=NOT_FOUND: CN-1: no subscriber 9"));
  EXPECT_THAT(Unsubscribe(54, 1), ElementsAre("reply request=54 status=OK"));
  for (uint64_t s = 100; s < 100 + ContainerEventBus::kMaxSubscribers; ++s) {
    ASSERT_THAT(Subscribe(55, s), ElementsAre("reply request=55 status=OK"));
  }
  EXPECT_THAT(
      Subscribe(56, 1),
      ElementsAre("reply request=56 status=RESOURCE_EXHAUSTED: CN-1: too many "
                  "subscribers (max 64)"));
}

TEST_F(ContainerManagerTest, CN1_InstallErrors) {
  Install();
  EXPECT_THAT(
      Install({}, kId, 3),
      ElementsAre(
          "reply request=3 status=ALREADY_EXISTS: container 7 is already "
          "installed"));
  EXPECT_THAT(
      Install(Spec(65), ContainerId{8}, 4),
      ElementsAre(
          "reply request=4 status=INVALID_ARGUMENT: container spec asks for "
          "65 socket relays (max 64)"));
  EXPECT_THAT(
      Install(Spec(0, 10, 5), ContainerId{8}, 5),
      ElementsAre(
          "reply request=5 status=INVALID_ARGUMENT: CN-7: port range 10..5 "
          "is empty"));
  EXPECT_EQ(manager_.container_count(), 1u);
}

TEST_F(ContainerManagerTest, CN1_InstalledContainersAreBounded) {
  for (uint64_t id = 0; id < ContainerManager::kMaxContainers; ++id) {
    ASSERT_THAT(Install({}, ContainerId{id}, 1),
                ElementsAre(absl::StrCat("container_event container=", id,
                                         " kind=installed"),
                            "reply request=1 status=OK"));
  }
  EXPECT_THAT(
      Install({}, ContainerId{1000}, 2),
      ElementsAre(
          "reply request=2 status=RESOURCE_EXHAUSTED: too many containers "
          "(max 256)"));
  Uninstall(Ms(1), 3, ContainerId{0});
  EXPECT_THAT(Install({}, ContainerId{1000}, 4),
              ElementsAre("container_event container=1000 kind=installed",
                          "reply request=4 status=OK"));
}

TEST_F(ContainerManagerTest, CN1_UninstallOnlyWhenNotRunning) {
  Install();
  Start(Ms(1));
  EXPECT_THAT(
      Uninstall(Ms(2), 3),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: container 7 cannot be "
          "uninstalled while starting"));
  VmBooted(Ms(2));
  AgentConnected(Ms(2));
  ProcessCreated(Ms(2));
  ProcessStarted(Ms(2));
  EXPECT_THAT(
      Uninstall(Ms(3), 4),
      ElementsAre(
          "reply request=4 status=FAILED_PRECONDITION: container 7 cannot be "
          "uninstalled while running"));
  EXPECT_EQ(State(), ContainerState::kRunning);
}

TEST_F(ContainerManagerTest, CN1_UninstallNeverStartedContainer) {
  Install();
  EXPECT_THAT(Uninstall(Ms(1), 3),
              ElementsAre("container_event container=7 kind=uninstalled",
                          "reply request=3 status=OK"));
  EXPECT_EQ(State(), std::nullopt);
  // The id is free again.
  EXPECT_THAT(Install({}, kId, 4),
              ElementsAre("container_event container=7 kind=installed",
                          "reply request=4 status=OK"));
}

TEST_F(ContainerManagerTest, CN1_UnknownContainerRequestsAreNotFound) {
  const std::string not_found = "NOT_FOUND: no container 9";
  const ContainerId unknown{9};
  EXPECT_THAT(Start(Ms(0), 1, unknown),
              ElementsAre("reply request=1 status=" + not_found));
  EXPECT_THAT(Wait(Ms(0), 2, unknown),
              ElementsAre("reply request=2 status=" + not_found));
  EXPECT_THAT(Stop(Ms(0), 3, std::nullopt, unknown),
              ElementsAre("reply request=3 status=" + not_found));
  EXPECT_THAT(Kill(Ms(0), 4, kSigKill, unknown),
              ElementsAre("reply request=4 status=" + not_found));
  EXPECT_THAT(Copy(Ms(0), 5, "/etc", input::CopyDirection::kIn, unknown),
              ElementsAre("reply request=5 status=" + not_found));
  EXPECT_THAT(Attach(Ms(0), 6, 1, unknown),
              ElementsAre("reply request=6 status=" + not_found));
  EXPECT_THAT(Uninstall(Ms(0), 7, unknown),
              ElementsAre("reply request=7 status=" + not_found));
}

TEST_F(ContainerManagerTest, CN1_WorldInputsForUnknownContainersAreIgnored) {
  const ContainerId unknown{9};
  EXPECT_THAT(VmBooted(Ms(0), std::nullopt, unknown), IsEmpty());
  EXPECT_THAT(AgentConnected(Ms(0), std::nullopt, unknown), IsEmpty());
  EXPECT_THAT(ProcessCreated(Ms(0), std::nullopt, unknown), IsEmpty());
  EXPECT_THAT(ProcessStarted(Ms(0), std::nullopt, unknown), IsEmpty());
  EXPECT_THAT(Exited(Ms(0), ExitStatus::Exited(1), unknown), IsEmpty());
  EXPECT_THAT(Cgroup(Ms(0), MemoryEvent{}, unknown), IsEmpty());
  EXPECT_THAT(Fire(Ms(0), TimerKind::kStopGrace, unknown), IsEmpty());
  EXPECT_THAT(Fire(Ms(0), TimerKind::kHangup, kId), IsEmpty());
}

TEST_F(ContainerManagerTest, CN1_OutOfOrderCompletionsAreIgnored) {
  Install();
  EXPECT_THAT(VmBooted(Ms(0)), IsEmpty());
  EXPECT_THAT(ProcessStarted(Ms(0)), IsEmpty());
  Start(Ms(1));
  EXPECT_THAT(AgentConnected(Ms(2)), IsEmpty());
  EXPECT_THAT(ProcessCreated(Ms(2)), IsEmpty());
  EXPECT_THAT(Exited(Ms(2), ExitStatus::Exited(0)), IsEmpty());
  EXPECT_EQ(State(), ContainerState::kStarting);
}

TEST_F(ContainerManagerTest, CN1_StartStateErrors) {
  Install();
  Start(Ms(1));
  EXPECT_THAT(
      Start(Ms(1), 3),
      ElementsAre("reply request=3 status=FAILED_PRECONDITION: container 7 is "
                  "already starting"));
  VmBooted(Ms(1));
  AgentConnected(Ms(1));
  ProcessCreated(Ms(1));
  ProcessStarted(Ms(1));
  EXPECT_THAT(
      Start(Ms(2), 4),
      ElementsAre("reply request=4 status=FAILED_PRECONDITION: container 7 is "
                  "already running"));
  Exited(Ms(3), ExitStatus::Exited(0));
  EXPECT_THAT(
      Start(Ms(4), 5),
      ElementsAre("reply request=5 status=FAILED_PRECONDITION: container 7 has "
                  "already run; uninstall and install it to run it "
                  "again"));
}

TEST_F(ContainerManagerTest, CN1_CreateProcessFailureLeavesItInstalled) {
  Install(Spec(1));
  Start(Ms(0));
  VmBooted(Ms(1));
  AgentConnected(Ms(2));
  EXPECT_THAT(
      ProcessCreated(Ms(3), "no such binary"),
      ElementsAre(
          "stop_socket_relays container=7", "stop_vm container=7",
          "reply request=2 status=UNKNOWN: create process failed: no such "
          "binary"));
  EXPECT_EQ(State(), ContainerState::kInstalled);
  EXPECT_TRUE(manager_.AllSettled());
  // It can be started again.
  EXPECT_THAT(Start(Ms(4), 3), ElementsAre("boot_vm container=7 attempt=1"));
}

TEST_F(ContainerManagerTest, CN1_StartProcessFailureDeletesTheProcess) {
  Install();
  Start(Ms(0));
  VmBooted(Ms(1));
  AgentConnected(Ms(2));
  ProcessCreated(Ms(3));
  EXPECT_THAT(
      ProcessStarted(Ms(4), "exec format error"),
      ElementsAre("stop_socket_relays container=7",
                  "delete_process container=7", "stop_vm container=7",
                  "reply request=2 status=UNKNOWN: start process failed: exec "
                  "format error"));
  EXPECT_EQ(State(), ContainerState::kInstalled);
}

TEST_F(ContainerManagerTest, CN1_ExitBeforeProcessStartedIsAppliedAfterIt) {
  Install();
  Start(Ms(0));
  VmBooted(Ms(0));
  AgentConnected(Ms(0));
  ProcessCreated(Ms(0));
  EXPECT_THAT(Exited(Ms(1), ExitStatus::Exited(3)), IsEmpty());
  EXPECT_THAT(Exited(Ms(1), ExitStatus::Exited(4)), IsEmpty());
  EXPECT_THAT(
      ProcessStarted(Ms(2)),
      ElementsAre("container_event container=7 kind=started",
                  "reply request=2 status=OK value={vm_boot=0 spec_build=0 "
                  "agent_connect=0 socket_relays=0 stdio_prepare=0 "
                  "config_write=0 request_encode=0 create_process=0 "
                  "start_gate_wait=0 start_process=2ms total=2ms}",
                  "container_event container=7 kind=exit status=Exit(3)"));
  EXPECT_EQ(State(), ContainerState::kExited);
}

// ---- CN-2: exit status ----

TEST_F(ContainerManagerTest, CN2_ExitEventCarriesThePrintedStatus) {
  const std::vector<std::pair<ExitStatus, std::string>> cases = {
      {ExitStatus::Exited(0), "Exit(0)"},
      {ExitStatus::Exited(7), "Exit(7)"},
      {ExitStatus::Signalled(kSigKill), "Signalled(SIGKILL)"},
      {ExitStatus::Signalled(kSigTerm), "Signalled(SIGTERM)"},
      {ExitStatus::Signalled(77), "Signalled(77)"},
  };
  uint64_t id = 1;
  for (const auto& [status, printed] : cases) {
    RunAt(Ms(0), ContainerId{id});
    EXPECT_THAT(Exited(Ms(1), status, ContainerId{id}),
                ElementsAre(absl::StrCat("container_event container=", id,
                                         " kind=exit status=", printed)));
    const auto& event = std::get<action::EmitContainerEvent>(last_[0]).event;
    ASSERT_TRUE(event.exit.has_value());
    EXPECT_EQ(*event.exit, status);
    EXPECT_EQ(FormatExitStatus(*event.exit), printed);
    EXPECT_EQ(event.exit->success(), printed == "Exit(0)");
    ++id;
  }
}

TEST_F(ContainerManagerTest, CN2_WaitRepliesWithTheStatus) {
  RunAt(Ms(0));
  Exited(Ms(1), ExitStatus::Signalled(kSigKill));
  Wait(Ms(2), 3);
  EXPECT_EQ(std::get<ExitStatus>(OnlyReply().value),
            ExitStatus::Signalled(kSigKill));
}

// ---- CN-3: wait ----

TEST_F(ContainerManagerTest, CN3_WaitIsIdempotentAndAsksGuestOnce) {
  RunAt(Ms(0));
  EXPECT_THAT(Wait(Ms(1), 3), ElementsAre("wait_process container=7"));
  EXPECT_THAT(Wait(Ms(2), 4), IsEmpty());
  EXPECT_THAT(
      Exited(Ms(3), ExitStatus::Exited(3)),
      ElementsAre("container_event container=7 kind=exit status=Exit(3)",
                  "stop_socket_relays container=7",
                  "delete_process container=7", "stop_vm container=7",
                  "reply request=3 status=OK value=Exit(3)",
                  "reply request=4 status=OK value=Exit(3)"));
  // Cached: no question to the guest, no second cleanup.
  EXPECT_THAT(Wait(Ms(4), 5),
              ElementsAre("reply request=5 status=OK value=Exit(3)"));
  EXPECT_THAT(Wait(Ms(5), 6),
              ElementsAre("reply request=6 status=OK value=Exit(3)"));
  EXPECT_THAT(Exited(Ms(6), ExitStatus::Exited(9)), IsEmpty());
  EXPECT_THAT(Wait(Ms(7), 7),
              ElementsAre("reply request=7 status=OK value=Exit(3)"));
}

TEST_F(ContainerManagerTest, CN3_CleanupOnceAfterFirstWait) {
  RunAt(Ms(0), kId, Spec(2));
  // Nobody waits yet: the exit is reported, nothing is released.
  EXPECT_THAT(
      Exited(Ms(1), ExitStatus::Exited(1)),
      ElementsAre("container_event container=7 kind=exit status=Exit(1)"));
  EXPECT_THAT(Wait(Ms(2), 3),
              ElementsAre("stop_socket_relays container=7",
                          "delete_process container=7", "stop_vm container=7",
                          "reply request=3 status=OK value=Exit(1)"));
  EXPECT_THAT(Wait(Ms(3), 4),
              ElementsAre("reply request=4 status=OK value=Exit(1)"));
  EXPECT_THAT(Stop(Ms(4), 5),
              ElementsAre("reply request=5 status=OK value=Exit(1)"));
  EXPECT_THAT(Uninstall(Ms(5), 6),
              ElementsAre("container_event container=7 kind=uninstalled",
                          "reply request=6 status=OK"));
}

TEST_F(ContainerManagerTest, CN3_VmNotOwnedIsNotBootedNorStopped) {
  Install(Spec(0, 5000, 5999, /*owns_vm=*/false));
  EXPECT_THAT(Start(Ms(0)), ElementsAre("connect_agent container=7 attempt=1"));
  AgentConnected(Ms(1));
  ProcessCreated(Ms(2));
  ProcessStarted(Ms(3));
  Wait(Ms(4), 3);
  EXPECT_THAT(
      Exited(Ms(5), ExitStatus::Exited(0)),
      ElementsAre("container_event container=7 kind=exit status=Exit(0)",
                  "stop_socket_relays container=7",
                  "delete_process container=7",
                  "reply request=3 status=OK value=Exit(0)"));
}

TEST_F(ContainerManagerTest, CN3_WaitOnContainerNotRunningIsRejected) {
  Install();
  EXPECT_THAT(
      Wait(Ms(0), 3),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: container 7 is not "
          "running (installed)"));
  Start(Ms(1));
  EXPECT_THAT(
      Wait(Ms(1), 4),
      ElementsAre(
          "reply request=4 status=FAILED_PRECONDITION: container 7 is not "
          "running (starting)"));
}

TEST_F(ContainerManagerTest, CN3_PendingWaitsAreBounded) {
  RunAt(Ms(0));
  for (uint64_t r = 0; r < ContainerInstance::kMaxPendingRequests; ++r)
    Wait(Ms(1), 100 + r);
  EXPECT_THAT(
      Wait(Ms(1), 3),
      ElementsAre(
          "reply request=3 status=RESOURCE_EXHAUSTED: container 7 has too "
          "many pending waits and stops (max 64)"));
  EXPECT_THAT(
      Stop(Ms(1), 4),
      ElementsAre(
          "reply request=4 status=RESOURCE_EXHAUSTED: container 7 has too "
          "many pending waits and stops (max 64)"));
  Exited(Ms(2), ExitStatus::Exited(0));
  EXPECT_EQ(OfType<action::Reply>(last_).size(),
            ContainerInstance::kMaxPendingRequests);
}

// ---- CN-4: stop with grace ----

TEST_F(ContainerManagerTest, CN4_ExitOnSigtermAfter5msCosts5ms) {
  RunAt(Ms(1000));
  EXPECT_THAT(Stop(Ms(1000), 3),
              ElementsAre("signal_container container=7 signal=SIGTERM",
                          "arm_timer timer=stop_grace/7 deadline=11.000000000s",
                          "wait_process container=7"));
  // The reply comes with the exit, 5 ms after the stop: not at the deadline.
  EXPECT_THAT(
      Exited(Ms(1005), ExitStatus::Signalled(kSigTerm)),
      ElementsAre(
          "container_event container=7 kind=exit status=Signalled(SIGTERM)",
          "cancel_timer timer=stop_grace/7", "stop_socket_relays container=7",
          "delete_process container=7", "stop_vm container=7",
          "reply request=3 status=OK value=Signalled(SIGTERM)"));
  // A grace timer that fires anyway is stale.
  EXPECT_THAT(Fire(Ms(11000), TimerKind::kStopGrace), IsEmpty());
}

TEST_F(ContainerManagerTest, CN4_IgnoresSigtermGetsSigkillAfterGrace) {
  RunAt(Ms(0));
  EXPECT_THAT(Stop(Ms(100), 3, absl::Seconds(2)),
              ElementsAre("signal_container container=7 signal=SIGTERM",
                          "arm_timer timer=stop_grace/7 deadline=2.100000000s",
                          "wait_process container=7"));
  EXPECT_THAT(Fire(Ms(2100), TimerKind::kStopGrace),
              ElementsAre("signal_container container=7 signal=SIGKILL"));
  // Fired once: a duplicate fire does not signal again.
  EXPECT_THAT(Fire(Ms(2100), TimerKind::kStopGrace), IsEmpty());
  EXPECT_THAT(
      Exited(Ms(2101), ExitStatus::Signalled(kSigKill)),
      ElementsAre(
          "container_event container=7 kind=exit status=Signalled(SIGKILL)",
          "stop_socket_relays container=7", "delete_process container=7",
          "stop_vm container=7",
          "reply request=3 status=OK value=Signalled(SIGKILL)"));
}

TEST_F(ContainerManagerTest, CN4_GraceTimerFiringEarlyIsStale) {
  RunAt(Ms(0));
  Stop(Ms(0), 3);
  EXPECT_THAT(Fire(Ms(9999), TimerKind::kStopGrace), IsEmpty());
  EXPECT_THAT(Fire(Ms(10000), TimerKind::kStopGrace),
              ElementsAre("signal_container container=7 signal=SIGKILL"));
}

TEST_F(ContainerManagerTest, CN4_AlreadyExitedReturnsCached) {
  RunAt(Ms(0));
  Exited(Ms(1), ExitStatus::Exited(1));
  EXPECT_THAT(Stop(Ms(2), 3),
              ElementsAre("stop_socket_relays container=7",
                          "delete_process container=7", "stop_vm container=7",
                          "reply request=3 status=OK value=Exit(1)"));
  EXPECT_THAT(Stop(Ms(3), 4),
              ElementsAre("reply request=4 status=OK value=Exit(1)"));
}

TEST_F(ContainerManagerTest, CN4_SecondStopJoinsTheFirst) {
  RunAt(Ms(0));
  Stop(Ms(0), 3, absl::Seconds(10));
  // Its shorter grace does not move the deadline.
  EXPECT_THAT(Stop(Ms(1), 4, absl::Seconds(1)), IsEmpty());
  EXPECT_THAT(Wait(Ms(2), 5), IsEmpty());
  EXPECT_THAT(Fire(Ms(1001), TimerKind::kStopGrace), IsEmpty());
  EXPECT_THAT(
      Exited(Ms(3), ExitStatus::Exited(0)),
      ElementsAre("container_event container=7 kind=exit status=Exit(0)",
                  "cancel_timer timer=stop_grace/7",
                  "stop_socket_relays container=7",
                  "delete_process container=7", "stop_vm container=7",
                  "reply request=3 status=OK value=Exit(0)",
                  "reply request=4 status=OK value=Exit(0)",
                  "reply request=5 status=OK value=Exit(0)"));
}

TEST_F(ContainerManagerTest, CN4_StopAfterWaitDoesNotAskTheGuestAgain) {
  RunAt(Ms(0));
  EXPECT_THAT(Wait(Ms(1), 3), ElementsAre("wait_process container=7"));
  EXPECT_THAT(
      Stop(Ms(2), 4, absl::Milliseconds(500)),
      ElementsAre("signal_container container=7 signal=SIGTERM",
                  "arm_timer timer=stop_grace/7 deadline=0.502000000s"));
}

TEST_F(ContainerManagerTest, CN4_ZeroGraceKillsAtTheSameInstant) {
  RunAt(Ms(0));
  EXPECT_THAT(Stop(Ms(5), 3, absl::ZeroDuration()),
              ElementsAre("signal_container container=7 signal=SIGTERM",
                          "arm_timer timer=stop_grace/7 deadline=0.005000000s",
                          "wait_process container=7"));
  EXPECT_THAT(Fire(Ms(5), TimerKind::kStopGrace),
              ElementsAre("signal_container container=7 signal=SIGKILL"));
}

TEST_F(ContainerManagerTest, CN4_GraceOutOfRangeIsRejected) {
  RunAt(Ms(0));
  EXPECT_THAT(
      Stop(Ms(1), 3, absl::Seconds(-1)),
      ElementsAre(
          "reply request=3 status=INVALID_ARGUMENT: CN-4: stop grace -1s is "
          "outside 0..24h"));
  EXPECT_THAT(
      Stop(Ms(1), 4, absl::Hours(25)),
      ElementsAre(
          "reply request=4 status=INVALID_ARGUMENT: CN-4: stop grace 25h is "
          "outside 0..24h"));
  EXPECT_THAT(
      Stop(Ms(1), 5, absl::InfiniteDuration()),
      ElementsAre(
          "reply request=5 status=INVALID_ARGUMENT: CN-4: stop grace inf is "
          "outside 0..24h"));
  EXPECT_EQ(State(), ContainerState::kRunning);
}

TEST_F(ContainerManagerTest, CN4_StopOfContainerNotRunningIsRejected) {
  Install();
  EXPECT_THAT(
      Stop(Ms(0), 3),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: container 7 is not "
          "running (installed)"));
  Start(Ms(1));
  EXPECT_THAT(
      Stop(Ms(1), 4),
      ElementsAre(
          "reply request=4 status=FAILED_PRECONDITION: container 7 is not "
          "running (starting)"));
}

TEST_F(ContainerManagerTest, CN4_KillSendsTheSignalWhileRunning) {
  Install();
  EXPECT_THAT(
      Kill(Ms(0), 3, kSigKill),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: container 7 is not "
          "running (installed)"));
  RunAt(Ms(1));
  EXPECT_THAT(Kill(Ms(2), 4, 1),
              ElementsAre("signal_container container=7 signal=SIGHUP",
                          "reply request=4 status=OK"));
  EXPECT_THAT(Kill(Ms(2), 5, 40),
              ElementsAre("signal_container container=7 signal=40",
                          "reply request=5 status=OK"));
  EXPECT_THAT(
      Kill(Ms(2), 6, 0),
      ElementsAre(
          "reply request=6 status=INVALID_ARGUMENT: signal 0 is not a signal "
          "number (1..64)"));
  EXPECT_THAT(
      Kill(Ms(2), 7, 65),
      ElementsAre("reply request=7 status=INVALID_ARGUMENT: signal 65 is not a "
                  "signal number (1..64)"));
  Exited(Ms(3), ExitStatus::Signalled(1));
  EXPECT_THAT(
      Kill(Ms(4), 8, kSigKill),
      ElementsAre(
          "reply request=8 status=FAILED_PRECONDITION: container 7 is not "
          "running (exited)"));
}

// ---- CN-5: agent connect ----

TEST_F(ContainerManagerTest, CN5_RetriesEvery100msThenTimesOutAfter10s) {
  Install();
  Start(Ms(0));
  ASSERT_THAT(VmBooted(Ms(0)),
              ElementsAre("connect_agent container=7 attempt=1"));
  int connects = 1;
  Instant now = Ms(0);
  Lines failure;
  for (int attempt = 1; attempt <= 200; ++attempt) {
    Lines out = AgentConnected(now, absl::StrCat("refused #", attempt));
    if (out.size() != 1 || !absl::StartsWith(out[0], "arm_timer")) {
      failure = out;
      break;
    }
    now = now + absl::Milliseconds(100);
    ASSERT_THAT(
        out, ElementsAre(absl::StrCat("arm_timer timer=agent_retry/7 deadline=",
                                      FormatInstant(now))));
    ASSERT_THAT(Fire(now, TimerKind::kAgentRetry),
                ElementsAre(absl::StrCat("connect_agent container=7 attempt=",
                                         attempt + 1)));
    ++connects;
  }
  // Attempts at 0, 100 ms, ..., 10 s: the one failing at 10 s is the last.
  EXPECT_EQ(connects, 101);
  EXPECT_EQ(now, Ms(10000));
  EXPECT_THAT(
      failure,
      ElementsAre(
          "stop_vm container=7",
          "reply request=2 status=DEADLINE_EXCEEDED: CN-5: connect to agent "
          "timed out after 10s: refused #101"));
  EXPECT_EQ(State(), ContainerState::kInstalled);
}

TEST_F(ContainerManagerTest, CN5_RetryTimerFiringEarlyIsStale) {
  Install();
  Start(Ms(0));
  VmBooted(Ms(0));
  AgentConnected(Ms(10), "refused");
  EXPECT_THAT(Fire(Ms(50), TimerKind::kAgentRetry), IsEmpty());
  EXPECT_THAT(Fire(Ms(110), TimerKind::kAgentRetry),
              ElementsAre("connect_agent container=7 attempt=2"));
  EXPECT_THAT(Fire(Ms(110), TimerKind::kAgentRetry), IsEmpty());
}

TEST_F(ContainerManagerTest, CN5_ConnectAfterRetriesCountsInAgentConnect) {
  Install();
  Start(Ms(0));
  VmBooted(Ms(100));
  AgentConnected(Ms(150), "refused");
  Fire(Ms(250), TimerKind::kAgentRetry);
  AgentConnected(Ms(300));
  ProcessCreated(Ms(300));
  ProcessStarted(Ms(300));
  const StartupTiming timing = std::get<StartupTiming>(OnlyReply().value);
  EXPECT_EQ(timing.vm_boot, absl::Milliseconds(100));
  EXPECT_EQ(timing.agent_connect, absl::Milliseconds(200));
  EXPECT_EQ(timing.total, absl::Milliseconds(300));
}

// ---- CN-6: boot retry ----

TEST_F(ContainerManagerTest, CN6_TransientRetriedAtMost3Times) {
  Install();
  EXPECT_THAT(Start(Ms(0)), ElementsAre("boot_vm container=7 attempt=1"));
  EXPECT_THAT(
      VmBooted(Ms(0), "transient: busy"),
      ElementsAre("arm_timer timer=boot_retry/7 deadline=1.000000000s"));
  EXPECT_THAT(Fire(Ms(1000), TimerKind::kBootRetry),
              ElementsAre("boot_vm container=7 attempt=2"));
  EXPECT_THAT(
      VmBooted(Ms(1200), "transient: busy"),
      ElementsAre("arm_timer timer=boot_retry/7 deadline=2.200000000s"));
  EXPECT_THAT(Fire(Ms(2200), TimerKind::kBootRetry),
              ElementsAre("boot_vm container=7 attempt=3"));
  EXPECT_THAT(
      VmBooted(Ms(2500), "transient: busy"),
      ElementsAre(
          "reply request=2 status=UNAVAILABLE: CN-6: boot failed after 3 "
          "attempt(s): transient: busy"));
  EXPECT_EQ(State(), ContainerState::kInstalled);
  EXPECT_THAT(Fire(Ms(3500), TimerKind::kBootRetry), IsEmpty());
}

TEST_F(ContainerManagerTest, CN6_NonTransientFailsAtOnce) {
  Install();
  Start(Ms(0));
  EXPECT_THAT(
      VmBooted(Ms(10), "kernel image not found"),
      ElementsAre("reply request=2 status=UNKNOWN: CN-6: boot failed after 1 "
                  "attempt(s): kernel image not found"));
  EXPECT_EQ(State(), ContainerState::kInstalled);
}

TEST_F(ContainerManagerTest, CN6_SeedVmnetErrorIsRetriedAndBootTimeCovers) {
  Install();
  Start(Ms(0));
  EXPECT_THAT(
      VmBooted(Ms(100),
               "vmnet_network_create failed: VMNET_SHARING_SERVICE_BUSY"),
      ElementsAre("arm_timer timer=boot_retry/7 deadline=1.100000000s"));
  EXPECT_THAT(Fire(Ms(500), TimerKind::kBootRetry), IsEmpty());  // early
  Fire(Ms(1100), TimerKind::kBootRetry);
  EXPECT_THAT(VmBooted(Ms(1300)),
              ElementsAre("connect_agent container=7 attempt=1"));
  AgentConnected(Ms(1300));
  ProcessCreated(Ms(1300));
  ProcessStarted(Ms(1300));
  const StartupTiming timing = std::get<StartupTiming>(OnlyReply().value);
  EXPECT_EQ(timing.vm_boot, absl::Milliseconds(1300));
  EXPECT_EQ(timing.total, absl::Milliseconds(1300));
}

class EverythingTransientTest : public ContainerManagerTest {
 protected:
  EverythingTransientTest()
      : ContainerManagerTest(
            ContainerManager([](absl::string_view) { return true; })) {}
};

TEST_F(EverythingTransientTest, CN6_TransienceIsThePredicateOfTheBackend) {
  Install();
  Start(Ms(0));
  EXPECT_THAT(
      VmBooted(Ms(0), "kernel image not found"),
      ElementsAre("arm_timer timer=boot_retry/7 deadline=1.000000000s"));
}

// ---- CN-7: ports ----

TEST_F(ContainerManagerTest, CN7_RelaysAndCopiesTakeConsecutivePorts) {
  Install(Spec(3, 5000, 5999));
  Start(Ms(0));
  VmBooted(Ms(0));
  EXPECT_THAT(AgentConnected(Ms(0)),
              ElementsAre("start_socket_relay container=7 port=5000",
                          "start_socket_relay container=7 port=5001",
                          "start_socket_relay container=7 port=5002",
                          "create_process container=7"));
  ProcessCreated(Ms(0));
  ProcessStarted(Ms(0));
  EXPECT_THAT(
      Copy(Ms(1), 3, "/a", input::CopyDirection::kOut),
      ElementsAre("start_transfer container=7 direction=out port=5003 path=\""
                  "/run/proctor/containers/7/rootfs/a\"",
                  "reply request=3 status=OK "
                  "value=\"/run/proctor/containers/7/rootfs/a\""));
}

TEST_F(ContainerManagerTest, CN7_ExhaustionFailsTheStart) {
  Install(Spec(3, 5000, 5001));
  Start(Ms(0));
  VmBooted(Ms(0));
  // No relay is started when not all of them can be.
  EXPECT_THAT(
      AgentConnected(Ms(0)),
      ElementsAre("stop_vm container=7",
                  "reply request=2 status=RESOURCE_EXHAUSTED: CN-7: port range "
                  "exhausted"));
  EXPECT_EQ(State(), ContainerState::kInstalled);
}

TEST_F(ContainerManagerTest, CN7_PortsAreNeverReusedAcrossStarts) {
  Install(Spec(1, 5000, 5001));
  Start(Ms(0));
  VmBooted(Ms(0));
  EXPECT_THAT(AgentConnected(Ms(0)),
              ElementsAre("start_socket_relay container=7 port=5000",
                          "create_process container=7"));
  ProcessCreated(Ms(0), "boom");
  Start(Ms(1), 3);
  VmBooted(Ms(1));
  EXPECT_THAT(AgentConnected(Ms(1)),
              ElementsAre("start_socket_relay container=7 port=5001",
                          "create_process container=7"));
  ProcessCreated(Ms(1), "boom");
  Start(Ms(2), 4);
  VmBooted(Ms(2));
  EXPECT_THAT(
      AgentConnected(Ms(2)),
      ElementsAre("stop_vm container=7",
                  "reply request=4 status=RESOURCE_EXHAUSTED: CN-7: port range "
                  "exhausted"));
}

TEST_F(ContainerManagerTest, CN7_CopyFailsWhenPortsRunOut) {
  RunAt(Ms(0), kId, Spec(0, 5000, 5000));
  EXPECT_THAT(
      Copy(Ms(1), 3, "a"),
      ElementsAre("start_transfer container=7 direction=in port=5000 path=\""
                  "/run/proctor/containers/7/rootfs/a\"",
                  "reply request=3 status=OK "
                  "value=\"/run/proctor/containers/7/rootfs/a\""));
  EXPECT_THAT(
      Copy(Ms(2), 4, "b"),
      ElementsAre("reply request=4 status=RESOURCE_EXHAUSTED: CN-7: port range "
                  "exhausted"));
}

// ---- CN-8: guest paths ----

TEST_F(ContainerManagerTest, CN8_CopyResolvesAgainstTheContainerRootfs) {
  RunAt(Ms(0), kId, Spec(0, 6000, 6999));
  EXPECT_THAT(
      Copy(Ms(1), 3, "//etc/hosts"),
      ElementsAre("start_transfer container=7 direction=in port=6000 path=\""
                  "/run/proctor/containers/7/rootfs/etc/hosts\"",
                  "reply request=3 status=OK value="
                  "\"/run/proctor/containers/7/rootfs/etc/hosts\""));
  EXPECT_THAT(
      Copy(Ms(2), 4, "/", input::CopyDirection::kOut),
      ElementsAre("start_transfer container=7 direction=out port=6001 path=\""
                  "/run/proctor/containers/7/rootfs\"",
                  "reply request=4 status=OK "
                  "value=\"/run/proctor/containers/7/rootfs\""));
}

TEST_F(ContainerManagerTest, CN8_CopyRejectsBadPathsWithoutUsingAPort) {
  RunAt(Ms(0), kId, Spec(0, 6000, 6999));
  EXPECT_THAT(
      Copy(Ms(1), 3, "/../../etc/shadow"),
      ElementsAre(
          "reply request=3 status=INVALID_ARGUMENT: CN-8: /../../etc/shadow "
          "escapes the container rootfs"));
  EXPECT_THAT(
      Copy(Ms(1), 4, "/tmp/\xC0\xAF"),
      ElementsAre(
          "reply request=4 status=INVALID_ARGUMENT: CN-8: guest path is not "
          "valid UTF-8"));
  EXPECT_THAT(
      Copy(Ms(1), 5, std::string(kMaxGuestPathBytes + 1, 'a')),
      ElementsAre(
          "reply request=5 status=INVALID_ARGUMENT: CN-8: guest path is "
          "longer than 4096 bytes"));
  EXPECT_THAT(
      Copy(Ms(1), 6, std::string("a\0b", 3)),
      ElementsAre("reply request=6 status=INVALID_ARGUMENT: CN-8: guest path "
                  "contains a NUL byte"));
  EXPECT_THAT(
      Copy(Ms(1), 7, "ok"),
      ElementsAre("start_transfer container=7 direction=in port=6000 path=\""
                  "/run/proctor/containers/7/rootfs/ok\"",
                  "reply request=7 status=OK "
                  "value=\"/run/proctor/containers/7/rootfs/ok\""));
}

TEST_F(ContainerManagerTest, CN8_CopyNeedsARunningContainer) {
  Install();
  EXPECT_THAT(
      Copy(Ms(0), 3, "/a"),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: container 7 is not "
          "running (installed)"));
}

// ---- CN-9: block devices ----

TEST_F(ContainerManagerTest, CN9_AttachRepliesWithTheGuestDevicePath) {
  Install();
  EXPECT_THAT(Attach(Ms(0), 3, 1),
              ElementsAre("reply request=3 status=OK value=\"/dev/vdb\""));
  EXPECT_THAT(Attach(Ms(0), 4, 25),
              ElementsAre("reply request=4 status=OK value=\"/dev/vdz\""));
  EXPECT_THAT(
      Attach(Ms(0), 5, 26),
      ElementsAre(
          "reply request=5 status=INVALID_ARGUMENT: CN-9: block device slot "
          "26 is too large for /dev/vd* mapping"));
  EXPECT_THAT(
      Attach(Ms(0), 6, 0),
      ElementsAre(
          "reply request=6 status=INVALID_ARGUMENT: CN-9: block device slot "
          "0 is invalid: slots start at 1"));
}

// ---- CN-10: startup timing ----

TEST_F(ContainerManagerTest, CN10_PhasesNeverExceedTotal) {
  Install(Spec(2));
  Start(Ms(1000));
  VmBooted(Ms(1300));
  AgentConnected(Ms(1450));
  ProcessCreated(Ms(1470));
  ProcessStarted(Ms(1500));
  const StartupTiming timing = std::get<StartupTiming>(OnlyReply().value);
  StartupTiming expected;
  expected.vm_boot = absl::Milliseconds(300);
  expected.agent_connect = absl::Milliseconds(150);
  expected.create_process = absl::Milliseconds(20);
  expected.start_process = absl::Milliseconds(30);
  expected.total = absl::Milliseconds(500);
  EXPECT_EQ(timing, expected);
  EXPECT_LE(timing.PhaseSum(), timing.total);
}

TEST_F(ContainerManagerTest, CN10_InstantStartTakesNoTime) {
  RunAt(Ms(42));
  Install({}, ContainerId{8});
  Start(Ms(42), 3, ContainerId{8});
  VmBooted(Ms(42), std::nullopt, ContainerId{8});
  AgentConnected(Ms(42), std::nullopt, ContainerId{8});
  ProcessCreated(Ms(42), std::nullopt, ContainerId{8});
  ProcessStarted(Ms(42), std::nullopt, ContainerId{8});
  EXPECT_EQ(std::get<StartupTiming>(OnlyReply().value), StartupTiming{});
}

// ---- RT-2: shutdown support ----

TEST_F(ContainerManagerTest, RT2_StopAllStopsEveryGuestAndWaitsForEach) {
  RunAt(Ms(0), ContainerId{1});
  RunAt(Ms(0), ContainerId{2});
  Install({}, ContainerId{3});  // never started
  RunAt(Ms(0), ContainerId{4});
  Exited(Ms(1), ExitStatus::Exited(0), ContainerId{4});  // nobody waited
  EXPECT_FALSE(manager_.AllSettled());
  EXPECT_THAT(
      StopAll(Ms(100)),
      ElementsAre("signal_container container=1 signal=SIGTERM",
                  "arm_timer timer=stop_grace/1 deadline=10.100000000s",
                  "wait_process container=1",
                  "signal_container container=2 signal=SIGTERM",
                  "arm_timer timer=stop_grace/2 deadline=10.100000000s",
                  "wait_process container=2", "stop_socket_relays container=4",
                  "delete_process container=4", "stop_vm container=4"));
  EXPECT_THAT(StopAll(Ms(200)), IsEmpty());  // idempotent
  // 1 exits on SIGTERM; 2 ignores it and is killed at the deadline.
  EXPECT_THAT(
      Exited(Ms(300), ExitStatus::Signalled(kSigTerm), ContainerId{1}),
      ElementsAre(
          "container_event container=1 kind=exit status=Signalled(SIGTERM)",
          "cancel_timer timer=stop_grace/1", "stop_socket_relays container=1",
          "delete_process container=1", "stop_vm container=1"));
  EXPECT_FALSE(manager_.AllSettled());
  EXPECT_THAT(Fire(Ms(10100), TimerKind::kStopGrace, ContainerId{2}),
              ElementsAre("signal_container container=2 signal=SIGKILL"));
  EXPECT_THAT(
      Exited(Ms(10101), ExitStatus::Signalled(kSigKill), ContainerId{2}),
      ElementsAre(
          "container_event container=2 kind=exit status=Signalled(SIGKILL)",
          "stop_socket_relays container=2", "delete_process container=2",
          "stop_vm container=2"));
  EXPECT_TRUE(manager_.AllSettled());
}

TEST_F(ContainerManagerTest, RT2_StopAllJoinsAStopAlreadyInProgress) {
  RunAt(Ms(0));
  Stop(Ms(0), 3, absl::Seconds(1));
  EXPECT_THAT(StopAll(Ms(10)), IsEmpty());
  EXPECT_THAT(
      Exited(Ms(20), ExitStatus::Exited(0)),
      ElementsAre("container_event container=7 kind=exit status=Exit(0)",
                  "cancel_timer timer=stop_grace/7",
                  "stop_socket_relays container=7",
                  "delete_process container=7", "stop_vm container=7",
                  "reply request=3 status=OK value=Exit(0)"));
  EXPECT_TRUE(manager_.AllSettled());
}

TEST_F(ContainerManagerTest, RT2_StopAllAbortsAStartWaitingToRetry) {
  Install();
  Start(Ms(0));
  VmBooted(Ms(0), "transient: busy");
  EXPECT_THAT(
      StopAll(Ms(10)),
      ElementsAre(
          "cancel_timer timer=boot_retry/7",
          "reply request=2 status=CANCELLED: container 7 start aborted: the "
          "runtime is shutting down"));
  EXPECT_TRUE(manager_.AllSettled());
  EXPECT_THAT(Fire(Ms(1000), TimerKind::kBootRetry), IsEmpty());

  Install({}, ContainerId{8});
  EXPECT_THAT(
      Start(Ms(20), 3, ContainerId{8}),
      ElementsAre(
          "reply request=3 status=FAILED_PRECONDITION: container 8 cannot "
          "start: the runtime is shutting down"));
}

TEST_F(ContainerManagerTest, RT2_StopAllAbortsAConnectWaitingToRetry) {
  Install();
  Start(Ms(0));
  VmBooted(Ms(0));
  AgentConnected(Ms(0), "refused");
  EXPECT_THAT(
      StopAll(Ms(10)),
      ElementsAre(
          "cancel_timer timer=agent_retry/7", "stop_vm container=7",
          "reply request=2 status=CANCELLED: container 7 start aborted: the "
          "runtime is shutting down"));
  EXPECT_TRUE(manager_.AllSettled());
}

TEST_F(ContainerManagerTest, RT2_InFlightStartIsAbortedAtItsNextStep) {
  Install(Spec(1));
  Start(Ms(0));
  VmBooted(Ms(0));
  AgentConnected(Ms(0));
  // create_process is in flight: the start waits for its completion.
  EXPECT_THAT(StopAll(Ms(10)), IsEmpty());
  EXPECT_FALSE(manager_.AllSettled());
  EXPECT_THAT(
      ProcessCreated(Ms(20)),
      ElementsAre(
          "stop_socket_relays container=7", "delete_process container=7",
          "stop_vm container=7",
          "reply request=2 status=CANCELLED: container 7 start aborted: the "
          "runtime is shutting down"));
  EXPECT_TRUE(manager_.AllSettled());
}

TEST_F(ContainerManagerTest, RT2_BootInFlightIsAbortedWhenItCompletes) {
  Install();
  Start(Ms(0));
  StopAll(Ms(10));
  EXPECT_THAT(
      VmBooted(Ms(20)),
      ElementsAre(
          "stop_vm container=7",
          "reply request=2 status=CANCELLED: container 7 start aborted: the "
          "runtime is shutting down"));
  EXPECT_TRUE(manager_.AllSettled());
}

TEST_F(ContainerManagerTest, RT2_StartThatCompletesDuringShutdownIsStopped) {
  Install();
  Start(Ms(0));
  VmBooted(Ms(0));
  AgentConnected(Ms(0));
  ProcessCreated(Ms(0));
  StopAll(Ms(10));
  EXPECT_THAT(
      ProcessStarted(Ms(20)),
      ElementsAre("container_event container=7 kind=started",
                  "reply request=2 status=OK value={vm_boot=0 spec_build=0 "
                  "agent_connect=0 socket_relays=0 stdio_prepare=0 "
                  "config_write=0 request_encode=0 create_process=0 "
                  "start_gate_wait=0 start_process=20ms total=20ms}",
                  "signal_container container=7 signal=SIGTERM",
                  "arm_timer timer=stop_grace/7 deadline=10.020000000s",
                  "wait_process container=7"));
  EXPECT_FALSE(manager_.AllSettled());
  Exited(Ms(30), ExitStatus::Exited(0));
  EXPECT_TRUE(manager_.AllSettled());
}

TEST_F(ContainerManagerTest, RT2_StartThatFailsDuringShutdownIsCancelled) {
  Install();
  Start(Ms(0));
  VmBooted(Ms(0));
  AgentConnected(Ms(0));
  ProcessCreated(Ms(0));
  StopAll(Ms(10));
  EXPECT_THAT(
      ProcessStarted(Ms(20), "exec failed"),
      ElementsAre(
          "stop_socket_relays container=7", "delete_process container=7",
          "stop_vm container=7",
          "reply request=2 status=CANCELLED: container 7 start aborted: the "
          "runtime is shutting down"));
  EXPECT_TRUE(manager_.AllSettled());
}

}  // namespace
}  // namespace proctor
