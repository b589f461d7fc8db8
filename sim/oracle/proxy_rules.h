// CH-1 and PX-1..PX-4 judged from the stream: the oracle follows every
// message by the id the simulated peers put in its bytes, from the peer that
// wrote it (peer_wrote), through the proxy's write_message, to the peer that
// received it (peer_received), and checks the counter arithmetic of PX-2,
// the drain-then-close of PX-3 and the clean-up of PX-4: a stopped proxy's
// counter's wake source is removed once the counter has drained, never while
// it is positive (spec "Project additions", PX-4 with PW-4).
#ifndef PROCTOR_SIM_ORACLE_PROXY_RULES_H_
#define PROCTOR_SIM_ORACLE_PROXY_RULES_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "runtime/model/ids.h"
#include "sim/oracle/internal/judge.h"

namespace proctor::sim::oracle_internal {

class ProxyRules final : public RuleSet {
 public:
  using RuleSet::RuleSet;
  void OnInput(const Input& input) override;
  void OnAction(const Action& action) override;
  void OnFact(const WorldFact& fact) override;
  void EndStep() override;
  void OnEnd(bool judge_liveness) override;

 private:
  struct Proxy {
    ProxyId id;
    EndpointId container_endpoint;
    EndpointId remote_endpoint;
    CounterId counter;
    bool stopped = false;
    Instant stopped_at;
    bool container_endpoint_closed = false;
    bool remote_endpoint_closed = false;
    // A read, write or counter add failed in a way PX-3 does not cover, so
    // the proxy may stop without draining.
    bool broken = false;
    // PX-2: the deltas of counter adds asked for and not yet answered (+1
    // counts a message, -1 takes a count back), and successful +1 adds not
    // yet used by a write into the container endpoint.
    std::deque<int64_t> adds_in_flight;
    int64_t credits = 0;
    // PX-2: counted messages whose write into the container endpoint
    // failed: each may (and must) be taken back.
    int64_t undelivered_counted = 0;
  };
  // A peer's own end of a channel: what it wrote that the proxy holding the
  // other end has not forwarded yet.
  struct PeerEnd {
    std::deque<uint64_t> unforwarded;
    bool closed = false;
    Instant closed_at;
  };
  // One endpoint a proxy writes into: the writes awaiting message_written,
  // and (CH-1) those the peer at the other end has not received yet.
  struct Outbox {
    struct Write {
      uint64_t id = 0;
      bool confirmed = false;  // message_written OK arrived
    };
    std::deque<std::optional<uint64_t>> awaiting_completion;
    std::deque<Write> undelivered;
    // Written, passed over by the receiver while their outcome was unknown:
    // their write must turn out to have failed.
    absl::flat_hash_set<uint64_t> must_fail;
  };
  // PX-4: a stopped proxy whose counter's wake source is still registered.
  struct Retiring {
    ProxyId proxy;
    Instant stopped_at;
    uint64_t stopped_in_step = 0;  // the step's input sequence number
  };
  // add_proxy of the current step, until its reply.
  struct PendingAdd {
    RequestId request;
    Proxy proxy;
  };

  Proxy* ByEndpoint(EndpointId endpoint);
  Proxy* ByCounter(CounterId counter);
  std::optional<EndpointId> PeerOf(EndpointId endpoint) const;
  PeerEnd* FindPeerEnd(EndpointId endpoint);
  CounterState* Counter(CounterId counter);
  void AddProxy(const Proxy& proxy);
  void EvictOneStopped();

  void OnMessageWritten(const input::MessageWritten& in);
  void OnWrite(const action::WriteMessage& write);
  void OnCounterAdd(const action::CounterAdd& add);
  // PX-2: counter_add(-1) by the proxy, legal only for a counted message it
  // did not deliver.
  void OnTakeBack(Proxy& proxy, const action::CounterAdd& add);
  // The peer at the other end of the proxy's container endpoint closed.
  bool ContainerSideClosed(const Proxy& proxy);
  // PX-2 (spec "Project additions"): the proxy stopped by itself with a
  // count of its own unsettled.
  void CheckCountsSettled(const Proxy& proxy);
  void OnClose(const action::CloseEndpoint& close);
  void OnStopped(const action::ProxyStopped& stopped);
  void CheckDrained(const Proxy& proxy);
  void OnPeerReceived(const fact::PeerReceived& received);
  void OnPeerClosed(const fact::PeerClosed& closed);
  void OnContainerHandled(const fact::ContainerHandled& handled);
  // PX-4: the counter's value as the oracle models it (0 if unknown).
  int64_t CounterValue(CounterId counter) const;
  void OnWakeSourceRemoved(const action::WakeSourceRemoved& removed);

  absl::btree_map<ProxyId, Proxy> proxies_;
  // Stopped proxies in the order they stopped, the first to be forgotten.
  std::deque<ProxyId> stopped_order_;
  // The latest proxy to hold each endpoint and counter.
  absl::flat_hash_map<EndpointId, ProxyId> by_endpoint_;
  absl::flat_hash_map<CounterId, ProxyId> by_counter_;
  // channel_created: each endpoint's other end.
  absl::flat_hash_map<EndpointId, EndpointId> peer_of_;
  absl::flat_hash_map<EndpointId, PeerEnd> peer_ends_;
  // Keyed by the proxy's endpoint written into.
  absl::flat_hash_map<EndpointId, Outbox> outboxes_;

  // The current step.
  std::optional<PendingAdd> pending_add_;
  std::optional<EndpointId> step_read_from_;
  // PX-4: stopped proxies' counters whose wake source is still registered,
  // bounded by the wake sources the oracle follows.
  absl::btree_map<CounterId, Retiring> retiring_;
  // Counters of retiring_ that have drained (<= 0) as of this step (the
  // proxy stopped with it drained, or a counter value of this step's input
  // came after the drain): their source must be removed before the step
  // ends.
  std::vector<CounterId> removal_due_;
  // remove_wake_source of this step: the client may remove any source.
  std::optional<WakeSourceId> step_removes_;
};

}  // namespace proctor::sim::oracle_internal

#endif  // PROCTOR_SIM_ORACLE_PROXY_RULES_H_
