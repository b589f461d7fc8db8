// Test helper: renders the channel and proxy actions as short strings so a
// test can assert a whole ActionList (kinds, order and fields) in one
// EXPECT_THAT(..., ElementsAre(...)).
#ifndef PROCTOR_RUNTIME_CHANNEL_TESTING_DESCRIBE_ACTION_H_
#define PROCTOR_RUNTIME_CHANNEL_TESTING_DESCRIBE_ACTION_H_

#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/model/action.h"
#include "runtime/model/channel_types.h"

namespace proctor::testing {

// "\"abc\"", or "<65536 bytes>" for long payloads; handles as "+h7,8".
inline std::string DescribeMessage(const Message& m) {
  std::string text = m.bytes.size() <= 32
                         ? absl::StrCat("\"", m.bytes, "\"")
                         : absl::StrCat("<", m.bytes.size(), " bytes>");
  if (!m.handles.empty()) {
    absl::StrAppend(
        &text, " +h",
        absl::StrJoin(m.handles, ",", [](std::string* out, HandleId h) {
          absl::StrAppend(out, h.value);
        }));
  }
  return text;
}

// read_message(5), write_message(6, "abc"), counter_add(9, +1),
// close_endpoint(5), proxy_stopped(1); other actions by their kName only.
inline std::string Describe(const Action& action) {
  if (const auto* a = std::get_if<action::ReadMessage>(&action)) {
    return absl::StrCat("read_message(", a->endpoint.value, ")");
  }
  if (const auto* a = std::get_if<action::WriteMessage>(&action)) {
    return absl::StrCat("write_message(", a->endpoint.value, ", ",
                        DescribeMessage(a->message), ")");
  }
  if (const auto* a = std::get_if<action::CounterAdd>(&action)) {
    return absl::StrCat("counter_add(", a->counter.value, ", ",
                        a->delta > 0 ? "+" : "", a->delta, ")");
  }
  if (const auto* a = std::get_if<action::CloseEndpoint>(&action)) {
    return absl::StrCat("close_endpoint(", a->endpoint.value, ")");
  }
  if (const auto* a = std::get_if<action::ProxyStopped>(&action)) {
    return absl::StrCat("proxy_stopped(", a->proxy.value, ")");
  }
  return std::string(ActionName(action));
}

inline std::vector<std::string> Describe(const ActionList& actions) {
  std::vector<std::string> out;
  out.reserve(actions.size());
  for (const Action& a : actions) out.push_back(Describe(a));
  return out;
}

// Describes and clears `actions`, so a test can check one step at a time.
inline std::vector<std::string> Drain(ActionList& actions) {
  std::vector<std::string> out = Describe(actions);
  actions.clear();
  return out;
}

}  // namespace proctor::testing

#endif  // PROCTOR_RUNTIME_CHANNEL_TESTING_DESCRIBE_ACTION_H_
