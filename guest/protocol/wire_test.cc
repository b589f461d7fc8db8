#include "guest/protocol/wire.h"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proctor::guest {
namespace {

// A line with the right checksum after `body` (Crc32 is checked against
// zlib's known values below).
std::string Line(std::string_view body) {
  char crc[9];
  std::snprintf(crc, sizeof(crc), "%08x", Crc32(body));
  return std::string(body) + " crc=" + crc;
}

std::string Encoded(const Report& report) {
  std::string line;
  std::optional<WireError> error = EncodeReport(report, &line);
  EXPECT_FALSE(error.has_value()) << error->detail;
  return line;
}

std::string Encoded(const Command& command) {
  std::string line;
  std::optional<WireError> error = EncodeCommand(command, &line);
  EXPECT_FALSE(error.has_value()) << error->detail;
  return line;
}

WireError ReportError(std::string_view line) {
  std::variant<Report, WireError> parsed = ParseReportLine(line);
  EXPECT_TRUE(std::holds_alternative<WireError>(parsed)) << line;
  return std::holds_alternative<WireError>(parsed)
             ? std::get<WireError>(parsed)
             : WireError{WireErrorKind::kGarbage, 0, "parsed"};
}

WireError CommandError(std::string_view line) {
  std::variant<Command, WireError> parsed = ParseCommandLine(line);
  EXPECT_TRUE(std::holds_alternative<WireError>(parsed)) << line;
  return std::holds_alternative<WireError>(parsed)
             ? std::get<WireError>(parsed)
             : WireError{WireErrorKind::kGarbage, 0, "parsed"};
}

TEST(Crc32Test, MatchesZlib) {
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("123456789"), 0xcbf43926u);
  EXPECT_EQ(Crc32("PROCTOR/1 started"), 0x932c3c44u);
}

// Every report type: the exact line (checksums from Python's zlib.crc32),
// and the line parses back to the same report.
TEST(WireTest, EveryReportHasOneExactLineAndRoundTrips) {
  const std::vector<std::pair<Report, std::string>> cases = {
      {Hello{"0.1.0", AgentMode::kInit, "started,ready"},
       "PROCTOR/1 hello agent=0.1.0 mode=init script=started,ready "
       "crc=b3db5245\n"},
      {Started{}, "PROCTOR/1 started crc=932c3c44\n"},
      {Ready{}, "PROCTOR/1 ready crc=7e04fb98\n"},
      {Finished{3}, "PROCTOR/1 finished code=3 crc=57697513\n"},
      {Ack{7}, "PROCTOR/1 ack id=7 crc=acfacb84\n"},
      {GuestMessage{1, std::string("\x00\xff\n", 3)},
       "PROCTOR/1 msg id=1 data=00ff0a crc=4f169463\n"},
      {FailureWritten{"HANGUP"},
       "PROCTOR/1 failure data=48414e475550 crc=94d11f41\n"},
      {ActionReport{AgentAction::kPowerOff},
       "PROCTOR/1 action do=power-off crc=6b078138\n"},
      {AgentError{"unknown-type", "unknown command type \"frob\""},
       "PROCTOR/1 error code=unknown-type "
       "what=unknown%20command%20type%20\"frob\" crc=e7e282a4\n"},
  };
  for (const auto& [report, line] : cases) {
    EXPECT_EQ(Encoded(report), line);
    std::variant<Report, WireError> parsed =
        ParseReportLine(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(std::holds_alternative<Report>(parsed))
        << std::get<WireError>(parsed).detail;
    EXPECT_EQ(std::get<Report>(parsed), report) << line;
  }
}

TEST(WireTest, EveryCommandHasOneExactLineAndRoundTrips) {
  const std::vector<std::pair<Command, std::string>> cases = {
      {HostMessage{1, std::string("\x00\xff\n", 3)},
       "PROCTOR/1 msg id=1 data=00ff0a crc=4f169463\n"},
      {HostMessage{UINT64_MAX, ""},
       "PROCTOR/1 msg id=18446744073709551615 data= crc=0993f31e\n"},
      {RunScript{"started,sleep:100,ready"},
       "PROCTOR/1 run script=started,sleep:100,ready crc=4460c10c\n"},
  };
  for (const auto& [command, line] : cases) {
    EXPECT_EQ(Encoded(command), line);
    std::variant<Command, WireError> parsed =
        ParseCommandLine(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(std::holds_alternative<Command>(parsed))
        << std::get<WireError>(parsed).detail;
    EXPECT_EQ(std::get<Command>(parsed), command) << line;
  }
}

TEST(WireTest, EveryActionAndModeRoundTrips) {
  for (AgentAction action : {AgentAction::kPowerOff, AgentAction::kReboot,
                             AgentAction::kPanic, AgentAction::kHang}) {
    const std::string line = Encoded(ActionReport{action});
    std::variant<Report, WireError> parsed =
        ParseReportLine(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(std::holds_alternative<Report>(parsed));
    EXPECT_EQ(std::get<Report>(parsed), Report(ActionReport{action}));
  }
  EXPECT_EQ(Encoded(ActionReport{AgentAction::kHang}),
            Line("PROCTOR/1 action do=hang") + "\n");
  EXPECT_EQ(Encoded(Hello{"x", AgentMode::kTest, ""}),
            Line("PROCTOR/1 hello agent=x mode=test script=") + "\n");
}

// Text fields: every byte outside 0x21..0x7e, and '%', is %XX; everything
// else is itself, so all 256 byte values round trip.
TEST(WireTest, TextEscapesExactlyTheBytesThatNeedIt) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const AgentError error{"system", all.substr(0, 1024)};
  const std::string line = Encoded(error);
  EXPECT_NE(line.find("what=%00%01"), std::string::npos);
  EXPECT_NE(line.find("%1F%20!\"#$%25&"), std::string::npos);
  EXPECT_NE(line.find("}~%7F%80"), std::string::npos);
  std::variant<Report, WireError> parsed =
      ParseReportLine(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(std::holds_alternative<Report>(parsed));
  EXPECT_EQ(std::get<Report>(parsed), Report(error));
}

TEST(WireTest, MaximumMessageFitsInALine) {
  const std::string data(kMaxMessageBytes, '\xab');
  const std::string line = Encoded(HostMessage{UINT64_MAX, data});
  EXPECT_LE(line.size() - 1, kMaxLineBytes);
  std::variant<Command, WireError> parsed =
      ParseCommandLine(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(std::holds_alternative<Command>(parsed));
  EXPECT_EQ(std::get<HostMessage>(std::get<Command>(parsed)).data, data);
}

TEST(WireTest, EncoderRefusesValuesPastTheirBounds) {
  std::string line = "unchanged";
  std::optional<WireError> error = EncodeCommand(
      HostMessage{1, std::string(kMaxMessageBytes + 1, 'x')}, &line);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, WireErrorKind::kTooLarge);
  EXPECT_EQ(error->detail, "field data has 65537 bytes; at most 65536");
  EXPECT_EQ(line, "unchanged");

  error = EncodeReport(Finished{256}, &line);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->detail, "field code: 256 is more than 255");

  error = EncodeReport(Hello{"has space", AgentMode::kInit, ""}, &line);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, WireErrorKind::kBadField);
  EXPECT_EQ(error->detail,
            "field agent: \"has space\" is not 1..64 characters of its "
            "alphabet");

  error = EncodeReport(AgentError{"Upper", "x"}, &line);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, WireErrorKind::kBadField);

  error = EncodeReport(FailureWritten{std::string(kMaxFailureBytes + 1, 'x')},
                       &line);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->detail, "field data has 8193 bytes; at most 8192");

  // A script that fits its own bound but not, escaped, in a line.
  error = EncodeCommand(RunScript{std::string(kMaxScriptBytes, ' ')}, &line);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->kind, WireErrorKind::kTooLong);
  EXPECT_EQ(line, "unchanged");
}

TEST(WireTest, GarbageAndOtherVersions) {
  WireError e = ReportError("\xff\xfe login:");
  EXPECT_EQ(e.kind, WireErrorKind::kGarbage);
  EXPECT_EQ(e.column, 0u);
  EXPECT_EQ(e.detail,
            "not a protocol line (no \"PROCTOR/\" prefix): \"\\xff\\xfe "
            "login:\"");

  e = ReportError("PROCTOR/2 hello crc=00000000");
  EXPECT_EQ(e.kind, WireErrorKind::kWrongVersion);
  EXPECT_EQ(e.column, 8u);
  EXPECT_EQ(e.detail,
            "unsupported protocol version \"PROCTOR/2\"; this side speaks "
            "PROCTOR/1");
}

TEST(WireTest, ChecksumErrors) {
  WireError e = ReportError("PROCTOR/1 started");
  EXPECT_EQ(e.kind, WireErrorKind::kBadChecksum);
  EXPECT_EQ(e.detail, "the line does not end with \" crc=\" and 8 hex digits");

  e = ReportError("PROCTOR/1 started crc=932c3c45");
  EXPECT_EQ(e.kind, WireErrorKind::kBadChecksum);
  EXPECT_EQ(e.column, 22u);
  EXPECT_EQ(e.detail,
            "checksum mismatch: the line says crc=932c3c45, its bytes give "
            "932c3c44");

  e = ReportError("PROCTOR/1 started crc=932C3C44");
  EXPECT_EQ(e.kind, WireErrorKind::kBadChecksum);
  EXPECT_EQ(e.column, 25u);
  EXPECT_EQ(e.detail, "crc \"932C3C44\" is not 8 lower-case hex digits");

  // A carriage return before the newline is part of the line.
  e = ReportError("PROCTOR/1 started crc=932c3c44\r");
  EXPECT_EQ(e.kind, WireErrorKind::kBadChecksum);

  // One garbled byte anywhere is caught.
  std::string garbled = "PROCTOR/1 ack id=7 crc=acfacb84";
  garbled[16] = '8';
  EXPECT_EQ(ReportError(garbled).kind, WireErrorKind::kBadChecksum);
}

TEST(WireTest, UnknownTypes) {
  WireError e = ReportError(Line("PROCTOR/1 frob x=1"));
  EXPECT_EQ(e.kind, WireErrorKind::kUnknownType);
  EXPECT_EQ(e.column, 10u);
  EXPECT_EQ(e.detail, "unknown report type \"frob\"");

  e = ReportError(Line("PROCTOR/1 run script=ready"));
  EXPECT_EQ(e.detail, "\"run\" is a command (host to guest), not a report");

  e = CommandError(Line("PROCTOR/1 started"));
  EXPECT_EQ(e.kind, WireErrorKind::kUnknownType);
  EXPECT_EQ(e.detail, "\"started\" is a report (guest to host), not a command");

  e = CommandError(Line("PROCTOR/1 frob"));
  EXPECT_EQ(e.detail, "unknown command type \"frob\"");

  e = ReportError(Line("PROCTOR/1"));
  EXPECT_EQ(e.kind, WireErrorKind::kBadChecksum);
  e = ReportError(Line("PROCTOR/1 "));
  EXPECT_EQ(e.kind, WireErrorKind::kUnknownType);
  EXPECT_EQ(e.detail, "no message type");
}

TEST(WireTest, BadFields) {
  struct Case {
    std::string body;
    WireErrorKind kind;
    size_t column;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {"PROCTOR/1 ack", WireErrorKind::kBadField, 13,
       "ack: missing field \"id\""},
      {"PROCTOR/1 ack idx=1", WireErrorKind::kBadField, 14,
       "ack: expected field \"id=\", found \"idx=1\""},
      {"PROCTOR/1 ack id=1 extra=2", WireErrorKind::kBadField, 19,
       "ack: unexpected \"extra=2\" after the last field"},
      {"PROCTOR/1 ack  id=1", WireErrorKind::kBadField, 14,
       "ack: expected field \"id=\", found \"\""},
      {"PROCTOR/1 ack id=01", WireErrorKind::kBadField, 17,
       "ack field id: \"01\" is not a decimal number without leading zeros"},
      {"PROCTOR/1 ack id=", WireErrorKind::kBadField, 17,
       "ack field id: \"\" is not a decimal number without leading zeros"},
      {"PROCTOR/1 ack id=-1", WireErrorKind::kBadField, 17,
       "ack field id: \"-1\" is not a decimal number without leading zeros"},
      {"PROCTOR/1 ack id=18446744073709551616", WireErrorKind::kBadField, 17,
       "ack field id: \"18446744073709551616\" is not a decimal number "
       "without leading zeros"},
      {"PROCTOR/1 finished code=256", WireErrorKind::kTooLarge, 24,
       "finished field code: 256 is more than 255"},
      {"PROCTOR/1 msg id=1 data=0g", WireErrorKind::kBadField, 25,
       "msg field data: \"g\" is not a lower-case hex digit"},
      {"PROCTOR/1 msg id=1 data=AB", WireErrorKind::kBadField, 24,
       "msg field data: \"A\" is not a lower-case hex digit"},
      {"PROCTOR/1 msg id=1 data=abc", WireErrorKind::kBadField, 27,
       "msg field data: an odd number of hex digits (3)"},
      {"PROCTOR/1 msg data=ab id=1", WireErrorKind::kBadField, 14,
       "msg: expected field \"id=\", found \"data=ab\""},
      {"PROCTOR/1 action do=explode", WireErrorKind::kBadField, 20,
       "action field do: \"explode\" is not one of power-off, reboot, panic, "
       "hang"},
      {"PROCTOR/1 hello agent=a mode=boot script=", WireErrorKind::kBadField,
       29, "hello field mode: \"boot\" is not one of init, test"},
      {"PROCTOR/1 hello agent=a/b mode=init script=", WireErrorKind::kBadField,
       23, "hello field agent: \"/\" is not allowed in a agent"},
      {"PROCTOR/1 error code=x what=a%2", WireErrorKind::kBadField, 29,
       "error field what: \"%2\" is not % and two upper-case hex digits"},
      {"PROCTOR/1 error code=x what=a%2a", WireErrorKind::kBadField, 29,
       "error field what: \"%2a\" is not % and two upper-case hex digits"},
      {"PROCTOR/1 error code=x what=%41", WireErrorKind::kBadField, 28,
       "error field what: \"%41\" escapes a byte that must be written as "
       "itself"},
      {"PROCTOR/1 error code=x what=a\tb", WireErrorKind::kBadField, 29,
       "error field what: byte \"\\t\" must be %-escaped"},
      {"PROCTOR/1 error code=BAD what=x", WireErrorKind::kBadField, 21,
       "error field code: \"B\" is not allowed in a code"},
      {"PROCTOR/1 started now", WireErrorKind::kBadField, 18,
       "started: unexpected \"now\" after the last field"},
  };
  for (const Case& c : cases) {
    const WireError e = ReportError(Line(c.body));
    EXPECT_EQ(e.kind, c.kind) << c.body;
    EXPECT_EQ(e.column, c.column) << c.body;
    EXPECT_EQ(e.detail, c.detail) << c.body;
  }
}

TEST(WireTest, OversizedValuesAreRefusedBeforeDecoding) {
  const std::string data(2 * (kMaxMessageBytes + 1), 'a');
  WireError e = CommandError(Line("PROCTOR/1 msg id=1 data=" + data));
  EXPECT_EQ(e.kind, WireErrorKind::kTooLarge);
  EXPECT_EQ(e.column, 24u);
  EXPECT_EQ(e.detail, "msg field data: 65537 bytes; at most 65536");

  e = ReportError(
      Line("PROCTOR/1 error code=x what=" + std::string(1025, 'y')));
  EXPECT_EQ(e.kind, WireErrorKind::kTooLarge);
  EXPECT_EQ(e.detail, "error field what: more than 1024 bytes");

  e = ReportError(std::string(kMaxLineBytes + 1, 'P'));
  EXPECT_EQ(e.kind, WireErrorKind::kTooLong);
  EXPECT_EQ(e.detail, "the line is 131329 bytes; at most 131328");
}

TEST(WireTest, ShowBytesEscapesAndBounds) {
  EXPECT_EQ(ShowBytes("a\"b\\\n\t\x01\x7f"), "a\\\"b\\\\\\n\\t\\x01\\x7f");
  EXPECT_EQ(ShowBytes(std::string(40, 'z'), 4), "zzzz...");
}

// ---- LineSplitter ----

struct Piece {
  LineSplitter::Piece::Kind kind;
  uint64_t offset;
  std::string line;
  bool operator==(const Piece&) const = default;
};

std::vector<Piece> Split(const std::vector<std::string_view>& chunks,
                         bool finish, size_t* max_buffered = nullptr) {
  LineSplitter splitter;
  std::vector<Piece> pieces;
  auto on_piece = [&](const LineSplitter::Piece& p) {
    pieces.push_back(Piece{p.kind, p.offset, std::string(p.line)});
  };
  for (std::string_view chunk : chunks) {
    splitter.Feed(chunk, on_piece);
    if (max_buffered != nullptr) {
      *max_buffered = std::max(*max_buffered, splitter.buffered_bytes());
    }
  }
  if (finish) splitter.Finish(on_piece);
  return pieces;
}

using Kind = LineSplitter::Piece::Kind;

TEST(LineSplitterTest, LinesAtEverySplit) {
  const std::string stream = "ab\n\ncde\nf";
  const std::vector<Piece> want = {{Kind::kLine, 0, "ab"},
                                   {Kind::kLine, 3, ""},
                                   {Kind::kLine, 4, "cde"},
                                   {Kind::kTruncated, 8, ""}};
  for (size_t i = 0; i <= stream.size(); ++i) {
    for (size_t j = i; j <= stream.size(); ++j) {
      const std::string_view s = stream;
      EXPECT_EQ(Split({s.substr(0, i), s.substr(i, j - i), s.substr(j)}, true),
                want)
          << i << " " << j;
    }
  }
}

TEST(LineSplitterTest, OverlongLineIsReportedOnceAndSkipped) {
  const std::string longline(kMaxLineBytes + 5, 'x');
  const std::string stream = "ok\n" + longline + "\nnext\n";
  const std::vector<Piece> want = {
      {Kind::kLine, 0, "ok"},
      {Kind::kTooLong, 3, ""},
      {Kind::kLine, 3 + longline.size() + 1, "next"}};
  size_t max_buffered = 0;
  EXPECT_EQ(Split({stream}, true, &max_buffered), want);
  // Byte by byte, the buffer never passes the bound.
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) {
    bytes.push_back(std::string_view(stream).substr(i, 1));
  }
  max_buffered = 0;
  EXPECT_EQ(Split(bytes, true, &max_buffered), want);
  EXPECT_EQ(max_buffered, kMaxLineBytes);
}

TEST(LineSplitterTest, LineOfExactlyTheBoundIsALine) {
  const std::string line(kMaxLineBytes, 'y');
  const std::vector<Piece> pieces = Split({line, "\n"}, true);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].kind, Kind::kLine);
  EXPECT_EQ(pieces[0].line.size(), kMaxLineBytes);
}

TEST(LineSplitterTest, OverlongUnendedLineIsNotAlsoTruncated) {
  const std::string longline(kMaxLineBytes + 1, 'x');
  EXPECT_EQ(Split({longline}, true),
            (std::vector<Piece>{{Kind::kTooLong, 0, ""}}));
}

}  // namespace
}  // namespace proctor::guest
