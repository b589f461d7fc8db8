#include "sim/oracle/internal/judge.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace proctor::sim::oracle_internal {
namespace {

constexpr std::array<absl::string_view, kRuleCount> kRuleNames = {
    "VM-1", "VM-3", "VM-4", "VM-5", "VM-6", "VM-7", "VM-8", "CH-1",
    "PX-1", "PX-2", "PX-3", "PX-4", "PW-1", "PW-2", "PW-3", "PW-4",
    "CN-1", "CN-2", "CN-3", "CN-4", "CN-7", "CN-8", "RT-1", "RT-2",
};

}  // namespace

absl::string_view RuleName(Rule rule) {
  return kRuleNames[static_cast<size_t>(rule)];
}

std::span<const absl::string_view> AllRuleNames() { return kRuleNames; }

std::string At(Instant t) { return FormatInstant(t); }

void Judge::BeginStep(uint64_t seq, Instant at, const Input& input) {
  in_step_ = true;
  step_seq_ = seq;
  step_at_ = at;
  step_request_ = InputRequest(input);
  step_input_name_ = InputName(input);
}

void Judge::Fail(Rule rule, absl::string_view detail) {
  if (violation_.has_value()) return;
  violation_ =
      Violation{std::string(RuleName(rule)),
                absl::StrCat(RuleName(rule), ": ", detail), seq_, now_};
}

void Judge::FailStep(Rule rule, absl::string_view detail) {
  if (violation_.has_value()) return;
  violation_ = Violation{
      std::string(RuleName(rule)),
      absl::StrCat(RuleName(rule), ": ", detail, " (step of ", step_input_name_,
                   " #", step_seq_, " at ", At(step_at_), ")"),
      step_seq_, step_at_};
}

bool Judge::HasRoom(size_t size, size_t limit) {
  if (size < limit) return true;
  ++stats_.untracked;
  return false;
}

OracleStats Judge::Snapshot() const {
  OracleStats out = stats_;
  for (size_t i = 0; i < kRuleCount; ++i) {
    out.checks[std::string(kRuleNames[i])] = checks_[i];
  }
  return out;
}

}  // namespace proctor::sim::oracle_internal
