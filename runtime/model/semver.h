// Semantic versions and version requirements, as the `platform_version` of a
// VM config uses them (VM-1, VM-2). The requirement syntax follows Cargo's
// `semver::VersionReq` (the seed's library): comma-separated comparators with
// the operators = > >= < <= ~ ^ (bare means ^) and the wildcards * x X.
#ifndef PROCTOR_RUNTIME_MODEL_SEMVER_H_
#define PROCTOR_RUNTIME_MODEL_SEMVER_H_

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proctor {

struct SemVer {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  friend auto operator<=>(const SemVer&, const SemVer&) = default;
};

absl::StatusOr<SemVer> ParseSemVer(absl::string_view text);
std::string FormatSemVer(const SemVer& v);

class VersionReq {
 public:
  // Inputs longer than this are rejected: the requirement comes from a
  // client and is bounded like every other input.
  static constexpr size_t kMaxLength = 256;

  static absl::StatusOr<VersionReq> Parse(absl::string_view text);
  bool Matches(const SemVer& v) const;
  const std::string& text() const { return text_; }

 private:
  // Every comparator is normalised to a half-open range [low, high).
  struct Range {
    SemVer low;
    bool has_high = false;
    SemVer high;
  };
  std::string text_;
  std::vector<Range> ranges_;
};

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_SEMVER_H_
