#include "host/io/unique_fd.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "host/io/errno_status.h"
#include "runtime/model/check.h"

namespace proctor::host {

void UniqueFd::reset(int fd) {
  // Resetting to the descriptor already held would close it under us.
  PROCTOR_CHECK(fd < 0 || fd != fd_);
  if (fd_ >= 0) {
    // On Linux the descriptor is released even when close reports EINTR or
    // EIO, so retrying would close someone else's descriptor.
    ::close(fd_);
  }
  fd_ = fd;
}

absl::StatusOr<size_t> CountOpenFds() {
  int dir_fd = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return ErrnoStatus(errno, "open(/proc/self/fd)");
  }
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dir_fd);
    return ErrnoStatus(err, "fdopendir(/proc/self/fd)");
  }
  size_t count = 0;
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;  // "." and ".."
    ++count;
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) {
    return ErrnoStatus(err, "readdir(/proc/self/fd)");
  }
  PROCTOR_CHECK(count >= 1);  // the directory's own descriptor
  return count - 1;
}

}  // namespace proctor::host
