// VMM exit codes chosen by the guest, for real: the agent's vmm-exit step
// writes to QEMU's isa-debug-exit device (qemu_command.h, kDebugExitPort)
// and QEMU exits with that code, which VmmExitOfQemu passes on to the
// runtime. Guests boot under QEMU (TCG) from the guest image built with this
// build's proctor-agent; each test runs in ProcessTest (no descriptor or
// child left) and checks that the run folder is gone.
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "guest/image/image.h"
#include "guest/protocol/decoder.h"
#include "guest/protocol/wire.h"
#include "host/qemu/qemu_vm.h"
#include "host/qemu/testing/guest_image_test.h"
#include "host/qemu/vmm_exit.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/vm_types.h"
#include "runtime/vm/death_reason.h"

namespace proctor::host {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A safety bound on one boot under TCG on a loaded 2-core machine; a boot
// takes about 3 s.
constexpr absl::Duration kBootBound = absl::Seconds(120);

// What the listener saw.
class Recorder : public QemuVmListener {
 public:
  void OnStarted() override { log.push_back("started"); }
  void OnAgentReport(const guest::Report& report) override {
    reports.push_back(report);
    log.push_back("report " + std::string(guest::ReportTypeName(report)));
  }
  void OnAgentError(const guest::DecodeError& error) override {
    if (error.after_hello) agent_errors.push_back(error.what);
  }
  void OnQmpEvent(const QmpEvent& event) override {
    qmp_events.push_back(event.name);
    log.push_back(absl::StrCat("qmp ", event.name));
    if (event.kind == QmpEventKind::kShutdown)
      end.shutdown_reason = event.reason;
    if (event.kind == QmpEventKind::kGuestPanicked) end.guest_panicked = true;
  }
  void OnError(const absl::Status& error) override { errors.push_back(error); }
  void OnExited(const QemuExit& result) override {
    log.push_back("exited");
    exit = result;
    end.qemu_status = result.status;
  }

  std::vector<std::string> log;
  std::vector<guest::Report> reports;
  std::vector<std::string> agent_errors;
  std::vector<std::string> qmp_events;
  std::vector<absl::Status> errors;
  std::optional<QemuExit> exit;
  // What VmmExitOfQemu is given, as a world would fill it in.
  QemuEnd end;
};

class VmmExitRealTest : public testing::GuestImageTest {
 protected:
  // Boots the image with `behaviour` and runs the loop until QEMU has
  // exited; the VM is destroyed before this returns.
  void Boot(const std::string& behaviour, Recorder* recorder) {
    QemuVmSpec spec;
    spec.config.cid = Cid{3};
    spec.config.kernel = "/images/vmlinux";
    spec.kernel = image().kernel;
    spec.initrd = image().initrd;
    absl::StatusOr<std::string> parameter =
        guest::BehaviourKernelParameter(behaviour);
    ASSERT_TRUE(parameter.ok()) << parameter.status();
    spec.options.behaviour_parameter = *parameter;
    spec.run_parent = parent_;
    absl::StatusOr<std::unique_ptr<QemuVm>> vm =
        QemuVm::Start(&loop(), std::move(spec), recorder);
    ASSERT_TRUE(vm.ok()) << vm.status();
    const std::string run_dir = (*vm)->run_dir();
    const Instant spawned = (*vm)->spawned_at();
    absl::Status run = loop().RunUntil(
        [&] { return recorder->exit.has_value(); }, loop().Now() + kBootBound);
    EXPECT_TRUE(run.ok()) << run;
    if (HasFailure()) {
      absl::StatusOr<std::string> console = (*vm)->ConsoleTail(8192);
      std::printf("console tail:\n%s\n",
                  console.ok() ? console->c_str()
                               : console.status().ToString().c_str());
      for (const std::string& line : recorder->log) {
        std::printf("  %s\n", line.c_str());
      }
    }
    std::printf("[figure] %s: spawn to QEMU's exit %.2f s\n", behaviour.c_str(),
                absl::ToDoubleSeconds(loop().Now() - spawned));
    vm->reset();
    EXPECT_FALSE(std::filesystem::exists(run_dir)) << run_dir;
  }
};

std::string ReasonOf(const QemuEnd& end, absl::string_view failure) {
  return std::string(DeathReasonName(
      ClassifyDeath(VmmExitOfQemu(end), failure, /*hung_up=*/false)));
}

TEST_F(VmmExitRealTest, VM6_GuestMakesQemuExitWithItsCode) {
  for (int code : {7, 255}) {
    SCOPED_TRACE(code);
    Recorder recorder;
    Boot(absl::StrCat("started,vmm-exit:", code), &recorder);
    ASSERT_TRUE(recorder.exit.has_value());
    const QemuExit& exit = *recorder.exit;
    EXPECT_EQ(exit.status, ExitStatus::Exited(code)) << exit.stderr_text;
    EXPECT_TRUE(exit.started);
    EXPECT_EQ(exit.failure_bytes, "");
    // No action line (protocol version 1 has no word for a VMM exit), and
    // no SHUTDOWN: isa-debug-exit ends QEMU at once.
    ASSERT_EQ(recorder.reports.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<guest::Hello>(recorder.reports[0]));
    EXPECT_EQ(recorder.reports[1], guest::Report(guest::Started{}));
    EXPECT_THAT(recorder.qmp_events, ElementsAre("RESUME"));
    EXPECT_THAT(recorder.agent_errors, IsEmpty());
    EXPECT_THAT(recorder.errors, IsEmpty());
    EXPECT_EQ(VmmExitOfQemu(recorder.end), ExitStatus::Exited(code));
    EXPECT_EQ(ReasonOf(recorder.end, exit.failure_bytes), "UNKNOWN");
  }
}

TEST_F(VmmExitRealTest, VM6_FailureReasonReachesTheHostBeforeTheExit) {
  Recorder recorder;
  Boot("failure:MICRODROID_PAYLOAD_HAS_CHANGED,vmm-exit:7", &recorder);
  ASSERT_TRUE(recorder.exit.has_value());
  const QemuExit& exit = *recorder.exit;
  EXPECT_EQ(exit.status, ExitStatus::Exited(7)) << exit.stderr_text;
  // The agent drained ttyS1 before the port write ended QEMU.
  EXPECT_EQ(exit.failure_bytes, "MICRODROID_PAYLOAD_HAS_CHANGED");
  EXPECT_EQ(exit.failure_bytes_dropped, 0u);
  ASSERT_EQ(recorder.reports.size(), 2u);
  EXPECT_EQ(
      recorder.reports[1],
      guest::Report(guest::FailureWritten{"MICRODROID_PAYLOAD_HAS_CHANGED"}));
  EXPECT_EQ(VmmExitOfQemu(recorder.end), ExitStatus::Exited(7));
  // VM-6: the failure reason wins over the exit.
  EXPECT_EQ(ReasonOf(recorder.end, exit.failure_bytes),
            "MICRODROID_PAYLOAD_HAS_CHANGED");
}

}  // namespace
}  // namespace proctor::host
