// SharedCounter: a CT-1 counter that other processes can observe and change,
// such as a container decrementing the count of messages it has handled.
// The value lives in a sealed memfd mapped MAP_SHARED by every process that
// holds it, and changes that flip its CT-1 signal are announced on an
// eventfd that an EventLoop can watch. An eventfd alone cannot be the
// counter: it holds an unsigned value, cannot be read without resetting it,
// and saturates instead of failing on overflow.
#ifndef PROCTOR_HOST_IO_SHARED_COUNTER_H_
#define PROCTOR_HOST_IO_SHARED_COUNTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "host/io/unique_fd.h"
#include "runtime/model/channel_types.h"

namespace proctor::host {

static_assert(std::atomic<int64_t>::is_always_lock_free,
              "a counter shared between processes must not hide a lock");

// Size of the counter's memory: exactly one std::atomic<int64_t>.
inline constexpr size_t kCounterMemoryBytes = sizeof(std::atomic<int64_t>);

class SharedCounter {
 public:
  // A new counter holding `initial`.
  static absl::StatusOr<SharedCounter> Create(int64_t initial = 0);
  // The same counter in another process, from its two descriptors (inherited
  // or received over a channel). Refuses memory that is not a memfd sealed
  // against shrinking (another holder could then make this process fault),
  // that is smaller than a counter or cannot be mapped, and a wake
  // descriptor that is not a non-blocking eventfd.
  static absl::StatusOr<SharedCounter> Open(UniqueFd memory_fd,
                                            UniqueFd wake_fd);

  SharedCounter(SharedCounter&& other) noexcept;
  SharedCounter& operator=(SharedCounter&& other) noexcept;
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;
  ~SharedCounter();

  // Adds `delta` atomically: kOk, or kOutOfRange on signed overflow, which
  // changes nothing. A change that moves the value between POSITIVE (> 0)
  // and NON_POSITIVE (<= 0) writes the wake descriptor.
  ChannelStatus Add(int64_t delta);
  int64_t Value() const;
  // kSignalPositive or kSignalNonPositive (CT-1).
  Signals signals() const;

  // Readable after a signal change. A watcher calls ClearWake() and then
  // reads Value(): a change made after the clear writes the descriptor
  // again, so none is missed.
  int wake_fd() const { return wake_fd_.get(); }
  void ClearWake();
  // Hand both descriptors to another process for Open.
  int memory_fd() const { return memory_fd_.get(); }

 private:
  SharedCounter(UniqueFd memory_fd, UniqueFd wake_fd,
                std::atomic<int64_t>* value);
  void Unmap();

  UniqueFd memory_fd_;
  UniqueFd wake_fd_;
  // In the MAP_SHARED mapping of memory_fd_; null once moved from.
  std::atomic<int64_t>* value_ = nullptr;
};

}  // namespace proctor::host

#endif  // PROCTOR_HOST_IO_SHARED_COUNTER_H_
