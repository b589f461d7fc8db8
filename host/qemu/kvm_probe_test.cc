// The KVM probe's decisions without booting anything: each way a probe boot
// can go, judged, and the paths that end before a boot (an unusable device,
// bad options).
#include "host/qemu/kvm_probe.h"

#include <stdlib.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/qemu/qemu_command.h"
#include "host/qemu/qemu_vm.h"
#include "runtime/model/exit_status.h"

namespace proctor::host {
namespace {

using ::testing::HasSubstr;

QemuExit Exited(ExitStatus status, bool started = true,
                std::string stderr_text = "") {
  return QemuExit{.status = status,
                  .failure_bytes = "",
                  .failure_bytes_dropped = 0,
                  .stderr_text = std::move(stderr_text),
                  .started = started,
                  .start_error = absl::OkStatus()};
}

KvmProbeOutcome Outcome(bool hello, std::optional<QemuExit> exit,
                        std::string shutdown_reason = "") {
  return KvmProbeOutcome{.hello = hello,
                         .exit = std::move(exit),
                         .shutdown_reason = std::move(shutdown_reason),
                         .timeout = absl::Seconds(10),
                         .took = absl::Milliseconds(623)};
}

TEST(JudgeKvmProbeTest, HelloAndPowerOffIsKvm) {
  const AccelChoice choice = JudgeKvmProbe(
      Outcome(true, Exited(ExitStatus::Exited(0)), "guest-shutdown"));
  EXPECT_EQ(choice.accel, QemuAccel::kKvm);
  EXPECT_EQ(choice.reason,
            "KVM probe: the guest booted and powered off under KVM in 0.623 "
            "s; using KVM");
  EXPECT_EQ(choice.took, absl::Milliseconds(623));
}

TEST(JudgeKvmProbeTest, NoHelloInTimeIsAHang) {
  const AccelChoice choice = JudgeKvmProbe(Outcome(false, std::nullopt));
  EXPECT_EQ(choice.accel, QemuAccel::kTcg);
  EXPECT_EQ(choice.reason,
            "KVM probe: no hello from the guest within 10 s (guests hang "
            "under KVM on this host); using TCG");
}

TEST(JudgeKvmProbeTest, HelloButNoExitInTime) {
  EXPECT_EQ(JudgeKvmProbe(Outcome(true, std::nullopt)).reason,
            "KVM probe: the guest said hello but QEMU had not exited within "
            "10 s; using TCG");
}

TEST(JudgeKvmProbeTest, QemuThatRefusesKvmSaysWhy) {
  const AccelChoice choice = JudgeKvmProbe(Outcome(
      false, Exited(ExitStatus::Exited(1), /*started=*/false,
                    "Could not access KVM kernel module: No such file or "
                    "directory\nqemu-system-x86_64: failed to initialize "
                    "kvm\n")));
  EXPECT_EQ(choice.accel, QemuAccel::kTcg);
  EXPECT_EQ(choice.reason,
            "KVM probe: QEMU exited with Exit(1) before the guest started "
            "(QEMU: Could not access KVM kernel module: No such file or "
            "directory); using TCG");
}

TEST(JudgeKvmProbeTest, EveryOtherEndIsTcg) {
  EXPECT_EQ(
      JudgeKvmProbe(Outcome(false, Exited(ExitStatus::Exited(0)), "")).reason,
      "KVM probe: QEMU ended with Exit(0) and no SHUTDOWN event before the "
      "guest said hello; using TCG");
  EXPECT_EQ(
      JudgeKvmProbe(Outcome(true, Exited(ExitStatus::Exited(0)), "guest-reset"))
          .reason,
      "KVM probe: the guest said hello but QEMU ended with Exit(0) "
      "after SHUTDOWN guest-reset, not a guest power-off; using TCG");
  const AccelChoice crashed =
      JudgeKvmProbe(Outcome(true,
                            Exited(ExitStatus::Exited(1), true,
                                   "KVM internal error. Suberror: 1\nmore\n"),
                            "guest-shutdown"));
  EXPECT_EQ(crashed.accel, QemuAccel::kTcg);
  EXPECT_EQ(crashed.reason,
            "KVM probe: the guest said hello but QEMU ended with Exit(1) after "
            "SHUTDOWN guest-shutdown, not a guest power-off (QEMU: KVM "
            "internal error. Suberror: 1); using TCG");
  // A long stderr line is cut.
  const AccelChoice long_line = JudgeKvmProbe(Outcome(
      false, Exited(ExitStatus::Exited(1), false, std::string(1000, 'x'))));
  EXPECT_THAT(long_line.reason, HasSubstr(std::string(256, 'x') + "...)"));
  EXPECT_LT(long_line.reason.size(), 400u);
}

TEST(KvmDeviceProblemTest, MissingOrUnwritableDeviceIsTcg) {
  EXPECT_EQ(KvmDeviceProblem("/no/such/kvm"),
            "KVM probe: cannot open /no/such/kvm read-write: No such file or "
            "directory; using TCG");
  // A directory cannot be opened for writing, even by root.
  EXPECT_EQ(KvmDeviceProblem("/"),
            "KVM probe: cannot open / read-write: Is a directory; using TCG");
  EXPECT_EQ(KvmDeviceProblem("/dev/null"), std::nullopt);
}

TEST(ChooseAccelTest, NoDeviceChoosesTcgWithoutBooting) {
  KvmProbeOptions options;
  options.qemu_binary = "/no/such/qemu";  // never started
  options.kernel = "/no/such/vmlinuz";
  options.initrd = "/no/such/initrd";
  options.run_parent = "/no/such/dir";
  options.kvm_device = "/no/such/kvm";
  absl::StatusOr<AccelChoice> choice = ChooseAccel(options);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->accel, QemuAccel::kTcg);
  EXPECT_THAT(choice->reason, HasSubstr("cannot open /no/such/kvm"));
  EXPECT_LT(choice->took, absl::Seconds(1));
}

TEST(ChooseAccelTest, BadOptionsAreRefused) {
  KvmProbeOptions options;
  options.kernel = "/img/vmlinuz";
  options.initrd = "/img/initrd.img";
  options.run_parent = "/tmp";
  KvmProbeOptions no_kernel = options;
  no_kernel.kernel.clear();
  EXPECT_EQ(ChooseAccel(no_kernel).status(),
            absl::InvalidArgumentError("KVM probe: kernel is empty"));
  KvmProbeOptions no_initrd = options;
  no_initrd.initrd.clear();
  EXPECT_EQ(ChooseAccel(no_initrd).status(),
            absl::InvalidArgumentError("KVM probe: initrd is empty"));
  KvmProbeOptions no_parent = options;
  no_parent.run_parent.clear();
  EXPECT_EQ(ChooseAccel(no_parent).status(),
            absl::InvalidArgumentError("KVM probe: run_parent is empty"));
  KvmProbeOptions no_time = options;
  no_time.timeout = absl::ZeroDuration();
  EXPECT_EQ(ChooseAccel(no_time).status(),
            absl::InvalidArgumentError(
                "KVM probe: the timeout must be positive, not 0"));
}

}  // namespace
}  // namespace proctor::host
