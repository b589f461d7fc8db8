#include "runtime/container/container_instance.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/container/testing/describe_actions.h"

namespace proctor {
namespace {

using ::proctor::container_testing::Describe;
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
    return Describe(actions);
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
  EXPECT_THAT(Describe(actions), ElementsAre("boot_vm 3 attempt=1"));
  EXPECT_EQ(container_.state(), ContainerState::kStarting);
  EXPECT_FALSE(container_.Settled());
  EXPECT_THAT(Run(&ContainerInstance::OnVmBooted, Ms(1)),
              ElementsAre("connect_agent 3 attempt=1"));
  EXPECT_THAT(Run(&ContainerInstance::OnAgentConnected, Ms(2)),
              ElementsAre("create_process 3"));
  EXPECT_THAT(Run(&ContainerInstance::OnProcessCreated, Ms(3)),
              ElementsAre("start_process 3"));
  EXPECT_THAT(Run(&ContainerInstance::OnProcessStarted, Ms(4)),
              ElementsAre("event 3 started", "reply #1 OK timing total=4ms"));
  EXPECT_EQ(container_.state(), ContainerState::kRunning);
  EXPECT_FALSE(container_.Settled());
  EXPECT_FALSE(container_.exit_status().has_value());
  actions.clear();
  container_.OnExited(Ms(5), ExitStatus::Exited(2), actions);
  EXPECT_THAT(Describe(actions), ElementsAre("event 3 exit Exit(2)"));
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
  EXPECT_THAT(Describe(actions), ElementsAre("signal_container 3 SIGTERM",
                                             "arm_timer stop_grace/3 at 10.25s",
                                             "wait_process 3"));
  actions.clear();
  container_.OnTimerFired(Ms(250), TimerKind::kHangup, actions);
  EXPECT_THAT(Describe(actions), IsEmpty());
}

}  // namespace
}  // namespace proctor
