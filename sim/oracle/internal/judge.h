// What every rule set of the oracle shares: the step being judged (an input
// and the actions it caused), the first violation, check counters, the
// memory bounds, and the few facts that more than one group of rules needs
// (the shutdown phase, counters and wake sources).
#ifndef PROCTOR_SIM_ORACLE_INTERNAL_JUDGE_H_
#define PROCTOR_SIM_ORACLE_INTERNAL_JUDGE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "runtime/model/action.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"
#include "sim/observer.h"
#include "sim/oracle/oracle.h"

namespace proctor::sim::oracle_internal {

// Bounds on what the oracle remembers. Beyond them it stops following new
// objects (OracleStats::untracked counts them) rather than grow without end.
inline constexpr size_t kMaxVms = 65536;
inline constexpr size_t kMaxProxies = 65536;
inline constexpr size_t kMaxEndpoints = 262144;
inline constexpr size_t kMaxMessagesPerEndpoint = 16384;
inline constexpr size_t kMaxCounters = 65536;
inline constexpr size_t kMaxKoidObservations = 65536;
inline constexpr size_t kMaxWakeSources = 65536;
inline constexpr size_t kMaxWatchers = 4096;
inline constexpr size_t kMaxContainers = 65536;
inline constexpr size_t kMaxOutstandingRequests = 65536;
inline constexpr size_t kMaxEventLog = 65536;
inline constexpr size_t kMaxSubscribers = 4096;
inline constexpr size_t kMaxPendingPerContainer = 1024;

enum class Rule : uint8_t {
  kVm1,
  kVm3,
  kVm4,
  kVm5,
  kVm6,
  kVm7,
  kVm8,
  kCh1,
  kPx1,
  kPx2,
  kPx3,
  kPx4,
  kPw1,
  kPw2,
  kPw3,
  kPw4,
  kCn1,
  kCn2,
  kCn3,
  kCn4,
  kCn7,
  kCn8,
  kRt1,
  kRt2,
};
inline constexpr size_t kRuleCount = 24;
absl::string_view RuleName(Rule rule);
std::span<const absl::string_view> AllRuleNames();

// A counter as the world holds it, and what the proxy put behind it.
struct CounterState {
  // The value last reported by a successful counter_added or by the world's
  // container_handled fact: both tell the counter's true value at that
  // instant. (counter_changed may be delivered late, so it is the runtime's
  // view, kept by the power rules, not the truth.)
  int64_t value = 0;
  // Messages written into the container endpoint of the counter's proxy
  // whose write did not fail and that the container has not handled yet.
  int64_t unhandled = 0;
  // The container closed its end: what it has not handled never will be.
  bool container_side_closed = false;
};

// A wake source as registered by the runtime (wake_source_added).
struct WakeSourceState {
  bool counter_based = true;
  Signals mask = kSignalNone;
  std::string name;
};

// Facts shared between rule sets.
struct Shared {
  bool shutdown_begun = false;
  Instant shutdown_begun_at;
  bool shutdown_complete = false;
  bool quiet = false;
  // Keyed by counter koid.
  absl::btree_map<CounterId, CounterState> counters;
  // Keyed by source koid.
  absl::btree_map<WakeSourceId, WakeSourceState> wake_sources;
};

class Judge {
 public:
  explicit Judge(OracleOptions options) : options_(options) {}

  const OracleOptions& options() const { return options_; }

  // The event being handled now (input, action or fact).
  void OnEvent(uint64_t seq, Instant at) {
    seq_ = seq;
    now_ = at;
  }
  uint64_t seq() const { return seq_; }
  Instant now() const { return now_; }

  // A step is one input and the actions the SUT returned for it.
  void BeginStep(uint64_t seq, Instant at, const Input& input);
  void CloseStep() { in_step_ = false; }
  bool in_step() const { return in_step_; }
  uint64_t step_seq() const { return step_seq_; }
  Instant step_at() const { return step_at_; }
  // The request the step's input carries, if it is a client request.
  const std::optional<RequestId>& step_request() const { return step_request_; }
  absl::string_view step_input_name() const { return step_input_name_; }

  // One evaluation of one of `rule`'s conditions.
  void Count(Rule rule) { ++checks_[static_cast<size_t>(rule)]; }
  // Records the first violation, found at the current event. `detail` says
  // what was expected and what was seen; the message is "RULE: detail".
  void Fail(Rule rule, absl::string_view detail);
  // The same, found when the step ended: it names the step's input.
  void FailStep(Rule rule, absl::string_view detail);
  bool failed() const { return violation_.has_value(); }
  const std::optional<Violation>& violation() const { return violation_; }

  // False (and counted as untracked) when a collection of `size` has reached
  // `limit`.
  bool HasRoom(size_t size, size_t limit);

  Shared& shared() { return shared_; }
  OracleStats& stats() { return stats_; }
  OracleStats Snapshot() const;

 private:
  OracleOptions options_;
  uint64_t seq_ = 0;
  Instant now_;
  bool in_step_ = false;
  uint64_t step_seq_ = 0;
  Instant step_at_;
  std::optional<RequestId> step_request_;
  absl::string_view step_input_name_;
  std::optional<Violation> violation_;
  std::array<uint64_t, kRuleCount> checks_{};
  Shared shared_;
  OracleStats stats_;
};

// One group of rules over its own model. The oracle calls every rule set for
// every event, in a fixed order.
class RuleSet {
 public:
  explicit RuleSet(Judge& judge) : judge_(judge) {}
  virtual ~RuleSet() = default;
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  virtual void OnInput(const Input& input) = 0;
  virtual void OnAction(const Action& action) = 0;
  virtual void OnFact(const WorldFact& fact) { (void)fact; }
  // The step opened by the last input is over: judge what it should have
  // contained.
  virtual void EndStep() {}
  // The run is over; `judge_liveness` when the faults had stopped (or the
  // shutdown completed), so that what is still pending is a violation.
  virtual void OnEnd(bool judge_liveness) { (void)judge_liveness; }

 protected:
  Judge& judge() { return judge_; }
  Shared& shared() { return judge_.shared(); }
  const Shared& shared() const { return judge_.shared(); }
  Instant now() const { return judge_.now(); }

 private:
  Judge& judge_;
};

// Printing helpers for violation messages.
std::string At(Instant t);  // "3.200000000s"

}  // namespace proctor::sim::oracle_internal

#endif  // PROCTOR_SIM_ORACLE_INTERNAL_JUDGE_H_
