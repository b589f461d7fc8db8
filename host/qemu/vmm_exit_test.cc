// VM-6 on QEMU: each way a guest or QEMU ends, mapped to the VMM exit the
// runtime is told, and through the runtime's own classifier to the death
// reason issue 7 asks for.
#include "host/qemu/vmm_exit.h"

#include <signal.h>

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "runtime/model/vm_types.h"
#include "runtime/vm/death_reason.h"

namespace proctor::host {
namespace {

std::string ReasonOf(const QemuEnd& end, absl::string_view failure = "") {
  return std::string(DeathReasonName(
      ClassifyDeath(VmmExitOfQemu(end), failure, /*hung_up=*/false)));
}

TEST(VmmExitOfQemuTest, VM6_PowerOffIsShutdown) {
  const QemuEnd end{ExitStatus::Exited(0), "guest-shutdown", false};
  EXPECT_EQ(VmmExitOfQemu(end), ExitStatus::Exited(0));
  EXPECT_EQ(ReasonOf(end), "SHUTDOWN");
}

TEST(VmmExitOfQemuTest, VM6_RebootIsReboot) {
  const QemuEnd end{ExitStatus::Exited(0), "guest-reset", false};
  EXPECT_EQ(VmmExitOfQemu(end), ExitStatus::Exited(32));
  EXPECT_EQ(ReasonOf(end), "REBOOT");
}

TEST(VmmExitOfQemuTest, VM6_KernelPanicIsCrash) {
  // pvpanic reports GUEST_PANICKED, then SHUTDOWN guest-panic.
  EXPECT_EQ(ReasonOf({ExitStatus::Exited(0), "guest-panic", true}), "CRASH");
  EXPECT_EQ(ReasonOf({ExitStatus::Exited(0), "", true}), "CRASH");
  EXPECT_EQ(ReasonOf({ExitStatus::Exited(0), "guest-panic", false}), "CRASH");
}

TEST(VmmExitOfQemuTest, VM6_KilledIsKilled) {
  const QemuEnd end{ExitStatus::Signalled(SIGKILL), "", false};
  EXPECT_EQ(VmmExitOfQemu(end), ExitStatus::Signalled(SIGKILL));
  EXPECT_EQ(ReasonOf(end), "KILLED");
  // Even after the guest had panicked: the signal is what ended QEMU.
  EXPECT_EQ(ReasonOf({ExitStatus::Signalled(SIGKILL), "", true}), "KILLED");
}

TEST(VmmExitOfQemuTest, VM6_FailureReasonWinsOverTheExit) {
  const QemuEnd end{ExitStatus::Exited(0), "guest-shutdown", false};
  EXPECT_EQ(ReasonOf(end, "MICRODROID_PAYLOAD_HAS_CHANGED\n"),
            "MICRODROID_PAYLOAD_HAS_CHANGED");
}

TEST(VmmExitOfQemuTest, VM6_QemuErrorsAreErrors) {
  const QemuEnd failed{ExitStatus::Exited(1), "", false};
  EXPECT_EQ(VmmExitOfQemu(failed), ExitStatus::Exited(1));
  EXPECT_EQ(ReasonOf(failed), "ERROR");
  // QEMU ended the run without the guest shutting down.
  EXPECT_EQ(ReasonOf({ExitStatus::Exited(0), "host-qmp-quit", false}), "ERROR");
}

// isa-debug-exit (the agent's vmm-exit:N) ends QEMU with an odd code and no
// SHUTDOWN event: the code reaches the runtime unchanged.
TEST(VmmExitOfQemuTest, VM6_GuestChosenExitCodesPassThrough) {
  for (int code : {7, 255}) {
    const QemuEnd end{ExitStatus::Exited(code), "", false};
    EXPECT_EQ(VmmExitOfQemu(end), ExitStatus::Exited(code));
    EXPECT_EQ(ReasonOf(end), "UNKNOWN") << code;
  }
  // vmm-exit:1 is crosvm's error code, so it reads as ERROR.
  EXPECT_EQ(ReasonOf({ExitStatus::Exited(1), "", false}), "ERROR");
  // Any non-zero code passes, not only the odd ones isa-debug-exit makes.
  EXPECT_EQ(VmmExitOfQemu({ExitStatus::Exited(2), "", false}),
            ExitStatus::Exited(2));
  // A failure reason on ttyS1 still wins (VM-6).
  EXPECT_EQ(ReasonOf({ExitStatus::Exited(7), "", false},
                     "MICRODROID_PAYLOAD_HAS_CHANGED"),
            "MICRODROID_PAYLOAD_HAS_CHANGED");
}

TEST(VmmExitOfQemuTest, VM6_PanicAndRebootWinOverANonZeroExit) {
  EXPECT_EQ(VmmExitOfQemu({ExitStatus::Exited(7), "", true}),
            ExitStatus::Exited(33));
  EXPECT_EQ(VmmExitOfQemu({ExitStatus::Exited(7), "guest-panic", false}),
            ExitStatus::Exited(33));
  EXPECT_EQ(VmmExitOfQemu({ExitStatus::Exited(7), "guest-reset", false}),
            ExitStatus::Exited(32));
}

TEST(VmmExitOfQemuTest, VM6_UnobservedExitIsInfrastructureError) {
  const QemuEnd end{std::nullopt, "guest-shutdown", false};
  EXPECT_EQ(VmmExitOfQemu(end), std::nullopt);
  EXPECT_EQ(ReasonOf(end), "INFRASTRUCTURE_ERROR");
}

}  // namespace
}  // namespace proctor::host
