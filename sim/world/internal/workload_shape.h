// The shape of a seed's default workload: which VMs, containers, proxies and
// handle wake sources exist and when each first acts. Both the fault plan
// generator and the world derive it from the same seed, so that generated
// faults target objects that exist, at times when they can take effect.
#ifndef PROCTOR_SIM_WORLD_INTERNAL_WORKLOAD_SHAPE_H_
#define PROCTOR_SIM_WORLD_INTERNAL_WORKLOAD_SHAPE_H_

#include <cstdint>
#include <vector>

#include "runtime/model/ids.h"
#include "runtime/model/time.h"
#include "sim/world/world_options.h"

namespace proctor::sim::world_internal {

struct WorkloadShape {
  struct Vm {
    Cid cid;
    Instant first_create;  // the first create_vm; start_vm follows its reply
  };
  struct Container {
    ContainerId id;
    bool owns_vm = true;
    Instant first_install;
  };
  struct Proxy {
    ProxyId id;
    Instant add_at;
  };
  std::vector<Vm> vms;
  std::vector<Container> containers;
  std::vector<Proxy> proxies;
  uint32_t handle_sources = 0;  // 0..2
  uint32_t watchers = 1;        // 1..2
  uint32_t subscribers = 1;     // 1..2
  Instant window_end;           // faults and new traffic stop here
  Instant final_suspend_at;     // window_end + quiet/2
  Instant shutdown_at;          // window_end + quiet
  // Lives per VM: small worlds recreate VMs after they die, large worlds
  // (about scale, not churn) give each VM one life.
  uint32_t max_vm_lives = 1;
  // Multiplies the mean interval between a peer's writes, so that the total
  // traffic of a large world stays that of a small one.
  int64_t traffic_scale = 1;
};

WorkloadShape ShapeOf(const WorldOptions& options);

}  // namespace proctor::sim::world_internal

#endif  // PROCTOR_SIM_WORLD_INTERNAL_WORKLOAD_SHAPE_H_
