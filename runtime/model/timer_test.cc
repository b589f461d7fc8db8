#include "runtime/model/timer.h"

#include "gtest/gtest.h"

namespace proctor {
namespace {

TEST(TimerIdTest, FormatsAndParses) {
  TimerId t{TimerKind::kStopGrace, 42};
  EXPECT_EQ(FormatTimerId(t), "stop_grace/42");
  EXPECT_EQ(ParseTimerId("stop_grace/42"), t);
  EXPECT_FALSE(ParseTimerId("stop_grace").has_value());
  EXPECT_FALSE(ParseTimerId("nope/1").has_value());
  EXPECT_FALSE(ParseTimerId("hangup/").has_value());
  EXPECT_FALSE(ParseTimerId("hangup/1x").has_value());
}

}  // namespace
}  // namespace proctor
