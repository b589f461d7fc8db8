#include "host/io/event_loop.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/io/testing/fd_leak_check.h"
#include "host/io/unique_fd.h"
#include "runtime/model/check.h"

namespace proctor::host {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A safety bound only: every test waits for a real event and fails if this
// passes first.
constexpr absl::Duration kSafetyBound = absl::Seconds(10);

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Pipe MakePipe() {
  int fds[2];
  PROCTOR_CHECK(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void WriteByte(int fd) { PROCTOR_CHECK(::write(fd, "x", 1) == 1); }

class EventLoopTest : public testing::FdLeakCheckTest {
 protected:
  void SetUp() override {
    testing::FdLeakCheckTest::SetUp();
    absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *std::move(loop);
  }
  void TearDown() override {
    loop_.reset();
    testing::FdLeakCheckTest::TearDown();
  }
  Instant SafetyDeadline() const { return loop_->Now() + kSafetyBound; }

  std::unique_ptr<EventLoop> loop_;
};

TEST_F(EventLoopTest, NowStartsNearZeroAndNeverGoesBack) {
  const Instant first = loop_->Now();
  EXPECT_GE(first.ns, 0);
  EXPECT_LT(first, Instant::FromNanos(absl::ToInt64Nanoseconds(kSafetyBound)));
  const Instant second = loop_->Now();
  EXPECT_GE(second, first);
}

TEST_F(EventLoopTest, RestartClockStartsNowAgainOnlyWithNoTimerPending) {
  bool fired = false;
  absl::StatusOr<EventLoop::TimerId> t = loop_->AddTimer(
      loop_->Now() + absl::Milliseconds(2), [&] { fired = true; });
  ASSERT_TRUE(t.ok());
  const absl::Status refused = loop_->RestartClock();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "the clock cannot restart with 1 timers pending");
  ASSERT_TRUE(loop_->RunUntil([&] { return fired; }, SafetyDeadline()).ok());
  const Instant before = loop_->Now();
  EXPECT_GE(before, Instant::FromNanos(2'000'000));
  ASSERT_TRUE(loop_->RestartClock().ok());
  EXPECT_LT(loop_->Now(), before);
}

TEST_F(EventLoopTest, CreateOpensExactlyTwoDescriptors) {
  const size_t before = *CountOpenFds();
  absl::StatusOr<std::unique_ptr<EventLoop>> other = EventLoop::Create();
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(*CountOpenFds(), before + 2);  // the epoll fd and the timerfd
  other->reset();
  EXPECT_EQ(*CountOpenFds(), before);
}

TEST_F(EventLoopTest, ReadyDescriptorRunsItsCallbackWithTheReadyEvents) {
  Pipe pipe = MakePipe();
  std::vector<uint32_t> seen;
  absl::StatusOr<EventLoop::WatchId> id =
      loop_->WatchFd(pipe.read_end.get(), EPOLLIN,
                     [&](uint32_t ready) { seen.push_back(ready); });
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(loop_->watched_fds(), 1u);

  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_TRUE(seen.empty()) << "called before the descriptor was ready";

  WriteByte(pipe.write_end.get());
  ASSERT_TRUE(
      loop_->RunUntil([&] { return !seen.empty(); }, SafetyDeadline()).ok());
  EXPECT_THAT(seen, ElementsAre(uint32_t{EPOLLIN}));

  // Level-triggered: still readable, so reported again on the next turn.
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_EQ(seen.size(), 2u);

  char byte;
  ASSERT_EQ(::read(pipe.read_end.get(), &byte, 1), 1);
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_EQ(seen.size(), 2u);

  // The peer closing reports EPOLLHUP even though it was not asked for.
  pipe.write_end.reset();
  ASSERT_TRUE(
      loop_->RunUntil([&] { return seen.size() == 3; }, SafetyDeadline()).ok());
  EXPECT_EQ(seen[2], uint32_t{EPOLLHUP});
  loop_->Unwatch(*id);
  EXPECT_EQ(loop_->watched_fds(), 0u);
}

TEST_F(EventLoopTest, ModifyFdChangesTheInterest) {
  Pipe pipe = MakePipe();
  int calls = 0;
  absl::StatusOr<EventLoop::WatchId> id =
      loop_->WatchFd(pipe.write_end.get(), 0, [&](uint32_t) { ++calls; });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(loop_->ModifyFd(*id, EPOLLOUT).ok());
  ASSERT_TRUE(
      loop_->RunUntil([&] { return calls == 1; }, SafetyDeadline()).ok());

  absl::Status unknown = loop_->ModifyFd(*id + 100, EPOLLOUT);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(unknown.message()),
            absl::StrCat("ModifyFd: no watch with id ", *id + 100));
  loop_->Unwatch(*id);
}

TEST_F(EventLoopTest, WatchingABadDescriptorNamesTheCallAndErrno) {
  Pipe pipe = MakePipe();
  const int closed = pipe.read_end.get();
  pipe.read_end.reset();
  absl::StatusOr<EventLoop::WatchId> id =
      loop_->WatchFd(closed, EPOLLIN, [](uint32_t) {});
  EXPECT_EQ(id.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(id.status().message()),
            absl::StrCat("epoll_ctl(EPOLL_CTL_ADD, fd ", closed,
                         ", events 0x1): Bad file descriptor"));
  EXPECT_EQ(loop_->watched_fds(), 0u);

  absl::StatusOr<EventLoop::WatchId> twice =
      loop_->WatchFd(pipe.write_end.get(), EPOLLOUT, [](uint32_t) {});
  ASSERT_TRUE(twice.ok());
  absl::StatusOr<EventLoop::WatchId> again =
      loop_->WatchFd(pipe.write_end.get(), EPOLLOUT, [](uint32_t) {});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("File exists"));
  EXPECT_EQ(loop_->watched_fds(), 1u);
  loop_->Unwatch(*twice);
}

TEST_F(EventLoopTest, UnwatchInsideCallbacksIsSafeAndFinal) {
  // Both descriptors are ready in the same epoll batch; whichever runs first
  // unwatches both, so the other must not run even though epoll reported it.
  Pipe a = MakePipe();
  Pipe b = MakePipe();
  WriteByte(a.write_end.get());
  WriteByte(b.write_end.get());
  EventLoop::WatchId id_a = 0, id_b = 0;
  int calls = 0;
  // The callback owns state that its own Unwatch must not free under it.
  auto owned = std::make_unique<std::string>("still alive");
  auto callback = [&, owned = std::move(owned)](uint32_t) {
    ++calls;
    loop_->Unwatch(id_a);
    loop_->Unwatch(id_b);
    EXPECT_EQ(*owned, "still alive");
  };
  absl::StatusOr<EventLoop::WatchId> wa =
      loop_->WatchFd(a.read_end.get(), EPOLLIN, std::move(callback));
  ASSERT_TRUE(wa.ok());
  id_a = *wa;
  absl::StatusOr<EventLoop::WatchId> wb =
      loop_->WatchFd(b.read_end.get(), EPOLLIN, [&](uint32_t) {
        ++calls;
        loop_->Unwatch(id_a);
        loop_->Unwatch(id_b);
      });
  ASSERT_TRUE(wb.ok());
  id_b = *wb;

  ASSERT_TRUE(
      loop_->RunUntil([&] { return calls > 0; }, SafetyDeadline()).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loop_->watched_fds(), 0u);
  // Both descriptors are still readable; neither callback runs again.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  }
  EXPECT_EQ(calls, 1);
  loop_->Unwatch(id_a);  // unknown now: ignored
}

TEST_F(EventLoopTest, TimersFireInDeadlineOrderThenInTheOrderAdded) {
  const Instant now = loop_->Now();
  std::vector<std::string> fired;
  auto add = [&](absl::Duration after, std::string name) {
    absl::StatusOr<EventLoop::TimerId> id =
        loop_->AddTimer(now + after, [&fired, name] { fired.push_back(name); });
    PROCTOR_CHECK(id.ok());
    return *id;
  };
  add(absl::Milliseconds(3), "3ms");
  add(absl::Milliseconds(1), "1ms-first");
  const EventLoop::TimerId cancelled = add(absl::Milliseconds(2), "cancelled");
  add(absl::Milliseconds(2), "2ms");
  add(absl::Milliseconds(1), "1ms-second");
  add(absl::Milliseconds(1), "1ms-third");
  EXPECT_EQ(loop_->pending_timers(), 6u);
  loop_->CancelTimer(cancelled);
  loop_->CancelTimer(cancelled);  // twice: ignored
  EXPECT_EQ(loop_->pending_timers(), 5u);

  ASSERT_TRUE(
      loop_->RunUntil([&] { return fired.size() == 5; }, SafetyDeadline())
          .ok());
  EXPECT_THAT(
      fired, ElementsAre("1ms-first", "1ms-second", "1ms-third", "2ms", "3ms"));
  EXPECT_GE(loop_->Now(), now + absl::Milliseconds(3));
  EXPECT_EQ(loop_->pending_timers(), 0u);
}

TEST_F(EventLoopTest, ATimerWakesABlockedTurn) {
  const Instant start = loop_->Now();
  bool fired = false;
  ASSERT_TRUE(
      loop_->AddTimer(start + absl::Milliseconds(1), [&] { fired = true; })
          .ok());
  // One turn allowed to wait the whole safety bound: the timerfd ends it.
  while (!fired) {
    ASSERT_TRUE(loop_->RunOnce(kSafetyBound).ok());
    ASSERT_LT(loop_->Now(), start + kSafetyBound);
  }
  EXPECT_GE(loop_->Now(), start + absl::Milliseconds(1));
}

TEST_F(EventLoopTest, CancelFromACallbackStopsATimerDueInTheSameTurn) {
  const Instant deadline = loop_->Now() + absl::Milliseconds(1);
  std::vector<std::string> fired;
  EventLoop::TimerId second = 0;
  ASSERT_TRUE(loop_
                  ->AddTimer(deadline,
                             [&] {
                               fired.push_back("first");
                               loop_->CancelTimer(second);
                             })
                  .ok());
  absl::StatusOr<EventLoop::TimerId> id =
      loop_->AddTimer(deadline, [&] { fired.push_back("second"); });
  ASSERT_TRUE(id.ok());
  second = *id;
  ASSERT_TRUE(
      loop_->AddTimer(deadline, [&] { fired.push_back("third"); }).ok());
  ASSERT_TRUE(
      loop_->RunUntil([&] { return fired.size() == 2; }, SafetyDeadline())
          .ok());
  EXPECT_THAT(fired, ElementsAre("first", "third"));
  EXPECT_EQ(loop_->pending_timers(), 0u);
}

TEST_F(EventLoopTest, ADeadlineInThePastFiresOnTheNextTurn) {
  int fired = 0;
  ASSERT_TRUE(loop_->AddTimer(Instant::FromNanos(-5), [&] { ++fired; }).ok());
  const Instant start = loop_->Now();
  // The turn must not wait: work is already due.
  ASSERT_TRUE(loop_->RunOnce(kSafetyBound).ok());
  EXPECT_EQ(fired, 1);
  EXPECT_LT(loop_->Now(), start + kSafetyBound);

  // Added from a callback, an already-due timer waits for the next turn.
  std::vector<int> order;
  ASSERT_TRUE(loop_
                  ->AddTimer(loop_->Now(),
                             [&] {
                               order.push_back(1);
                               PROCTOR_CHECK(
                                   loop_
                                       ->AddTimer(Instant::FromNanos(0),
                                                  [&] { order.push_back(2); })
                                       .ok());
                             })
                  .ok());
  ASSERT_TRUE(loop_->RunOnce(kSafetyBound).ok());
  EXPECT_THAT(order, ElementsAre(1));
  ASSERT_TRUE(loop_->RunOnce(kSafetyBound).ok());
  EXPECT_THAT(order, ElementsAre(1, 2));
  EXPECT_LT(loop_->Now(), start + kSafetyBound);
}

TEST_F(EventLoopTest, PostedFunctionsRunInOrderOnTheNextTurn) {
  std::vector<int> order;
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(loop_
                    ->Post([&, i] {
                      order.push_back(i);
                      if (i == 1) {
                        PROCTOR_CHECK(
                            loop_->Post([&] { order.push_back(4); }).ok());
                      }
                    })
                    .ok());
  }
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(loop_->pending_posted(), 3u);
  const Instant start = loop_->Now();
  ASSERT_TRUE(loop_->RunOnce(kSafetyBound).ok());  // does not wait
  EXPECT_THAT(order, ElementsAre(1, 2, 3));
  ASSERT_TRUE(loop_->RunOnce(kSafetyBound).ok());
  EXPECT_THAT(order, ElementsAre(1, 2, 3, 4));
  EXPECT_LT(loop_->Now(), start + kSafetyBound);
  EXPECT_EQ(loop_->pending_posted(), 0u);
}

TEST_F(EventLoopTest, OneTurnRunsDescriptorsThenTimersThenPosted) {
  Pipe pipe = MakePipe();
  WriteByte(pipe.write_end.get());
  std::vector<std::string> order;
  ASSERT_TRUE(loop_->Post([&] { order.push_back("posted"); }).ok());
  ASSERT_TRUE(
      loop_->AddTimer(Instant::FromNanos(0), [&] { order.push_back("timer"); })
          .ok());
  absl::StatusOr<EventLoop::WatchId> id =
      loop_->WatchFd(pipe.read_end.get(), EPOLLIN, [&](uint32_t) {
        order.push_back("fd");
        loop_->Unwatch(*id);
      });
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(loop_->RunOnce(kSafetyBound).ok());
  EXPECT_THAT(order, ElementsAre("fd", "timer", "posted"));
}

TEST_F(EventLoopTest, LimitsAreRefusedWithAStatusNamingThem) {
  loop_.reset();
  absl::StatusOr<std::unique_ptr<EventLoop>> created = EventLoop::Create(
      EventLoopLimits{.max_watched_fds = 1, .max_timers = 1, .max_posted = 1});
  ASSERT_TRUE(created.ok());
  loop_ = *std::move(created);
  Pipe pipe = MakePipe();

  absl::StatusOr<EventLoop::WatchId> first =
      loop_->WatchFd(pipe.read_end.get(), EPOLLIN, [](uint32_t) {});
  ASSERT_TRUE(first.ok());
  absl::StatusOr<EventLoop::WatchId> second =
      loop_->WatchFd(pipe.write_end.get(), EPOLLOUT, [](uint32_t) {});
  EXPECT_EQ(second.status(),
            absl::ResourceExhaustedError(absl::StrCat(
                "WatchFd(", pipe.write_end.get(),
                "): the event loop already watches 1 descriptors, its limit "
                "(max_watched_fds = 1)")));

  ASSERT_TRUE(loop_->AddTimer(Instant::FromNanos(0), [] {}).ok());
  EXPECT_EQ(loop_->AddTimer(Instant::FromNanos(7), [] {}).status(),
            absl::ResourceExhaustedError("AddTimer(0.000000007s): the event "
                                         "loop already has 1 timers pending, "
                                         "its limit (max_timers = 1)"));

  ASSERT_TRUE(loop_->Post([] {}).ok());
  EXPECT_EQ(loop_->Post([] {}),
            absl::ResourceExhaustedError(
                "Post: the event loop already holds 1 posted functions, its "
                "limit (max_posted = 1)"));

  // Room again once they have run.
  loop_->Unwatch(*first);
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_TRUE(loop_->Post([] {}).ok());
  EXPECT_TRUE(loop_->AddTimer(Instant::FromNanos(0), [] {}).ok());
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
}

TEST_F(EventLoopTest, RunUntilStopsAtItsDeadline) {
  const Instant deadline = loop_->Now() + absl::Milliseconds(1);
  int turns = 0;
  absl::Status status = loop_->RunUntil(
      [&] {
        ++turns;
        return false;
      },
      deadline);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(
      std::string(status.message()),
      StartsWith(absl::StrCat("the loop ran until ", FormatInstant(deadline),
                              " and the awaited condition still did "
                              "not hold")));
  EXPECT_GE(loop_->Now(), deadline);
  EXPECT_GE(turns, 2);  // checked before the first turn and after it

  // Already true: no turn is needed.
  bool posted_ran = false;
  ASSERT_TRUE(loop_->Post([&] { posted_ran = true; }).ok());
  EXPECT_TRUE(loop_->RunUntil([] { return true; }, SafetyDeadline()).ok());
  EXPECT_FALSE(posted_ran);
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_TRUE(posted_ran);
}

TEST_F(EventLoopTest, RunOnceFromACallbackIsRefused) {
  absl::Status inner = absl::OkStatus();
  ASSERT_TRUE(
      loop_->Post([&] { inner = loop_->RunOnce(absl::ZeroDuration()); }).ok());
  ASSERT_TRUE(loop_->RunOnce(absl::ZeroDuration()).ok());
  EXPECT_EQ(inner, absl::FailedPreconditionError(
                       "RunOnce: called from inside one of the loop's own "
                       "callbacks"));
}

}  // namespace
}  // namespace proctor::host
