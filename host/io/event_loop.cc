#include "host/io/event_loop.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "host/io/errno_status.h"
#include "runtime/model/check.h"

namespace proctor::host {
namespace {

// epoll data of the timerfd; watch ids start at 1.
constexpr uint64_t kTimerFdKey = 0;
constexpr int64_t kNanosPerSecond = 1'000'000'000;

int64_t MonotonicNanos() {
  timespec ts;
  // CLOCK_MONOTONIC cannot fail with a valid pointer.
  PROCTOR_CHECK(::clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
  return int64_t{ts.tv_sec} * kNanosPerSecond + ts.tv_nsec;
}

timespec ToTimespec(int64_t ns) {
  PROCTOR_CHECK(ns >= 0);
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / kNanosPerSecond);
  ts.tv_nsec = static_cast<long>(ns % kNanosPerSecond);
  return ts;
}

std::string EpollEventsName(uint32_t events) {
  return absl::StrFormat("0x%x", events);
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(
    EventLoopLimits limits) {
  UniqueFd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) return ErrnoStatus(errno, "epoll_create1(EPOLL_CLOEXEC)");
  UniqueFd timer_fd(
      ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_fd) {
    return ErrnoStatus(errno,
                       "timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | "
                       "TFD_CLOEXEC)");
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kTimerFdKey;
  if (::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, timer_fd.get(), &event) != 0) {
    return ErrnoStatus(errno, "epoll_ctl(EPOLL_CTL_ADD, timerfd)");
  }
  return std::unique_ptr<EventLoop>(new EventLoop(
      limits, std::move(epoll_fd), std::move(timer_fd), MonotonicNanos()));
}

EventLoop::EventLoop(EventLoopLimits limits, UniqueFd epoll_fd,
                     UniqueFd timer_fd, int64_t origin_ns)
    : limits_(limits),
      epoll_fd_(std::move(epoll_fd)),
      timer_fd_(std::move(timer_fd)),
      origin_ns_(origin_ns) {}

EventLoop::~EventLoop() {
  // Destroying the loop from one of its own callbacks would free the
  // callback while it runs.
  PROCTOR_CHECK(!running_);
}

Instant EventLoop::Now() const {
  return Instant::FromNanos(MonotonicNanos() - origin_ns_);
}

absl::Status EventLoop::RestartClock() {
  if (!timers_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the clock cannot restart with ", timers_.size(), " timers pending"));
  }
  origin_ns_ = MonotonicNanos();
  return absl::OkStatus();
}

absl::StatusOr<EventLoop::WatchId> EventLoop::WatchFd(
    int fd, uint32_t epoll_events,
    absl::AnyInvocable<void(uint32_t ready_events)> on_ready) {
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("WatchFd: descriptor ", fd, " is not a descriptor"));
  }
  if (on_ready == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("WatchFd: no callback for descriptor ", fd));
  }
  if (watches_.size() >= limits_.max_watched_fds) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "WatchFd(", fd, "): the event loop already watches ", watches_.size(),
        " descriptors, its limit (max_watched_fds = ", limits_.max_watched_fds,
        ")"));
  }
  const WatchId id = next_watch_id_++;
  epoll_event event{};
  event.events = epoll_events;
  event.data.u64 = id;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
    return ErrnoStatus(
        errno, absl::StrCat("epoll_ctl(EPOLL_CTL_ADD, fd ", fd, ", events ",
                            EpollEventsName(epoll_events), ")"));
  }
  watches_.emplace(id, std::make_unique<Watch>(
                           Watch{fd, epoll_events, std::move(on_ready)}));
  return id;
}

absl::Status EventLoop::ModifyFd(WatchId id, uint32_t epoll_events) {
  auto it = watches_.find(id);
  if (it == watches_.end()) {
    return absl::NotFoundError(absl::StrCat("ModifyFd: no watch with id ", id));
  }
  Watch& watch = *it->second;
  epoll_event event{};
  event.events = epoll_events;
  event.data.u64 = id;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, watch.fd, &event) != 0) {
    return ErrnoStatus(
        errno, absl::StrCat("epoll_ctl(EPOLL_CTL_MOD, fd ", watch.fd,
                            ", events ", EpollEventsName(epoll_events), ")"));
  }
  watch.events = epoll_events;
  return absl::OkStatus();
}

void EventLoop::Unwatch(WatchId id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  // Fails only if the caller already closed the descriptor, which removed it
  // from the epoll set unless the open file lives on elsewhere; the id guard
  // in RunReadyFds keeps the callback from running either way.
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, it->second->fd, nullptr);
  if (id == running_watch_) {
    PROCTOR_CHECK(retired_watch_ == nullptr);
    retired_watch_ = std::move(it->second);
  }
  watches_.erase(it);
}

absl::StatusOr<EventLoop::TimerId> EventLoop::AddTimer(
    Instant deadline, absl::AnyInvocable<void()> on_fire) {
  if (on_fire == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AddTimer: no callback for the timer at ", FormatInstant(deadline)));
  }
  if (timers_.size() >= limits_.max_timers) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "AddTimer(", FormatInstant(deadline), "): the event loop already has ",
        timers_.size(),
        " timers pending, its limit (max_timers = ", limits_.max_timers, ")"));
  }
  const TimerId id = next_timer_id_++;
  timers_.emplace(TimerKey{deadline.ns, id}, std::move(on_fire));
  timer_deadlines_.emplace(id, deadline.ns);
  PROCTOR_CHECK(timers_.size() == timer_deadlines_.size());
  ArmTimerFd();
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return;
  const size_t erased = timers_.erase(TimerKey{it->second, id});
  PROCTOR_CHECK(erased == 1);
  timer_deadlines_.erase(it);
  ArmTimerFd();
}

absl::Status EventLoop::Post(absl::AnyInvocable<void()> fn) {
  if (fn == nullptr) {
    return absl::InvalidArgumentError("Post: no function");
  }
  if (posted_.size() >= limits_.max_posted) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Post: the event loop already holds ", posted_.size(),
        " posted functions, its limit (max_posted = ", limits_.max_posted,
        ")"));
  }
  posted_.push_back(std::move(fn));
  return absl::OkStatus();
}

void EventLoop::ArmTimerFd() {
  const int64_t earliest =
      timers_.empty() ? INT64_MAX : timers_.begin()->first.first;
  if (earliest == armed_ns_) return;
  itimerspec spec{};
  if (earliest != INT64_MAX) {
    // Absolute CLOCK_MONOTONIC time; an all-zero it_value would disarm, so
    // a deadline before the clock's epoch is clamped to its first tick.
    int64_t absolute = origin_ns_ + earliest;
    if (earliest < 0 && absolute < 1) absolute = 1;
    spec.it_value = ToTimespec(absolute);
  }
  // Re-arming also clears an expiration not yet read.
  PROCTOR_CHECK(::timerfd_settime(timer_fd_.get(), TFD_TIMER_ABSTIME, &spec,
                                  nullptr) == 0);
  armed_ns_ = earliest;
}

absl::StatusOr<size_t> EventLoop::Wait(absl::Duration max_wait,
                                       epoll_event* events) {
  const bool work_due =
      !posted_.empty() ||
      (!timers_.empty() && timers_.begin()->first.first <= Now().ns);
  if (work_due || max_wait < absl::ZeroDuration()) {
    max_wait = absl::ZeroDuration();
  }
  const bool forever = max_wait == absl::InfiniteDuration();
  while (true) {
    int n;
    if (have_epoll_pwait2_) {
      timespec timeout{};
      if (!forever) timeout = absl::ToTimespec(max_wait);
      n = ::epoll_pwait2(epoll_fd_.get(), events, kMaxEventsPerTurn,
                         forever ? nullptr : &timeout, nullptr);
      if (n < 0 && errno == ENOSYS) {
        have_epoll_pwait2_ = false;
        continue;
      }
    } else {
      int timeout_ms = -1;
      if (!forever) {
        // Rounded up so the loop does not spin through the last millisecond.
        timeout_ms = static_cast<int>(std::min<int64_t>(
            absl::ToInt64Milliseconds(max_wait + absl::Nanoseconds(999'999)),
            std::numeric_limits<int>::max()));
      }
      n = ::epoll_wait(epoll_fd_.get(), events, kMaxEventsPerTurn, timeout_ms);
    }
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) return 0;
    return ErrnoStatus(errno,
                       have_epoll_pwait2_ ? "epoll_pwait2" : "epoll_wait");
  }
}

void EventLoop::RunReadyFds(const epoll_event* events, size_t ready) {
  for (size_t i = 0; i < ready; ++i) {
    const uint64_t key = events[i].data.u64;
    if (key == kTimerFdKey) {
      uint64_t expirations;
      // EAGAIN when a re-arm already cleared the expiration.
      if (::read(timer_fd_.get(), &expirations, sizeof expirations) ==
          sizeof expirations) {
        armed_ns_ = INT64_MAX;
      }
      continue;
    }
    auto it = watches_.find(key);
    // Unwatched by an earlier callback of this turn.
    if (it == watches_.end()) continue;
    Watch* watch = it->second.get();
    // ModifyFd in an earlier callback may have narrowed the interest.
    const uint32_t mask =
        events[i].events & (watch->events | EPOLLERR | EPOLLHUP);
    if (mask == 0) continue;
    running_watch_ = key;
    watch->on_ready(mask);
    running_watch_ = 0;
    retired_watch_.reset();
  }
}

void EventLoop::RunDueTimers() {
  const int64_t now = Now().ns;
  // Timers added by these callbacks wait for the next turn, even when already
  // due, so a callback that re-adds itself cannot starve the descriptors.
  const TimerId first_added_now = next_timer_id_;
  while (!timers_.empty()) {
    auto it = timers_.begin();
    if (it->first.first > now || it->first.second >= first_added_now) break;
    absl::AnyInvocable<void()> on_fire = std::move(it->second);
    timer_deadlines_.erase(it->first.second);
    timers_.erase(it);
    on_fire();
  }
  PROCTOR_CHECK(timers_.size() == timer_deadlines_.size());
  ArmTimerFd();
}

void EventLoop::RunPosted() {
  // Functions posted by these functions wait for the next turn, so a
  // function that re-posts itself cannot starve the descriptors.
  for (size_t n = posted_.size(); n > 0; --n) {
    absl::AnyInvocable<void()> fn = std::move(posted_.front());
    posted_.pop_front();
    fn();
  }
}

absl::Status EventLoop::RunOnce(absl::Duration max_wait) {
  if (running_) {
    return absl::FailedPreconditionError(
        "RunOnce: called from inside one of the loop's own callbacks");
  }
  epoll_event events[kMaxEventsPerTurn];
  absl::StatusOr<size_t> ready = Wait(max_wait, events);
  if (!ready.ok()) return ready.status();
  running_ = true;
  RunReadyFds(events, *ready);
  RunDueTimers();
  RunPosted();
  running_ = false;
  return absl::OkStatus();
}

absl::Status EventLoop::RunUntil(absl::FunctionRef<bool()> done,
                                 Instant deadline) {
  if (running_) {
    return absl::FailedPreconditionError(
        "RunUntil: called from inside one of the loop's own callbacks");
  }
  while (!done()) {
    const Instant now = Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the loop ran until ", FormatInstant(deadline),
          " and the awaited condition still did not hold (now ",
          FormatInstant(now), "; ", watches_.size(), " descriptors watched, ",
          timers_.size(), " timers pending, ", posted_.size(),
          " functions posted)"));
    }
    absl::Status status = RunOnce(deadline - now);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace proctor::host
