#include "sim/oracle/runtime_rules.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "runtime/model/describe.h"

namespace proctor::sim::oracle_internal {

void RuntimeRules::OnInput(const Input& input) {
  const std::optional<RequestId> request = InputRequest(input);
  if (!request.has_value()) return;
  const bool is_shutdown = std::holds_alternative<input::Shutdown>(input);
  const bool after = shared().shutdown_begun;
  if (is_shutdown && !shared().shutdown_begun) {
    shared().shutdown_begun = true;
    shared().shutdown_begun_at = now();
  }
  // A world that reuses an id still waiting for its reply gets one entry:
  // the oracle cannot tell the two apart, so it judges only the first.
  if (outstanding_.contains(*request)) return;
  if (!judge().HasRoom(outstanding_.size(), kMaxOutstandingRequests)) return;
  outstanding_.emplace(
      *request,
      Outstanding{InputName(input), now(), is_shutdown, after && !is_shutdown});
}

void RuntimeRules::OnAction(const Action& action) {
  const auto* reply = std::get_if<action::Reply>(&action);
  if (shutdown_complete_at_.has_value()) {
    judge().Count(Rule::kRt2);
    const bool answers_request =
        reply != nullptr && outstanding_.contains(reply->request);
    if (!answers_request) {
      judge().Fail(Rule::kRt2,
                   absl::StrCat("expected nothing but replies to requests "
                                "after shutdown_complete at ",
                                At(*shutdown_complete_at_), ", saw ",
                                DescribeAction(action)));
      return;
    }
  }
  if (std::holds_alternative<action::ShutdownComplete>(action)) {
    judge().Count(Rule::kRt2);
    if (!shared().shutdown_begun) {
      judge().Fail(Rule::kRt2, "shutdown_complete without a shutdown request");
      return;
    }
    shutdown_complete_at_ = now();
    shared().shutdown_complete = true;
    return;
  }
  if (reply != nullptr) OnReply(*reply);
}

void RuntimeRules::OnReply(const action::Reply& reply) {
  judge().Count(Rule::kRt1);
  auto it = outstanding_.find(reply.request);
  if (it == outstanding_.end()) {
    judge().Fail(Rule::kRt1,
                 absl::StrCat("reply to request ", reply.request.value,
                              " which is not waiting for one (a second "
                              "reply, or no such request): ",
                              DescribeStatus(reply.status)));
    return;
  }
  const Outstanding request = it->second;
  outstanding_.erase(it);
  if (request.shutdown) {
    judge().Count(Rule::kRt2);
    if (!reply.status.ok()) {
      judge().Fail(
          Rule::kRt2,
          absl::StrCat("shutdown request ", reply.request.value, " answered ",
                       DescribeStatus(reply.status), ", expected OK"));
    } else if (!shutdown_complete_at_.has_value()) {
      judge().Fail(Rule::kRt2,
                   absl::StrCat("shutdown request ", reply.request.value,
                                " answered before shutdown_complete"));
    }
    return;
  }
  if (request.after_shutdown_began) {
    judge().Count(Rule::kRt2);
    if (reply.status.ok()) {
      judge().Fail(
          Rule::kRt2,
          absl::StrCat(request.kind, " request ", reply.request.value, " at ",
                       At(request.at), " accepted (OK) although shutdown ",
                       "began at ", At(shared().shutdown_begun_at)));
    }
  }
}

void RuntimeRules::OnEnd(bool judge_liveness) {
  if (!judge_liveness) return;
  judge().Count(Rule::kRt2);
  if (shared().shutdown_begun && !shutdown_complete_at_.has_value()) {
    judge().Fail(
        Rule::kRt2,
        absl::StrCat("shutdown requested at ", At(shared().shutdown_begun_at),
                     " never completed (no shutdown_complete by ", At(now()),
                     ")"));
    return;
  }
  if (!shutdown_complete_at_.has_value()) return;
  judge().Count(Rule::kRt1);
  if (!outstanding_.empty()) {
    const auto& [request, what] = *outstanding_.begin();
    judge().Fail(
        Rule::kRt1,
        absl::StrCat(what.kind, " request ", request.value, " at ", At(what.at),
                     " never answered (", outstanding_.size(),
                     " unanswered when the run ended)"));
  }
}

}  // namespace proctor::sim::oracle_internal
