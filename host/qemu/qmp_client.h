// QmpClient: the host's end of QEMU's monitor protocol (QMP), on the event
// loop. It reads the greeting, negotiates capabilities, then runs commands
// (each reply reaches the callback given with the command, matched by id)
// and hands on asynchronous events (SHUTDOWN, GUEST_PANICKED, STOP, RESUME,
// RESET, ...). Everything QEMU sends is untrusted: a malformed line, a reply
// nobody asked for or a line past its bound is reported as an error naming
// the byte offset, and reading goes on at the next line. Never blocks; every
// buffer and queue has a named bound.
#ifndef PROCTOR_HOST_QEMU_QMP_CLIENT_H_
#define PROCTOR_HOST_QEMU_QMP_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "host/io/event_loop.h"
#include "host/io/unique_fd.h"
#include "nlohmann/json.hpp"

namespace proctor::host {

// The longest line QEMU may send, without its "\n". Replies this client's
// users ask for (status, stop, cont, events) are under 1 KiB; a longer line
// is an error and is skipped (so are replies such as query-qmp-schema's).
inline constexpr size_t kMaxQmpLineBytes = 64 * 1024;
// Commands sent (or queued to send) whose reply has not come yet.
inline constexpr size_t kMaxQmpPendingCommands = 64;
// Bytes of commands not yet written to the socket.
inline constexpr size_t kMaxQmpOutputBytes = 256 * 1024;
// Nesting of arrays and objects in a line, checked before parsing so a line
// of brackets cannot make the parser recurse deeply.
inline constexpr size_t kMaxQmpJsonDepth = 32;
// A command name ("qmp_capabilities", "query-status").
inline constexpr size_t kMaxQmpCommandNameBytes = 128;
// One read from the socket.
inline constexpr size_t kQmpReadChunkBytes = 16 * 1024;

enum class QmpEventKind : uint8_t {
  kShutdown,       // SHUTDOWN: QEMU is about to exit (or would, -no-reboot)
  kGuestPanicked,  // GUEST_PANICKED: pvpanic said the guest crashed
  kStop,           // STOP: the guest is paused
  kResume,         // RESUME: the guest runs again
  kReset,          // RESET: the machine was reset
  kOther,          // any other event, by name
};

struct QmpEvent {
  QmpEventKind kind = QmpEventKind::kOther;
  // As QEMU spelled it: "SHUTDOWN".
  std::string name;
  // SHUTDOWN and RESET: whether the guest asked for it, and why
  // ("guest-shutdown", "guest-reset", "guest-panic", "host-qmp-quit", ...).
  bool guest = false;
  std::string reason;
  // GUEST_PANICKED: what QEMU does about it ("pause", "poweroff", "run").
  std::string panic_action;
  // The event's whole "data" member; null when it has none. QEMU's
  // "timestamp" is its wall clock and is dropped: the loop's clock is the
  // only clock.
  nlohmann::json data;
};

class QmpClient {
 public:
  // The command's "return" value, or its error: NotFound for QEMU's
  // CommandNotFound and DeviceNotFound, FailedPrecondition for the other
  // classes, Unavailable when the connection ended first; the message names
  // the client, the command, its id, the class and QEMU's description.
  using ReplyCallback =
      absl::AnyInvocable<void(absl::StatusOr<nlohmann::json> result)>;

  struct Callbacks {
    // Greeting read and capabilities accepted: Execute works from now on.
    absl::AnyInvocable<void()> on_ready;
    absl::AnyInvocable<void(const QmpEvent& event)> on_event;
    // QEMU broke the protocol (a bad line, a reply to an unknown id, a line
    // past kMaxQmpLineBytes). The connection goes on.
    absl::AnyInvocable<void(const absl::Status& error)> on_error;
    // The connection is over: end of stream (OK), a read or write failure,
    // or a greeting or negotiation that went wrong. Every command still
    // waiting has had its callback (Unavailable) first. Called once.
    absl::AnyInvocable<void(const absl::Status& why)> on_closed;
  };

  // Takes a connected stream socket to QEMU's monitor (made non-blocking
  // here) and starts reading on `loop`, which must outlive the client.
  // `name` prefixes every message ("vm 3 qmp").
  static absl::StatusOr<std::unique_ptr<QmpClient>> Create(
      EventLoop* loop, UniqueFd socket, Callbacks callbacks,
      absl::string_view name = "qmp");

  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;
  // Stops watching and closes the socket. No callback runs, not even the
  // replies still waited for.
  ~QmpClient();

  // Sends {"execute": command, "arguments": arguments, "id": N} and returns
  // N; `on_reply` runs once with the reply (or Unavailable if the connection
  // ends first). `arguments` is an object, or null for none.
  // FailedPrecondition before on_ready or after on_closed; InvalidArgument
  // for a bad name or arguments; ResourceExhausted past
  // kMaxQmpPendingCommands or kMaxQmpOutputBytes.
  absl::StatusOr<uint64_t> Execute(absl::string_view command,
                                   const nlohmann::json& arguments,
                                   ReplyCallback on_reply);

  // Reads and handles everything the socket holds now, up to its end of
  // stream: for the owner that learns QEMU has exited and wants every
  // last event before it says so.
  void Drain();

  bool ready() const { return state_ == State::kReady; }
  bool closed() const { return state_ == State::kClosed; }
  size_t pending_commands() const { return pending_.size(); }
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  enum class State : uint8_t { kGreeting, kNegotiating, kReady, kClosed };
  struct Pending {
    std::string command;
    ReplyCallback on_reply;
  };

  QmpClient(EventLoop* loop, UniqueFd socket, Callbacks callbacks,
            absl::string_view name);

  // One read of at most kQmpReadChunkBytes; false once the stream is over
  // (or this client was destroyed by a callback) or nothing was there.
  bool ReadOnce();
  void OnReadable(uint32_t events);
  void FeedBytes(absl::string_view bytes);
  void HandleLine(absl::string_view line, uint64_t line_offset);
  void HandleGreeting(const nlohmann::json& message, uint64_t line_offset);
  void HandleReply(const nlohmann::json& message, uint64_t line_offset);
  void HandleEvent(const nlohmann::json& message, uint64_t line_offset);
  absl::StatusOr<uint64_t> Send(absl::string_view command,
                                const nlohmann::json& arguments,
                                ReplyCallback on_reply);
  void Flush();
  void ReportError(absl::Status error);
  // Ends the connection: fails every pending command, then on_closed.
  void CloseWith(absl::Status why);
  std::string At(uint64_t offset) const;

  EventLoop* const loop_;
  UniqueFd socket_;
  Callbacks callbacks_;
  const std::string name_;
  EventLoop::WatchId watch_ = 0;
  bool watching_output_ = false;
  State state_ = State::kGreeting;

  // The partial line (at most kMaxQmpLineBytes) and where it started.
  std::string line_;
  uint64_t line_offset_ = 0;
  // Set after a line passed the bound: its bytes are dropped up to '\n'.
  bool skipping_line_ = false;
  uint64_t bytes_read_ = 0;

  std::string output_;  // at most kMaxQmpOutputBytes
  // A failed write, reported by closing on the next turn (see Flush).
  absl::Status write_error_;
  uint64_t next_id_ = 1;
  absl::btree_map<uint64_t, Pending> pending_;

  // Cleared by the destructor, so a loop over lines stops if a callback
  // destroyed this client.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace proctor::host

#endif  // PROCTOR_HOST_QEMU_QMP_CLIENT_H_
