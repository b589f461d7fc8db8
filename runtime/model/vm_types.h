// The states and reasons of a VM's life (VM-3, VM-4, VM-6), with the stable
// names that traces, scenarios and the conformance protocol use for them.
#ifndef PROCTOR_RUNTIME_MODEL_VM_TYPES_H_
#define PROCTOR_RUNTIME_MODEL_VM_TYPES_H_

#include <cstdint>
#include <optional>
#include <span>

#include "absl/strings/string_view.h"

namespace proctor {

// VM-3.
enum class VmState : uint8_t { kNotStarted, kRunning, kDead, kFailed };

// VM-4: ordered; an update is accepted only when strictly forward.
enum class PayloadState : uint8_t { kStarting, kStarted, kReady, kFinished };

// VM-6. The order is part of the wire format: append only.
enum class DeathReason : uint8_t {
  kInfrastructureError,
  kKilled,
  kUnknown,
  kShutdown,
  kError,
  kReboot,
  kCrash,
  kPvmFirmwarePublicKeyMismatch,
  kPvmFirmwareInstanceImageChanged,
  kBootloaderPublicKeyMismatch,
  kBootloaderInstanceImageChanged,
  kMicrodroidFailedToConnectToVirtualizationService,
  kMicrodroidPayloadHasChanged,
  kMicrodroidPayloadVerificationFailed,
  kMicrodroidInvalidPayloadConfig,
  kMicrodroidUnknownRuntimeError,
  kHangup,
};

// Stable upper-case names: "RUNNING", "STARTED", "HANGUP", ...
absl::string_view VmStateName(VmState state);
absl::string_view PayloadStateName(PayloadState state);
absl::string_view DeathReasonName(DeathReason reason);

std::optional<VmState> ParseVmState(absl::string_view name);
std::optional<PayloadState> ParsePayloadState(absl::string_view name);
std::optional<DeathReason> ParseDeathReason(absl::string_view name);

std::span<const DeathReason> AllDeathReasons();

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_VM_TYPES_H_
