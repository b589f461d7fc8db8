#include "runtime/model/describe.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/model/container_types.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/ids.h"
#include "runtime/model/time.h"
#include "runtime/model/timer.h"
#include "runtime/model/vm_config.h"
#include "runtime/model/vm_types.h"

namespace proctor {
namespace {

// Escapes the quote, the backslash and every byte outside printable ASCII, so
// that a description is one printable line whatever a guest sent, and a
// quoted string ends at its closing quote.
std::string Escape(absl::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", c);
        } else {
          out += ch;
        }
    }
  }
  return out;
}

std::string Quoted(absl::string_view text) {
  return absl::StrCat("\"", Escape(text), "\"");
}

// Bytes that come from outside (a channel, a guest) may be large: show enough
// to recognise them and say how many there were.
std::string QuotedBounded(absl::string_view bytes) {
  if (bytes.size() <= kDescribedBytes) return Quoted(bytes);
  return absl::StrCat(Quoted(bytes.substr(0, kDescribedBytes)), "...(",
                      bytes.size(), " bytes)");
}

std::string Bool(bool value) { return value ? "true" : "false"; }

std::string Duration(absl::Duration d) { return absl::FormatDuration(d); }

std::string SignalNumber(int signal) {
  if (auto name = SignalName(signal)) return std::string(*name);
  return absl::StrCat(signal);
}

std::string Delta(int64_t delta) {
  return delta > 0 ? absl::StrCat("+", delta) : absl::StrCat(delta);
}

template <typename T, typename Render>
std::string Optional(const std::optional<T>& value, Render render) {
  return value.has_value() ? std::string(render(*value)) : "none";
}

std::string OptionalString(const std::optional<std::string>& value) {
  return Optional(value, Quoted);
}

std::string OptionalCount(const std::optional<uint64_t>& value) {
  return Optional(value, [](uint64_t v) { return absl::StrCat(v); });
}

std::string OptionalNumber(const std::optional<uint32_t>& value) {
  return Optional(value, [](uint32_t v) { return absl::StrCat(v); });
}

std::string List(const std::vector<std::string>& items) {
  return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
}

std::string QuotedList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& item : items) quoted.push_back(Quoted(item));
  return List(quoted);
}

// Builds `head key=value key=value`, or with an empty head a record that
// Braced() wraps as `{key=value ...}`.
class Fields {
 public:
  explicit Fields(absl::string_view head = "") : text_(head) {}

  Fields& Add(absl::string_view key, absl::string_view value) {
    if (!text_.empty()) text_ += ' ';
    absl::StrAppend(&text_, key, "=", value);
    return *this;
  }
  template <typename Tag, typename Rep>
  Fields& Add(absl::string_view key, StrongId<Tag, Rep> id) {
    return Add(key, ToString(id));
  }

  std::string Take() { return std::move(text_); }
  std::string Braced() const { return absl::StrCat("{", text_, "}"); }

 private:
  std::string text_;
};

// ---- Records inside inputs, actions and reply values ----

std::string MemoryText(const MemoryEvent& m) {
  return Fields()
      .Add("low", OptionalCount(m.low))
      .Add("high", OptionalCount(m.high))
      .Add("max", OptionalCount(m.max))
      .Add("oom", OptionalCount(m.oom))
      .Add("oom_kill", OptionalCount(m.oom_kill))
      .Braced();
}

std::string VmConfigText(const VmConfig& c) {
  std::vector<std::string> disks;
  disks.reserve(c.disks.size());
  for (const DiskImage& disk : c.disks) {
    disks.push_back(Fields()
                        .Add("image", Quoted(disk.image))
                        .Add("writable", Bool(disk.writable))
                        .Braced());
  }
  return Fields()
      .Add("cid", c.cid)
      .Add("bootloader", OptionalString(c.bootloader))
      .Add("kernel", OptionalString(c.kernel))
      .Add("initrd", OptionalString(c.initrd))
      .Add("disks", List(disks))
      .Add("params", OptionalString(c.params))
      .Add("protected_vm", Bool(c.protected_vm))
      .Add("memory_mib", OptionalNumber(c.memory_mib))
      .Add("cpus", OptionalNumber(c.cpus))
      .Add("cpu_affinity", OptionalString(c.cpu_affinity))
      .Add("task_profiles", QuotedList(c.task_profiles))
      .Add("console_sink", OptionalString(c.console_sink))
      .Add("log_sink", OptionalString(c.log_sink))
      .Add("platform_version", Quoted(c.platform_version))
      .Add("detect_hangup", Bool(c.detect_hangup))
      .Add("hangup_timeout", Optional(c.hangup_timeout, Duration))
      .Braced();
}

std::string ContainerSpecText(const ContainerSpec& s) {
  return Fields()
      .Add("owns_vm", Bool(s.owns_vm))
      .Add("socket_relays", absl::StrCat(s.socket_relays))
      .Add("port_start", absl::StrCat(s.port_start))
      .Add("port_end", absl::StrCat(s.port_end))
      .Braced();
}

std::string SuspendResultText(const SuspendResult& r) {
  return Fields()
      .Add("woken_by", r.woken_by)
      .Add("name", Quoted(r.name))
      .Add("slept", Duration(r.slept))
      .Braced();
}

std::string StartupTimingText(const StartupTiming& t) {
  return Fields()
      .Add("vm_boot", Duration(t.vm_boot))
      .Add("spec_build", Duration(t.spec_build))
      .Add("agent_connect", Duration(t.agent_connect))
      .Add("socket_relays", Duration(t.socket_relays))
      .Add("stdio_prepare", Duration(t.stdio_prepare))
      .Add("config_write", Duration(t.config_write))
      .Add("request_encode", Duration(t.request_encode))
      .Add("create_process", Duration(t.create_process))
      .Add("start_gate_wait", Duration(t.start_gate_wait))
      .Add("start_process", Duration(t.start_process))
      .Add("total", Duration(t.total))
      .Braced();
}

std::string EventBatchText(const EventBatch& b) {
  std::vector<std::string> events;
  events.reserve(b.events.size());
  for (const auto& [container, event] : b.events) {
    events.push_back(absl::StrCat("{container=", ToString(container), " ",
                                  DescribeContainerEvent(event), "}"));
  }
  return Fields()
      .Add("events", List(events))
      .Add("missed", absl::StrCat(b.missed))
      .Braced();
}

// ---- Inputs ----

std::string Text(const input::CreateVm& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("config", VmConfigText(in.config))
      .Take();
}
std::string Text(const input::StartVm& in) {
  return Fields(in.kName).Add("request", in.request).Add("cid", in.cid).Take();
}
std::string Text(const input::KillVm& in) {
  return Fields(in.kName).Add("request", in.request).Add("cid", in.cid).Take();
}
std::string Text(const input::VmmSpawned& in) {
  return Fields(in.kName)
      .Add("cid", in.cid)
      .Add("error", OptionalString(in.error))
      .Take();
}
std::string Text(const input::VmmExited& in) {
  return Fields(in.kName)
      .Add("cid", in.cid)
      .Add("status", Optional(in.status, FormatExitStatus))
      .Take();
}
std::string Text(const input::PayloadReported& in) {
  return Fields(in.kName)
      .Add("cid", in.cid)
      .Add("state", PayloadStateName(in.state))
      .Take();
}
std::string Text(const input::FailureReasonRead& in) {
  return Fields(in.kName)
      .Add("cid", in.cid)
      .Add("bytes", QuotedBounded(in.bytes))
      .Take();
}
std::string Text(const input::TimerFired& in) {
  return Fields(in.kName).Add("timer", FormatTimerId(in.timer)).Take();
}
std::string Text(const input::AddProxy& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("proxy", in.proxy)
      .Add("container_endpoint", in.container_endpoint)
      .Add("remote_endpoint", in.remote_endpoint)
      .Add("counter", in.counter)
      .Add("name", Quoted(in.name))
      .Take();
}
std::string Text(const input::EndpointSignalled& in) {
  return Fields(in.kName)
      .Add("endpoint", in.endpoint)
      .Add("signals", FormatSignals(in.signals))
      .Take();
}
std::string Text(const input::MessageRead& in) {
  return Fields(in.kName)
      .Add("endpoint", in.endpoint)
      .Add("status", ChannelStatusName(in.status))
      .Add("message", DescribeMessage(in.message))
      .Take();
}
std::string Text(const input::MessageWritten& in) {
  return Fields(in.kName)
      .Add("endpoint", in.endpoint)
      .Add("status", ChannelStatusName(in.status))
      .Take();
}
std::string Text(const input::CounterAdded& in) {
  return Fields(in.kName)
      .Add("counter", in.counter)
      .Add("status", ChannelStatusName(in.status))
      .Add("value", absl::StrCat(in.value))
      .Take();
}
std::string Text(const input::CounterChanged& in) {
  return Fields(in.kName)
      .Add("counter", in.counter)
      .Add("value", absl::StrCat(in.value))
      .Take();
}
std::string Text(const input::RegisterWakeWatcher& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("watcher", in.watcher)
      .Take();
}
std::string Text(const input::AddWakeSource& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("source", in.source)
      .Add("name", Quoted(in.name))
      .Add("mask", FormatSignals(in.mask))
      .Take();
}
std::string Text(const input::RemoveWakeSource& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("source", in.source)
      .Take();
}
std::string Text(const input::HandleSignalled& in) {
  return Fields(in.kName)
      .Add("handle", in.handle)
      .Add("signals", FormatSignals(in.signals))
      .Take();
}
std::string Text(const input::SuspendContainer& in) {
  return Fields(in.kName).Add("request", in.request).Take();
}
std::string Text(const input::InstallContainer& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("container", in.container)
      .Add("spec", ContainerSpecText(in.spec))
      .Take();
}
std::string Text(const input::StartContainer& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("container", in.container)
      .Take();
}
// vm_booted, agent_connected, process_created and process_started.
template <typename Completion>
std::string CompletionText(const Completion& in) {
  return Fields(in.kName)
      .Add("container", in.container)
      .Add("error", OptionalString(in.error))
      .Take();
}
std::string Text(const input::VmBooted& in) { return CompletionText(in); }
std::string Text(const input::AgentConnected& in) { return CompletionText(in); }
std::string Text(const input::ProcessCreated& in) { return CompletionText(in); }
std::string Text(const input::ProcessStarted& in) { return CompletionText(in); }
std::string Text(const input::ContainerExited& in) {
  return Fields(in.kName)
      .Add("container", in.container)
      .Add("status", FormatExitStatus(in.status))
      .Take();
}
std::string Text(const input::CgroupMemory& in) {
  return Fields(in.kName)
      .Add("container", in.container)
      .Add("event", MemoryText(in.event))
      .Take();
}
std::string Text(const input::WaitContainer& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("container", in.container)
      .Take();
}
std::string Text(const input::StopContainer& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("container", in.container)
      .Add("grace", Optional(in.grace, Duration))
      .Take();
}
std::string Text(const input::KillContainer& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("container", in.container)
      .Add("signal", SignalNumber(in.signal))
      .Take();
}
std::string Text(const input::UninstallContainer& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("container", in.container)
      .Take();
}
std::string Text(const input::CopyFile& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("container", in.container)
      .Add("direction", input::CopyDirectionName(in.direction))
      .Add("guest_path", Quoted(in.guest_path))
      .Take();
}
std::string Text(const input::AttachBlockDevice& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("container", in.container)
      .Add("slot", absl::StrCat(in.slot))
      .Take();
}
std::string Text(const input::SubscribeEvents& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("subscriber", in.subscriber)
      .Take();
}
std::string Text(const input::PollEvents& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("subscriber", in.subscriber)
      .Add("max_events", absl::StrCat(in.max_events))
      .Take();
}
std::string Text(const input::UnsubscribeEvents& in) {
  return Fields(in.kName)
      .Add("request", in.request)
      .Add("subscriber", in.subscriber)
      .Take();
}
std::string Text(const input::Shutdown& in) {
  return Fields(in.kName).Add("request", in.request).Take();
}

// ---- Actions ----

std::string Text(const action::Reply& a) {
  Fields fields(a.kName);
  fields.Add("request", a.request).Add("status", DescribeStatus(a.status));
  if (!std::holds_alternative<std::monostate>(a.value)) {
    fields.Add("value", DescribeReplyValue(a.value));
  }
  return fields.Take();
}
std::string Text(const action::VmStateChanged& a) {
  return Fields(a.kName)
      .Add("cid", a.cid)
      .Add("state", VmStateName(a.state))
      .Take();
}
std::string Text(const action::PayloadStateChanged& a) {
  return Fields(a.kName)
      .Add("cid", a.cid)
      .Add("state", PayloadStateName(a.state))
      .Take();
}
std::string Text(const action::GuestError& a) {
  return Fields(a.kName)
      .Add("cid", a.cid)
      .Add("message", Quoted(a.message))
      .Take();
}
std::string Text(const action::SpawnVmm& a) {
  return Fields(a.kName)
      .Add("cid", a.cid)
      .Add("argv", QuotedList(a.argv))
      .Take();
}
std::string Text(const action::KillVmm& a) {
  return Fields(a.kName).Add("cid", a.cid).Take();
}
std::string Text(const action::ReadFailureReason& a) {
  return Fields(a.kName)
      .Add("cid", a.cid)
      .Add("max_bytes", absl::StrCat(a.max_bytes))
      .Take();
}
std::string Text(const action::OnDied& a) {
  return Fields(a.kName)
      .Add("cid", a.cid)
      .Add("reason", DeathReasonName(a.reason))
      .Take();
}
std::string Text(const action::RemoveTempDir& a) {
  return Fields(a.kName).Add("cid", a.cid).Take();
}
std::string Text(const action::ArmTimer& a) {
  return Fields(a.kName)
      .Add("timer", FormatTimerId(a.timer))
      .Add("deadline", FormatInstant(a.deadline))
      .Take();
}
std::string Text(const action::CancelTimer& a) {
  return Fields(a.kName).Add("timer", FormatTimerId(a.timer)).Take();
}
std::string Text(const action::ReadMessage& a) {
  return Fields(a.kName).Add("endpoint", a.endpoint).Take();
}
std::string Text(const action::WriteMessage& a) {
  return Fields(a.kName)
      .Add("endpoint", a.endpoint)
      .Add("message", DescribeMessage(a.message))
      .Take();
}
std::string Text(const action::CloseEndpoint& a) {
  return Fields(a.kName).Add("endpoint", a.endpoint).Take();
}
std::string Text(const action::CounterAdd& a) {
  return Fields(a.kName)
      .Add("counter", a.counter)
      .Add("delta", Delta(a.delta))
      .Take();
}
std::string Text(const action::ProxyStopped& a) {
  return Fields(a.kName).Add("proxy", a.proxy).Take();
}
std::string Text(const action::WakeSourceAdded& a) {
  return Fields(a.kName)
      .Add("source", a.source)
      .Add("name", Quoted(a.name))
      .Take();
}
std::string Text(const action::WakeSourceRemoved& a) {
  return Fields(a.kName).Add("source", a.source).Take();
}
std::string Text(const action::SignalWatcher& a) {
  return Fields(a.kName)
      .Add("watcher", a.watcher)
      .Add("signal", WakeSignalName(a.signal))
      .Take();
}
std::string Text(const action::SuspendGuest& a) { return std::string(a.kName); }
std::string Text(const action::ResumeGuest& a) { return std::string(a.kName); }
std::string Text(const action::BootVm& a) {
  return Fields(a.kName)
      .Add("container", a.container)
      .Add("attempt", absl::StrCat(a.attempt))
      .Take();
}
std::string Text(const action::ConnectAgent& a) {
  return Fields(a.kName)
      .Add("container", a.container)
      .Add("attempt", absl::StrCat(a.attempt))
      .Take();
}
std::string Text(const action::StartSocketRelay& a) {
  return Fields(a.kName)
      .Add("container", a.container)
      .Add("port", absl::StrCat(a.port))
      .Take();
}
std::string Text(const action::CreateProcess& a) {
  return Fields(a.kName).Add("container", a.container).Take();
}
std::string Text(const action::StartProcess& a) {
  return Fields(a.kName).Add("container", a.container).Take();
}
std::string Text(const action::SignalContainer& a) {
  return Fields(a.kName)
      .Add("container", a.container)
      .Add("signal", SignalNumber(a.signal))
      .Take();
}
std::string Text(const action::WaitProcess& a) {
  return Fields(a.kName).Add("container", a.container).Take();
}
std::string Text(const action::StopSocketRelays& a) {
  return Fields(a.kName).Add("container", a.container).Take();
}
std::string Text(const action::DeleteProcess& a) {
  return Fields(a.kName).Add("container", a.container).Take();
}
std::string Text(const action::StopVm& a) {
  return Fields(a.kName).Add("container", a.container).Take();
}
std::string Text(const action::StartTransfer& a) {
  return Fields(a.kName)
      .Add("container", a.container)
      .Add("direction", input::CopyDirectionName(a.direction))
      .Add("port", absl::StrCat(a.port))
      .Add("path", Quoted(a.path))
      .Take();
}
std::string Text(const action::EmitContainerEvent& a) {
  return absl::StrCat(Fields(a.kName).Add("container", a.container).Take(), " ",
                      DescribeContainerEvent(a.event));
}
std::string Text(const action::ReleaseHostResources& a) {
  return std::string(a.kName);
}
std::string Text(const action::ShutdownComplete& a) {
  return std::string(a.kName);
}

}  // namespace

std::string DescribeInput(const Input& input) {
  return std::visit([](const auto& in) { return Text(in); }, input);
}

std::string DescribeAction(const Action& action) {
  return std::visit([](const auto& a) { return Text(a); }, action);
}

std::vector<std::string> DescribeActions(const ActionList& actions) {
  std::vector<std::string> lines;
  lines.reserve(actions.size());
  for (const Action& action : actions) lines.push_back(DescribeAction(action));
  return lines;
}

std::string DescribeStatus(const absl::Status& status) {
  if (status.ok()) return "OK";
  std::string text = absl::StatusCodeToString(status.code());
  if (!status.message().empty()) {
    absl::StrAppend(&text, ": ", Escape(status.message()));
  }
  // The runtime attaches no payloads, but a status that has them shows them.
  // Abseil visits payloads in an unspecified order, so they are sorted.
  std::vector<std::pair<std::string, std::string>> payloads;
  status.ForEachPayload(
      [&payloads](absl::string_view type_url, const absl::Cord& payload) {
        payloads.emplace_back(std::string(type_url), std::string(payload));
      });
  std::sort(payloads.begin(), payloads.end());
  for (const auto& [type_url, payload] : payloads) {
    absl::StrAppend(&text, " [", Escape(type_url), "=", QuotedBounded(payload),
                    "]");
  }
  return text;
}

std::string DescribeMessage(const Message& message) {
  std::vector<std::string> handles;
  const size_t shown = std::min(message.handles.size(), kDescribedHandles);
  handles.reserve(shown);
  for (size_t i = 0; i < shown; ++i) {
    handles.push_back(ToString(message.handles[i]));
  }
  std::string text =
      absl::StrCat(QuotedBounded(message.bytes), " handles=", List(handles));
  if (shown < message.handles.size()) {
    absl::StrAppend(&text, "...(", message.handles.size(), " handles)");
  }
  return text;
}

std::string DescribeReplyValue(const ReplyValue& value) {
  struct Render {
    std::string operator()(std::monostate) const { return ""; }
    std::string operator()(const ExitStatus& s) const {
      return FormatExitStatus(s);
    }
    std::string operator()(const SuspendResult& r) const {
      return SuspendResultText(r);
    }
    std::string operator()(const StartupTiming& t) const {
      return StartupTimingText(t);
    }
    std::string operator()(const EventBatch& b) const {
      return EventBatchText(b);
    }
    std::string operator()(const std::string& s) const { return Quoted(s); }
  };
  return std::visit(Render{}, value);
}

std::string DescribeContainerEvent(const ContainerEvent& event) {
  Fields fields;
  fields.Add("kind", ContainerEventKindName(event.kind));
  // `exit` is set iff the kind is exit and `memory` meaningful iff cgroup;
  // either one shows whenever it is meaningful or, against the rule, set.
  if (event.kind == ContainerEvent::Kind::kExit || event.exit.has_value()) {
    fields.Add("status", Optional(event.exit, FormatExitStatus));
  }
  if (event.kind == ContainerEvent::Kind::kCGroup ||
      event.memory != MemoryEvent{}) {
    fields.Add("memory", MemoryText(event.memory));
  }
  return fields.Take();
}

}  // namespace proctor
