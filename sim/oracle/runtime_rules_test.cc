#include "sim/oracle/runtime_rules.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "sim/oracle/oracle.h"
#include "sim/oracle/testing/feed.h"

namespace proctor::sim {
namespace {

using oracle_testing::Feed;
using oracle_testing::K;
using oracle_testing::ViolationMessage;
using oracle_testing::ViolationRule;

class OracleRuntimeTest : public ::testing::Test {
 protected:
  // A shutdown with nothing to stop: it completes at once.
  RequestId Shutdown() {
    const RequestId r = f.Request();
    f.In(input::Shutdown{r})
        .Out({action::ReleaseHostResources{}, action::ShutdownComplete{},
              action::Reply{r, absl::OkStatus(), {}}});
    return r;
  }

  Oracle oracle;
  Feed f{oracle};
};

// ---- RT-2 ----

TEST_F(OracleRuntimeTest, RT2_ShutdownThatCompletesIsAccepted) {
  f.At(1);
  Shutdown();
  // Later requests are refused; a later shutdown is answered at once.
  const RequestId late = f.Request();
  f.In(input::SuspendContainer{late})
      .Out(action::Reply{late, absl::UnavailableError("RT-2"), {}});
  const RequestId again = f.Request();
  f.In(input::Shutdown{again}).Out(action::Reply{again, absl::OkStatus(), {}});
  f.In(input::CounterChanged{K(10), 0}).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle), "");
  EXPECT_GT(oracle.stats().Checks("RT-2"), 0u);
  EXPECT_GT(oracle.stats().Checks("RT-1"), 0u);
}

TEST_F(OracleRuntimeTest, RT2_ActionAfterShutdownCompleteIsViolation) {
  f.At(1);
  Shutdown();
  f.At(2).In(input::CounterChanged{K(10), 1}).Out(action::ResumeGuest{});
  EXPECT_EQ(ViolationRule(oracle), "RT-2");
  EXPECT_EQ(ViolationMessage(oracle),
            "RT-2: expected nothing but replies to requests after "
            "shutdown_complete at 1.000000000s, saw resume_guest");
}

TEST_F(OracleRuntimeTest, RT2_ShutdownAnsweredWithAnErrorIsViolation) {
  const RequestId r = f.Request();
  f.In(input::Shutdown{r})
      .Out({action::ShutdownComplete{},
            action::Reply{r, absl::InternalError("oops"), {}}});
  EXPECT_EQ(ViolationMessage(oracle),
            "RT-2: shutdown request 1 answered INTERNAL: oops, expected OK");
}

TEST_F(OracleRuntimeTest, RT2_ShutdownAnsweredBeforeItCompletedIsViolation) {
  const RequestId r = f.Request();
  f.In(input::Shutdown{r}).Out(action::Reply{r, absl::OkStatus(), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "RT-2: shutdown request 1 answered before shutdown_complete");
}

TEST_F(OracleRuntimeTest, RT2_RequestAcceptedDuringShutdownIsViolation) {
  f.At(1).In(input::Shutdown{f.Request()});
  const RequestId r = f.Request();
  f.At(2)
      .In(input::RegisterWakeWatcher{r, WatcherId{1}})
      .Out(action::Reply{r, absl::OkStatus(), {}});
  EXPECT_EQ(ViolationMessage(oracle),
            "RT-2: register_wake_watcher request 2 at 2.000000000s accepted "
            "(OK) although shutdown began at 1.000000000s");
}

TEST_F(OracleRuntimeTest, RT2_ShutdownThatNeverCompletesIsViolation) {
  f.At(1).In(input::Shutdown{f.Request()});
  f.At(50).Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle),
            "RT-2: shutdown requested at 1.000000000s never completed (no "
            "shutdown_complete by 50.000000000s)");
}

TEST_F(OracleRuntimeTest, RT2_CompletionWithoutRequestIsViolation) {
  f.In(input::CounterChanged{K(10), 0}).Out(action::ShutdownComplete{});
  EXPECT_EQ(ViolationMessage(oracle),
            "RT-2: shutdown_complete without a shutdown request");
}

// ---- RT-1 ----

TEST_F(OracleRuntimeTest, RT1_SecondReplyIsViolation) {
  const RequestId r = f.Request();
  f.In(input::SubscribeEvents{r, SubscriberId{1}})
      .Out({action::Reply{r, absl::OkStatus(), {}},
            action::Reply{r, absl::OkStatus(), {}}});
  EXPECT_EQ(ViolationRule(oracle), "RT-1");
  EXPECT_EQ(ViolationMessage(oracle),
            "RT-1: reply to request 1 which is not waiting for one (a second "
            "reply, or no such request): OK");
}

TEST_F(OracleRuntimeTest, RT1_RequestNeverAnsweredIsViolation) {
  f.At(1).In(input::SubscribeEvents{f.Request(), SubscriberId{1}});
  f.At(2);
  Shutdown();
  f.Quiet().End();
  EXPECT_EQ(ViolationMessage(oracle),
            "RT-1: subscribe_events request 1 at 1.000000000s never answered "
            "(1 unanswered when the run ended)");
}

}  // namespace
}  // namespace proctor::sim
