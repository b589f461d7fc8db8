#include "host/io/seqpacket_channel.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "host/io/event_loop.h"
#include "host/io/testing/fd_leak_check.h"
#include "host/io/unique_fd.h"
#include "runtime/model/check.h"

namespace proctor::host {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kSafetyBound = absl::Seconds(10);

class ChannelTest : public testing::FdLeakCheckTest {
 protected:
  void SetUp() override {
    testing::FdLeakCheckTest::SetUp();
    absl::StatusOr<std::pair<UniqueFd, UniqueFd>> channel = CreateChannel();
    ASSERT_TRUE(channel.ok()) << channel.status();
    a_ = std::move(channel->first);
    b_ = std::move(channel->second);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    testing::FdLeakCheckTest::TearDown();
  }

  UniqueFd a_;
  UniqueFd b_;
};

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Pipe MakePipe() {
  int fds[2];
  PROCTOR_CHECK(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Sends one raw datagram, as an untrusted peer could, bypassing WriteMessage
// and its framing. Returns sendmsg's result.
ssize_t SendRaw(int fd, const std::string& datagram,
                const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(datagram.data()), datagram.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  return ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

std::string Framed(absl::string_view bytes) {
  return absl::StrCat(std::string(1, static_cast<char>(kChannelFrameVersion)),
                      bytes);
}

size_t OpenFds() {
  absl::StatusOr<size_t> count = CountOpenFds();
  PROCTOR_CHECK(count.ok());
  return *count;
}

// Lowers RLIMIT_NOFILE so that exactly `allowed` more descriptors can be
// opened (the lowest free numbers), and restores it when destroyed.
class DescriptorLimit {
 public:
  explicit DescriptorLimit(size_t allowed) {
    PROCTOR_CHECK(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    // Descriptors are allocated lowest-first below the limit: with the
    // lowest free number L and no free number under it, a soft limit of
    // L + allowed leaves exactly `allowed` to open.
    const int lowest_free = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    PROCTOR_CHECK(lowest_free >= 0);
    ::close(lowest_free);
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(lowest_free) + allowed;
    PROCTOR_CHECK(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  }
  ~DescriptorLimit() {
    PROCTOR_CHECK(::setrlimit(RLIMIT_NOFILE, &saved_) == 0);
  }

 private:
  rlimit saved_;
};

TEST_F(ChannelTest,
       EndpointsAreNonBlockingCloseOnExecWithRoomForAMaximumMessage) {
  for (int fd : {a_.get(), b_.get()}) {
    EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    int type = 0;
    socklen_t length = sizeof type;
    ASSERT_EQ(::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length), 0);
    EXPECT_EQ(type, SOCK_SEQPACKET);
    int send_buffer = 0;
    length = sizeof send_buffer;
    ASSERT_EQ(::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, &length),
              0);
    EXPECT_GE(static_cast<size_t>(send_buffer), kMinChannelSendBufferBytes);
    RecordProperty("SO_SNDBUF", send_buffer);
  }
  EXPECT_EQ(SignalsOf(a_.get()), kSignalNone);
  EXPECT_EQ(SignalsOf(b_.get()), kSignalNone);
}

TEST_F(ChannelTest, WholeMessagesArriveInOrderInBothDirections) {
  std::vector<std::string> sent;
  for (int i = 0; i < 100; ++i) {
    sent.push_back(std::string(static_cast<size_t>(i * 37),
                               static_cast<char>('a' + i % 26)));
  }
  for (const std::string& bytes : sent) {
    ASSERT_EQ(WriteMessage(a_.get(), bytes, {}), ChannelStatus::kOk);
  }
  ASSERT_EQ(WriteMessage(b_.get(), "reply", {}), ChannelStatus::kOk);
  EXPECT_EQ(SignalsOf(b_.get()), kSignalReadable);
  EXPECT_EQ(SignalsOf(a_.get()), kSignalReadable);

  RealMessage message;
  for (const std::string& bytes : sent) {
    ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
    EXPECT_EQ(message.bytes, bytes);
    EXPECT_TRUE(message.handles.empty());
  }
  std::string detail;
  EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
            ChannelStatus::kShouldWait);
  EXPECT_EQ(detail, absl::StrCat("recvmsg(fd ", b_.get(),
                                 "): Resource temporarily unavailable"));
  EXPECT_EQ(SignalsOf(b_.get()), kSignalNone);

  ASSERT_EQ(ReadMessage(a_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "reply");
  EXPECT_EQ(SignalsOf(a_.get()), kSignalNone);
}

TEST_F(ChannelTest, AnEmptyMessageIsNotTheEndOfTheStream) {
  ASSERT_EQ(WriteMessage(a_.get(), "", {}), ChannelStatus::kOk);
  EXPECT_EQ(SignalsOf(b_.get()), kSignalReadable);
  RealMessage message;
  message.bytes = "stale";
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "");
  EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kShouldWait);

  // Also when the peer closes right after it.
  ASSERT_EQ(WriteMessage(a_.get(), "", {}), ChannelStatus::kOk);
  a_.reset();
  EXPECT_EQ(SignalsOf(b_.get()), kSignalReadable | kSignalPeerClosed);
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "");
  EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kPeerClosed);
}

TEST_F(ChannelTest, MaximumMessageFitsAndOneByteMoreIsRefusedUndelivered) {
  const std::string largest(kMaxMessageBytes, 'x');
  ASSERT_EQ(largest.size(), 65536u);
  ASSERT_EQ(WriteMessage(a_.get(), largest, {}), ChannelStatus::kOk);
  RealMessage message;
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, largest);

  std::string detail;
  EXPECT_EQ(WriteMessage(a_.get(), std::string(kMaxMessageBytes + 1, 'y'), {},
                         &detail),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(detail,
            absl::StrCat("WriteMessage(fd ", a_.get(),
                         "): 65537 bytes, more than the limit of 65536"));
  EXPECT_EQ(SignalsOf(b_.get()), kSignalNone);
  EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kShouldWait);
}

TEST_F(ChannelTest, SixtyFourHandlesTravelAndSixtyFiveAreRefused) {
  Pipe pipe = MakePipe();
  const std::vector<int> sixty_four(kMaxMessageHandles, pipe.write_end.get());
  const size_t before = OpenFds();
  ASSERT_EQ(WriteMessage(a_.get(), "handles", sixty_four), ChannelStatus::kOk);
  EXPECT_EQ(OpenFds(), before);  // in flight, not in this process's table
  {
    RealMessage message;
    ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
    EXPECT_EQ(message.bytes, "handles");
    ASSERT_EQ(message.handles.size(), 64u);
    EXPECT_EQ(OpenFds(), before + 64);
    for (const UniqueFd& fd : message.handles) {
      EXPECT_NE(fd.get(), pipe.write_end.get());
      EXPECT_NE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0);
    }
  }
  EXPECT_EQ(OpenFds(), before);

  const std::vector<int> sixty_five(kMaxMessageHandles + 1,
                                    pipe.write_end.get());
  std::string detail;
  EXPECT_EQ(WriteMessage(a_.get(), "too many", sixty_five, &detail),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(detail, absl::StrCat("WriteMessage(fd ", a_.get(),
                                 "): 65 handles, more than the limit of 64"));
  EXPECT_EQ(SignalsOf(b_.get()), kSignalNone);
  RealMessage message;
  EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kShouldWait);
  EXPECT_EQ(OpenFds(), before);
}

TEST_F(ChannelTest, OversizedDatagramFromAnUntrustedPeerIsDroppedWithItsFds) {
  Pipe pipe = MakePipe();
  const size_t before = OpenFds();
  // One byte past the largest conforming datagram, with descriptors.
  const std::string oversized = Framed(std::string(kMaxMessageBytes + 1, 'z'));
  ASSERT_EQ(
      SendRaw(a_.get(), oversized, {pipe.read_end.get(), pipe.write_end.get()}),
      static_cast<ssize_t>(oversized.size()));
  ASSERT_EQ(WriteMessage(a_.get(), "after", {}), ChannelStatus::kOk);

  RealMessage message;
  std::string detail;
  EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(detail, absl::StrCat("recvmsg(fd ", b_.get(),
                                 "): refused a 65538-byte datagram, more than "
                                 "the limit of 65537 (header and message; "
                                 "dropped)"));
  EXPECT_TRUE(message.bytes.empty());
  EXPECT_TRUE(message.handles.empty());
  EXPECT_EQ(OpenFds(), before);
  // The channel goes on: the next message is intact.
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "after");
}

TEST_F(ChannelTest, TooManyFdsFromAnUntrustedPeerAreClosedNotLeaked) {
  Pipe pipe = MakePipe();
  const size_t before = OpenFds();
  // 65 fits in the reader's control buffer and is refused by count; 200 does
  // not fit and is cut short by the kernel (MSG_CTRUNC).
  ASSERT_GT(SendRaw(a_.get(), Framed("65"),
                    std::vector<int>(65, pipe.write_end.get())),
            0);
  ASSERT_GT(SendRaw(a_.get(), Framed("200"),
                    std::vector<int>(200, pipe.write_end.get())),
            0);
  ASSERT_EQ(WriteMessage(a_.get(), "after", {pipe.write_end.get()}),
            ChannelStatus::kOk);
  EXPECT_EQ(OpenFds(), before);

  RealMessage message;
  std::string detail;
  EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(detail, absl::StrCat("recvmsg(fd ", b_.get(),
                                 "): refused a message with 65 descriptors, "
                                 "more than the limit of 64 (dropped and "
                                 "closed)"));
  EXPECT_EQ(OpenFds(), before);
  EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
            ChannelStatus::kOutOfRange);
  EXPECT_THAT(detail,
              HasSubstr("refused a message with more than 64 descriptors"));
  EXPECT_EQ(OpenFds(), before);

  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "after");
  EXPECT_EQ(message.handles.size(), 1u);
  message.handles.clear();
  EXPECT_EQ(OpenFds(), before);
}

TEST_F(ChannelTest, DatagramsWithoutTheFrameHeaderAreRefused) {
  Pipe pipe = MakePipe();
  const size_t before = OpenFds();
  ASSERT_EQ(SendRaw(a_.get(), "\x02wrong version", {pipe.write_end.get()}), 14);
  ASSERT_EQ(SendRaw(a_.get(), "", {}), 0);
  ASSERT_EQ(SendRaw(a_.get(), "", {pipe.write_end.get()}), 0);
  ASSERT_EQ(WriteMessage(a_.get(), "ok", {}), ChannelStatus::kOk);

  RealMessage message;
  std::string detail;
  EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(detail, absl::StrCat("recvmsg(fd ", b_.get(),
                                 "): refused a datagram with frame header "
                                 "0x02, expected 0x01 (dropped)"));
  EXPECT_EQ(OpenFds(), before);
  // An empty datagram while the peer is open is not the end of the stream.
  EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(detail, absl::StrCat("recvmsg(fd ", b_.get(),
                                 "): refused an empty datagram without the "
                                 "frame header (dropped)"));
  EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
            ChannelStatus::kOutOfRange);
  EXPECT_EQ(detail, absl::StrCat("recvmsg(fd ", b_.get(),
                                 "): refused an empty datagram without the "
                                 "frame header (dropped; closed its 1 "
                                 "descriptors)"));
  EXPECT_EQ(OpenFds(), before);
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "ok");

  // An empty datagram followed by a valid message and the close: the empty
  // one is refused, the message still read, then the close.
  ASSERT_EQ(SendRaw(a_.get(), "", {}), 0);
  ASSERT_EQ(WriteMessage(a_.get(), "last", {}), ChannelStatus::kOk);
  a_.reset();
  EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOutOfRange);
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "last");
  EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
            ChannelStatus::kPeerClosed);
  EXPECT_EQ(detail, absl::StrCat("recvmsg(fd ", b_.get(),
                                 "): end of stream: the peer endpoint is "
                                 "closed and no message is queued"));
}

TEST_F(ChannelTest, APeerThatClosesMidBurstLosesNoMessage) {
  constexpr int kBurst = 200;
  for (int i = 0; i < kBurst; ++i) {
    ASSERT_EQ(WriteMessage(a_.get(), absl::StrCat("message ", i), {}),
              ChannelStatus::kOk);
  }
  a_.reset();
  EXPECT_EQ(SignalsOf(b_.get()), kSignalReadable | kSignalPeerClosed);
  RealMessage message;
  for (int i = 0; i < kBurst; ++i) {
    ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk) << i;
    EXPECT_EQ(message.bytes, absl::StrCat("message ", i));
  }
  EXPECT_EQ(SignalsOf(b_.get()), kSignalPeerClosed);
  EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kPeerClosed);
  EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kPeerClosed);
}

TEST_F(ChannelTest, APeerClosingWithUnreadMessagesOfItsOwnStillDeliversOurs) {
  // Linux reports ECONNRESET once to the survivor in this case.
  ASSERT_EQ(WriteMessage(b_.get(), "never read by a", {}), ChannelStatus::kOk);
  ASSERT_EQ(WriteMessage(a_.get(), "one", {}), ChannelStatus::kOk);
  ASSERT_EQ(WriteMessage(a_.get(), "two", {}), ChannelStatus::kOk);
  a_.reset();
  RealMessage message;
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "one");
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "two");
  EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kPeerClosed);
  EXPECT_EQ(WriteMessage(b_.get(), "x", {}), ChannelStatus::kPeerClosed);
}

TEST_F(ChannelTest, WritingToAClosedPeerIsPeerClosedWithoutSigpipe) {
  // The default action of SIGPIPE ends the process: surviving is the check.
  struct sigaction previous;
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  ASSERT_EQ(::sigaction(SIGPIPE, &default_action, &previous), 0);
  b_.reset();
  EXPECT_EQ(SignalsOf(a_.get()), kSignalPeerClosed);
  std::string detail;
  EXPECT_EQ(WriteMessage(a_.get(), "hello?", {}, &detail),
            ChannelStatus::kPeerClosed);
  EXPECT_EQ(detail, absl::StrCat("sendmsg(fd ", a_.get(), "): Broken pipe"));
  Pipe pipe = MakePipe();
  EXPECT_EQ(WriteMessage(a_.get(), "with a handle", {pipe.read_end.get()}),
            ChannelStatus::kPeerClosed);
  ASSERT_EQ(::sigaction(SIGPIPE, &previous, nullptr), 0);
}

TEST_F(ChannelTest, AFullBufferIsShouldWaitAndQueuesNothing) {
  for (size_t size : {size_t{0}, size_t{1024}, kMaxMessageBytes}) {
    const std::string bytes(size, 'f');
    size_t accepted = 0;
    std::string detail;
    ChannelStatus status;
    while ((status = WriteMessage(a_.get(), bytes, {}, &detail)) ==
           ChannelStatus::kOk) {
      ++accepted;
      ASSERT_LT(accepted, 1'000'000u) << "the buffer never filled";
    }
    EXPECT_EQ(status, ChannelStatus::kShouldWait);
    EXPECT_EQ(detail, absl::StrCat("sendmsg(fd ", a_.get(),
                                   "): Resource temporarily unavailable"));
    EXPECT_GE(accepted, 1u);
    RecordProperty(absl::StrCat("messages_of_", size, "_bytes_that_fit"),
                   static_cast<int>(accepted));
    // Exactly the accepted messages are queued: the refused one is not.
    RealMessage message;
    for (size_t i = 0; i < accepted; ++i) {
      ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
      ASSERT_EQ(message.bytes.size(), size);
    }
    EXPECT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kShouldWait);
    // Room again once read.
    EXPECT_EQ(WriteMessage(a_.get(), bytes, {}), ChannelStatus::kOk);
    ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  }
}

TEST_F(ChannelTest, RunningOutOfDescriptorsFailsClearlyAndLeaksNothing) {
  Pipe pipe = MakePipe();
  ASSERT_EQ(WriteMessage(a_.get(), "three fds",
                         {pipe.read_end.get(), pipe.write_end.get(),
                          pipe.write_end.get()}),
            ChannelStatus::kOk);
  ASSERT_EQ(WriteMessage(a_.get(), "after", {pipe.read_end.get()}),
            ChannelStatus::kOk);
  const size_t before = OpenFds();
  {
    DescriptorLimit limit(/*allowed=*/1);
    absl::StatusOr<std::pair<UniqueFd, UniqueFd>> channel = CreateChannel();
    EXPECT_EQ(channel.status(),
              absl::ResourceExhaustedError(
                  "socketpair(AF_UNIX, SOCK_SEQPACKET): Too many open files"));
    RealMessage message;
    std::string detail;
    EXPECT_EQ(ReadMessage(b_.get(), &message, &detail),
              ChannelStatus::kOutOfRange);
    EXPECT_EQ(detail,
              absl::StrCat("recvmsg(fd ", b_.get(),
                           "): the message's descriptors could not all be "
                           "received: this process is out of descriptors "
                           "(RLIMIT_NOFILE); dropped it and closed the 1 that "
                           "arrived"));
    EXPECT_TRUE(message.handles.empty());
  }
  EXPECT_EQ(OpenFds(), before);
  // With descriptors again, the next message arrives whole.
  RealMessage message;
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  EXPECT_EQ(message.bytes, "after");
  EXPECT_EQ(message.handles.size(), 1u);
}

TEST_F(ChannelTest, HandlesArriveAsWorkingDescriptors) {
  RealMessage message;
  Pipe pipe = MakePipe();
  ASSERT_EQ(WriteMessage(a_.get(), "take this", {pipe.write_end.get()}),
            ChannelStatus::kOk);
  pipe.write_end.reset();  // the message holds the only other reference
  ASSERT_EQ(ReadMessage(b_.get(), &message), ChannelStatus::kOk);
  ASSERT_EQ(message.handles.size(), 1u);
  const int received = message.handles[0].get();
  EXPECT_NE(::fcntl(received, F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_EQ(::write(received, "through", 7), 7);
  char buffer[16] = {};
  ASSERT_EQ(::read(pipe.read_end.get(), buffer, sizeof buffer), 7);
  EXPECT_EQ(std::string(buffer, 7), "through");
  // Closing the received end is the last writer going away.
  message.handles.clear();
  EXPECT_EQ(::read(pipe.read_end.get(), buffer, sizeof buffer), 0);
}

TEST_F(ChannelTest, ADescriptorThatIsNotAnEndpointIsABadHandle) {
  std::string detail;
  RealMessage message;
  EXPECT_EQ(WriteMessage(-1, "x", {}, &detail), ChannelStatus::kBadHandle);
  EXPECT_EQ(detail, "WriteMessage: endpoint -1 is not a descriptor");
  EXPECT_EQ(ReadMessage(-1, &message, &detail), ChannelStatus::kBadHandle);
  EXPECT_EQ(SignalsOf(-1), kSignalNone);

  Pipe pipe = MakePipe();
  EXPECT_EQ(WriteMessage(pipe.write_end.get(), "x", {}, &detail),
            ChannelStatus::kBadHandle);
  EXPECT_EQ(detail, absl::StrCat("sendmsg(fd ", pipe.write_end.get(),
                                 "): Socket operation on non-socket"));
  EXPECT_EQ(ReadMessage(pipe.read_end.get(), &message, &detail),
            ChannelStatus::kBadHandle);

  const int closed = b_.get();
  b_.reset();
  EXPECT_EQ(ReadMessage(closed, &message, &detail), ChannelStatus::kBadHandle);
  EXPECT_EQ(detail,
            absl::StrCat("recvmsg(fd ", closed, "): Bad file descriptor"));
  EXPECT_EQ(SignalsOf(closed), kSignalNone);
  // A handle that is not open: nothing is sent.
  EXPECT_EQ(WriteMessage(a_.get(), "x", {closed}, &detail),
            ChannelStatus::kBadHandle);
}

TEST_F(ChannelTest, TheEventLoopWakesForAMessageAndForTheClose) {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  std::vector<std::string> received;
  bool closed = false;
  absl::StatusOr<EventLoop::WatchId> watch =
      (*loop)->WatchFd(b_.get(), EPOLLIN | EPOLLRDHUP, [&](uint32_t) {
        RealMessage message;
        ChannelStatus status;
        while ((status = ReadMessage(b_.get(), &message)) ==
               ChannelStatus::kOk) {
          received.push_back(message.bytes);
        }
        if (status == ChannelStatus::kPeerClosed) {
          closed = true;
          (*loop)->Unwatch(*watch);
        }
      });
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE((*loop)
                  ->Post([&] {
                    PROCTOR_CHECK(WriteMessage(a_.get(), "ping", {}) ==
                                  ChannelStatus::kOk);
                  })
                  .ok());
  ASSERT_TRUE((*loop)
                  ->RunUntil([&] { return received.size() == 1; },
                             (*loop)->Now() + kSafetyBound)
                  .ok());
  EXPECT_EQ(received, std::vector<std::string>{"ping"});
  ASSERT_EQ(WriteMessage(a_.get(), "last", {}), ChannelStatus::kOk);
  a_.reset();
  ASSERT_TRUE(
      (*loop)
          ->RunUntil([&] { return closed; }, (*loop)->Now() + kSafetyBound)
          .ok());
  EXPECT_EQ(received, (std::vector<std::string>{"ping", "last"}));
  EXPECT_EQ((*loop)->watched_fds(), 0u);
}

}  // namespace
}  // namespace proctor::host
