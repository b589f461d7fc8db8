#include "runtime/container/retry.h"

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace proctor {
namespace {

Instant At(int64_t ms) { return Instant{} + absl::Milliseconds(ms); }

TEST(RetryTest, CN5_RetriesEvery100msAfterAFailure) {
  absl::StatusOr<Instant> next = NextAgentConnectAttempt(At(0), At(0), "ECONN");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, At(100));
  next = NextAgentConnectAttempt(At(0), At(250), "ECONN");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, At(350));
  next = NextAgentConnectAttempt(At(0), At(9999), "ECONN");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, At(10099));
}

TEST(RetryTest, CN5_TimesOutAfter10sWithTheLastCause) {
  absl::StatusOr<Instant> next =
      NextAgentConnectAttempt(At(500), At(10500), "connection refused");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(next.status().message(),
            "CN-5: connect to agent timed out after 10s: connection refused");
}

TEST(RetryTest, CN5_LongCauseIsTruncated) {
  const std::string cause(kMaxErrorCauseBytes + 10, 'x');
  absl::StatusOr<Instant> next =
      NextAgentConnectAttempt(At(0), At(20000), cause);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().message(),
            "CN-5: connect to agent timed out after 10s: " +
                std::string(kMaxErrorCauseBytes, 'x') + "...(truncated)");
  // A cut never splits a UTF-8 character: "é" straddling the limit goes.
  const std::string accented =
      std::string(kMaxErrorCauseBytes - 1, 'a') + "\xC3\xA9";
  EXPECT_EQ(BoundedErrorCause(accented),
            std::string(kMaxErrorCauseBytes - 1, 'a') + "...(truncated)");
  EXPECT_EQ(BoundedErrorCause("short"), "short");
}

TEST(RetryTest, CN6_SeedVmnetErrorsAreTransient) {
  EXPECT_TRUE(IsTransientVmnetBootError(
      "boot: vmnet_network_create failed: VMNET_FAILURE"));
  EXPECT_TRUE(IsTransientVmnetBootError(
      "vmnet_network_create failed (VMNET_SHARING_SERVICE_BUSY)"));
  EXPECT_TRUE(
      IsTransientVmnetBootError("vmnet_network_create failed status=1001"));
  EXPECT_TRUE(
      IsTransientVmnetBootError("vmnet_network_create failed status=1009"));
  EXPECT_TRUE(IsTransientVmnetBootError("transient: simulated busy network"));
}

TEST(RetryTest, CN6_OtherErrorsAreNotTransient) {
  EXPECT_FALSE(IsTransientVmnetBootError("VMNET_FAILURE"));
  EXPECT_FALSE(
      IsTransientVmnetBootError("vmnet_network_create failed status=1002"));
  EXPECT_FALSE(IsTransientVmnetBootError("kernel image not found"));
  EXPECT_FALSE(IsTransientVmnetBootError("not transient: x"));
  EXPECT_FALSE(IsTransientVmnetBootError(""));
}

TEST(RetryTest, CN6_TransientRetriedAfterTheDelayWhileAttemptsRemain) {
  absl::StatusOr<Instant> next =
      NextBootAttempt(1, At(40), "transient: busy", IsTransientVmnetBootError);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, At(40) + kBootRetryDelay);
  next = NextBootAttempt(2, At(2000), "transient: busy",
                         IsTransientVmnetBootError);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, At(3000));
}

TEST(RetryTest, CN6_TransientFailsAfterThreeAttempts) {
  absl::StatusOr<Instant> next =
      NextBootAttempt(3, At(0), "transient: busy", IsTransientVmnetBootError);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(next.status().message(),
            "CN-6: boot failed after 3 attempt(s): transient: busy");
}

TEST(RetryTest, CN6_NonTransientFailsAtOnce) {
  absl::StatusOr<Instant> next =
      NextBootAttempt(1, At(0), "no kernel", IsTransientVmnetBootError);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(next.status().message(),
            "CN-6: boot failed after 1 attempt(s): no kernel");
}

TEST(RetryTest, CN6_PredicateIsTheBackends) {
  TransientPredicate everything = [](absl::string_view) { return true; };
  absl::StatusOr<Instant> next =
      NextBootAttempt(1, At(0), "no kernel", everything);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, At(1000));
}

}  // namespace
}  // namespace proctor
