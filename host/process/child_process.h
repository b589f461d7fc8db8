// ChildProcess: a container as a real process (docs/host.md, "Containers as
// processes"). It is spawned into its own process group with exactly the
// descriptors it is given, watched through a pidfd (readable once it exits, so
// an event loop needs no SIGCHLD handler and never races other children),
// signalled as a whole group, and always killed and reaped in the end so that
// no zombie or stray process outlives its owner.
#ifndef PROCTOR_HOST_PROCESS_CHILD_PROCESS_H_
#define PROCTOR_HOST_PROCESS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/io/unique_fd.h"
#include "runtime/model/exit_status.h"

namespace proctor::host {

// Bounds on a ProcessSpec, checked before anything is created. The byte
// bound counts every argv and env string with its terminating NUL and stays
// well under the kernel's own limit (a quarter of the stack rlimit), so a
// spec that passes here does not fail later with E2BIG.
inline constexpr size_t kMaxProcessArgs = 4096;
inline constexpr size_t kMaxProcessEnv = 4096;
inline constexpr size_t kMaxProcessArgBytes = size_t{1} << 20;
inline constexpr size_t kMaxProcessFds = 64;
// Child descriptor numbers are below this, so the child can place them
// without allocating and its close-everything-else sweep stays short.
inline constexpr int kMaxChildFdNumber = 1024;

struct ProcessSpec {
  // argv[0] is the program's path: it is executed as given, never looked up
  // in PATH, so what runs does not depend on the parent's environment.
  std::vector<std::string> argv = {};
  // The child's whole environment, "NAME=value" each. Nothing is inherited:
  // empty means an empty environment.
  std::vector<std::string> env = {};
  // child fd number -> parent fd to dup there. These are the only
  // descriptors open in the child, except that stdin, stdout and stderr
  // (0, 1, 2), when not listed, are /dev/null: a program that writes to
  // stderr then gets no EBADF, and a file it opens never lands on fd 1.
  std::vector<std::pair<int, int>> fds = {};
};

// The checks Spawn makes on `spec` before creating anything (InvalidArgument
// naming the field and the bound): a non-empty argv; counts and bytes within
// the bounds above; no NUL inside a string; env entries of the form
// NAME=value; child fds in [0, kMaxChildFdNumber) and each listed once;
// parent fds not negative. Whether a parent fd is open is checked by Spawn.
absl::Status ValidateProcessSpec(const ProcessSpec& spec);

// Makes this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so
// that the descendants of a container orphaned by its exit are reparented
// here instead of to init, and ChildProcess reaps them together with the
// container. Without it they are left for init to reap, and an init that
// does not reap (pid 1 of many containers and sandboxes) keeps them as
// zombies forever. Process-wide, so the owner of the process calls it once at
// start-up; idempotent.
absl::Status BecomeChildSubreaper();

// One spawned process and its process group. Move-only; the moved-from
// object owns nothing. Single-threaded like the event loop that watches it.
class ChildProcess {
 public:
  // fork + exec of spec.argv[0]. The child, before exec: becomes the leader
  // of a new process group (setpgid(0, 0)); resets every signal disposition
  // to the default (SIGPIPE included) and unblocks all signals; places
  // spec.fds and closes every other descriptor. Only async-signal-safe calls
  // run between fork and exec.
  //
  // Returns once the exec has succeeded. When anything in the child fails
  // before or in exec, the child reports it over a close-on-exec pipe, is
  // reaped, and Spawn returns that error, e.g. NotFound "exec
  // /no/such/program: No such file or directory"; no child and no
  // descriptor are left behind on any error.
  static absl::StatusOr<ChildProcess> Spawn(const ProcessSpec& spec);

  ChildProcess(ChildProcess&& other) noexcept;
  // Kills and reaps the process this object held (as the destructor does)
  // before taking `other`'s.
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // If the process was never reaped: SIGKILL to it and its whole group, then
  // a blocking reap (SIGKILL always ends it), so a failed test or an
  // interrupted run leaves no zombie and no stray process.
  ~ChildProcess();

  pid_t pid() const;
  // The process group the child leads: its id is the child's pid.
  pid_t pgid() const { return pid(); }
  // Readable (EPOLLIN) once the process has exited, and it stays readable
  // (also after TryReap). Owned by this object, which closes it when
  // destroyed: unwatch it first.
  int pidfd() const;

  // Sends `signal` (0 probes) to the process through its pidfd, then with
  // kill(-pgid) to the rest of its group. A process or group that has
  // already exited is not an error, and after the process is reaped this
  // does nothing and returns OK. InvalidArgument for a number that is not a
  // signal; other failures name the call and the errno text.
  absl::Status Signal(int signal);

  // Never waits for the process: nullopt while it runs. Once it has exited:
  // kills what is left of its group (as a PID namespace does when its init
  // exits; the exited leader still pins the group id, so the kill cannot
  // reach a stranger), reaps the process and any orphaned group members
  // reparented to this subreaper (waiting only for members just sent
  // SIGKILL), and returns its status. Later calls return the same cached
  // status without asking the kernel.
  std::optional<ExitStatus> TryReap();

  // The cached status once TryReap has returned it.
  const std::optional<ExitStatus>& exit_status() const { return status_; }

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd)
      : pid_(pid), pidfd_(std::move(pidfd)) {}

  // SIGKILLs the group and blocks until the leader and its reparented group
  // members are reaped. Requires an owned, unreaped process.
  ExitStatus KillGroupAndReap();
  // The destructor's work: kill and reap if still owned and unreaped.
  void Release();

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<ExitStatus> status_;
};

}  // namespace proctor::host

#endif  // PROCTOR_HOST_PROCESS_CHILD_PROCESS_H_
