// A value model of channels (CH-1): what the simulator uses to play the
// world's side of the channels a proxy reads and writes. Plain data, no
// actions: the simulator executes the proxy's read_message / write_message /
// close_endpoint actions against a ChannelTable and reports the outcome.
#ifndef PROCTOR_RUNTIME_CHANNEL_CHANNEL_H_
#define PROCTOR_RUNTIME_CHANNEL_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "runtime/channel/koid_allocator.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/limits.h"

namespace proctor {

class ChannelTable {
 public:
  // The default bound on messages waiting to be read at one endpoint
  // (RuntimeLimits::max_queued_messages). A write beyond the bound fails
  // with SHOULD_WAIT and queues nothing, like a full channel on Zircon
  // (which also raises a policy exception there). The writer may retry once
  // the reader has drained some of the queue.
  static constexpr size_t kMaxQueuedMessages =
      RuntimeLimits{}.max_queued_messages;
  // The default bound on channels with at least one open endpoint
  // (RuntimeLimits::max_channels).
  static constexpr size_t kMaxChannels = RuntimeLimits{}.max_channels;

  // Allocates endpoint koids from the table's own counter, from first_koid.
  explicit ChannelTable(uint64_t first_koid = 1);
  // Allocates endpoint koids from `koids` (not owned; must outlive the table
  // and its copies), so that channels and counters share one koid space.
  explicit ChannelTable(KoidAllocator* koids);
  // The same with explicit capacities instead of the defaults.
  ChannelTable(uint64_t first_koid, size_t max_channels,
               size_t max_queued_messages = kMaxQueuedMessages);
  ChannelTable(KoidAllocator* koids, size_t max_channels,
               size_t max_queued_messages = kMaxQueuedMessages);

  // A new channel; both endpoints are open. ResourceExhausted beyond
  // max_channels() open channels.
  absl::StatusOr<std::pair<EndpointId, EndpointId>> CreatePair();

  // Queues `message` at the peer of `from`, whole. Checked in this order:
  // BAD_HANDLE if `from` is unknown or closed; OUT_OF_RANGE if the message
  // has more than kMaxMessageBytes bytes or kMaxMessageHandles handles;
  // PEER_CLOSED if the peer is closed; SHOULD_WAIT if the peer's queue holds
  // max_queued_messages(). On any failure nothing is queued.
  ChannelStatus Write(EndpointId from, Message message);

  // Takes the oldest message queued at `at` into *out. BAD_HANDLE if `at` is
  // unknown or closed; on an empty queue PEER_CLOSED if the peer is closed,
  // SHOULD_WAIT otherwise. Messages queued before the peer closed are still
  // read first. *out is untouched unless the status is OK.
  ChannelStatus Read(EndpointId at, Message* out);

  // Closes `endpoint` and discards what was queued at it; its peer observes
  // PEER_CLOSED. Closing an unknown or closed endpoint does nothing.
  void Close(EndpointId endpoint);

  // READABLE iff messages are queued at `endpoint`, PEER_CLOSED iff its peer
  // is closed; NONE for an unknown or closed endpoint.
  Signals SignalsOf(EndpointId endpoint) const;
  // Messages waiting to be read at `endpoint`; 0 if unknown or closed.
  size_t QueuedMessages(EndpointId endpoint) const;
  bool IsOpen(EndpointId endpoint) const;
  size_t open_endpoints() const { return endpoints_.size(); }
  size_t open_channels() const { return open_channels_; }
  size_t max_channels() const { return max_channels_; }
  size_t max_queued_messages() const { return max_queued_messages_; }

 private:
  struct Endpoint {
    EndpointId peer;
    bool peer_closed = false;
    std::deque<Message> queue;  // written by the peer, read here
  };

  EndpointId AllocateKoid();

  KoidAllocator own_koids_;
  KoidAllocator* shared_koids_ = nullptr;
  size_t max_channels_ = kMaxChannels;
  size_t max_queued_messages_ = kMaxQueuedMessages;
  // Closed endpoints are erased: an id not in the map is BAD_HANDLE.
  absl::btree_map<EndpointId, Endpoint> endpoints_;
  size_t open_channels_ = 0;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CHANNEL_CHANNEL_H_
