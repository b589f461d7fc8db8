// Test-only helpers shared by the runtime's component tests for checking the
// actions one input produced: whole lists as their canonical lines
// (runtime/model/describe.h), so one ElementsAre asserts kinds, order and
// every field, and typed access where a test needs the values themselves.
#ifndef PROCTOR_RUNTIME_MODEL_TESTING_ACTION_MATCHERS_H_
#define PROCTOR_RUNTIME_MODEL_TESTING_ACTION_MATCHERS_H_

#include <string>
#include <variant>
#include <vector>

#include "runtime/model/action.h"
#include "runtime/model/describe.h"

namespace proctor::action_testing {

// Describes and clears `actions`, so that a test can check what one input
// produced without the actions of earlier inputs.
inline std::vector<std::string> TakeActions(ActionList& actions) {
  std::vector<std::string> lines = DescribeActions(actions);
  actions.clear();
  return lines;
}

// The actions of type T, in order.
template <typename T>
std::vector<T> OfType(const ActionList& actions) {
  std::vector<T> found;
  for (const Action& action : actions) {
    if (const auto* a = std::get_if<T>(&action)) found.push_back(*a);
  }
  return found;
}

// The stable names of the actions, in order ("reply", "on_died", ...).
inline std::vector<std::string> ActionNames(const ActionList& actions) {
  std::vector<std::string> names;
  names.reserve(actions.size());
  for (const Action& action : actions) names.emplace_back(ActionName(action));
  return names;
}

}  // namespace proctor::action_testing

#endif  // PROCTOR_RUNTIME_MODEL_TESTING_ACTION_MATCHERS_H_
