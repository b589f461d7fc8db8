// QemuVm for real: guests booted under QEMU (TCG) from the guest image built
// with this build's proctor-agent, watched on the event loop until QEMU
// exits. Each test runs in ProcessTest, which fails it if a descriptor
// leaked or any child (running or zombie) is left. Waits end on real events,
// with kBootBound as a safety bound. Figures are printed as "[figure]" lines.
#include "host/qemu/qemu_vm.h"

#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "guest/image/image.h"
#include "guest/protocol/decoder.h"
#include "guest/protocol/wire.h"
#include "host/qemu/testing/guest_image_test.h"
#include "runtime/model/exit_status.h"

namespace proctor::host {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A safety bound on one boot under TCG on a loaded 2-core machine; a boot
// takes about 3 s.
constexpr absl::Duration kBootBound = absl::Seconds(120);

// What the listener saw, with the loop time of each call.
class Recorder : public QemuVmListener {
 public:
  explicit Recorder(EventLoop* loop) : loop_(loop) {}

  void OnStarted() override {
    started_at = loop_->Now();
    log.push_back("started");
    if (on_started) on_started();
  }
  void OnAgentReport(const guest::Report& report) override {
    reports.push_back(report);
    log.push_back("report " + std::string(guest::ReportTypeName(report)));
    if (std::holds_alternative<guest::Started>(report)) {
      agent_started_at = loop_->Now();
    }
    if (on_report) on_report(report);
  }
  void OnAgentError(const guest::DecodeError& error) override {
    (error.after_hello ? agent_errors : boot_noise).push_back(error);
  }
  void OnQmpEvent(const QmpEvent& event) override {
    qmp_events.push_back(event);
    log.push_back(absl::StrCat("qmp ", event.name));
    if (on_event) on_event(event);
  }
  void OnError(const absl::Status& error) override { errors.push_back(error); }
  void OnExited(const QemuExit& result) override {
    log.push_back("exited");
    exit = result;
  }

  std::optional<Instant> started_at;
  std::optional<Instant> agent_started_at;
  std::vector<std::string> log;
  std::vector<guest::Report> reports;
  std::vector<guest::DecodeError> agent_errors;
  std::vector<guest::DecodeError> boot_noise;
  std::vector<QmpEvent> qmp_events;
  std::vector<absl::Status> errors;
  std::optional<QemuExit> exit;
  std::function<void()> on_started;
  std::function<void(const guest::Report&)> on_report;
  std::function<void(const QmpEvent&)> on_event;

 private:
  EventLoop* loop_;
};

class QemuVmTest : public testing::GuestImageTest {
 protected:
  void TearDown() override {
    vm_.reset();
    GuestImageTest::TearDown();
  }

  QemuVmSpec Spec(const std::string& behaviour) {
    QemuVmSpec spec;
    spec.config.cid = Cid{3};
    spec.config.kernel = "/images/vmlinux";
    spec.kernel = image().kernel;
    spec.initrd = image().initrd;
    absl::StatusOr<std::string> parameter =
        guest::BehaviourKernelParameter(behaviour);
    EXPECT_TRUE(parameter.ok()) << parameter.status();
    spec.options.behaviour_parameter = parameter.value_or("");
    spec.run_parent = parent_;
    return spec;
  }

  // Starts the VM and runs the loop until QEMU has exited.
  void RunToExit(QemuVmSpec spec, Recorder* recorder) {
    absl::StatusOr<std::unique_ptr<QemuVm>> vm =
        QemuVm::Start(&loop(), std::move(spec), recorder);
    ASSERT_TRUE(vm.ok()) << vm.status();
    vm_ = *std::move(vm);
    run_dir_ = vm_->run_dir();
    EXPECT_TRUE(std::filesystem::is_directory(run_dir_));
    absl::Status run = loop().RunUntil(
        [&] { return recorder->exit.has_value(); }, loop().Now() + kBootBound);
    EXPECT_TRUE(run.ok()) << run;
    if (HasFailure()) {
      absl::StatusOr<std::string> console = vm_->ConsoleTail(8192);
      std::printf("console tail:\n%s\n",
                  console.ok() ? console->c_str()
                               : console.status().ToString().c_str());
      for (const std::string& line : recorder->log) {
        std::printf("  %s\n", line.c_str());
      }
    }
  }

  // Destroys the VM and checks its run folder went with it.
  void DestroyVm() {
    vm_.reset();
    EXPECT_FALSE(std::filesystem::exists(run_dir_)) << run_dir_;
  }

  static std::vector<std::string> Names(const std::vector<QmpEvent>& events) {
    std::vector<std::string> names;
    for (const QmpEvent& event : events) names.push_back(event.name);
    return names;
  }

  std::string run_dir_;
  std::unique_ptr<QemuVm> vm_;
};

TEST_F(QemuVmTest, GuestRunsItsScriptAndPowersOff) {
  Recorder recorder(&loop());
  RunToExit(Spec("started,ready,sleep:200,exit:3"), &recorder);
  ASSERT_TRUE(recorder.exit.has_value());
  const QemuExit& exit = *recorder.exit;

  ASSERT_EQ(recorder.reports.size(), 5u);
  const auto* hello = std::get_if<guest::Hello>(&recorder.reports[0]);
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->mode, guest::AgentMode::kInit);
  EXPECT_EQ(hello->script, "started,ready,sleep:200,exit:3");
  EXPECT_THAT(
      recorder.reports,
      ElementsAre(
          guest::Report(*hello), guest::Report(guest::Started{}),
          guest::Report(guest::Ready{}), guest::Report(guest::Finished{3}),
          guest::Report(guest::ActionReport{guest::AgentAction::kPowerOff})));
  EXPECT_THAT(recorder.agent_errors, IsEmpty());
  EXPECT_THAT(recorder.errors, IsEmpty());

  // RESUME is the "cont" that let the guest run.
  EXPECT_THAT(Names(recorder.qmp_events), ElementsAre("RESUME", "SHUTDOWN"));
  EXPECT_TRUE(recorder.qmp_events.back().guest);
  EXPECT_EQ(recorder.qmp_events.back().reason, "guest-shutdown");

  EXPECT_EQ(exit.status, ExitStatus::Exited(0));
  EXPECT_TRUE(exit.started);
  EXPECT_TRUE(exit.start_error.ok());
  EXPECT_EQ(exit.failure_bytes, "");
  EXPECT_EQ(exit.failure_bytes_dropped, 0u);
  // The order the owner sees: running, the agent's reports, then the exit.
  ASSERT_GE(recorder.log.size(), 3u);
  EXPECT_EQ(recorder.log[0], "qmp RESUME");
  EXPECT_EQ(recorder.log[1], "started");
  EXPECT_EQ(recorder.log.back(), "exited");
  EXPECT_EQ(recorder.log[recorder.log.size() - 2], "qmp SHUTDOWN");

  EXPECT_FALSE(vm_->started() && !vm_->exited());
  ASSERT_TRUE(recorder.started_at.has_value());
  ASSERT_TRUE(recorder.agent_started_at.has_value());
  std::printf(
      "[figure] spawn to running (QMP negotiated, cont answered) %.3f s; "
      "spawn to the agent's started %.2f s; %zu lines of boot noise\n",
      absl::ToDoubleSeconds(*recorder.started_at - vm_->spawned_at()),
      absl::ToDoubleSeconds(*recorder.agent_started_at - vm_->spawned_at()),
      recorder.boot_noise.size());
  DestroyVm();
}

TEST_F(QemuVmTest, PanicIsGuestPanicked) {
  Recorder recorder(&loop());
  RunToExit(Spec("panic"), &recorder);
  ASSERT_TRUE(recorder.exit.has_value());
  std::vector<std::string> names = Names(recorder.qmp_events);
  EXPECT_THAT(names, ::testing::Contains("GUEST_PANICKED"));
  for (const QmpEvent& event : recorder.qmp_events) {
    if (event.kind == QmpEventKind::kGuestPanicked) {
      EXPECT_EQ(event.panic_action, "poweroff");
    }
    if (event.kind == QmpEventKind::kShutdown) {
      EXPECT_EQ(event.reason, "guest-panic");
    }
  }
  EXPECT_EQ(recorder.exit->status, ExitStatus::Exited(0));
  ASSERT_FALSE(recorder.reports.empty());
  EXPECT_EQ(recorder.reports.back(),
            guest::Report(guest::ActionReport{guest::AgentAction::kPanic}));
  EXPECT_THAT(recorder.errors, IsEmpty());
  DestroyVm();
}

// One boot for the commands: a message to the agent and its ack, stop and
// cont over QMP (PW-3), then a kill.
TEST_F(QemuVmTest, MessagesStopContAndKill) {
  Recorder recorder(&loop());
  std::vector<absl::Status> done;
  recorder.on_report = [&](const guest::Report& report) {
    if (std::holds_alternative<guest::Ready>(report)) {
      EXPECT_TRUE(
          vm_->SendCommand(guest::HostMessage{.id = 7, .data = "hi"}).ok());
    } else if (std::holds_alternative<guest::Ack>(report)) {
      EXPECT_TRUE(vm_->Stop([&](absl::Status s) { done.push_back(s); }).ok());
    }
  };
  recorder.on_event = [&](const QmpEvent& event) {
    if (event.kind == QmpEventKind::kStop) {
      EXPECT_TRUE(vm_->Cont([&](absl::Status s) {
                       done.push_back(s);
                       EXPECT_TRUE(vm_->Kill().ok());
                     })
                      .ok());
    }
  };
  QemuVmSpec spec = Spec("started,ready");
  RunToExit(std::move(spec), &recorder);
  ASSERT_TRUE(recorder.exit.has_value());
  EXPECT_THAT(recorder.reports,
              ::testing::Contains(guest::Report(guest::Ack{7})));
  EXPECT_THAT(Names(recorder.qmp_events),
              ElementsAre("RESUME", "STOP", "RESUME"));
  EXPECT_THAT(done, ElementsAre(absl::OkStatus(), absl::OkStatus()));
  EXPECT_EQ(recorder.exit->status, ExitStatus::Signalled(SIGKILL));
  EXPECT_TRUE(recorder.exit->started);
  EXPECT_TRUE(vm_->exited());
  EXPECT_EQ(vm_->Stop().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(vm_->Kill().ok());  // nothing to do
  DestroyVm();
}

TEST_F(QemuVmTest, SendBeforeHelloIsRefused) {
  Recorder recorder(&loop());
  absl::Status early;
  recorder.on_started = [&] {
    early = vm_->SendCommand(guest::RunScript{"exit:0"});
    EXPECT_TRUE(vm_->Kill().ok());
  };
  RunToExit(Spec("started"), &recorder);
  EXPECT_EQ(early, absl::FailedPreconditionError(
                       "vm 3: cannot send to the agent before its hello"));
  ASSERT_TRUE(recorder.exit.has_value());
  EXPECT_EQ(recorder.exit->status, ExitStatus::Signalled(SIGKILL));
  DestroyVm();
}

TEST_F(QemuVmTest, QemuThatCannotStartSaysWhy) {
  Recorder recorder(&loop());
  QemuVmSpec spec = Spec("started");
  spec.kernel = "/no/such/vmlinuz";
  RunToExit(std::move(spec), &recorder);
  ASSERT_TRUE(recorder.exit.has_value());
  const QemuExit& exit = *recorder.exit;
  EXPECT_EQ(exit.status, ExitStatus::Exited(1));
  EXPECT_FALSE(exit.started);
  EXPECT_THAT(exit.stderr_text, HasSubstr("/no/such/vmlinuz"));
  EXPECT_EQ(exit.start_error.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(exit.start_error.message()),
              HasSubstr("vm 3: QEMU exited with Exit(1) before the guest "
                        "started: "));
  EXPECT_THAT(std::string(exit.start_error.message()),
              HasSubstr(exit.stderr_text));
  EXPECT_THAT(recorder.log, ElementsAre("exited"));
  std::printf("[figure] QEMU's message for a missing kernel: %s",
              exit.stderr_text.c_str());
  DestroyVm();
}

TEST_F(QemuVmTest, MissingBinaryFailsStartAndLeavesNothing) {
  Recorder recorder(&loop());
  QemuVmSpec spec = Spec("started");
  spec.qemu_binary = "/no/such/qemu-system-x86_64";
  absl::StatusOr<std::unique_ptr<QemuVm>> vm =
      QemuVm::Start(&loop(), std::move(spec), &recorder);
  EXPECT_EQ(vm.status(),
            absl::NotFoundError("vm 3: spawning QEMU: exec "
                                "/no/such/qemu-system-x86_64: No such file or "
                                "directory"));
  EXPECT_TRUE(std::filesystem::is_empty(parent_));
  QemuVmSpec bad = Spec("started");
  bad.config.protected_vm = true;
  EXPECT_EQ(QemuVm::Start(&loop(), std::move(bad), &recorder).status().code(),
            absl::StatusCode::kUnimplemented);
  QemuVmSpec long_parent = Spec("started");
  long_parent.run_parent = parent_ + "/" + std::string(80, 'p');
  std::filesystem::create_directory(long_parent.run_parent);
  EXPECT_EQ(QemuVm::Start(&loop(), long_parent, &recorder).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(std::filesystem::is_empty(long_parent.run_parent));
  std::filesystem::remove(long_parent.run_parent);
  EXPECT_THAT(recorder.log, IsEmpty());
}

}  // namespace
}  // namespace proctor::host
