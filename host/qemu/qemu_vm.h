// QemuVm: one QEMU process running one VM, on the event loop. It makes a
// private run folder, listens there on the QMP, agent-channel and
// failure-channel sockets, spawns qemu-system-x86_64 (BuildQemuCommand) in
// its own process group and watches its pidfd, lets the guest run once QMP
// is negotiated, decodes the agent's reports, keeps the first bytes of the
// failure channel (VM-6) and of QEMU's stderr, and tells its owner through a
// listener. Whatever happens, destroying it kills and reaps QEMU and removes
// the run folder. Building block of the QEMU world (docs/qemu.md).
#ifndef PROCTOR_HOST_QEMU_QEMU_VM_H_
#define PROCTOR_HOST_QEMU_QEMU_VM_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "guest/protocol/decoder.h"
#include "guest/protocol/wire.h"
#include "host/io/event_loop.h"
#include "host/io/unique_fd.h"
#include "host/process/child_process.h"
#include "host/qemu/qemu_command.h"
#include "host/qemu/qmp_client.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/time.h"
#include "runtime/model/vm_config.h"

namespace proctor::host {

// VM-6: what the host reads of the failure channel; the rest is dropped.
inline constexpr size_t kMaxFailureChannelBytes = 4096;
// What is kept of QEMU's stdout and stderr (one pipe), for start failures.
inline constexpr size_t kMaxQemuStderrBytes = 4096;
// Commands to the agent not yet written to its socket: a few maximum lines
// (guest::kMaxLineBytes each). The guest's UART drains about 50 KB/s.
inline constexpr size_t kMaxAgentOutputBytes = size_t{1} << 20;
// One read from the agent, failure or stderr descriptor.
inline constexpr size_t kVmReadChunkBytes = 16 * 1024;

struct QemuVmSpec {
  VmConfig config;
  std::string qemu_binary = std::string(kDefaultQemuBinary);
  // The guest image's files, standing for config.kernel and config.initrd
  // (QemuPaths::kernel, ::initrd).
  std::string kernel;
  std::string initrd;
  QemuOptions options;
  // Where the run folder is made (mkdtemp "proctor-qemu-XXXXXX"). Required,
  // and short: the socket paths in it must fit sockaddr_un (107 bytes), so
  // at most 74 bytes.
  std::string run_parent;
  // Prefixes every message; empty: "vm <cid>".
  std::string name;
};

struct QemuExit {
  ExitStatus status;
  // The first kMaxFailureChannelBytes the guest wrote to its failure
  // channel (ttyS1), as written: VM-6's matching is the runtime's.
  std::string failure_bytes;
  // Bytes written past kMaxFailureChannelBytes, dropped unread.
  uint64_t failure_bytes_dropped = 0;
  // The first kMaxQemuStderrBytes of QEMU's stdout and stderr.
  std::string stderr_text;
  // Whether OnStarted had been delivered.
  bool started = false;
  // OK when started; otherwise why the VM never ran: QEMU's exit status and
  // its stderr, e.g. "vm 3: QEMU exited with Exit(1) before the guest
  // started: qemu-system-x86_64: -foo: invalid option".
  absl::Status start_error;
};

// Calls run on the loop's thread, from the QemuVm's watches. The listener
// may call any QemuVm method from them, and may destroy the QemuVm.
class QemuVmListener {
 public:
  virtual ~QemuVmListener() = default;
  // QMP is negotiated, both serial sockets are connected, and the guest
  // runs (its "cont" was answered). Once at most, never after OnExited.
  virtual void OnStarted() = 0;
  // A report from the agent channel, decoded, in stream order.
  virtual void OnAgentReport(const guest::Report& report) = 0;
  // A line on the agent channel that did not decode. Before the hello
  // (after_hello false) it is boot noise to log and tolerate.
  virtual void OnAgentError(const guest::DecodeError& error) = 0;
  // A QMP event: SHUTDOWN (reason, guest), GUEST_PANICKED, STOP, RESUME,
  // RESET, or another by name.
  virtual void OnQmpEvent(const QmpEvent& event) = 0;
  // Something that went wrong without ending the VM: QEMU broke the QMP
  // protocol, a stranger tried a socket, a command to QMP failed, a host
  // call failed. The VM runs on; the owner decides.
  virtual void OnError(const absl::Status& error) = 0;
  // QEMU has exited and was reaped: the last call, exactly once. Every
  // report and event QEMU delivered before it exited came first.
  virtual void OnExited(const QemuExit& exit) = 0;
};

class QemuVm {
 public:
  // The result of a QMP command run for the owner (Stop, Cont).
  using DoneCallback = absl::AnyInvocable<void(absl::Status result)>;

  // Makes the run folder and its sockets, spawns QEMU and starts watching;
  // `loop` and `listener` must outlive the QemuVm. Errors name what failed:
  // the spec (BuildQemuCommand's errors), the folder or a socket, or the
  // spawn (NotFound "vm 3: spawning QEMU: exec /no/qemu: No such file or
  // directory"); nothing is left behind then. QEMU that starts but exits at
  // once (a bad argument) is reported by OnExited with its stderr.
  static absl::StatusOr<std::unique_ptr<QemuVm>> Start(
      EventLoop* loop, QemuVmSpec spec, QemuVmListener* listener);

  QemuVm(const QemuVm&) = delete;
  QemuVm& operator=(const QemuVm&) = delete;
  // Kills QEMU's process group if it still runs, reaps it (blocking: SIGKILL
  // ends it at once), closes every descriptor and removes the run folder.
  // No listener call is made.
  ~QemuVm();

  // SIGKILL to QEMU and its group; OnExited follows with
  // Signalled(SIGKILL). Does nothing once QEMU has exited.
  absl::Status Kill();
  // PW-3: pauses the guest's CPUs (QMP "stop") or lets them run again
  // ("cont"); `done` gets QEMU's answer. FailedPrecondition before OnStarted
  // or after OnExited.
  absl::Status Stop(DoneCallback done = nullptr);
  absl::Status Cont(DoneCallback done = nullptr);
  // Writes the command's line to the agent channel. FailedPrecondition
  // before the agent's hello (the port is not raw until then, and the agent
  // drops what came before) or after the channel closed; InvalidArgument or
  // OutOfRange for a command that does not encode; ResourceExhausted past
  // kMaxAgentOutputBytes waiting to be written.
  absl::Status SendCommand(const guest::Command& command);

  // The last `max_bytes` of the console log in the run folder (ttyS0 and
  // hvc0 when config.console_sink is unset), for diagnostics.
  absl::StatusOr<std::string> ConsoleTail(size_t max_bytes) const;

  const std::string& name() const { return name_; }
  const std::string& run_dir() const { return run_dir_; }
  const std::vector<std::string>& argv() const { return argv_; }
  pid_t pid() const;
  // Loop time at which QEMU was spawned (its exec had succeeded).
  Instant spawned_at() const { return spawned_at_; }
  bool started() const { return started_; }
  bool exited() const { return exited_; }

 private:
  enum class SocketKind : uint8_t { kQmp, kAgent, kFailure };
  struct Listening {
    UniqueFd fd;
    EventLoop::WatchId watch = 0;
  };

  QemuVm(EventLoop* loop, QemuVmListener* listener, std::string name,
         bool start_paused);

  absl::Status Watch(int fd, uint32_t events, EventLoop::WatchId* id,
                     absl::AnyInvocable<void(uint32_t)> on_ready);
  void Unwatch(EventLoop::WatchId* id);
  Listening& ListeningFor(SocketKind kind);
  const char* SocketName(SocketKind kind) const;

  void OnConnection(SocketKind kind);
  void Connected(SocketKind kind, UniqueFd fd);
  void OnQmpReady();
  void MaybeStarted();
  // One read (or until end of stream when `drain`); false once the stream
  // ended, nothing was there, or a callback destroyed this object.
  bool ReadAgent();
  void ReadFailure(bool drain);
  void ReadStderr(bool drain);
  void FlushAgent();
  void OnQemuExited();
  void Report(const absl::Status& error);
  absl::Status RunQmp(const char* command, DoneCallback done);

  EventLoop* const loop_;
  QemuVmListener* const listener_;
  const std::string name_;
  const bool start_paused_;

  std::string run_dir_;
  std::vector<std::string> argv_;
  std::optional<ChildProcess> child_;
  EventLoop::WatchId pidfd_watch_ = 0;
  Instant spawned_at_;

  Listening qmp_listen_;
  Listening agent_listen_;
  Listening failure_listen_;

  std::unique_ptr<QmpClient> qmp_;
  bool qmp_ready_ = false;
  bool running_ = false;  // "cont" answered (or the guest never paused)

  UniqueFd agent_;
  EventLoop::WatchId agent_watch_ = 0;
  bool agent_watching_output_ = false;
  guest::ReportDecoder decoder_;
  std::string agent_output_;  // at most kMaxAgentOutputBytes

  UniqueFd failure_;
  EventLoop::WatchId failure_watch_ = 0;
  std::string failure_bytes_;  // at most kMaxFailureChannelBytes
  uint64_t failure_dropped_ = 0;
  bool failure_connected_ = false;

  UniqueFd stderr_;
  EventLoop::WatchId stderr_watch_ = 0;
  std::string stderr_text_;  // at most kMaxQemuStderrBytes

  bool started_ = false;
  bool exited_ = false;
  // Cleared by the destructor, so code that called the listener stops if
  // the listener destroyed this object.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace proctor::host

#endif  // PROCTOR_HOST_QEMU_QEMU_VM_H_
