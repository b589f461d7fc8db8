#include "runtime/channel/channel.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {

ChannelTable::ChannelTable(uint64_t first_koid) : own_koids_(first_koid) {}

ChannelTable::ChannelTable(KoidAllocator* koids) : shared_koids_(koids) {
  PROCTOR_CHECK(koids != nullptr);
}

ChannelTable::ChannelTable(uint64_t first_koid, size_t max_channels,
                           size_t max_queued_messages)
    : own_koids_(first_koid),
      max_channels_(max_channels),
      max_queued_messages_(max_queued_messages) {}

ChannelTable::ChannelTable(KoidAllocator* koids, size_t max_channels,
                           size_t max_queued_messages)
    : shared_koids_(koids),
      max_channels_(max_channels),
      max_queued_messages_(max_queued_messages) {
  PROCTOR_CHECK(koids != nullptr);
}

EndpointId ChannelTable::AllocateKoid() {
  return EndpointId{shared_koids_ != nullptr ? shared_koids_->Next()
                                             : own_koids_.Next()};
}

absl::StatusOr<std::pair<EndpointId, EndpointId>> ChannelTable::CreatePair() {
  if (open_channels_ >= max_channels_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "channel table is full: ", max_channels_, " channels are open"));
  }
  const EndpointId a = AllocateKoid();
  const EndpointId b = AllocateKoid();
  // A koid reused while still open would merge two channels.
  PROCTOR_CHECK(!endpoints_.contains(a) && !endpoints_.contains(b));
  endpoints_[a].peer = b;
  endpoints_[b].peer = a;
  ++open_channels_;
  return std::make_pair(a, b);
}

ChannelStatus ChannelTable::Write(EndpointId from, Message message) {
  auto it = endpoints_.find(from);
  if (it == endpoints_.end()) return ChannelStatus::kBadHandle;
  if (message.bytes.size() > kMaxMessageBytes ||
      message.handles.size() > kMaxMessageHandles) {
    return ChannelStatus::kOutOfRange;
  }
  if (it->second.peer_closed) return ChannelStatus::kPeerClosed;
  auto peer = endpoints_.find(it->second.peer);
  // An open endpoint whose peer is not marked closed has an open peer.
  PROCTOR_CHECK(peer != endpoints_.end());
  if (peer->second.queue.size() >= max_queued_messages_) {
    return ChannelStatus::kShouldWait;
  }
  peer->second.queue.push_back(std::move(message));
  return ChannelStatus::kOk;
}

ChannelStatus ChannelTable::Read(EndpointId at, Message* out) {
  PROCTOR_CHECK(out != nullptr);
  auto it = endpoints_.find(at);
  if (it == endpoints_.end()) return ChannelStatus::kBadHandle;
  Endpoint& endpoint = it->second;
  if (endpoint.queue.empty()) {
    return endpoint.peer_closed ? ChannelStatus::kPeerClosed
                                : ChannelStatus::kShouldWait;
  }
  *out = std::move(endpoint.queue.front());
  endpoint.queue.pop_front();
  return ChannelStatus::kOk;
}

void ChannelTable::Close(EndpointId endpoint) {
  auto it = endpoints_.find(endpoint);
  if (it == endpoints_.end()) return;
  const bool peer_already_closed = it->second.peer_closed;
  const EndpointId peer = it->second.peer;
  endpoints_.erase(it);
  if (peer_already_closed) {
    PROCTOR_CHECK(open_channels_ > 0);
    --open_channels_;
    return;
  }
  auto peer_it = endpoints_.find(peer);
  PROCTOR_CHECK(peer_it != endpoints_.end());
  peer_it->second.peer_closed = true;
}

Signals ChannelTable::SignalsOf(EndpointId endpoint) const {
  auto it = endpoints_.find(endpoint);
  if (it == endpoints_.end()) return kSignalNone;
  Signals signals = kSignalNone;
  if (!it->second.queue.empty()) signals |= kSignalReadable;
  if (it->second.peer_closed) signals |= kSignalPeerClosed;
  return signals;
}

size_t ChannelTable::QueuedMessages(EndpointId endpoint) const {
  auto it = endpoints_.find(endpoint);
  return it == endpoints_.end() ? 0 : it->second.queue.size();
}

bool ChannelTable::IsOpen(EndpointId endpoint) const {
  return endpoints_.contains(endpoint);
}

}  // namespace proctor
