#include "sim/replay/replay.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "runtime/model/action.h"
#include "sim/campaign/campaign.h"
#include "sim/trace/json_codec.h"

namespace proctor::sim {
namespace {

absl::Status HeaderError(const ReplayOptions& options, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(options.trace_name, ":1: ", what));
}

// The encoded value as the trace line carries it, as one JSON object.
void EncodeActionText(const Action& action, std::string* out) {
  out->assign("{");
  AppendActionMembers(action, out);
  out->push_back('}');
}

std::string EventText(const TraceEvent& event) {
  std::string text = "{";
  std::visit(
      [&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, Input>) {
          AppendInputMembers(value, &text);
        } else if constexpr (std::is_same_v<T, Action>) {
          AppendActionMembers(value, &text);
        } else {
          AppendFactMembers(value, &text);
        }
      },
      event.value);
  text.push_back('}');
  return text;
}

// The last `capacity` events, so that a difference can be shown in context
// without keeping the whole trace.
class ContextRing {
 public:
  explicit ContextRing(size_t capacity) : capacity_(capacity) {
    events_.reserve(capacity_);
  }

  void Push(TraceEvent&& event) {
    if (capacity_ == 0) return;
    if (events_.size() < capacity_) {
      events_.push_back(std::move(event));
    } else {
      events_[oldest_] = std::move(event);
      oldest_ = (oldest_ + 1) % capacity_;
    }
  }

  // Oldest first.
  std::vector<ReplayEvent> Take() const {
    std::vector<ReplayEvent> out;
    out.reserve(events_.size());
    for (size_t i = 0; i < events_.size(); ++i) {
      const TraceEvent& e = events_[(oldest_ + i) % events_.size()];
      out.push_back(ReplayEvent{e.seq, e.t, e.dir, EventText(e)});
    }
    return out;
  }

 private:
  size_t capacity_;
  size_t oldest_ = 0;
  std::vector<TraceEvent> events_;
};

absl::StatusOr<uint32_t> WorkloadSize(const TraceHeader& header,
                                      const ReplayOptions& options,
                                      const char* key) {
  if (!header.workload.is_object()) return 0u;
  const auto it = header.workload.find(key);
  if (it == header.workload.end()) return 0u;
  if (!it->is_number_unsigned() ||
      it->get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
    return HeaderError(
        options,
        absl::StrCat("expected \"workload\" member \"", key,
                     "\" to be an integer from 0 to 4294967295, found ",
                     it->dump()));
  }
  return static_cast<uint32_t>(it->get<uint64_t>());
}

}  // namespace

absl::StatusOr<Supervisor::Options> ReplaySupervisorOptions(
    const TraceHeader& header, const ReplayOptions& options) {
  if (header.sut != "reference") {
    return HeaderError(
        options,
        absl::StrCat("expected \"sut\" to be \"reference\" (replay "
                     "runs the reference runtime), found ",
                     nlohmann::json(header.sut)
                         .dump(-1, ' ', false,
                               nlohmann::json::error_handler_t::replace)));
  }
  std::optional<Mutant> mutant;
  if (header.mutant) {
    mutant = ParseMutant(*header.mutant);
    if (!mutant) {
      return HeaderError(
          options,
          absl::StrCat("unknown mutant ",
                       nlohmann::json(*header.mutant)
                           .dump(-1, ' ', false,
                                 nlohmann::json::error_handler_t::replace),
                       " in \"mutant\"; `proctor mutants` lists them"));
    }
  }
  if (options.override_mutant) mutant = options.mutant;

  // The limits grow with the workload's sizes (0: drawn per seed) exactly
  // as in the run that recorded the trace: a world may hold more guests
  // than the default limits allow.
  WorkloadOptions workload;
  absl::StatusOr<uint32_t> vms = WorkloadSize(header, options, "vms");
  if (!vms.ok()) return vms.status();
  absl::StatusOr<uint32_t> proxies = WorkloadSize(header, options, "proxies");
  if (!proxies.ok()) return proxies.status();
  absl::StatusOr<uint32_t> containers =
      WorkloadSize(header, options, "containers");
  if (!containers.ok()) return containers.status();
  workload.vms = *vms;
  workload.proxies = *proxies;
  workload.containers = *containers;
  return SupervisorOptionsForWorkload(workload, mutant);
}

absl::StatusOr<ReplayResult> ReplayTrace(TraceReader& reader,
                                         const ReplayOptions& options) {
  absl::StatusOr<TraceHeader> header = reader.ReadHeader();
  if (!header.ok()) return header.status();
  absl::StatusOr<Supervisor::Options> supervisor_options =
      ReplaySupervisorOptions(*header, options);
  if (!supervisor_options.ok()) return supervisor_options.status();

  ReplayResult result;
  result.header = *std::move(header);
  result.mutant =
      options.override_mutant
          ? options.mutant
          : (result.header.mutant ? ParseMutant(*result.header.mutant)
                                  : std::nullopt);
  Supervisor supervisor(*std::move(supervisor_options));
  ContextRing context(
      std::min(options.context_events, kMaxReplayContextEvents));

  // The current input: the runtime's answer to it, and how many of its
  // actions the recorded "out" lines have matched so far. `open` until the
  // first event after its "out" lines: the runtime returns all of an input's
  // actions at once, so the world writes them right after the input.
  bool have_input = false;
  bool open = false;
  uint64_t input_seq = 0;
  Instant input_t;
  ActionList replayed;
  size_t matched = 0;
  std::string recorded_text;
  std::string replayed_text;

  // A difference is only reported in a trace that is whole: the rest is
  // read (not replayed) so that a corrupted trace is an error, not a
  // difference (an edited line breaks the hash chain, checked at the end).
  auto finish_reading = [&]() -> absl::Status {
    for (;;) {
      absl::StatusOr<std::optional<TraceEvent>> next = reader.Next();
      if (!next.ok()) return next.status();
      if (!next->has_value()) return absl::OkStatus();
    }
  };
  auto differ = [&](uint64_t seq, std::optional<std::string> recorded,
                    std::optional<std::string> replayed_action) {
    ReplayDifference d;
    d.input_seq = input_seq;
    d.input_t = input_t;
    d.seq = seq;
    d.action_index = matched;
    d.recorded = std::move(recorded);
    d.replayed = std::move(replayed_action);
    d.context = context.Take();
    result.events = seq - 1;
    result.difference = std::move(d);
  };
  // At the first event after an input's "out" lines: the runtime must not
  // have returned more actions than were recorded.
  auto close_input = [&](uint64_t next_seq) {
    if (!open) return false;
    open = false;
    if (matched == replayed.size()) return false;
    EncodeActionText(replayed[matched], &replayed_text);
    differ(next_seq, std::nullopt, replayed_text);
    return true;
  };

  for (;;) {
    absl::StatusOr<std::optional<TraceEvent>> next = reader.Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) {
      close_input(reader.events() + 1);
      break;
    }
    TraceEvent& event = **next;
    switch (event.dir) {
      case TraceEvent::kIn: {
        if (close_input(event.seq)) break;
        have_input = true;
        open = true;
        input_seq = event.seq;
        input_t = event.t;
        replayed.clear();
        matched = 0;
        ++result.inputs;
        supervisor.Handle(event.t, std::get<Input>(event.value), replayed);
        break;
      }
      case TraceEvent::kOut: {
        if (!have_input) {
          return absl::InvalidArgumentError(absl::StrCat(
              options.trace_name, ":", reader.line_number(),
              ": expected an \"in\" line before the first \"out\" line: "
              "replay has no input to compare this action with"));
        }
        EncodeActionText(std::get<Action>(event.value), &recorded_text);
        if (matched == replayed.size()) {
          differ(event.seq, recorded_text, std::nullopt);
          break;
        }
        EncodeActionText(replayed[matched], &replayed_text);
        if (recorded_text != replayed_text) {
          differ(event.seq, recorded_text, replayed_text);
          break;
        }
        ++matched;
        ++result.actions;
        break;
      }
      case TraceEvent::kFact:
        close_input(event.seq);
        break;
    }
    if (result.difference) {
      if (absl::Status status = finish_reading(); !status.ok()) return status;
      return result;
    }
    context.Push(std::move(event));
  }
  if (!result.difference) result.events = reader.events();
  return result;
}

std::string FormatReplayDifference(absl::string_view trace_name,
                                   const ReplayDifference& d) {
  const char* what = !d.recorded ? "the runtime returned an action that was "
                                   "not recorded"
                     : !d.replayed
                         ? "the runtime no longer returns a recorded action"
                         : "the runtime returned a different action";
  std::string out = absl::StrFormat(
      "replay: %s: first difference at seq %d: %s\n"
      "  caused by the input at seq %d, t=%s (t_ns %d), its action #%d\n",
      trace_name, d.seq, what, d.input_seq, FormatInstant(d.input_t),
      d.input_t.ns, d.action_index + 1);
  // Columns line up for the largest seq shown.
  const size_t seq_width = absl::StrCat(d.seq).size();
  if (d.context.empty()) {
    absl::StrAppend(&out, "no events before it\n");
  } else {
    absl::StrAppend(&out, "the last ", d.context.size(), " event",
                    d.context.size() == 1 ? "" : "s", " before it:\n");
  }
  for (const ReplayEvent& e : d.context) {
    absl::StrAppend(
        &out, absl::StrFormat("  seq %*d  %s  %-4s  %s\n",
                              static_cast<int>(seq_width), e.seq,
                              FormatInstant(e.t), TraceDirName(e.dir), e.text));
  }
  absl::StrAppend(&out, "recorded: ", d.recorded ? *d.recorded : "(none)", "\n",
                  "replayed: ", d.replayed ? *d.replayed : "(none)", "\n");
  return out;
}

std::string FormatReplaySummary(const ReplayResult& result) {
  return absl::StrCat("replay: ", result.events, " events, ", result.inputs,
                      " inputs, ", result.actions, " actions: ",
                      result.identical() ? "identical" : "DIFFERENT");
}

std::string ReplaySummaryJson(absl::string_view trace_name,
                              const ReplayResult& result) {
  // Ordered: the members read in the order of the documentation.
  using json = nlohmann::ordered_json;
  // The actions are our own encoding, so they parse; were one not to, it is
  // still shown, as a string.
  auto action = [](const std::optional<std::string>& text) -> json {
    if (!text) return nullptr;
    json parsed = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? json(*text) : parsed;
  };
  json first_difference = nullptr;
  if (result.difference) {
    const ReplayDifference& d = *result.difference;
    first_difference = {
        {"seq", d.input_seq},
        {"t_ns", d.input_t.ns},
        {"action_seq", d.seq},
        {"action_index", d.action_index},
        {"recorded", action(d.recorded)},
        {"replayed", action(d.replayed)},
    };
  }
  json summary = {
      {"trace", std::string(trace_name)},
      {"mutant", result.mutant ? json(std::string(InfoOf(*result.mutant).name))
                               : json(nullptr)},
      {"events", result.events},
      {"inputs", result.inputs},
      {"actions", result.actions},
      {"identical", result.identical()},
      {"first_difference", std::move(first_difference)},
  };
  return summary.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace proctor::sim
