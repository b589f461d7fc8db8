// How a process ended (CN-2): Exit(code) or Signalled(signal). Used for
// container processes and for the VMM alike.
#ifndef PROCTOR_RUNTIME_MODEL_EXIT_STATUS_H_
#define PROCTOR_RUNTIME_MODEL_EXIT_STATUS_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace proctor {

inline constexpr int kSigKill = 9;
inline constexpr int kSigTerm = 15;

class ExitStatus {
 public:
  enum class Kind : uint8_t { kExited, kSignalled };

  static constexpr ExitStatus Exited(int code) {
    return ExitStatus(Kind::kExited, code);
  }
  static constexpr ExitStatus Signalled(int signal) {
    return ExitStatus(Kind::kSignalled, signal);
  }

  constexpr Kind kind() const { return kind_; }
  constexpr bool exited() const { return kind_ == Kind::kExited; }
  constexpr bool signalled() const { return kind_ == Kind::kSignalled; }
  // The exit code; meaningful only when exited().
  constexpr int code() const { return value_; }
  // The signal number; meaningful only when signalled().
  constexpr int signal() const { return value_; }
  // CN-2: success iff Exit(0).
  constexpr bool success() const { return exited() && value_ == 0; }

  friend constexpr auto operator<=>(const ExitStatus&,
                                    const ExitStatus&) = default;

 private:
  constexpr ExitStatus(Kind kind, int value) : kind_(kind), value_(value) {}
  Kind kind_;
  int value_;
};

// CN-2 printed form: `Exit(7)`, `Signalled(SIGKILL)`, or `Signalled(77)` when
// the signal number has no name on Linux.
std::string FormatExitStatus(const ExitStatus& status);

// Parses the printed form back; nullopt when `text` is not one.
std::optional<ExitStatus> ParseExitStatus(absl::string_view text);

// "SIGTERM" for 15; nullopt for numbers without a standard Linux name.
std::optional<absl::string_view> SignalName(int signal);
std::optional<int> SignalFromName(absl::string_view name);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_EXIT_STATUS_H_
