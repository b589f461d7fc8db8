#include "runtime/container/retry.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {

bool IsTransientVmnetBootError(absl::string_view error) {
  if (absl::StartsWith(error, "transient:")) return true;
  return absl::StrContains(error, "vmnet_network_create failed") &&
         (absl::StrContains(error, "VMNET_FAILURE") ||
          absl::StrContains(error, "VMNET_SHARING_SERVICE_BUSY") ||
          absl::StrContains(error, "status=1001") ||
          absl::StrContains(error, "status=1009"));
}

absl::StatusOr<Instant> NextAgentConnectAttempt(Instant first_attempt,
                                                Instant failed_at,
                                                absl::string_view cause) {
  PROCTOR_CHECK(failed_at >= first_attempt);
  if (failed_at - first_attempt < kAgentConnectTimeout) {
    return failed_at + kAgentConnectRetryInterval;
  }
  return absl::DeadlineExceededError(
      absl::StrCat("CN-5: connect to agent timed out after ",
                   absl::ToInt64Seconds(kAgentConnectTimeout),
                   "s: ", BoundedErrorCause(cause)));
}

absl::StatusOr<Instant> NextBootAttempt(uint32_t failed_attempt,
                                        Instant failed_at,
                                        absl::string_view cause,
                                        TransientPredicate is_transient) {
  PROCTOR_CHECK(failed_attempt >= 1 && failed_attempt <= kBootAttempts);
  PROCTOR_CHECK(is_transient != nullptr);
  const bool transient = is_transient(cause);
  if (transient && failed_attempt < kBootAttempts) {
    return failed_at + kBootRetryDelay;
  }
  std::string message = absl::StrCat("CN-6: boot failed after ", failed_attempt,
                                     " attempt(s): ", BoundedErrorCause(cause));
  if (transient) return absl::UnavailableError(message);
  return absl::UnknownError(message);
}

std::string BoundedErrorCause(absl::string_view cause) {
  if (cause.size() <= kMaxErrorCauseBytes) return std::string(cause);
  size_t cut = kMaxErrorCauseBytes;
  // Back up over continuation bytes so a multi-byte character is not split.
  while (cut > 0 && (static_cast<unsigned char>(cause[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return absl::StrCat(cause.substr(0, cut), "...(truncated)");
}

}  // namespace proctor
