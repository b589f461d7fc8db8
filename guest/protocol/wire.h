// The host<->guest wire protocol, version 1 (docs/guest-protocol.md): its
// bounds, the messages each side sends, and the line encoder and parser.
// Standard library only, so that the static in-guest agent links it without
// Abseil; the host's streaming decoder (decoder.h) is built on it.
//
// One message is one line of printable ASCII ending in '\n':
//
//   PROCTOR/1 <type> <key>=<value> ... crc=<8 lower-case hex digits>
//
// Every line has exactly the fields of its type, in a fixed order, in one
// canonical spelling, so a line that parses re-encodes to the same bytes.
#ifndef PROCTOR_GUEST_PROTOCOL_WIRE_H_
#define PROCTOR_GUEST_PROTOCOL_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace proctor::guest {

inline constexpr int kProtocolVersion = 1;
// Every line starts with this; the version is part of it, so a line is
// self-describing and a reader can resynchronise on any line.
inline constexpr std::string_view kLinePrefix = "PROCTOR/1 ";
// What a line of any version starts with.
inline constexpr std::string_view kProtocolMagic = "PROCTOR/";

// CH-1: the largest message a channel carries, and so a msg line's data.
inline constexpr size_t kMaxMessageBytes = 65'536;
// The longest line, not counting its '\n': a maximum message in hex plus
// room for the prefix, the type, the id and the checksum.
inline constexpr size_t kMaxLineBytes = 2 * kMaxMessageBytes + 256;
// Host messages the agent holds before acknowledging them, by count and by
// total data bytes; a message past either bound is refused, never acked.
inline constexpr size_t kMaxPendingMessages = 64;
inline constexpr size_t kMaxPendingBytes = size_t{1} << 20;
// Bytes one behaviour step may write to the failure port: twice VM-6's
// 4 KiB read bound, so a guest can write past what the host reads.
inline constexpr size_t kMaxFailureBytes = 8'192;
// The decoded text of an error report, and of an agent's version name.
inline constexpr size_t kMaxErrorTextBytes = 1'024;
inline constexpr size_t kMaxErrorCodeBytes = 32;
inline constexpr size_t kMaxAgentNameBytes = 64;
// A behaviour script's text (a hello's script= or a run's script=).
inline constexpr size_t kMaxScriptBytes = kMaxLineBytes;
// A payload's exit code, as a process exit code.
inline constexpr uint32_t kMaxExitCode = 255;

// Why a line was refused. The names (WireErrorKindName) are also the codes
// of the agent's error reports about the commands it receives.
enum class WireErrorKind : uint8_t {
  kGarbage,       // no "PROCTOR/" prefix: noise, e.g. before the hello
  kTooLong,       // more than kMaxLineBytes before the '\n'
  kTruncated,     // the stream ended inside a line
  kWrongVersion,  // "PROCTOR/" followed by another version
  kBadChecksum,   // no crc field at the end, or the wrong value
  kUnknownType,   // a message type this direction does not have
  kBadField,      // a field missing, extra, misnamed or badly spelled
  kTooLarge,      // a value past its bound (msg data > 65,536 bytes, ...)
  kBeforeHello,   // a report before the agent's hello
};

// "garbage", "too-long", "truncated", "wrong-version", "bad-checksum",
// "unknown-type", "bad-field", "too-large", "before-hello".
std::string_view WireErrorKindName(WireErrorKind kind);

struct WireError {
  WireErrorKind kind;
  // Where in the line the problem is (0 = its first byte).
  size_t column = 0;
  // What is wrong, naming the field and showing the bad bytes (escaped and
  // cut short), without the position: "unknown message type \"frob\"".
  std::string detail;

  bool operator==(const WireError&) const = default;
};

// ---- Reports: guest -> host ----

enum class AgentMode : uint8_t { kInit, kTest };
// What the agent is about to do; each is announced before it is done.
enum class AgentAction : uint8_t { kPowerOff, kReboot, kPanic, kHang };

std::string_view AgentModeName(AgentMode mode);        // "init", "test"
std::string_view AgentActionName(AgentAction action);  // "power-off", ...

// The first line of every boot.
struct Hello {
  std::string agent;  // the agent's version, [A-Za-z0-9._+-]{1,64}
  AgentMode mode = AgentMode::kInit;
  std::string script;  // the behaviour it runs, as text (script.h)
  bool operator==(const Hello&) const = default;
};
// VM-4's payload states.
struct Started {
  bool operator==(const Started&) const = default;
};
struct Ready {
  bool operator==(const Ready&) const = default;
};
struct Finished {
  uint32_t code = 0;  // the payload's exit code, 0..255
  bool operator==(const Finished&) const = default;
};
// The agent has handled host message `id` (PX-2's decrement).
struct Ack {
  uint64_t id = 0;
  bool operator==(const Ack&) const = default;
};
// A message from the guest; `id` counts the guest's messages from 1.
struct GuestMessage {
  uint64_t id = 0;
  std::string data;  // at most kMaxMessageBytes
  bool operator==(const GuestMessage&) const = default;
};
// The agent wrote `data` to the failure port (VM-6), for the host's log:
// what the host reads from the port itself is what counts.
struct FailureWritten {
  std::string data;  // at most kMaxFailureBytes
  bool operator==(const FailureWritten&) const = default;
};
struct ActionReport {
  AgentAction action = AgentAction::kPowerOff;
  bool operator==(const ActionReport&) const = default;
};
// Something went wrong in the agent, or a command was refused.
struct AgentError {
  std::string code;  // [a-z0-9-]{1,32}: a WireErrorKindName, or an agent's
  std::string what;  // any bytes, at most kMaxErrorTextBytes
  bool operator==(const AgentError&) const = default;
};

using Report = std::variant<Hello, Started, Ready, Finished, Ack, GuestMessage,
                            FailureWritten, ActionReport, AgentError>;

// ---- Commands: host -> guest ----

// A message for the guest; the agent acks `id` once it has handled it.
struct HostMessage {
  uint64_t id = 0;
  std::string data;  // at most kMaxMessageBytes
  bool operator==(const HostMessage&) const = default;
};
// Behaviour steps to run after the ones already queued (script.h).
struct RunScript {
  std::string script;
  bool operator==(const RunScript&) const = default;
};

using Command = std::variant<HostMessage, RunScript>;

// The line's type word: "hello", "msg", "run", ...
std::string_view ReportTypeName(const Report& report);
std::string_view CommandTypeName(const Command& command);

// Appends the line of `report` (with its '\n') to `*line`. A field past its
// bound or outside its alphabet is not encoded: the error says which, and
// `*line` is unchanged.
std::optional<WireError> EncodeReport(const Report& report, std::string* line);
std::optional<WireError> EncodeCommand(const Command& command,
                                       std::string* line);

// Parses one line without its '\n'. Empty lines carry nothing and are for
// the caller to skip; here they are kGarbage.
std::variant<Report, WireError> ParseReportLine(std::string_view line);
std::variant<Command, WireError> ParseCommandLine(std::string_view line);

// ---- Pieces, exposed for tests and for the agent ----

// CRC-32 as zlib's crc32() computes it (IEEE 802.3, reflected).
uint32_t Crc32(std::string_view bytes);

// Lower-case hex, two digits a byte.
std::string HexEncode(std::string_view bytes);

// `bytes` made printable and cut to `max` bytes ("..." after), for error
// messages: \n, \t, \", \\ and \xNN escapes.
std::string ShowBytes(std::string_view bytes, size_t max = 32);

// Splits a byte stream into lines, whatever the chunks. Holds at most
// kMaxLineBytes; a longer line is reported once, as soon as it passes the
// bound, and skipped up to its '\n'.
class LineSplitter {
 public:
  struct Piece {
    enum class Kind : uint8_t { kLine, kTooLong, kTruncated };
    Kind kind;
    uint64_t offset;        // stream offset of the line's first byte
    std::string_view line;  // kLine: the line without its '\n'; valid
                            // only during the callback
  };

  // Calls on_piece(const Piece&) for each line `chunk` completes and each
  // line that passes the bound, in stream order.
  template <typename OnPiece>
  void Feed(std::string_view chunk, OnPiece&& on_piece);

  // At the end of the stream: a line that was not ended is kTruncated.
  template <typename OnPiece>
  void Finish(OnPiece&& on_piece);

  uint64_t bytes_fed() const { return fed_; }
  size_t buffered_bytes() const { return buffer_.size(); }

 private:
  std::string buffer_;  // the current line so far, <= kMaxLineBytes
  uint64_t fed_ = 0;    // bytes fed so far
  uint64_t line_start_ = 0;
  bool skipping_ = false;  // inside a line already reported too long
};

template <typename OnPiece>
void LineSplitter::Feed(std::string_view chunk, OnPiece&& on_piece) {
  size_t pos = 0;
  while (pos < chunk.size()) {
    const size_t newline = chunk.find('\n', pos);
    const size_t end =
        newline == std::string_view::npos ? chunk.size() : newline;
    const std::string_view part = chunk.substr(pos, end - pos);
    if (!skipping_) {
      if (buffer_.size() + part.size() > kMaxLineBytes) {
        on_piece(Piece{Piece::Kind::kTooLong, line_start_, {}});
        buffer_.clear();
        skipping_ = true;
      } else if (newline != std::string_view::npos) {
        if (buffer_.empty()) {
          // The common case: the whole line is in this chunk; no copy.
          on_piece(Piece{Piece::Kind::kLine, line_start_, part});
        } else {
          buffer_.append(part);
          on_piece(Piece{Piece::Kind::kLine, line_start_, buffer_});
          buffer_.clear();
        }
      } else {
        buffer_.append(part);
      }
    }
    if (newline == std::string_view::npos) {
      fed_ += chunk.size() - pos;
      return;
    }
    fed_ += newline + 1 - pos;
    pos = newline + 1;
    line_start_ = fed_;
    skipping_ = false;
  }
}

template <typename OnPiece>
void LineSplitter::Finish(OnPiece&& on_piece) {
  if (!buffer_.empty()) {
    on_piece(Piece{Piece::Kind::kTruncated, line_start_, {}});
  }
  buffer_.clear();
  skipping_ = false;
  line_start_ = fed_;
}

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_PROTOCOL_WIRE_H_
