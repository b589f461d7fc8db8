// Test helper: one readable line per action, carrying every field a container
// test cares about, so a test can assert the exact actions of one input (kinds,
// order and fields) with a single ElementsAre.
#ifndef PROCTOR_RUNTIME_CONTAINER_TESTING_DESCRIBE_ACTIONS_H_
#define PROCTOR_RUNTIME_CONTAINER_TESTING_DESCRIBE_ACTIONS_H_

#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/model/action.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/timer.h"

namespace proctor::container_testing {

// "1.5s" style; instants in these tests are offsets from zero.
inline std::string At(Instant t) { return absl::FormatDuration(t - Instant{}); }

inline std::string DescribeMemory(const MemoryEvent& m) {
  std::vector<std::string> parts;
  auto add = [&](const char* name, const std::optional<uint64_t>& v) {
    if (v.has_value()) parts.push_back(absl::StrCat(name, "=", *v));
  };
  add("low", m.low);
  add("high", m.high);
  add("max", m.max);
  add("oom", m.oom);
  add("oom_kill", m.oom_kill);
  return absl::StrJoin(parts, ",");
}

inline std::string DescribeEvent(const ContainerEvent& e) {
  std::string text(ContainerEventKindName(e.kind));
  if (e.exit.has_value())
    absl::StrAppend(&text, " ", FormatExitStatus(*e.exit));
  if (e.kind == ContainerEvent::Kind::kCGroup) {
    absl::StrAppend(&text, " ", DescribeMemory(e.memory));
  }
  return text;
}

inline std::string DescribeSignal(int signal) {
  if (auto name = SignalName(signal)) return std::string(*name);
  return absl::StrCat(signal);
}

inline std::string DescribeValue(const ReplyValue& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return ""; }
    std::string operator()(const ExitStatus& s) const {
      return absl::StrCat(" ", FormatExitStatus(s));
    }
    std::string operator()(const SuspendResult& r) const {
      return absl::StrCat(" woken_by=", r.woken_by.value);
    }
    std::string operator()(const StartupTiming& t) const {
      return absl::StrCat(" timing total=", absl::FormatDuration(t.total));
    }
    std::string operator()(const EventBatch& b) const {
      return absl::StrCat(" batch events=", b.events.size(),
                          " missed=", b.missed);
    }
    std::string operator()(const std::string& s) const {
      return absl::StrCat(" \"", s, "\"");
    }
  };
  return std::visit(Visitor{}, value);
}

inline std::string Describe(const Action& action) {
  if (const auto* a = std::get_if<action::Reply>(&action)) {
    return absl::StrCat("reply #", a->request.value, " ", a->status.ToString(),
                        DescribeValue(a->value));
  }
  if (const auto* a = std::get_if<action::BootVm>(&action)) {
    return absl::StrCat("boot_vm ", a->container.value,
                        " attempt=", a->attempt);
  }
  if (const auto* a = std::get_if<action::ConnectAgent>(&action)) {
    return absl::StrCat("connect_agent ", a->container.value,
                        " attempt=", a->attempt);
  }
  if (const auto* a = std::get_if<action::StartSocketRelay>(&action)) {
    return absl::StrCat("start_socket_relay ", a->container.value,
                        " port=", a->port);
  }
  if (const auto* a = std::get_if<action::SignalContainer>(&action)) {
    return absl::StrCat("signal_container ", a->container.value, " ",
                        DescribeSignal(a->signal));
  }
  if (const auto* a = std::get_if<action::ArmTimer>(&action)) {
    return absl::StrCat("arm_timer ", FormatTimerId(a->timer), " at ",
                        At(a->deadline));
  }
  if (const auto* a = std::get_if<action::CancelTimer>(&action)) {
    return absl::StrCat("cancel_timer ", FormatTimerId(a->timer));
  }
  if (const auto* a = std::get_if<action::StartTransfer>(&action)) {
    return absl::StrCat("start_transfer ", a->container.value, " ",
                        input::CopyDirectionName(a->direction),
                        " port=", a->port, " ", a->path);
  }
  if (const auto* a = std::get_if<action::EmitContainerEvent>(&action)) {
    return absl::StrCat("event ", a->container.value, " ",
                        DescribeEvent(a->event));
  }
  // The remaining container actions carry only the container id.
  return std::visit(
      [](const auto& a) -> std::string {
        using T = std::decay_t<decltype(a)>;
        if constexpr (requires { a.container; }) {
          return absl::StrCat(T::kName, " ", a.container.value);
        } else {
          return std::string(T::kName);
        }
      },
      action);
}

inline std::vector<std::string> Describe(const ActionList& actions) {
  std::vector<std::string> lines;
  lines.reserve(actions.size());
  for (const Action& action : actions) lines.push_back(Describe(action));
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

}  // namespace proctor::container_testing

#endif  // PROCTOR_RUNTIME_CONTAINER_TESTING_DESCRIBE_ACTIONS_H_
