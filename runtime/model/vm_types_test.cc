#include "runtime/model/vm_types.h"

#include "gtest/gtest.h"

namespace proctor {
namespace {

TEST(VmTypesTest, VM4_PayloadStatesAreOrdered) {
  EXPECT_LT(PayloadState::kStarting, PayloadState::kStarted);
  EXPECT_LT(PayloadState::kStarted, PayloadState::kReady);
  EXPECT_LT(PayloadState::kReady, PayloadState::kFinished);
}

TEST(VmTypesTest, VM6_EveryDeathReasonHasAStableNameThatParses) {
  EXPECT_EQ(AllDeathReasons().size(), 17u);
  for (DeathReason r : AllDeathReasons()) {
    absl::string_view name = DeathReasonName(r);
    EXPECT_NE(name, "?");
    EXPECT_EQ(ParseDeathReason(name), r);
  }
  EXPECT_EQ(DeathReasonName(DeathReason::kHangup), "HANGUP");
  EXPECT_FALSE(ParseDeathReason("hangup").has_value());
}

TEST(VmTypesTest, VM3_StateNamesRoundTrip) {
  for (VmState s : {VmState::kNotStarted, VmState::kRunning, VmState::kDead,
                    VmState::kFailed}) {
    EXPECT_EQ(ParseVmState(VmStateName(s)), s);
  }
  for (PayloadState s : {PayloadState::kStarting, PayloadState::kStarted,
                         PayloadState::kReady, PayloadState::kFinished}) {
    EXPECT_EQ(ParsePayloadState(PayloadStateName(s)), s);
  }
  EXPECT_FALSE(ParsePayloadState("BOGUS").has_value());
}

}  // namespace
}  // namespace proctor
