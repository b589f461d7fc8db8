// fuzz_guest_protocol: the host<->guest wire protocol (guest/protocol) on
// arbitrary bytes, as both sides read them. Byte 0 picks how the stream is
// cut into chunks and how the agent is set up; the rest is the stream.
//
// What must hold:
// - The host's ReportDecoder decodes the same events whatever the chunks,
//   never holds more than kMaxLineBytes, and every error names its channel
//   and a byte offset inside its line.
// - Whatever decodes re-encodes to exactly the bytes it came from (the
//   encoding is canonical), and that line parses to the same report.
// - The same holds for commands, read the agent's way (LineSplitter and
//   ParseCommandLine).
// - A behaviour script that parses formats to a script that parses to the
//   same steps.
// - The agent's readers of the kernel command line and of module lists
//   keep their bounds: at most 32 absolute paths of at most 256 bytes.
// - The agent fed the stream as host bytes writes only lines the host
//   decodes without error, and keeps its bounds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "guest/agent/agent.h"
#include "guest/protocol/decoder.h"
#include "guest/protocol/script.h"
#include "guest/protocol/wire.h"

namespace {

using proctor::fuzz::Finding;
using proctor::fuzz::Shown;
namespace g = proctor::guest;

constexpr absl::string_view kTarget = "guest_protocol";

absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

std::string Describe(const g::DecodeEvent& event) {
  if (const auto* e = std::get_if<g::DecodeError>(&event)) {
    return absl::StrCat("error at ", e->offset, ": ", e->what);
  }
  const auto& r = std::get<g::DecodedReport>(event);
  return absl::StrCat("report ", Absl(g::ReportTypeName(r.report)), " at ",
                      r.offset, " (", r.size, " bytes)");
}

std::vector<g::DecodeEvent> Decode(absl::string_view stream, uint8_t cut) {
  g::ReportDecoder decoder;
  std::vector<g::DecodeEvent> events;
  // cut 0: all at once; otherwise chunks of 1..cut bytes in a fixed cycle.
  size_t pos = 0;
  size_t step = 0;
  while (pos < stream.size()) {
    const size_t n = cut == 0 ? stream.size() : 1 + (step++ * 7) % cut;
    decoder.Feed(stream.substr(pos, n), &events);
    pos += std::min(n, stream.size() - pos);
    if (decoder.buffered_bytes() > g::kMaxLineBytes) {
      Finding(kTarget,
              absl::StrCat("the decoder holds ", decoder.buffered_bytes(),
                           " bytes, past kMaxLineBytes"));
    }
  }
  decoder.Finish(&events);
  return events;
}

void CheckReports(absl::string_view stream, uint8_t cut) {
  const std::vector<g::DecodeEvent> whole = Decode(stream, 0);
  const std::vector<g::DecodeEvent> chunked = Decode(stream, cut);
  if (whole != chunked) {
    const size_t n = std::min(whole.size(), chunked.size());
    size_t i = 0;
    while (i < n && whole[i] == chunked[i]) ++i;
    Finding(
        kTarget,
        absl::StrCat("chunks of up to ", cut, " bytes changed event ", i, ": ",
                     i < whole.size() ? Describe(whole[i]) : "none", " became ",
                     i < chunked.size() ? Describe(chunked[i]) : "none"));
  }
  for (const g::DecodeEvent& event : whole) {
    if (const auto* e = std::get_if<g::DecodeError>(&event)) {
      const std::string prefix =
          absl::StrCat("guest channel byte ", e->offset, ": ");
      if (e->what.rfind(prefix, 0) != 0 || e->what.size() == prefix.size() ||
          e->offset < e->line_offset || e->offset > stream.size() ||
          g::WireErrorKindName(e->kind) == "unknown") {
        Finding(kTarget, absl::StrCat("malformed error: ", Describe(event)));
      }
      continue;
    }
    const auto& decoded = std::get<g::DecodedReport>(event);
    std::string line;
    if (auto error = g::EncodeReport(decoded.report, &line)) {
      Finding(kTarget, absl::StrCat("a decoded ", Describe(event),
                                    " does not encode: ", error->detail));
    }
    const absl::string_view original =
        stream.substr(decoded.offset, decoded.size);
    if (line != original) {
      Finding(kTarget, absl::StrCat("not canonical: decoded ", Shown(original),
                                    " re-encodes as ", Shown(line)));
    }
    std::variant<g::Report, g::WireError> again =
        g::ParseReportLine(std::string_view(line).substr(0, line.size() - 1));
    if (!std::holds_alternative<g::Report>(again) ||
        std::get<g::Report>(again) != decoded.report) {
      Finding(kTarget, absl::StrCat("re-encoded line does not parse back: ",
                                    Shown(line)));
    }
  }
}

void CheckCommands(std::string_view stream) {
  g::LineSplitter splitter;
  auto on_piece = [&](const g::LineSplitter::Piece& piece) {
    if (piece.kind != g::LineSplitter::Piece::Kind::kLine) return;
    std::variant<g::Command, g::WireError> parsed =
        g::ParseCommandLine(piece.line);
    if (auto* error = std::get_if<g::WireError>(&parsed)) {
      if (error->column > piece.line.size() + 1 || error->detail.empty()) {
        Finding(kTarget,
                absl::StrCat("command error at column ", error->column,
                             " of a ", piece.line.size(), "-byte line"));
      }
      return;
    }
    std::string line;
    if (auto error = g::EncodeCommand(std::get<g::Command>(parsed), &line)) {
      Finding(kTarget, absl::StrCat("a parsed command does not encode: ",
                                    error->detail));
    }
    if (std::string_view(line).substr(0, line.size() - 1) != piece.line) {
      Finding(kTarget,
              absl::StrCat("command not canonical: ", Shown(Absl(piece.line)),
                           " re-encodes as ", Shown(line)));
    }
  };
  splitter.Feed(stream, on_piece);
  splitter.Finish(on_piece);
}

void CheckScript(std::string_view text) {
  auto parsed = g::ParseScript(text);
  if (!std::holds_alternative<std::vector<g::Step>>(parsed)) return;
  const auto& steps = std::get<std::vector<g::Step>>(parsed);
  const std::string formatted = g::FormatScript(steps);
  auto again = g::ParseScript(formatted);
  if (!std::holds_alternative<std::vector<g::Step>>(again) ||
      std::get<std::vector<g::Step>>(again) != steps) {
    Finding(kTarget, absl::StrCat("script ", Shown(Absl(text)), " formats as ",
                                  Shown(formatted),
                                  ", which does not parse to the same steps"));
  }
}

void CheckAgent(std::string_view stream, uint8_t mode) {
  // Bits 4-5: the default script.
  static constexpr std::string_view kScripts[] = {
      "", "echo", "ack-delay:10,echo", "started,sleep:5,ready"};
  g::Agent agent(g::AgentOptions{g::AgentMode::kTest,
                                 std::string(kScripts[(mode >> 4) & 3])});
  std::vector<g::Effect> effects;
  agent.Hello(&effects);
  agent.Run(0, &effects);
  // Bit 6: the stream in two halves at different times.
  if (mode & 0x40) {
    agent.OnChannelBytes(stream.substr(0, stream.size() / 2), 1, &effects);
    agent.OnChannelBytes(stream.substr(stream.size() / 2), 7, &effects);
  } else {
    agent.OnChannelBytes(stream, 1, &effects);
  }
  agent.OnChannelEnd(&effects);
  agent.Tick(1'000'000, &effects);
  if (agent.pending_messages() > g::kMaxPendingMessages ||
      agent.queued_steps() > g::kMaxScriptSteps) {
    Finding(kTarget,
            absl::StrCat("agent bounds broken: ", agent.pending_messages(),
                         " pending, ", agent.queued_steps(), " queued"));
  }
  g::ReportDecoder host;
  std::vector<g::DecodeEvent> events;
  size_t written = 0;
  for (const g::Effect& effect : effects) {
    if (effect.kind != g::Effect::Kind::kChannel) continue;
    written += effect.bytes.size();
    host.Feed(effect.bytes, &events);
  }
  host.Finish(&events);
  for (const g::DecodeEvent& event : events) {
    if (std::holds_alternative<g::DecodeError>(event)) {
      Finding(kTarget, absl::StrCat("the agent wrote a line the host refuses: ",
                                    Describe(event)));
    }
  }
  // Each input byte can cost at most one error line of bounded size, plus
  // the acks, echoes and sends of what was accepted.
  const size_t bound = 64 * 1024 + stream.size() * 700 + 8 * stream.size();
  if (written > bound) {
    Finding(kTarget, absl::StrCat("the agent wrote ", written, " bytes for ",
                                  stream.size(), " bytes of input"));
  }
}

void CheckKernelCommandLine(std::string_view text) {
  auto parsed = g::ParseKernelCommandLine(text);
  if (auto* params = std::get_if<g::KernelParameters>(&parsed)) {
    if ((params->behaviour && params->behaviour->size() > text.size()) ||
        (params->modules && params->modules->size() > text.size())) {
      Finding(kTarget, "a kernel parameter longer than the command line");
    }
  }
  for (char separator : {',', '\n'}) {
    auto list = g::ParseModuleList(text, separator);
    auto* paths = std::get_if<std::vector<std::string>>(&list);
    if (paths == nullptr) continue;
    if (paths->size() > g::kMaxModules) {
      Finding(kTarget, absl::StrCat(paths->size(), " module paths"));
    }
    for (const std::string& path : *paths) {
      if (path.empty() || path[0] != '/' ||
          path.size() > g::kMaxModulePathBytes) {
        Finding(kTarget, absl::StrCat("module path accepted: ", Shown(path)));
      }
    }
  }
}

// Every line ending in " crc=" and 8 characters gets the right checksum.
std::string FixChecksums(std::string_view stream) {
  std::string out;
  out.reserve(stream.size());
  size_t pos = 0;
  while (pos < stream.size()) {
    size_t end = stream.find('\n', pos);
    if (end == std::string_view::npos) end = stream.size();
    std::string line(stream.substr(pos, end - pos));
    const size_t crc = line.rfind(" crc=");
    if (crc != std::string::npos && line.size() - crc == 13) {
      char hex[9];
      std::snprintf(hex, sizeof(hex), "%08x",
                    g::Crc32(std::string_view(line).substr(0, crc)));
      line.replace(crc + 5, 8, hex);
    }
    out += line;
    if (end < stream.size()) out.push_back('\n');
    pos = end + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proctor::fuzz::ByteReader in(data, size);
  const uint8_t mode = in.U8();
  const absl::string_view input = in.Rest();
  std::string fixed;
  if (mode & 0x80) fixed = FixChecksums({input.data(), input.size()});
  const absl::string_view rest =
      (mode & 0x80) ? absl::string_view(fixed) : input;
  const std::string_view stream(rest.data(), rest.size());
  CheckReports(rest, mode & 15);
  CheckCommands(stream);
  CheckScript(stream);
  CheckKernelCommandLine(stream);
  CheckAgent(stream, mode);
  return 0;
}
