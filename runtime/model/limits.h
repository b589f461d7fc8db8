// Capacity limits of the reference runtime and of the world's value models:
// how many of each thing may exist at once. Every collection that grows from
// input has one of these bounds; they are explicit values rather than hidden
// constants so that a simulator can run a world far larger than the defaults
// (10,000 VMs and 10,000 proxies) while a real deployment keeps the defaults.
// Each component takes the fields it needs when it is built, and every error
// that names a limit prints the configured value.
//
// Per-item size bounds (message bytes, name bytes, path bytes, config sizes)
// are not here: they are part of the contract (docs/spec.md) and do not
// scale with the size of a world.
#ifndef PROCTOR_RUNTIME_MODEL_LIMITS_H_
#define PROCTOR_RUNTIME_MODEL_LIMITS_H_

#include <cstddef>

namespace proctor {

struct RuntimeLimits {
  // VM-1: live VMs (not started, running, or dead with on_died pending).
  size_t max_vms = 1024;
  // PX-1: live proxies plus stopped ones whose wake source is not yet
  // removed.
  size_t max_proxies = 256;
  // PW-1: registered wake sources, counter- and handle-based together.
  size_t max_wake_sources = 1024;
  // PW-1: kernel objects that are not wake sources but were observed active
  // (remembered so that a source added later is active at once).
  size_t max_unregistered_observations = 1024;
  // PW-2: registered wake watchers.
  size_t max_wake_watchers = 256;
  // CN-1: installed containers.
  size_t max_containers = 256;
  // CN-1: event subscribers, and the events held for each before the oldest
  // are dropped and counted as missed.
  size_t max_event_subscribers = 64;
  size_t events_per_subscriber = 256;
  // CN-3, CN-4: waits and stops queued on one container.
  size_t max_pending_container_requests = 64;
  // RT-2: duplicate shutdown requests waiting for the shutdown to complete.
  size_t max_pending_shutdowns = 64;
  // CH-1 (world side): channels with an open endpoint, and messages queued
  // at one endpoint.
  size_t max_channels = 16384;
  size_t max_queued_messages = 4096;
  // CT-1 (world side): live counters.
  size_t max_counters = 16384;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_LIMITS_H_
