// The events of one scenario run as a scenario sees them: every input,
// action and world fact in its JSON form (docs/trace-format.md), in order,
// with replies joined to the request they answer ("to" and "input"), so
// that steps can follow events and expectations can be judged after the run
// by matching EventPatterns. The same log is built from any world's run.
//
// Endpoint and counter ids (koids) are whatever the world allocated, so an
// event that names a proxy's endpoint or counter also carries "proxy" (its
// id) and, for an endpoint, "side" ("remote" or "container": which channel)
// and "end" ("proxy": the end the proxy holds, "peer": the far end). A
// scenario can then say `where: {proxy: 1, side: container, end: peer}`
// in every world.
#ifndef PROCTOR_SCENARIOS_RUNNER_EVENT_LOG_H_
#define PROCTOR_SCENARIOS_RUNNER_EVENT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "runtime/model/time.h"
#include "scenarios/format/scenario.h"
#include "sim/observer.h"

namespace proctor::scenario {

struct LoggedEvent {
  uint64_t seq = 0;
  Instant at;
  // "in", "out" or "fact".
  absl::string_view dir;
  // The encoded value: "kind" and its members (plus "to" and "input" on
  // replies).
  nlohmann::json value;
};

// Whether `value` (an event's members) contains `where` as pattern.h says:
// members equal, objects by subset, "~text" strings by substring.
bool MatchesWhere(const nlohmann::json& where, const nlohmann::json& value);
bool Matches(const EventPattern& pattern, const LoggedEvent& event);

// A one-line rendering for messages: `on_died {cid: 3, reason: "CRASH"}`.
std::string DescribePattern(const EventPattern& pattern);
std::string DescribeEvent(const LoggedEvent& event);

class EventLog final : public sim::Observer {
 public:
  // A run that logs more events than this is cut short (and fails).
  static constexpr size_t kMaxEvents = 2'000'000;

  // Called for every event as it is logged (after it is in the log).
  using Listener = std::function<void(const LoggedEvent&)>;
  void set_listener(Listener listener) { listener_ = std::move(listener); }

  void OnInput(uint64_t seq, Instant at, const Input& input) override;
  void OnAction(uint64_t seq, Instant at, const Action& action) override;
  void OnFact(uint64_t seq, Instant at, const sim::WorldFact& fact) override;

  const std::vector<LoggedEvent>& events() const { return events_; }
  bool overflowed() const { return overflowed_; }

 private:
  void Add(uint64_t seq, Instant at, absl::string_view dir,
           nlohmann::json value);

  std::vector<LoggedEvent> events_;
  // Adds "proxy", "side" and "end" to an event that names a proxy's
  // endpoint or counter.
  void Annotate(nlohmann::json& value) const;
  // Learns the channels and counters of proxies from channel_created facts
  // and add_proxy inputs.
  void Learn(const nlohmann::json& value);

  // request id -> the input that made it, until its reply.
  absl::flat_hash_map<uint64_t, nlohmann::json> requests_;
  struct EndpointOwner {
    uint64_t proxy = 0;
    bool container_side = false;
    bool peer_end = false;
  };
  // Channel pairs by either end (from channel_created), and what each
  // endpoint and counter belongs to. Bounded by kMaxEvents.
  absl::flat_hash_map<uint64_t, uint64_t> other_end_;
  absl::flat_hash_map<uint64_t, EndpointOwner> endpoints_;
  absl::flat_hash_map<uint64_t, uint64_t> counters_;
  Listener listener_;
  bool overflowed_ = false;
};

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_RUNNER_EVENT_LOG_H_
