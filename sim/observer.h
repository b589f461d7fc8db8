// What the simulated world tells those who watch a run: every input it hands
// to the system under test, every action that comes back, and the world's
// own facts (what peers wrote and received, faults that fired). The trace
// recorder and the invariant oracle are observers; neither can change the
// run. Sequence numbers are shared by inputs, actions and facts and count up
// from 1, so a trace position names one event.
#ifndef PROCTOR_SIM_OBSERVER_H_
#define PROCTOR_SIM_OBSERVER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "runtime/model/action.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"

namespace proctor::sim {

namespace fact {

// The world created a channel; `a` and `b` are its two endpoints. One of
// them is handed to the proxy (in add_proxy), the other is a peer's own end.
struct ChannelCreated {
  static constexpr absl::string_view kName = "channel_created";
  EndpointId a;
  EndpointId b;
};
// A simulated peer (a remote client, or the container) wrote message
// `message_id` into `endpoint`, its own end of a channel whose other end the
// proxy holds.
struct PeerWrote {
  static constexpr absl::string_view kName = "peer_wrote";
  EndpointId endpoint;
  uint64_t message_id = 0;
};
// A simulated peer read message `message_id` from its own end `endpoint`.
struct PeerReceived {
  static constexpr absl::string_view kName = "peer_received";
  EndpointId endpoint;
  uint64_t message_id = 0;
};
// A simulated peer closed its own end `endpoint`.
struct PeerClosed {
  static constexpr absl::string_view kName = "peer_closed";
  EndpointId endpoint;
};
// The container handled a message that entered it and took one off the
// proxy's counter (PX-2); `value` is the counter after the decrement.
struct ContainerHandled {
  static constexpr absl::string_view kName = "container_handled";
  CounterId counter;
  int64_t value = 0;
};
// A fault of the plan fired. `kind` is the fault kind's stable name.
struct FaultFired {
  static constexpr absl::string_view kName = "fault_fired";
  std::string kind;
  uint64_t target = 0;
};

}  // namespace fact

using WorldFact =
    std::variant<fact::ChannelCreated, fact::PeerWrote, fact::PeerReceived,
                 fact::PeerClosed, fact::ContainerHandled, fact::FaultFired>;

inline absl::string_view FactName(const WorldFact& f) {
  return std::visit([](const auto& x) { return x.kName; }, f);
}

// A rule the run broke, as found by an oracle.
struct Violation {
  std::string rule;     // "PX-3"
  std::string message;  // what was expected and what was seen
  uint64_t seq = 0;     // the event at which it was found
  Instant at;
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void OnInput(uint64_t seq, Instant at, const Input& input) = 0;
  virtual void OnAction(uint64_t seq, Instant at, const Action& action) = 0;
  virtual void OnFact(uint64_t seq, Instant at, const WorldFact& fact) = 0;
  // Faults have stopped: from now on liveness is judged.
  virtual void OnQuiet(Instant at) { (void)at; }
  // The run is over (the world is idle or its time is up).
  virtual void OnEnd(Instant at) { (void)at; }
};

// Messages the simulated peers send carry their id in their first bytes,
// "msg:<id>;", padded to the size the world chose, so an oracle can follow a
// message through the proxy without reading the world's state.
std::string EncodeMessageBytes(uint64_t message_id, size_t size);
std::optional<uint64_t> DecodeMessageId(absl::string_view bytes);

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_OBSERVER_H_
