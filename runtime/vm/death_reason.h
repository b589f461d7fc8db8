// VM-6: why a VM died, decided from how its VMM ended, what the guest wrote
// on its failure channel and whether the supervisor killed it for hanging.
// A pure function so that the sim, the host world and conformance checks all
// classify a death the same way.
#ifndef PROCTOR_RUNTIME_VM_DEATH_REASON_H_
#define PROCTOR_RUNTIME_VM_DEATH_REASON_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/vm_types.h"

namespace proctor {

// VM-6: the failure channel is read at most this far. The guest is untrusted,
// so a runaway writer must not make the supervisor buffer without limit.
inline constexpr uint32_t kMaxFailureReasonBytes = 4096;

// VMM exit codes with a meaning of their own (crosvm's, kept by the seed).
inline constexpr int kVmmErrorExitCode = 1;
inline constexpr int kVmmRebootExitCode = 32;
inline constexpr int kVmmCrashExitCode = 33;

// Classifies a VM's death (VM-6), in this order:
//  1. `exit` absent (the exit could not be observed): INFRASTRUCTURE_ERROR.
//     This comes first even when `hung_up` is set: as in the seed, a failure
//     reason, HANGUP included, only counts once the exit was observed.
//  2. `hung_up` (VM-5 killed the VMM): HANGUP.
//  3. `failure_bytes`, cut to its first kMaxFailureReasonBytes bytes (any
//     excess is discarded, never matched), minus exactly one trailing "\n",
//     matched exactly (case and every byte, NULs included) against the ten
//     reason strings of VM-6. Anything else is not a special reason.
//  4. The exit: signalled -> KILLED; code 0 -> SHUTDOWN, 1 -> ERROR,
//     32 -> REBOOT, 33 -> CRASH, any other -> UNKNOWN.
DeathReason ClassifyDeath(const std::optional<ExitStatus>& exit,
                          absl::string_view failure_bytes, bool hung_up);

// The reason named by a failure-channel report after bounding and stripping
// as in step 3 above; nullopt when the report names none.
std::optional<DeathReason> ParseFailureReason(absl::string_view failure_bytes);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_VM_DEATH_REASON_H_
