#include "sim/timeline/perfetto.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "runtime/model/channel_types.h"
#include "runtime/model/container_types.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/vm_types.h"
#include "sim/trace/json_codec.h"
#include "sim/world/fault_kind.h"

namespace proctor::sim {
namespace {

// Processes group the tracks; their ids double as their sort order.
constexpr int kVmsPid = 1;
constexpr int kContainersPid = 2;
constexpr int kProxiesPid = 3;
constexpr int kSupervisorPid = 4;
// Thread ids are unique across processes and never equal a pid, so that no
// viewer mistakes a track for a process's main thread.
constexpr uint64_t kFirstTid = 10;

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// A JSON string literal. Names built from the trace are valid UTF-8 (the
// reader decoded them from JSON), but a bad byte must not abort the dump.
std::string Quote(absl::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Microseconds with exactly three decimals, from integer nanoseconds, so no
// floating point is involved and the bytes are the same everywhere.
std::string Micros(int64_t ns) {
  const bool negative = ns < 0;
  const uint64_t magnitude = negative ? uint64_t{0} - static_cast<uint64_t>(ns)
                                      : static_cast<uint64_t>(ns);
  return absl::StrFormat("%s%d.%03d", negative ? "-" : "", magnitude / 1000,
                         magnitude % 1000);
}

// The members of one trace line, without braces: seq, t_ns, dir, kind and
// the fields, as the trace writer puts them.
std::string EventMembers(const TraceEvent& event) {
  std::string out =
      absl::StrCat("\"seq\":", event.seq, ",\"t_ns\":", event.t.ns,
                   ",\"dir\":\"", TraceDirName(event.dir), "\",");
  std::visit(Overloaded{
                 [&](const Input& in) { AppendInputMembers(in, &out); },
                 [&](const Action& a) { AppendActionMembers(a, &out); },
                 [&](const WorldFact& f) { AppendFactMembers(f, &out); },
             },
             event.value);
  return out;
}

// A slice that has begun: what it is and the members of the event that began
// it, kept until the event that ends it.
struct OpenSlice {
  bool open = false;
  int64_t start_ns = 0;
  std::string name;
  std::string cat;
  std::string args;
};

struct Track {
  int pid = 0;
  uint64_t tid = 0;
  std::string name;
  // State slices; `inner` (a VM's payload state) always lies within `outer`.
  OpenSlice outer;
  OpenSlice inner;
};

struct OpenRequest {
  size_t lane = 0;  // index into Converter::lanes_
  int64_t start_ns = 0;
  std::string kind;
  std::string args;
  std::optional<uint64_t> proxy;  // set for add_proxy
};

class Converter {
 public:
  Converter(TraceReader& reader, std::ostream& out,
            const PerfettoOptions& options)
      : reader_(reader), out_(out), options_(options) {}

  absl::Status Run(PerfettoStats* stats);

 private:
  absl::Status Handle(const TraceEvent& event);
  absl::Status HandleInput(const TraceEvent& event, const Input& input,
                           const std::string& members);
  absl::Status HandleAction(const TraceEvent& event, const Action& action,
                            const std::string& members);
  absl::Status HandleFact(const TraceEvent& event, const WorldFact& fact,
                          const std::string& members);

  // An error at the line just read.
  absl::Status Fail(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(
        options_.trace_name, ":", reader_.line_number(), ": ", what));
  }

  absl::StatusOr<size_t> NewTrack(int pid, std::string name);
  absl::StatusOr<size_t> ObjectTrack(
      absl::flat_hash_map<uint64_t, size_t>& tracks, int pid,
      absl::string_view what, uint64_t id);
  absl::StatusOr<size_t> Vm(uint64_t cid) {
    return ObjectTrack(vms_, kVmsPid, "vm", cid);
  }
  absl::StatusOr<size_t> Container(uint64_t id) {
    return ObjectTrack(containers_, kContainersPid, "container", id);
  }
  absl::StatusOr<size_t> Proxy(uint64_t id) {
    return ObjectTrack(proxies_, kProxiesPid, "proxy", id);
  }
  // The lowest lane with no open request, a new one when all are busy.
  absl::StatusOr<size_t> FreeLane();

  // Counts `bytes` more held for open slices, or fails past the limit.
  absl::Status Reserve(size_t bytes) {
    if (open_bytes_ + bytes > options_.max_open_bytes) {
      return Fail(absl::StrCat("expected at most ", options_.max_open_bytes,
                               " bytes of events that begin slices not yet "
                               "ended, found more"));
    }
    open_bytes_ += bytes;
    return absl::OkStatus();
  }
  absl::Status Open(OpenSlice& slice, absl::string_view name,
                    absl::string_view cat, int64_t t, std::string args);
  // `end` is a JSON value: the ending event's object, or a string.
  void Close(const Track& track, OpenSlice& slice, int64_t t,
             absl::string_view end);
  void CloseAll(Track& track, int64_t t, absl::string_view end) {
    Close(track, track.inner, t, end);
    Close(track, track.outer, t, end);
  }
  void CloseRequest(uint64_t request, int64_t t, absl::string_view name,
                    absl::string_view reply);

  void WriteEvent(absl::string_view body);
  void Slice(const Track& track, absl::string_view name, absl::string_view cat,
             int64_t start, int64_t end, absl::string_view args);
  void Instant(const Track& track, absl::string_view name,
               absl::string_view cat, int64_t t, absl::string_view args);
  void WriteMetadata(const TraceHeader& header, const TraceEnd& end);

  TraceReader& reader_;
  std::ostream& out_;
  const PerfettoOptions& options_;

  std::vector<Track> tracks_;  // in creation order, which is tid order
  absl::flat_hash_map<uint64_t, size_t> vms_;
  absl::flat_hash_map<uint64_t, size_t> containers_;
  absl::flat_hash_map<uint64_t, size_t> proxies_;
  size_t power_ = 0;
  size_t faults_ = 0;
  std::vector<size_t> lanes_;  // track index of request lane i
  // Lanes with no open request; ordered so the lowest is reused first, in
  // logarithmic time even when a trace leaves thousands of requests open.
  absl::btree_set<size_t> free_lanes_;
  // Ordered, so that requests still open at the end close in a fixed order.
  absl::btree_map<uint64_t, OpenRequest> requests_;
  size_t open_bytes_ = 0;

  bool first_event_ = true;
  uint64_t slices_ = 0;
  uint64_t instants_ = 0;
};

absl::StatusOr<size_t> Converter::NewTrack(int pid, std::string name) {
  if (tracks_.size() >= options_.max_tracks) {
    return Fail(absl::StrCat("expected at most ", options_.max_tracks,
                             " tracks (VMs, containers, proxies and lanes of "
                             "concurrent requests), found more"));
  }
  Track track;
  track.pid = pid;
  track.tid = kFirstTid + tracks_.size();
  track.name = std::move(name);
  tracks_.push_back(std::move(track));
  return tracks_.size() - 1;
}

absl::StatusOr<size_t> Converter::ObjectTrack(
    absl::flat_hash_map<uint64_t, size_t>& tracks, int pid,
    absl::string_view what, uint64_t id) {
  auto it = tracks.find(id);
  if (it != tracks.end()) return it->second;
  absl::StatusOr<size_t> track = NewTrack(pid, absl::StrCat(what, " ", id));
  if (track.ok()) tracks.emplace(id, *track);
  return track;
}

absl::StatusOr<size_t> Converter::FreeLane() {
  if (!free_lanes_.empty()) {
    const size_t lane = *free_lanes_.begin();
    free_lanes_.erase(free_lanes_.begin());
    return lane;
  }
  absl::StatusOr<size_t> track =
      NewTrack(kSupervisorPid,
               lanes_.empty() ? std::string("requests")
                              : absl::StrCat("requests ", lanes_.size() + 1));
  if (!track.ok()) return track.status();
  lanes_.push_back(*track);
  return lanes_.size() - 1;
}

void Converter::WriteEvent(absl::string_view body) {
  out_ << (first_event_ ? "\n" : ",\n") << body;
  first_event_ = false;
}

void Converter::Slice(const Track& track, absl::string_view name,
                      absl::string_view cat, int64_t start, int64_t end,
                      absl::string_view args) {
  WriteEvent(absl::StrCat("{\"name\":", Quote(name), ",\"cat\":\"", cat,
                          "\",\"ph\":\"X\",\"ts\":", Micros(start), ",\"dur\":",
                          Micros(end - start), ",\"pid\":", track.pid,
                          ",\"tid\":", track.tid, ",\"args\":", args, "}"));
  ++slices_;
}

void Converter::Instant(const Track& track, absl::string_view name,
                        absl::string_view cat, int64_t t,
                        absl::string_view args) {
  WriteEvent(absl::StrCat("{\"name\":", Quote(name), ",\"cat\":\"", cat,
                          "\",\"ph\":\"i\",\"s\":\"t\",\"ts\":", Micros(t),
                          ",\"pid\":", track.pid, ",\"tid\":", track.tid,
                          ",\"args\":{", args, "}}"));
  ++instants_;
}

absl::Status Converter::Open(OpenSlice& slice, absl::string_view name,
                             absl::string_view cat, int64_t t,
                             std::string args) {
  if (absl::Status s = Reserve(args.size()); !s.ok()) return s;
  slice.open = true;
  slice.start_ns = t;
  slice.name = std::string(name);
  slice.cat = std::string(cat);
  slice.args = std::move(args);
  return absl::OkStatus();
}

void Converter::Close(const Track& track, OpenSlice& slice, int64_t t,
                      absl::string_view end) {
  if (!slice.open) return;
  Slice(track, slice.name, slice.cat, slice.start_ns, t,
        absl::StrCat("{", slice.args, ",\"end\":", end, "}"));
  open_bytes_ -= slice.args.size();
  slice = OpenSlice();
}

void Converter::CloseRequest(uint64_t request, int64_t t,
                             absl::string_view name, absl::string_view reply) {
  auto it = requests_.find(request);
  OpenRequest& r = it->second;
  Slice(tracks_[lanes_[r.lane]], name, "request", r.start_ns, t,
        absl::StrCat("{", r.args, ",\"reply\":", reply, "}"));
  free_lanes_.insert(r.lane);
  open_bytes_ -= r.args.size();
  requests_.erase(it);
}

absl::Status Converter::HandleInput(const TraceEvent& event, const Input& input,
                                    const std::string& members) {
  const int64_t t = event.t.ns;
  // Objects get their track when they are first asked for, so that a VM
  // that never starts still shows, and faults aimed at it find it.
  absl::Status status =
      std::visit(Overloaded{
                     [&](const input::CreateVm& in) {
                       return Vm(in.config.cid.value).status();
                     },
                     [&](const input::InstallContainer& in) {
                       return Container(in.container.value).status();
                     },
                     [&](const input::AddProxy& in) {
                       return Proxy(in.proxy.value).status();
                     },
                     [](const auto&) { return absl::OkStatus(); },
                 },
                 input);
  if (!status.ok()) return status;

  const std::optional<RequestId> request = InputRequest(input);
  if (!request.has_value()) return absl::OkStatus();
  if (requests_.contains(request->value)) {
    CloseRequest(
        request->value, t, requests_[request->value].kind,
        Quote(absl::StrCat("none: request id reused at seq ", event.seq)));
  }
  absl::StatusOr<size_t> lane = FreeLane();
  if (!lane.ok()) return lane.status();
  if (absl::Status s = Reserve(members.size()); !s.ok()) return s;
  OpenRequest r;
  r.lane = *lane;
  r.start_ns = t;
  r.kind = std::string(InputName(input));
  r.args = members;
  if (const auto* add = std::get_if<input::AddProxy>(&input)) {
    r.proxy = add->proxy.value;
  }
  requests_.emplace(request->value, std::move(r));
  return absl::OkStatus();
}

absl::Status Converter::HandleAction(const TraceEvent& event,
                                     const Action& action,
                                     const std::string& members) {
  const int64_t t = event.t.ns;
  const std::string end = absl::StrCat("{", members, "}");
  const std::string args = members;
  return std::visit(
      Overloaded{
          [&](const action::Reply& a) -> absl::Status {
            auto it = requests_.find(a.request.value);
            if (it == requests_.end()) {
              Instant(tracks_[lanes_[0]], "reply without a request", "request",
                      t, args);
              return absl::OkStatus();
            }
            std::string name = it->second.kind;
            if (!a.status.ok()) {
              absl::StrAppend(&name, " ",
                              absl::StatusCodeToString(a.status.code()));
            }
            const std::optional<uint64_t> proxy = it->second.proxy;
            const std::string add_proxy = it->second.args;
            CloseRequest(a.request.value, t, name, end);
            if (proxy.has_value() && a.status.ok()) {
              absl::StatusOr<size_t> track = Proxy(*proxy);
              if (!track.ok()) return track.status();
              Track& tr = tracks_[*track];
              CloseAll(tr, t, end);
              return Open(tr.outer, "running", "proxy", t, add_proxy);
            }
            return absl::OkStatus();
          },
          [&](const action::VmStateChanged& a) -> absl::Status {
            absl::StatusOr<size_t> track = Vm(a.cid.value);
            if (!track.ok()) return track.status();
            Track& tr = tracks_[*track];
            // The payload slice ends with the VM state it began in, so that
            // it always nests inside it.
            CloseAll(tr, t, end);
            return Open(tr.outer, VmStateName(a.state), "vm", t, args);
          },
          [&](const action::PayloadStateChanged& a) -> absl::Status {
            absl::StatusOr<size_t> track = Vm(a.cid.value);
            if (!track.ok()) return track.status();
            Track& tr = tracks_[*track];
            Close(tr, tr.inner, t, end);
            return Open(tr.inner,
                        absl::StrCat("payload ", PayloadStateName(a.state)),
                        "payload", t, args);
          },
          [&](const action::GuestError& a) -> absl::Status {
            absl::StatusOr<size_t> track = Vm(a.cid.value);
            if (!track.ok()) return track.status();
            Instant(tracks_[*track], "guest_error", "vm", t, args);
            return absl::OkStatus();
          },
          [&](const action::OnDied& a) -> absl::Status {
            absl::StatusOr<size_t> track = Vm(a.cid.value);
            if (!track.ok()) return track.status();
            Instant(tracks_[*track],
                    absl::StrCat("on_died ", DeathReasonName(a.reason)), "vm",
                    t, args);
            return absl::OkStatus();
          },
          [&](const action::EmitContainerEvent& a) -> absl::Status {
            absl::StatusOr<size_t> track = Container(a.container.value);
            if (!track.ok()) return track.status();
            Track& tr = tracks_[*track];
            using Kind = ContainerEvent::Kind;
            switch (a.event.kind) {
              case Kind::kCGroup:
                Instant(tr, "cgroup", "container", t, args);
                return absl::OkStatus();
              case Kind::kInstalled:
                CloseAll(tr, t, end);
                return Open(tr.outer, "installed", "container", t, args);
              case Kind::kStarted:
                CloseAll(tr, t, end);
                return Open(tr.outer, "running", "container", t, args);
              case Kind::kExit:
                CloseAll(tr, t, end);
                return Open(tr.outer,
                            a.event.exit.has_value()
                                ? absl::StrCat("exited ",
                                               FormatExitStatus(*a.event.exit))
                                : std::string("exited"),
                            "container", t, args);
              case Kind::kUninstalled:
                CloseAll(tr, t, end);
                Instant(tr, "uninstalled", "container", t, args);
                return absl::OkStatus();
            }
            return absl::OkStatus();
          },
          [&](const action::ProxyStopped& a) -> absl::Status {
            absl::StatusOr<size_t> track = Proxy(a.proxy.value);
            if (!track.ok()) return track.status();
            Track& tr = tracks_[*track];
            if (tr.outer.open) {
              CloseAll(tr, t, end);
            } else {
              Instant(tr, "proxy_stopped", "proxy", t, args);
            }
            return absl::OkStatus();
          },
          [&](const action::SuspendGuest&) -> absl::Status {
            Track& tr = tracks_[power_];
            if (tr.outer.open) {
              Instant(tr, "suspend_guest while suspended", "power", t, args);
              return absl::OkStatus();
            }
            return Open(tr.outer, "suspended", "power", t, args);
          },
          [&](const action::ResumeGuest&) -> absl::Status {
            Track& tr = tracks_[power_];
            if (tr.outer.open) {
              CloseAll(tr, t, end);
            } else {
              Instant(tr, "resume_guest while not suspended", "power", t, args);
            }
            return absl::OkStatus();
          },
          [&](const action::SignalWatcher& a) -> absl::Status {
            Instant(tracks_[power_],
                    absl::StrCat("signal_watcher ", WakeSignalName(a.signal)),
                    "power", t, args);
            return absl::OkStatus();
          },
          [](const auto&) -> absl::Status { return absl::OkStatus(); },
      },
      action);
}

absl::Status Converter::HandleFact(const TraceEvent& event,
                                   const WorldFact& fact,
                                   const std::string& members) {
  const auto* fired = std::get_if<fact::FaultFired>(&fact);
  if (fired == nullptr) return absl::OkStatus();
  // On the target's track when the target is a VM, container or proxy the
  // trace has mentioned; the rest (wake sources, "every object", objects
  // never seen) go on the faults track.
  size_t track = faults_;
  if (std::optional<FaultKind> kind = ParseFaultKind(fired->kind)) {
    const absl::flat_hash_map<uint64_t, size_t>* objects = nullptr;
    switch (FaultTargetOf(*kind)) {
      case FaultTarget::kVm:
        objects = &vms_;
        break;
      case FaultTarget::kContainer:
        objects = &containers_;
        break;
      case FaultTarget::kProxy:
        objects = &proxies_;
        break;
      case FaultTarget::kAny:
      case FaultTarget::kHandleSource:
        break;
    }
    if (objects != nullptr) {
      auto it = objects->find(fired->target);
      if (it != objects->end()) track = it->second;
    }
  }
  Instant(tracks_[track], absl::StrCat("fault ", fired->kind), "fault",
          event.t.ns, members);
  return absl::OkStatus();
}

absl::Status Converter::Handle(const TraceEvent& event) {
  const std::string members = EventMembers(event);
  return std::visit(
      Overloaded{
          [&](const Input& in) { return HandleInput(event, in, members); },
          [&](const Action& a) { return HandleAction(event, a, members); },
          [&](const WorldFact& f) { return HandleFact(event, f, members); },
      },
      event.value);
}

void Converter::WriteMetadata(const TraceHeader& header, const TraceEnd& end) {
  // Processes with no track are left out rather than shown empty.
  bool used[kSupervisorPid + 1] = {};
  for (const Track& track : tracks_) used[track.pid] = true;
  const std::pair<int, absl::string_view> processes[] = {
      {kVmsPid, "VMs"},
      {kContainersPid, "Containers"},
      {kProxiesPid, "Proxies"},
      {kSupervisorPid, "Supervisor"}};
  for (const auto& [pid, name] : processes) {
    if (!used[pid]) continue;
    WriteEvent(
        absl::StrCat("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":", pid,
                     ",\"tid\":0,\"args\":{\"name\":", Quote(name), "}}"));
    WriteEvent(absl::StrCat(
        "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":", pid,
        ",\"tid\":0,\"args\":{\"sort_index\":", pid, "}}"));
  }
  for (const Track& track : tracks_) {
    WriteEvent(absl::StrCat("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":",
                            track.pid, ",\"tid\":", track.tid,
                            ",\"args\":{\"name\":", Quote(track.name), "}}"));
    WriteEvent(absl::StrCat(
        "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":", track.pid,
        ",\"tid\":", track.tid, ",\"args\":{\"sort_index\":", track.tid, "}}"));
  }

  nlohmann::ordered_json meta;
  meta["source"] = "proctor trace";
  meta["trace_format"] = std::string(kTraceFormat);
  meta["trace_version"] = kTraceVersion;
  meta["seed"] = header.seed;
  meta["swarm"] = header.swarm;
  meta["mutant"] = header.mutant.has_value()
                       ? nlohmann::ordered_json(*header.mutant)
                       : nlohmann::ordered_json(nullptr);
  meta["sut"] = header.sut;
  meta["workload"] = nlohmann::ordered_json::parse(header.workload.dump());
  meta["fault_plan"] = header.fault_plan;
  meta["events"] = end.events;
  meta["hash"] = FormatTraceHash(end.hash);
  meta["verdict"] = end.passed() ? "pass" : "fail";
  if (end.violation.has_value()) {
    std::string message;
    AppendJsonBytes(end.violation->message, &message);
    meta["violation"] = {{"rule", end.violation->rule},
                         {"message", nlohmann::ordered_json::parse(message)},
                         {"seq", end.violation->seq},
                         {"t_ns", end.violation->at.ns}};
  } else {
    meta["violation"] = nullptr;
  }
  out_ << "\n],\n\"displayTimeUnit\":\"ms\",\n\"metadata\":"
       << meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
       << "}\n";
}

absl::Status Converter::Run(PerfettoStats* stats) {
  absl::StatusOr<TraceHeader> header = reader_.ReadHeader();
  if (!header.ok()) return header.status();

  out_ << "{\"traceEvents\":[";
  // The supervisor's tracks exist in every timeline, in a fixed order.
  absl::StatusOr<size_t> track = NewTrack(kSupervisorPid, "power");
  if (!track.ok()) return track.status();
  power_ = *track;
  absl::StatusOr<size_t> lane = FreeLane();  // "requests", lane 0
  if (!lane.ok()) return lane.status();
  free_lanes_.insert(*lane);
  track = NewTrack(kSupervisorPid, "faults");
  if (!track.ok()) return track.status();
  faults_ = *track;

  int64_t last_ns = 0;
  while (true) {
    absl::StatusOr<std::optional<TraceEvent>> event = reader_.Next();
    if (!event.ok()) return event.status();
    if (!event->has_value()) break;
    if ((*event)->seq > options_.max_events) {
      return Fail(absl::StrCat("expected at most ", options_.max_events,
                               " events (the most a timeline holds), found "
                               "more"));
    }
    last_ns = (*event)->t.ns;
    if (absl::Status s = Handle(**event); !s.ok()) return s;
  }
  const TraceEnd& end = *reader_.end();

  if (end.violation.has_value()) {
    const Violation& v = *end.violation;
    std::string message;
    AppendJsonBytes(v.message, &message);
    WriteEvent(absl::StrCat(
        "{\"name\":", Quote(absl::StrCat("VIOLATION ", v.rule)),
        ",\"cat\":\"violation\",\"ph\":\"i\",\"s\":\"g\",\"ts\":",
        Micros(v.at.ns), ",\"pid\":", kSupervisorPid,
        ",\"tid\":", tracks_[faults_].tid,
        ",\"cname\":\"terrible\",\"args\":{\"rule\":", Quote(v.rule),
        ",\"message\":", message, ",\"seq\":", v.seq, ",\"t_ns\":", v.at.ns,
        "}}"));
    ++instants_;
  }

  // What is still open ends with the trace.
  const std::string at_end = Quote("end of trace");
  for (Track& t : tracks_) CloseAll(t, last_ns, at_end);
  while (!requests_.empty()) {
    const auto& [id, r] = *requests_.begin();
    CloseRequest(id, last_ns, r.kind, Quote("none before the end of trace"));
  }

  WriteMetadata(*header, end);
  out_.flush();
  if (!out_.good()) return absl::InternalError("writing the timeline failed");
  if (stats != nullptr) {
    stats->events = end.events;
    stats->tracks = tracks_.size();
    stats->slices = slices_;
    stats->instants = instants_;
    stats->passed = end.passed();
    stats->violated_rule.reset();
    if (end.violation.has_value()) stats->violated_rule = end.violation->rule;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WritePerfettoTimeline(TraceReader& reader, std::ostream& out,
                                   const PerfettoOptions& options,
                                   PerfettoStats* stats) {
  Converter converter(reader, out, options);
  return converter.Run(stats);
}

}  // namespace proctor::sim
