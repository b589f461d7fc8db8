// Test helper: renders actions as one-line strings so that a test can assert
// a whole ActionList (kinds, order and every field) with one ElementsAre.
// Only the VM-related actions get their fields spelled out; any other action
// is rendered by its name alone, which is enough to see that it is unexpected.
#ifndef PROCTOR_RUNTIME_VM_TESTING_DESCRIBE_ACTIONS_H_
#define PROCTOR_RUNTIME_VM_TESTING_DESCRIBE_ACTIONS_H_

#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/model/action.h"
#include "runtime/model/timer.h"
#include "runtime/model/vm_types.h"

namespace proctor::vm_testing {

// "OK" or "ALREADY_EXISTS: message".
inline std::string DescribeStatus(const absl::Status& status) {
  if (status.ok()) return "OK";
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                      status.message());
}

// E.g. "vm_state 5 RUNNING", "arm_timer hangup/5 10.000000000s",
// "reply 7 OK", "spawn_vmm 5 crosvm --extended-status ...".
inline std::string DescribeAction(const Action& action) {
  return std::visit(
      [](const auto& a) -> std::string {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, action::Reply>) {
          const bool empty = std::holds_alternative<std::monostate>(a.value);
          return absl::StrCat(A::kName, " ", a.request.value, " ",
                              DescribeStatus(a.status),
                              empty ? "" : " (with a value)");
        } else if constexpr (std::is_same_v<A, action::VmStateChanged>) {
          return absl::StrCat(A::kName, " ", a.cid.value, " ",
                              VmStateName(a.state));
        } else if constexpr (std::is_same_v<A, action::PayloadStateChanged>) {
          return absl::StrCat(A::kName, " ", a.cid.value, " ",
                              PayloadStateName(a.state));
        } else if constexpr (std::is_same_v<A, action::GuestError>) {
          return absl::StrCat(A::kName, " ", a.cid.value, " ", a.message);
        } else if constexpr (std::is_same_v<A, action::SpawnVmm>) {
          return absl::StrCat(A::kName, " ", a.cid.value, " ",
                              absl::StrJoin(a.argv, " "));
        } else if constexpr (std::is_same_v<A, action::KillVmm> ||
                             std::is_same_v<A, action::RemoveTempDir>) {
          return absl::StrCat(A::kName, " ", a.cid.value);
        } else if constexpr (std::is_same_v<A, action::ReadFailureReason>) {
          return absl::StrCat(A::kName, " ", a.cid.value, " ", a.max_bytes);
        } else if constexpr (std::is_same_v<A, action::OnDied>) {
          return absl::StrCat(A::kName, " ", a.cid.value, " ",
                              DeathReasonName(a.reason));
        } else if constexpr (std::is_same_v<A, action::ArmTimer>) {
          return absl::StrCat(A::kName, " ", FormatTimerId(a.timer), " ",
                              FormatInstant(a.deadline));
        } else if constexpr (std::is_same_v<A, action::CancelTimer>) {
          return absl::StrCat(A::kName, " ", FormatTimerId(a.timer));
        } else {
          return std::string(A::kName);
        }
      },
      action);
}

inline std::vector<std::string> DescribeActions(const ActionList& actions) {
  std::vector<std::string> out;
  out.reserve(actions.size());
  for (const Action& action : actions) out.push_back(DescribeAction(action));
  return out;
}

// Describes and clears `actions`, so that a test can check what one input
// produced without the actions of earlier inputs.
inline std::vector<std::string> TakeActions(ActionList& actions) {
  std::vector<std::string> out = DescribeActions(actions);
  actions.clear();
  return out;
}

}  // namespace proctor::vm_testing

#endif  // PROCTOR_RUNTIME_VM_TESTING_DESCRIBE_ACTIONS_H_
