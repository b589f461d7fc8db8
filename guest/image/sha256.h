// SHA-256 (FIPS 180-4) for the guest image: the content hash that names a
// cached image and the digests in its manifest. Written here so the image
// builder needs no crypto library; it is not used for anything secret.
#ifndef PROCTOR_GUEST_IMAGE_SHA256_H_
#define PROCTOR_GUEST_IMAGE_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proctor::guest {

class Sha256 {
 public:
  Sha256();
  void Update(absl::string_view bytes);
  // The digest as 64 lowercase hex digits. The object must not be used after.
  std::string HexDigest();

 private:
  void Block(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// The hex digest of `bytes`.
std::string Sha256Hex(absl::string_view bytes);

// The hex digest of the regular file at `path`, read in chunks. A file larger
// than `max_bytes`, a missing file or one that is not a regular file is an
// error naming the path.
absl::StatusOr<std::string> Sha256File(const std::string& path,
                                       uint64_t max_bytes);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_IMAGE_SHA256_H_
