// The sans-IO state machine of one channel proxy (PX-1..PX-3): it joins an
// endpoint whose peer is in the container with an endpoint whose peer is
// outside, forwarding messages both ways, and counts every message entering
// the container so that the container is not suspended while it has one
// unhandled (PW-4).
//
// The proxy never touches a channel itself. It asks the world to
// read_message / counter_add / write_message and continues when the world
// reports the outcome. Each direction has at most one of those operations in
// flight, which is what keeps each direction in order; the two directions
// progress independently.
//
// A count the proxy took for a message it then cannot deliver (the container
// side closed, or the write into it failed) is taken back with
// counter_add(-1) (PX-2), and the proxy never stops on its own while a
// counter operation of its own is in flight or a counted message is being
// written: it settles the count first, so no counter_added ever arrives for
// a proxy that stopped by itself.
#ifndef PROCTOR_RUNTIME_CHANNEL_CHANNEL_PROXY_H_
#define PROCTOR_RUNTIME_CHANNEL_CHANNEL_PROXY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "runtime/model/action.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"

namespace proctor {

class ChannelProxy {
 public:
  // The two endpoints must differ (ProxyManager validates untrusted input
  // before constructing a proxy). `mutants` switches on known bugs for the
  // simulator to catch (runtime/model/mutants.h); empty for the reference.
  ChannelProxy(ProxyId id, EndpointId container_endpoint,
               EndpointId remote_endpoint, CounterId counter, std::string name,
               MutantSet mutants = {});
  explicit ChannelProxy(const input::AddProxy& add, MutantSet mutants = {});

  // Inputs about other endpoints or counters, inputs that answer no
  // operation in flight, and every input after the proxy stopped are
  // ignored: the world may be stale, the proxy never crashes on it.
  //
  // READABLE or PEER_CLOSED on either endpoint starts draining that side.
  void OnEndpointSignalled(Instant now, const input::EndpointSignalled& in,
                           ActionList& out);
  void OnMessageRead(Instant now, const input::MessageRead& in,
                     ActionList& out);
  void OnCounterAdded(Instant now, const input::CounterAdded& in,
                      ActionList& out);
  void OnMessageWritten(Instant now, const input::MessageWritten& in,
                        ActionList& out);

  // Stops at once (e.g. on shutdown) with `why` as stop_status(): closes both
  // endpoints and announces proxy_stopped. Does nothing if already stopped.
  // Unlike the proxy's own stops it does not wait for a count in flight:
  // shutdown releases the counter with the host resources (RT-2).
  void Stop(Instant now, absl::Status why, ActionList& out);

  bool stopped() const { return stopped_; }
  // Why the proxy stopped: OK for an orderly PX-3 close; an error when a
  // read, write or counter add failed in a way PX-3 does not cover, or when
  // Stop() was called. Meaningful once stopped().
  const absl::Status& stop_status() const { return stop_status_; }

  ProxyId id() const { return id_; }
  EndpointId container_endpoint() const { return to_remote_.source; }
  EndpointId remote_endpoint() const { return to_container_.source; }
  CounterId counter() const { return counter_; }
  const std::string& name() const { return name_; }
  // Messages whose write the world confirmed, per direction.
  uint64_t forwarded_to_container() const { return to_container_.forwarded; }
  uint64_t forwarded_to_remote() const { return to_remote_.forwarded; }

 private:
  // The one operation a direction has in flight.
  // kTakingBack: counter_add(-1) for a counted message that was not
  // delivered (PX-2).
  enum class Step : uint8_t {
    kIdle,
    kReading,
    kCounting,
    kWriting,
    kTakingBack
  };

  struct Direction {
    EndpointId source;
    EndpointId destination;
    bool counts = false;  // PX-2: only remote -> container
    // Mutant proxy-count-after-write: the count follows the confirmed write
    // instead of preceding it (`counts` is then false).
    bool counts_after_write = false;
    Step step = Step::kIdle;
    // The message between its read and its confirmed write.
    std::optional<Message> message;
    // Something may be readable that no read issued so far could have seen:
    // set by a signal or a completed forward, cleared when a read is issued.
    bool wants_read = false;
    // The source's peer is closed: nothing new will arrive at the source.
    bool source_peer_closed = false;
    // A read issued after source_peer_closed was known found the queue
    // empty: everything that was written before the close is forwarded.
    bool drained = false;
    uint64_t forwarded = 0;
  };

  Direction* BySource(EndpointId endpoint);
  Direction* ByDestination(EndpointId endpoint);
  Direction& Opposite(const Direction& d);
  // Nothing more can be delivered in `d`: its destination's peer is closed.
  bool DestinationGone(const Direction& d) const;
  // Issues the next read of `d` if it is idle and has reason to read.
  void Pump(Direction& d, ActionList& out);
  // A count of the proxy's own is unsettled: a counter operation is in
  // flight, or a counted message is being written into the container.
  bool CountUnsettled() const;
  // PX-2: the counted message in to_container_ will not be delivered.
  void TakeBack(ActionList& out);
  // PX-3: stops once a side whose peer is closed has nothing left to forward
  // (and, once asked to stop, as soon as the count is settled).
  void MaybeStop(ActionList& out);
  // Stops with `why` as soon as CountUnsettled() is false; until then
  // nothing new is read and only the count is settled. The first reason
  // given wins.
  void StopWhenSettled(absl::Status why, ActionList& out);
  void StopNow(absl::Status why, ActionList& out);
  std::string Describe() const;

  ProxyId id_;
  CounterId counter_;
  std::string name_;
  MutantSet mutants_;
  Direction to_container_;
  Direction to_remote_;
  bool stopped_ = false;
  absl::Status stop_status_;
  // Set by StopWhenSettled while a count is unsettled.
  std::optional<absl::Status> stopping_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CHANNEL_CHANNEL_PROXY_H_
