// Unix stream sockets for a VM's run folder: the host listens on each path
// before QEMU starts, and QEMU connects as a client, so nothing the guest
// writes can be lost to a connection not yet made and the host never polls
// for a socket to appear. The accepted peer is checked to be the QEMU the
// host spawned (SO_PEERCRED).
#ifndef PROCTOR_HOST_QEMU_UNIX_SOCKET_H_
#define PROCTOR_HOST_QEMU_UNIX_SOCKET_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "host/io/unique_fd.h"

namespace proctor::host {

// sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
inline constexpr size_t kMaxUnixSocketPathBytes = 107;

// A non-blocking, close-on-exec listening SOCK_STREAM socket bound at `path`
// (which must not exist yet), with a backlog of one: each socket has one
// client. OutOfRange names a path over kMaxUnixSocketPathBytes.
absl::StatusOr<UniqueFd> ListenUnixSocket(const std::string& path);

// A non-blocking, close-on-exec SOCK_STREAM socket connected to `path`.
absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path);

// Accepts one waiting connection on `listen_fd` (non-blocking,
// close-on-exec). An empty UniqueFd when none is waiting. A peer whose
// process is not `expected_pid` is closed and refused with
// PermissionDenied naming both pids; `what` names the socket in messages.
absl::StatusOr<UniqueFd> AcceptUnixPeer(int listen_fd, pid_t expected_pid,
                                        absl::string_view what);

}  // namespace proctor::host

#endif  // PROCTOR_HOST_QEMU_UNIX_SOCKET_H_
