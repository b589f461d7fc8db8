#include "guest/protocol/decoder.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "guest/protocol/script.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {
namespace {

// Debian's Abseil has its own string_view; the wire layer uses std's.
std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

absl::Status WireStatus(const WireError& error, absl::string_view what) {
  const std::string message = absl::StrCat(
      what, ": ", Absl(WireErrorKindName(error.kind)), ": ", error.detail);
  if (error.kind == WireErrorKind::kTooLong ||
      error.kind == WireErrorKind::kTooLarge) {
    return absl::OutOfRangeError(message);
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace

absl::Status DecodeError::ToStatus() const {
  if (kind == WireErrorKind::kTooLong || kind == WireErrorKind::kTooLarge) {
    return absl::OutOfRangeError(what);
  }
  return absl::InvalidArgumentError(what);
}

ReportDecoder::ReportDecoder(absl::string_view channel) : channel_(channel) {}

void ReportDecoder::Feed(absl::string_view chunk,
                         std::vector<DecodeEvent>* out) {
  splitter_.Feed(Std(chunk), [&](const LineSplitter::Piece& piece) {
    OnPiece(piece, out);
  });
}

void ReportDecoder::Finish(std::vector<DecodeEvent>* out) {
  splitter_.Finish(
      [&](const LineSplitter::Piece& piece) { OnPiece(piece, out); });
}

DecodeError ReportDecoder::MakeError(WireErrorKind kind, uint64_t offset,
                                     uint64_t line_offset,
                                     absl::string_view detail) const {
  return DecodeError{kind, offset, line_offset, hello_seen_,
                     absl::StrCat(channel_, " byte ", offset, ": ", detail)};
}

void ReportDecoder::OnPiece(const LineSplitter::Piece& piece,
                            std::vector<DecodeEvent>* out) {
  switch (piece.kind) {
    case LineSplitter::Piece::Kind::kTooLong:
      out->push_back(MakeError(WireErrorKind::kTooLong,
                               piece.offset + kMaxLineBytes, piece.offset,
                               absl::StrCat("line longer than ", kMaxLineBytes,
                                            " bytes; skipped up to its end")));
      return;
    case LineSplitter::Piece::Kind::kTruncated:
      out->push_back(MakeError(WireErrorKind::kTruncated, bytes_fed(),
                               piece.offset,
                               absl::StrCat("the stream ended inside a line (",
                                            bytes_fed() - piece.offset,
                                            " bytes without a newline)")));
      return;
    case LineSplitter::Piece::Kind::kLine:
      break;
  }
  if (piece.line.empty()) return;
  std::variant<Report, WireError> parsed = ParseReportLine(piece.line);
  if (auto* error = std::get_if<WireError>(&parsed)) {
    out->push_back(MakeError(error->kind, piece.offset + error->column,
                             piece.offset, error->detail));
    return;
  }
  Report& report = std::get<Report>(parsed);
  if (!hello_seen_) {
    if (!std::holds_alternative<Hello>(report)) {
      out->push_back(
          MakeError(WireErrorKind::kBeforeHello, piece.offset, piece.offset,
                    absl::StrCat("a \"", Absl(ReportTypeName(report)),
                                 "\" report before the agent's hello")));
      return;
    }
    hello_seen_ = true;
  }
  out->push_back(
      DecodedReport{piece.offset, piece.line.size() + 1, std::move(report)});
}

absl::StatusOr<std::string> EncodeCommandLine(const Command& command) {
  std::string line;
  if (std::optional<WireError> error = EncodeCommand(command, &line)) {
    return WireStatus(
        *error, absl::StrCat("encoding a \"", Absl(CommandTypeName(command)),
                             "\" command"));
  }
  return line;
}

absl::StatusOr<std::string> EncodeReportLine(const Report& report) {
  std::string line;
  if (std::optional<WireError> error = EncodeReport(report, &line)) {
    return WireStatus(
        *error, absl::StrCat("encoding a \"", Absl(ReportTypeName(report)),
                             "\" report"));
  }
  return line;
}

absl::StatusOr<std::vector<Step>> ParseBehaviour(absl::string_view text) {
  std::variant<std::vector<Step>, std::string> parsed = ParseScript(Std(text));
  if (auto* error = std::get_if<std::string>(&parsed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("behaviour script: ", *error));
  }
  return std::move(std::get<std::vector<Step>>(parsed));
}

absl::StatusOr<std::string> BehaviourKernelParameter(absl::string_view script) {
  absl::StatusOr<std::vector<Step>> steps = ParseBehaviour(script);
  if (!steps.ok()) return steps.status();
  return absl::StrCat("proctor.behaviour=", FormatScript(*steps));
}

}  // namespace proctor::guest
