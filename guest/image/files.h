// File helpers of the image builder: bounded reads of regular files, atomic
// writes, temporary folders that remove themselves. Every read has a byte
// limit, and every error names the path and the failed call.
#ifndef PROCTOR_GUEST_IMAGE_FILES_H_
#define PROCTOR_GUEST_IMAGE_FILES_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace proctor::guest {

// An owned descriptor, closed when destroyed.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// How a path may be reached: kFollow for paths a user names (the agent binary
// may be a link into a build tree), kNoFollow for files inside unpacked
// packages, whose links must not lead out of the tree.
enum class Links { kFollow, kNoFollow };

struct OpenFile {
  Fd fd;
  uint64_t size = 0;
};

// Opens `path` read-only; an error unless it is a regular file of at most
// `max_bytes` bytes.
absl::StatusOr<OpenFile> OpenRegularFile(const std::string& path,
                                         uint64_t max_bytes,
                                         Links links = Links::kFollow);

// The whole regular file, at most `max_bytes` bytes (a larger one is
// refused, not truncated).
absl::StatusOr<std::string> ReadFileBounded(const std::string& path,
                                            uint64_t max_bytes,
                                            Links links = Links::kFollow);

// Writes `bytes` to a new file beside `path` and renames it over `path`, so a
// reader sees the old file or the whole new one. `mode` is the permission.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view bytes,
                             unsigned mode = 0644);

// mkdir -p.
absl::Status MakeDirs(const std::string& path);

// A folder made by mkdtemp under `parent` with the name prefix `prefix`, and
// removed with everything in it when the object is destroyed.
class TempDir {
 public:
  static absl::StatusOr<TempDir> Make(const std::string& parent,
                                      absl::string_view prefix);
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_IMAGE_FILES_H_
