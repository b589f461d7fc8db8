#include "host/qemu/qemu_vm.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "host/io/errno_status.h"
#include "host/qemu/unix_socket.h"

namespace proctor::host {
namespace {

// Reads one drain makes at most on a descriptor whose writer has exited: the
// kernel holds a finite amount, and this keeps a live writer from holding
// the loop.
constexpr size_t kMaxDrainReads = 1024;

constexpr char kQmpSocketName[] = "qmp.sock";
constexpr char kAgentSocketName[] = "agent.sock";
constexpr char kFailureSocketName[] = "failure.sock";
constexpr char kConsoleLogName[] = "console.log";

enum class ReadResult : uint8_t { kData, kNothing, kEnd };

// One non-blocking read into `buffer`. kEnd for end of stream and for a
// read error (reported through *error).
ReadResult ReadSome(int fd, char* buffer, size_t size, size_t* bytes,
                    absl::Status* error, absl::string_view what) {
  ssize_t n;
  do {
    n = ::read(fd, buffer, size);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    *bytes = static_cast<size_t>(n);
    return ReadResult::kData;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return ReadResult::kNothing;
  }
  // A QEMU killed with our bytes still unread resets the connection: that
  // is the stream's end too, not a fault of the host's.
  if (n < 0 && errno != ECONNRESET) {
    *error = ErrnoStatus(errno, absl::StrCat("read(", what, ")"));
  }
  return ReadResult::kEnd;
}

// Appends what fits of `bytes` under `bound`; returns how many were dropped.
size_t AppendBounded(std::string* to, absl::string_view bytes, size_t bound) {
  const size_t room = to->size() < bound ? bound - to->size() : 0;
  const size_t kept = bytes.size() < room ? bytes.size() : room;
  to->append(bytes.data(), kept);
  return bytes.size() - kept;
}

}  // namespace

absl::StatusOr<std::unique_ptr<QemuVm>> QemuVm::Start(
    EventLoop* loop, QemuVmSpec spec, QemuVmListener* listener) {
  std::string name = spec.name.empty()
                         ? absl::StrCat("vm ", spec.config.cid.value)
                         : spec.name;
  if (loop == nullptr || listener == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": QemuVm needs an event loop and a listener"));
  }
  if (spec.run_parent.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": no parent folder for the run folder"));
  }
  // Built before anything is made, so a config QEMU cannot run leaves
  // nothing behind. The run-folder paths are filled in below.
  std::unique_ptr<QemuVm> vm(
      new QemuVm(loop, listener, name, spec.options.start_paused));
  std::string dir_template = spec.run_parent + "/proctor-qemu-XXXXXX";
  if (::mkdtemp(dir_template.data()) == nullptr) {
    return ErrnoStatus(errno,
                       absl::StrCat(name, ": mkdtemp(", dir_template, ")"));
  }
  vm->run_dir_ = dir_template;  // From here the destructor removes it.

  QemuPaths paths;
  paths.qemu_binary = spec.qemu_binary;
  paths.kernel = spec.kernel;
  paths.initrd = spec.initrd;
  paths.qmp_socket = absl::StrCat(vm->run_dir_, "/", kQmpSocketName);
  paths.agent_socket = absl::StrCat(vm->run_dir_, "/", kAgentSocketName);
  paths.failure_socket = absl::StrCat(vm->run_dir_, "/", kFailureSocketName);
  paths.console_log = absl::StrCat(vm->run_dir_, "/", kConsoleLogName);
  absl::StatusOr<std::vector<std::string>> argv =
      BuildQemuCommand(spec.config, paths, spec.options);
  if (!argv.ok()) {
    return absl::Status(argv.status().code(),
                        absl::StrCat(name, ": ", argv.status().message()));
  }
  vm->argv_ = *std::move(argv);

  for (SocketKind kind :
       {SocketKind::kQmp, SocketKind::kAgent, SocketKind::kFailure}) {
    const std::string& path = kind == SocketKind::kQmp ? paths.qmp_socket
                              : kind == SocketKind::kAgent
                                  ? paths.agent_socket
                                  : paths.failure_socket;
    absl::StatusOr<UniqueFd> fd = ListenUnixSocket(path);
    if (!fd.ok()) {
      return absl::Status(fd.status().code(),
                          absl::StrCat(name, ": ", fd.status().message()));
    }
    vm->ListeningFor(kind).fd = *std::move(fd);
  }

  // QEMU's stdout and stderr share one pipe. Only the host's end is
  // non-blocking: QEMU's writes must not fail with EAGAIN.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return ErrnoStatus(errno, absl::StrCat(name, ": pipe2(stderr)"));
  }
  vm->stderr_.reset(pipe_fds[0]);
  UniqueFd stderr_write(pipe_fds[1]);
  if (::fcntl(vm->stderr_.get(), F_SETFL, O_NONBLOCK) != 0) {
    return ErrnoStatus(errno,
                       absl::StrCat(name, ": fcntl(stderr, O_NONBLOCK)"));
  }

  ProcessSpec process;
  process.argv = vm->argv_;
  // QEMU needs no environment; a fixed one keeps its messages the same on
  // every machine.
  process.env = {"LC_ALL=C"};
  process.fds = {{STDOUT_FILENO, stderr_write.get()},
                 {STDERR_FILENO, stderr_write.get()}};
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(process);
  if (!child.ok()) {
    return absl::Status(
        child.status().code(),
        absl::StrCat(name, ": spawning QEMU: ", child.status().message()));
  }
  vm->child_.emplace(*std::move(child));
  vm->spawned_at_ = loop->Now();
  stderr_write.reset();

  QemuVm* raw = vm.get();
  absl::Status watched =
      vm->Watch(vm->child_->pidfd(), EPOLLIN, &vm->pidfd_watch_,
                [raw](uint32_t) { raw->OnQemuExited(); });
  if (watched.ok()) {
    watched = vm->Watch(vm->stderr_.get(), EPOLLIN, &vm->stderr_watch_,
                        [raw](uint32_t) { raw->ReadStderr(false); });
  }
  for (SocketKind kind :
       {SocketKind::kQmp, SocketKind::kAgent, SocketKind::kFailure}) {
    if (!watched.ok()) break;
    Listening& listening = vm->ListeningFor(kind);
    watched = vm->Watch(listening.fd.get(), EPOLLIN, &listening.watch,
                        [raw, kind](uint32_t) { raw->OnConnection(kind); });
  }
  if (!watched.ok()) return watched;  // The destructor kills QEMU.
  return vm;
}

QemuVm::QemuVm(EventLoop* loop, QemuVmListener* listener, std::string name,
               bool start_paused)
    : loop_(loop),
      listener_(listener),
      name_(std::move(name)),
      start_paused_(start_paused),
      decoder_(absl::StrCat(name_, " agent channel")) {}

QemuVm::~QemuVm() {
  *alive_ = false;
  for (EventLoop::WatchId* id :
       {&pidfd_watch_, &stderr_watch_, &agent_watch_, &failure_watch_,
        &qmp_listen_.watch, &agent_listen_.watch, &failure_listen_.watch}) {
    Unwatch(id);
  }
  qmp_.reset();
  // Kills the whole group and reaps it, if it was not reaped yet.
  child_.reset();
  if (!run_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(run_dir_, ignored);
  }
}

absl::Status QemuVm::Watch(int fd, uint32_t events, EventLoop::WatchId* id,
                           absl::AnyInvocable<void(uint32_t)> on_ready) {
  absl::StatusOr<EventLoop::WatchId> watch =
      loop_->WatchFd(fd, events, std::move(on_ready));
  if (!watch.ok()) {
    return absl::Status(watch.status().code(),
                        absl::StrCat(name_, ": ", watch.status().message()));
  }
  *id = *watch;
  return absl::OkStatus();
}

void QemuVm::Unwatch(EventLoop::WatchId* id) {
  if (*id != 0) loop_->Unwatch(*id);
  *id = 0;
}

QemuVm::Listening& QemuVm::ListeningFor(SocketKind kind) {
  switch (kind) {
    case SocketKind::kQmp:
      return qmp_listen_;
    case SocketKind::kAgent:
      return agent_listen_;
    case SocketKind::kFailure:
      break;
  }
  return failure_listen_;
}

const char* QemuVm::SocketName(SocketKind kind) const {
  switch (kind) {
    case SocketKind::kQmp:
      return kQmpSocketName;
    case SocketKind::kAgent:
      return kAgentSocketName;
    case SocketKind::kFailure:
      break;
  }
  return kFailureSocketName;
}

pid_t QemuVm::pid() const { return child_.has_value() ? child_->pid() : -1; }

void QemuVm::Report(const absl::Status& error) { listener_->OnError(error); }

void QemuVm::OnConnection(SocketKind kind) {
  Listening& listening = ListeningFor(kind);
  if (!listening.fd) return;
  absl::StatusOr<UniqueFd> accepted = AcceptUnixPeer(
      listening.fd.get(), pid(), absl::StrCat(name_, " ", SocketName(kind)));
  if (!accepted.ok()) {
    // A stranger (or a failed accept): keep listening for QEMU.
    Report(accepted.status());
    return;
  }
  if (!*accepted) return;
  // One client per socket: the listener is done.
  Unwatch(&listening.watch);
  listening.fd.reset();
  Connected(kind, *std::move(accepted));
}

void QemuVm::Connected(SocketKind kind, UniqueFd fd) {
  switch (kind) {
    case SocketKind::kQmp: {
      QmpClient::Callbacks callbacks;
      callbacks.on_ready = [this] { OnQmpReady(); };
      callbacks.on_event = [this](const QmpEvent& event) {
        if (!exited_) listener_->OnQmpEvent(event);
      };
      callbacks.on_error = [this](const absl::Status& error) {
        if (!exited_) Report(error);
      };
      callbacks.on_closed = [this](const absl::Status& why) {
        if (!why.ok() && !exited_) Report(why);
      };
      absl::StatusOr<std::unique_ptr<QmpClient>> client =
          QmpClient::Create(loop_, std::move(fd), std::move(callbacks),
                            absl::StrCat(name_, " qmp"));
      if (!client.ok()) {
        Report(client.status());
        return;
      }
      qmp_ = *std::move(client);
      return;
    }
    case SocketKind::kAgent: {
      agent_ = std::move(fd);
      absl::Status watched = Watch(
          agent_.get(), EPOLLIN | EPOLLRDHUP, &agent_watch_,
          [this](uint32_t events) {
            std::shared_ptr<bool> alive = alive_;
            if ((events & EPOLLOUT) != 0) FlushAgent();
            if (*alive && agent_ &&
                (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
              ReadAgent();
            }
          });
      if (!watched.ok()) {
        agent_.reset();
        Report(watched);
        return;
      }
      MaybeStarted();
      return;
    }
    case SocketKind::kFailure: {
      failure_ = std::move(fd);
      failure_connected_ = true;
      absl::Status watched =
          Watch(failure_.get(), EPOLLIN | EPOLLRDHUP, &failure_watch_,
                [this](uint32_t) { ReadFailure(false); });
      if (!watched.ok()) {
        failure_.reset();
        Report(watched);
        return;
      }
      MaybeStarted();
      return;
    }
  }
}

void QemuVm::OnQmpReady() {
  qmp_ready_ = true;
  if (!start_paused_) {
    running_ = true;
    MaybeStarted();
    return;
  }
  std::shared_ptr<bool> alive = alive_;
  absl::StatusOr<uint64_t> sent = qmp_->Execute(
      "cont", nullptr, [this, alive](absl::StatusOr<nlohmann::json> result) {
        if (!*alive || exited_) return;
        if (!result.ok()) {
          Report(result.status());
          return;
        }
        running_ = true;
        MaybeStarted();
      });
  if (!sent.ok()) Report(sent.status());
}

void QemuVm::MaybeStarted() {
  if (started_ || exited_ || !qmp_ready_ || !running_ || !agent_ ||
      !failure_connected_) {
    return;
  }
  started_ = true;
  listener_->OnStarted();
}

bool QemuVm::ReadAgent() {
  if (!agent_) return false;
  char buffer[kVmReadChunkBytes];
  size_t bytes = 0;
  absl::Status error;
  const ReadResult result =
      ReadSome(agent_.get(), buffer, sizeof(buffer), &bytes, &error,
               absl::StrCat(name_, " agent channel"));
  std::shared_ptr<bool> alive = alive_;
  std::vector<guest::DecodeEvent> events;
  if (result == ReadResult::kNothing) return false;
  if (result == ReadResult::kData) {
    decoder_.Feed(absl::string_view(buffer, bytes), &events);
  } else {
    // The channel is over: QEMU closed it (it exited) or it broke.
    Unwatch(&agent_watch_);
    agent_.reset();
    agent_output_.clear();
    decoder_.Finish(&events);
    if (!error.ok()) {
      Report(error);
      if (!*alive) return false;
    }
  }
  for (guest::DecodeEvent& event : events) {
    if (auto* report = std::get_if<guest::DecodedReport>(&event)) {
      listener_->OnAgentReport(report->report);
    } else {
      listener_->OnAgentError(std::get<guest::DecodeError>(event));
    }
    if (!*alive) return false;
  }
  return result == ReadResult::kData;
}

void QemuVm::ReadFailure(bool drain) {
  for (size_t i = 0; failure_ && i < (drain ? kMaxDrainReads : 1); ++i) {
    char buffer[kVmReadChunkBytes];
    size_t bytes = 0;
    absl::Status error;
    const ReadResult result =
        ReadSome(failure_.get(), buffer, sizeof(buffer), &bytes, &error,
                 absl::StrCat(name_, " failure channel"));
    if (result == ReadResult::kNothing) return;
    if (result == ReadResult::kEnd) {
      Unwatch(&failure_watch_);
      failure_.reset();
      if (!error.ok()) Report(error);
      return;
    }
    failure_dropped_ +=
        AppendBounded(&failure_bytes_, absl::string_view(buffer, bytes),
                      kMaxFailureChannelBytes);
  }
}

void QemuVm::ReadStderr(bool drain) {
  for (size_t i = 0; stderr_ && i < (drain ? kMaxDrainReads : 1); ++i) {
    char buffer[kVmReadChunkBytes];
    size_t bytes = 0;
    absl::Status error;
    const ReadResult result =
        ReadSome(stderr_.get(), buffer, sizeof(buffer), &bytes, &error,
                 absl::StrCat(name_, " QEMU stderr"));
    if (result == ReadResult::kNothing) return;
    if (result == ReadResult::kEnd) {
      Unwatch(&stderr_watch_);
      stderr_.reset();
      if (!error.ok()) Report(error);
      return;
    }
    AppendBounded(&stderr_text_, absl::string_view(buffer, bytes),
                  kMaxQemuStderrBytes);
  }
}

void QemuVm::OnQemuExited() {
  std::shared_ptr<bool> alive = alive_;
  Unwatch(&pidfd_watch_);
  // QEMU's descriptors closed before its pidfd turned readable, so every
  // socket and the pipe hold all QEMU wrote, then end of stream. Hand on
  // what is left, in the order it was caused: agent reports, then QMP
  // events, then the exit. A connection QEMU made but the loop had not yet
  // accepted is still in its listen queue.
  for (SocketKind kind :
       {SocketKind::kAgent, SocketKind::kFailure, SocketKind::kQmp}) {
    OnConnection(kind);
    if (!*alive) return;
  }
  for (size_t i = 0; i < kMaxDrainReads && ReadAgent(); ++i) {
  }
  if (!*alive) return;
  ReadFailure(/*drain=*/true);
  if (!*alive) return;
  ReadStderr(/*drain=*/true);
  if (!*alive) return;
  if (qmp_ != nullptr) {
    qmp_->Drain();
    if (!*alive) return;
  }

  std::optional<ExitStatus> status = child_->TryReap();
  exited_ = true;
  for (EventLoop::WatchId* id :
       {&stderr_watch_, &agent_watch_, &failure_watch_, &qmp_listen_.watch,
        &agent_listen_.watch, &failure_listen_.watch}) {
    Unwatch(id);
  }
  qmp_.reset();
  agent_.reset();
  failure_.reset();
  stderr_.reset();
  qmp_listen_.fd.reset();
  agent_listen_.fd.reset();
  failure_listen_.fd.reset();

  QemuExit exit{.status = status.value_or(ExitStatus::Signalled(SIGKILL)),
                .failure_bytes = std::move(failure_bytes_),
                .failure_bytes_dropped = failure_dropped_,
                .stderr_text = std::move(stderr_text_),
                .started = started_,
                .start_error = absl::OkStatus()};
  if (!status.has_value()) {
    Report(absl::InternalError(absl::StrCat(
        name_, ": QEMU's pidfd turned readable but it could not be reaped")));
    if (!*alive) return;
  }
  if (!started_) {
    exit.start_error = absl::FailedPreconditionError(
        absl::StrCat(name_, ": QEMU exited with ",
                     FormatExitStatus(exit.status), " before the guest started",
                     exit.stderr_text.empty() ? "" : ": ", exit.stderr_text));
  }
  // Last: the listener may destroy this object.
  listener_->OnExited(exit);
}

absl::Status QemuVm::Kill() {
  if (exited_ || !child_.has_value()) return absl::OkStatus();
  absl::Status signalled = child_->Signal(SIGKILL);
  if (!signalled.ok()) {
    return absl::Status(
        signalled.code(),
        absl::StrCat(name_, ": killing QEMU: ", signalled.message()));
  }
  return absl::OkStatus();
}

absl::Status QemuVm::RunQmp(const char* command, DoneCallback done) {
  if (!started_ || exited_ || qmp_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, ": cannot ", command, " the guest: ",
                     exited_ ? "QEMU has exited" : "the VM has not started"));
  }
  // The client belongs to this object and drops its callbacks when
  // destroyed, so `done` never outlives the VM.
  absl::StatusOr<uint64_t> sent = qmp_->Execute(
      command, nullptr,
      [done = std::move(done)](absl::StatusOr<nlohmann::json> result) mutable {
        if (done) done(result.status());
      });
  return sent.status();
}

absl::Status QemuVm::Stop(DoneCallback done) {
  return RunQmp("stop", std::move(done));
}

absl::Status QemuVm::Cont(DoneCallback done) {
  return RunQmp("cont", std::move(done));
}

absl::Status QemuVm::SendCommand(const guest::Command& command) {
  if (exited_ || !agent_) {
    return absl::FailedPreconditionError(absl::StrCat(
        name_, ": cannot send to the agent: ",
        exited_ ? "QEMU has exited" : "the agent channel is not connected"));
  }
  if (!decoder_.hello_seen()) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, ": cannot send to the agent before its hello"));
  }
  absl::StatusOr<std::string> line = guest::EncodeCommandLine(command);
  if (!line.ok()) {
    return absl::Status(line.status().code(),
                        absl::StrCat(name_, ": ", line.status().message()));
  }
  if (agent_output_.size() + line->size() > kMaxAgentOutputBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name_, ": ", agent_output_.size() + line->size(),
                     " bytes would wait for the agent channel, over "
                     "kMaxAgentOutputBytes (",
                     kMaxAgentOutputBytes, ")"));
  }
  agent_output_ += *line;
  FlushAgent();
  return absl::OkStatus();
}

void QemuVm::FlushAgent() {
  while (agent_ && !agent_output_.empty()) {
    ssize_t n = ::send(agent_.get(), agent_output_.data(), agent_output_.size(),
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) {
      // The read side sees the same end of the channel and closes it.
      agent_output_.clear();
      break;
    }
    agent_output_.erase(0, static_cast<size_t>(n));
  }
  const bool want_output = agent_ && !agent_output_.empty();
  if (want_output != agent_watching_output_ && agent_watch_ != 0) {
    if (loop_
            ->ModifyFd(agent_watch_,
                       EPOLLIN | EPOLLRDHUP | (want_output ? EPOLLOUT : 0u))
            .ok()) {
      agent_watching_output_ = want_output;
    }
  }
}

absl::StatusOr<std::string> QemuVm::ConsoleTail(size_t max_bytes) const {
  const std::string path = absl::StrCat(run_dir_, "/", kConsoleLogName);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("open(", path, ")"));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fstat(", path, ")"));
  }
  const size_t size = static_cast<size_t>(info.st_size);
  const size_t want = size < max_bytes ? size : max_bytes;
  std::string tail(want, '\0');
  size_t done = 0;
  while (done < want) {
    ssize_t n = ::pread(fd.get(), tail.data() + done, want - done,
                        static_cast<off_t>(size - want + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, absl::StrCat("pread(", path, ")"));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  tail.resize(done);
  return tail;
}

}  // namespace proctor::host
