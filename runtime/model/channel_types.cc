#include "runtime/model/channel_types.h"

#include <array>
#include <utility>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace proctor {
namespace {

constexpr std::array<std::pair<Signal, absl::string_view>, 6> kSignalNames = {{
    {kSignalReadable, "READABLE"},
    {kSignalPeerClosed, "PEER_CLOSED"},
    {kSignalPositive, "POSITIVE"},
    {kSignalNonPositive, "NON_POSITIVE"},
    {kSignalUser0, "USER_0"},
    {kSignalUser1, "USER_1"},
}};

constexpr std::array<std::pair<ChannelStatus, absl::string_view>, 5>
    kStatusNames = {{
        {ChannelStatus::kOk, "OK"},
        {ChannelStatus::kShouldWait, "SHOULD_WAIT"},
        {ChannelStatus::kPeerClosed, "PEER_CLOSED"},
        {ChannelStatus::kOutOfRange, "OUT_OF_RANGE"},
        {ChannelStatus::kBadHandle, "BAD_HANDLE"},
    }};

}  // namespace

std::string FormatSignals(Signals s) {
  std::vector<absl::string_view> names;
  for (const auto& [bit, name] : kSignalNames) {
    if (s & bit) names.push_back(name);
  }
  if (names.empty()) return "NONE";
  return absl::StrJoin(names, "|");
}

bool ParseSignals(absl::string_view text, Signals* out) {
  *out = kSignalNone;
  if (text == "NONE") return true;
  for (absl::string_view part : absl::StrSplit(text, '|')) {
    bool found = false;
    for (const auto& [bit, name] : kSignalNames) {
      if (name == part) {
        *out |= bit;
        found = true;
      }
    }
    if (!found) return false;
  }
  return true;
}

absl::string_view ChannelStatusName(ChannelStatus s) {
  for (const auto& [st, name] : kStatusNames) {
    if (st == s) return name;
  }
  return "?";
}

bool ParseChannelStatus(absl::string_view text, ChannelStatus* out) {
  for (const auto& [st, name] : kStatusNames) {
    if (name == text) {
      *out = st;
      return true;
    }
  }
  return false;
}

absl::string_view WakeSignalName(WakeSignal s) {
  return s == WakeSignal::kAwake ? "AWAKE" : "ASLEEP";
}

}  // namespace proctor
