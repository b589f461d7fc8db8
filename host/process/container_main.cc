// proctor-container: the program the process world runs as a container
// (docs/host.md, "The proctor-container program"). It does nothing
// but behave, as its flags say, like the container processes a supervisor
// must cope with: one that exits with a code after a while, one that
// crashes, one that ignores SIGTERM. It blocks in ppoll until its deadline
// and never busy-waits, so a test can run many of them on two cores.
//
//   --exit-after MS    exit on its own after MS milliseconds (default never)
//   --exit-code N      the code to exit with, 0..255 (default 0)
//   --ignore-sigterm   SIGTERM is ignored, so only SIGKILL ends it
//   --crash-after MS   abort() after MS milliseconds: Signalled(SIGABRT)
//   --ready-fd FD      write one byte to FD once the signal dispositions are
//                      in place, then close FD
//   --control-fd FD    a socket the process world tells a running container
//                      what to do next on, one byte per command: 'T' ignore
//                      SIGTERM from now on (answered with 'T' once in
//                      effect), 'C' crash now (Signalled(SIGSEGV)). When the
//                      other end closes, the supervisor is gone and the
//                      container exits, so it never outlives its world.
//
// A bad command line exits 2 with a message on stderr.
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace {

constexpr int kUsageExit = 2;
// Delays are at most a day: larger is surely a mistake in a test.
constexpr int64_t kMaxDelayMs = 24 * 60 * 60 * 1000;
constexpr int64_t kMaxExitCode = 255;
// The kernel's default ceiling on descriptor numbers (fs.nr_open).
constexpr int64_t kMaxFd = (int64_t{1} << 20) - 1;
// At most this many arguments; every flag takes at most two.
constexpr int kMaxArgs = 16;

constexpr char kUsage[] =
    "usage: proctor-container [--exit-after MS] [--exit-code N] "
    "[--ignore-sigterm] [--crash-after MS] [--ready-fd FD]\n"
    "                         [--control-fd FD]\n";

struct Options {
  std::optional<int64_t> exit_after_ms;
  std::optional<int64_t> exit_code;
  bool ignore_sigterm = false;
  std::optional<int64_t> crash_after_ms;
  std::optional<int64_t> ready_fd;
  std::optional<int64_t> control_fd;
};

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "proctor-container: %s\n%s", message.c_str(), kUsage);
  std::exit(kUsageExit);
}

// Digits only: no sign, no spaces, no hex, within [0, max].
int64_t ParseNumber(absl::string_view flag, absl::string_view text,
                    int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || text[0] < '0' || text[0] > '9' || ec != std::errc() ||
      ptr != end || value > max) {
    UsageError(absl::StrCat(flag, " wants a whole number in 0..", max,
                            ", not \"", text, "\""));
  }
  return value;
}

Options ParseFlags(int argc, char** argv) {
  if (argc > kMaxArgs) {
    UsageError(absl::StrCat("too many arguments (", argc - 1, "; at most ",
                            kMaxArgs - 1, ")"));
  }
  Options options;
  for (int i = 1; i < argc; ++i) {
    absl::string_view flag = argv[i];
    auto value = [&]() -> absl::string_view {
      if (i + 1 >= argc) UsageError(absl::StrCat(flag, " needs a value"));
      return argv[++i];
    };
    auto once = [&](bool already_set) {
      if (already_set) UsageError(absl::StrCat(flag, " given twice"));
    };
    if (flag == "--exit-after") {
      once(options.exit_after_ms.has_value());
      options.exit_after_ms = ParseNumber(flag, value(), kMaxDelayMs);
    } else if (flag == "--exit-code") {
      once(options.exit_code.has_value());
      options.exit_code = ParseNumber(flag, value(), kMaxExitCode);
    } else if (flag == "--ignore-sigterm") {
      once(options.ignore_sigterm);
      options.ignore_sigterm = true;
    } else if (flag == "--crash-after") {
      once(options.crash_after_ms.has_value());
      options.crash_after_ms = ParseNumber(flag, value(), kMaxDelayMs);
    } else if (flag == "--ready-fd") {
      once(options.ready_fd.has_value());
      options.ready_fd = ParseNumber(flag, value(), kMaxFd);
    } else if (flag == "--control-fd") {
      once(options.control_fd.has_value());
      options.control_fd = ParseNumber(flag, value(), kMaxFd);
    } else {
      UsageError(absl::StrCat("unknown argument \"", flag, "\""));
    }
  }
  return options;
}

[[noreturn]] void SystemError(const std::string& what) {
  std::fprintf(stderr, "proctor-container: %s: %s\n", what.c_str(),
               std::strerror(errno));
  std::exit(kUsageExit);
}

int64_t MonotonicMs() {
  timespec now;
  if (::clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
    SystemError("clock_gettime(CLOCK_MONOTONIC)");
  }
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
}

void IgnoreSigterm() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigemptyset(&ignore.sa_mask);
  if (::sigaction(SIGTERM, &ignore, nullptr) != 0) {
    SystemError("sigaction(SIGTERM, SIG_IGN)");
  }
}

void NoCoreFile() {
  // A deliberate crash should leave no core file in a test's directory.
  rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0) {
    SystemError("setrlimit(RLIMIT_CORE, 0)");
  }
}

[[noreturn]] void CrashNow() {
  NoCoreFile();
  ::signal(SIGSEGV, SIG_DFL);
  ::raise(SIGSEGV);
  std::abort();  // not reached: SIGSEGV's default action ends the process
}

// One command from the control socket; false once the other end is gone.
bool ObeyControl(int fd) {
  char command = 0;
  const ssize_t n = ::recv(fd, &command, 1, 0);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return true;
    SystemError("recv(--control-fd)");
  }
  if (n == 0) return false;
  switch (command) {
    case 'T': {
      IgnoreSigterm();
      const char ack = 'T';
      if (::send(fd, &ack, 1, MSG_NOSIGNAL) != 1 && errno != EPIPE) {
        SystemError("send(--control-fd)");
      }
      return true;
    }
    case 'C':
      CrashNow();
    default:
      std::fprintf(stderr, "proctor-container: unknown control command %d\n",
                   static_cast<int>(static_cast<unsigned char>(command)));
      std::exit(kUsageExit);
  }
}

// Blocks until the monotonic clock reaches deadline_ms, or forever when
// there is none, obeying commands on control_fd meanwhile. Signals either
// end the process (default dispositions) or are ignored; an interrupted
// wait recomputes what is left.
void WaitUntil(std::optional<int64_t> deadline_ms,
               std::optional<int> control_fd) {
  for (;;) {
    timespec timeout{};
    timespec* timeout_ptr = nullptr;
    if (deadline_ms.has_value()) {
      int64_t left_ms = *deadline_ms - MonotonicMs();
      if (left_ms <= 0) return;
      timeout.tv_sec = static_cast<time_t>(left_ms / 1000);
      timeout.tv_nsec = static_cast<long>(left_ms % 1000) * 1'000'000;
      timeout_ptr = &timeout;
    }
    pollfd control{control_fd.value_or(-1), POLLIN, 0};
    const int ready =
        ::ppoll(control_fd.has_value() ? &control : nullptr,
                control_fd.has_value() ? 1 : 0, timeout_ptr, nullptr);
    if (ready < 0 && errno != EINTR) SystemError("ppoll");
    if (ready > 0 && control.revents != 0) {
      // The supervisor is gone: a container does not outlive its world.
      if (!ObeyControl(*control_fd)) std::exit(0);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseFlags(argc, argv);
  // Read the clock first so that --exit-after counts from the start.
  const int64_t start_ms = MonotonicMs();

  if (options.crash_after_ms.has_value()) NoCoreFile();
  if (options.ignore_sigterm) IgnoreSigterm();
  if (options.ready_fd.has_value()) {
    const int fd = static_cast<int>(*options.ready_fd);
    const char ready = 'R';
    ssize_t written;
    do {
      written = ::write(fd, &ready, 1);
    } while (written < 0 && errno == EINTR);
    if (written != 1) {
      SystemError(absl::StrCat("write(--ready-fd ", fd, ")"));
    }
    ::close(fd);
  }

  // The earlier of the two deadlines wins; a crash wins a tie.
  std::optional<int64_t> deadline_ms;
  bool crash = false;
  if (options.exit_after_ms.has_value()) {
    deadline_ms = start_ms + *options.exit_after_ms;
  }
  if (options.crash_after_ms.has_value() &&
      (!deadline_ms.has_value() ||
       start_ms + *options.crash_after_ms <= *deadline_ms)) {
    deadline_ms = start_ms + *options.crash_after_ms;
    crash = true;
  }
  std::optional<int> control_fd;
  if (options.control_fd.has_value()) {
    control_fd = static_cast<int>(*options.control_fd);
  }
  WaitUntil(deadline_ms, control_fd);
  if (crash) std::abort();
  return static_cast<int>(options.exit_code.value_or(0));
}
