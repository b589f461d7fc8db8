// Messages, signals and statuses of channels and counters (CH-1, CT-1), shared
// by the runtime's proxy, the simulator's channel model and the host world.
#ifndef PROCTOR_RUNTIME_MODEL_CHANNEL_TYPES_H_
#define PROCTOR_RUNTIME_MODEL_CHANNEL_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "runtime/model/ids.h"

namespace proctor {

// CH-1 limits.
inline constexpr size_t kMaxMessageBytes = 65536;
inline constexpr size_t kMaxMessageHandles = 64;

struct Message {
  std::string bytes;
  std::vector<HandleId> handles;
  friend bool operator==(const Message&, const Message&) = default;
};

// Signals asserted on an endpoint or a counter: a bit set.
enum Signal : uint32_t {
  kSignalNone = 0,
  kSignalReadable = 1u << 0,     // CH-1: the endpoint's queue is non-empty
  kSignalPeerClosed = 1u << 1,   // CH-1: the other endpoint is closed
  kSignalPositive = 1u << 2,     // CT-1: counter > 0
  kSignalNonPositive = 1u << 3,  // CT-1: counter <= 0
  // A handle-based wake source may watch any user signal (PW-1).
  kSignalUser0 = 1u << 4,
  kSignalUser1 = 1u << 5,
};
using Signals = uint32_t;

// "READABLE|PEER_CLOSED"; "NONE" for the empty set.
std::string FormatSignals(Signals s);
// Inverse of FormatSignals; false on an unknown name.
bool ParseSignals(absl::string_view text, Signals* out);

// Results of channel and counter operations (CH-1, CT-1).
enum class ChannelStatus : uint8_t {
  kOk,
  kShouldWait,  // read on an empty queue
  kPeerClosed,  // write to (or read from an empty, orphaned) endpoint
  kOutOfRange,  // message too big, too many handles, counter overflow
  kBadHandle,   // endpoint or counter unknown or already closed
};
absl::string_view ChannelStatusName(ChannelStatus s);
bool ParseChannelStatus(absl::string_view text, ChannelStatus* out);

// PW-2: what a wake watcher is told.
enum class WakeSignal : uint8_t { kAwake, kAsleep };
absl::string_view WakeSignalName(WakeSignal s);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_CHANNEL_TYPES_H_
