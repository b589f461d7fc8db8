// Channels of CH-1 on real descriptors: each channel is an AF_UNIX
// SOCK_SEQPACKET socket pair, each message one datagram, and a message's
// handles are file descriptors carried with SCM_RIGHTS. The functions here
// are stateless over the endpoint descriptor, so an endpoint can be handed
// to another process and still speak the same framing.
//
// Framing: every datagram starts with one header byte, kChannelFrameVersion,
// followed by the message bytes. SOCK_SEQPACKET reports both an empty
// datagram and end-of-stream as a zero-byte read; with the header an empty
// message is a one-byte datagram, so a zero-byte read can only be the close
// (or a malformed datagram from an untrusted peer, refused like one).
#ifndef PROCTOR_HOST_IO_SEQPACKET_CHANNEL_H_
#define PROCTOR_HOST_IO_SEQPACKET_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "host/io/unique_fd.h"
#include "runtime/model/channel_types.h"

namespace proctor::host {

// The first byte of every datagram: version 1 of the Proctor channel frame.
inline constexpr uint8_t kChannelFrameVersion = 0x01;
inline constexpr size_t kChannelFrameHeaderBytes = 1;
// The largest datagram a conforming writer sends.
inline constexpr size_t kMaxChannelDatagramBytes =
    kChannelFrameHeaderBytes + kMaxMessageBytes;
// SO_SNDBUF asked for on each endpoint. Linux clamps the request to
// net.core.wmem_max and doubles it; it bounds how much one endpoint's
// unread messages may occupy in the kernel (AF_UNIX datagrams are charged
// to the sender; SO_RCVBUF has no effect on them but is set alike).
inline constexpr int kChannelSocketBufferRequest = 2 << 20;
// Linux refuses a datagram longer than the send buffer minus 32 bytes; an
// endpoint whose buffer cannot hold one maximum message is refused.
inline constexpr size_t kMinChannelSendBufferBytes =
    kMaxChannelDatagramBytes + 32;

// A message as it arrives: the bytes, and the descriptors it carried, now
// owned by the reader (each O_CLOEXEC).
struct RealMessage {
  std::string bytes;
  std::vector<UniqueFd> handles;
};

// A connected pair of non-blocking, close-on-exec endpoints whose send
// buffers hold at least one maximum message (error otherwise, naming the
// size the kernel granted).
absl::StatusOr<std::pair<UniqueFd, UniqueFd>> CreateChannel();

// Sends one message atomically, or nothing:
//   kOk; kOutOfRange if bytes > kMaxMessageBytes or more than
//   kMaxMessageHandles handles (or the kernel refuses that many descriptors
//   in flight); kShouldWait when the buffer is full; kPeerClosed when the
//   other endpoint is closed (never SIGPIPE); kBadHandle when `endpoint` or
//   a handle is not an open descriptor of the right kind.
// The kernel duplicates `handle_fds` into the message: the caller keeps its
// copies. `detail`, when given, is set to the failed call and errno text on
// any status but kOk.
ChannelStatus WriteMessage(int endpoint, absl::string_view bytes,
                           absl::Span<const int> handle_fds);
ChannelStatus WriteMessage(int endpoint, absl::string_view bytes,
                           absl::Span<const int> handle_fds,
                           std::string* detail);

// Receives one whole message into *out (replacing what it held):
//   kOk; kShouldWait when nothing is queued and the peer is open;
//   kPeerClosed when nothing is queued and the peer closed (messages queued
//   before the close are read first); kOutOfRange when the next datagram is
//   not a conforming message (too long, more than kMaxMessageHandles
//   descriptors, a wrong or missing frame header) or its descriptors could
//   not all be received (this process is out of descriptors): that datagram
//   is consumed and dropped and any descriptor that arrived is closed;
//   kBadHandle when `endpoint` is not an open socket.
// `detail`, when given, says why on any status but kOk and kShouldWait.
ChannelStatus ReadMessage(int endpoint, RealMessage* out);
ChannelStatus ReadMessage(int endpoint, RealMessage* out, std::string* detail);

// The CH-1 signals of `endpoint` now: kSignalReadable if a message is
// queued, kSignalPeerClosed if the other endpoint is closed. kSignalNone for
// a descriptor that is not open.
Signals SignalsOf(int endpoint);

}  // namespace proctor::host

#endif  // PROCTOR_HOST_IO_SEQPACKET_CHANNEL_H_
