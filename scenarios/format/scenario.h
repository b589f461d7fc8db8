// A scenario: what must happen to a supervisor, written once in YAML and run
// unchanged in every world it lists (docs/scenario-format.md). It names the
// rules it checks, sets up VMs, containers, proxies and wake sources, plays
// the client's steps and the guests' behaviours and faults at virtual times
// (wall-clock times on real guests) or after observed events, and states
// what it expects: events with given fields within a time window, events
// that must never happen, and the final state. Every rule of docs/spec.md is
// also judged by the invariant oracle while a scenario runs in sim.
//
// A scenario can instead replay a generated workload (the one `proctor sim`
// runs for a seed) under an explicit fault plan: that is the form
// `proctor shrink` writes when a failure cannot be told as explicit steps.
#ifndef PROCTOR_SCENARIOS_FORMAT_SCENARIO_H_
#define PROCTOR_SCENARIOS_FORMAT_SCENARIO_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "runtime/model/container_types.h"
#include "runtime/model/ids.h"
#include "runtime/model/vm_config.h"
#include "sim/world/fault_plan.h"
#include "sim/world/script.h"

namespace proctor::scenario {

// Bounds on what one file may hold.
inline constexpr size_t kMaxScenarioFileBytes = size_t{1} << 20;
inline constexpr size_t kMaxSteps = 10'000;
inline constexpr size_t kMaxExpectations = 1'000;
inline constexpr size_t kMaxFaults = 10'000;

enum class WorldKind { kSim, kProcess, kQemu, kLibvirt, kRunc };
// "sim", "process", "qemu", "libvirt", "runc".
absl::string_view WorldKindName(WorldKind world);
std::optional<WorldKind> ParseWorldKind(absl::string_view name);

// Where something was written: 1-based line and column (0 when unknown).
struct SourceLocation {
  int line = 0;
  int column = 0;
  friend bool operator==(const SourceLocation&,
                         const SourceLocation&) = default;
};

// Matches the events of a run (docs/trace-format.md: inputs, actions and
// world facts in their JSON form) of kind `kind` whose members contain
// `where`: every member of `where` must be present and equal; objects match
// member by member (a subset); a string "~text" matches any string that
// contains "text". A `reply` event also carries "to" (the kind of the input
// it answers) and "input" (that input's members).
struct EventPattern {
  std::string kind;
  nlohmann::json where = nlohmann::json::object();
  SourceLocation location;
  friend bool operator==(const EventPattern&, const EventPattern&) = default;
};

// When a step happens: at a time from the start of the run, or `delay`
// after the first event that matches `after`.
struct Trigger {
  std::optional<absl::Duration> at;
  std::optional<EventPattern> after;
  absl::Duration delay = absl::ZeroDuration();
  friend bool operator==(const Trigger&, const Trigger&) = default;
};

struct Step {
  Trigger when;
  // The client's request, a peer's message, or a guest behaviour or fault
  // (sim::script_op::InjectFault).
  sim::ScriptOp op;
  SourceLocation location;
};

// A window of time, from the start of the run or from the first event that
// matches `after`; both ends included.
struct TimeWindow {
  absl::Duration from = absl::ZeroDuration();
  absl::Duration until = absl::InfiniteDuration();
  std::optional<EventPattern> after;
  friend bool operator==(const TimeWindow&, const TimeWindow&) = default;
};

// What the run ended in, as its events showed it. Names are the JSON names
// of the vocabulary ("RUNNING", "READY", "exited"...).
struct FinalState {
  std::map<uint32_t, std::string> vms;       // cid -> last vm_state
  std::map<uint32_t, std::string> payloads;  // cid -> last payload_state
  // container id -> the kind of its last container_event.
  std::map<uint64_t, std::string> containers;
  // proxy id -> "running" (added, not stopped) or "stopped".
  std::map<uint64_t, std::string> proxies;
  std::optional<bool> suspended;          // suspend_guest without resume
  std::optional<bool> shutdown_complete;  // shutdown_complete was seen
  friend bool operator==(const FinalState&, const FinalState&) = default;
};

struct Expectation {
  enum class Kind {
    kEvent,  // some event matches `pattern` within `window` (or exactly
             // `count` do)
    kNever,  // no event matches `pattern` within `window`
    kFinal,  // the run ends in `final_state`
  };
  Kind kind = Kind::kEvent;
  // The rule it checks (one of the scenario's rules); may be empty.
  std::string rule;
  EventPattern pattern;
  TimeWindow window;
  std::optional<uint32_t> count;
  FinalState final_state;
  SourceLocation location;
};

struct VmSetup {
  // config.cid is the VM's cid.
  VmConfig config;
  sim::ScriptedGuest guest;
  SourceLocation location;
};

struct ContainerSetup {
  ContainerId id;
  ContainerSpec spec;
  sim::ScriptedProcess process;
  SourceLocation location;
};

struct Setup {
  std::vector<VmSetup> vms;
  std::vector<ContainerSetup> containers;
  std::vector<ProxyId> proxies;
  uint32_t wake_sources = 0;
};

// The default workload of `proctor sim` for one seed.
struct GeneratedWorkload {
  uint64_t seed = 0;
  bool swarm = false;
  uint32_t vms = 0, proxies = 0, containers = 0;  // 0: drawn from the seed
  absl::Duration window = absl::Seconds(60);
  absl::Duration quiet = absl::Seconds(30);
  friend bool operator==(const GeneratedWorkload&,
                         const GeneratedWorkload&) = default;
};

struct Scenario {
  std::string file;  // as given to the loader, for messages
  std::string name;
  std::string description;
  std::vector<std::string> rules;  // rule IDs, e.g. "VM-5"
  std::vector<WorldKind> worlds;   // where it applies
  uint64_t seed = 0;               // the sim world's latencies
  absl::Duration time_limit = absl::Minutes(10);
  // Whether the invariant oracle judges the run (sim only).
  bool invariants = true;

  // Either a generated workload with an explicit fault plan...
  std::optional<GeneratedWorkload> generated;
  std::vector<sim::Fault> faults;
  // ...or a setup and steps.
  Setup setup;
  std::vector<Step> steps;

  std::vector<Expectation> expect;

  bool AppliesTo(WorldKind world) const;
};

// Parses a scenario. Errors are InvalidArgumentError and read
// "FILE:LINE:COLUMN: what was wrong; what was expected", e.g.
// "vm.yaml:12:5: unknown key 'tiemout' in a step; expected one of: at,
// after, delay, create_vm, ...". Unknown keys, wrong types, out-of-range
// numbers, unknown rule IDs, kinds, worlds and names, and references to
// objects the setup does not declare are all errors.
absl::StatusOr<Scenario> ParseScenario(absl::string_view yaml,
                                       absl::string_view file_name);
// Reads and parses a file (at most kMaxScenarioFileBytes).
absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path);

// The YAML text of a scenario; ParseScenario gives it back (locations
// aside). `proctor shrink` writes its result with it.
std::string FormatScenario(const Scenario& scenario);

}  // namespace proctor::scenario

#endif  // PROCTOR_SCENARIOS_FORMAT_SCENARIO_H_
