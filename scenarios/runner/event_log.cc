#include "scenarios/runner/event_log.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/model/time.h"
#include "sim/trace/json_codec.h"

namespace proctor::scenario {
namespace {

constexpr size_t kMaxDescribedBytes = 300;

std::string Shorten(std::string text) {
  if (text.size() > kMaxDescribedBytes) {
    text.resize(kMaxDescribedBytes);
    text += "...";
  }
  return text;
}

}  // namespace

bool MatchesWhere(const nlohmann::json& where, const nlohmann::json& value) {
  if (where.is_object()) {
    if (!value.is_object()) return false;
    for (auto it = where.begin(); it != where.end(); ++it) {
      auto found = value.find(it.key());
      if (found == value.end() || !MatchesWhere(it.value(), *found)) {
        return false;
      }
    }
    return true;
  }
  if (where.is_string() && value.is_string()) {
    const std::string& w = where.get_ref<const std::string&>();
    if (!w.empty() && w[0] == '~') {
      return absl::StrContains(value.get_ref<const std::string&>(),
                               absl::string_view(w).substr(1));
    }
    return w == value.get_ref<const std::string&>();
  }
  if (where.is_number() && value.is_number()) {
    // 3 and 3.0 are the same number to a scenario author.
    if (where.is_number_float() || value.is_number_float()) {
      return where.get<double>() == value.get<double>();
    }
    if (where.is_number_unsigned() || value.is_number_unsigned()) {
      if ((where.is_number_integer() && !where.is_number_unsigned() &&
           where.get<int64_t>() < 0) ||
          (value.is_number_integer() && !value.is_number_unsigned() &&
           value.get<int64_t>() < 0)) {
        return false;
      }
      return where.get<uint64_t>() == value.get<uint64_t>();
    }
    return where.get<int64_t>() == value.get<int64_t>();
  }
  return where == value;
}

bool Matches(const EventPattern& pattern, const LoggedEvent& event) {
  auto kind = event.value.find("kind");
  if (kind == event.value.end() || !kind->is_string() ||
      kind->get_ref<const std::string&>() != pattern.kind) {
    return false;
  }
  return MatchesWhere(pattern.where, event.value);
}

std::string DescribePattern(const EventPattern& pattern) {
  if (pattern.where.empty()) return pattern.kind;
  return Shorten(absl::StrCat(pattern.kind, " ", pattern.where.dump()));
}

std::string DescribeEvent(const LoggedEvent& event) {
  nlohmann::json members = event.value;
  auto kind_it = members.find("kind");
  std::string kind = kind_it != members.end() && kind_it->is_string()
                         ? kind_it->get<std::string>()
                         : "?";
  members.erase("kind");
  members.erase("input");  // long, and "to" says what it answers
  return Shorten(absl::StrCat(kind, " ", members.dump(), " at ",
                              FormatInstant(event.at), " (event ", event.seq,
                              ")"));
}

namespace {

std::optional<uint64_t> U64(const nlohmann::json& v, const char* key) {
  auto it = v.find(key);
  if (it == v.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

}  // namespace

void EventLog::Learn(const nlohmann::json& value) {
  auto kind = value.find("kind");
  if (kind == value.end() || !kind->is_string()) return;
  if (*kind == "channel_created") {
    const auto a = U64(value, "a"), b = U64(value, "b");
    if (a && b) {
      other_end_[*a] = *b;
      other_end_[*b] = *a;
    }
  } else if (*kind == "add_proxy") {
    const auto proxy = U64(value, "proxy");
    if (!proxy) return;
    for (const auto& [key, container_side] :
         {std::pair{"container_endpoint", true},
          std::pair{"remote_endpoint", false}}) {
      if (const auto end = U64(value, key)) {
        endpoints_[*end] = {*proxy, container_side, false};
        if (auto peer = other_end_.find(*end); peer != other_end_.end()) {
          endpoints_[peer->second] = {*proxy, container_side, true};
        }
      }
    }
    if (const auto counter = U64(value, "counter")) {
      counters_[*counter] = *proxy;
    }
  }
}

void EventLog::Annotate(nlohmann::json& value) const {
  if (const auto endpoint = U64(value, "endpoint")) {
    if (auto it = endpoints_.find(*endpoint); it != endpoints_.end()) {
      value["proxy"] = it->second.proxy;
      value["side"] = it->second.container_side ? "container" : "remote";
      value["end"] = it->second.peer_end ? "peer" : "proxy";
    }
  } else if (const auto counter = U64(value, "counter")) {
    if (auto it = counters_.find(*counter); it != counters_.end()) {
      // add_proxy itself already names its proxy.
      if (!value.contains("proxy")) value["proxy"] = it->second;
    }
  }
}

void EventLog::OnInput(uint64_t seq, Instant at, const Input& input) {
  nlohmann::json value = sim::EncodeInput(input);
  Learn(value);
  Annotate(value);
  auto request = value.find("request");
  if (request != value.end() && request->is_number_unsigned()) {
    nlohmann::json members = value;
    members.erase("request");
    requests_[request->get<uint64_t>()] = std::move(members);
  }
  Add(seq, at, "in", std::move(value));
}

void EventLog::OnAction(uint64_t seq, Instant at, const Action& action) {
  nlohmann::json value = sim::EncodeAction(action);
  auto kind = value.find("kind");
  if (kind != value.end() && *kind == "reply") {
    auto request = value.find("request");
    if (request != value.end() && request->is_number_unsigned()) {
      auto it = requests_.find(request->get<uint64_t>());
      if (it != requests_.end()) {
        value["to"] = it->second["kind"];
        nlohmann::json input = it->second;
        input.erase("kind");
        value["input"] = std::move(input);
        requests_.erase(it);
      }
    }
  }
  Annotate(value);
  Add(seq, at, "out", std::move(value));
}

void EventLog::OnFact(uint64_t seq, Instant at, const sim::WorldFact& fact) {
  nlohmann::json value = sim::EncodeFact(fact);
  Learn(value);
  Annotate(value);
  Add(seq, at, "fact", std::move(value));
}

void EventLog::Add(uint64_t seq, Instant at, absl::string_view dir,
                   nlohmann::json value) {
  if (events_.size() >= kMaxEvents) {
    overflowed_ = true;
    return;
  }
  events_.push_back(LoggedEvent{seq, at, dir, std::move(value)});
  if (listener_) listener_(events_.back());
}

}  // namespace proctor::scenario
