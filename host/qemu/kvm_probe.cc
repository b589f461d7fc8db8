#include "host/qemu/kvm_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "guest/protocol/decoder.h"
#include "guest/protocol/wire.h"
#include "host/io/event_loop.h"
#include "host/qemu/qmp_client.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/time.h"
#include "runtime/model/vm_config.h"

namespace proctor::host {
namespace {

constexpr absl::string_view kPrefix = "KVM probe: ";
constexpr absl::string_view kUsingTcg = "; using TCG";
// QEMU's stderr in a reason: enough for its one-line error message.
constexpr size_t kMaxStderrInReason = 256;

// "10 s", "0.623 s": milliseconds are as fine as a probe needs.
std::string Seconds(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Milliseconds(d) / 1000.0, " s");
}

// QEMU's first stderr line, cut short, for a reason; empty when none.
std::string StderrLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > kMaxStderrInReason) {
    line.resize(kMaxStderrInReason);
    line += "...";
  }
  return line;
}

AccelChoice Tcg(std::string what, absl::Duration took) {
  return AccelChoice{QemuAccel::kTcg, absl::StrCat(kPrefix, what, kUsingTcg),
                     took};
}

// Records what the probe VM did; the probe only needs the hello, the
// SHUTDOWN reason and the exit.
class ProbeListener : public QemuVmListener {
 public:
  void OnStarted() override {}
  void OnAgentReport(const guest::Report& report) override {
    if (std::holds_alternative<guest::Hello>(report)) hello = true;
  }
  void OnAgentError(const guest::DecodeError&) override {}
  void OnQmpEvent(const QmpEvent& event) override {
    if (event.kind == QmpEventKind::kShutdown) shutdown_reason = event.reason;
  }
  void OnError(const absl::Status&) override {}
  void OnExited(const QemuExit& result) override { exit = result; }

  bool hello = false;
  std::string shutdown_reason;
  std::optional<QemuExit> exit;
};

}  // namespace

std::optional<std::string> KvmDeviceProblem(const std::string& path) {
  // Read-write is what QEMU opens it with; a device only root may write
  // fails here rather than in QEMU.
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    return absl::StrCat(kPrefix, "cannot open ", path,
                        " read-write: ", std::strerror(error), kUsingTcg);
  }
  ::close(fd);
  return std::nullopt;
}

AccelChoice JudgeKvmProbe(const KvmProbeOutcome& outcome) {
  const std::string within = Seconds(outcome.timeout);
  if (!outcome.exit.has_value()) {
    if (!outcome.hello) {
      return Tcg(absl::StrCat("no hello from the guest within ", within,
                              " (guests hang under KVM on this host)"),
                 outcome.took);
    }
    return Tcg(absl::StrCat("the guest said hello but QEMU had not exited "
                            "within ",
                            within),
               outcome.took);
  }
  const QemuExit& exit = *outcome.exit;
  const std::string stderr_line = StderrLine(exit.stderr_text);
  const std::string qemu_said =
      stderr_line.empty() ? "" : absl::StrCat(" (QEMU: ", stderr_line, ")");
  if (!exit.started) {
    // QEMU refused to start: "Could not access KVM kernel module", ...
    return Tcg(absl::StrCat("QEMU exited with ", FormatExitStatus(exit.status),
                            " before the guest started", qemu_said),
               outcome.took);
  }
  const std::string ended = absl::StrCat(
      "QEMU ended with ", FormatExitStatus(exit.status),
      outcome.shutdown_reason.empty()
          ? " and no SHUTDOWN event"
          : absl::StrCat(" after SHUTDOWN ", outcome.shutdown_reason));
  if (!outcome.hello) {
    return Tcg(absl::StrCat(ended, " before the guest said hello", qemu_said),
               outcome.took);
  }
  if (exit.status != ExitStatus::Exited(0) ||
      outcome.shutdown_reason != "guest-shutdown") {
    return Tcg(absl::StrCat("the guest said hello but ", ended,
                            ", not a guest power-off", qemu_said),
               outcome.took);
  }
  return AccelChoice{
      QemuAccel::kKvm,
      absl::StrCat(kPrefix, "the guest booted and powered off under KVM in ",
                   Seconds(outcome.took), "; using KVM"),
      outcome.took};
}

absl::StatusOr<AccelChoice> ChooseAccel(const KvmProbeOptions& options) {
  if (options.kernel.empty() || options.initrd.empty() ||
      options.run_parent.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kPrefix,
                     options.kernel.empty()   ? "kernel"
                     : options.initrd.empty() ? "initrd"
                                              : "run_parent",
                     " is empty"));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kPrefix, "the timeout must be positive, not ",
                     absl::FormatDuration(options.timeout)));
  }
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) return loop.status();
  const Instant start = (*loop)->Now();
  if (std::optional<std::string> problem =
          KvmDeviceProblem(options.kvm_device)) {
    return AccelChoice{QemuAccel::kTcg, *std::move(problem),
                       (*loop)->Now() - start};
  }

  QemuVmSpec spec;
  spec.config.kernel = options.kernel;
  spec.qemu_binary = options.qemu_binary;
  spec.kernel = options.kernel;
  spec.initrd = options.initrd;
  spec.options.accel = QemuAccel::kKvm;
  absl::StatusOr<std::string> behaviour =
      guest::BehaviourKernelParameter(kKvmProbeBehaviour);
  if (!behaviour.ok()) return behaviour.status();
  spec.options.behaviour_parameter = *std::move(behaviour);
  spec.run_parent = options.run_parent;
  spec.name = "KVM probe";

  ProbeListener listener;
  absl::StatusOr<std::unique_ptr<QemuVm>> vm =
      QemuVm::Start(loop->get(), std::move(spec), &listener);
  if (!vm.ok()) return vm.status();
  absl::Status run =
      (*loop)->RunUntil([&listener] { return listener.exit.has_value(); },
                        start + options.timeout);
  // Kills and reaps QEMU if it still runs (a hung guest), and removes the
  // run folder, before anything is decided.
  vm->reset();
  if (!run.ok() && !absl::IsDeadlineExceeded(run)) return run;
  return JudgeKvmProbe(
      KvmProbeOutcome{.hello = listener.hello,
                      .exit = std::move(listener.exit),
                      .shutdown_reason = std::move(listener.shutdown_reason),
                      .timeout = options.timeout,
                      .took = (*loop)->Now() - start});
}

}  // namespace proctor::host
