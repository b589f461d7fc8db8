#include "sim/world/internal/workload_shape.h"

#include <algorithm>

#include "sim/core/prng.h"

namespace proctor::sim::world_internal {
namespace {

// Worlds with more VMs than this get one life per VM.
constexpr uint32_t kChurnVms = 64;
// Traffic of this many proxies at the base rate, at most.
constexpr int64_t kTrafficProxies = 16;

Instant Fraction(int64_t window_ns, int64_t per_mille) {
  return Instant::FromNanos(window_ns / 1000 * per_mille);
}

}  // namespace

WorkloadShape ScriptShapeOf(const ScriptSetup& script) {
  WorkloadShape shape;
  uint32_t max_cid = kMinGuestCid - 1;
  for (const ScriptedVm& vm : script.vms) {
    max_cid = std::max(max_cid, vm.cid.value);
  }
  for (uint32_t cid = kMinGuestCid; cid <= max_cid; ++cid) {
    shape.vms.push_back({Cid{cid}, Instant{}});
  }
  uint64_t max_container = 0;
  for (const ScriptedContainer& c : script.containers) {
    max_container = std::max(max_container, c.id.value);
  }
  for (uint64_t id = 1; id <= max_container; ++id) {
    // Whether a container owns its VM is up to its install request.
    shape.containers.push_back({ContainerId{id}, true, Instant{}});
  }
  uint64_t max_proxy = 0;
  for (ProxyId p : script.proxies) max_proxy = std::max(max_proxy, p.value);
  for (uint64_t id = 1; id <= max_proxy; ++id) {
    shape.proxies.push_back({ProxyId{id}, Instant{}});
  }
  shape.handle_sources = script.wake_sources;
  shape.watchers = 0;
  shape.subscribers = kMaxScriptObjects;
  // No window: a script's faults and steps happen when it says.
  shape.window_end = Instant::FromNanos(INT64_MAX);
  shape.final_suspend_at = shape.window_end;
  shape.shutdown_at = shape.window_end;
  shape.max_vm_lives = UINT32_MAX;
  return shape;
}

WorkloadShape ShapeOf(const WorldOptions& options) {
  if (options.script != nullptr) return ScriptShapeOf(*options.script);
  Prng rng = Prng::Stream(options.seed, "workload");
  const WorkloadOptions& w = options.workload;
  const int64_t window = absl::ToInt64Nanoseconds(w.fault_window);
  const int64_t quiet = absl::ToInt64Nanoseconds(w.quiet);

  WorkloadShape shape;
  const uint32_t vms = w.vms != 0 ? w.vms : rng.Between(2, 6);
  const uint32_t proxies = w.proxies != 0 ? w.proxies : rng.Between(1, 4);
  const uint32_t containers =
      w.containers != 0 ? w.containers : rng.Between(1, 4);
  shape.handle_sources = rng.Between(0, 2);
  shape.watchers = rng.Between(1, 2);
  shape.subscribers = rng.Between(1, 2);
  shape.window_end = Instant::FromNanos(window);
  shape.final_suspend_at = Instant::FromNanos(window + quiet / 2);
  shape.shutdown_at = Instant::FromNanos(window + quiet);
  shape.max_vm_lives = vms <= kChurnVms ? 50 : 1;
  shape.traffic_scale = std::max<int64_t>(1, proxies / kTrafficProxies);

  const int64_t window_or_1 = std::max<int64_t>(window, 1);
  shape.vms.reserve(vms);
  for (uint32_t i = 0; i < vms; ++i) {
    shape.vms.push_back(
        {Cid{kMinGuestCid + i},
         Instant::FromNanos(rng.Between(0, Fraction(window_or_1, 400).ns))});
  }
  shape.containers.reserve(containers);
  for (uint32_t i = 0; i < containers; ++i) {
    // The first container always boots its own VM, so that boot faults
    // have a target in every world.
    const bool owns_vm = i == 0 || rng.Chance(750'000);
    shape.containers.push_back(
        {ContainerId{i + 1}, owns_vm,
         Instant::FromNanos(rng.Between(0, Fraction(window_or_1, 300).ns))});
  }
  shape.proxies.reserve(proxies);
  for (uint32_t i = 0; i < proxies; ++i) {
    shape.proxies.push_back(
        {ProxyId{i + 1},
         Instant::FromNanos(rng.Between(0, Fraction(window_or_1, 500).ns))});
  }
  return shape;
}

}  // namespace proctor::sim::world_internal
