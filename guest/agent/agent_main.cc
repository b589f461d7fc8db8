// proctor-agent: Proctor's in-guest agent (docs/guest-protocol.md). In a
// guest it is /init, PID 1: it mounts /proc, /sys and /dev, sets the serial
// ports raw, loads the kernel modules the image lists (pvpanic), then speaks
// the wire protocol on /dev/ttyS2, writes failure reasons to /dev/ttyS1 and
// powers off, reboots, panics or makes QEMU exit with a chosen code (through
// its isa-debug-exit device) as its behaviour says. PID 1 must never
// exit (the kernel would panic): every error is reported on the channel and
// the guest powers off.
//
//   proctor-agent                      as /init (refuses unless it is PID 1)
//   proctor-agent --no-init --channel-fd N --failure-fd M [--cmdline TEXT]
//
// Test mode (--no-init) talks over the descriptors it is given, mounts
// nothing, loads no modules, never powers anything off and touches no I/O
// port: it reports the action it would take on the channel (a VMM exit, which
// has no action word, on stderr), then exits 0 (1 after an error of its
// own). It also exits 0 when the host closes the channel. A bad command line
// exits 2 with a message on stderr.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#endif
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "guest/agent/agent.h"
#include "guest/protocol/script.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {
namespace {

constexpr int kUsageExit = 2;
constexpr int kMaxArgs = 16;
constexpr int64_t kMaxFd = (int64_t{1} << 20) - 1;
constexpr char kUsage[] =
    "usage: proctor-agent                (as /init, PID 1 of a guest)\n"
    "       proctor-agent --no-init --channel-fd N --failure-fd M "
    "[--cmdline TEXT]\n";

constexpr char kChannelPath[] = "/dev/ttyS2";
constexpr char kFailurePath[] = "/dev/ttyS1";
constexpr char kModulesFile[] = "/etc/proctor/modules";
constexpr char kBusybox[] = "/bin/busybox";
constexpr size_t kMaxModulesFileBytes = 16 * 1024;
// One read from the channel.
constexpr size_t kReadBytes = 4096;
// Stop reading commands while this much output waits, so a host that does
// not read cannot make the agent buffer without bound.
constexpr size_t kOutboxHighWater = size_t{64} << 10;
// No path through the agent gets near this (docs/guest-protocol.md,
// "Bounds"); it is the last guard against a bug.
constexpr size_t kMaxOutboxBytes = size_t{8} << 20;
// Bounded waits before a power action: the last reports should reach the
// host, but a host that stopped reading must not keep the guest up.
constexpr uint64_t kFlushTimeoutMs = 5'000;
constexpr uint64_t kDrainTimeoutMs = 2'000;
constexpr uint64_t kDrainPollMs = 5;
constexpr int kInsmodTimeoutMs = 10'000;
// QEMU exits within the port write itself; a guest still running this long
// after it has no isa-debug-exit device at kDebugExitIoPort.
constexpr uint64_t kVmmExitWaitMs = 1'000;

std::string ErrnoText(const char* call, std::string_view what, int err) {
  return std::string(call) + " " + std::string(what) + ": " +
         std::strerror(err);
}

uint64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 +
         static_cast<uint64_t>(ts.tv_nsec) / 1'000'000;
}

void SleepMs(uint64_t ms) {
  timespec ts{static_cast<time_t>(ms / 1000),
              static_cast<long>((ms % 1000) * 1'000'000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void Stderr(std::string_view text) {
  std::string line = "proctor-agent: " + std::string(text) + "\n";
  ssize_t unused = write(STDERR_FILENO, line.data(), line.size());
  (void)unused;
}

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "proctor-agent: %s\n%s", message.c_str(), kUsage);
  std::exit(kUsageExit);
}

int64_t ParseFd(std::string_view flag, std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || text[0] < '0' || text[0] > '9' || ec != std::errc() ||
      ptr != end || value > kMaxFd) {
    UsageError(std::string(flag) + " wants a descriptor number, not \"" +
               std::string(text) + "\"");
  }
  return value;
}

struct Flags {
  bool no_init = false;
  std::optional<int> channel_fd;
  std::optional<int> failure_fd;
  std::optional<std::string> cmdline;
};

Flags ParseFlags(int argc, char** argv) {
  if (argc > kMaxArgs) UsageError("too many arguments");
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) UsageError(std::string(flag) + " needs a value");
      return argv[++i];
    };
    if (flag == "--no-init" && !flags.no_init) {
      flags.no_init = true;
    } else if (flag == "--channel-fd" && !flags.channel_fd) {
      flags.channel_fd = static_cast<int>(ParseFd(flag, value()));
    } else if (flag == "--failure-fd" && !flags.failure_fd) {
      flags.failure_fd = static_cast<int>(ParseFd(flag, value()));
    } else if (flag == "--cmdline" && !flags.cmdline) {
      const std::string_view text = value();
      if (text.size() > kMaxKernelCommandLineBytes) {
        UsageError("--cmdline is longer than 4096 bytes");
      }
      flags.cmdline = std::string(text);
    } else if (flag == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      UsageError("unknown or repeated argument \"" + std::string(flag) + "\"");
    }
  }
  if (flags.no_init) {
    if (!flags.channel_fd || !flags.failure_fd) {
      UsageError("--no-init needs --channel-fd and --failure-fd");
    }
  } else if (flags.channel_fd || flags.failure_fd || flags.cmdline) {
    UsageError("--channel-fd, --failure-fd and --cmdline need --no-init");
  }
  return flags;
}

// Reads at most `max` bytes; more is an error, not a silent cut.
std::variant<std::string, std::string> ReadSmallFile(const char* path,
                                                     size_t max) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::variant<std::string, std::string>(
        std::in_place_index<1>, ErrnoText("open", path, errno));
  std::string text;
  char buf[1024];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return std::variant<std::string, std::string>(
          std::in_place_index<1>, ErrnoText("read", path, err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max) {
      close(fd);
      return std::variant<std::string, std::string>(
          std::in_place_index<1>, std::string(path) + " is longer than " +
                                      std::to_string(max) + " bytes");
    }
  }
  close(fd);
  return std::variant<std::string, std::string>(std::in_place_index<0>,
                                                std::move(text));
}

// Raw: no echo, no line editing, no CR/LF translation, 8 bits.
std::optional<std::string> MakeRaw(int fd, const char* what) {
  termios t{};
  if (tcgetattr(fd, &t) != 0) return ErrnoText("tcgetattr", what, errno);
  cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  cfsetispeed(&t, B115200);
  cfsetospeed(&t, B115200);
  if (tcsetattr(fd, TCSANOW, &t) != 0) {
    return ErrnoText("tcsetattr", what, errno);
  }
  // Whatever arrived before the port was raw was seen by a cooked line.
  tcflush(fd, TCIFLUSH);
  return std::nullopt;
}

class AgentProcess {
 public:
  AgentProcess(bool init, int channel_fd, int failure_fd)
      : init_(init), channel_fd_(channel_fd), failure_fd_(failure_fd) {}

  [[noreturn]] void Main(const std::string& cmdline,
                         const std::vector<std::string>& setup_errors);

 private:
  void Execute(std::vector<Effect>& effects);
  void WriteSome();
  bool FlushOutbox(uint64_t timeout_ms);
  void DrainTty(int fd, uint64_t timeout_ms);
  std::optional<std::string> WriteFailurePort(const std::string& bytes);
  std::optional<std::string> Insmod(const std::string& path);
  void LoadModules(const std::optional<std::string>& from_cmdline);
  [[noreturn]] void PowerAction(Effect::Kind kind);
  [[noreturn]] void VmmExit(uint32_t code);
  [[noreturn]] void PowerOffAfter(const AgentError& error);
  [[noreturn]] void Hang();
  [[noreturn]] void ChannelClosed();
  [[noreturn]] void TestExit(int code);

  bool init_;
  int channel_fd_;
  int failure_fd_;
  std::optional<Agent> agent_;
  std::string outbox_;
  size_t outbox_sent_ = 0;
  bool failed_ = false;  // an error of the agent's own (test-mode exit 1)
};

void AgentProcess::Main(const std::string& cmdline,
                        const std::vector<std::string>& setup_errors) {
  std::vector<Effect> effects;
  std::variant<KernelParameters, std::string> params =
      ParseKernelCommandLine(cmdline);
  AgentOptions options;
  options.mode = init_ ? AgentMode::kInit : AgentMode::kTest;
  if (auto* p = std::get_if<KernelParameters>(&params)) {
    if (p->behaviour) options.script = *p->behaviour;
  }
  agent_.emplace(options);
  agent_->Hello(&effects);
  for (const std::string& error : setup_errors) {
    agent_->ReportError("setup", error, &effects);
  }
  if (auto* error = std::get_if<std::string>(&params)) {
    failed_ = true;
    agent_->Fail("bad-cmdline", *error, &effects);
  }
  Execute(effects);
  if (init_) {
    // (A bad command line has powered the guest off above.)
    LoadModules(std::get<KernelParameters>(params).modules);
  }
  agent_->Run(NowMs(), &effects);
  Execute(effects);
  bool reading = true;
  for (;;) {
    const uint64_t now = NowMs();
    agent_->Tick(now, &effects);
    Execute(effects);
    int timeout = -1;
    if (std::optional<uint64_t> wake = agent_->NextWakeMs()) {
      timeout = *wake <= now ? 0
                             : static_cast<int>(std::min<uint64_t>(
                                   *wake - now, 24 * 3600 * 1000));
    }
    const bool want_read =
        reading && outbox_.size() - outbox_sent_ < kOutboxHighWater;
    pollfd pfd{channel_fd_, 0, 0};
    if (want_read) pfd.events |= POLLIN;
    if (outbox_sent_ < outbox_.size()) pfd.events |= POLLOUT;
    const int ready = poll(&pfd, 1, timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;
      failed_ = true;
      agent_->Fail("system", ErrnoText("poll", kChannelPath, errno), &effects);
      Execute(effects);
      continue;
    }
    if (ready == 0) continue;
    if (pfd.revents & POLLOUT) WriteSome();
    if (want_read && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[kReadBytes];
      const ssize_t n = read(channel_fd_, buf, sizeof(buf));
      if (n > 0) {
        agent_->OnChannelBytes(std::string_view(buf, static_cast<size_t>(n)),
                               NowMs(), &effects);
        Execute(effects);
      } else if (n == 0) {
        reading = false;
        agent_->OnChannelEnd(&effects);
        Execute(effects);
        ChannelClosed();
      } else if (errno != EAGAIN && errno != EINTR) {
        failed_ = true;
        reading = false;
        agent_->Fail("system", ErrnoText("read", "agent channel", errno),
                     &effects);
        Execute(effects);
      }
    } else if (!want_read && (pfd.revents & (POLLHUP | POLLERR))) {
      ChannelClosed();
    }
  }
}

void AgentProcess::Execute(std::vector<Effect>& effects) {
  // Effects run in order; a power action ends the list (and the process).
  for (size_t i = 0; i < effects.size(); ++i) {
    Effect& effect = effects[i];
    switch (effect.kind) {
      case Effect::Kind::kChannel:
        outbox_.append(effect.bytes);
        if (outbox_.size() - outbox_sent_ > kMaxOutboxBytes) {
          Stderr("the channel's output passed its bound; powering off");
          failed_ = true;
          PowerAction(Effect::Kind::kPowerOff);
        }
        break;
      case Effect::Kind::kFailurePort:
        if (std::optional<std::string> error = WriteFailurePort(effect.bytes)) {
          std::vector<Effect> more;
          agent_->ReportError("failure-port", *error, &more);
          for (Effect& e : more) outbox_.append(e.bytes);
        }
        break;
      case Effect::Kind::kPowerOff:
      case Effect::Kind::kReboot:
      case Effect::Kind::kPanic: {
        // Read before clear() destroys the effect.
        const Effect::Kind kind = effect.kind;
        effects.clear();
        PowerAction(kind);
      }
      case Effect::Kind::kHang:
        effects.clear();
        Hang();
      case Effect::Kind::kVmmExit: {
        const uint32_t code = effect.code;
        effects.clear();
        VmmExit(code);
      }
    }
  }
  effects.clear();
  WriteSome();
}

void AgentProcess::WriteSome() {
  while (outbox_sent_ < outbox_.size()) {
    const ssize_t n = write(channel_fd_, outbox_.data() + outbox_sent_,
                            outbox_.size() - outbox_sent_);
    if (n > 0) {
      outbox_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    // The host is gone (test mode) or the port broke: nothing more can be
    // said on the channel.
    Stderr(ErrnoText("write", "agent channel", errno));
    ChannelClosed();
  }
  if (outbox_sent_ == outbox_.size()) {
    outbox_.clear();
    outbox_sent_ = 0;
  } else if (outbox_sent_ > kOutboxHighWater) {
    outbox_.erase(0, outbox_sent_);
    outbox_sent_ = 0;
  }
}

bool AgentProcess::FlushOutbox(uint64_t timeout_ms) {
  const uint64_t deadline = NowMs() + timeout_ms;
  while (outbox_sent_ < outbox_.size()) {
    const uint64_t now = NowMs();
    if (now >= deadline) return false;
    pollfd pfd{channel_fd_, POLLOUT, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(deadline - now));
    if (ready < 0 && errno != EINTR) return false;
    if (ready > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))) {
      return false;
    }
    if (ready > 0) {
      const ssize_t n = write(channel_fd_, outbox_.data() + outbox_sent_,
                              outbox_.size() - outbox_sent_);
      if (n > 0) outbox_sent_ += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    }
  }
  return true;
}

// Waits, bounded, until a serial port has sent what was written to it: the
// guest may be gone a moment later, and the host must see the last lines
// and the failure reason. There is no event to wait on, so this polls.
void AgentProcess::DrainTty(int fd, uint64_t timeout_ms) {
  if (!init_) return;
  const uint64_t deadline = NowMs() + timeout_ms;
  while (NowMs() < deadline) {
    int queued = 0;
    if (ioctl(fd, TIOCOUTQ, &queued) != 0) return;
    unsigned int lsr = 0;
    const bool lsr_known = ioctl(fd, TIOCSERGETLSR, &lsr) == 0;
    if (queued == 0 && (!lsr_known || (lsr & TIOCSER_TEMT) != 0)) return;
    SleepMs(kDrainPollMs);
  }
}

std::optional<std::string> AgentProcess::WriteFailurePort(
    const std::string& bytes) {
  if (failure_fd_ < 0) return std::string("the failure port is not open");
  size_t done = 0;
  const uint64_t deadline = NowMs() + kFlushTimeoutMs;
  while (done < bytes.size()) {
    const ssize_t n =
        write(failure_fd_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && NowMs() < deadline) {
      pollfd pfd{failure_fd_, POLLOUT, 0};
      poll(&pfd, 1, static_cast<int>(deadline - NowMs()));
      continue;
    }
    return ErrnoText("write", "failure port", n < 0 ? errno : EIO) + " after " +
           std::to_string(done) + " of " + std::to_string(bytes.size()) +
           " bytes";
  }
  DrainTty(failure_fd_, kDrainTimeoutMs);
  return std::nullopt;
}

std::optional<std::string> AgentProcess::Insmod(const std::string& path) {
  char arg0[] = "busybox";
  char arg1[] = "insmod";
  std::string module = path;
  char* argv[] = {arg0, arg1, module.data(), nullptr};
  char env0[] = "PATH=/bin:/sbin";
  char* envp[] = {env0, nullptr};
  const pid_t pid = fork();
  if (pid < 0) return ErrnoText("fork", "for insmod", errno);
  if (pid == 0) {
    execve(kBusybox, argv, envp);
    _exit(127);
  }
  // A bounded wait: pidfd_open (Linux 5.3) makes the child pollable.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd pfd{pidfd, POLLIN, 0};
    int ready = 0;
    do {
      ready = poll(&pfd, 1, kInsmodTimeoutMs);
    } while (ready < 0 && errno == EINTR);
    close(pidfd);
    if (ready == 0) kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::nullopt;
  if (WIFSIGNALED(status)) {
    return "busybox insmod " + path + ": killed by signal " +
           std::to_string(WTERMSIG(status));
  }
  return "busybox insmod " + path + ": exit status " +
         std::to_string(WEXITSTATUS(status));
}

void AgentProcess::LoadModules(const std::optional<std::string>& cmdline) {
  std::vector<Effect> effects;
  std::variant<std::vector<std::string>, std::string> list;
  if (cmdline.has_value()) {
    list = ParseModuleList(*cmdline, ',');
  } else {
    std::variant<std::string, std::string> file =
        ReadSmallFile(kModulesFile, kMaxModulesFileBytes);
    if (file.index() == 1) {
      // An image without modules has no list; only other errors matter.
      if (access(kModulesFile, F_OK) != 0 && errno == ENOENT) return;
      agent_->ReportError("module", std::get<1>(file), &effects);
      Execute(effects);
      return;
    }
    list = ParseModuleList(std::get<0>(file), '\n');
  }
  if (auto* error = std::get_if<std::string>(&list)) {
    agent_->ReportError("module", *error, &effects);
    Execute(effects);
    return;
  }
  for (const std::string& path : std::get<std::vector<std::string>>(list)) {
    if (std::optional<std::string> error = Insmod(path)) {
      agent_->ReportError("module", *error, &effects);
      Execute(effects);
    }
  }
}

void AgentProcess::TestExit(int code) {
  if (failed_ && code == 0) code = 1;
  std::exit(code);
}

void AgentProcess::ChannelClosed() {
  if (!init_) TestExit(0);
  // The host closed a serial port, which a tty in CLOCAL never reports:
  // something is badly wrong, and nobody can be told.
  Stderr("the agent channel closed; powering off");
  failed_ = true;
  PowerAction(Effect::Kind::kPowerOff);
}

void AgentProcess::PowerAction(Effect::Kind kind) {
  FlushOutbox(kFlushTimeoutMs);
  DrainTty(channel_fd_, kDrainTimeoutMs);
  if (!init_) TestExit(0);
  sync();
  if (kind == Effect::Kind::kPanic) {
    std::string error;
    for (const auto& [path, text] :
         {std::pair<const char*, const char*>{"/proc/sys/kernel/sysrq", "1"},
          std::pair<const char*, const char*>{"/proc/sysrq-trigger", "c"}}) {
      const int fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, text, 1) != 1) {
        if (error.empty()) error = ErrnoText("write", path, errno);
      }
      if (fd >= 0) close(fd);
    }
    // Still here: the kernel did not crash.
    PowerOffAfter(AgentError{"panic-failed", "the kernel did not panic: " +
                                                 error + "; powering off"});
  }
  const int how = kind == Effect::Kind::kReboot ? RB_AUTOBOOT : RB_POWER_OFF;
  reboot(how);
  Stderr(ErrnoText("reboot", "", errno));
  Hang();
}

// The agent is halted once it acts, so Agent::ReportError would say
// nothing: the error and the power-off it leads to are encoded here.
void AgentProcess::PowerOffAfter(const AgentError& error) {
  std::string line;
  EncodeReport(error, &line);
  EncodeReport(ActionReport{AgentAction::kPowerOff}, &line);
  outbox_.append(line);
  FlushOutbox(kFlushTimeoutMs);
  DrainTty(channel_fd_, kDrainTimeoutMs);
  reboot(RB_POWER_OFF);
  Stderr(ErrnoText("reboot", "", errno));
  Hang();
}

// isa-debug-exit ends QEMU inside the port write, with status
// (value << 1) | 1: nothing written after it reaches the host, so both
// serial ports are drained first.
void AgentProcess::VmmExit(uint32_t code) {
  const uint32_t value = (code - 1) / 2;
  char what[96];
  std::snprintf(what, sizeof(what), "value %u to I/O port 0x%x",
                static_cast<unsigned>(value),
                static_cast<unsigned>(kDebugExitIoPort));
  FlushOutbox(kFlushTimeoutMs);
  DrainTty(channel_fd_, kDrainTimeoutMs);
  if (failure_fd_ >= 0) DrainTty(failure_fd_, kDrainTimeoutMs);
  if (!init_) {
    Stderr("test mode: would make the VMM exit with code " +
           std::to_string(code) + " (isa-debug-exit: write " + what + ")");
    TestExit(0);
  }
  sync();
  std::string error;
#if defined(__x86_64__) || defined(__i386__)
  if (ioperm(kDebugExitIoPort, 1, 1) != 0) {
    error = ErrnoText("ioperm", "for isa-debug-exit", errno);
  } else {
    outb(static_cast<unsigned char>(value), kDebugExitIoPort);
    SleepMs(kVmmExitWaitMs);
    error = "the VMM was still running " + std::to_string(kVmmExitWaitMs) +
            " ms after writing " + what + " (no isa-debug-exit device there?)";
  }
#else
  error = "this architecture has no I/O ports";
#endif
  PowerOffAfter(AgentError{"vmm-exit", "cannot make the VMM exit with code " +
                                           std::to_string(code) + ": " + error +
                                           "; powering off"});
}

void AgentProcess::Hang() {
  FlushOutbox(kFlushTimeoutMs);
  if (!init_) {
    // Read and drop what the host sends until it closes the channel.
    char buf[kReadBytes];
    for (;;) {
      pollfd pfd{channel_fd_, POLLIN, 0};
      if (poll(&pfd, 1, -1) < 0 && errno != EINTR) TestExit(0);
      const ssize_t n = read(channel_fd_, buf, sizeof(buf));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) TestExit(0);
    }
  }
  for (;;) pause();
}

// Mounts what the agent needs and what a shell in the guest expects. A
// failure is reported once the channel is up; EBUSY means already mounted.
void MountAll(std::vector<std::string>* errors) {
  struct Mount {
    const char* source;
    const char* target;
    const char* type;
  };
  for (const Mount& m :
       {Mount{"proc", "/proc", "proc"}, Mount{"sysfs", "/sys", "sysfs"},
        Mount{"devtmpfs", "/dev", "devtmpfs"}}) {
    if (mkdir(m.target, 0755) != 0 && errno != EEXIST) {
      errors->push_back(ErrnoText("mkdir", m.target, errno));
    }
    if (mount(m.source, m.target, m.type, MS_NOSUID | MS_NOEXEC, nullptr) !=
            0 &&
        errno != EBUSY) {
      errors->push_back(ErrnoText("mount", m.target, errno));
    }
  }
}

// The kernel gives /init the console as 0, 1 and 2 only if the image has
// /dev/console; otherwise they are closed and the first open would land on
// them.
void EnsureStdio() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0) continue;
    int opened = open("/dev/console", O_RDWR | O_NOCTTY);
    if (opened < 0) opened = open("/dev/null", O_RDWR);
    if (opened >= 0 && opened != fd) {
      dup2(opened, fd);
      close(opened);
    }
  }
}

[[noreturn]] void RunInit() {
  std::vector<std::string> errors;
  MountAll(&errors);
  EnsureStdio();
  std::string cmdline;
  std::variant<std::string, std::string> file =
      ReadSmallFile("/proc/cmdline", kMaxKernelCommandLineBytes + 1);
  if (file.index() == 0) {
    cmdline = std::get<0>(file);
  } else {
    errors.push_back(std::get<1>(file));
  }
  const int channel =
      open(kChannelPath, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (channel < 0) {
    // Nobody to tell but the console.
    Stderr(ErrnoText("open", kChannelPath, errno) + "; powering off");
    sync();
    reboot(RB_POWER_OFF);
    for (;;) pause();
  }
  if (std::optional<std::string> error = MakeRaw(channel, kChannelPath)) {
    errors.push_back(*error);
  }
  const int failure = open(kFailurePath, O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (failure < 0) {
    errors.push_back(ErrnoText("open", kFailurePath, errno));
  } else if (std::optional<std::string> error =
                 MakeRaw(failure, kFailurePath)) {
    errors.push_back(*error);
  }
  AgentProcess process(/*init=*/true, channel, failure);
  process.Main(cmdline, errors);
}

[[noreturn]] void RunTest(const Flags& flags) {
  const int channel = *flags.channel_fd;
  const int flags_now = fcntl(channel, F_GETFL);
  if (flags_now < 0 || fcntl(*flags.failure_fd, F_GETFD) < 0) {
    UsageError("--channel-fd and --failure-fd must be open descriptors");
  }
  if (fcntl(channel, F_SETFL, flags_now | O_NONBLOCK) != 0) {
    UsageError(ErrnoText("fcntl", "O_NONBLOCK on --channel-fd", errno));
  }
  AgentProcess process(/*init=*/false, channel, *flags.failure_fd);
  process.Main(flags.cmdline.value_or(""), {});
}

}  // namespace
}  // namespace proctor::guest

int main(int argc, char** argv) {
  using namespace proctor::guest;
  // Writes to a closed socket (test mode) are errors, not a death.
  signal(SIGPIPE, SIG_IGN);
  const Flags flags = ParseFlags(argc, argv);
  if (!flags.no_init) {
    if (getpid() != 1) {
      UsageError(
          "not PID 1: as /init this program mounts file systems and powers "
          "the machine off; use --no-init for test mode");
    }
    RunInit();
  }
  RunTest(flags);
}
