// How a simulated world is sized and seeded. A world is a pure function of
// these options, its fault plan and the system under test.
#ifndef PROCTOR_SIM_WORLD_WORLD_OPTIONS_H_
#define PROCTOR_SIM_WORLD_WORLD_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/time/time.h"
#include "sim/world/script.h"

namespace proctor::sim {

// Sizes of the default workload; the defaults give small per-seed worlds.
struct WorkloadOptions {
  // 0 = choose from the seed (2..6 VMs, 1..4 proxies, 1..4 containers).
  uint32_t vms = 0, proxies = 0, containers = 0;
  // Faults and new traffic happen in [0, fault_window).
  absl::Duration fault_window = absl::Seconds(60);
  // Then this long without faults before the final checks: a suspend at
  // quiet/2, the shutdown at quiet.
  absl::Duration quiet = absl::Seconds(30);
};

struct WorldOptions {
  uint64_t seed = 0;
  // Each seed enables a random subset of fault kinds with random rates.
  bool swarm = false;
  WorkloadOptions workload;
  // A run that notifies more events than this fails ("event budget
  // exhausted").
  size_t max_events = 5'000'000;
  // Events pending at once; beyond it the run fails ("event queue full").
  size_t queue_capacity = 1 << 20;
  // When set, the world is scripted (script.h): these objects exist, the
  // default workload and its client do not, and the client's steps come
  // from World::ScheduleScript. `workload` and `swarm` are then unused; the
  // seed still draws the world's latencies.
  std::shared_ptr<const ScriptSetup> script;
};

}  // namespace proctor::sim

#endif  // PROCTOR_SIM_WORLD_WORLD_OPTIONS_H_
