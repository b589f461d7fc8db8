#include "runtime/container/container_instance.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/model/describe.h"
#include "runtime/model/testing/action_matchers.h"

namespace proctor {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Instant Ms(int64_t ms) { return Instant{} + absl::Milliseconds(ms); }

// The instance on its own: no bus, no routing; events are only actions.
class ContainerInstanceTest : public ::testing::Test {
 protected:
  ContainerInstanceTest()
      : container_(ContainerId{3}, ContainerSpec{}, IsTransientVmnetBootError) {
  }

  std::vector<std::string> Run(void (ContainerInstance::*step)(
                                   Instant, const std::optional<std::string>&,
                                   ActionList&),
                               Instant now) {
    ActionList actions;
    (container_.*step)(now, std::nullopt, actions);
    return DescribeActions(actions);
  }

  ContainerInstance container_;
};

TEST_F(ContainerInstanceTest, CN8_RootfsIsInTheContainersBundle) {
  EXPECT_EQ(ContainerRootfs(ContainerId{3}),
            "/run/proctor/containers/3/rootfs");
  EXPECT_EQ(ContainerRootfs(ContainerId{18446744073709551615u}),
            "/run/proctor/containers/18446744073709551615/rootfs");
}

TEST_F(ContainerInstanceTest, CN1_StatesAndSettlement) {
  EXPECT_EQ(container_.state(), ContainerState::kInstalled);
  EXPECT_TRUE(container_.Settled());
  ActionList actions;
  container_.Start(Ms(0), RequestId{1}, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("boot_vm container=3 attempt=1"));
  EXPECT_EQ(container_.state(), ContainerState::kStarting);
  EXPECT_FALSE(container_.Settled());
  EXPECT_THAT(Run(&ContainerInstance::OnVmBooted, Ms(1)),
              ElementsAre("connect_agent container=3 attempt=1"));
  EXPECT_THAT(Run(&ContainerInstance::OnAgentConnected, Ms(2)),
              ElementsAre("create_process container=3"));
  EXPECT_THAT(Run(&ContainerInstance::OnProcessCreated, Ms(3)),
              ElementsAre("start_process container=3"));
  EXPECT_THAT(
      Run(&ContainerInstance::OnProcessStarted, Ms(4)),
      ElementsAre("container_event container=3 kind=started",
                  "reply request=1 status=OK value={vm_boot=1ms spec_build=0 "
                  "agent_connect=1ms socket_relays=0 stdio_prepare=0 "
                  "config_write=0 request_encode=0 create_process=1ms "
                  "start_gate_wait=0 start_process=1ms total=4ms}"));
  EXPECT_EQ(container_.state(), ContainerState::kRunning);
  EXPECT_FALSE(container_.Settled());
  EXPECT_FALSE(container_.exit_status().has_value());
  actions.clear();
  container_.OnExited(Ms(5), ExitStatus::Exited(2), actions);
  EXPECT_THAT(
      DescribeActions(actions),
      ElementsAre("container_event container=3 kind=exit status=Exit(2)"));
  EXPECT_EQ(container_.state(), ContainerState::kExited);
  EXPECT_EQ(container_.exit_status(), ExitStatus::Exited(2));
  EXPECT_TRUE(container_.Settled());
}

TEST_F(ContainerInstanceTest, CN1_StateNamesAreStable) {
  EXPECT_EQ(ContainerStateName(ContainerState::kInstalled), "installed");
  EXPECT_EQ(ContainerStateName(ContainerState::kStarting), "starting");
  EXPECT_EQ(ContainerStateName(ContainerState::kRunning), "running");
  EXPECT_EQ(ContainerStateName(ContainerState::kExited), "exited");
}

TEST_F(ContainerInstanceTest, CN4_DefaultGraceIs10s) {
  EXPECT_EQ(ContainerInstance::kDefaultStopGrace, absl::Seconds(10));
  ActionList actions;
  container_.Start(Ms(0), RequestId{1}, actions);
  Run(&ContainerInstance::OnVmBooted, Ms(0));
  Run(&ContainerInstance::OnAgentConnected, Ms(0));
  Run(&ContainerInstance::OnProcessCreated, Ms(0));
  Run(&ContainerInstance::OnProcessStarted, Ms(0));
  actions.clear();
  container_.Stop(Ms(250), RequestId{2}, std::nullopt, actions);
  EXPECT_THAT(DescribeActions(actions),
              ElementsAre("signal_container container=3 signal=SIGTERM",
                          "arm_timer timer=stop_grace/3 deadline=10.250000000s",
                          "wait_process container=3"));
  actions.clear();
  container_.OnTimerFired(Ms(250), TimerKind::kHangup, actions);
  EXPECT_THAT(DescribeActions(actions), IsEmpty());
}

}  // namespace
}  // namespace proctor
