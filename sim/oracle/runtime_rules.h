// RT-1 and RT-2 as seen from outside: every request gets exactly one reply,
// and a shutdown stops accepting requests, completes once, answers OK, and
// is followed by nothing but replies to later requests.
#ifndef PROCTOR_SIM_ORACLE_RUNTIME_RULES_H_
#define PROCTOR_SIM_ORACLE_RUNTIME_RULES_H_

#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/strings/string_view.h"
#include "runtime/model/ids.h"
#include "sim/oracle/internal/judge.h"

namespace proctor::sim::oracle_internal {

class RuntimeRules final : public RuleSet {
 public:
  using RuleSet::RuleSet;
  void OnInput(const Input& input) override;
  void OnAction(const Action& action) override;
  void OnEnd(bool judge_liveness) override;

 private:
  struct Outstanding {
    absl::string_view kind;  // the request's input name
    Instant at;
    bool shutdown = false;
    // Arrived once shutdown had begun: must not be accepted (RT-2).
    bool after_shutdown_began = false;
  };
  void OnReply(const action::Reply& reply);

  // Requests that have not been answered yet, by id.
  absl::btree_map<RequestId, Outstanding> outstanding_;
  std::optional<Instant> shutdown_complete_at_;
};

}  // namespace proctor::sim::oracle_internal

#endif  // PROCTOR_SIM_ORACLE_RUNTIME_RULES_H_
