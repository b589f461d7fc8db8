#include "absl/strings/str_format.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"
#include "runtime/model/time.h"

namespace proctor {

absl::string_view InputName(const Input& input) {
  return std::visit([](const auto& in) { return in.kName; }, input);
}

std::optional<RequestId> InputRequest(const Input& input) {
  return std::visit(
      [](const auto& in) -> std::optional<RequestId> {
        if constexpr (requires { in.request; }) {
          return in.request;
        } else {
          return std::nullopt;
        }
      },
      input);
}

absl::string_view ActionName(const Action& action) {
  return std::visit([](const auto& a) { return a.kName; }, action);
}

absl::string_view input::CopyDirectionName(CopyDirection d) {
  return d == CopyDirection::kIn ? "in" : "out";
}

std::string FormatInstant(Instant t) {
  // Seconds with nanosecond precision: "12.000000345s".
  const int64_t sec = t.ns / 1'000'000'000;
  int64_t frac = t.ns % 1'000'000'000;
  if (t.ns < 0 && frac != 0) frac = -frac;
  return absl::StrFormat("%s%d.%09ds", t.ns < 0 && sec == 0 ? "-" : "", sec,
                         frac);
}

}  // namespace proctor
