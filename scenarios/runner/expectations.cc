#include "scenarios/runner/expectations.h"

#include <cstddef>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace proctor::scenario {
namespace {

// Events of the expected kind shown when an expectation fails.
constexpr size_t kMaxShown = 3;

std::string DescribeWindow(const TimeWindow& w) {
  std::string from = absl::FormatDuration(w.from);
  std::string base =
      w.after.has_value()
          ? absl::StrCat(" after the first ", DescribePattern(*w.after))
          : "";
  if (w.until == absl::InfiniteDuration()) {
    if (w.from == absl::ZeroDuration()) {
      return w.after.has_value() ? absl::StrCat("at any time", base)
                                 : "at any time";
    }
    return absl::StrCat("from ", from, base);
  }
  return absl::StrCat("within [", from, ", ", absl::FormatDuration(w.until),
                      "]", base);
}

// The window in absolute instants, or nullopt when its anchor never
// happened.
struct Bounds {
  Instant from, until;
  bool Contains(Instant t) const { return t >= from && t <= until; }
};

std::optional<Bounds> BoundsOf(const TimeWindow& w,
                               std::span<const LoggedEvent> events) {
  Instant base;
  if (w.after.has_value()) {
    const LoggedEvent* anchor = nullptr;
    for (const LoggedEvent& e : events) {
      if (Matches(*w.after, e)) {
        anchor = &e;
        break;
      }
    }
    if (anchor == nullptr) return std::nullopt;
    base = anchor->at;
  }
  Bounds b;
  b.from = base + w.from;
  b.until = w.until == absl::InfiniteDuration() ? Instant::FromNanos(INT64_MAX)
                                                : base + w.until;
  return b;
}

std::string Seen(const EventPattern& pattern,
                 std::span<const LoggedEvent> events,
                 const std::optional<Bounds>& bounds) {
  // Matches outside the window first, then events of the same kind.
  std::vector<std::string> lines;
  for (const LoggedEvent& e : events) {
    if (lines.size() >= kMaxShown) break;
    if (Matches(pattern, e) && bounds.has_value() && !bounds->Contains(e.at)) {
      lines.push_back(absl::StrCat(DescribeEvent(e), ", outside the window"));
    }
  }
  EventPattern kind_only{pattern.kind, nlohmann::json::object(), {}};
  size_t same_kind = 0;
  for (const LoggedEvent& e : events) {
    if (!Matches(kind_only, e) || Matches(pattern, e)) continue;
    ++same_kind;
    if (lines.size() < kMaxShown) lines.push_back(DescribeEvent(e));
  }
  if (lines.empty()) return absl::StrCat("no ", pattern.kind, " event at all");
  if (same_kind > kMaxShown) {
    lines.push_back(absl::StrCat("(", same_kind, " ", pattern.kind,
                                 " events did not match in all)"));
  }
  return absl::StrJoin(lines, "\n");
}

void CheckEvent(const Expectation& x, std::span<const LoggedEvent> events,
                absl::Duration slack, std::vector<Finding>& out) {
  std::optional<Bounds> bounds = BoundsOf(x.window, events);
  if (bounds.has_value() && bounds->until.ns != INT64_MAX) {
    bounds->until = bounds->until + slack;
  }
  std::string expected =
      absl::StrCat(DescribePattern(x.pattern), " ", DescribeWindow(x.window));
  if (x.count.has_value()) {
    expected = absl::StrCat("exactly ", *x.count, " x ", expected);
  }
  if (!bounds.has_value()) {
    out.push_back({x.rule, expected,
                   absl::StrCat("no ", DescribePattern(*x.window.after),
                                " happened, so the window never opened"),
                   x.location});
    return;
  }
  uint32_t matches = 0;
  std::vector<std::string> matched;
  for (const LoggedEvent& e : events) {
    if (bounds->Contains(e.at) && Matches(x.pattern, e)) {
      ++matches;
      if (matched.size() < kMaxShown) matched.push_back(DescribeEvent(e));
    }
  }
  if (x.count.has_value() ? matches == *x.count : matches > 0) return;
  std::string seen =
      x.count.has_value() && matches > 0
          ? absl::StrCat(matches, " matched:\n", absl::StrJoin(matched, "\n"))
          : Seen(x.pattern, events, bounds);
  out.push_back({x.rule, expected, seen, x.location});
}

void CheckNever(const Expectation& x, std::span<const LoggedEvent> events,
                std::vector<Finding>& out) {
  const std::optional<Bounds> bounds = BoundsOf(x.window, events);
  if (!bounds.has_value()) return;  // the window never opened
  for (const LoggedEvent& e : events) {
    if (bounds->Contains(e.at) && Matches(x.pattern, e)) {
      out.push_back({x.rule,
                     absl::StrCat("never ", DescribePattern(x.pattern), " ",
                                  DescribeWindow(x.window)),
                     DescribeEvent(e), x.location});
      return;
    }
  }
}

template <typename Key>
void CompareMap(absl::string_view what, const std::map<Key, std::string>& want,
                const std::map<Key, std::string>& got,
                std::vector<std::string>& diffs) {
  for (const auto& [key, state] : want) {
    auto it = got.find(key);
    const std::string ended = it == got.end() ? "(no such event)" : it->second;
    if (ended != state) {
      diffs.push_back(absl::StrCat(what, " ", key, ": expected ", state,
                                   ", ended ", ended));
    }
  }
}

void CheckFinal(const Expectation& x, std::span<const LoggedEvent> events,
                std::vector<Finding>& out) {
  const FinalState got = FinalStateOf(events);
  const FinalState& want = x.final_state;
  std::vector<std::string> diffs;
  CompareMap("vm", want.vms, got.vms, diffs);
  CompareMap("payload of vm", want.payloads, got.payloads, diffs);
  CompareMap("container", want.containers, got.containers, diffs);
  CompareMap("proxy", want.proxies, got.proxies, diffs);
  auto flag = [&](absl::string_view what, const std::optional<bool>& w,
                  const std::optional<bool>& g) {
    if (!w.has_value()) return;
    const bool ended = g.value_or(false);
    if (*w != ended) {
      diffs.push_back(absl::StrCat(what, ": expected ", *w ? "true" : "false",
                                   ", ended ", ended ? "true" : "false"));
    }
  };
  flag("suspended", want.suspended, got.suspended);
  flag("shutdown_complete", want.shutdown_complete, got.shutdown_complete);
  if (diffs.empty()) return;
  out.push_back({x.rule, "the final state the scenario states",
                 absl::StrJoin(diffs, "\n"), x.location});
}

// Members read without throwing: the log is built from our own codec, but a
// wrong type must not take the runner down.
std::string Str(const nlohmann::json& v, const char* key) {
  auto it = v.find(key);
  return it != v.end() && it->is_string() ? it->get<std::string>() : "";
}
uint64_t Num(const nlohmann::json& v, const char* key) {
  auto it = v.find(key);
  if (it == v.end() || !it->is_number_integer()) return 0;
  return it->is_number_unsigned() || it->get<int64_t>() >= 0
             ? it->get<uint64_t>()
             : 0;
}

}  // namespace

FinalState FinalStateOf(std::span<const LoggedEvent> events) {
  FinalState s;
  s.suspended = false;
  s.shutdown_complete = false;
  for (const LoggedEvent& e : events) {
    if (e.dir != "out") continue;
    const nlohmann::json& v = e.value;
    const std::string kind = Str(v, "kind");
    if (kind == "vm_state") {
      s.vms[static_cast<uint32_t>(Num(v, "cid"))] = Str(v, "state");
    } else if (kind == "payload_state") {
      s.payloads[static_cast<uint32_t>(Num(v, "cid"))] = Str(v, "state");
    } else if (kind == "container_event") {
      auto event = v.find("event");
      if (event != v.end() && event->is_object()) {
        s.containers[Num(v, "container")] = Str(*event, "kind");
      }
    } else if (kind == "reply") {
      if (Str(v, "to") == "add_proxy" && Str(v, "status") == "OK") {
        auto input = v.find("input");
        if (input != v.end() && input->is_object()) {
          s.proxies[Num(*input, "proxy")] = "running";
        }
      }
    } else if (kind == "proxy_stopped") {
      s.proxies[Num(v, "proxy")] = "stopped";
    } else if (kind == "suspend_guest") {
      s.suspended = true;
    } else if (kind == "resume_guest") {
      s.suspended = false;
    } else if (kind == "shutdown_complete") {
      s.shutdown_complete = true;
    }
  }
  return s;
}

std::vector<Finding> CheckExpectations(const Scenario& scenario,
                                       std::span<const LoggedEvent> events,
                                       absl::Duration slack) {
  std::vector<Finding> out;
  for (const Expectation& x : scenario.expect) {
    switch (x.kind) {
      case Expectation::Kind::kEvent:
        CheckEvent(x, events, slack, out);
        break;
      case Expectation::Kind::kNever:
        CheckNever(x, events, out);
        break;
      case Expectation::Kind::kFinal:
        CheckFinal(x, events, out);
        break;
    }
  }
  return out;
}

}  // namespace proctor::scenario
