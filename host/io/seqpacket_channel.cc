#include "host/io/seqpacket_channel.h"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "host/io/errno_status.h"
#include "runtime/model/check.h"

namespace proctor::host {
namespace {

// Room for the largest conforming SCM_RIGHTS message plus one
// SCM_CREDENTIALS, which arrives on every datagram if anyone set SO_PASSCRED
// on the endpoint; without it, an SCM_RIGHTS of up to
// kMaxFdsInControl descriptors fits and is refused by count.
constexpr size_t kControlBytes =
    CMSG_SPACE(sizeof(int) * kMaxMessageHandles) + CMSG_SPACE(sizeof(ucred));
constexpr size_t kMaxFdsInControl = (kControlBytes - CMSG_LEN(0)) / sizeof(int);
// EINTR and a one-time ECONNRESET (the peer closed with unread messages of
// its own) are retried; anything repeating more often than this is mapped.
constexpr int kMaxCallAttempts = 4;

ChannelStatus Fail(ChannelStatus status, std::string* detail,
                   std::string text) {
  if (detail != nullptr) *detail = std::move(text);
  return status;
}

std::string ErrnoText(absl::string_view call, int endpoint, int error_number) {
  return absl::StrCat(call, "(fd ", endpoint,
                      "): ", std::strerror(error_number));
}

absl::StatusOr<int> GetSendBuffer(int fd) {
  int size = 0;
  socklen_t length = sizeof size;
  if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &length) != 0) {
    return ErrnoStatus(errno, "getsockopt(SO_SNDBUF)");
  }
  return size;
}

absl::Status SizeBuffers(int fd) {
  absl::StatusOr<int> before = GetSendBuffer(fd);
  if (!before.ok()) return before.status();
  // Linux doubles the request; only ever ask for more than the default.
  if (*before < 2 * kChannelSocketBufferRequest) {
    const int request = kChannelSocketBufferRequest;
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &request, sizeof request) !=
        0) {
      return ErrnoStatus(errno,
                         absl::StrCat("setsockopt(SO_SNDBUF, ", request, ")"));
    }
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &request, sizeof request) !=
        0) {
      return ErrnoStatus(errno,
                         absl::StrCat("setsockopt(SO_RCVBUF, ", request, ")"));
    }
  }
  absl::StatusOr<int> after = GetSendBuffer(fd);
  if (!after.ok()) return after.status();
  if (static_cast<size_t>(*after) < kMinChannelSendBufferBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CreateChannel: the kernel gave the endpoint a send buffer of ", *after,
        " bytes, too small for one ", kMaxChannelDatagramBytes,
        "-byte message (needs ", kMinChannelSendBufferBytes,
        "; raise net.core.wmem_max)"));
  }
  return absl::OkStatus();
}

// A zero-byte read is either end-of-stream or an empty (headerless)
// datagram from a non-conforming peer. End-of-stream happens only once the
// peer is closed and the queue is empty, so both facts are checked after
// the read: a read that consumed an empty datagram while valid messages
// remain, or while the peer is open, is a refused datagram.
ChannelStatus ClassifyZeroByteRead(int endpoint, std::string* detail) {
  const Signals signals = SignalsOf(endpoint);
  if ((signals & kSignalPeerClosed) != 0 && (signals & kSignalReadable) == 0) {
    return Fail(ChannelStatus::kPeerClosed, detail,
                absl::StrCat("recvmsg(fd ", endpoint,
                             "): end of stream: the peer endpoint is closed "
                             "and no message is queued"));
  }
  return Fail(ChannelStatus::kOutOfRange, detail,
              absl::StrCat("recvmsg(fd ", endpoint,
                           "): refused an empty datagram without the frame "
                           "header (dropped)"));
}

}  // namespace

absl::StatusOr<std::pair<UniqueFd, UniqueFd>> CreateChannel() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                   fds) != 0) {
    return ErrnoStatus(errno, "socketpair(AF_UNIX, SOCK_SEQPACKET)");
  }
  std::pair<UniqueFd, UniqueFd> channel{UniqueFd(fds[0]), UniqueFd(fds[1])};
  for (int fd : {fds[0], fds[1]}) {
    absl::Status status = SizeBuffers(fd);
    if (!status.ok()) return status;
  }
  return channel;
}

ChannelStatus WriteMessage(int endpoint, absl::string_view bytes,
                           absl::Span<const int> handle_fds) {
  return WriteMessage(endpoint, bytes, handle_fds, nullptr);
}

ChannelStatus WriteMessage(int endpoint, absl::string_view bytes,
                           absl::Span<const int> handle_fds,
                           std::string* detail) {
  if (bytes.size() > kMaxMessageBytes) {
    return Fail(
        ChannelStatus::kOutOfRange, detail,
        absl::StrCat("WriteMessage(fd ", endpoint, "): ", bytes.size(),
                     " bytes, more than the limit of ", kMaxMessageBytes));
  }
  if (handle_fds.size() > kMaxMessageHandles) {
    return Fail(
        ChannelStatus::kOutOfRange, detail,
        absl::StrCat("WriteMessage(fd ", endpoint, "): ", handle_fds.size(),
                     " handles, more than the limit of ", kMaxMessageHandles));
  }
  if (endpoint < 0) {
    return Fail(ChannelStatus::kBadHandle, detail,
                absl::StrCat("WriteMessage: endpoint ", endpoint,
                             " is not a descriptor"));
  }
  uint8_t header = kChannelFrameVersion;
  iovec iov[2] = {
      {&header, kChannelFrameHeaderBytes},
      {const_cast<char*>(bytes.data()), bytes.size()},
  };
  alignas(cmsghdr) unsigned char
      control[CMSG_SPACE(sizeof(int) * kMaxMessageHandles)];
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  if (!handle_fds.empty()) {
    const size_t data_bytes = sizeof(int) * handle_fds.size();
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(data_bytes);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(data_bytes);
    std::memcpy(CMSG_DATA(cmsg), handle_fds.data(), data_bytes);
  }
  const size_t total = kChannelFrameHeaderBytes + bytes.size();
  for (int attempt = 1;; ++attempt) {
    const ssize_t sent = ::sendmsg(endpoint, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent >= 0) {
      // A datagram is sent whole or not at all.
      PROCTOR_CHECK(static_cast<size_t>(sent) == total);
      return ChannelStatus::kOk;
    }
    const int err = errno;
    if (err == EINTR && attempt < kMaxCallAttempts) continue;
    const std::string text = ErrnoText("sendmsg", endpoint, err);
    switch (err) {
      case EAGAIN:
      case ENOBUFS:
      case ENOMEM:
      case EINTR:
        return Fail(ChannelStatus::kShouldWait, detail, text);
      case EPIPE:
      case ECONNRESET:
      case ECONNREFUSED:
      case ENOTCONN:
        return Fail(ChannelStatus::kPeerClosed, detail, text);
      case EMSGSIZE:
      case ETOOMANYREFS:
        return Fail(ChannelStatus::kOutOfRange, detail, text);
      default:  // EBADF, ENOTSOCK, EOPNOTSUPP, EINVAL, ...
        return Fail(ChannelStatus::kBadHandle, detail, text);
    }
  }
}

ChannelStatus ReadMessage(int endpoint, RealMessage* out) {
  return ReadMessage(endpoint, out, nullptr);
}

ChannelStatus ReadMessage(int endpoint, RealMessage* out, std::string* detail) {
  PROCTOR_CHECK(out != nullptr);
  out->bytes.clear();
  out->handles.clear();
  if (endpoint < 0) {
    return Fail(ChannelStatus::kBadHandle, detail,
                absl::StrCat("ReadMessage: endpoint ", endpoint,
                             " is not a descriptor"));
  }
  uint8_t header = 0;
  // On the stack so that a message keeps only the bytes it has, and reads
  // do not allocate: 64 KiB, bounded by the contract's message size.
  char payload[kMaxMessageBytes];
  iovec iov[2] = {{&header, kChannelFrameHeaderBytes},
                  {payload, sizeof payload}};
  alignas(cmsghdr) unsigned char control[kControlBytes];
  msghdr msg{};
  ssize_t length = -1;
  for (int attempt = 1;; ++attempt) {
    msg = msghdr{};
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    // MSG_TRUNC makes the result the datagram's real length.
    length =
        ::recvmsg(endpoint, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (length >= 0) break;
    const int err = errno;
    // ECONNRESET is reported once when the peer closed with unread
    // messages of its own; messages queued here are still to be read.
    if ((err == EINTR || err == ECONNRESET) && attempt < kMaxCallAttempts) {
      continue;
    }
    const std::string text = ErrnoText("recvmsg", endpoint, err);
    switch (err) {
      case EAGAIN:
      case EINTR:
        return Fail(ChannelStatus::kShouldWait, detail, text);
      case ECONNRESET:
      case ENOTCONN:
        return Fail(ChannelStatus::kPeerClosed, detail, text);
      default:  // EBADF, ENOTSOCK, EINVAL, ...
        return Fail(ChannelStatus::kBadHandle, detail, text);
    }
  }

  // Take ownership of every descriptor that arrived before looking at
  // anything else, so no refusal below can leak one.
  std::vector<UniqueFd> fds;
  fds.reserve(kMaxFdsInControl);
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr;
       cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
      continue;
    }
    const size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    PROCTOR_CHECK(fds.size() + count <= kMaxFdsInControl);
    const unsigned char* data = CMSG_DATA(cmsg);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, data + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }

  const std::string where = absl::StrCat("recvmsg(fd ", endpoint, "): ");
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    if (fds.size() < kMaxMessageHandles) {
      return Fail(ChannelStatus::kOutOfRange, detail,
                  absl::StrCat(where,
                               "the message's descriptors could not all be "
                               "received: this process is out of "
                               "descriptors (RLIMIT_NOFILE); dropped it and "
                               "closed the ",
                               fds.size(), " that arrived"));
    }
    return Fail(
        ChannelStatus::kOutOfRange, detail,
        absl::StrCat(where, "refused a message with more than ",
                     kMaxMessageHandles, " descriptors (dropped; closed the ",
                     fds.size(), " that arrived)"));
  }
  if (fds.size() > kMaxMessageHandles) {
    return Fail(ChannelStatus::kOutOfRange, detail,
                absl::StrCat(where, "refused a message with ", fds.size(),
                             " descriptors, more than the limit of ",
                             kMaxMessageHandles, " (dropped and closed)"));
  }
  if ((msg.msg_flags & MSG_TRUNC) != 0 ||
      static_cast<size_t>(length) > kMaxChannelDatagramBytes) {
    return Fail(ChannelStatus::kOutOfRange, detail,
                absl::StrCat(where, "refused a ", length,
                             "-byte datagram, more than the limit of ",
                             kMaxChannelDatagramBytes,
                             " (header and message; dropped)"));
  }
  if (length == 0) {
    if (!fds.empty()) {
      return Fail(ChannelStatus::kOutOfRange, detail,
                  absl::StrCat(where,
                               "refused an empty datagram without the frame "
                               "header (dropped; closed its ",
                               fds.size(), " descriptors)"));
    }
    return ClassifyZeroByteRead(endpoint, detail);
  }
  if (header != kChannelFrameVersion) {
    return Fail(
        ChannelStatus::kOutOfRange, detail,
        absl::StrCat(where,
                     absl::StrFormat("refused a datagram with frame header "
                                     "0x%02x, expected 0x%02x",
                                     header, kChannelFrameVersion),
                     " (dropped)"));
  }
  out->bytes.assign(payload,
                    static_cast<size_t>(length) - kChannelFrameHeaderBytes);
  out->handles = std::move(fds);
  return ChannelStatus::kOk;
}

Signals SignalsOf(int endpoint) {
  if (endpoint < 0) return kSignalNone;
  pollfd poll_fd{};
  poll_fd.fd = endpoint;
  poll_fd.events = POLLIN | POLLRDHUP;
  int ready;
  do {
    ready = ::poll(&poll_fd, 1, 0);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0 || (poll_fd.revents & POLLNVAL) != 0) {
    return kSignalNone;
  }
  if ((poll_fd.revents & (POLLHUP | POLLRDHUP)) == 0) {
    return (poll_fd.revents & POLLIN) != 0 ? kSignalReadable : kSignalNone;
  }
  // Once the peer is closed POLLIN is always set; SIOCINQ (bytes queued, all
  // datagrams together) says whether a message is still there.
  int queued = 0;
  if (::ioctl(endpoint, SIOCINQ, &queued) == 0 && queued > 0) {
    return kSignalPeerClosed | kSignalReadable;
  }
  return kSignalPeerClosed;
}

}  // namespace proctor::host
