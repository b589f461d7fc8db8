// CN-8: turning an untrusted guest path from a copy request into a path
// inside the container's rootfs. The path comes from a client and names a
// file inside the guest, so it must never climb out of the rootfs.
#ifndef PROCTOR_RUNTIME_CONTAINER_GUEST_PATH_H_
#define PROCTOR_RUNTIME_CONTAINER_GUEST_PATH_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/model/mutants.h"

namespace proctor {

// The longest guest path accepted (Linux PATH_MAX).
inline constexpr size_t kMaxGuestPathBytes = 4096;

// "<rootfs>/<path without its leading slashes>", or `rootfs` itself when
// nothing is left. InvalidArgument when the path is longer than
// kMaxGuestPathBytes, is not strictly valid UTF-8, contains a NUL byte, or has
// a `..` component ("CN-8: <path> escapes the container rootfs").
// `mutants` may switch on guest-path-dotdot.
absl::StatusOr<std::string> ResolveGuestPath(absl::string_view rootfs,
                                             absl::string_view path,
                                             MutantSet mutants = {});

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequences.
bool IsStrictlyValidUtf8(absl::string_view text);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_CONTAINER_GUEST_PATH_H_
