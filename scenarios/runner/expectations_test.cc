#include "scenarios/runner/expectations.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proctor::scenario {
namespace {

using nlohmann::json;

LoggedEvent Out(uint64_t seq, int64_t ms, json value) {
  return LoggedEvent{seq, Instant::FromNanos(ms * 1'000'000), "out",
                     std::move(value)};
}

std::vector<LoggedEvent> SampleRun() {
  return {
      Out(1, 0, {{"kind", "vm_state"}, {"cid", 3}, {"state", "RUNNING"}}),
      Out(2, 100,
          {{"kind", "payload_state"}, {"cid", 3}, {"state", "STARTED"}}),
      Out(3, 900, {{"kind", "vm_state"}, {"cid", 3}, {"state", "DEAD"}}),
      Out(4, 900, {{"kind", "on_died"}, {"cid", 3}, {"reason", "KILLED"}}),
      Out(5, 950, {{"kind", "suspend_guest"}}),
  };
}

Scenario With(Expectation x) {
  Scenario s;
  s.expect.push_back(std::move(x));
  return s;
}

TEST(ExpectationsTest, VM7_EventWindowIsRelativeToItsAnchor) {
  Expectation x;
  x.pattern = {"on_died", {{"cid", 3}}, {}};
  x.window.after = EventPattern{"payload_state", {{"state", "STARTED"}}, {}};
  x.window.until = absl::Milliseconds(800);
  EXPECT_TRUE(CheckExpectations(With(x), SampleRun()).empty());
  x.window.until = absl::Milliseconds(700);
  const std::vector<Finding> f = CheckExpectations(With(x), SampleRun());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_THAT(f[0].seen, ::testing::HasSubstr("outside the window"));
}

TEST(ExpectationsTest, VM7_CountIsExact) {
  Expectation x;
  x.pattern = {"on_died", json::object(), {}};
  x.count = 1;
  EXPECT_TRUE(CheckExpectations(With(x), SampleRun()).empty());
  x.count = 2;
  const std::vector<Finding> f = CheckExpectations(With(x), SampleRun());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].expected, "exactly 2 x on_died at any time");
  EXPECT_THAT(f[0].seen, ::testing::StartsWith("1 matched:\non_died "));
}

TEST(ExpectationsTest, VM6_MissingAnchorIsReported) {
  Expectation x;
  x.pattern = {"on_died", json::object(), {}};
  x.window.after = EventPattern{"payload_state", {{"state", "READY"}}, {}};
  const std::vector<Finding> f = CheckExpectations(With(x), SampleRun());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].seen,
            "no payload_state {\"state\":\"READY\"} happened, so the window "
            "never opened");
}

TEST(ExpectationsTest, VM5_NeverNamesTheOffendingEvent) {
  Expectation x;
  x.kind = Expectation::Kind::kNever;
  x.pattern = {"on_died", {{"reason", "KILLED"}}, {}};
  const std::vector<Finding> f = CheckExpectations(With(x), SampleRun());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].expected, "never on_died {\"reason\":\"KILLED\"} at any time");
  EXPECT_THAT(f[0].seen, ::testing::HasSubstr("(event 4)"));
  x.pattern.where = {{"reason", "HANGUP"}};
  EXPECT_TRUE(CheckExpectations(With(x), SampleRun()).empty());
}

TEST(ExpectationsTest, PW3_FinalStateReadsTheLastOfEachEvent) {
  const FinalState s = FinalStateOf(SampleRun());
  EXPECT_EQ(s.vms.at(3), "DEAD");
  EXPECT_EQ(s.payloads.at(3), "STARTED");
  EXPECT_EQ(s.suspended, true);
  EXPECT_EQ(s.shutdown_complete, false);
}

TEST(ExpectationsTest, CN1_NoEventOfTheKindAtAll) {
  Expectation x;
  x.pattern = {"container_event", json::object(), {}};
  const std::vector<Finding> f = CheckExpectations(With(x), SampleRun());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].seen, "no container_event event at all");
}

}  // namespace
}  // namespace proctor::scenario
