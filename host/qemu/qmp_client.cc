#include "host/qemu/qmp_client.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "host/io/errno_status.h"

namespace proctor::host {
namespace {

// Reads Drain makes at most: QEMU has exited when it is called, so the
// socket holds a finite amount, but a live peer could write for ever.
constexpr size_t kMaxDrainReads = 256;
// How much of a bad line an error message shows.
constexpr size_t kMaxShownBytes = 64;

std::string Show(absl::string_view bytes) {
  std::string shown = absl::CHexEscape(bytes.substr(0, kMaxShownBytes));
  if (bytes.size() > kMaxShownBytes) absl::StrAppend(&shown, "...");
  return absl::StrCat("\"", shown, "\"");
}

// The deepest nesting of arrays and objects in `line`, counted outside
// strings; stops counting once past kMaxQmpJsonDepth.
size_t JsonDepth(absl::string_view line) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : line) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (depth > deepest) deepest = depth;
      if (deepest > kMaxQmpJsonDepth) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

bool ValidCommandName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxQmpCommandNameBytes) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_') {
      return false;
    }
  }
  return true;
}

// Never throws: bytes that are not UTF-8 are replaced, not refused.
std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

absl::StatusOr<std::unique_ptr<QmpClient>> QmpClient::Create(
    EventLoop* loop, UniqueFd socket, Callbacks callbacks,
    absl::string_view name) {
  if (!socket) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": no socket to talk QMP on"));
  }
  const int flags = ::fcntl(socket.get(), F_GETFL);
  if (flags < 0 || ::fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, absl::StrCat(name, ": fcntl(O_NONBLOCK)"));
  }
  std::unique_ptr<QmpClient> client(
      new QmpClient(loop, std::move(socket), std::move(callbacks), name));
  QmpClient* raw = client.get();
  absl::StatusOr<EventLoop::WatchId> watch =
      loop->WatchFd(raw->socket_.get(), EPOLLIN | EPOLLRDHUP,
                    [raw](uint32_t events) { raw->OnReadable(events); });
  if (!watch.ok()) return watch.status();
  raw->watch_ = *watch;
  return client;
}

QmpClient::QmpClient(EventLoop* loop, UniqueFd socket, Callbacks callbacks,
                     absl::string_view name)
    : loop_(loop),
      socket_(std::move(socket)),
      callbacks_(std::move(callbacks)),
      name_(name) {}

QmpClient::~QmpClient() {
  *alive_ = false;
  if (watch_ != 0) loop_->Unwatch(watch_);
}

std::string QmpClient::At(uint64_t offset) const {
  return absl::StrCat(name_, " byte ", offset, ": ");
}

void QmpClient::ReportError(absl::Status error) {
  if (callbacks_.on_error) callbacks_.on_error(error);
}

void QmpClient::OnReadable(uint32_t events) {
  std::shared_ptr<bool> alive = alive_;
  if ((events & EPOLLOUT) != 0 && write_error_.ok()) Flush();
  if (!write_error_.ok()) {
    // What QEMU sent before the socket broke still counts.
    Drain();
    if (*alive && !closed()) CloseWith(write_error_);
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    ReadOnce();
  }
}

bool QmpClient::ReadOnce() {
  if (closed()) return false;
  char buffer[kQmpReadChunkBytes];
  ssize_t n;
  do {
    n = ::recv(socket_.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    // A QEMU that exits with our command unread resets the connection: it
    // went away, as with an orderly end; its exit tells why.
    if (errno != ECONNRESET) {
      CloseWith(ErrnoStatus(errno, absl::StrCat(name_, ": recv")));
      return false;
    }
  }
  std::shared_ptr<bool> alive = alive_;
  if (n <= 0) {
    if (!line_.empty() && !skipping_line_) {
      ReportError(absl::DataLossError(absl::StrCat(
          At(line_offset_), "the stream ended inside a line: ", Show(line_))));
      if (!*alive || closed()) return false;
    }
    CloseWith(absl::OkStatus());
    return false;
  }
  FeedBytes(absl::string_view(buffer, static_cast<size_t>(n)));
  return *alive && !closed();
}

void QmpClient::Drain() {
  std::shared_ptr<bool> alive = alive_;
  for (size_t i = 0; i < kMaxDrainReads && *alive && !closed(); ++i) {
    if (!ReadOnce()) return;
  }
}

void QmpClient::FeedBytes(absl::string_view bytes) {
  std::shared_ptr<bool> alive = alive_;
  const uint64_t base = bytes_read_;
  bytes_read_ += bytes.size();
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t newline = bytes.find('\n', pos);
    const size_t end =
        newline == absl::string_view::npos ? bytes.size() : newline;
    const absl::string_view piece = bytes.substr(pos, end - pos);
    if (skipping_line_) {
      if (newline == absl::string_view::npos) return;
      skipping_line_ = false;
      pos = newline + 1;
      line_offset_ = base + pos;
      continue;
    }
    if (line_.size() + piece.size() > kMaxQmpLineBytes) {
      const uint64_t past = base + pos + (kMaxQmpLineBytes - line_.size());
      line_.clear();
      if (newline == absl::string_view::npos) {
        skipping_line_ = true;
        pos = bytes.size();
      } else {
        pos = newline + 1;
      }
      const uint64_t line_offset = line_offset_;
      line_offset_ = base + pos;
      ReportError(absl::OutOfRangeError(
          absl::StrCat(At(past), "the line that starts at byte ", line_offset,
                       " is longer than ", kMaxQmpLineBytes, " bytes")));
      if (!*alive || closed()) return;
      continue;
    }
    line_.append(piece.data(), piece.size());
    if (newline == absl::string_view::npos) return;
    std::string line = std::move(line_);
    line_.clear();
    const uint64_t line_offset = line_offset_;
    pos = newline + 1;
    line_offset_ = base + pos;
    HandleLine(line, line_offset);
    if (!*alive || closed()) return;
  }
}

void QmpClient::HandleLine(absl::string_view line, uint64_t line_offset) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return;
  if (JsonDepth(line) > kMaxQmpJsonDepth) {
    ReportError(absl::InvalidArgumentError(
        absl::StrCat(At(line_offset), "JSON nested deeper than ",
                     kMaxQmpJsonDepth, " levels: ", Show(line))));
    return;
  }
  nlohmann::json message = nlohmann::json::parse(
      line.begin(), line.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    ReportError(absl::InvalidArgumentError(
        absl::StrCat(At(line_offset), "not JSON: ", Show(line))));
    return;
  }
  if (!message.is_object()) {
    ReportError(absl::InvalidArgumentError(
        absl::StrCat(At(line_offset), "not a JSON object: ", Show(line))));
    return;
  }
  if (state_ == State::kGreeting) {
    HandleGreeting(message, line_offset);
  } else if (message.contains("event")) {
    HandleEvent(message, line_offset);
  } else if (message.contains("return") || message.contains("error")) {
    HandleReply(message, line_offset);
  } else {
    ReportError(absl::InvalidArgumentError(absl::StrCat(
        At(line_offset), "neither a reply nor an event: ", Show(line))));
  }
}

void QmpClient::HandleGreeting(const nlohmann::json& message,
                               uint64_t line_offset) {
  auto qmp = message.find("QMP");
  if (qmp == message.end() || !qmp->is_object()) {
    CloseWith(absl::FailedPreconditionError(
        absl::StrCat(At(line_offset), "expected the QMP greeting, got ",
                     Show(Dump(message)))));
    return;
  }
  state_ = State::kNegotiating;
  std::shared_ptr<bool> alive = alive_;
  absl::StatusOr<uint64_t> sent =
      Send("qmp_capabilities", nullptr,
           [this, alive](absl::StatusOr<nlohmann::json> result) {
             if (!*alive || closed()) return;
             if (!result.ok()) {
               CloseWith(absl::FailedPreconditionError(
                   absl::StrCat(name_, ": capabilities negotiation failed: ",
                                result.status().message())));
               return;
             }
             state_ = State::kReady;
             if (callbacks_.on_ready) callbacks_.on_ready();
           });
  if (!sent.ok()) CloseWith(sent.status());
}

void QmpClient::HandleReply(const nlohmann::json& message,
                            uint64_t line_offset) {
  auto id = message.find("id");
  if (id == message.end() || !id->is_number_unsigned()) {
    ReportError(absl::InvalidArgumentError(
        absl::StrCat(At(line_offset),
                     "a reply without a numeric id: ", Show(Dump(message)))));
    return;
  }
  const uint64_t number = id->get<uint64_t>();
  auto it = pending_.find(number);
  if (it == pending_.end()) {
    ReportError(absl::InvalidArgumentError(absl::StrCat(
        At(line_offset), "a reply to id ", number,
        ", which no command is waiting for: ", Show(Dump(message)))));
    return;
  }
  Pending pending = std::move(it->second);
  pending_.erase(it);
  absl::StatusOr<nlohmann::json> result;
  if (auto value = message.find("return"); value != message.end()) {
    result = *value;
  } else {
    const nlohmann::json& error = message["error"];
    std::string error_class = "?";
    std::string desc = Dump(error);
    if (error.is_object()) {
      if (auto c = error.find("class"); c != error.end() && c->is_string()) {
        error_class = c->get<std::string>();
      }
      if (auto d = error.find("desc"); d != error.end() && d->is_string()) {
        desc = d->get<std::string>();
      }
    }
    const std::string what =
        absl::StrCat(name_, ": command ", pending.command, " (id ", number,
                     ") failed: ", error_class, ": ", desc);
    result =
        (error_class == "CommandNotFound" || error_class == "DeviceNotFound")
            ? absl::NotFoundError(what)
            : absl::FailedPreconditionError(what);
  }
  if (pending.on_reply) pending.on_reply(std::move(result));
}

void QmpClient::HandleEvent(const nlohmann::json& message,
                            uint64_t line_offset) {
  auto name = message.find("event");
  if (!name->is_string()) {
    ReportError(absl::InvalidArgumentError(absl::StrCat(
        At(line_offset),
        "an event whose name is not a string: ", Show(Dump(message)))));
    return;
  }
  QmpEvent event;
  event.name = name->get<std::string>();
  if (auto data = message.find("data"); data != message.end()) {
    if (!data->is_object()) {
      ReportError(absl::InvalidArgumentError(
          absl::StrCat(At(line_offset), "event ", event.name,
                       ": data is not an object: ", Show(Dump(*data)))));
      return;
    }
    event.data = *data;
  }
  // The fields a known event must carry, checked before it is handed on.
  auto require = [&](const char* field, bool want_string) -> bool {
    auto it =
        event.data.is_object() ? event.data.find(field) : event.data.end();
    const bool ok = event.data.is_object() && it != event.data.end() &&
                    (want_string ? it->is_string() : it->is_boolean());
    if (!ok) {
      ReportError(absl::InvalidArgumentError(absl::StrCat(
          At(line_offset), "event ", event.name, ": data.", field, " is not ",
          want_string ? "a string" : "a boolean", ": ", Show(Dump(message)))));
    }
    return ok;
  };
  if (event.name == "SHUTDOWN" || event.name == "RESET") {
    event.kind = event.name == "SHUTDOWN" ? QmpEventKind::kShutdown
                                          : QmpEventKind::kReset;
    if (!require("guest", false) || !require("reason", true)) return;
    event.guest = event.data["guest"].get<bool>();
    event.reason = event.data["reason"].get<std::string>();
  } else if (event.name == "GUEST_PANICKED") {
    event.kind = QmpEventKind::kGuestPanicked;
    if (!require("action", true)) return;
    event.panic_action = event.data["action"].get<std::string>();
  } else if (event.name == "STOP") {
    event.kind = QmpEventKind::kStop;
  } else if (event.name == "RESUME") {
    event.kind = QmpEventKind::kResume;
  }
  if (callbacks_.on_event) callbacks_.on_event(event);
}

absl::StatusOr<uint64_t> QmpClient::Execute(absl::string_view command,
                                            const nlohmann::json& arguments,
                                            ReplyCallback on_reply) {
  if (state_ != State::kReady) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, ": cannot run ", command, ": ",
                     closed() ? "the connection is closed"
                              : "capabilities are not negotiated yet"));
  }
  return Send(command, arguments, std::move(on_reply));
}

absl::StatusOr<uint64_t> QmpClient::Send(absl::string_view command,
                                         const nlohmann::json& arguments,
                                         ReplyCallback on_reply) {
  if (!ValidCommandName(command)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": ", Show(command),
                     " is not a QMP command name ([A-Za-z0-9_-], 1 to ",
                     kMaxQmpCommandNameBytes, " bytes)"));
  }
  if (!arguments.is_null() && !arguments.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name_, ": the arguments of ", command,
                     " are not a JSON object: ", Show(Dump(arguments))));
  }
  if (pending_.size() >= kMaxQmpPendingCommands) {
    return absl::ResourceExhaustedError(
        absl::StrCat(name_, ": cannot run ", command, ": ", pending_.size(),
                     " commands already wait for their reply (the bound, "
                     "kMaxQmpPendingCommands)"));
  }
  const uint64_t id = next_id_++;
  nlohmann::json message = {{"execute", std::string(command)}};
  if (!arguments.is_null()) message["arguments"] = arguments;
  message["id"] = id;
  std::string line = Dump(message);
  line.push_back('\n');
  if (output_.size() + line.size() > kMaxQmpOutputBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        name_, ": cannot run ", command, ": ", output_.size() + line.size(),
        " bytes would wait to be written, over kMaxQmpOutputBytes (",
        kMaxQmpOutputBytes, ")"));
  }
  output_ += line;
  pending_.emplace(id, Pending{std::string(command), std::move(on_reply)});
  Flush();
  return id;
}

void QmpClient::Flush() {
  while (!output_.empty() && write_error_.ok()) {
    ssize_t n = ::send(socket_.get(), output_.data(), output_.size(),
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) {
      // Not closed here: Flush runs inside Execute, whose caller expects no
      // callback from it. The watch asks for EPOLLOUT, which a broken
      // socket reports at once, and OnReadable closes with this error.
      write_error_ = ErrnoStatus(errno, absl::StrCat(name_, ": send"));
      break;
    }
    output_.erase(0, static_cast<size_t>(n));
  }
  const bool want_output = !output_.empty() || !write_error_.ok();
  if (want_output != watching_output_ && watch_ != 0) {
    absl::Status modified = loop_->ModifyFd(
        watch_, EPOLLIN | EPOLLRDHUP | (want_output ? EPOLLOUT : 0u));
    if (modified.ok()) {
      watching_output_ = want_output;
    } else if (write_error_.ok()) {
      write_error_ = modified;
    }
  }
}

void QmpClient::CloseWith(absl::Status why) {
  if (closed()) return;
  state_ = State::kClosed;
  if (watch_ != 0) loop_->Unwatch(watch_);
  watch_ = 0;
  socket_.reset();
  output_.clear();
  std::shared_ptr<bool> alive = alive_;
  absl::btree_map<uint64_t, Pending> pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, command] : pending) {
    if (command.on_reply) {
      command.on_reply(absl::UnavailableError(absl::StrCat(
          name_, ": the connection ended before the reply to ", command.command,
          " (id ", id, ")", why.ok() ? "" : ": ", why.message())));
    }
    if (!*alive) return;
  }
  if (callbacks_.on_closed) callbacks_.on_closed(why);
}

}  // namespace proctor::host
