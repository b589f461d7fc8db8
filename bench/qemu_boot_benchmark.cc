// What Proctor adds to a guest's boot: wall time from spawning QEMU to the
// agent's `started` report through QemuVm on the event loop, against the
// physical limit measured in the same run, a bare loop that spawns the same
// QEMU command (posix_spawn) on sockets it made itself and reads the agent
// channel with poll and read until the started line has arrived. Both boot
// the guest image of this build (TCG) with the behaviour "started,poweroff".
// The target is an overhead of at most 5%; docs/performance.md
// records the figures and the command.
//
// The time of each benchmark is the mean boot (manual time, one boot per
// iteration). BM_ProctorQemuBoot's running_ms is the part of it until
// OnStarted (QMP negotiated, "cont" answered, the guest running).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
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
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "guest/image/image.h"
#include "guest/protocol/decoder.h"
#include "guest/protocol/wire.h"
#include "host/io/event_loop.h"
#include "host/io/unique_fd.h"
#include "host/qemu/qemu_command.h"
#include "host/qemu/qemu_vm.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/vm_config.h"

namespace proctor::host {
namespace {

using Clock = std::chrono::steady_clock;

// A boot under TCG takes about 2.5 s on the project's 2-core machine; past
// this the boot has failed, and the benchmark says so rather than hang.
constexpr absl::Duration kBootBound = absl::Seconds(60);
// The untimed power-off after a Proctor boot; QemuVm's destructor kills
// whatever is still running after it.
constexpr absl::Duration kPowerOffBound = absl::Seconds(10);
// The agent reports Started and powers the guest off: nothing after the
// timed part keeps QEMU running.
constexpr char kBehaviour[] = "started,poweroff";
// QemuVm's names in its run folder (qemu_vm.cc), so both benchmarks run the
// same command with paths of the same length.
constexpr char kRunFolderPattern[] = "/proctor-qemu-XXXXXX";
constexpr char kQmpSocketName[] = "qmp.sock";
constexpr char kAgentSocketName[] = "agent.sock";
constexpr char kFailureSocketName[] = "failure.sock";
constexpr char kConsoleLogName[] = "console.log";
// Only the bare loop has it: QEMU's stdout and stderr, read when a boot
// fails (QemuVm keeps them from a pipe instead).
constexpr char kQemuLogName[] = "qemu.log";

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// A folder made with mkdtemp and removed with everything in it when this
// object goes, so that no boot, failed or not, leaves a folder behind.
class ScopedDir {
 public:
  ScopedDir() = default;
  ScopedDir(const ScopedDir&) = delete;
  ScopedDir& operator=(const ScopedDir&) = delete;
  ~ScopedDir() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  // `pattern` ends in XXXXXX.
  absl::Status Make(std::string pattern) {
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(
          absl::StrCat("mkdtemp(", pattern, "): ", std::strerror(errno)));
    }
    path_ = std::move(pattern);
    return absl::OkStatus();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The guest image of this build, built (or found in the cache) on first use,
// outside any timed part. The cache is in the build folder, like
// host_qemu_real_test's, so a rebuilt agent gets a new image.
const absl::StatusOr<guest::Image>& GuestImage() {
  static const auto* const image = [] {
    guest::ImageOptions options;
    options.inputs.agent_binary = PROCTOR_AGENT_BINARY;
    options.cache_dir = PROCTOR_BENCH_CACHE_DIR;
    options.tool_path = "/usr/sbin:/usr/bin:/sbin:/bin";
    return new absl::StatusOr<guest::Image>(guest::BuildImage(options));
  }();
  return *image;
}

// The VM both benchmarks boot: a scenario VM booted from the guest image, as
// host_qemu_real_test does it.
VmConfig Config() {
  VmConfig config;
  config.cid = Cid{3};
  config.kernel = "/images/vmlinux";
  return config;
}

QemuOptions Options(bool start_paused) {
  QemuOptions options;
  options.behaviour_parameter =
      guest::BehaviourKernelParameter(kBehaviour).value();
  options.start_paused = start_paused;
  return options;
}

QemuPaths PathsIn(const std::string& run_dir, const guest::Image& image) {
  QemuPaths paths;
  paths.kernel = image.kernel;
  paths.initrd = image.initrd;
  paths.qmp_socket = absl::StrCat(run_dir, "/", kQmpSocketName);
  paths.agent_socket = absl::StrCat(run_dir, "/", kAgentSocketName);
  paths.failure_socket = absl::StrCat(run_dir, "/", kFailureSocketName);
  paths.console_log = absl::StrCat(run_dir, "/", kConsoleLogName);
  return paths;
}

// The command QemuVm runs for this VM in `run_dir`; without -S when not
// `start_paused`.
absl::StatusOr<std::vector<std::string>> Command(const std::string& run_dir,
                                                 const guest::Image& image,
                                                 bool start_paused) {
  return BuildQemuCommand(Config(), PathsIn(run_dir, image),
                          Options(start_paused));
}

std::string LastBytes(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text.erase(0, text.size() - max_bytes);
  return text;
}

// ---------------------------------------------------------------------------
// The bare loop: the physical limit.

// A listening Unix stream socket, plain: the same kind QemuVm makes
// (non-blocking, close-on-exec, one client).
absl::StatusOr<UniqueFd> Listen(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::OutOfRangeError(absl::StrCat("socket path too long: ", path));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd ||
      ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address),
             sizeof(address)) != 0 ||
      ::listen(fd.get(), 1) != 0) {
    return absl::InternalError(
        absl::StrCat("listening on ", path, ": ", std::strerror(errno)));
  }
  return fd;
}

// A spawned QEMU, killed and reaped when this object goes.
class BareQemu {
 public:
  BareQemu() = default;
  BareQemu(const BareQemu&) = delete;
  BareQemu& operator=(const BareQemu&) = delete;
  ~BareQemu() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  pid_t* pid() { return &pid_; }

 private:
  pid_t pid_ = -1;
};

// Whether `bytes` hold a whole started line: it begins the stream or
// follows a '\n', and its own '\n' has arrived (QemuVm's decoder also hands
// on only whole lines, so both wait for the same byte).
bool HasStartedLine(const std::string& bytes) {
  const std::string line = std::string(guest::kLinePrefix) + "started ";
  size_t at = bytes.rfind(line, 0) == 0 ? 0 : std::string::npos;
  if (at == std::string::npos) {
    at = bytes.find("\n" + line);
    if (at == std::string::npos) return false;
    ++at;
  }
  return bytes.find('\n', at) != std::string::npos;
}

// One boot: the seconds from spawn to the started line.
absl::StatusOr<double> BareBoot(const guest::Image& image,
                                const std::string& parent) {
  // Declared first, so removed last: after QEMU is reaped.
  ScopedDir run;
  if (absl::Status made = run.Make(parent + kRunFolderPattern); !made.ok()) {
    return made;
  }
  absl::StatusOr<std::vector<std::string>> command =
      Command(run.path(), image, /*start_paused=*/false);
  if (!command.ok()) return command.status();
  const QemuPaths paths = PathsIn(run.path(), image);
  // QEMU connects to all three before the guest runs. Only the agent's is
  // accepted; QMP's and the failure channel's connections wait in their
  // listen queues, which is all QEMU needs to go on.
  absl::StatusOr<UniqueFd> qmp = Listen(paths.qmp_socket);
  absl::StatusOr<UniqueFd> failure = Listen(paths.failure_socket);
  absl::StatusOr<UniqueFd> agent_listen = Listen(paths.agent_socket);
  for (const auto* listening : {&qmp, &failure, &agent_listen}) {
    if (!listening->ok()) return listening->status();
  }
  const std::string log_path = absl::StrCat(run.path(), "/", kQemuLogName);
  UniqueFd log(
      ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log) {
    return absl::InternalError(
        absl::StrCat("open(", log_path, "): ", std::strerror(errno)));
  }
  // Everything posix_spawn needs is ready before the clock starts.
  std::vector<char*> argv;
  for (std::string& arg : *command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char lc_all[] = "LC_ALL=C";  // QemuVm's environment
  char* envp[] = {lc_all, nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log.get(), STDERR_FILENO);
  std::string bytes;
  bytes.reserve(4096);

  BareQemu qemu;
  const Clock::time_point spawn = Clock::now();
  const int spawned =
      ::posix_spawn(qemu.pid(), argv[0], &actions, nullptr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return absl::InternalError(
        absl::StrCat("posix_spawn(", argv[0], "): ", std::strerror(spawned)));
  }
  // Readable once QEMU has exited, so a QEMU that fails is seen at once.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, *qemu.pid(), 0)));
  if (!pidfd) {
    return absl::InternalError(
        absl::StrCat("pidfd_open: ", std::strerror(errno)));
  }
  const Clock::time_point deadline = spawn + absl::ToChronoSeconds(kBootBound);
  UniqueFd agent;
  absl::Status failed;
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      failed = absl::DeadlineExceededError(
          absl::StrCat("gave up after ", absl::FormatDuration(kBootBound)));
      break;
    }
    pollfd fds[2] = {{agent ? agent.get() : agent_listen->get(), POLLIN, 0},
                     {pidfd.get(), POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0) {
      if (errno == EINTR) continue;
      failed =
          absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
      break;
    }
    if (fds[0].revents != 0 && !agent) {
      agent.reset(::accept4(agent_listen->get(), nullptr, nullptr,
                            SOCK_NONBLOCK | SOCK_CLOEXEC));
      continue;
    }
    if (fds[0].revents != 0) {
      char buffer[4096];
      const ssize_t n = ::read(agent.get(), buffer, sizeof(buffer));
      if (n > 0) {
        bytes.append(buffer, static_cast<size_t>(n));
        if (HasStartedLine(bytes)) return Seconds(Clock::now() - spawn);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      failed = absl::UnavailableError("the agent channel ended");
      break;
    }
    if (fds[1].revents != 0) {
      failed = absl::UnavailableError("QEMU exited");
      break;
    }
  }
  return absl::Status(
      failed.code(),
      absl::StrCat("bare boot: ", failed.message(),
                   " before the agent's started line; QEMU said \"",
                   LastBytes(log_path, 1024),
                   "\"; console: ", LastBytes(paths.console_log, 1024)));
}

void BM_BareQemuBoot(benchmark::State& state) {
  const absl::StatusOr<guest::Image>& image = GuestImage();
  if (!image.ok()) {
    state.SkipWithError(image.status().ToString().c_str());
    return;
  }
  ScopedDir parent;
  if (absl::Status made = parent.Make("/tmp/proctor-bench-XXXXXX");
      !made.ok()) {
    state.SkipWithError(made.ToString().c_str());
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<double> seconds = BareBoot(*image, parent.path());
    if (!seconds.ok()) {
      state.SkipWithError(seconds.status().ToString().c_str());
      break;
    }
    state.SetIterationTime(*seconds);
  }
}
BENCHMARK(BM_BareQemuBoot)
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// Through Proctor: QemuVm on the event loop.

// Records when the guest ran and when the agent said Started.
class BootListener : public QemuVmListener {
 public:
  void OnStarted() override { running_at = Clock::now(); }
  void OnAgentReport(const guest::Report& report) override {
    if (std::holds_alternative<guest::Started>(report) && !started_at) {
      started_at = Clock::now();
    }
  }
  void OnAgentError(const guest::DecodeError& error) override {
    if (error.after_hello && first_error.ok()) first_error = error.ToStatus();
  }
  void OnQmpEvent(const QmpEvent&) override {}
  void OnError(const absl::Status& error) override {
    if (first_error.ok()) first_error = error;
  }
  void OnExited(const QemuExit& result) override { exit = result; }

  std::optional<Clock::time_point> running_at;
  std::optional<Clock::time_point> started_at;
  std::optional<QemuExit> exit;
  absl::Status first_error;
};

struct ProctorTiming {
  double started_s = 0;  // before Start to OnAgentReport(Started)
  double running_s = 0;  // before Start to OnStarted
};

// One boot through QemuVm.
absl::StatusOr<ProctorTiming> ProctorBoot(EventLoop* loop,
                                          const guest::Image& image,
                                          const std::string& parent) {
  QemuVmSpec spec;
  spec.config = Config();
  spec.kernel = image.kernel;
  spec.initrd = image.initrd;
  spec.options = Options(/*start_paused=*/true);
  spec.run_parent = parent;
  // Declared before the VM, which calls it until destroyed.
  BootListener listener;
  const Clock::time_point start = Clock::now();
  absl::StatusOr<std::unique_ptr<QemuVm>> made =
      QemuVm::Start(loop, std::move(spec), &listener);
  if (!made.ok()) return made.status();
  std::unique_ptr<QemuVm> vm = *std::move(made);
  const absl::Status run = loop->RunUntil(
      [&] { return listener.started_at.has_value() || listener.exit; },
      loop->Now() + kBootBound);
  if (!listener.started_at) {
    std::string why = "no started report";
    if (listener.exit.has_value() && !listener.exit->start_error.ok()) {
      why = listener.exit->start_error.ToString();
    } else if (listener.exit.has_value()) {
      why = absl::StrCat("QEMU exited with ",
                         FormatExitStatus(listener.exit->status));
    } else if (!run.ok()) {
      why = run.ToString();
    }
    absl::StatusOr<std::string> console = vm->ConsoleTail(1024);
    return absl::UnavailableError(absl::StrCat(
        "Proctor boot: ", why, " before the agent's started report",
        listener.first_error.ok() ? "" : "; first error: ",
        listener.first_error.ok() ? "" : listener.first_error.ToString(),
        "; console: ", console.ok() ? *console : console.status().ToString()));
  }
  // Not timed from here. The bare benchmark must run what QemuVm ran: the
  // same command but -S, in a folder of the same name length.
  absl::StatusOr<std::vector<std::string>> expected =
      Command(vm->run_dir(), image, /*start_paused=*/true);
  if (!expected.ok() || *expected != vm->argv()) {
    return absl::InternalError(
        absl::StrCat("QemuVm ran another command than the bare benchmark "
                     "builds: ",
                     absl::StrJoin(vm->argv(), " ")));
  }
  // The guest powers itself off; the destructor kills it if it has not.
  loop->RunUntil([&] { return listener.exit.has_value(); },
                 loop->Now() + kPowerOffBound)
      .IgnoreError();
  ProctorTiming timing;
  timing.started_s = Seconds(*listener.started_at - start);
  timing.running_s = listener.running_at.has_value()
                         ? Seconds(*listener.running_at - start)
                         : 0;
  return timing;
}

void BM_ProctorQemuBoot(benchmark::State& state) {
  const absl::StatusOr<guest::Image>& image = GuestImage();
  if (!image.ok()) {
    state.SkipWithError(image.status().ToString().c_str());
    return;
  }
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) {
    state.SkipWithError(loop.status().ToString().c_str());
    return;
  }
  ScopedDir parent;
  if (absl::Status made = parent.Make("/tmp/proctor-bench-XXXXXX");
      !made.ok()) {
    state.SkipWithError(made.ToString().c_str());
    return;
  }
  double running_s = 0;
  for (auto _ : state) {
    absl::StatusOr<ProctorTiming> timing =
        ProctorBoot(loop->get(), *image, parent.path());
    if (!timing.ok()) {
      state.SkipWithError(timing.status().ToString().c_str());
      break;
    }
    state.SetIterationTime(timing->started_s);
    running_s += timing->running_s;
  }
  state.counters["running_ms"] =
      benchmark::Counter(running_s * 1e3, benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_ProctorQemuBoot)
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace proctor::host

BENCHMARK_MAIN();
