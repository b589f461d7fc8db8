#include "host/qemu/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "host/io/errno_status.h"

namespace proctor::host {
namespace {

static_assert(sizeof(sockaddr_un::sun_path) == kMaxUnixSocketPathBytes + 1);

absl::StatusOr<sockaddr_un> Address(const std::string& path) {
  if (path.empty() || path.size() > kMaxUnixSocketPathBytes) {
    return absl::OutOfRangeError(
        absl::StrCat("unix socket path \"", path, "\" has ", path.size(),
                     " bytes; it must have 1 to ", kMaxUnixSocketPathBytes,
                     " (choose a shorter run folder parent)"));
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

}  // namespace

absl::StatusOr<UniqueFd> ListenUnixSocket(const std::string& path) {
  absl::StatusOr<sockaddr_un> address = Address(path);
  if (!address.ok()) return address.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus(errno, "socket(AF_UNIX, SOCK_STREAM)");
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*address),
             sizeof(*address)) != 0) {
    return ErrnoStatus(errno, absl::StrCat("bind(", path, ")"));
  }
  if (::listen(fd.get(), 1) != 0) {
    return ErrnoStatus(errno, absl::StrCat("listen(", path, ")"));
  }
  return fd;
}

absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path) {
  absl::StatusOr<sockaddr_un> address = Address(path);
  if (!address.ok()) return address.status();
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus(errno, "socket(AF_UNIX, SOCK_STREAM)");
  int result;
  do {
    result = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*address),
                       sizeof(*address));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    return ErrnoStatus(errno, absl::StrCat("connect(", path, ")"));
  }
  return fd;
}

absl::StatusOr<UniqueFd> AcceptUnixPeer(int listen_fd, pid_t expected_pid,
                                        absl::string_view what) {
  int accepted;
  do {
    accepted =
        ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (accepted < 0 && errno == EINTR);
  if (accepted < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return UniqueFd();
    return ErrnoStatus(errno, absl::StrCat("accept4(", what, ")"));
  }
  UniqueFd fd(accepted);
  ucred credentials{};
  socklen_t size = sizeof(credentials);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) !=
      0) {
    return ErrnoStatus(errno,
                       absl::StrCat("getsockopt(", what, ", SO_PEERCRED)"));
  }
  if (credentials.pid != expected_pid) {
    return absl::PermissionDeniedError(
        absl::StrCat(what, ": refused a connection from pid ", credentials.pid,
                     "; only QEMU (pid ", expected_pid, ") may connect"));
  }
  return fd;
}

}  // namespace proctor::host
