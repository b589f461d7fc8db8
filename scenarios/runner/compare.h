// --compare sim: whether a real world's run of a scenario tells the same
// story as the simulator's. What matters is what a supervisor's client and
// the guests observe — per VM, its states, payload states, kills, VMM exit
// statuses and death reasons; per request kind, the replies' status codes;
// the guest's suspends and resumes, each watcher's signals, the wake sources,
// each proxy's stop and the messages its container handled; and whether
// shutdown completed — each in order, and not when: times differ between
// worlds, and so does the interleaving of independent objects.
#ifndef PROCTOR_SCENARIOS_RUNNER_COMPARE_H_
#define PROCTOR_SCENARIOS_RUNNER_COMPARE_H_

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "scenarios/runner/event_log.h"
#include "scenarios/runner/expectations.h"

namespace proctor::scenario {

// The observable events of a run, by the object they belong to ("vm 3",
// "replies to create_vm", "guest", "watcher 1", "proxy 1", "proxy 1
// messages handled", ...), each as a
// short text without times ("on_died CRASH").
using ObservableStory = std::map<std::string, std::vector<std::string>>;
ObservableStory StoryOf(std::span<const LoggedEvent> events);

// Nothing when the stories agree; otherwise a finding (rule "SIM") naming
// the first object whose story differs, where, and both versions.
// `world` names the real world ("qemu").
std::optional<Finding> CompareStories(const ObservableStory& sim,
                                      const ObservableStory& real,
                                      absl::string_view world);

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_RUNNER_COMPARE_H_
