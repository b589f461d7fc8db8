#include "scenarios/runner/compare.h"

#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proctor::scenario {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

LoggedEvent Event(absl::string_view dir, nlohmann::json value,
                  int64_t at_ms = 0) {
  LoggedEvent e;
  e.at = Instant::FromNanos(at_ms * 1'000'000);
  e.dir = dir;
  e.value = std::move(value);
  return e;
}

std::vector<LoggedEvent> VmLife(absl::string_view reason, int64_t shift_ms) {
  return {
      Event("out", {{"kind", "reply"}, {"to", "create_vm"}, {"status", "OK"}}),
      Event("out", {{"kind", "spawn_vmm"}, {"cid", 3}}, 10 + shift_ms),
      Event("in", {{"kind", "vmm_spawned"}, {"cid", 3}}, 12 + shift_ms),
      Event("out", {{"kind", "vm_state"}, {"cid", 3}, {"state", "RUNNING"}},
            12 + shift_ms),
      Event("out", {{"kind", "arm_timer"}, {"timer", "hangup/3"}}),
      Event("in", {{"kind", "vmm_exited"}, {"cid", 3}, {"status", "Exit(33)"}},
            900 + shift_ms),
      Event("out", {{"kind", "on_died"}, {"cid", 3}, {"reason", reason}},
            900 + shift_ms),
      Event("fact", {{"kind", "container_handled"}, {"proxy", 1}}),
      Event("out",
            {{"kind", "reply"},
             {"to", "suspend_container"},
             {"status", {{"code", "FAILED_PRECONDITION"}, {"message", "x"}}}}),
  };
}

TEST(CompareTest, TheStoryHasNoTimesAndNoTimers) {
  const ObservableStory story = StoryOf(VmLife("CRASH", 0));
  EXPECT_THAT(story.at("vm 3"),
              ElementsAre("spawn_vmm", "vm_state RUNNING",
                          "vmm_exited Exit(33)", "on_died CRASH"));
  EXPECT_THAT(story.at("replies to create_vm"), ElementsAre("OK"));
  EXPECT_THAT(story.at("replies to suspend_container"),
              ElementsAre("FAILED_PRECONDITION"));
  EXPECT_THAT(story.at("proxy 1 messages handled"),
              ElementsAre("container_handled"));
  EXPECT_EQ(story.count("hangup/3"), 0u);
}

TEST(CompareTest, SameEventsAtOtherTimesAgree) {
  EXPECT_EQ(CompareStories(StoryOf(VmLife("CRASH", 0)),
                           StoryOf(VmLife("CRASH", 2500)), "qemu"),
            std::nullopt);
}

TEST(CompareTest, VM6_AnotherDeathReasonIsADisagreement) {
  const std::optional<Finding> f = CompareStories(
      StoryOf(VmLife("CRASH", 0)), StoryOf(VmLife("REBOOT", 0)), "qemu");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->rule, "SIM");
  EXPECT_EQ(f->expected, "the qemu world's run tells the simulator's story");
  EXPECT_THAT(f->seen,
              HasSubstr("vm 3, event 4: on_died REBOOT in qemu, on_died "
                        "CRASH in sim"));
}

TEST(CompareTest, AnEventMissingOnOneSideIsADisagreement) {
  std::vector<LoggedEvent> fewer = VmLife("CRASH", 0);
  fewer.pop_back();
  const std::optional<Finding> f =
      CompareStories(StoryOf(VmLife("CRASH", 0)), StoryOf(fewer), "qemu");
  ASSERT_TRUE(f.has_value());
  EXPECT_THAT(f->seen, HasSubstr("replies to suspend_container, event 1: "
                                 "nothing more in qemu, FAILED_PRECONDITION "
                                 "in sim"));
}

}  // namespace
}  // namespace proctor::scenario
