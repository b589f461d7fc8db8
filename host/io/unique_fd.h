// UniqueFd: the one owner of a file descriptor in the host world, so that no
// descriptor leaks on any error path; and CountOpenFds, the measure every
// real test uses to prove that.
#ifndef PROCTOR_HOST_IO_UNIQUE_FD_H_
#define PROCTOR_HOST_IO_UNIQUE_FD_H_

#include <cstddef>

#include "absl/status/statusor.h"

namespace proctor::host {

// Owns one descriptor (or none, -1) and closes it when destroyed or reset.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

  // Gives up ownership without closing.
  [[nodiscard]] int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the held descriptor (if any) and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// The number of descriptors open in this process, from /proc/self/fd, not
// counting the directory descriptor used to read it.
absl::StatusOr<size_t> CountOpenFds();

}  // namespace proctor::host

#endif  // PROCTOR_HOST_IO_UNIQUE_FD_H_
