#include "host/io/shared_counter.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "host/io/errno_status.h"
#include "runtime/model/check.h"

namespace proctor::host {
namespace {

// Seals that keep every holder's mapping valid: nobody can shrink the
// memory under another process (SIGBUS) or grow it, or remove the seals.
constexpr int kCounterSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
// Long enough for "anon_inode:[eventfd]" and anything it could be mistaken
// for.
constexpr size_t kFdLinkBytes = 64;

absl::StatusOr<std::atomic<int64_t>*> MapCounter(int memory_fd) {
  void* address = ::mmap(nullptr, kCounterMemoryBytes, PROT_READ | PROT_WRITE,
                         MAP_SHARED, memory_fd, 0);
  if (address == MAP_FAILED) {
    return ErrnoStatus(
        errno, absl::StrCat("mmap(counter memory fd ", memory_fd, ", ",
                            kCounterMemoryBytes, " bytes, MAP_SHARED)"));
  }
  return static_cast<std::atomic<int64_t>*>(address);
}

absl::StatusOr<UniqueFd> CreateWakeFd() {
  UniqueFd wake_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd)
    return ErrnoStatus(errno, "eventfd(EFD_NONBLOCK | EFD_CLOEXEC)");
  return wake_fd;
}

absl::Status CheckWakeFd(int wake_fd) {
  char link[kFdLinkBytes];
  const std::string path = absl::StrCat("/proc/self/fd/", wake_fd);
  const ssize_t length = ::readlink(path.c_str(), link, sizeof link);
  if (length < 0) {
    return ErrnoStatus(errno, absl::StrCat("SharedCounter::Open: readlink(",
                                           path, ") of the wake descriptor"));
  }
  const absl::string_view target(link, static_cast<size_t>(length));
  if (target != "anon_inode:[eventfd]") {
    return absl::InvalidArgumentError(
        absl::StrCat("SharedCounter::Open: the wake descriptor (fd ", wake_fd,
                     ") is ", target, ", not an eventfd"));
  }
  const int flags = ::fcntl(wake_fd, F_GETFL);
  if (flags < 0) {
    return ErrnoStatus(errno,
                       absl::StrCat("fcntl(F_GETFL, wake fd ", wake_fd, ")"));
  }
  if ((flags & O_NONBLOCK) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("SharedCounter::Open: the wake eventfd (fd ", wake_fd,
                     ") is blocking; ClearWake would block on it"));
  }
  return absl::OkStatus();
}

absl::Status CheckMemoryFd(int memory_fd) {
  const int seals = ::fcntl(memory_fd, F_GET_SEALS);
  if (seals < 0) {
    return ErrnoStatus(
        errno, absl::StrCat("SharedCounter::Open: fcntl(F_GET_SEALS) on the "
                            "counter memory (fd ",
                            memory_fd, "), which must be a memfd"));
  }
  if ((seals & F_SEAL_SHRINK) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SharedCounter::Open: the counter memory (fd ", memory_fd,
        ") is not sealed against shrinking (F_SEAL_SHRINK); another holder "
        "could make this process fault"));
  }
  struct stat st;
  if (::fstat(memory_fd, &st) != 0) {
    return ErrnoStatus(
        errno, absl::StrCat("fstat(counter memory fd ", memory_fd, ")"));
  }
  if (st.st_size < static_cast<off_t>(kCounterMemoryBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SharedCounter::Open: the counter memory (fd ", memory_fd,
                     ") holds ", st.st_size, " bytes, fewer than the ",
                     kCounterMemoryBytes, " of a counter"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SharedCounter> SharedCounter::Create(int64_t initial) {
  UniqueFd memory_fd(
      ::memfd_create("proctor-counter", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!memory_fd) {
    return ErrnoStatus(errno,
                       "memfd_create(proctor-counter, MFD_CLOEXEC | "
                       "MFD_ALLOW_SEALING)");
  }
  if (::ftruncate(memory_fd.get(), kCounterMemoryBytes) != 0) {
    return ErrnoStatus(errno, absl::StrCat("ftruncate(counter memory, ",
                                           kCounterMemoryBytes, ")"));
  }
  if (::fcntl(memory_fd.get(), F_ADD_SEALS, kCounterSeals) != 0) {
    return ErrnoStatus(errno,
                       "fcntl(F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | "
                       "F_SEAL_SEAL) on the counter memory");
  }
  absl::StatusOr<UniqueFd> wake_fd = CreateWakeFd();
  if (!wake_fd.ok()) return wake_fd.status();
  absl::StatusOr<std::atomic<int64_t>*> value = MapCounter(memory_fd.get());
  if (!value.ok()) return value.status();
  // The memory is fresh: begin the atomic's lifetime here.
  new (*value) std::atomic<int64_t>(initial);
  return SharedCounter(std::move(memory_fd), *std::move(wake_fd), *value);
}

absl::StatusOr<SharedCounter> SharedCounter::Open(UniqueFd memory_fd,
                                                  UniqueFd wake_fd) {
  if (!memory_fd || !wake_fd) {
    return absl::InvalidArgumentError(
        absl::StrCat("SharedCounter::Open: needs both descriptors (memory fd ",
                     memory_fd.get(), ", wake fd ", wake_fd.get(), ")"));
  }
  absl::Status status = CheckMemoryFd(memory_fd.get());
  if (!status.ok()) return status;
  status = CheckWakeFd(wake_fd.get());
  if (!status.ok()) return status;
  absl::StatusOr<std::atomic<int64_t>*> value = MapCounter(memory_fd.get());
  if (!value.ok()) return value.status();
  return SharedCounter(std::move(memory_fd), std::move(wake_fd), *value);
}

SharedCounter::SharedCounter(UniqueFd memory_fd, UniqueFd wake_fd,
                             std::atomic<int64_t>* value)
    : memory_fd_(std::move(memory_fd)),
      wake_fd_(std::move(wake_fd)),
      value_(value) {
  PROCTOR_CHECK(memory_fd_ && wake_fd_ && value_ != nullptr);
}

SharedCounter::SharedCounter(SharedCounter&& other) noexcept
    : memory_fd_(std::move(other.memory_fd_)),
      wake_fd_(std::move(other.wake_fd_)),
      value_(std::exchange(other.value_, nullptr)) {}

SharedCounter& SharedCounter::operator=(SharedCounter&& other) noexcept {
  if (this != &other) {
    Unmap();
    memory_fd_ = std::move(other.memory_fd_);
    wake_fd_ = std::move(other.wake_fd_);
    value_ = std::exchange(other.value_, nullptr);
  }
  return *this;
}

SharedCounter::~SharedCounter() { Unmap(); }

void SharedCounter::Unmap() {
  if (value_ == nullptr) return;
  // Fails only for an address this class did not map.
  PROCTOR_CHECK(::munmap(value_, kCounterMemoryBytes) == 0);
  value_ = nullptr;
}

ChannelStatus SharedCounter::Add(int64_t delta) {
  PROCTOR_CHECK(value_ != nullptr);
  int64_t before = value_->load();
  int64_t after;
  do {
    if (__builtin_add_overflow(before, delta, &after)) {
      return ChannelStatus::kOutOfRange;
    }
  } while (!value_->compare_exchange_weak(before, after));
  if ((before > 0) != (after > 0)) {
    const uint64_t one = 1;
    // EAGAIN means the eventfd's count is at its maximum, so watchers are
    // already woken.
    const ssize_t written = ::write(wake_fd_.get(), &one, sizeof one);
    PROCTOR_CHECK(written == static_cast<ssize_t>(sizeof one) ||
                  errno == EAGAIN);
  }
  return ChannelStatus::kOk;
}

int64_t SharedCounter::Value() const {
  PROCTOR_CHECK(value_ != nullptr);
  return value_->load();
}

Signals SharedCounter::signals() const {
  return Value() > 0 ? kSignalPositive : kSignalNonPositive;
}

void SharedCounter::ClearWake() {
  uint64_t count;
  // EAGAIN: nothing to clear.
  const ssize_t read = ::read(wake_fd_.get(), &count, sizeof count);
  PROCTOR_CHECK(read == static_cast<ssize_t>(sizeof count) || errno == EAGAIN);
}

}  // namespace proctor::host
