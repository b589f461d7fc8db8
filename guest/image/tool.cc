#include "guest/image/tool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "guest/image/files.h"

namespace proctor::guest {
namespace {

absl::Status Errno(absl::string_view what) {
  const int error = errno;
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(what, ": ", std::strerror(error)));
}

int64_t MonotonicMillis() {
  struct timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
}

// Owns the posix_spawn state so that every exit path destroys it.
struct SpawnState {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnState() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnState() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

absl::string_view PackageProviding(absl::string_view tool) {
  if (tool == "apt-get" || tool == "apt-cache") return "apt";
  if (tool == "dpkg-deb") return "dpkg";
  if (tool == "qemu-system-x86_64") return "qemu-system-x86";
  return tool;
}

absl::StatusOr<std::string> FindTool(absl::string_view tool,
                                     absl::string_view search_path) {
  if (tool.empty() || tool.find('/') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("tool name \"", tool, "\" must be a bare program name"));
  }
  for (absl::string_view dir : absl::StrSplit(search_path, ':')) {
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", tool);
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::NotFoundError(absl::StrCat(tool, " not found in ", search_path,
                                          ": install ",
                                          PackageProviding(tool)));
}

absl::StatusOr<ToolResult> RunTool(const ToolCall& call) {
  absl::StatusOr<std::string> program = FindTool(call.tool, call.search_path);
  if (!program.ok()) return program.status();

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Errno("pipe2");
  Fd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Errno("pipe2");
  Fd err_read(err_pipe[0]), err_write(err_pipe[1]);

  SpawnState spawn;
  posix_spawn_file_actions_addopen(&spawn.actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&spawn.actions, out_write.get(),
                                   STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&spawn.actions, err_write.get(),
                                   STDERR_FILENO);
  if (!call.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&spawn.actions, call.cwd.c_str());
  }
  // The child starts with default signal handling and nothing blocked,
  // whatever the caller (a test runner, a CLI with a SIGINT handler) set.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&spawn.attr, &all);
  posix_spawnattr_setsigmask(&spawn.attr, &none);
  // Its own process group, so that a timeout kills what it started too
  // (apt's download methods, a shell's children).
  posix_spawnattr_setpgroup(&spawn.attr, 0);
  posix_spawnattr_setflags(&spawn.attr, POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> strings = {*program};
  strings.insert(strings.end(), call.args.begin(), call.args.end());
  std::vector<char*> argv;
  for (std::string& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string path_env = absl::StrCat("PATH=", call.search_path);
  std::string locale_env = "LC_ALL=C";
  char* envp[] = {path_env.data(), locale_env.data(), nullptr};

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program->c_str(), &spawn.actions,
                             &spawn.attr, argv.data(), envp);
  if (rc != 0) {
    return absl::Status(
        absl::ErrnoToStatusCode(rc),
        absl::StrCat("spawn ", *program, call.cwd.empty() ? "" : " in ",
                     call.cwd, ": ", std::strerror(rc)));
  }
  out_write = Fd();
  err_write = Fd();

  // The pidfd turns readable when the tool exits, so one poll waits for
  // output and exit together, with no SIGCHLD handler and no sleeping.
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() < 0) {
    absl::Status error = Errno("pidfd_open");
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return error;
  }

  ToolResult result;
  const int64_t deadline =
      MonotonicMillis() + absl::ToInt64Milliseconds(call.timeout);
  bool timed_out = false;
  bool exited = false;
  struct pollfd fds[3] = {{out_read.get(), POLLIN, 0},
                          {err_read.get(), POLLIN, 0},
                          {pidfd.get(), POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_streams = 2;
  char buffer[65536];
  while (open_streams > 0 || !exited) {
    const int64_t left = deadline - MonotonicMillis();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    const int ready =
        poll(fds, 3, static_cast<int>(std::min<int64_t>(left, 60'000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      absl::Status error = Errno("poll");
      kill(-pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return error;
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      exited = true;
      fds[2].fd = -1;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open_streams;
        continue;
      }
      const size_t room = kMaxToolOutputBytes - sinks[i]->size();
      sinks[i]->append(buffer, std::min(room, static_cast<size_t>(n)));
    }
  }
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Errno("waitpid");
  }
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(call.tool, " timed out after ",
                     absl::FormatDuration(call.timeout), "; killed"));
  }
  result.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string LastLine(const ToolResult& result) {
  for (const std::string* text : {&result.err, &result.out}) {
    std::vector<absl::string_view> lines =
        absl::StrSplit(*text, '\n', absl::SkipWhitespace());
    if (!lines.empty()) {
      return std::string(absl::StripAsciiWhitespace(lines.back()));
    }
  }
  return "no output";
}

}  // namespace proctor::guest
