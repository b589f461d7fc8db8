#include "runtime/channel/proxy_manager.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/model/check.h"

namespace proctor {
namespace {

std::string ProxyName(ProxyId proxy) {
  return absl::StrCat("proxy ", proxy.value);
}

}  // namespace

ProxyManager::ProxyManager(const RuntimeLimits& limits, MutantSet mutants)
    : max_proxies_(limits.max_proxies), mutants_(mutants) {}

absl::Status ProxyManager::OnAddProxy(Instant /*now*/,
                                      const input::AddProxy& in,
                                      ActionList& /*out*/) {
  const std::string self = ProxyName(in.proxy);
  if (proxies_.contains(in.proxy)) {
    return absl::AlreadyExistsError(absl::StrCat(self, " already exists"));
  }
  if (in.container_endpoint == in.remote_endpoint) {
    return absl::InvalidArgumentError(
        absl::StrCat(self, ": container endpoint and remote endpoint are both ",
                     in.container_endpoint.value));
  }
  if (in.counter == in.container_endpoint || in.counter == in.remote_endpoint) {
    return absl::InvalidArgumentError(absl::StrCat(
        self, ": counter ", in.counter.value, " is also one of its endpoints"));
  }
  if (in.name.size() > kMaxProxyNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(self, ": name is ", in.name.size(), " bytes; at most ",
                     kMaxProxyNameBytes, " are allowed"));
  }
  // Endpoints and counters share one koid space, so each new koid is checked
  // against both roles.
  const std::pair<const char*, uint64_t> koids[] = {
      {"container endpoint", in.container_endpoint.value},
      {"remote endpoint", in.remote_endpoint.value},
      {"counter", in.counter.value},
  };
  for (const auto& [role, koid] : koids) {
    const EndpointId id{koid};
    std::optional<std::string> holder;
    if (auto it = by_endpoint_.find(id); it != by_endpoint_.end()) {
      const ChannelProxy& other = proxies_.at(it->second);
      holder = absl::StrCat(other.container_endpoint() == id
                                ? "the container endpoint of "
                                : "the remote endpoint of ",
                            ProxyName(other.id()));
    } else if (auto it = by_counter_.find(id); it != by_counter_.end()) {
      holder = absl::StrCat("the counter of ", ProxyName(it->second));
    }
    if (holder.has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat(self, ": ", role, " ", koid, " is already ", *holder));
    }
  }
  if (proxies_.size() + stopped_.size() >= max_proxies_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many proxies: ", max_proxies_,
                     " are live or stopped and not yet cleaned up"));
  }
  proxies_.emplace(in.proxy, ChannelProxy(in, mutants_));
  by_endpoint_.emplace(in.container_endpoint, in.proxy);
  by_endpoint_.emplace(in.remote_endpoint, in.proxy);
  by_counter_.emplace(in.counter, in.proxy);
  return absl::OkStatus();
}

ChannelProxy* ProxyManager::ByEndpoint(EndpointId endpoint) {
  auto it = by_endpoint_.find(endpoint);
  if (it == by_endpoint_.end()) return nullptr;
  auto proxy = proxies_.find(it->second);
  PROCTOR_CHECK(proxy != proxies_.end());
  return &proxy->second;
}

void ProxyManager::RetireIfStopped(ProxyId id) {
  auto it = proxies_.find(id);
  PROCTOR_CHECK(it != proxies_.end());
  const ChannelProxy& proxy = it->second;
  if (!proxy.stopped()) return;
  PROCTOR_CHECK(by_endpoint_.erase(proxy.container_endpoint()) == 1);
  PROCTOR_CHECK(by_endpoint_.erase(proxy.remote_endpoint()) == 1);
  PROCTOR_CHECK(by_counter_.erase(proxy.counter()) == 1);
  stopped_.push_back(
      StoppedProxy{proxy.id(), proxy.counter(), proxy.stop_status()});
  proxies_.erase(it);
}

void ProxyManager::OnEndpointSignalled(Instant now,
                                       const input::EndpointSignalled& in,
                                       ActionList& out) {
  ChannelProxy* proxy = ByEndpoint(in.endpoint);
  if (proxy == nullptr) return;
  proxy->OnEndpointSignalled(now, in, out);
  RetireIfStopped(proxy->id());
}

void ProxyManager::OnMessageRead(Instant now, const input::MessageRead& in,
                                 ActionList& out) {
  ChannelProxy* proxy = ByEndpoint(in.endpoint);
  if (proxy == nullptr) return;
  proxy->OnMessageRead(now, in, out);
  RetireIfStopped(proxy->id());
}

void ProxyManager::OnMessageWritten(Instant now,
                                    const input::MessageWritten& in,
                                    ActionList& out) {
  ChannelProxy* proxy = ByEndpoint(in.endpoint);
  if (proxy == nullptr) return;
  proxy->OnMessageWritten(now, in, out);
  RetireIfStopped(proxy->id());
}

void ProxyManager::OnCounterAdded(Instant now, const input::CounterAdded& in,
                                  ActionList& out) {
  auto it = by_counter_.find(in.counter);
  if (it == by_counter_.end()) return;
  const ProxyId id = it->second;
  proxies_.at(id).OnCounterAdded(now, in, out);
  RetireIfStopped(id);
}

std::vector<ProxyManager::StoppedProxy> ProxyManager::TakeStopped() {
  std::vector<StoppedProxy> taken;
  taken.swap(stopped_);
  return taken;
}

absl::Status ProxyManager::StopProxy(Instant now, ProxyId proxy,
                                     absl::Status why, ActionList& out) {
  auto it = proxies_.find(proxy);
  if (it == proxies_.end()) {
    return absl::NotFoundError(
        absl::StrCat(ProxyName(proxy), " is not a live proxy"));
  }
  it->second.Stop(now, std::move(why), out);
  RetireIfStopped(proxy);
  return absl::OkStatus();
}

void ProxyManager::StopAll(Instant now, ActionList& out) {
  std::vector<ProxyId> ids;
  ids.reserve(proxies_.size());
  for (const auto& [id, proxy] : proxies_) ids.push_back(id);
  for (ProxyId id : ids) {
    ChannelProxy& proxy = proxies_.at(id);
    proxy.Stop(
        now,
        absl::CancelledError(absl::StrCat(ProxyName(id), " '", proxy.name(),
                                          "': stopped by shutdown")),
        out);
    RetireIfStopped(id);
  }
  PROCTOR_CHECK(proxies_.empty());
}

const ChannelProxy* ProxyManager::Find(ProxyId proxy) const {
  auto it = proxies_.find(proxy);
  return it == proxies_.end() ? nullptr : &it->second;
}

}  // namespace proctor
