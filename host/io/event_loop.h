// EventLoop: the host world's single thread of control. Real events (a
// descriptor becoming ready, a deadline passing) and deferred work turn into
// callbacks here, one turn at a time, and the loop's monotonic clock is the
// only clock the host world reads: every Instant handed to the runtime comes
// from Now().
#ifndef PROCTOR_HOST_IO_EVENT_LOOP_H_
#define PROCTOR_HOST_IO_EVENT_LOOP_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "host/io/unique_fd.h"
#include "runtime/model/time.h"

struct epoll_event;

namespace proctor::host {

// Bounds on what one loop holds at once; exceeding one is refused with
// RESOURCE_EXHAUSTED naming the limit, never grown silently.
struct EventLoopLimits {
  size_t max_watched_fds = 4096;
  size_t max_timers = 65536;
  size_t max_posted = 65536;
};

// Level-triggered epoll plus one CLOCK_MONOTONIC timerfd that multiplexes
// every timer. Single-threaded: all methods are called on the loop's thread,
// including from inside callbacks; RunOnce and RunUntil may not be called
// from a callback.
class EventLoop {
 public:
  using WatchId = uint64_t;
  using TimerId = uint64_t;

  // How many ready descriptors one epoll_wait reports; more stay ready
  // (level-triggered) and are reported on the next turn.
  static constexpr size_t kMaxEventsPerTurn = 256;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(
      EventLoopLimits limits = {});

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Nanoseconds of CLOCK_MONOTONIC since Create, so a run starts at 0 like
  // the simulator's.
  Instant Now() const;
  // Makes Now() 0 again, for a world that prepares (boots guests) before its
  // run's clock starts. Instants read before are meaningless after.
  // FailedPrecondition while a timer is pending: its deadline would move.
  absl::Status RestartClock();

  // Calls on_ready(ready_events) on every turn while `fd` is ready for any of
  // `epoll_events` (EPOLLERR and EPOLLHUP are always reported). The loop does
  // not own `fd`: Unwatch it before closing it, since epoll tracks the open
  // file, not the number. One watch per descriptor.
  absl::StatusOr<WatchId> WatchFd(
      int fd, uint32_t epoll_events,
      absl::AnyInvocable<void(uint32_t ready_events)> on_ready);
  absl::Status ModifyFd(WatchId id, uint32_t epoll_events);
  // Safe from any callback, including the watch's own; the callback never
  // runs after this returns, even if epoll already reported the descriptor in
  // the current turn. Unknown ids are ignored.
  void Unwatch(WatchId id);

  // One-shot: on_fire runs on the first turn at or after `deadline`. A
  // deadline in the past fires on the next turn; equal deadlines fire in the
  // order added.
  absl::StatusOr<TimerId> AddTimer(Instant deadline,
                                   absl::AnyInvocable<void()> on_fire);
  // Safe from any callback; unknown or already-fired ids are ignored.
  void CancelTimer(TimerId id);

  // Runs `fn` on the next turn, after the descriptors and timers of that
  // turn, in the order posted.
  absl::Status Post(absl::AnyInvocable<void()> fn);

  // One turn: waits at most `max_wait` (zero: does not wait; no wait at all
  // when work is already due), then runs the ready descriptors' callbacks,
  // the due timers, and the functions posted before this turn.
  absl::Status RunOnce(absl::Duration max_wait);
  // Turns until done() is true (checked before the first turn and after
  // each) or Now() reaches `deadline` (DEADLINE_EXCEEDED).
  absl::Status RunUntil(absl::FunctionRef<bool()> done, Instant deadline);

  size_t watched_fds() const { return watches_.size(); }
  size_t pending_timers() const { return timers_.size(); }
  size_t pending_posted() const { return posted_.size(); }
  const EventLoopLimits& limits() const { return limits_; }

 private:
  struct Watch {
    int fd;
    uint32_t events;
    absl::AnyInvocable<void(uint32_t)> on_ready;
  };
  // Timers fire in (deadline, id) order; ids only grow, so equal deadlines
  // keep the order they were added in.
  using TimerKey = std::pair<int64_t, TimerId>;

  EventLoop(EventLoopLimits limits, UniqueFd epoll_fd, UniqueFd timer_fd,
            int64_t origin_ns);

  // Fills `events` (kMaxEventsPerTurn long); returns how many are ready.
  absl::StatusOr<size_t> Wait(absl::Duration max_wait, epoll_event* events);
  void RunReadyFds(const epoll_event* events, size_t ready);
  void RunDueTimers();
  void RunPosted();
  // Points the timerfd at the earliest pending deadline (or disarms it).
  void ArmTimerFd();

  const EventLoopLimits limits_;
  const UniqueFd epoll_fd_;
  const UniqueFd timer_fd_;
  // CLOCK_MONOTONIC at Create (or RestartClock), in nanoseconds.
  int64_t origin_ns_;

  bool running_ = false;
  // epoll_pwait2 gives nanosecond waits; kernels before 5.11 lack it, and
  // then waits are rounded up to whole milliseconds with epoll_wait.
  bool have_epoll_pwait2_ = true;
  WatchId next_watch_id_ = 1;  // 0 marks the timerfd in epoll data.
  absl::flat_hash_map<WatchId, std::unique_ptr<Watch>> watches_;
  // The watch whose callback is running, and its Watch if it unwatched
  // itself: destroyed once the callback returns, not under its feet.
  WatchId running_watch_ = 0;
  std::unique_ptr<Watch> retired_watch_;

  TimerId next_timer_id_ = 1;
  absl::btree_map<TimerKey, absl::AnyInvocable<void()>> timers_;
  absl::flat_hash_map<TimerId, int64_t> timer_deadlines_;
  // The deadline the timerfd is armed for; INT64_MAX when disarmed.
  int64_t armed_ns_ = INT64_MAX;

  std::deque<absl::AnyInvocable<void()>> posted_;
};

}  // namespace proctor::host

#endif  // PROCTOR_HOST_IO_EVENT_LOOP_H_
