#include "scenarios/runner/compare.h"

#include <algorithm>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace proctor::scenario {
namespace {

// At most this many events of one object are shown on each side.
constexpr size_t kShownEvents = 12;

std::string Text(const nlohmann::json& value, absl::string_view member) {
  auto it = value.find(std::string(member));
  if (it == value.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// A reply's status code: "OK" or the code of {code, message}.
std::string StatusCode(const nlohmann::json& value) {
  auto it = value.find("status");
  if (it == value.end()) return "?";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("code") && (*it)["code"].is_string()) {
    return (*it)["code"].get<std::string>();
  }
  return it->dump();
}

std::string Shown(const std::vector<std::string>& events, size_t around) {
  const size_t begin =
      around > kShownEvents / 2 ? around - kShownEvents / 2 : 0;
  const size_t end = std::min(events.size(), begin + kShownEvents);
  std::vector<std::string> shown;
  if (begin > 0) shown.push_back("...");
  for (size_t i = begin; i < end; ++i) {
    shown.push_back(absl::StrCat(i + 1, ". ", events[i]));
  }
  if (end < events.size()) shown.push_back("...");
  if (shown.empty()) return "(nothing)";
  return absl::StrJoin(shown, ", ");
}

}  // namespace

ObservableStory StoryOf(std::span<const LoggedEvent> events) {
  ObservableStory story;
  for (const LoggedEvent& e : events) {
    const std::string kind = Text(e.value, "kind");
    const std::string cid = Text(e.value, "cid");
    if (e.dir == "out") {
      if (kind == "vm_state" || kind == "payload_state") {
        story["vm " + cid].push_back(
            absl::StrCat(kind, " ", Text(e.value, "state")));
      } else if (kind == "guest_error" || kind == "kill_vmm" ||
                 kind == "spawn_vmm") {
        story["vm " + cid].push_back(kind);
      } else if (kind == "on_died") {
        story["vm " + cid].push_back(
            absl::StrCat("on_died ", Text(e.value, "reason")));
      } else if (kind == "reply") {
        story[absl::StrCat("replies to ", Text(e.value, "to"))].push_back(
            StatusCode(e.value));
      } else if (kind == "suspend_guest" || kind == "resume_guest") {
        story["guest"].push_back(kind);
      } else if (kind == "signal_watcher") {
        story[absl::StrCat("watcher ", Text(e.value, "watcher"))].push_back(
            Text(e.value, "signal"));
      } else if (kind == "wake_source_added" || kind == "wake_source_removed") {
        story["wake sources"].push_back(
            absl::StrCat(kind, " ", Text(e.value, "name")));
      } else if (kind == "proxy_stopped") {
        story[absl::StrCat("proxy ", Text(e.value, "proxy"))].push_back(kind);
      } else if (kind == "shutdown_complete") {
        story["shutdown"].push_back(kind);
      }
    } else if (e.dir == "in" && kind == "vmm_exited") {
      story["vm " + cid].push_back(
          absl::StrCat("vmm_exited ", Text(e.value, "status")));
    } else if (e.dir == "fact" && kind == "container_handled") {
      // How many, not when: the guest handles messages on its own time.
      story[absl::StrCat("proxy ", Text(e.value, "proxy"),
                         " messages handled")]
          .push_back(kind);
    }
  }
  return story;
}

std::optional<Finding> CompareStories(const ObservableStory& sim,
                                      const ObservableStory& real,
                                      absl::string_view world) {
  std::set<std::string> objects;
  for (const auto& [object, events] : sim) objects.insert(object);
  for (const auto& [object, events] : real) objects.insert(object);
  static const std::vector<std::string> kNone;
  for (const std::string& object : objects) {
    auto s = sim.find(object);
    auto r = real.find(object);
    const std::vector<std::string>& in_sim = s == sim.end() ? kNone : s->second;
    const std::vector<std::string>& in_real =
        r == real.end() ? kNone : r->second;
    if (in_sim == in_real) continue;
    size_t at = 0;
    while (at < in_sim.size() && at < in_real.size() &&
           in_sim[at] == in_real[at]) {
      ++at;
    }
    const std::string sim_event =
        at < in_sim.size() ? in_sim[at] : std::string("nothing more");
    const std::string real_event =
        at < in_real.size() ? in_real[at] : std::string("nothing more");
    Finding f;
    f.rule = "SIM";
    f.expected =
        absl::StrCat("the ", world, " world's run tells the simulator's story");
    f.seen = absl::StrCat(object, ", event ", at + 1, ": ", real_event, " in ",
                          world, ", ", sim_event, " in sim\n  ", world, ": ",
                          Shown(in_real, at), "\n  sim: ", Shown(in_sim, at));
    return f;
  }
  return std::nullopt;
}

}  // namespace proctor::scenario
