// Retry policies of a container start: connecting to the in-guest agent
// (CN-5) and booting the container's VM (CN-6). Both are pure decisions: given
// a failure, when to try again or the final error. The state machine turns a
// "try again at T" into an armed timer.
#ifndef PROCTOR_RUNTIME_CONTAINER_RETRY_H_
#define PROCTOR_RUNTIME_CONTAINER_RETRY_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/time.h"

namespace proctor {

// CN-5 (seed: VMINITD_CONNECT_RETRY, VMINITD_CONNECT_TIMEOUT).
inline constexpr absl::Duration kAgentConnectRetryInterval =
    absl::Milliseconds(100);
inline constexpr absl::Duration kAgentConnectTimeout = absl::Seconds(10);

// CN-6 (seed: TRANSIENT_VMNET_BOOT_ATTEMPTS, TRANSIENT_VMNET_BOOT_RETRY_DELAY).
// The seed imports the delay from a module that is not part of it, so its
// value is not known; 1 s is this runtime's choice.
inline constexpr uint32_t kBootAttempts = 3;
inline constexpr absl::Duration kBootRetryDelay = absl::Seconds(1);

// Causes quoted in error messages come from guests and backends; they are cut
// to this many bytes so that a reply never grows with untrusted input.
inline constexpr size_t kMaxErrorCauseBytes = 1024;

// Which boot errors are worth retrying: a property of the backend (CN-6).
using TransientPredicate = bool (*)(absl::string_view error);

// The seed's vmnet predicate: "vmnet_network_create failed" together with
// VMNET_FAILURE, VMNET_SHARING_SERVICE_BUSY, status=1001 or status=1009.
// Also true for any error that starts with "transient:", so that a simulated
// backend can inject a transient failure without imitating vmnet's wording.
bool IsTransientVmnetBootError(absl::string_view error);

// CN-5: an attempt to connect to the agent failed at `failed_at` with `cause`.
// While less than kAgentConnectTimeout has passed since `first_attempt`, the
// next attempt is due kAgentConnectRetryInterval after the failure (the seed
// sleeps after each failure). Otherwise DeadlineExceeded
// "CN-5: connect to agent timed out after 10s: <cause>".
absl::StatusOr<Instant> NextAgentConnectAttempt(Instant first_attempt,
                                                Instant failed_at,
                                                absl::string_view cause);

// CN-6: boot attempt number `failed_attempt` (1-based) failed at `failed_at`
// with `cause`. A transient error with attempts left is retried
// kBootRetryDelay later. Otherwise the start fails with
// "CN-6: boot failed after N attempt(s): <cause>": Unavailable when the
// attempts ran out on a transient error (trying later may work), Unknown when
// the backend's error is not transient.
absl::StatusOr<Instant> NextBootAttempt(uint32_t failed_attempt,
                                        Instant failed_at,
                                        absl::string_view cause,
                                        TransientPredicate is_transient);

// `cause`, cut to kMaxErrorCauseBytes (on a UTF-8 boundary when it is UTF-8)
// with
// "...(truncated)" appended when it was longer.
std::string BoundedErrorCause(absl::string_view cause);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CONTAINER_RETRY_H_
