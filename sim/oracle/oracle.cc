#include "sim/oracle/oracle.h"

#include <utility>

#include "sim/oracle/container_rules.h"
#include "sim/oracle/internal/judge.h"
#include "sim/oracle/power_rules.h"
#include "sim/oracle/proxy_rules.h"
#include "sim/oracle/runtime_rules.h"
#include "sim/oracle/vm_rules.h"

namespace proctor::sim {

using oracle_internal::Judge;

uint64_t OracleStats::Checks(absl::string_view rule) const {
  auto it = checks.find(rule);
  return it == checks.end() ? 0 : it->second;
}

Oracle::Oracle() : Oracle(OracleOptions{}) {}

Oracle::Oracle(OracleOptions options)
    : judge_(std::make_unique<Judge>(options)) {
  // Runtime rules first: they keep the shutdown phase the others consult
  // while judging the same event. Power before proxies: PX-4 asks whether a
  // counter's wake source is registered.
  rules_.push_back(std::make_unique<oracle_internal::RuntimeRules>(*judge_));
  rules_.push_back(std::make_unique<oracle_internal::VmRules>(*judge_));
  rules_.push_back(std::make_unique<oracle_internal::PowerRules>(*judge_));
  rules_.push_back(std::make_unique<oracle_internal::ProxyRules>(*judge_));
  rules_.push_back(std::make_unique<oracle_internal::ContainerRules>(*judge_));
}

Oracle::~Oracle() = default;

std::span<const absl::string_view> Oracle::Rules() {
  return oracle_internal::AllRuleNames();
}

void Oracle::EndStep() {
  if (!judge_->in_step()) return;
  for (auto& rules : rules_) {
    if (judge_->failed()) break;
    rules->EndStep();
  }
  judge_->CloseStep();
}

void Oracle::OnInput(uint64_t seq, Instant at, const Input& input) {
  ++judge_->stats().inputs;
  if (judge_->failed()) return;
  EndStep();
  judge_->OnEvent(seq, at);
  judge_->BeginStep(seq, at, input);
  for (auto& rules : rules_) {
    if (judge_->failed()) return;
    rules->OnInput(input);
  }
}

void Oracle::OnAction(uint64_t seq, Instant at, const Action& action) {
  ++judge_->stats().actions;
  if (judge_->failed()) return;
  judge_->OnEvent(seq, at);
  for (auto& rules : rules_) {
    if (judge_->failed()) return;
    rules->OnAction(action);
  }
}

void Oracle::OnFact(uint64_t seq, Instant at, const WorldFact& fact) {
  ++judge_->stats().facts;
  if (judge_->failed()) return;
  judge_->OnEvent(seq, at);
  for (auto& rules : rules_) {
    if (judge_->failed()) return;
    rules->OnFact(fact);
  }
}

void Oracle::OnQuiet(Instant at) {
  if (judge_->failed()) return;
  EndStep();
  judge_->OnEvent(judge_->seq(), at);
  judge_->shared().quiet = true;
}

void Oracle::OnEnd(Instant at) {
  if (judge_->failed()) return;
  EndStep();
  judge_->OnEvent(judge_->seq(), at);
  // Liveness is judged once the faults have stopped: a run cut short in the
  // middle of its faults may legitimately leave things pending.
  const bool liveness =
      judge_->shared().quiet || judge_->shared().shutdown_complete;
  for (auto& rules : rules_) {
    if (judge_->failed()) return;
    rules->OnEnd(liveness);
  }
}

std::optional<Violation> Oracle::violation() const {
  return judge_->violation();
}

OracleStats Oracle::stats() const { return judge_->Snapshot(); }

}  // namespace proctor::sim
