// The set of channel proxies a supervisor owns (PX-1..PX-4): validates
// add_proxy requests, routes channel and counter inputs to the proxy that
// holds the endpoint or counter, and hands stopped proxies back to the caller
// so it can remove their counters' wake sources (PX-4).
#ifndef PROCTOR_RUNTIME_CHANNEL_PROXY_MANAGER_H_
#define PROCTOR_RUNTIME_CHANNEL_PROXY_MANAGER_H_

#include <cstddef>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "runtime/channel/channel_proxy.h"
#include "runtime/model/action.h"
#include "runtime/model/ids.h"
#include "runtime/model/input.h"
#include "runtime/model/limits.h"
#include "runtime/model/mutants.h"
#include "runtime/model/time.h"

namespace proctor {

class ProxyManager {
 public:
  // The default bound (RuntimeLimits::max_proxies) on live proxies plus
  // stopped ones not yet taken by TakeStopped(): a stopped proxy holds its
  // slot until its wake source is known to be removed.
  static constexpr size_t kMaxProxies = RuntimeLimits{}.max_proxies;
  // Names come from clients and end up in wake-source names and traces.
  static constexpr size_t kMaxProxyNameBytes = 1024;

  struct StoppedProxy {
    ProxyId proxy;
    CounterId counter;
    // ChannelProxy::stop_status(): OK for an orderly PX-3 close.
    absl::Status status;
  };

  ProxyManager() : ProxyManager(RuntimeLimits{}) {}
  // Uses limits.max_proxies; `mutants` is handed to every proxy it starts.
  explicit ProxyManager(const RuntimeLimits& limits, MutantSet mutants = {});

  // Validates and starts a proxy. It does not reply and emits nothing: the
  // caller replies and registers the wake source, and the world signals the
  // endpoints. Errors, checked in this order:
  //   AlreadyExists    the proxy id is live;
  //   InvalidArgument  both endpoints are the same koid, or the counter is
  //                    one of the endpoints, or the name is too long;
  //   AlreadyExists    an endpoint or the counter is used by a live proxy
  //                    (the message names the koid and that proxy);
  //   ResourceExhausted max_proxies() reached.
  absl::Status OnAddProxy(Instant now, const input::AddProxy& in,
                          ActionList& out);

  // Routed by endpoint (signals, reads, writes) or counter; inputs for ids
  // no live proxy holds are ignored.
  void OnEndpointSignalled(Instant now, const input::EndpointSignalled& in,
                           ActionList& out);
  void OnMessageRead(Instant now, const input::MessageRead& in,
                     ActionList& out);
  void OnMessageWritten(Instant now, const input::MessageWritten& in,
                        ActionList& out);
  void OnCounterAdded(Instant now, const input::CounterAdded& in,
                      ActionList& out);

  // Proxies that stopped since the last call, in the order they stopped.
  std::vector<StoppedProxy> TakeStopped();

  // Stops one live proxy with `why` (e.g. when the caller could not register
  // its wake source right after adding it): it closes both endpoints,
  // announces proxy_stopped and then appears in TakeStopped(). NotFound if
  // no live proxy has that id.
  absl::Status StopProxy(Instant now, ProxyId proxy, absl::Status why,
                         ActionList& out);

  // Shutdown: stops every live proxy in proxy id order (each closes both
  // endpoints and announces proxy_stopped); they then appear in
  // TakeStopped() with a Cancelled status.
  void StopAll(Instant now, ActionList& out);

  size_t live() const { return proxies_.size(); }
  size_t max_proxies() const { return max_proxies_; }
  // The live proxy, or nullptr.
  const ChannelProxy* Find(ProxyId proxy) const;

 private:
  ChannelProxy* ByEndpoint(EndpointId endpoint);
  // Moves `proxy` to the stopped list if it has stopped.
  void RetireIfStopped(ProxyId proxy);

  size_t max_proxies_;
  MutantSet mutants_;
  absl::btree_map<ProxyId, ChannelProxy> proxies_;
  absl::btree_map<EndpointId, ProxyId> by_endpoint_;
  absl::btree_map<CounterId, ProxyId> by_counter_;
  std::vector<StoppedProxy> stopped_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CHANNEL_PROXY_MANAGER_H_
