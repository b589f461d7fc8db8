#include "guest/agent/agent.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "guest/protocol/script.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {
namespace {

constexpr std::string_view kChannelName = "agent channel";

size_t StepBytes(const Step& step) { return step.bytes.size(); }

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

}  // namespace

Agent::Agent(AgentOptions options)
    : options_(std::move(options)), script_(ParseScript(options_.script)) {}

void Agent::Emit(const Report& report, std::vector<Effect>* out) {
  std::string line;
  if (std::optional<WireError> error = EncodeReport(report, &line)) {
    // Only the agent's own values reach here, all within their bounds; if
    // one is not, saying so beats writing nothing.
    line.clear();
    EncodeReport(
        AgentError{"internal", "cannot encode a " +
                                   std::string(ReportTypeName(report)) +
                                   " report: " + error->detail.substr(0, 512)},
        &line);
  }
  out->push_back(Effect{Effect::Kind::kChannel, std::move(line)});
}

void Agent::Hello(std::vector<Effect>* out) {
  std::string bytes = "\n";
  proctor::guest::Hello hello{std::string(kAgentVersion), options_.mode,
                              options_.script.substr(0, kMaxScriptBytes)};
  std::vector<Effect> line;
  Emit(hello, &line);
  bytes += line.front().bytes;
  out->push_back(Effect{Effect::Kind::kChannel, std::move(bytes)});
}

void Agent::Run(uint64_t now_ms, std::vector<Effect>* out) {
  if (running_ || halted_) return;
  running_ = true;
  if (auto* error = std::get_if<std::string>(&script_)) {
    Fail("bad-script", "proctor.behaviour: " + *error, out);
    return;
  }
  Queue(std::move(std::get<std::vector<Step>>(script_)), out);
  script_ = std::vector<Step>{};
  RunSteps(now_ms, out);
}

void Agent::OnChannelBytes(std::string_view bytes, uint64_t now_ms,
                           std::vector<Effect>* out) {
  if (halted_) return;
  splitter_.Feed(bytes, [&](const LineSplitter::Piece& piece) {
    OnLine(piece, now_ms, out);
  });
  Tick(now_ms, out);
}

void Agent::OnChannelEnd(std::vector<Effect>* out) {
  if (halted_) return;
  splitter_.Finish(
      [&](const LineSplitter::Piece& piece) { OnLine(piece, 0, out); });
}

void Agent::OnLine(const LineSplitter::Piece& piece, uint64_t now_ms,
                   std::vector<Effect>* out) {
  // Once halted (a power action), the rest of a chunk is not looked at.
  if (halted_) return;
  const std::string at =
      std::string(kChannelName) + " byte " + std::to_string(piece.offset);
  switch (piece.kind) {
    case LineSplitter::Piece::Kind::kTooLong:
      ReportError(WireErrorKindName(WireErrorKind::kTooLong),
                  std::string(kChannelName) + " byte " +
                      std::to_string(piece.offset + kMaxLineBytes) +
                      ": line longer than " + std::to_string(kMaxLineBytes) +
                      " bytes; skipped up to its end",
                  out);
      return;
    case LineSplitter::Piece::Kind::kTruncated:
      ReportError(WireErrorKindName(WireErrorKind::kTruncated),
                  at + ": the stream ended inside a line", out);
      return;
    case LineSplitter::Piece::Kind::kLine:
      break;
  }
  if (piece.line.empty()) return;
  std::variant<Command, WireError> parsed = ParseCommandLine(piece.line);
  if (auto* error = std::get_if<WireError>(&parsed)) {
    ReportError(WireErrorKindName(error->kind),
                std::string(kChannelName) + " byte " +
                    std::to_string(piece.offset + error->column) + ": " +
                    error->detail,
                out);
    return;
  }
  OnCommand(std::move(std::get<Command>(parsed)), now_ms, out);
  // Each line is fully handled (a zero-delay ack included) before the next,
  // so the effects do not depend on how the bytes were chunked.
  Tick(now_ms, out);
}

void Agent::OnCommand(Command command, uint64_t now_ms,
                      std::vector<Effect>* out) {
  if (auto* run = std::get_if<RunScript>(&command)) {
    std::variant<std::vector<Step>, std::string> steps =
        ParseScript(run->script);
    if (auto* error = std::get_if<std::string>(&steps)) {
      ReportError("bad-script", "run: " + *error, out);
      return;
    }
    Queue(std::move(std::get<std::vector<Step>>(steps)), out);
    RunSteps(now_ms, out);
    return;
  }
  auto& msg = std::get<HostMessage>(command);
  if (pending_.size() >= kMaxPendingMessages ||
      pending_bytes_ + msg.data.size() > kMaxPendingBytes) {
    ReportError("too-many-pending",
                "message " + std::to_string(msg.id) +
                    " refused: " + std::to_string(pending_.size()) +
                    " messages (" + std::to_string(pending_bytes_) +
                    " bytes) are waiting for their ack; at most " +
                    std::to_string(kMaxPendingMessages) + " (" +
                    std::to_string(kMaxPendingBytes) + " bytes)",
                out);
    return;
  }
  pending_bytes_ += msg.data.size();
  pending_.push_back(
      Pending{msg.id, std::move(msg.data), now_ms + ack_delay_ms_});
}

void Agent::Queue(std::vector<Step> steps, std::vector<Effect>* out) {
  size_t bytes = 0;
  for (const Step& step : steps) bytes += StepBytes(step);
  if (queue_.size() + steps.size() > kMaxScriptSteps ||
      queued_bytes_ + bytes > kMaxQueuedScriptBytes) {
    ReportError("too-many-steps",
                "run refused: " + std::to_string(steps.size()) +
                    " steps would join the " + std::to_string(queue_.size()) +
                    " queued; at most " + std::to_string(kMaxScriptSteps) +
                    " steps and " + std::to_string(kMaxQueuedScriptBytes) +
                    " bytes",
                out);
    return;
  }
  queued_bytes_ += bytes;
  for (Step& step : steps) queue_.push_back(std::move(step));
}

void Agent::Tick(uint64_t now_ms, std::vector<Effect>* out) {
  if (halted_ || !running_) return;
  // Acks go in arrival order: a message is handled after the ones before.
  while (!pending_.empty() && pending_.front().due_ms <= now_ms) {
    Pending done = std::move(pending_.front());
    pending_.pop_front();
    pending_bytes_ -= done.data.size();
    Emit(Ack{done.id}, out);
    if (echo_)
      Emit(GuestMessage{next_message_id_++, std::move(done.data)}, out);
  }
  RunSteps(now_ms, out);
}

void Agent::RunSteps(uint64_t now_ms, std::vector<Effect>* out) {
  while (!halted_ && !queue_.empty()) {
    if (sleep_until_ms_.has_value()) {
      if (now_ms < *sleep_until_ms_) return;
      sleep_until_ms_.reset();
    }
    Step step = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= StepBytes(step);
    Execute(step, now_ms, out);
  }
}

void Agent::Execute(const Step& step, uint64_t now_ms,
                    std::vector<Effect>* out) {
  switch (step.kind) {
    case StepKind::kStarted:
      Emit(Started{}, out);
      return;
    case StepKind::kReady:
      Emit(Ready{}, out);
      return;
    case StepKind::kFinished:
      Emit(Finished{static_cast<uint32_t>(step.number)}, out);
      return;
    case StepKind::kExit:
      Emit(Finished{static_cast<uint32_t>(step.number)}, out);
      Act(AgentAction::kPowerOff, out);
      return;
    case StepKind::kSleep:
      if (step.number > 0) sleep_until_ms_ = now_ms + step.number;
      return;
    case StepKind::kHang:
      Act(AgentAction::kHang, out);
      return;
    case StepKind::kPanic:
      Act(AgentAction::kPanic, out);
      return;
    case StepKind::kReboot:
      Act(AgentAction::kReboot, out);
      return;
    case StepKind::kPowerOff:
      Act(AgentAction::kPowerOff, out);
      return;
    case StepKind::kFailure:
    case StepKind::kFail:
      Emit(FailureWritten{step.bytes}, out);
      out->push_back(Effect{Effect::Kind::kFailurePort, step.bytes});
      if (step.kind == StepKind::kFail) Act(AgentAction::kPowerOff, out);
      return;
    case StepKind::kAckDelay:
      ack_delay_ms_ = step.number;
      return;
    case StepKind::kEcho:
      echo_ = true;
      return;
    case StepKind::kSend:
      Emit(GuestMessage{next_message_id_++, step.bytes}, out);
      return;
    case StepKind::kVmmExit:
      // No action report: protocol version 1 has no word for it, and the
      // host learns it from the VMM's exit status anyway.
      Halt(Effect{Effect::Kind::kVmmExit, "",
                  static_cast<uint32_t>(step.number)},
           out);
      return;
  }
}

void Agent::Act(AgentAction action, std::vector<Effect>* out) {
  Emit(ActionReport{action}, out);
  Effect::Kind kind = Effect::Kind::kPowerOff;
  switch (action) {
    case AgentAction::kPowerOff:
      kind = Effect::Kind::kPowerOff;
      break;
    case AgentAction::kReboot:
      kind = Effect::Kind::kReboot;
      break;
    case AgentAction::kPanic:
      kind = Effect::Kind::kPanic;
      break;
    case AgentAction::kHang:
      kind = Effect::Kind::kHang;
      break;
  }
  Halt(Effect{kind, ""}, out);
}

void Agent::Halt(Effect last, std::vector<Effect>* out) {
  out->push_back(std::move(last));
  halted_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  pending_.clear();
  pending_bytes_ = 0;
}

void Agent::ReportError(std::string_view code, std::string_view what,
                        std::vector<Effect>* out) {
  if (halted_) return;
  Emit(AgentError{std::string(code),
                  std::string(what.substr(0, kMaxErrorTextBytes))},
       out);
}

void Agent::Fail(std::string_view code, std::string_view what,
                 std::vector<Effect>* out) {
  if (halted_) return;
  ReportError(code, what, out);
  Act(AgentAction::kPowerOff, out);
}

std::optional<uint64_t> Agent::NextWakeMs() const {
  if (halted_ || !running_) return std::nullopt;
  std::optional<uint64_t> wake;
  if (!pending_.empty()) wake = pending_.front().due_ms;
  if (sleep_until_ms_.has_value() && !queue_.empty()) {
    wake =
        wake.has_value() ? std::min(*wake, *sleep_until_ms_) : *sleep_until_ms_;
  }
  return wake;
}

std::variant<KernelParameters, std::string> ParseKernelCommandLine(
    std::string_view cmdline) {
  if (cmdline.size() > kMaxKernelCommandLineBytes) {
    return "the kernel command line is " + std::to_string(cmdline.size()) +
           " bytes; at most " + std::to_string(kMaxKernelCommandLineBytes);
  }
  KernelParameters params;
  size_t pos = 0;
  while (pos < cmdline.size()) {
    while (pos < cmdline.size() && IsBlank(cmdline[pos])) ++pos;
    if (pos == cmdline.size()) break;
    std::string word;
    bool quoted = false;
    for (; pos < cmdline.size() && (quoted || !IsBlank(cmdline[pos])); ++pos) {
      if (cmdline[pos] == '"') {
        quoted = !quoted;
      } else {
        word.push_back(cmdline[pos]);
      }
    }
    if (word.rfind("proctor.", 0) != 0) continue;
    const size_t eq = word.find('=');
    const std::string name = word.substr(0, eq);
    const std::string value =
        eq == std::string::npos ? "" : word.substr(eq + 1);
    if (name == "proctor.behaviour") {
      params.behaviour = value;
    } else if (name == "proctor.modules") {
      params.modules = value;
    } else {
      return "unknown kernel parameter \"" + ShowBytes(name) +
             "\" (the agent knows proctor.behaviour and proctor.modules)";
    }
  }
  return params;
}

std::variant<std::vector<std::string>, std::string> ParseModuleList(
    std::string_view text, char separator) {
  std::vector<std::string> paths;
  size_t pos = 0;
  size_t number = 0;
  while (pos <= text.size()) {
    size_t end = text.find(separator, pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (separator == '\n' && (item.empty() || item[0] == '#')) continue;
    if (item.empty() && separator != '\n' && text.empty()) break;
    const std::string where =
        "module " + std::to_string(number) + " (\"" + ShowBytes(item) + "\")";
    if (item.empty() || item[0] != '/' || item.size() > kMaxModulePathBytes) {
      return where + ": not an absolute path of 1.." +
             std::to_string(kMaxModulePathBytes) + " bytes";
    }
    for (char c : item) {
      if (c < 0x21 || c > 0x7E) return where + ": not printable ASCII";
    }
    if (paths.size() == kMaxModules) {
      return "more than " + std::to_string(kMaxModules) + " modules";
    }
    paths.emplace_back(item);
  }
  return paths;
}

}  // namespace proctor::guest
