// The initramfs archive: a cpio "newc" (SVR4, no CRC) archive, the format the
// kernel unpacks into its root filesystem (Documentation/driver-api/
// early-userspace/buffer-format.rst). Written here, not by the cpio tool, so
// that the same entries always give the same bytes: entries sorted by path
// with each folder before its contents, inode numbers 1, 2, ... in that
// order, mtime 0, uid and gid 0, and the archive padded to 512 bytes after
// "TRAILER!!!".
#ifndef PROCTOR_GUEST_IMAGE_CPIO_H_
#define PROCTOR_GUEST_IMAGE_CPIO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace proctor::guest {

// Bounds on one archive. A file entry is refused above kMaxCpioFileBytes
// (the newc size field has 32 bits; nothing in a guest image comes near).
inline constexpr size_t kMaxCpioEntries = 65536;
inline constexpr size_t kMaxCpioPathBytes = 1024;
inline constexpr uint64_t kMaxCpioFileBytes = uint64_t{256} << 20;
inline constexpr uint64_t kMaxCpioArchiveBytes = uint64_t{1} << 30;

struct CpioEntry {
  enum class Type { kDirectory, kFile, kSymlink, kCharDevice };

  // Relative to the archive root, without a leading '/': "bin/busybox".
  // Components are not empty, "." or "..".
  std::string path;
  Type type = Type::kFile;
  // Permission bits only (at most 07777); the type bits come from `type`.
  uint32_t mode = 0644;
  // The contents of a file, or the target of a symlink.
  std::string data;
  // The device number of a character device.
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
};

// The archive of `entries`, in the canonical order above. InvalidArgument
// naming the entry for a bad path, a duplicate path, a mode outside 07777,
// data on a folder or device, an entry whose parent folder is not itself an
// entry (the kernel does not create missing parents), or a bound exceeded.
absl::StatusOr<std::string> WriteCpioNewc(std::vector<CpioEntry> entries);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_IMAGE_CPIO_H_
