#include "runtime/container/guest_path.h"

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace proctor {

bool IsStrictlyValidUtf8(absl::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto lead = static_cast<uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    // The allowed range of the second byte is what rules out overlongs
    // (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
    uint8_t second_min = 0x80;
    uint8_t second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead == 0xE0) {
      length = 3;
      second_min = 0xA0;
    } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
      length = 3;
    } else if (lead == 0xED) {
      length = 3;
      second_max = 0x9F;
    } else if (lead == 0xF0) {
      length = 4;
      second_min = 0x90;
    } else if (lead >= 0xF1 && lead <= 0xF3) {
      length = 4;
    } else if (lead == 0xF4) {
      length = 4;
      second_max = 0x8F;
    } else {
      return false;  // continuation byte as lead, C0/C1, or F5..FF
    }
    if (n - i < length) return false;
    const auto second = static_cast<uint8_t>(text[i + 1]);
    if (second < second_min || second > second_max) return false;
    for (size_t k = 2; k < length; ++k) {
      const auto next = static_cast<uint8_t>(text[i + k]);
      if (next < 0x80 || next > 0xBF) return false;
    }
    i += length;
  }
  return true;
}

absl::StatusOr<std::string> ResolveGuestPath(absl::string_view rootfs,
                                             absl::string_view path,
                                             MutantSet mutants) {
  // Checked before anything echoes the path back, so an error message never
  // carries megabytes or invalid bytes from a client.
  if (path.size() > kMaxGuestPathBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CN-8: guest path is longer than ", kMaxGuestPathBytes, " bytes"));
  }
  if (!IsStrictlyValidUtf8(path)) {
    return absl::InvalidArgumentError("CN-8: guest path is not valid UTF-8");
  }
  // A NUL would silently cut the path short in the world's system calls.
  if (path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("CN-8: guest path contains a NUL byte");
  }
  absl::string_view relative = path;
  while (!relative.empty() && relative.front() == '/') {
    relative.remove_prefix(1);
  }
  for (absl::string_view component : absl::StrSplit(relative, '/')) {
    if (component == "..") {
      // Mutant guest-path-dotdot: the component is let through.
      if (mutants.Has(Mutant::kGuestPathDotDot)) [[unlikely]] {
        continue;
      }
      return absl::InvalidArgumentError(
          absl::StrCat("CN-8: ", path, " escapes the container rootfs"));
    }
  }
  if (relative.empty()) return std::string(rootfs);
  return absl::StrCat(rootfs, "/", relative);
}

}  // namespace proctor
