// fuzz_failure_reason: VM-6's death classifier (runtime/vm/death_reason.h)
// on arbitrary failure-channel contents. The first bytes choose an exit
// status and whether the VM was hung up; the classifier then runs with that
// status and a fixed set of others, hung up and not. Every result must be a
// DeathReason with a name, and equal what an independent reading of VM-6's
// four steps gives; bytes past kMaxFailureReasonBytes must never matter.
//
// Input: byte 0 bits 0-1 = the exit (0 none, 1 Exit, 2 Signalled, 3 Exit),
// bit 2 = hung up; bytes 1-4 = the code or signal (little-endian int32);
// the rest = what the guest wrote on its failure channel.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/vm_types.h"
#include "runtime/vm/death_reason.h"

namespace {

using proctor::DeathReason;
using proctor::ExitStatus;
using proctor::fuzz::Finding;
using proctor::fuzz::Shown;

constexpr absl::string_view kTarget = "failure_reason";

// VM-6's reason strings, spelled out again from docs/spec.md rather than
// taken from the code under test.
constexpr std::array<std::pair<absl::string_view, DeathReason>, 10> kReasons = {
    {
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

std::optional<DeathReason> ModelReport(absl::string_view bytes) {
  bytes = bytes.substr(0, proctor::kMaxFailureReasonBytes);
  if (!bytes.empty() && bytes.back() == '\n') bytes.remove_suffix(1);
  for (const auto& [name, reason] : kReasons) {
    if (bytes == name) return reason;
  }
  return std::nullopt;
}

DeathReason Model(const std::optional<ExitStatus>& exit,
                  absl::string_view bytes, bool hung_up) {
  if (!exit.has_value()) return DeathReason::kInfrastructureError;
  if (hung_up) return DeathReason::kHangup;
  if (std::optional<DeathReason> reason = ModelReport(bytes)) return *reason;
  if (exit->signalled()) return DeathReason::kKilled;
  switch (exit->code()) {
    case 0:
      return DeathReason::kShutdown;
    case 1:
      return DeathReason::kError;
    case 32:
      return DeathReason::kReboot;
    case 33:
      return DeathReason::kCrash;
    default:
      return DeathReason::kUnknown;
  }
}

std::string Name(DeathReason reason) {
  return absl::StrCat(proctor::DeathReasonName(reason), " (",
                      static_cast<int>(reason), ")");
}

std::string ExitText(const std::optional<ExitStatus>& exit) {
  return exit.has_value() ? proctor::FormatExitStatus(*exit) : "none";
}

void Check(const std::optional<ExitStatus>& exit, absl::string_view bytes,
           bool hung_up) {
  const DeathReason got = proctor::ClassifyDeath(exit, bytes, hung_up);
  bool known = false;
  for (DeathReason reason : proctor::AllDeathReasons()) {
    known = known || reason == got;
  }
  const absl::string_view name = proctor::DeathReasonName(got);
  if (!known || name.empty() || proctor::ParseDeathReason(name) != got) {
    Finding(kTarget,
            absl::StrCat("ClassifyDeath returned ", static_cast<int>(got),
                         ", not a DeathReason with a name, for exit ",
                         ExitText(exit), " on: ", Shown(bytes)));
  }
  const DeathReason want = Model(exit, bytes, hung_up);
  if (got != want) {
    Finding(kTarget, absl::StrCat("ClassifyDeath(", ExitText(exit),
                                  ", hung_up=", hung_up, ") returned ",
                                  Name(got), ", VM-6 says ", Name(want),
                                  " for the report: ", Shown(bytes)));
  }
  if (bytes.size() > proctor::kMaxFailureReasonBytes) {
    const DeathReason bounded = proctor::ClassifyDeath(
        exit, bytes.substr(0, proctor::kMaxFailureReasonBytes), hung_up);
    if (bounded != got) {
      Finding(kTarget, absl::StrCat("bytes past the first ",
                                    proctor::kMaxFailureReasonBytes,
                                    " changed the reason from ", Name(bounded),
                                    " to ", Name(got)));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proctor::fuzz::ByteReader in(data, size);
  const uint8_t mode = in.U8();
  const int32_t value = static_cast<int32_t>(in.U32());
  const absl::string_view report = in.Rest();

  std::optional<ExitStatus> derived;
  switch (mode & 3) {
    case 1:
    case 3:
      derived = ExitStatus::Exited(value);
      break;
    case 2:
      derived = ExitStatus::Signalled(value);
      break;
    default:
      break;
  }
  const bool hung_up = (mode & 4) != 0;

  const std::optional<DeathReason> parsed = proctor::ParseFailureReason(report);
  if (parsed != ModelReport(report)) {
    Finding(kTarget,
            absl::StrCat(
                "ParseFailureReason returned ",
                parsed.has_value() ? Name(*parsed) : "nothing", ", VM-6 says ",
                ModelReport(report).has_value() ? Name(*ModelReport(report))
                                                : "nothing",
                " for: ", Shown(report)));
  }

  Check(derived, report, hung_up);
  const std::array<std::optional<ExitStatus>, 9> kExits = {
      std::nullopt,
      ExitStatus::Exited(0),
      ExitStatus::Exited(proctor::kVmmErrorExitCode),
      ExitStatus::Exited(proctor::kVmmRebootExitCode),
      ExitStatus::Exited(proctor::kVmmCrashExitCode),
      ExitStatus::Exited(-1),
      ExitStatus::Signalled(proctor::kSigKill),
      ExitStatus::Signalled(proctor::kSigTerm),
      ExitStatus::Signalled(value),
  };
  for (const std::optional<ExitStatus>& exit : kExits) {
    Check(exit, report, false);
    Check(exit, report, true);
  }
  return 0;
}
