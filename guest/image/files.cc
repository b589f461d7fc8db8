#include "guest/image/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"

namespace proctor::guest {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  const int error = errno;
  return absl::Status(
      absl::ErrnoToStatusCode(error),
      absl::StrCat(what, " ", path, ": ", std::strerror(error)));
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<OpenFile> OpenRegularFile(const std::string& path,
                                         uint64_t max_bytes, Links links) {
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  if (links == Links::kNoFollow) flags |= O_NOFOLLOW;
  // O_NONBLOCK keeps a FIFO planted at `path` from blocking the open; the
  // fstat below then refuses it.
  Fd fd(open(path.c_str(), flags | O_NONBLOCK));
  if (fd.get() < 0) return Errno("open", path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Errno("fstat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::OutOfRangeError(
        absl::StrCat(path, ": ", st.st_size,
                     " bytes, larger than the limit of ", max_bytes));
  }
  const int status_flags = fcntl(fd.get(), F_GETFL);
  if (status_flags < 0 ||
      fcntl(fd.get(), F_SETFL, status_flags & ~O_NONBLOCK) != 0) {
    return Errno("fcntl", path);
  }
  OpenFile file;
  file.fd = std::move(fd);
  file.size = static_cast<uint64_t>(st.st_size);
  return file;
}

absl::StatusOr<std::string> ReadFileBounded(const std::string& path,
                                            uint64_t max_bytes, Links links) {
  absl::StatusOr<OpenFile> file = OpenRegularFile(path, max_bytes, links);
  if (!file.ok()) return file.status();
  std::string out;
  out.resize(static_cast<size_t>(file->size));
  size_t have = 0;
  // Reads one byte past the size it had, so a file that grew past the limit
  // while being read is refused rather than cut.
  for (;;) {
    if (have == out.size()) {
      if (out.size() >= max_bytes) {
        char extra;
        ssize_t n = read(file->fd.get(), &extra, 1);
        while (n < 0 && errno == EINTR) n = read(file->fd.get(), &extra, 1);
        if (n < 0) return Errno("read", path);
        if (n > 0) {
          return absl::OutOfRangeError(absl::StrCat(
              path, ": larger than the limit of ", max_bytes, " bytes"));
        }
        break;
      }
      out.resize(std::min<uint64_t>(max_bytes, out.size() + 65536));
    }
    const ssize_t n =
        read(file->fd.get(), out.data() + have, out.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", path);
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  out.resize(have);
  return out;
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view bytes,
                             unsigned mode) {
  std::string temp = absl::StrCat(path, ".tmp-XXXXXX");
  Fd fd(mkostemp(temp.data(), O_CLOEXEC));
  if (fd.get() < 0) return Errno("mkostemp", temp);
  size_t done = 0;
  absl::Status status;
  while (done < bytes.size()) {
    const ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Errno("write", temp);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status.ok() && fchmod(fd.get(), mode) != 0)
    status = Errno("fchmod", temp);
  if (status.ok() && fsync(fd.get()) != 0) status = Errno("fsync", temp);
  if (status.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    status = Errno(absl::StrCat("rename to ", path, " from"), temp);
  }
  if (!status.ok()) unlink(temp.c_str());
  return status;
}

absl::Status MakeDirs(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("create folder ", path, ": ", error.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<TempDir> TempDir::Make(const std::string& parent,
                                      absl::string_view prefix) {
  if (absl::Status s = MakeDirs(parent); !s.ok()) return s;
  std::string path = absl::StrCat(parent, "/", prefix, "XXXXXX");
  if (mkdtemp(path.data()) == nullptr) return Errno("mkdtemp", path);
  return TempDir(std::move(path));
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace proctor::guest
