// The host side of the guest wire protocol (docs/guest-protocol.md): a
// streaming decoder for what the agent writes on its channel (ttyS2), fed raw
// bytes in chunks of any size, and encoders for the commands the host sends.
// Every byte from the guest is untrusted: a bad line is reported as a
// DecodeError naming what is wrong and its byte offset, and decoding goes on
// at the next line. The decoder never holds more than one line
// (kMaxLineBytes).
#ifndef PROCTOR_GUEST_PROTOCOL_DECODER_H_
#define PROCTOR_GUEST_PROTOCOL_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "guest/protocol/script.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {

struct DecodeError {
  WireErrorKind kind;
  // Stream offset (from 0, counting every byte fed) of the byte at fault,
  // and of the first byte of its line.
  uint64_t offset = 0;
  uint64_t line_offset = 0;
  // False while no hello has been decoded yet. A serial line can carry
  // noise before the agent starts (boot garbage, a half line): errors then
  // are to be logged and tolerated, not held against the guest.
  bool after_hello = false;
  // "<channel> byte 1234: unknown report type \"frob\"".
  std::string what;

  // InvalidArgument, or OutOfRange for kTooLong and kTooLarge, with `what`.
  absl::Status ToStatus() const;
  bool operator==(const DecodeError&) const = default;
};

struct DecodedReport {
  uint64_t offset = 0;  // stream offset of the line's first byte
  size_t size = 0;      // the line's length with its '\n'
  Report report;
  bool operator==(const DecodedReport&) const = default;
};

using DecodeEvent = std::variant<DecodedReport, DecodeError>;

class ReportDecoder {
 public:
  // `channel` names the stream in error messages ("vm 3 agent channel").
  explicit ReportDecoder(absl::string_view channel = "guest channel");

  // Appends to *out, in stream order, one event for each line `chunk`
  // completes (empty lines are skipped) and one for a line that passes
  // kMaxLineBytes. The first report must be a hello: any other report before
  // it is a kBeforeHello error.
  void Feed(absl::string_view chunk, std::vector<DecodeEvent>* out);

  // At the end of the stream: a line left unfinished is a kTruncated error.
  void Finish(std::vector<DecodeEvent>* out);

  bool hello_seen() const { return hello_seen_; }
  uint64_t bytes_fed() const { return splitter_.bytes_fed(); }
  // At most kMaxLineBytes.
  size_t buffered_bytes() const { return splitter_.buffered_bytes(); }

 private:
  void OnPiece(const LineSplitter::Piece& piece, std::vector<DecodeEvent>* out);
  DecodeError MakeError(WireErrorKind kind, uint64_t offset,
                        uint64_t line_offset, absl::string_view detail) const;

  std::string channel_;
  LineSplitter splitter_;
  bool hello_seen_ = false;
};

// The line (with its '\n') for a command to the agent, or a report (for
// fakes of the guest in tests). InvalidArgument/OutOfRange naming the field
// when a value is outside its bound or alphabet.
absl::StatusOr<std::string> EncodeCommandLine(const Command& command);
absl::StatusOr<std::string> EncodeReportLine(const Report& report);

// A behaviour script (script.h), checked: InvalidArgument naming the step.
absl::StatusOr<std::vector<Step>> ParseBehaviour(absl::string_view text);

// The kernel command-line parameter that makes the agent run `script`:
// "proctor.behaviour=<canonical script>". InvalidArgument if the script does
// not parse.
absl::StatusOr<std::string> BehaviourKernelParameter(absl::string_view script);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_PROTOCOL_DECODER_H_
