#include "runtime/vm/death_reason.h"

#include <array>
#include <utility>

#include "absl/strings/strip.h"

namespace proctor {
namespace {

// The only strings a guest may write to name a reason (VM-6). Spelled out
// here rather than derived from DeathReasonName so that adding a reason to the
// vocabulary never silently widens what an untrusted guest can claim.
constexpr std::array<std::pair<absl::string_view, DeathReason>, 10>
    kFailureReasons = {{
        {"PVM_FIRMWARE_PUBLIC_KEY_MISMATCH",
         DeathReason::kPvmFirmwarePublicKeyMismatch},
        {"PVM_FIRMWARE_INSTANCE_IMAGE_CHANGED",
         DeathReason::kPvmFirmwareInstanceImageChanged},
        {"BOOTLOADER_PUBLIC_KEY_MISMATCH",
         DeathReason::kBootloaderPublicKeyMismatch},
        {"BOOTLOADER_INSTANCE_IMAGE_CHANGED",
         DeathReason::kBootloaderInstanceImageChanged},
        {"MICRODROID_FAILED_TO_CONNECT_TO_VIRTUALIZATION_SERVICE",
         DeathReason::kMicrodroidFailedToConnectToVirtualizationService},
        {"MICRODROID_PAYLOAD_HAS_CHANGED",
         DeathReason::kMicrodroidPayloadHasChanged},
        {"MICRODROID_PAYLOAD_VERIFICATION_FAILED",
         DeathReason::kMicrodroidPayloadVerificationFailed},
        {"MICRODROID_INVALID_PAYLOAD_CONFIG",
         DeathReason::kMicrodroidInvalidPayloadConfig},
        {"MICRODROID_UNKNOWN_RUNTIME_ERROR",
         DeathReason::kMicrodroidUnknownRuntimeError},
        {"HANGUP", DeathReason::kHangup},
    }};

DeathReason ReasonFromExit(const ExitStatus& exit) {
  if (exit.signalled()) return DeathReason::kKilled;
  switch (exit.code()) {
    case 0:
      return DeathReason::kShutdown;
    case kVmmErrorExitCode:
      return DeathReason::kError;
    case kVmmRebootExitCode:
      return DeathReason::kReboot;
    case kVmmCrashExitCode:
      return DeathReason::kCrash;
    default:
      return DeathReason::kUnknown;
  }
}

}  // namespace

std::optional<DeathReason> ParseFailureReason(absl::string_view failure_bytes) {
  absl::string_view report = failure_bytes.substr(0, kMaxFailureReasonBytes);
  // Guests typically end the line they write; only one newline is forgiven so
  // that the match stays exact.
  absl::ConsumeSuffix(&report, "\n");
  for (const auto& [name, reason] : kFailureReasons) {
    if (report == name) return reason;
  }
  return std::nullopt;
}

DeathReason ClassifyDeath(const std::optional<ExitStatus>& exit,
                          absl::string_view failure_bytes, bool hung_up) {
  if (!exit.has_value()) return DeathReason::kInfrastructureError;
  if (hung_up) return DeathReason::kHangup;
  if (auto reason = ParseFailureReason(failure_bytes)) return *reason;
  return ReasonFromExit(*exit);
}

}  // namespace proctor
