// VM-1 (cid reuse), VM-3..VM-8 judged from the stream: the oracle follows
// each VM's life from create_vm, start_vm and the VMM's reports, and checks
// that the states, payload updates, hangup kills, death reasons and
// callbacks the runtime announces are the ones the rules require.
#ifndef PROCTOR_SIM_ORACLE_VM_RULES_H_
#define PROCTOR_SIM_ORACLE_VM_RULES_H_

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "runtime/model/vm_types.h"
#include "sim/oracle/internal/judge.h"

namespace proctor::sim::oracle_internal {

// VM-6, written independently of the runtime: the reason a guest's failure
// report names, if it is exactly one of the ten reasons (after cutting it to
// 4096 bytes and forgiving one trailing newline).
std::optional<DeathReason> ReasonFromFailureReport(absl::string_view bytes);
// VM-6: the death reason the rules require.
DeathReason ExpectedDeathReason(const std::optional<ExitStatus>& exit,
                                std::optional<DeathReason> reported,
                                bool hung_up);

class VmRules final : public RuleSet {
 public:
  using RuleSet::RuleSet;
  void OnInput(const Input& input) override;
  void OnAction(const Action& action) override;
  void EndStep() override;
  void OnEnd(bool judge_liveness) override;

 private:
  struct Vm {
    bool detect_hangup = false;
    absl::Duration hangup_timeout;
    // The state the inputs imply; `announced` is what vm_state said.
    VmState state = VmState::kNotStarted;
    VmState announced = VmState::kNotStarted;
    bool start_accepted = false;
    bool spawn_in_flight = false;
    bool reached_running = false;
    Instant running_at;
    // VM-5: set while the wait for STARTED is on.
    std::optional<Instant> hangup_deadline;
    PayloadState payload = PayloadState::kStarting;
    PayloadState announced_payload = PayloadState::kStarting;
    bool exited = false;
    std::optional<ExitStatus> exit_status;
    Instant exited_at;
    // The VMM exited while the hangup wait was on (before STARTED).
    bool exited_during_hangup_wait = false;
    bool hung_up = false;
    bool awaiting_failure_reason = false;
    bool failure_reason_read = false;
    std::optional<DeathReason> reported_reason;
    uint32_t on_died = 0;
    Instant died_at;
  };

  // What the current step's input asks of its actions.
  struct StepExpectations {
    struct Start {
      RequestId request;
      Cid cid;
      bool expect_ok = false;
      bool spawned = false;
      std::optional<bool> replied_ok = std::nullopt;
    };
    std::optional<Start> start;
    struct Kill {
      Cid cid;
      bool must_kill = false;
      bool killed = false;
    };
    std::optional<Kill> kill;
    // vm_state that the input requires, and whether it came.
    std::optional<std::pair<Cid, VmState>> state;
    bool state_seen = false;
    struct Payload {
      Cid cid;
      PayloadState state;
      PayloadState from;  // the last accepted state before the report
      bool running = false;
      bool forward = false;
      bool payload_seen = false;
      bool guest_error_seen = false;
    };
    std::optional<Payload> payload;
    // vmm_exited of a running VM: read_failure_reason or on_died must follow.
    std::optional<Cid> exit_handling;
    bool exit_handled = false;
    // failure_reason_read that was awaited: on_died must follow.
    std::optional<Cid> death;
    bool died = false;
    // timer_fired for hangup/<cid>.
    std::optional<Cid> hangup_timer;
  };

  Vm* Find(Cid cid);
  void CheckHangupDeadlines();
  void EndHangupWait(Cid cid, Vm& vm);
  void OnReply(const action::Reply& reply);
  void OnVmState(const action::VmStateChanged& changed);
  void OnPayloadState(const action::PayloadStateChanged& changed);
  void OnKillVmm(const action::KillVmm& kill);
  void OnReadFailureReason(const action::ReadFailureReason& read);
  void OnDied(const action::OnDied& died);
  // Rule for a timing failure around the exit of `vm`.
  static Rule ExitRule(const Vm& vm);

  absl::btree_map<Cid, Vm> vms_;
  // VM-5 deadlines of the waits that are on, earliest first.
  absl::btree_set<std::pair<Instant, Cid>> hangup_deadlines_;
  // create_vm's config, kept until its reply.
  struct PendingCreate {
    RequestId request;
    Cid cid;
    bool detect_hangup = false;
    absl::Duration hangup_timeout;
  };
  std::optional<PendingCreate> pending_create_;
  StepExpectations step_;
};

}  // namespace proctor::sim::oracle_internal

#endif  // PROCTOR_SIM_ORACLE_VM_RULES_H_
