// CN-1..CN-4, CN-7 and CN-8 judged from the stream: the oracle follows each
// installed container's events, its exit as the world reported it, the
// waits and stops asked of it, the grace of a stop, the ports handed out
// for it and the paths copied into it, and it replays the event log against
// what every subscriber polls.
#ifndef PROCTOR_SIM_ORACLE_CONTAINER_RULES_H_
#define PROCTOR_SIM_ORACLE_CONTAINER_RULES_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/container_types.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "sim/oracle/internal/judge.h"

namespace proctor::sim::oracle_internal {

// CN-8: whether a guest path has a `..` component once made relative.
bool HasDotDotComponent(absl::string_view path);

class ContainerRules final : public RuleSet {
 public:
  using RuleSet::RuleSet;
  void OnInput(const Input& input) override;
  void OnAction(const Action& action) override;
  void EndStep() override;
  void OnEnd(bool judge_liveness) override;

 private:
  // Where a container's life is by its events (CN-1).
  enum class Life : uint8_t { kInstalled, kStarted, kExited };
  struct Container {
    // CN-7: the port range of its spec, the last port handed out, and
    // whether the range was found used up.
    uint64_t port_start = 0;
    uint64_t port_end = 0;
    uint32_t socket_relays = 0;
    std::optional<uint64_t> last_port;
    bool ports_used_up = false;
    Life life = Life::kInstalled;
    Instant started_at;
    // The current run: from an accepted start_container on.
    bool starting = false;
    bool start_process_sent = false;
    // CN-2: the first container_exited once its process was being started.
    std::optional<ExitStatus> exit;
    Instant exited_at;
    // CN-3: what the runtime may ask the world for once per run.
    uint32_t wait_process = 0;
    uint32_t stop_socket_relays = 0;
    uint32_t delete_process = 0;
    uint32_t stop_vm = 0;
    // Waits and stops not answered yet.
    uint32_t pending_waits = 0;
    uint32_t pending_stops = 0;
    // CN-4: set by the SIGTERM of a stop until the exit or the SIGKILL.
    std::optional<Instant> grace_deadline;
    Instant stop_began;
    // A stop (requested or by shutdown) was in progress when it exited.
    bool stopping_at_exit = false;
  };
  enum class RequestKind : uint8_t { kStart, kWait, kStop };
  struct PendingRequest {
    ContainerId container;
    RequestKind kind;
  };
  enum class SubscriptionOp : uint8_t { kSubscribe, kPoll, kUnsubscribe };
  struct StepExpectations {
    struct Install {
      RequestId request;
      ContainerId container;
      ContainerSpec spec;
      bool event_seen = false;
      bool replied_ok = false;
    };
    std::optional<Install> install;
    // wait_container / stop_container of this step.
    struct WaitOrStop {
      RequestId request;
      ContainerId container;
      RequestKind kind;
      absl::Duration grace;
      bool exit_known = false;
    };
    std::optional<WaitOrStop> wait_or_stop;
    std::optional<std::pair<ContainerId, int>> kill;  // kill_container
    struct Copy {
      RequestId request;
      ContainerId container;
      bool dot_dot = false;
      bool answered = false;
    };
    std::optional<Copy> copy;
    struct Subscription {
      RequestId request;
      SubscriberId subscriber;
      SubscriptionOp op;
      uint32_t max_events = 0;
    };
    std::optional<Subscription> subscription;
    // The container whose exit became known in this step.
    std::optional<ContainerId> exit_now;
    bool shutdown = false;
  };

  Container* Find(ContainerId id);
  void CheckGraceDeadlines();
  void EndGrace(ContainerId id, Container& container);
  void OnEvent(const action::EmitContainerEvent& emitted);
  void Publish(ContainerId id, const ContainerEvent& event);
  void OnPort(ContainerId id, uint32_t port, absl::string_view what);
  void OnSignal(const action::SignalContainer& signal);
  void OnOncePerRun(ContainerId id, uint32_t Container::*count,
                    absl::string_view what);
  void OnReply(const action::Reply& reply);
  void CheckExhausted(ContainerId id, Container& container, uint64_t needed,
                      absl::string_view what);
  void CheckPoll(SubscriberId subscriber, uint32_t max_events,
                 const EventBatch& batch);
  void TrimLog();

  absl::btree_map<ContainerId, Container> containers_;
  absl::flat_hash_map<RequestId, PendingRequest> requests_;
  absl::btree_set<std::pair<Instant, ContainerId>> grace_deadlines_;
  // CN-1: every event published, from index log_base_ on (older ones every
  // subscriber has seen), and each subscriber's next index.
  std::deque<std::pair<ContainerId, ContainerEvent>> log_;
  uint64_t log_base_ = 0;
  uint64_t published_ = 0;
  absl::btree_map<SubscriberId, uint64_t> subscribers_;
  StepExpectations step_;
};

}  // namespace proctor::sim::oracle_internal

#endif  // PROCTOR_SIM_ORACLE_CONTAINER_RULES_H_
