// Deterministic gzip for the initramfs: zlib's deflate at level 9 with a
// fixed header (mtime 0, no file name, OS byte 3 "Unix"), so the same bytes in
// give the same bytes out with the same zlib. The kernel's initramfs
// unpacker reads it (CONFIG_RD_GZIP).
#ifndef PROCTOR_GUEST_IMAGE_GZIP_H_
#define PROCTOR_GUEST_IMAGE_GZIP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proctor::guest {

// Inputs above this are refused (gzip's size field is 32 bits anyway).
inline constexpr uint64_t kMaxGzipInputBytes = uint64_t{1} << 30;

absl::StatusOr<std::string> GzipDeterministic(absl::string_view data);

// The inverse, for tests and checks; output above `max_bytes` is refused.
absl::StatusOr<std::string> Gunzip(absl::string_view data, uint64_t max_bytes);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_IMAGE_GZIP_H_
