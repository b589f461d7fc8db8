#include "host/process/child_process.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "host/io/errno_status.h"
#include "runtime/model/check.h"

namespace proctor::host {
namespace {

// What the child was doing when it failed before or in exec.
enum class ChildStep : int32_t {
  kSetpgid = 1,
  kMoveFd = 2,
  kPlaceFd = 3,
  kCloseRange = 4,
  kExec = 5,
};

// Written by the child in one write(2) on failure; smaller than PIPE_BUF, so
// the parent reads all of it or nothing.
struct ChildReport {
  int32_t step;
  int32_t error;
  int32_t fd_from;
  int32_t fd_to;
};
static_assert(sizeof(ChildReport) <= PIPE_BUF);

// The exit code of a child that failed before exec. The parent never shows
// it: it reports the failure itself and reaps the child.
constexpr int kChildFailedExit = 127;

// Everything the child needs, computed and allocated before fork, so that
// between fork and exec the child only makes async-signal-safe system calls
// and writes into memory that already exists.
struct ChildPlan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  int report_fd = -1;
  // Open on /dev/null when stdin, stdout or stderr is not listed; else -1.
  int dev_null_fd = -1;
  // Above every child fd number: where descriptors wait before placement.
  int floor = 3;
  std::vector<int> child_fds;
  std::vector<int> parent_fds;
  std::vector<int> temp_fds;
  // placed[n]: child fd n is a listed fd or a /dev/null stdio descriptor.
  std::vector<char> placed;
};

[[noreturn]] void ReportAndExit(int report_fd, ChildStep step, int fd_from,
                                int fd_to) {
  ChildReport report{static_cast<int32_t>(step), errno, fd_from, fd_to};
  // Nothing else can be done if the parent cannot be told: it then sees
  // exit code 127 from a process it believed had exec'd.
  if (::write(report_fd, &report, sizeof(report)) < 0) {
  }
  ::_exit(kChildFailedExit);
}

// Runs in the child between fork and exec: async-signal-safe calls only (no
// allocation, no locks, no PROCTOR_CHECK, which prints with stdio).
[[noreturn]] void RunChild(ChildPlan& plan) {
  int report_fd = plan.report_fd;
  if (::setpgid(0, 0) != 0) {
    ReportAndExit(report_fd, ChildStep::kSetpgid, -1, -1);
  }
  // exec resets caught signals but keeps ignored ones; reset all so the
  // program starts with defaults whatever the parent did (SIGPIPE above
  // all). Signals stay blocked until just before exec so that no handler
  // copied from the parent can run here. glibc refuses its two internal
  // signals with EINVAL, which exec resets anyway.
  for (int signal = 1; signal < NSIG; ++signal) {
    if (signal == SIGKILL || signal == SIGSTOP) continue;
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    ::sigemptyset(&action.sa_mask);
    ::sigaction(signal, &action, nullptr);
  }
  // Lift every descriptor the child keeps above all target numbers first,
  // so that placing one can never overwrite another still to be placed
  // (e.g. child 3 <- parent 4 and child 4 <- parent 3).
  int moved_report_fd = ::fcntl(report_fd, F_DUPFD_CLOEXEC, plan.floor);
  if (moved_report_fd < 0) {
    ReportAndExit(report_fd, ChildStep::kMoveFd, report_fd, plan.floor);
  }
  report_fd = moved_report_fd;
  for (size_t i = 0; i < plan.parent_fds.size(); ++i) {
    plan.temp_fds[i] = ::fcntl(plan.parent_fds[i], F_DUPFD_CLOEXEC, plan.floor);
    if (plan.temp_fds[i] < 0) {
      ReportAndExit(report_fd, ChildStep::kMoveFd, plan.parent_fds[i],
                    plan.child_fds[i]);
    }
  }
  int dev_null_fd = -1;
  if (plan.dev_null_fd >= 0) {
    dev_null_fd = ::fcntl(plan.dev_null_fd, F_DUPFD_CLOEXEC, plan.floor);
    if (dev_null_fd < 0) {
      ReportAndExit(report_fd, ChildStep::kMoveFd, plan.dev_null_fd, -1);
    }
  }
  // dup2 clears FD_CLOEXEC on the new descriptor: these survive exec.
  for (size_t i = 0; i < plan.child_fds.size(); ++i) {
    if (::dup2(plan.temp_fds[i], plan.child_fds[i]) < 0) {
      ReportAndExit(report_fd, ChildStep::kPlaceFd, plan.parent_fds[i],
                    plan.child_fds[i]);
    }
  }
  for (int fd = 0; fd < 3; ++fd) {
    bool listed = false;
    for (int child_fd : plan.child_fds) listed = listed || child_fd == fd;
    if (!listed && ::dup2(dev_null_fd, fd) < 0) {
      ReportAndExit(report_fd, ChildStep::kPlaceFd, plan.dev_null_fd, fd);
    }
  }
  for (int fd = 0; fd < plan.floor; ++fd) {
    if (!plan.placed[static_cast<size_t>(fd)]) ::close(fd);
  }
  // Everything above the floor (the parent's other descriptors, the
  // temporaries, the report pipe) closes at exec; the report pipe must stay
  // open until then to carry an exec failure.
  if (::close_range(static_cast<unsigned>(plan.floor), ~0U,
                    CLOSE_RANGE_CLOEXEC) != 0) {
    ReportAndExit(report_fd, ChildStep::kCloseRange, plan.floor, -1);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(plan.path, plan.argv, plan.envp);
  ReportAndExit(report_fd, ChildStep::kExec, -1, -1);
}

absl::Status ChildFailure(absl::string_view path, const ChildReport& report) {
  switch (static_cast<ChildStep>(report.step)) {
    case ChildStep::kSetpgid:
      return ErrnoStatus(
          report.error,
          absl::StrCat("spawn ", path, ": setpgid(0, 0) in the child"));
    case ChildStep::kMoveFd:
      return ErrnoStatus(
          report.error,
          absl::StrCat("spawn ", path, ": fcntl(F_DUPFD_CLOEXEC) of parent fd ",
                       report.fd_from, " in the child"));
    case ChildStep::kPlaceFd:
      return ErrnoStatus(
          report.error,
          absl::StrCat("spawn ", path, ": dup2(parent fd ", report.fd_from,
                       ", child fd ", report.fd_to, ") in the child"));
    case ChildStep::kCloseRange:
      return ErrnoStatus(
          report.error,
          absl::StrCat("spawn ", path, ": close_range(", report.fd_from,
                       ", ~0U, CLOSE_RANGE_CLOEXEC) in the child"));
    case ChildStep::kExec:
      return ErrnoStatus(report.error, absl::StrCat("exec ", path));
  }
  // The report comes from our own child code: any other step is a bug.
  PROCTOR_CHECK(false && "unknown step in a spawn failure report");
}

std::string SignalText(int signal) {
  if (auto name = SignalName(signal)) return std::string(*name);
  return absl::StrCat(signal);
}

ExitStatus ToExitStatus(const siginfo_t& info) {
  switch (info.si_code) {
    case CLD_EXITED:
      return ExitStatus::Exited(info.si_status);
    case CLD_KILLED:
    case CLD_DUMPED:
      return ExitStatus::Signalled(info.si_status);
    default:
      // Only WEXITED is asked for, so stops and continues never come here.
      PROCTOR_CHECK(false && "waitid(WEXITED) reported neither exit nor kill");
  }
}

// Reaps the members of group `pgid` that were reparented to this process
// (a subreaper) when its leader died. Each blocking wait follows a SIGKILL
// to the group, so it waits only for processes that are dying. The kill is
// sent only while a child of ours is in the group, which pins the group id
// (the leader is already reaped, so nothing else does). Without the
// subreaper, or with no orphans, the first waitid says ECHILD.
void ReapOrphanedGroupMembers(pid_t pgid) {
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PGID, static_cast<id_t>(pgid), &info,
                 WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno == EINTR) continue;
      PROCTOR_CHECK(errno == ECHILD);
      return;
    }
    ::kill(-pgid, SIGKILL);
    while (::waitid(P_PGID, static_cast<id_t>(pgid), &info, WEXITED) != 0) {
      if (errno == ECHILD) return;
      PROCTOR_CHECK(errno == EINTR);
    }
  }
}

}  // namespace

absl::Status ValidateProcessSpec(const ProcessSpec& spec) {
  if (spec.argv.empty()) {
    return absl::InvalidArgumentError(
        "ProcessSpec.argv is empty: it needs at least the program path");
  }
  if (spec.argv[0].empty()) {
    return absl::InvalidArgumentError(
        "ProcessSpec.argv[0] (the program path) is empty");
  }
  if (spec.argv.size() > kMaxProcessArgs) {
    return absl::InvalidArgumentError(
        absl::StrCat("ProcessSpec.argv has ", spec.argv.size(),
                     " entries, more than the limit of ", kMaxProcessArgs));
  }
  if (spec.env.size() > kMaxProcessEnv) {
    return absl::InvalidArgumentError(
        absl::StrCat("ProcessSpec.env has ", spec.env.size(),
                     " entries, more than the limit of ", kMaxProcessEnv));
  }
  size_t bytes = 0;
  for (size_t i = 0; i < spec.argv.size(); ++i) {
    if (spec.argv[i].find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("ProcessSpec.argv[", i, "] contains a NUL byte"));
    }
    bytes += spec.argv[i].size() + 1;
  }
  for (size_t i = 0; i < spec.env.size(); ++i) {
    const std::string& entry = spec.env[i];
    if (entry.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("ProcessSpec.env[", i, "] contains a NUL byte"));
    }
    size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ProcessSpec.env[", i, "] is not of the form NAME=value"));
    }
    bytes += entry.size() + 1;
  }
  if (bytes > kMaxProcessArgBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ProcessSpec.argv and env take ", bytes,
                     " bytes with their NULs, more than the limit of ",
                     kMaxProcessArgBytes));
  }
  if (spec.fds.size() > kMaxProcessFds) {
    return absl::InvalidArgumentError(
        absl::StrCat("ProcessSpec.fds has ", spec.fds.size(),
                     " entries, more than the limit of ", kMaxProcessFds));
  }
  std::vector<bool> seen(kMaxChildFdNumber, false);
  for (const auto& [child_fd, parent_fd] : spec.fds) {
    if (child_fd < 0 || child_fd >= kMaxChildFdNumber) {
      return absl::InvalidArgumentError(
          absl::StrCat("ProcessSpec.fds: child fd ", child_fd,
                       " is outside [0, ", kMaxChildFdNumber, ")"));
    }
    if (seen[static_cast<size_t>(child_fd)]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ProcessSpec.fds: child fd ", child_fd, " is listed twice"));
    }
    seen[static_cast<size_t>(child_fd)] = true;
    if (parent_fd < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("ProcessSpec.fds: parent fd ", parent_fd,
                       " for child fd ", child_fd, " is negative"));
    }
  }
  return absl::OkStatus();
}

absl::Status BecomeChildSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return ErrnoStatus(errno, "prctl(PR_SET_CHILD_SUBREAPER, 1)");
  }
  return absl::OkStatus();
}

absl::StatusOr<ChildProcess> ChildProcess::Spawn(const ProcessSpec& spec) {
  if (absl::Status valid = ValidateProcessSpec(spec); !valid.ok()) {
    return valid;
  }
  const std::string& path = spec.argv[0];
  for (const auto& [child_fd, parent_fd] : spec.fds) {
    if (::fcntl(parent_fd, F_GETFD) < 0) {
      return ErrnoStatus(
          errno, absl::StrCat("spawn ", path, ": parent fd ", parent_fd,
                              " for child fd ", child_fd, ": fcntl(F_GETFD)"));
    }
  }

  // execve takes char* const[]; it does not write through them.
  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const std::string& arg : spec.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(spec.env.size() + 1);
  for (const std::string& entry : spec.env) {
    envp.push_back(const_cast<char*>(entry.c_str()));
  }
  envp.push_back(nullptr);

  ChildPlan plan;
  plan.path = path.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  for (const auto& [child_fd, parent_fd] : spec.fds) {
    plan.child_fds.push_back(child_fd);
    plan.parent_fds.push_back(parent_fd);
    plan.floor = std::max(plan.floor, child_fd + 1);
  }
  plan.temp_fds.assign(plan.parent_fds.size(), -1);
  plan.placed.assign(static_cast<size_t>(plan.floor), 0);
  for (int fd = 0; fd < 3; ++fd) plan.placed[static_cast<size_t>(fd)] = 1;
  for (int child_fd : plan.child_fds) {
    plan.placed[static_cast<size_t>(child_fd)] = 1;
  }

  UniqueFd dev_null;
  bool stdio_unlisted = false;
  for (int fd = 0; fd < 3; ++fd) {
    stdio_unlisted = stdio_unlisted ||
                     std::find(plan.child_fds.begin(), plan.child_fds.end(),
                               fd) == plan.child_fds.end();
  }
  if (stdio_unlisted) {
    dev_null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!dev_null) {
      return ErrnoStatus(errno,
                         absl::StrCat("spawn ", path,
                                      ": open(/dev/null, O_RDWR | O_CLOEXEC)"));
    }
    plan.dev_null_fd = dev_null.get();
  }

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return ErrnoStatus(errno,
                       absl::StrCat("spawn ", path, ": pipe2(O_CLOEXEC)"));
  }
  UniqueFd report_read(pipe_fds[0]);
  UniqueFd report_write(pipe_fds[1]);
  plan.report_fd = report_write.get();

  // With every signal blocked across fork, no handler of the parent's can
  // run in the child before the child has reset the dispositions.
  sigset_t all;
  sigset_t saved;
  ::sigfillset(&all);
  PROCTOR_CHECK(::pthread_sigmask(SIG_SETMASK, &all, &saved) == 0);
  // fork rather than vfork or clone(CLONE_VM): the child then works on its
  // own copy of memory, so its descriptor shuffling cannot corrupt the
  // parent's, and sanitizers (the asan preset) support it. See
  // docs/host.md, "Containers as processes".
  const pid_t pid = ::fork();
  if (pid == 0) RunChild(plan);
  const int fork_error = errno;
  PROCTOR_CHECK(::pthread_sigmask(SIG_SETMASK, &saved, nullptr) == 0);
  if (pid < 0) {
    return ErrnoStatus(fork_error, absl::StrCat("spawn ", path, ": fork"));
  }
  report_write.reset();

  // The child is unreaped, so its pid cannot have been reused: the pidfd
  // is for our child, with no race.
  const long pidfd = ::syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) {
    const int error = errno;
    // Unwatchable, so end it now. It has not exec'd a program that could
    // have forked (we have not read its report yet), but it may have, so
    // the group goes too once it exists.
    ::kill(pid, SIGKILL);
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return ErrnoStatus(error,
                       absl::StrCat("spawn ", path, ": pidfd_open(", pid, ")"));
  }
  // From here the child is owned: every return below kills and reaps it
  // unless it is handed to the caller.
  ChildProcess child(pid, UniqueFd(static_cast<int>(pidfd)));

  ChildReport report{};
  size_t got = 0;
  while (got < sizeof(report)) {
    ssize_t n =
        ::read(report_read.get(), reinterpret_cast<char*>(&report) + got,
               sizeof(report) - got);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      return ErrnoStatus(
          errno, absl::StrCat("spawn ", path, ": read(exec report pipe)"));
    }
  }
  // End of file with nothing written: the pipe closed at a successful exec.
  if (got == 0) return child;
  PROCTOR_CHECK(got == sizeof(report));
  return ChildFailure(path, report);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Release();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() { Release(); }

void ChildProcess::Release() {
  if (!pidfd_ || status_.has_value()) return;
  // The leader may have left its group (setsid); the pidfd still reaches it.
  ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  status_ = KillGroupAndReap();
}

pid_t ChildProcess::pid() const {
  PROCTOR_CHECK(pidfd_);  // not moved from
  return pid_;
}

int ChildProcess::pidfd() const {
  PROCTOR_CHECK(pidfd_);  // not moved from
  return pidfd_.get();
}

absl::Status ChildProcess::Signal(int signal) {
  PROCTOR_CHECK(pidfd_);  // not moved from
  if (signal < 0 || signal >= NSIG) {
    return absl::InvalidArgumentError(
        absl::StrCat("signal ", signal, " to pid ", pid_,
                     ": not a signal number (0..", NSIG - 1, ")"));
  }
  // Once reaped, the pid and the group id may belong to someone else.
  if (status_.has_value()) return absl::OkStatus();
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0) != 0 &&
      errno != ESRCH) {
    return ErrnoStatus(errno, absl::StrCat("pidfd_send_signal(pid ", pid_, ", ",
                                           SignalText(signal), ")"));
  }
  // Unreaped, the leader pins its pid as the group id, so this reaches only
  // its group. ESRCH: the whole group has exited.
  if (::kill(-pid_, signal) != 0 && errno != ESRCH) {
    return ErrnoStatus(
        errno, absl::StrCat("kill(-", pid_, ", ", SignalText(signal), ")"));
  }
  return absl::OkStatus();
}

std::optional<ExitStatus> ChildProcess::TryReap() {
  PROCTOR_CHECK(pidfd_);  // not moved from
  if (status_.has_value()) return status_;
  siginfo_t info{};
  // WNOWAIT: look without reaping, so the group id stays pinned for the
  // kill in KillGroupAndReap.
  while (::waitid(static_cast<idtype_t>(P_PIDFD),
                  static_cast<id_t>(pidfd_.get()), &info,
                  WEXITED | WNOHANG | WNOWAIT) != 0) {
    // ECHILD: someone else reaped our child (SIGCHLD set to SIG_IGN, or a
    // wait for any child); its status is lost, which is a bug of the owner.
    PROCTOR_CHECK(errno == EINTR &&
                  "waitid(P_PIDFD): child reaped by someone else");
  }
  if (info.si_pid == 0) return std::nullopt;
  status_ = KillGroupAndReap();
  return status_;
}

ExitStatus ChildProcess::KillGroupAndReap() {
  PROCTOR_CHECK(pidfd_ && !status_.has_value());
  // ESRCH: the group is empty. Nothing more can be done about any other
  // failure here; the reap below still happens.
  ::kill(-pid_, SIGKILL);
  siginfo_t info{};
  while (::waitid(static_cast<idtype_t>(P_PIDFD),
                  static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0) {
    PROCTOR_CHECK(errno == EINTR &&
                  "waitid(P_PIDFD): child reaped by someone else");
  }
  ReapOrphanedGroupMembers(pid_);
  return ToExitStatus(info);
}

}  // namespace proctor::host
