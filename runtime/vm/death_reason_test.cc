#include "runtime/vm/death_reason.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/vm_types.h"

namespace proctor {
namespace {

constexpr std::optional<ExitStatus> kShutdownExit = ExitStatus::Exited(0);

TEST(DeathReasonTest, VM6_EachFailureStringMapsToItsReason) {
  const struct {
    const char* report;
    DeathReason reason;
  } kCases[] = {
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
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.report);
    EXPECT_EQ(ClassifyDeath(kShutdownExit, c.report, false), c.reason);
    EXPECT_EQ(ParseFailureReason(c.report), c.reason);
    // The reason's printed name is the string the guest writes.
    EXPECT_EQ(DeathReasonName(c.reason), c.report);
  }
}

TEST(DeathReasonTest, VM6_FailureStringOverridesAnyExit) {
  for (ExitStatus exit : {ExitStatus::Exited(0), ExitStatus::Exited(1),
                          ExitStatus::Exited(33), ExitStatus::Signalled(9)}) {
    EXPECT_EQ(ClassifyDeath(exit, "MICRODROID_PAYLOAD_HAS_CHANGED", false),
              DeathReason::kMicrodroidPayloadHasChanged);
  }
}

TEST(DeathReasonTest, VM6_OneTrailingNewlineIsIgnored) {
  EXPECT_EQ(ClassifyDeath(kShutdownExit, "HANGUP\n", false),
            DeathReason::kHangup);
  EXPECT_EQ(
      ClassifyDeath(kShutdownExit, "BOOTLOADER_PUBLIC_KEY_MISMATCH\n", false),
      DeathReason::kBootloaderPublicKeyMismatch);
}

TEST(DeathReasonTest, VM6_NearMissesAreNotSpecial) {
  const std::string kNearMisses[] = {
      "HANGUP\n\n",
      " HANGUP",
      "HANGUP ",
      "hangup",
      "Hangup",
      "\nHANGUP",
      "HANGUP\r\n",
      std::string("HANGUP\0", 7),
      std::string("HANG\0UP", 7),
      "HANGUPX",
      "PVM_FIRMWARE_PUBLIC_KEY",
      "SHUTDOWN",  // a reason name, but not one a guest may claim
      "KILLED",
      "",
      "\n",
  };
  for (const std::string& report : kNearMisses) {
    SCOPED_TRACE(testing::PrintToString(report));
    EXPECT_EQ(ParseFailureReason(report), std::nullopt);
    // Not special: the exit (code 0) decides.
    EXPECT_EQ(ClassifyDeath(kShutdownExit, report, false),
              DeathReason::kShutdown);
  }
}

TEST(DeathReasonTest, VM6_ReportBeyondTheBoundIsTruncatedAndNeverMatches) {
  // 5000 bytes that start with a valid reason: only the first 4096 count,
  // and they are not an exact reason string.
  std::string report = "HANGUP\n";
  report.resize(5000, 'x');
  EXPECT_EQ(ClassifyDeath(ExitStatus::Exited(33), report, false),
            DeathReason::kCrash);

  // A reason hidden past the bound is never seen.
  std::string hidden(kMaxFailureReasonBytes, ' ');
  hidden += "HANGUP";
  EXPECT_EQ(ParseFailureReason(hidden), std::nullopt);
}

TEST(DeathReasonTest, VM6_ExitCodesMapToReasons) {
  EXPECT_EQ(ClassifyDeath(ExitStatus::Exited(0), "", false),
            DeathReason::kShutdown);
  EXPECT_EQ(ClassifyDeath(ExitStatus::Exited(1), "", false),
            DeathReason::kError);
  EXPECT_EQ(ClassifyDeath(ExitStatus::Exited(32), "", false),
            DeathReason::kReboot);
  EXPECT_EQ(ClassifyDeath(ExitStatus::Exited(33), "", false),
            DeathReason::kCrash);
  for (int other : {2, 31, 34, 127, 255, -1}) {
    SCOPED_TRACE(other);
    EXPECT_EQ(ClassifyDeath(ExitStatus::Exited(other), "", false),
              DeathReason::kUnknown);
  }
}

TEST(DeathReasonTest, VM6_SignalledIsKilledWhateverTheSignal) {
  // Signal numbers equal to meaningful exit codes must not be read as codes.
  for (int signal : {kSigKill, kSigTerm, 1, 32, 33}) {
    SCOPED_TRACE(signal);
    EXPECT_EQ(ClassifyDeath(ExitStatus::Signalled(signal), "", false),
              DeathReason::kKilled);
  }
}

TEST(DeathReasonTest, VM6_UnobservedExitIsInfrastructureError) {
  EXPECT_EQ(ClassifyDeath(std::nullopt, "", false),
            DeathReason::kInfrastructureError);
  // As in the seed, a failure string only counts once the exit was observed.
  EXPECT_EQ(
      ClassifyDeath(std::nullopt, "MICRODROID_PAYLOAD_HAS_CHANGED", false),
      DeathReason::kInfrastructureError);
  EXPECT_EQ(ClassifyDeath(std::nullopt, "HANGUP", false),
            DeathReason::kInfrastructureError);
}

TEST(DeathReasonTest, VM5_HungUpIsHangupWhateverTheExitOrReport) {
  EXPECT_EQ(ClassifyDeath(ExitStatus::Signalled(kSigKill), "", true),
            DeathReason::kHangup);
  EXPECT_EQ(ClassifyDeath(ExitStatus::Exited(33), "", true),
            DeathReason::kHangup);
  EXPECT_EQ(ClassifyDeath(ExitStatus::Exited(0),
                          "MICRODROID_PAYLOAD_HAS_CHANGED", true),
            DeathReason::kHangup);
}

TEST(DeathReasonTest, VM6_HungUpWithUnobservedExitIsInfrastructureError) {
  EXPECT_EQ(ClassifyDeath(std::nullopt, "", true),
            DeathReason::kInfrastructureError);
}

}  // namespace
}  // namespace proctor
