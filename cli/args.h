// A small, strict command-line reader shared by the subcommands: flags are
// `--name value` or `--name=value`; an unknown flag, a missing value or a
// malformed number is a usage error (exit 2) naming the flag.
#ifndef PROCTOR_CLI_ARGS_H_
#define PROCTOR_CLI_ARGS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proctor::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

class Args {
 public:
  // `args` excludes the program and subcommand names.
  explicit Args(std::span<char* const> args);

  // True if the boolean flag is present (and consumes it).
  bool Flag(absl::string_view name);
  // The value of `--name VALUE`, if present (and consumes both).
  absl::StatusOr<std::optional<std::string>> Value(absl::string_view name);
  absl::StatusOr<std::optional<uint64_t>> Number(absl::string_view name,
                                                 uint64_t max);
  // Everything left that does not start with "--".
  std::vector<std::string> Positional();
  // An error naming the first flag nobody asked for, if any.
  absl::Status CheckAllConsumed() const;

 private:
  std::vector<std::string> args_;
  std::vector<bool> used_;
};

// "A..B" with A <= B (both included), or a single "A".
absl::StatusOr<std::pair<uint64_t, uint64_t>> ParseSeedRange(
    absl::string_view text);
// "I/N" with 0 <= I < N.
absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseShard(
    absl::string_view text);

}  // namespace proctor::cli

#endif  // PROCTOR_CLI_ARGS_H_
