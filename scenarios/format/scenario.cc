#include "scenarios/format/scenario.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "runtime/model/action.h"
#include "runtime/model/exit_status.h"
#include "runtime/model/input.h"
#include "runtime/model/vm_types.h"
#include "sim/observer.h"
#include "sim/world/fault_kind.h"

namespace proctor::scenario {
namespace {

using json = nlohmann::json;

// Bounds on what grows from the input beyond the header's: strings, the
// lists of a VM config (larger than VM-1's own bounds, so that a scenario can
// send a config VM-2 must refuse), the nesting of `where`, and the work of
// walking the document: aliases let a 1 MiB file name the same node millions
// of times, so every node and scalar byte visited is charged to a budget.
constexpr size_t kMaxStringBytes = 64 * 1024;
constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxConfigListItems = 1024;
constexpr size_t kMaxWhereDepth = 16;
constexpr uint64_t kMaxWork = uint64_t{64} << 20;
constexpr absl::Duration kMaxDuration = absl::Hours(24 * 365);
constexpr int64_t kMaxBurst = 10'000;
constexpr int64_t kMaxSendCount = 10'000;
constexpr int64_t kMinSendBytes = 16;
constexpr int64_t kMaxSendBytes = 65'536;
constexpr int64_t kMaxFailureVariant = 25;
// The largest generated workloads, as `proctor sim --vms/--proxies/
// --containers` allows them, so that every run it makes can be shrunk into
// a scenario.
constexpr uint32_t kMaxGeneratedVms = 100'000;
constexpr uint32_t kMaxGeneratedProxies = 100'000;
constexpr uint32_t kMaxGeneratedContainers = 10'000;
constexpr size_t kMaxShownBytes = 40;
constexpr size_t kMaxListedIds = 10;

// The default kernel of a VM whose config names neither kernel nor
// bootloader: most scenarios do not care how a VM boots.
constexpr absl::string_view kDefaultKernel = "/images/vmlinux";

// VM-6's reasons in the order of kFailureReason's `a` (sim/world).
constexpr const auto& kFailureReasons = sim::kFailureReasonStrings;

constexpr std::array<absl::string_view, 5> kWorldNames = {
    "sim", "process", "qemu", "libvirt", "runc"};

const std::vector<std::string>& RuleIds() {
  static const std::vector<std::string>* const ids = [] {
    auto* v = new std::vector<std::string>;
    auto family = [v](absl::string_view prefix, int n) {
      for (int i = 1; i <= n; ++i) v->push_back(absl::StrCat(prefix, "-", i));
    };
    family("VM", 9);
    family("CH", 1);
    family("CT", 1);
    family("PX", 4);
    family("PW", 4);
    family("CN", 10);
    family("RT", 2);
    return v;
  }();
  return *ids;
}

constexpr absl::string_view kRuleIdsText =
    "VM-1..VM-9, CH-1, CT-1, PX-1..PX-4, PW-1..PW-4, CN-1..CN-10, RT-1, RT-2";

template <typename Variant>
struct VariantNames;
template <typename... T>
struct VariantNames<std::variant<T...>> {
  static void AddTo(std::set<std::string>* names) {
    (names->insert(std::string(T::kName)), ...);
  }
};

// Every kind an event of a run can have: inputs, actions (among them
// "reply") and world facts.
const std::set<std::string>& EventKinds() {
  static const std::set<std::string>* const kinds = [] {
    auto* s = new std::set<std::string>;
    VariantNames<Input>::AddTo(s);
    VariantNames<Action>::AddTo(s);
    VariantNames<sim::WorldFact>::AddTo(s);
    return s;
  }();
  return *kinds;
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// Up to three names close to `word`, closest first.
std::vector<std::string> CloseNames(absl::string_view word,
                                    const std::set<std::string>& names) {
  if (word.size() > kMaxShownBytes) return {};
  std::vector<std::pair<size_t, std::string>> scored;
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  for (const std::string& name : names) {
    const size_t d = EditDistance(word, name);
    if (d <= limit) scored.emplace_back(d, name);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < 3; ++i) {
    out.push_back(scored[i].second);
  }
  return out;
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinOf[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinOf[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// A scalar as shown in a message: quoted, cut short, control bytes escaped.
std::string ShowText(absl::string_view text) {
  std::string out = "'";
  size_t shown = 0;
  for (char c : text) {
    if (shown == kMaxShownBytes) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out.push_back(c);
    }
    ++shown;
  }
  out += "'";
  return out;
}

std::string FormatDurationText(absl::Duration d) {
  if (d == absl::ZeroDuration()) return "0s";
  return absl::FormatDuration(d);
}

// A value and where it was written. A key without a value ("suspend:") is
// a null node that yaml-cpp may place at the start of the next line, so the
// mark of a null value is its key's.
struct Val {
  YAML::Node node;
  YAML::Mark mark;
};

struct Entry {
  std::string key;
  YAML::Mark key_mark;
  Val value;
};

struct Fields {
  std::vector<Entry> entries;
  YAML::Mark mark;
  const Entry* Get(absl::string_view key) const {
    for (const Entry& e : entries) {
      if (e.key == key) return &e;
    }
    return nullptr;
  }
};

bool IsNull(const Val& v) { return !v.node.IsDefined() || v.node.IsNull(); }

struct DurationRule {
  bool negative = false;  // allowed below zero
  bool positive = false;  // must be above zero
  bool infinite = false;  // "inf" allowed
};

using Keys = absl::Span<const absl::string_view>;

constexpr absl::string_view kTopKeys[] = {
    "name",       "description", "rules", "worlds", "seed",      "time_limit",
    "invariants", "setup",       "steps", "expect", "generated", "faults"};
constexpr absl::string_view kSetupKeys[] = {"vms", "containers", "proxies",
                                            "wake_sources"};
constexpr absl::string_view kVmKeys[] = {"cid", "config", "guest"};
constexpr absl::string_view kConfigKeys[] = {
    "kernel",           "bootloader",    "initrd",        "disks",
    "params",           "protected_vm",  "memory_mib",    "cpus",
    "cpu_affinity",     "task_profiles", "console_sink",  "log_sink",
    "platform_version", "detect_hangup", "hangup_timeout"};
constexpr absl::string_view kDiskKeys[] = {"image", "writable"};
constexpr absl::string_view kGuestKeys[] = {"started_after", "ready_after",
                                            "finish_after", "exit_code"};
constexpr absl::string_view kContainerKeys[] = {
    "id", "owns_vm", "socket_relays", "ports", "process"};
constexpr absl::string_view kSpecKeys[] = {"owns_vm", "socket_relays", "ports"};
constexpr absl::string_view kPortsKeys[] = {"start", "end"};
constexpr absl::string_view kProcessKeys[] = {"exit_after", "exit_code"};
constexpr absl::string_view kPatternKeys[] = {"event", "where"};
constexpr absl::string_view kExpectKeys[] = {"event", "never",  "final",
                                             "where", "within", "between",
                                             "after", "count",  "rule"};
constexpr absl::string_view kFinalKeys[] = {"vms",        "payloads",
                                            "containers", "proxies",
                                            "suspended",  "shutdown_complete"};
constexpr absl::string_view kGeneratedKeys[] = {
    "seed", "swarm", "vms", "proxies", "containers", "window", "quiet"};
constexpr absl::string_view kFaultKeys[] = {"at", "kind", "target", "a", "b"};
constexpr absl::string_view kGuestBehaviours[] = {"crash_at_boot",
                                                  "hang",
                                                  "slow_start",
                                                  "panic",
                                                  "reboot",
                                                  "failure_reason",
                                                  "failure_reason_variant",
                                                  "exit_unobservable",
                                                  "report_out_of_order"};
constexpr absl::string_view kProcessBehaviours[] = {"ignores_sigterm", "crash",
                                                    "memory_pressure"};
constexpr absl::string_view kAgentBehaviours[] = {"refuses", "never_accepts"};
constexpr absl::string_view kBootBehaviours[] = {"transient_errors",
                                                 "permanent_error"};

// Whether the quoted scalar that starts at `pos` is closed before the end of
// the text. yaml-cpp takes a quote the file ends inside as closed there
// (`'abc` at the end reads as "abc "), and the loader is meant to be strict.
bool QuoteClosed(absl::string_view text, size_t pos) {
  if (pos >= text.size()) return true;
  const char quote = text[pos];
  if (quote != '\'' && quote != '"') return true;
  for (size_t i = pos + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside single quotes
      } else {
        return true;
      }
    }
  }
  return false;
}

// The first pass over the text: where documents start, and the first quoted
// scalar that is never closed.
class DocumentStarts : public YAML::EventHandler {
 public:
  explicit DocumentStarts(absl::string_view text) : text_(text) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    marks.push_back(mark);
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                const std::string&) override {
    if (tag == "!" && !unterminated && mark.pos >= 0 &&
        !QuoteClosed(text_, static_cast<size_t>(mark.pos))) {
      unterminated = mark;
    }
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  std::vector<YAML::Mark> marks;
  std::optional<YAML::Mark> unterminated;

 private:
  absl::string_view text_;
};

class Parser;
using OpParser = bool (Parser::*)(const Val&, sim::ScriptOp*);
struct OpEntry {
  absl::string_view key;
  OpParser parse;
};

// Reads one file. The first error is kept and every reader returns false
// from then on, so a caller only has to stop.
class Parser {
 public:
  explicit Parser(absl::string_view file) : file_(file) {}

  absl::StatusOr<Scenario> Parse(absl::string_view yaml);

 private:
  static const std::vector<OpEntry>& Ops();

  // ---- Errors and the work budget ----
  bool Fail(const YAML::Mark& mark, absl::string_view message) {
    if (error_.ok()) {
      const SourceLocation at = Loc(mark);
      error_ = absl::InvalidArgumentError(
          absl::StrCat(file_, ":", at.line, ":", at.column, ": ", message));
    }
    return false;
  }
  static SourceLocation Loc(const YAML::Mark& mark) {
    if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
    return SourceLocation{mark.line + 1, mark.column + 1};
  }
  static std::string At(const YAML::Mark& mark) {
    const SourceLocation at = Loc(mark);
    return absl::StrCat(at.line, ":", at.column);
  }
  bool Charge(const Val& v, uint64_t units) {
    work_ += units;
    if (work_ > kMaxWork) {
      return Fail(v.mark,
                  "the scenario is too large once its aliases are expanded");
    }
    return true;
  }
  static std::string Show(const Val& v) {
    if (IsNull(v)) return "nothing";
    if (v.node.IsMap()) return "a map";
    if (v.node.IsSequence()) return "a list";
    return ShowText(v.node.Scalar());
  }
  bool Expected(const Val& v, absl::string_view what) {
    return Fail(v.mark, absl::StrCat("expected ", what, ", found ", Show(v)));
  }

  // ---- Structure ----
  bool ReadMap(const Val& v, absl::string_view what, Keys keys, Fields* out);
  bool ReadList(const Val& v, absl::string_view what, size_t max_items,
                std::vector<Val>* out);
  bool Require(const Fields& f, absl::string_view key, absl::string_view what,
               const Entry** out) {
    *out = f.Get(key);
    if (*out != nullptr) return true;
    return Fail(f.mark, absl::StrCat("missing key '", key, "' ", what));
  }
  // Exactly one of `choices` is present in `f`.
  bool OneOf(const Fields& f, Keys choices, absl::string_view what,
             absl::string_view noun, const Entry** out);

  // ---- Scalars ----
  bool Text(const Val& v, absl::string_view what, std::string* out);
  bool ReadString(const Val& v, std::string* out);
  bool ReadOptString(const Val& v, std::optional<std::string>* out);
  bool ReadBool(const Val& v, bool* out);
  bool ReadTrue(const Entry& e);
  bool ReadUint(const Val& v, uint64_t lo, uint64_t hi, uint64_t* out);
  bool ReadInt(const Val& v, int64_t lo, int64_t hi, int64_t* out);
  template <typename T>
  bool ReadNumber(const Val& v, T lo, T hi, T* out) {
    if constexpr (std::is_signed_v<T>) {
      int64_t x = 0;
      if (!ReadInt(v, lo, hi, &x)) return false;
      *out = static_cast<T>(x);
    } else {
      uint64_t x = 0;
      if (!ReadUint(v, lo, hi, &x)) return false;
      *out = static_cast<T>(x);
    }
    return true;
  }
  template <typename T>
  bool ReadNumber(const Val& v, T* out) {
    return ReadNumber(v, std::numeric_limits<T>::min(),
                      std::numeric_limits<T>::max(), out);
  }
  bool ReadDuration(const Val& v, DurationRule rule, absl::Duration* out);
  bool ReadMillis(const Val& v, int64_t* out);
  bool ReadChoice(const Val& v, absl::string_view what, Keys names,
                  size_t* out);

  // ---- The header ----
  bool ReadName(const Val& v, std::string* out);
  bool ReadRules(const Val& v, std::vector<std::string>* out);
  bool ReadWorlds(const Val& v, std::vector<WorldKind>* out);

  // ---- Setup ----
  bool ReadSetup(const Val& v, Setup* out);
  bool ReadVmSetup(const Val& v, VmSetup* out);
  bool ReadConfig(const Val& v, Cid cid, VmConfig* out);
  bool ReadGuest(const Val& v, sim::ScriptedGuest* out);
  bool ReadContainerSetup(const Val& v, ContainerSetup* out);
  bool ReadSpecFields(const Fields& f, ContainerSpec* out);
  bool ReadProcess(const Val& v, sim::ScriptedProcess* out);
  bool ReadIdList(const Val& v, absl::string_view what,
                  std::vector<ProxyId>* out);

  // ---- References to the setup ----
  bool VmRef(const Val& v, Cid* out);
  bool ContainerRef(const Val& v, ContainerId* out);
  bool ProxyRef(const Val& v, ProxyId* out);
  bool WakeSourceRef(const Val& v, uint32_t* out);
  // Ids of a script are dense and small; a generated world's are not
  // bounded by a script.
  bool ObjectNumber(const Val& v, uint64_t* out) {
    return ReadUint(v, 1,
                    scripted_ ? sim::kMaxScriptObjects
                              : std::numeric_limits<uint64_t>::max(),
                    out);
  }
  bool FaultTargetRef(const Val& v, sim::FaultKind kind, uint64_t* out);
  // The container an op names: `v` itself when it is not a map, else its
  // `container` key (the map's keys are left in `f` for the op's other
  // arguments).
  bool ContainerOf(const Val& v, absl::string_view op, Keys keys, Fields* f,
                   ContainerId* out);

  // ---- Steps ----
  bool ReadStep(const Val& v, Step* out);
  bool ReadPattern(const Val& v, EventPattern* out);
  bool ReadKind(const Val& v, std::string* out);
  bool ReadWhere(const Val& v, json* out);
  bool ToJson(const Val& v, size_t depth, json* out);

  bool OpCreateVm(const Val& v, sim::ScriptOp* op);
  bool OpStartVm(const Val& v, sim::ScriptOp* op);
  bool OpKillVm(const Val& v, sim::ScriptOp* op);
  bool OpInstall(const Val& v, sim::ScriptOp* op);
  bool OpStart(const Val& v, sim::ScriptOp* op);
  bool OpStop(const Val& v, sim::ScriptOp* op);
  bool OpWait(const Val& v, sim::ScriptOp* op);
  bool OpKill(const Val& v, sim::ScriptOp* op);
  bool OpUninstall(const Val& v, sim::ScriptOp* op);
  bool OpCopy(const Val& v, sim::ScriptOp* op);
  bool OpAttach(const Val& v, sim::ScriptOp* op);
  bool OpAddProxy(const Val& v, sim::ScriptOp* op);
  bool OpSend(const Val& v, sim::ScriptOp* op);
  bool OpClose(const Val& v, sim::ScriptOp* op);
  bool OpRegisterWatcher(const Val& v, sim::ScriptOp* op);
  bool OpAddWakeSource(const Val& v, sim::ScriptOp* op);
  bool OpRemoveWakeSource(const Val& v, sim::ScriptOp* op);
  bool OpSignalWakeSource(const Val& v, sim::ScriptOp* op);
  bool OpSuspend(const Val& v, sim::ScriptOp* op);
  bool OpSubscribe(const Val& v, sim::ScriptOp* op);
  bool OpPoll(const Val& v, sim::ScriptOp* op);
  bool OpUnsubscribe(const Val& v, sim::ScriptOp* op);
  bool OpShutdown(const Val& v, sim::ScriptOp* op);
  bool OpGuest(const Val& v, sim::ScriptOp* op);
  // The common part of `process`, `agent` and `boot`: a map of
  // `container` and exactly one of `behaviours`; `x` targets the container.
  bool ContainerBehaviour(const Val& v, absl::string_view name, Keys behaviours,
                          Fields* f, const Entry** b,
                          sim::script_op::InjectFault* x);
  bool OpProcess(const Val& v, sim::ScriptOp* op);
  bool OpAgent(const Val& v, sim::ScriptOp* op);
  bool OpBoot(const Val& v, sim::ScriptOp* op);
  bool OpFault(const Val& v, sim::ScriptOp* op);
  bool NoArguments(const Val& v, absl::string_view op);

  // ---- Expectations and the generated form ----
  bool ReadExpectation(const Val& v, Expectation* out);
  bool ReadFinal(const Val& v, FinalState* out);
  template <typename Id, typename Check>
  bool ReadFinalMap(const Val& v, absl::string_view what, Check check,
                    std::map<Id, std::string>* out);
  bool ReadGenerated(const Val& v, GeneratedWorkload* out);
  bool ReadFault(const Val& v, sim::Fault* out);

  std::string file_;
  absl::Status error_;
  uint64_t work_ = 0;
  // Whether references are checked against the setup: not in the generated
  // form, whose objects are drawn from its seed.
  bool scripted_ = true;
  std::map<uint32_t, const VmSetup*> vms_;
  std::map<uint64_t, const ContainerSetup*> containers_;
  std::set<uint64_t> proxies_;
  uint32_t wake_sources_ = 0;
  std::vector<std::string> rules_;
};

// ---------------------------------------------------------------------------
// Structure

bool Parser::ReadMap(const Val& v, absl::string_view what, Keys keys,
                     Fields* out) {
  out->entries.clear();
  out->mark = v.mark;
  if (!v.node.IsMap()) return Expected(v, absl::StrCat("a map ", what));
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    const YAML::Node key = it->first;
    const Val key_val{key, key.Mark()};
    if (!Charge(key_val, 1)) return false;
    if (!key.IsScalar()) return Expected(key_val, "a key name");
    const std::string name = key.Scalar();
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
      return Fail(key.Mark(), absl::StrCat("unknown key ", ShowText(name), " ",
                                           what, "; expected one of: ",
                                           absl::StrJoin(keys, ", ")));
    }
    if (const Entry* first = out->Get(name)) {
      return Fail(key.Mark(),
                  absl::StrCat("duplicate key '", name, "' ", what,
                               " (first at ", At(first->key_mark), ")"));
    }
    const YAML::Node value = it->second;
    const YAML::Mark mark =
        value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
    out->entries.push_back(Entry{name, key.Mark(), Val{value, mark}});
  }
  return true;
}

bool Parser::ReadList(const Val& v, absl::string_view what, size_t max_items,
                      std::vector<Val>* out) {
  out->clear();
  // "steps:" with every item commented out is an empty list.
  if (IsNull(v)) return true;
  if (!v.node.IsSequence())
    return Expected(v, absl::StrCat("a list of ", what));
  if (v.node.size() > max_items) {
    return Fail(v.mark, absl::StrCat("expected at most ", max_items, " ", what,
                                     ", found ", v.node.size()));
  }
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    const YAML::Node item = *it;
    YAML::Mark mark = item.Mark();
    if (item.IsNull() || mark.is_null()) mark = v.mark;
    out->push_back(Val{item, mark});
    if (!Charge(out->back(), 1)) return false;
  }
  return true;
}

bool Parser::OneOf(const Fields& f, Keys choices, absl::string_view what,
                   absl::string_view noun, const Entry** out) {
  *out = nullptr;
  for (const Entry& e : f.entries) {
    if (std::find(choices.begin(), choices.end(), e.key) == choices.end()) {
      continue;
    }
    if (*out != nullptr) {
      return Fail(e.key_mark,
                  absl::StrCat(what, " has more than one ", noun, ": '",
                               (*out)->key, "' and '", e.key, "'"));
    }
    *out = &e;
  }
  if (*out != nullptr) return true;
  const bool vowel = absl::StrContains("aeiou", noun.substr(0, 1));
  return Fail(f.mark, absl::StrCat(what, " needs ", vowel ? "an " : "a ", noun,
                                   ", one of: ", absl::StrJoin(choices, ", ")));
}

// ---------------------------------------------------------------------------
// Scalars

bool Parser::Text(const Val& v, absl::string_view what, std::string* out) {
  if (IsNull(v) || !v.node.IsScalar()) return Expected(v, what);
  const std::string& text = v.node.Scalar();
  if (!Charge(v, text.size())) return false;
  if (text.size() > kMaxStringBytes) {
    return Fail(v.mark,
                absl::StrCat("expected ", what, " of at most ", kMaxStringBytes,
                             " bytes, found ", text.size(), " bytes"));
  }
  *out = text;
  return true;
}

bool Parser::ReadString(const Val& v, std::string* out) {
  return Text(v, "a string", out);
}

bool Parser::ReadOptString(const Val& v, std::optional<std::string>* out) {
  if (IsNull(v)) {
    out->reset();
    return true;
  }
  std::string s;
  if (!ReadString(v, &s)) return false;
  *out = std::move(s);
  return true;
}

bool Parser::ReadBool(const Val& v, bool* out) {
  std::string text;
  if (!Text(v, "true or false", &text)) return false;
  if (text == "true" || text == "True" || text == "TRUE") {
    *out = true;
  } else if (text == "false" || text == "False" || text == "FALSE") {
    *out = false;
  } else {
    return Expected(v, "true or false");
  }
  return true;
}

// A behaviour switched on by `key: true`; false would be a no-op that reads
// as if it did something.
bool Parser::ReadTrue(const Entry& e) {
  bool on = false;
  if (!ReadBool(e.value, &on)) return false;
  if (!on) {
    return Fail(e.value.mark,
                absl::StrCat("'", e.key,
                             "' can only be true (leave it out otherwise)"));
  }
  return true;
}

bool Parser::ReadUint(const Val& v, uint64_t lo, uint64_t hi, uint64_t* out) {
  const std::string what = absl::StrCat("an integer in ", lo, "..", hi);
  std::string text;
  if (!Text(v, what, &text)) return false;
  uint64_t x = 0;
  if (!absl::SimpleAtoi(text, &x) || x < lo || x > hi) {
    return Expected(v, what);
  }
  *out = x;
  return true;
}

bool Parser::ReadInt(const Val& v, int64_t lo, int64_t hi, int64_t* out) {
  const std::string what = absl::StrCat("an integer in ", lo, "..", hi);
  std::string text;
  if (!Text(v, what, &text)) return false;
  int64_t x = 0;
  if (!absl::SimpleAtoi(text, &x) || x < lo || x > hi) {
    return Expected(v, what);
  }
  *out = x;
  return true;
}

bool Parser::ReadDuration(const Val& v, DurationRule rule,
                          absl::Duration* out) {
  constexpr absl::string_view kWhat = "a duration such as 500ms or 1.5s";
  std::string text;
  if (!Text(v, kWhat, &text)) return false;
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) return Expected(v, kWhat);
  if (d == absl::InfiniteDuration() && rule.infinite) {
    *out = d;
    return true;
  }
  if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
    return Expected(v, "a finite duration");
  }
  if (!rule.negative && d < absl::ZeroDuration()) {
    return Expected(v, "a duration of 0 or more");
  }
  if (rule.positive && d <= absl::ZeroDuration()) {
    return Expected(v, "a duration greater than 0");
  }
  if (absl::AbsDuration(d) > kMaxDuration) {
    return Expected(v, absl::StrCat("a duration of at most ",
                                    absl::FormatDuration(kMaxDuration)));
  }
  if (d != absl::Nanoseconds(absl::ToInt64Nanoseconds(d))) {
    return Expected(v, "a whole number of nanoseconds");
  }
  *out = d;
  return true;
}

bool Parser::ReadMillis(const Val& v, int64_t* out) {
  absl::Duration d;
  if (!ReadDuration(v, {}, &d)) return false;
  if (d != absl::Milliseconds(absl::ToInt64Milliseconds(d))) {
    return Expected(v, "a whole number of milliseconds");
  }
  *out = absl::ToInt64Milliseconds(d);
  return true;
}

bool Parser::ReadChoice(const Val& v, absl::string_view what, Keys names,
                        size_t* out) {
  std::string text;
  if (!Text(v, what, &text)) return false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) {
      *out = i;
      return true;
    }
  }
  return Fail(v.mark,
              absl::StrCat("unknown ", what, " ", ShowText(text),
                           "; expected one of: ", absl::StrJoin(names, ", ")));
}

// ---------------------------------------------------------------------------
// The header

bool Parser::ReadName(const Val& v, std::string* out) {
  constexpr absl::string_view kWhat =
      "a name of lower-case letters, digits, '-', '_' and '.'";
  std::string text;
  if (!Text(v, kWhat, &text)) return false;
  const bool ok = !text.empty() && text.size() <= kMaxNameBytes &&
                  std::all_of(text.begin(), text.end(), [](char c) {
                    return absl::ascii_islower(c) || absl::ascii_isdigit(c) ||
                           c == '-' || c == '_' || c == '.';
                  });
  if (!ok) {
    return Expected(
        v, absl::StrCat(kWhat, " (at most ", kMaxNameBytes, " bytes)"));
  }
  *out = std::move(text);
  return true;
}

bool Parser::ReadRules(const Val& v, std::vector<std::string>* out) {
  std::vector<Val> items;
  if (!ReadList(v, "rule IDs", RuleIds().size(), &items)) return false;
  if (items.empty()) {
    return Fail(v.mark, absl::StrCat("expected at least one rule ID (",
                                     kRuleIdsText, ")"));
  }
  for (const Val& item : items) {
    std::string id;
    if (!Text(item, "a rule ID", &id)) return false;
    const auto& ids = RuleIds();
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
      return Fail(
          item.mark,
          absl::StrCat("unknown rule ", ShowText(id),
                       "; expected a rule ID of docs/spec.md: ", kRuleIdsText));
    }
    if (std::find(out->begin(), out->end(), id) != out->end()) {
      return Fail(item.mark, absl::StrCat("rule ", id, " is listed twice"));
    }
    out->push_back(std::move(id));
  }
  return true;
}

bool Parser::ReadWorlds(const Val& v, std::vector<WorldKind>* out) {
  std::vector<Val> items;
  if (!ReadList(v, "worlds", kWorldNames.size(), &items)) return false;
  if (items.empty()) {
    return Fail(v.mark,
                "expected at least one world (sim, process, qemu, "
                "libvirt, runc)");
  }
  const Keys names(kWorldNames);
  for (const Val& item : items) {
    size_t index = 0;
    if (!ReadChoice(item, "world", names, &index)) return false;
    const auto world = static_cast<WorldKind>(index);
    if (std::find(out->begin(), out->end(), world) != out->end()) {
      return Fail(item.mark,
                  absl::StrCat("world ", names[index], " is listed twice"));
    }
    out->push_back(world);
  }
  return true;
}

// ---------------------------------------------------------------------------
// Setup

bool Parser::ReadSetup(const Val& v, Setup* out) {
  Fields f;
  if (!ReadMap(v, "in setup", kSetupKeys, &f)) return false;
  if (const Entry* e = f.Get("vms")) {
    std::vector<Val> items;
    if (!ReadList(e->value, "vms", sim::kMaxScriptObjects, &items)) {
      return false;
    }
    out->vms.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (!ReadVmSetup(items[i], &out->vms[i])) return false;
      const uint32_t cid = out->vms[i].config.cid.value;
      if (vms_.count(cid) != 0) {
        const SourceLocation first = vms_[cid]->location;
        return Fail(items[i].mark,
                    absl::StrCat("vm ", cid, " is already in the setup (at ",
                                 first.line, ":", first.column, ")"));
      }
      vms_[cid] = &out->vms[i];
    }
  }
  if (const Entry* e = f.Get("containers")) {
    std::vector<Val> items;
    if (!ReadList(e->value, "containers", sim::kMaxScriptObjects, &items)) {
      return false;
    }
    out->containers.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (!ReadContainerSetup(items[i], &out->containers[i])) return false;
      const uint64_t id = out->containers[i].id.value;
      if (containers_.count(id) != 0) {
        const SourceLocation first = containers_[id]->location;
        return Fail(
            items[i].mark,
            absl::StrCat("container ", id, " is already in the setup (at ",
                         first.line, ":", first.column, ")"));
      }
      containers_[id] = &out->containers[i];
    }
  }
  if (const Entry* e = f.Get("proxies")) {
    if (!ReadIdList(e->value, "proxy", &out->proxies)) return false;
    for (ProxyId p : out->proxies) proxies_.insert(p.value);
  }
  if (const Entry* e = f.Get("wake_sources")) {
    if (!ReadNumber<uint32_t>(e->value, 0, sim::kMaxScriptObjects,
                              &out->wake_sources)) {
      return false;
    }
    wake_sources_ = out->wake_sources;
  }
  return true;
}

bool Parser::ReadIdList(const Val& v, absl::string_view what,
                        std::vector<ProxyId>* out) {
  std::vector<Val> items;
  if (!ReadList(v, absl::StrCat(what, " ids"), sim::kMaxScriptObjects,
                &items)) {
    return false;
  }
  for (const Val& item : items) {
    uint64_t id = 0;
    if (!ObjectNumber(item, &id)) return false;
    if (std::find(out->begin(), out->end(), ProxyId{id}) != out->end()) {
      return Fail(item.mark, absl::StrCat(what, " ", id, " is listed twice"));
    }
    out->push_back(ProxyId{id});
  }
  return true;
}

bool Parser::ReadVmSetup(const Val& v, VmSetup* out) {
  constexpr absl::string_view kWhat = "in a vm of setup.vms";
  Fields f;
  if (!ReadMap(v, kWhat, kVmKeys, &f)) return false;
  out->location = Loc(v.mark);
  const Entry* cid_entry = nullptr;
  if (!Require(f, "cid", kWhat, &cid_entry)) return false;
  uint32_t cid = 0;
  if (!ReadNumber<uint32_t>(cid_entry->value, kMinGuestCid, sim::kMaxScriptCid,
                            &cid)) {
    return false;
  }
  out->config = VmConfig{};
  out->config.cid = Cid{cid};
  out->config.kernel = std::string(kDefaultKernel);
  if (const Entry* e = f.Get("config")) {
    if (!ReadConfig(e->value, Cid{cid}, &out->config)) return false;
  }
  if (const Entry* e = f.Get("guest")) {
    if (!ReadGuest(e->value, &out->guest)) return false;
  }
  return true;
}

bool Parser::ReadConfig(const Val& v, Cid cid, VmConfig* out) {
  constexpr absl::string_view kWhat = "in a vm config";
  Fields f;
  if (!ReadMap(v, kWhat, kConfigKeys, &f)) return false;
  VmConfig c;
  c.cid = cid;
  if (f.Get("kernel") == nullptr && f.Get("bootloader") == nullptr) {
    c.kernel = std::string(kDefaultKernel);
  }
  for (const Entry& e : f.entries) {
    const Val& x = e.value;
    bool ok = true;
    if (e.key == "kernel") {
      ok = ReadOptString(x, &c.kernel);
    } else if (e.key == "bootloader") {
      ok = ReadOptString(x, &c.bootloader);
    } else if (e.key == "initrd") {
      ok = ReadOptString(x, &c.initrd);
    } else if (e.key == "params") {
      ok = ReadOptString(x, &c.params);
    } else if (e.key == "cpu_affinity") {
      ok = ReadOptString(x, &c.cpu_affinity);
    } else if (e.key == "console_sink") {
      ok = ReadOptString(x, &c.console_sink);
    } else if (e.key == "log_sink") {
      ok = ReadOptString(x, &c.log_sink);
    } else if (e.key == "platform_version") {
      ok = ReadString(x, &c.platform_version);
    } else if (e.key == "protected_vm") {
      ok = ReadBool(x, &c.protected_vm);
    } else if (e.key == "detect_hangup") {
      ok = ReadBool(x, &c.detect_hangup);
    } else if (e.key == "memory_mib" || e.key == "cpus") {
      std::optional<uint32_t>& field = e.key == "cpus" ? c.cpus : c.memory_mib;
      if (IsNull(x)) {
        field.reset();
      } else {
        uint32_t n = 0;
        ok = ReadNumber(x, &n);
        field = n;
      }
    } else if (e.key == "hangup_timeout") {
      if (IsNull(x)) {
        c.hangup_timeout.reset();
      } else {
        absl::Duration d;
        ok = ReadDuration(x, {}, &d);
        c.hangup_timeout = d;
      }
    } else if (e.key == "disks") {
      std::vector<Val> items;
      ok = ReadList(x, "disks", kMaxConfigListItems, &items);
      for (size_t i = 0; ok && i < items.size(); ++i) {
        Fields d;
        const Entry* image = nullptr;
        DiskImage disk;
        ok = ReadMap(items[i], "in a disk", kDiskKeys, &d) &&
             Require(d, "image", "in a disk", &image) &&
             ReadString(image->value, &disk.image);
        if (ok) {
          if (const Entry* w = d.Get("writable")) {
            ok = ReadBool(w->value, &disk.writable);
          }
        }
        c.disks.push_back(std::move(disk));
      }
    } else if (e.key == "task_profiles") {
      std::vector<Val> items;
      ok = ReadList(x, "task profiles", kMaxConfigListItems, &items);
      for (size_t i = 0; ok && i < items.size(); ++i) {
        std::string profile;
        ok = ReadString(items[i], &profile);
        c.task_profiles.push_back(std::move(profile));
      }
    }
    if (!ok) return false;
  }
  *out = std::move(c);
  return true;
}

bool Parser::ReadGuest(const Val& v, sim::ScriptedGuest* out) {
  Fields f;
  if (!ReadMap(v, "in a guest", kGuestKeys, &f)) return false;
  sim::ScriptedGuest g;
  for (const Entry& e : f.entries) {
    bool ok = true;
    if (e.key == "started_after") {
      ok = ReadDuration(e.value, {}, &g.started_after);
    } else if (e.key == "ready_after") {
      ok = ReadDuration(e.value, {}, &g.ready_after);
    } else if (e.key == "finish_after") {
      absl::Duration d;
      ok = ReadDuration(e.value, {}, &d);
      g.finish_after = d;
    } else if (e.key == "exit_code") {
      ok = ReadNumber(e.value, &g.exit_code);
    }
    if (!ok) return false;
  }
  *out = g;
  return true;
}

bool Parser::ReadSpecFields(const Fields& f, ContainerSpec* out) {
  if (const Entry* e = f.Get("owns_vm")) {
    if (!ReadBool(e->value, &out->owns_vm)) return false;
  }
  if (const Entry* e = f.Get("socket_relays")) {
    if (!ReadNumber(e->value, &out->socket_relays)) return false;
  }
  if (const Entry* e = f.Get("ports")) {
    Fields p;
    if (!ReadMap(e->value, "in 'ports'", kPortsKeys, &p)) return false;
    if (const Entry* s = p.Get("start")) {
      if (!ReadNumber(s->value, &out->port_start)) return false;
    }
    if (const Entry* s = p.Get("end")) {
      if (!ReadNumber(s->value, &out->port_end)) return false;
    }
  }
  return true;
}

bool Parser::ReadContainerSetup(const Val& v, ContainerSetup* out) {
  constexpr absl::string_view kWhat = "in a container of setup.containers";
  Fields f;
  if (!ReadMap(v, kWhat, kContainerKeys, &f)) return false;
  out->location = Loc(v.mark);
  const Entry* id = nullptr;
  if (!Require(f, "id", kWhat, &id) ||
      !ObjectNumber(id->value, &out->id.value) ||
      !ReadSpecFields(f, &out->spec)) {
    return false;
  }
  if (const Entry* e = f.Get("process")) {
    if (!ReadProcess(e->value, &out->process)) return false;
  }
  return true;
}

bool Parser::ReadProcess(const Val& v, sim::ScriptedProcess* out) {
  Fields f;
  if (!ReadMap(v, "in 'process'", kProcessKeys, &f)) return false;
  if (const Entry* e = f.Get("exit_after")) {
    absl::Duration d;
    if (!ReadDuration(e->value, {}, &d)) return false;
    out->exit_after = d;
  }
  if (const Entry* e = f.Get("exit_code")) {
    if (!ReadNumber(e->value, &out->exit_code)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// References

template <typename Map>
std::string ListKeys(const Map& m) {
  std::vector<std::string> ids;
  for (const auto& [id, unused] : m) {
    if (ids.size() == kMaxListedIds) {
      ids.push_back("...");
      break;
    }
    ids.push_back(absl::StrCat(id));
  }
  return absl::StrJoin(ids, ", ");
}

bool Parser::VmRef(const Val& v, Cid* out) {
  uint32_t cid = 0;
  if (!ReadNumber<uint32_t>(
          v, kMinGuestCid,
          scripted_ ? sim::kMaxScriptCid : std::numeric_limits<uint32_t>::max(),
          &cid)) {
    return false;
  }
  if (scripted_ && vms_.count(cid) == 0) {
    return Fail(v.mark,
                absl::StrCat("vm ", cid, " is not in the setup (",
                             vms_.empty() ? "setup.vms is empty"
                                          : absl::StrCat("setup.vms has cids ",
                                                         ListKeys(vms_)),
                             ")"));
  }
  *out = Cid{cid};
  return true;
}

bool Parser::ContainerRef(const Val& v, ContainerId* out) {
  uint64_t id = 0;
  if (!ObjectNumber(v, &id)) return false;
  if (scripted_ && containers_.count(id) == 0) {
    return Fail(v.mark,
                absl::StrCat("container ", id, " is not in the setup (",
                             containers_.empty()
                                 ? "setup.containers is empty"
                                 : absl::StrCat("setup.containers has ids ",
                                                ListKeys(containers_)),
                             ")"));
  }
  *out = ContainerId{id};
  return true;
}

bool Parser::ProxyRef(const Val& v, ProxyId* out) {
  uint64_t id = 0;
  if (!ObjectNumber(v, &id)) return false;
  if (scripted_ && proxies_.count(id) == 0) {
    std::map<uint64_t, bool> listed;
    for (uint64_t p : proxies_) listed[p] = true;
    return Fail(v.mark, absl::StrCat("proxy ", id, " is not in the setup (",
                                     proxies_.empty()
                                         ? "setup.proxies is empty"
                                         : absl::StrCat("setup.proxies has ",
                                                        ListKeys(listed)),
                                     ")"));
  }
  *out = ProxyId{id};
  return true;
}

bool Parser::WakeSourceRef(const Val& v, uint32_t* out) {
  uint64_t id = 0;
  if (!ObjectNumber(v, &id)) return false;
  if (scripted_ && id > wake_sources_) {
    return Fail(v.mark, absl::StrCat("wake source ", id,
                                     " is not in the setup (setup.wake_sources "
                                     "is ",
                                     wake_sources_, ")"));
  }
  *out = static_cast<uint32_t>(id);
  return true;
}

bool Parser::FaultTargetRef(const Val& v, sim::FaultKind kind, uint64_t* out) {
  switch (sim::FaultTargetOf(kind)) {
    case sim::FaultTarget::kVm: {
      Cid cid;
      if (!VmRef(v, &cid)) return false;
      *out = cid.value;
      return true;
    }
    case sim::FaultTarget::kContainer: {
      ContainerId id;
      if (!ContainerRef(v, &id)) return false;
      *out = id.value;
      return true;
    }
    case sim::FaultTarget::kProxy: {
      ProxyId id;
      if (!ProxyRef(v, &id)) return false;
      *out = id.value;
      return true;
    }
    case sim::FaultTarget::kHandleSource: {
      uint32_t id = 0;
      if (!WakeSourceRef(v, &id)) return false;
      *out = id;
      return true;
    }
    case sim::FaultTarget::kAny:
      break;
  }
  uint64_t target = 0;
  if (!ReadNumber(v, &target)) return false;
  if (scripted_ && target != 0 && vms_.count(target) == 0 &&
      containers_.count(target) == 0 && proxies_.count(target) == 0) {
    return Fail(v.mark, absl::StrCat("target ", target,
                                     " is neither 0 (every object) nor a cid, "
                                     "container id or proxy id of the setup"));
  }
  *out = target;
  return true;
}

// ---------------------------------------------------------------------------
// Patterns

bool Parser::ReadKind(const Val& v, std::string* out) {
  std::string kind;
  if (!Text(v, "an event kind", &kind)) return false;
  if (EventKinds().count(kind) == 0) {
    const std::vector<std::string> close = CloseNames(kind, EventKinds());
    return Fail(
        v.mark,
        absl::StrCat("unknown event kind ", ShowText(kind),
                     close.empty()
                         ? ""
                         : absl::StrCat("; did you mean ",
                                        absl::StrJoin(close, " or "), "?"),
                     " (see docs/inputs-and-actions.md)"));
  }
  *out = std::move(kind);
  return true;
}

bool Parser::ReadPattern(const Val& v, EventPattern* out) {
  constexpr absl::string_view kWhat = "in a pattern";
  Fields f;
  const Entry* event = nullptr;
  if (!ReadMap(v, kWhat, kPatternKeys, &f) ||
      !Require(f, "event", kWhat, &event) ||
      !ReadKind(event->value, &out->kind)) {
    return false;
  }
  out->location = Loc(v.mark);
  if (const Entry* e = f.Get("where")) return ReadWhere(e->value, &out->where);
  return true;
}

bool Parser::ReadWhere(const Val& v, json* out) {
  if (!v.node.IsMap()) return Expected(v, "a map of fields in 'where'");
  return ToJson(v, 1, out);
}

// YAML to JSON by the scalar's own form: a quoted scalar is a string; a
// plain one is null, a bool, an integer or a number when it reads as one.
bool Parser::ToJson(const Val& v, size_t depth, json* out) {
  if (depth > kMaxWhereDepth && (v.node.IsMap() || v.node.IsSequence())) {
    return Fail(v.mark, absl::StrCat("'where' is nested deeper than ",
                                     kMaxWhereDepth, " levels"));
  }
  if (!Charge(v, 1)) return false;
  if (IsNull(v)) {
    *out = nullptr;
    return true;
  }
  if (v.node.IsMap()) {
    *out = json::object();
    std::set<std::string> seen;
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      const Val key{it->first, it->first.Mark()};
      std::string name;
      if (!Text(key, "a field name", &name)) return false;
      if (!IsValidUtf8(name)) return Expected(key, "UTF-8 text");
      // Event fields have short names; the bound also keeps every name one
      // that FormatScenario can write as a flow key and yaml-cpp reads back
      // (it reads no implicit key past 1024 characters).
      if (name.size() > kMaxNameBytes) {
        return Fail(
            key.mark,
            absl::StrCat("a field name in 'where' is ", name.size(),
                         " bytes long; expected at most ", kMaxNameBytes));
      }
      if (!seen.insert(name).second) {
        return Fail(key.mark, absl::StrCat("duplicate key ", ShowText(name),
                                           " in 'where'"));
      }
      YAML::Mark mark = it->second.Mark();
      if (it->second.IsNull() || mark.is_null()) mark = key.mark;
      json member;
      if (!ToJson(Val{it->second, mark}, depth + 1, &member)) return false;
      (*out)[name] = std::move(member);
    }
    return true;
  }
  if (v.node.IsSequence()) {
    *out = json::array();
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      YAML::Mark mark = it->Mark();
      if (it->IsNull() || mark.is_null()) mark = v.mark;
      json item;
      if (!ToJson(Val{*it, mark}, depth + 1, &item)) return false;
      out->push_back(std::move(item));
    }
    return true;
  }
  std::string text;
  if (!Text(v, "a value", &text)) return false;
  if (!IsValidUtf8(text)) return Expected(v, "UTF-8 text");
  if (v.node.Tag() != "?") {
    *out = text;
    return true;
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    *out = true;
  } else if (text == "false" || text == "False" || text == "FALSE") {
    *out = false;
  } else if (int64_t i = 0; absl::SimpleAtoi(text, &i)) {
    *out = i;
  } else if (uint64_t u = 0; absl::SimpleAtoi(text, &u)) {
    *out = u;
  } else if (double d = 0;
             !text.empty() &&
             text.find_first_not_of("0123456789+-.eE") == std::string::npos &&
             text.find_first_of("0123456789") != std::string::npos &&
             absl::SimpleAtod(text, &d) && std::isfinite(d)) {
    *out = d;
  } else {
    *out = text;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Steps

const std::vector<OpEntry>& Parser::Ops() {
  static const std::vector<OpEntry>* const ops = new std::vector<OpEntry>{
      {"create_vm", &Parser::OpCreateVm},
      {"start_vm", &Parser::OpStartVm},
      {"kill_vm", &Parser::OpKillVm},
      {"install", &Parser::OpInstall},
      {"start", &Parser::OpStart},
      {"stop", &Parser::OpStop},
      {"wait", &Parser::OpWait},
      {"kill", &Parser::OpKill},
      {"uninstall", &Parser::OpUninstall},
      {"copy", &Parser::OpCopy},
      {"attach", &Parser::OpAttach},
      {"add_proxy", &Parser::OpAddProxy},
      {"send", &Parser::OpSend},
      {"close", &Parser::OpClose},
      {"register_watcher", &Parser::OpRegisterWatcher},
      {"add_wake_source", &Parser::OpAddWakeSource},
      {"remove_wake_source", &Parser::OpRemoveWakeSource},
      {"signal_wake_source", &Parser::OpSignalWakeSource},
      {"suspend", &Parser::OpSuspend},
      {"subscribe", &Parser::OpSubscribe},
      {"poll", &Parser::OpPoll},
      {"unsubscribe", &Parser::OpUnsubscribe},
      {"shutdown", &Parser::OpShutdown},
      {"guest", &Parser::OpGuest},
      {"process", &Parser::OpProcess},
      {"agent", &Parser::OpAgent},
      {"boot", &Parser::OpBoot},
      {"fault", &Parser::OpFault},
  };
  return *ops;
}

bool Parser::ReadStep(const Val& v, Step* out) {
  static const std::vector<absl::string_view>* const keys = [] {
    auto* k = new std::vector<absl::string_view>{"at", "after", "delay"};
    for (const OpEntry& op : Ops()) k->push_back(op.key);
    return k;
  }();
  static const std::vector<absl::string_view>* const op_keys = [] {
    auto* k = new std::vector<absl::string_view>;
    for (const OpEntry& op : Ops()) k->push_back(op.key);
    return k;
  }();
  Fields f;
  if (!ReadMap(v, "in a step", *keys, &f)) return false;
  out->location = Loc(v.mark);
  const Entry* at = f.Get("at");
  const Entry* after = f.Get("after");
  const Entry* delay = f.Get("delay");
  if (at != nullptr && after != nullptr) {
    const Entry* second = at->key_mark.pos < after->key_mark.pos ? after : at;
    return Fail(second->key_mark,
                "a step has one trigger: 'at' or 'after', not both");
  }
  if (at == nullptr && after == nullptr) {
    return Fail(v.mark,
                "a step needs a trigger: 'at: DURATION' or "
                "'after: PATTERN'");
  }
  if (at != nullptr && delay != nullptr) {
    return Fail(delay->key_mark,
                "'delay' goes with 'after', not with 'at' (write the time in "
                "'at')");
  }
  Trigger when;
  if (at != nullptr) {
    absl::Duration d;
    if (!ReadDuration(at->value, {}, &d)) return false;
    when.at = d;
  } else {
    EventPattern pattern;
    if (!ReadPattern(after->value, &pattern)) return false;
    when.after = std::move(pattern);
    if (delay != nullptr && !ReadDuration(delay->value, {}, &when.delay)) {
      return false;
    }
  }
  const Entry* op = nullptr;
  if (!OneOf(f, *op_keys, "a step", "op", &op)) return false;
  out->when = std::move(when);
  for (const OpEntry& entry : Ops()) {
    if (entry.key == op->key) return (this->*entry.parse)(op->value, &out->op);
  }
  return Fail(op->key_mark, "unknown op");  // unreachable: keys were checked
}

bool Parser::OpCreateVm(const Val& v, sim::ScriptOp* op) {
  constexpr absl::string_view keys[] = {"cid", "config"};
  Cid cid;
  Fields f;
  if (v.node.IsMap()) {
    const Entry* c = nullptr;
    if (!ReadMap(v, "in 'create_vm'", keys, &f) ||
        !Require(f, "cid", "in 'create_vm'", &c) || !VmRef(c->value, &cid)) {
      return false;
    }
  } else if (!VmRef(v, &cid)) {
    return false;
  }
  sim::script_op::CreateVm create;
  create.config = vms_.at(cid.value)->config;
  if (const Entry* c = f.Get("config")) {
    if (!ReadConfig(c->value, cid, &create.config)) return false;
  }
  *op = std::move(create);
  return true;
}

bool Parser::OpStartVm(const Val& v, sim::ScriptOp* op) {
  sim::script_op::StartVm x;
  if (!VmRef(v, &x.cid)) return false;
  *op = x;
  return true;
}

bool Parser::OpKillVm(const Val& v, sim::ScriptOp* op) {
  sim::script_op::KillVm x;
  if (!VmRef(v, &x.cid)) return false;
  *op = x;
  return true;
}

bool Parser::ContainerOf(const Val& v, absl::string_view op, Keys keys,
                         Fields* f, ContainerId* out) {
  if (!v.node.IsMap()) return ContainerRef(v, out);
  const std::string what = absl::StrCat("in '", op, "'");
  const Entry* c = nullptr;
  return ReadMap(v, what, keys, f) && Require(*f, "container", what, &c) &&
         ContainerRef(c->value, out);
}

bool Parser::OpInstall(const Val& v, sim::ScriptOp* op) {
  sim::script_op::InstallContainer x;
  Fields f;
  if (!ContainerOf(v, "install", {"container", "spec"}, &f, &x.container)) {
    return false;
  }
  x.spec = containers_.at(x.container.value)->spec;
  if (const Entry* e = f.Get("spec")) {
    Fields s;
    ContainerSpec spec;
    if (!ReadMap(e->value, "in 'spec'", kSpecKeys, &s) ||
        !ReadSpecFields(s, &spec)) {
      return false;
    }
    x.spec = spec;
  }
  *op = x;
  return true;
}

bool Parser::OpStart(const Val& v, sim::ScriptOp* op) {
  sim::script_op::StartContainer x;
  if (!ContainerRef(v, &x.container)) return false;
  *op = x;
  return true;
}

bool Parser::OpStop(const Val& v, sim::ScriptOp* op) {
  sim::script_op::StopContainer x;
  Fields f;
  if (!ContainerOf(v, "stop", {"container", "grace"}, &f, &x.container)) {
    return false;
  }
  if (const Entry* e = f.Get("grace")) {
    absl::Duration d;
    DurationRule rule;
    rule.negative = true;
    if (!ReadDuration(e->value, rule, &d)) return false;
    x.grace = d;
  }
  *op = x;
  return true;
}

bool Parser::OpWait(const Val& v, sim::ScriptOp* op) {
  sim::script_op::WaitContainer x;
  if (!ContainerRef(v, &x.container)) return false;
  *op = x;
  return true;
}

bool Parser::OpKill(const Val& v, sim::ScriptOp* op) {
  sim::script_op::KillContainer x;
  Fields f;
  if (!ContainerOf(v, "kill", {"container", "signal"}, &f, &x.container)) {
    return false;
  }
  if (const Entry* e = f.Get("signal")) {
    constexpr absl::string_view kWhat =
        "a signal number or name such as SIGTERM";
    std::string text;
    if (!Text(e->value, kWhat, &text)) return false;
    if (const std::optional<int> named = SignalFromName(text)) {
      x.signal = *named;
    } else if (!absl::SimpleAtoi(text, &x.signal)) {
      return Expected(e->value, kWhat);
    }
  }
  *op = x;
  return true;
}

bool Parser::OpUninstall(const Val& v, sim::ScriptOp* op) {
  sim::script_op::UninstallContainer x;
  if (!ContainerRef(v, &x.container)) return false;
  *op = x;
  return true;
}

bool Parser::OpCopy(const Val& v, sim::ScriptOp* op) {
  constexpr absl::string_view kWhat = "in 'copy'";
  sim::script_op::CopyFile x;
  Fields f;
  const Entry* c = nullptr;
  const Entry* path = nullptr;
  if (!ReadMap(v, kWhat, {"container", "direction", "path"}, &f) ||
      !Require(f, "container", kWhat, &c) ||
      !ContainerRef(c->value, &x.container) ||
      !Require(f, "path", kWhat, &path) ||
      !ReadString(path->value, &x.guest_path)) {
    return false;
  }
  if (const Entry* e = f.Get("direction")) {
    size_t i = 0;
    if (!ReadChoice(e->value, "direction", {"in", "out"}, &i)) return false;
    x.direction =
        i == 0 ? input::CopyDirection::kIn : input::CopyDirection::kOut;
  }
  *op = std::move(x);
  return true;
}

bool Parser::OpAttach(const Val& v, sim::ScriptOp* op) {
  sim::script_op::AttachBlockDevice x;
  Fields f;
  if (!ContainerOf(v, "attach", {"container", "slot"}, &f, &x.container)) {
    return false;
  }
  if (const Entry* e = f.Get("slot")) {
    if (!ReadNumber(e->value, &x.slot)) return false;
  }
  *op = x;
  return true;
}

bool Parser::OpAddProxy(const Val& v, sim::ScriptOp* op) {
  sim::script_op::AddProxy x;
  if (!ProxyRef(v, &x.proxy)) return false;
  *op = x;
  return true;
}

bool Parser::OpSend(const Val& v, sim::ScriptOp* op) {
  constexpr absl::string_view kWhat = "in 'send'";
  sim::script_op::Send x;
  Fields f;
  const Entry* p = nullptr;
  if (!ReadMap(v, kWhat, {"proxy", "from", "count", "bytes"}, &f) ||
      !Require(f, "proxy", kWhat, &p) || !ProxyRef(p->value, &x.proxy)) {
    return false;
  }
  if (const Entry* e = f.Get("from")) {
    size_t i = 0;
    if (!ReadChoice(e->value, "side", {"remote", "container"}, &i))
      return false;
    x.from_container = i == 1;
  }
  if (const Entry* e = f.Get("count")) {
    if (!ReadNumber<uint32_t>(e->value, 1, kMaxSendCount, &x.count)) {
      return false;
    }
  }
  if (const Entry* e = f.Get("bytes")) {
    if (!ReadNumber<uint32_t>(e->value, kMinSendBytes, kMaxSendBytes,
                              &x.bytes)) {
      return false;
    }
  }
  *op = x;
  return true;
}

bool Parser::OpClose(const Val& v, sim::ScriptOp* op) {
  constexpr absl::string_view kWhat = "in 'close'";
  sim::script_op::Close x;
  Fields f;
  const Entry* p = nullptr;
  if (!ReadMap(v, kWhat, {"proxy", "side"}, &f) ||
      !Require(f, "proxy", kWhat, &p) || !ProxyRef(p->value, &x.proxy)) {
    return false;
  }
  if (const Entry* e = f.Get("side")) {
    size_t i = 0;
    if (!ReadChoice(e->value, "side", {"remote", "container"}, &i))
      return false;
    x.container_side = i == 1;
  }
  *op = x;
  return true;
}

bool Parser::OpRegisterWatcher(const Val& v, sim::ScriptOp* op) {
  sim::script_op::RegisterWatcher x;
  if (!ObjectNumber(v, &x.watcher.value)) return false;
  *op = x;
  return true;
}

bool Parser::OpAddWakeSource(const Val& v, sim::ScriptOp* op) {
  sim::script_op::AddWakeSource x;
  if (!WakeSourceRef(v, &x.source)) return false;
  *op = x;
  return true;
}

bool Parser::OpRemoveWakeSource(const Val& v, sim::ScriptOp* op) {
  sim::script_op::RemoveWakeSource x;
  if (!WakeSourceRef(v, &x.source)) return false;
  *op = x;
  return true;
}

bool Parser::OpSignalWakeSource(const Val& v, sim::ScriptOp* op) {
  constexpr absl::string_view kWhat = "in 'signal_wake_source'";
  sim::script_op::SignalWakeSource x;
  if (!v.node.IsMap()) {
    if (!WakeSourceRef(v, &x.source)) return false;
    *op = x;
    return true;
  }
  Fields f;
  const Entry* s = nullptr;
  if (!ReadMap(v, kWhat, {"source", "hold", "in_mask"}, &f) ||
      !Require(f, "source", kWhat, &s) || !WakeSourceRef(s->value, &x.source)) {
    return false;
  }
  if (const Entry* e = f.Get("hold")) {
    if (!ReadDuration(e->value, {}, &x.hold)) return false;
  }
  if (const Entry* e = f.Get("in_mask")) {
    if (!ReadBool(e->value, &x.in_mask)) return false;
  }
  *op = x;
  return true;
}

bool Parser::NoArguments(const Val& v, absl::string_view op) {
  if (IsNull(v)) return true;
  const std::string what =
      absl::StrCat("nothing or {} ('", op, "' takes no arguments)");
  if (!v.node.IsMap()) return Expected(v, what);
  if (v.node.size() != 0) {
    const YAML::Node key = v.node.begin()->first;
    return Fail(key.Mark(),
                absl::StrCat("expected ", what, ", found key ",
                             ShowText(key.IsScalar() ? key.Scalar() : "?")));
  }
  return true;
}

bool Parser::OpSuspend(const Val& v, sim::ScriptOp* op) {
  if (!NoArguments(v, "suspend")) return false;
  *op = sim::script_op::Suspend{};
  return true;
}

bool Parser::OpShutdown(const Val& v, sim::ScriptOp* op) {
  if (!NoArguments(v, "shutdown")) return false;
  *op = sim::script_op::Shutdown{};
  return true;
}

bool Parser::OpSubscribe(const Val& v, sim::ScriptOp* op) {
  sim::script_op::Subscribe x;
  if (!ObjectNumber(v, &x.subscriber.value)) return false;
  *op = x;
  return true;
}

bool Parser::OpPoll(const Val& v, sim::ScriptOp* op) {
  constexpr absl::string_view kWhat = "in 'poll'";
  sim::script_op::Poll x;
  if (!v.node.IsMap()) {
    if (!ObjectNumber(v, &x.subscriber.value)) return false;
    *op = x;
    return true;
  }
  Fields f;
  const Entry* s = nullptr;
  if (!ReadMap(v, kWhat, {"subscriber", "max"}, &f) ||
      !Require(f, "subscriber", kWhat, &s) ||
      !ObjectNumber(s->value, &x.subscriber.value)) {
    return false;
  }
  if (const Entry* e = f.Get("max")) {
    if (!ReadNumber(e->value, &x.max_events)) return false;
  }
  *op = x;
  return true;
}

bool Parser::OpUnsubscribe(const Val& v, sim::ScriptOp* op) {
  sim::script_op::Unsubscribe x;
  if (!ObjectNumber(v, &x.subscriber.value)) return false;
  *op = x;
  return true;
}

bool Parser::OpGuest(const Val& v, sim::ScriptOp* op) {
  constexpr absl::string_view kWhat = "in 'guest'";
  std::vector<absl::string_view> keys = {"vm", "exit_code"};
  keys.insert(keys.end(), std::begin(kGuestBehaviours),
              std::end(kGuestBehaviours));
  Fields f;
  const Entry* vm = nullptr;
  const Entry* b = nullptr;
  sim::script_op::InjectFault x;
  Cid cid;
  if (!ReadMap(v, kWhat, keys, &f) || !Require(f, "vm", kWhat, &vm) ||
      !VmRef(vm->value, &cid) ||
      !OneOf(f, kGuestBehaviours, "'guest'", "behaviour", &b)) {
    return false;
  }
  x.target = cid.value;
  const Entry* exit_code = f.Get("exit_code");
  const bool reason =
      b->key == "failure_reason" || b->key == "failure_reason_variant";
  if (exit_code != nullptr && !reason) {
    return Fail(exit_code->key_mark,
                "'exit_code' goes with 'failure_reason' or "
                "'failure_reason_variant'");
  }
  bool ok = true;
  if (b->key == "crash_at_boot") {
    x.kind = sim::FaultKind::kVmmCrashAtBoot;
    ok = ReadTrue(*b);
  } else if (b->key == "hang") {
    x.kind = sim::FaultKind::kGuestHang;
    ok = ReadTrue(*b);
  } else if (b->key == "slow_start") {
    x.kind = sim::FaultKind::kGuestSlowStart;
    ok = ReadMillis(b->value, &x.a);
  } else if (b->key == "panic") {
    x.kind = sim::FaultKind::kGuestPanic;
    ok = ReadTrue(*b);
  } else if (b->key == "reboot") {
    x.kind = sim::FaultKind::kGuestReboot;
    ok = ReadTrue(*b);
  } else if (b->key == "exit_unobservable") {
    x.kind = sim::FaultKind::kVmmExitUnobservable;
    ok = ReadTrue(*b);
  } else if (b->key == "report_out_of_order") {
    x.kind = sim::FaultKind::kPayloadOutOfOrder;
    size_t i = 0;
    ok = ReadChoice(b->value, "order", {"repeat", "backward"}, &i);
    x.a = static_cast<int64_t>(i);
  } else if (b->key == "failure_reason") {
    x.kind = sim::FaultKind::kFailureReason;
    size_t i = 0;
    ok = ReadChoice(b->value, "failure reason", kFailureReasons, &i);
    x.a = static_cast<int64_t>(i);
  } else if (b->key == "failure_reason_variant") {
    x.kind = sim::FaultKind::kFailureReason;
    ok = ReadInt(b->value, 0, kMaxFailureVariant, &x.a);
  }
  if (ok && exit_code != nullptr) {
    ok = ReadInt(exit_code->value, std::numeric_limits<int32_t>::min(),
                 std::numeric_limits<int32_t>::max(), &x.b);
  }
  if (!ok) return false;
  *op = x;
  return true;
}

bool Parser::ContainerBehaviour(const Val& v, absl::string_view name,
                                Keys behaviours, Fields* f, const Entry** b,
                                sim::script_op::InjectFault* x) {
  const std::string what = absl::StrCat("in '", name, "'");
  std::vector<absl::string_view> keys = {"container"};
  keys.insert(keys.end(), behaviours.begin(), behaviours.end());
  const Entry* c = nullptr;
  ContainerId id;
  if (!ReadMap(v, what, keys, f) || !Require(*f, "container", what, &c) ||
      !ContainerRef(c->value, &id) ||
      !OneOf(*f, behaviours, absl::StrCat("'", name, "'"), "behaviour", b)) {
    return false;
  }
  x->target = id.value;
  return true;
}

bool Parser::OpProcess(const Val& v, sim::ScriptOp* op) {
  Fields f;
  const Entry* b = nullptr;
  sim::script_op::InjectFault x;
  if (!ContainerBehaviour(v, "process", kProcessBehaviours, &f, &b, &x))
    return false;
  bool ok = true;
  if (b->key == "ignores_sigterm") {
    x.kind = sim::FaultKind::kContainerIgnoresSigterm;
    ok = ReadTrue(*b);
  } else if (b->key == "crash") {
    x.kind = sim::FaultKind::kContainerCrash;
    ok = ReadTrue(*b);
  } else {
    x.kind = sim::FaultKind::kCgroupMemoryPressure;
    ok = ReadInt(b->value, 1, kMaxBurst, &x.a);
  }
  if (!ok) return false;
  *op = x;
  return true;
}

bool Parser::OpAgent(const Val& v, sim::ScriptOp* op) {
  Fields f;
  const Entry* b = nullptr;
  sim::script_op::InjectFault x;
  if (!ContainerBehaviour(v, "agent", kAgentBehaviours, &f, &b, &x))
    return false;
  bool ok = true;
  if (b->key == "refuses") {
    x.kind = sim::FaultKind::kAgentRefuses;
    ok = ReadInt(b->value, 1, kMaxBurst, &x.a);
  } else {
    x.kind = sim::FaultKind::kAgentNeverAccepts;
    ok = ReadMillis(b->value, &x.a);
  }
  if (!ok) return false;
  *op = x;
  return true;
}

bool Parser::OpBoot(const Val& v, sim::ScriptOp* op) {
  Fields f;
  const Entry* b = nullptr;
  sim::script_op::InjectFault x;
  if (!ContainerBehaviour(v, "boot", kBootBehaviours, &f, &b, &x)) return false;
  bool ok = true;
  if (b->key == "transient_errors") {
    x.kind = sim::FaultKind::kBootTransientError;
    ok = ReadInt(b->value, 1, kMaxBurst, &x.a);
  } else {
    x.kind = sim::FaultKind::kBootPermanentError;
    ok = ReadTrue(*b);
  }
  if (!ok) return false;
  *op = x;
  return true;
}

bool ReadFaultKindName(absl::string_view text, sim::FaultKind* out) {
  const std::optional<sim::FaultKind> kind = sim::ParseFaultKind(text);
  if (!kind) return false;
  *out = *kind;
  return true;
}

std::string FaultKindList() {
  std::vector<absl::string_view> names;
  for (sim::FaultKind k : sim::AllFaultKinds()) {
    names.push_back(sim::FaultKindName(k));
  }
  return absl::StrJoin(names, ", ");
}

bool Parser::OpFault(const Val& v, sim::ScriptOp* op) {
  constexpr absl::string_view kWhat = "in 'fault'";
  Fields f;
  const Entry* k = nullptr;
  std::string name;
  sim::script_op::InjectFault x;
  if (!ReadMap(v, kWhat, {"kind", "target", "a", "b"}, &f) ||
      !Require(f, "kind", kWhat, &k) ||
      !Text(k->value, "a fault kind", &name)) {
    return false;
  }
  if (!ReadFaultKindName(name, &x.kind)) {
    return Fail(k->value.mark,
                absl::StrCat("unknown fault kind ", ShowText(name),
                             "; expected one of: ", FaultKindList()));
  }
  if (const Entry* e = f.Get("target")) {
    if (!FaultTargetRef(e->value, x.kind, &x.target)) return false;
  } else if (sim::FaultTargetOf(x.kind) != sim::FaultTarget::kAny) {
    return Fail(f.mark, "missing key 'target' in 'fault'");
  }
  if (const Entry* e = f.Get("a")) {
    if (!ReadNumber(e->value, &x.a)) return false;
  }
  if (const Entry* e = f.Get("b")) {
    if (!ReadNumber(e->value, &x.b)) return false;
  }
  *op = x;
  return true;
}

// ---------------------------------------------------------------------------
// Expectations

template <typename Id, typename Check>
bool Parser::ReadFinalMap(const Val& v, absl::string_view what, Check check,
                          std::map<Id, std::string>* out) {
  if (!v.node.IsMap())
    return Expected(v, absl::StrCat("a map in '", what, "'"));
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    const Val key{it->first, it->first.Mark()};
    YAML::Mark mark = it->second.Mark();
    if (it->second.IsNull() || mark.is_null()) mark = key.mark;
    const Val value{it->second, mark};
    if (!Charge(key, 1)) return false;
    Id id = 0;
    std::string name;
    if (!check(key, &id) || !Text(value, "a state name", &name)) return false;
    if (out->count(id) != 0) {
      return Fail(key.mark,
                  absl::StrCat("duplicate key '", id, "' in '", what, "'"));
    }
    if (!check.Name(value, name)) return false;
    (*out)[id] = std::move(name);
  }
  return true;
}

bool Parser::ReadFinal(const Val& v, FinalState* out) {
  Fields f;
  if (!ReadMap(v, "in 'final'", kFinalKeys, &f)) return false;
  // A key check and a value check per map.
  struct Check {
    Parser* p;
    int kind;  // 0 vms, 1 payloads, 2 containers, 3 proxies
    bool operator()(const Val& key, uint64_t* id) const {
      if (kind <= 1) {
        Cid cid;
        if (!p->VmRef(key, &cid)) return false;
        *id = cid.value;
        return true;
      }
      if (kind == 2) {
        ContainerId c;
        if (!p->ContainerRef(key, &c)) return false;
        *id = c.value;
        return true;
      }
      ProxyId x;
      if (!p->ProxyRef(key, &x)) return false;
      *id = x.value;
      return true;
    }
    bool operator()(const Val& key, uint32_t* id) const {
      uint64_t wide = 0;
      if (!(*this)(key, &wide)) return false;
      *id = static_cast<uint32_t>(wide);
      return true;
    }
    bool Name(const Val& v, const std::string& name) const {
      std::vector<absl::string_view> names;
      switch (kind) {
        case 0:
          if (ParseVmState(name)) return true;
          names = {"NOT_STARTED", "RUNNING", "DEAD", "FAILED"};
          break;
        case 1:
          if (ParsePayloadState(name)) return true;
          names = {"STARTING", "STARTED", "READY", "FINISHED"};
          break;
        case 2:
          if (ParseContainerEventKind(name)) return true;
          names = {"installed", "started", "exit", "uninstalled", "cgroup"};
          break;
        default:
          if (name == "running" || name == "stopped") return true;
          names = {"running", "stopped"};
      }
      static constexpr absl::string_view kWhat[] = {
          "vm state", "payload state", "container event", "proxy state"};
      return p->Fail(v.mark, absl::StrCat("unknown ", kWhat[kind], " ",
                                          ShowText(name), "; expected one of: ",
                                          absl::StrJoin(names, ", ")));
    }
  };
  for (const Entry& e : f.entries) {
    bool ok = true;
    if (e.key == "vms") {
      ok = ReadFinalMap(e.value, "vms", Check{this, 0}, &out->vms);
    } else if (e.key == "payloads") {
      ok = ReadFinalMap(e.value, "payloads", Check{this, 1}, &out->payloads);
    } else if (e.key == "containers") {
      ok =
          ReadFinalMap(e.value, "containers", Check{this, 2}, &out->containers);
    } else if (e.key == "proxies") {
      ok = ReadFinalMap(e.value, "proxies", Check{this, 3}, &out->proxies);
    } else if (e.key == "suspended") {
      bool b = false;
      ok = ReadBool(e.value, &b);
      out->suspended = b;
    } else if (e.key == "shutdown_complete") {
      bool b = false;
      ok = ReadBool(e.value, &b);
      out->shutdown_complete = b;
    }
    if (!ok) return false;
  }
  return true;
}

bool Parser::ReadExpectation(const Val& v, Expectation* out) {
  Fields f;
  const Entry* kind = nullptr;
  if (!ReadMap(v, "in an expectation", kExpectKeys, &f) ||
      !OneOf(f, {"event", "never", "final"}, "an expectation", "kind", &kind)) {
    return false;
  }
  out->location = Loc(v.mark);
  if (kind->key == "final") {
    out->kind = Expectation::Kind::kFinal;
    for (absl::string_view key :
         {"where", "within", "between", "after", "count"}) {
      if (const Entry* e = f.Get(key)) {
        return Fail(e->key_mark,
                    absl::StrCat("'", key, "' does not go with 'final'"));
      }
    }
    if (!ReadFinal(kind->value, &out->final_state)) return false;
  } else {
    out->kind = kind->key == "event" ? Expectation::Kind::kEvent
                                     : Expectation::Kind::kNever;
    if (!ReadKind(kind->value, &out->pattern.kind)) return false;
    out->pattern.location = Loc(kind->value.mark);
    if (const Entry* e = f.Get("where")) {
      if (!ReadWhere(e->value, &out->pattern.where)) return false;
    }
    const Entry* within = f.Get("within");
    const Entry* between = f.Get("between");
    if (within != nullptr && between != nullptr) {
      const Entry* second =
          within->key_mark.pos < between->key_mark.pos ? between : within;
      return Fail(second->key_mark,
                  "an expectation has one window: 'within' or 'between', not "
                  "both");
    }
    if (within != nullptr &&
        !ReadDuration(within->value, {}, &out->window.until)) {
      return false;
    }
    if (between != nullptr) {
      std::vector<Val> ends;
      if (!ReadList(between->value, "durations", 2, &ends)) return false;
      if (ends.size() != 2) {
        return Fail(between->value.mark,
                    "expected two durations [FROM, UNTIL] in 'between'");
      }
      DurationRule until_rule;
      until_rule.infinite = true;
      if (!ReadDuration(ends[0], {}, &out->window.from) ||
          !ReadDuration(ends[1], until_rule, &out->window.until)) {
        return false;
      }
      if (out->window.until < out->window.from) {
        return Fail(ends[1].mark,
                    absl::StrCat("the window ends (",
                                 FormatDurationText(out->window.until),
                                 ") before it begins (",
                                 FormatDurationText(out->window.from), ")"));
      }
    }
    if (const Entry* e = f.Get("after")) {
      EventPattern pattern;
      if (!ReadPattern(e->value, &pattern)) return false;
      out->window.after = std::move(pattern);
    }
    if (const Entry* e = f.Get("count")) {
      if (out->kind == Expectation::Kind::kNever) {
        return Fail(e->key_mark, "'count' does not go with 'never'");
      }
      uint32_t count = 0;
      if (!ReadNumber(e->value, &count)) return false;
      out->count = count;
    }
  }
  if (const Entry* e = f.Get("rule")) {
    if (!Text(e->value, "a rule ID", &out->rule)) return false;
    if (std::find(rules_.begin(), rules_.end(), out->rule) == rules_.end()) {
      return Fail(e->value.mark,
                  absl::StrCat("rule ", ShowText(out->rule),
                               " is not one of the scenario's rules (",
                               absl::StrJoin(rules_, ", "), ")"));
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// The generated form

bool Parser::ReadGenerated(const Val& v, GeneratedWorkload* out) {
  Fields f;
  if (!ReadMap(v, "in 'generated'", kGeneratedKeys, &f)) return false;
  DurationRule positive;
  positive.positive = true;
  for (const Entry& e : f.entries) {
    bool ok = true;
    if (e.key == "seed") {
      ok = ReadNumber(e.value, &out->seed);
    } else if (e.key == "swarm") {
      ok = ReadBool(e.value, &out->swarm);
    } else if (e.key == "vms") {
      ok = ReadNumber<uint32_t>(e.value, 0, kMaxGeneratedVms, &out->vms);
    } else if (e.key == "proxies") {
      ok =
          ReadNumber<uint32_t>(e.value, 0, kMaxGeneratedProxies, &out->proxies);
    } else if (e.key == "containers") {
      ok = ReadNumber<uint32_t>(e.value, 0, kMaxGeneratedContainers,
                                &out->containers);
    } else if (e.key == "window") {
      ok = ReadDuration(e.value, positive, &out->window);
    } else if (e.key == "quiet") {
      ok = ReadDuration(e.value, positive, &out->quiet);
    }
    if (!ok) return false;
  }
  return true;
}

bool Parser::ReadFault(const Val& v, sim::Fault* out) {
  constexpr absl::string_view kWhat = "in a fault";
  Fields f;
  const Entry* at = nullptr;
  const Entry* kind = nullptr;
  std::string name;
  absl::Duration d;
  if (!ReadMap(v, kWhat, kFaultKeys, &f) || !Require(f, "at", kWhat, &at) ||
      !ReadDuration(at->value, {}, &d) || !Require(f, "kind", kWhat, &kind) ||
      !Text(kind->value, "a fault kind", &name)) {
    return false;
  }
  out->at = Instant{absl::ToInt64Nanoseconds(d)};
  if (!ReadFaultKindName(name, &out->kind)) {
    return Fail(kind->value.mark,
                absl::StrCat("unknown fault kind ", ShowText(name),
                             "; expected one of: ", FaultKindList()));
  }
  if (const Entry* e = f.Get("target")) {
    if (!ReadNumber(e->value, &out->target)) return false;
  }
  if (const Entry* e = f.Get("a")) {
    if (!ReadNumber(e->value, &out->a)) return false;
  }
  if (const Entry* e = f.Get("b")) {
    if (!ReadNumber(e->value, &out->b)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// The whole file

absl::StatusOr<Scenario> Parser::Parse(absl::string_view yaml) {
  if (yaml.size() > kMaxScenarioFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_, ": the file is ", yaml.size(),
        " bytes; a scenario may have at most ", kMaxScenarioFileBytes));
  }
  const std::string text(yaml);
  constexpr absl::string_view kNeeded =
      "with at least 'name', 'rules' and 'worlds'";
  const YAML::Mark start;
  YAML::Node doc;
  try {
    // Not YAML::LoadAll: yaml-cpp 0.7 returns the same empty document
    // forever for a stray token at the top level such as ','
    // (jbeder/yaml-cpp#1040), so documents are counted here, at most two,
    // and a second one that starts where the first did is that token.
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentStarts starts(text);
    const bool one = parser.HandleNextDocument(starts);
    if (starts.unterminated) {
      Fail(*starts.unterminated,
           "invalid YAML: a quoted string is never closed (the file ends "
           "inside it)");
      return error_;
    }
    if (one && parser.HandleNextDocument(starts)) {
      const YAML::Mark first = starts.marks[0];
      const YAML::Mark second = starts.marks[1];
      if (second.pos <= first.pos) {
        const size_t at = static_cast<size_t>(std::max(first.pos, 0));
        Fail(first,
             absl::StrCat("invalid YAML: unexpected ",
                          ShowText(absl::string_view(text).substr(at, 1))));
      } else {
        Fail(second, "expected one YAML document, found a second one");
      }
      return error_;
    }
    doc = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    Fail(e.mark, "invalid YAML: nested too deeply");
    return error_;
  } catch (const YAML::Exception& e) {
    Fail(e.mark, absl::StrCat("invalid YAML: ", e.msg));
    return error_;
  }
  if (!doc.IsDefined() || doc.IsNull()) {
    Fail(start, absl::StrCat("the file is empty; expected a map ", kNeeded));
    return error_;
  }
  Scenario s;
  s.file = file_;
  const Val root{doc, doc.Mark()};
  Fields top;
  if (!root.node.IsMap()) {
    Expected(root, absl::StrCat("a map at the top level ", kNeeded));
    return error_;
  }
  if (!ReadMap(root, "at the top level", kTopKeys, &top)) return error_;
  const Entry* e = nullptr;
  if (!Require(top, "name", "at the top level", &e) ||
      !ReadName(e->value, &s.name) ||
      !Require(top, "rules", "at the top level", &e) ||
      !ReadRules(e->value, &s.rules) ||
      !Require(top, "worlds", "at the top level", &e) ||
      !ReadWorlds(e->value, &s.worlds)) {
    return error_;
  }
  rules_ = s.rules;
  if ((e = top.Get("description")) && !ReadString(e->value, &s.description)) {
    return error_;
  }
  if ((e = top.Get("seed")) && !ReadNumber(e->value, &s.seed)) return error_;
  DurationRule positive;
  positive.positive = true;
  if ((e = top.Get("time_limit")) &&
      !ReadDuration(e->value, positive, &s.time_limit)) {
    return error_;
  }
  if ((e = top.Get("invariants")) && !ReadBool(e->value, &s.invariants)) {
    return error_;
  }
  if (const Entry* generated = top.Get("generated")) {
    for (absl::string_view key : {"setup", "steps"}) {
      if (const Entry* other = top.Get(key)) {
        Fail(other->key_mark,
             absl::StrCat("'", key,
                          "' cannot be combined with 'generated' (a scenario "
                          "has either setup and steps, or a generated "
                          "workload and faults)"));
        return error_;
      }
    }
    scripted_ = false;
    GeneratedWorkload g;
    if (!ReadGenerated(generated->value, &g)) return error_;
    s.generated = g;
    if (const Entry* faults = top.Get("faults")) {
      std::vector<Val> items;
      if (!ReadList(faults->value, "faults", kMaxFaults, &items)) return error_;
      s.faults.resize(items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        if (!ReadFault(items[i], &s.faults[i])) return error_;
      }
    }
  } else {
    if (const Entry* faults = top.Get("faults")) {
      Fail(faults->key_mark,
           "'faults' goes with 'generated'; with a setup, write faults as "
           "steps (guest, process, agent, boot or fault)");
      return error_;
    }
    if ((e = top.Get("setup")) && !ReadSetup(e->value, &s.setup)) {
      return error_;
    }
    if ((e = top.Get("steps"))) {
      std::vector<Val> items;
      if (!ReadList(e->value, "steps", kMaxSteps, &items)) return error_;
      s.steps.resize(items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        if (!ReadStep(items[i], &s.steps[i])) return error_;
      }
    }
  }
  if ((e = top.Get("expect"))) {
    std::vector<Val> items;
    if (!ReadList(e->value, "expectations", kMaxExpectations, &items)) {
      return error_;
    }
    s.expect.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (!ReadExpectation(items[i], &s.expect[i])) return error_;
    }
  }
  // The setup's pointers into `s` are not needed past this point.
  vms_.clear();
  containers_.clear();
  return s;
}

// ---------------------------------------------------------------------------
// The emitter

bool IsReservedWord(absl::string_view s) {
  static constexpr absl::string_view kWords[] = {
      "true", "false", "null", "yes", "no", "on", "off", "y", "n"};
  const std::string lower = absl::AsciiStrToLower(s);
  for (absl::string_view w : kWords) {
    if (lower == w) return true;
  }
  return false;
}

// Whether `s` can be written as a plain scalar that reads back as the same
// string in every context (flow or block, and in `where`, where a plain
// scalar may become a number, a bool or null).
bool IsSafePlain(absl::string_view s) {
  if (s.empty() || IsReservedWord(s)) return false;
  const char first = s[0];
  if (!absl::ascii_isalpha(first) && first != '_' && first != '/') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '/' || c == '.' ||
           c == '-';
  });
}

// A YAML double-quoted scalar. Bytes from 0x80 are written as they are:
// yaml-cpp reads them back unchanged, where an escape would name a code
// point and so change invalid UTF-8.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", u);
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string Str(absl::string_view s) {
  return IsSafePlain(s) ? std::string(s) : Quote(s);
}

std::string Dur(absl::Duration d) { return FormatDurationText(d); }

std::string Bool(bool b) { return b ? "true" : "false"; }

std::string JsonYaml(const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      std::vector<std::string> members;
      for (auto it = j.begin(); it != j.end(); ++it) {
        members.push_back(absl::StrCat(Str(it.key()), ": ", JsonYaml(*it)));
      }
      return absl::StrCat("{", absl::StrJoin(members, ", "), "}");
    }
    case json::value_t::array: {
      std::vector<std::string> items;
      for (const json& item : j) items.push_back(JsonYaml(item));
      return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
    }
    case json::value_t::string:
      return Str(j.get_ref<const std::string&>());
    case json::value_t::boolean:
      return Bool(j.get<bool>());
    case json::value_t::number_integer:
      return absl::StrCat(j.get<int64_t>());
    case json::value_t::number_unsigned:
      return absl::StrCat(j.get<uint64_t>());
    case json::value_t::number_float:
      return j.dump();
    default:
      return "null";
  }
}

// A flow map from members already written.
using Members = std::vector<std::pair<std::string, std::string>>;
std::string Flow(const Members& members) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : members) parts.push_back(absl::StrCat(k, ": ", v));
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

void AddOptString(Members* m, absl::string_view key,
                  const std::optional<std::string>& s) {
  if (s) m->emplace_back(std::string(key), Str(*s));
}

// The members that make ReadConfig give `c` back.
Members ConfigMembers(const VmConfig& c) {
  Members m;
  if (c.kernel) {
    m.emplace_back("kernel", Str(*c.kernel));
  } else if (!c.bootloader) {
    m.emplace_back("kernel", "null");
  }
  AddOptString(&m, "bootloader", c.bootloader);
  AddOptString(&m, "initrd", c.initrd);
  if (!c.disks.empty()) {
    std::vector<std::string> disks;
    for (const DiskImage& d : c.disks) {
      Members dm = {{"image", Str(d.image)}};
      if (d.writable) dm.emplace_back("writable", "true");
      disks.push_back(Flow(dm));
    }
    m.emplace_back("disks", absl::StrCat("[", absl::StrJoin(disks, ", "), "]"));
  }
  AddOptString(&m, "params", c.params);
  if (c.protected_vm) m.emplace_back("protected_vm", "true");
  if (c.memory_mib) m.emplace_back("memory_mib", absl::StrCat(*c.memory_mib));
  if (c.cpus) m.emplace_back("cpus", absl::StrCat(*c.cpus));
  AddOptString(&m, "cpu_affinity", c.cpu_affinity);
  if (!c.task_profiles.empty()) {
    std::vector<std::string> profiles;
    for (const std::string& p : c.task_profiles) profiles.push_back(Str(p));
    m.emplace_back("task_profiles",
                   absl::StrCat("[", absl::StrJoin(profiles, ", "), "]"));
  }
  AddOptString(&m, "console_sink", c.console_sink);
  AddOptString(&m, "log_sink", c.log_sink);
  if (c.platform_version != VmConfig{}.platform_version) {
    m.emplace_back("platform_version", Str(c.platform_version));
  }
  if (c.detect_hangup) m.emplace_back("detect_hangup", "true");
  if (c.hangup_timeout)
    m.emplace_back("hangup_timeout", Dur(*c.hangup_timeout));
  return m;
}

bool IsDefaultConfig(const VmConfig& c) {
  VmConfig d;
  d.cid = c.cid;
  d.kernel = std::string(kDefaultKernel);
  return c == d;
}

Members SpecMembers(const ContainerSpec& spec) {
  const ContainerSpec d;
  Members m;
  if (spec.owns_vm != d.owns_vm) m.emplace_back("owns_vm", Bool(spec.owns_vm));
  if (spec.socket_relays != d.socket_relays) {
    m.emplace_back("socket_relays", absl::StrCat(spec.socket_relays));
  }
  if (spec.port_start != d.port_start || spec.port_end != d.port_end) {
    m.emplace_back("ports", Flow({{"start", absl::StrCat(spec.port_start)},
                                  {"end", absl::StrCat(spec.port_end)}}));
  }
  return m;
}

std::string PatternYaml(const EventPattern& p) {
  Members m = {{"event", Str(p.kind)}};
  if (!(p.where.is_object() && p.where.empty())) {
    m.emplace_back("where", JsonYaml(p.where));
  }
  return Flow(m);
}

// The sugar of a guest, process, agent or boot behaviour when the fault is
// exactly what that sugar reads as; otherwise the generic `fault` form.
std::pair<std::string, std::string> FaultOp(
    const sim::script_op::InjectFault& f) {
  using sim::FaultKind;
  const std::string target = absl::StrCat(f.target);
  auto sugar = [&](absl::string_view op, absl::string_view target_key,
                   Members behaviour) {
    Members m = {{std::string(target_key), target}};
    m.insert(m.end(), behaviour.begin(), behaviour.end());
    return std::make_pair(std::string(op), Flow(m));
  };
  const bool no_args = f.a == 0 && f.b == 0;
  switch (f.kind) {
    case FaultKind::kVmmCrashAtBoot:
      if (no_args) return sugar("guest", "vm", {{"crash_at_boot", "true"}});
      break;
    case FaultKind::kGuestHang:
      if (no_args) return sugar("guest", "vm", {{"hang", "true"}});
      break;
    case FaultKind::kGuestSlowStart:
      if (f.b == 0 && f.a >= 0 && absl::Milliseconds(f.a) <= kMaxDuration) {
        return sugar("guest", "vm",
                     {{"slow_start", Dur(absl::Milliseconds(f.a))}});
      }
      break;
    case FaultKind::kGuestPanic:
      if (no_args) return sugar("guest", "vm", {{"panic", "true"}});
      break;
    case FaultKind::kGuestReboot:
      if (no_args) return sugar("guest", "vm", {{"reboot", "true"}});
      break;
    case FaultKind::kVmmExitUnobservable:
      if (no_args) return sugar("guest", "vm", {{"exit_unobservable", "true"}});
      break;
    case FaultKind::kPayloadOutOfOrder:
      if (f.b == 0 && (f.a == 0 || f.a == 1)) {
        return sugar(
            "guest", "vm",
            {{"report_out_of_order", f.a == 0 ? "repeat" : "backward"}});
      }
      break;
    case FaultKind::kFailureReason:
      if (f.a >= 0 && f.a <= kMaxFailureVariant &&
          f.b >= std::numeric_limits<int32_t>::min() &&
          f.b <= std::numeric_limits<int32_t>::max()) {
        Members m;
        if (f.a < static_cast<int64_t>(kFailureReasons.size())) {
          m.emplace_back("failure_reason", std::string(kFailureReasons[f.a]));
        } else {
          m.emplace_back("failure_reason_variant", absl::StrCat(f.a));
        }
        if (f.b != 0) m.emplace_back("exit_code", absl::StrCat(f.b));
        return sugar("guest", "vm", m);
      }
      break;
    case FaultKind::kContainerIgnoresSigterm:
      if (no_args) {
        return sugar("process", "container", {{"ignores_sigterm", "true"}});
      }
      break;
    case FaultKind::kContainerCrash:
      if (no_args) return sugar("process", "container", {{"crash", "true"}});
      break;
    case FaultKind::kCgroupMemoryPressure:
      if (f.b == 0 && f.a >= 1 && f.a <= kMaxBurst) {
        return sugar("process", "container",
                     {{"memory_pressure", absl::StrCat(f.a)}});
      }
      break;
    case FaultKind::kAgentRefuses:
      if (f.b == 0 && f.a >= 1 && f.a <= kMaxBurst) {
        return sugar("agent", "container", {{"refuses", absl::StrCat(f.a)}});
      }
      break;
    case FaultKind::kAgentNeverAccepts:
      if (f.b == 0 && f.a >= 0 && absl::Milliseconds(f.a) <= kMaxDuration) {
        return sugar("agent", "container",
                     {{"never_accepts", Dur(absl::Milliseconds(f.a))}});
      }
      break;
    case FaultKind::kBootTransientError:
      if (f.b == 0 && f.a >= 1 && f.a <= kMaxBurst) {
        return sugar("boot", "container",
                     {{"transient_errors", absl::StrCat(f.a)}});
      }
      break;
    case FaultKind::kBootPermanentError:
      if (no_args) {
        return sugar("boot", "container", {{"permanent_error", "true"}});
      }
      break;
    default:
      break;
  }
  return {"fault", Flow({{"kind", std::string(sim::FaultKindName(f.kind))},
                         {"target", target},
                         {"a", absl::StrCat(f.a)},
                         {"b", absl::StrCat(f.b)}})};
}

std::pair<std::string, std::string> OpYaml(const Scenario& s,
                                           const sim::ScriptOp& op) {
  namespace so = sim::script_op;
  const std::string none = "{}";
  return std::visit(
      [&](const auto& x) -> std::pair<std::string, std::string> {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, so::CreateVm>) {
          for (const VmSetup& vm : s.setup.vms) {
            if (vm.config.cid == x.config.cid && vm.config == x.config) {
              return {"create_vm", absl::StrCat(x.config.cid.value)};
            }
          }
          return {"create_vm",
                  Flow({{"cid", absl::StrCat(x.config.cid.value)},
                        {"config", Flow(ConfigMembers(x.config))}})};
        } else if constexpr (std::is_same_v<T, so::StartVm>) {
          return {"start_vm", absl::StrCat(x.cid.value)};
        } else if constexpr (std::is_same_v<T, so::KillVm>) {
          return {"kill_vm", absl::StrCat(x.cid.value)};
        } else if constexpr (std::is_same_v<T, so::InstallContainer>) {
          for (const ContainerSetup& c : s.setup.containers) {
            if (c.id == x.container && c.spec == x.spec) {
              return {"install", absl::StrCat(x.container.value)};
            }
          }
          return {"install",
                  Flow({{"container", absl::StrCat(x.container.value)},
                        {"spec", Flow(SpecMembers(x.spec))}})};
        } else if constexpr (std::is_same_v<T, so::StartContainer>) {
          return {"start", absl::StrCat(x.container.value)};
        } else if constexpr (std::is_same_v<T, so::StopContainer>) {
          if (!x.grace) return {"stop", absl::StrCat(x.container.value)};
          return {"stop", Flow({{"container", absl::StrCat(x.container.value)},
                                {"grace", Dur(*x.grace)}})};
        } else if constexpr (std::is_same_v<T, so::WaitContainer>) {
          return {"wait", absl::StrCat(x.container.value)};
        } else if constexpr (std::is_same_v<T, so::KillContainer>) {
          const std::optional<absl::string_view> name = SignalName(x.signal);
          return {"kill", Flow({{"container", absl::StrCat(x.container.value)},
                                {"signal", name ? std::string(*name)
                                                : absl::StrCat(x.signal)}})};
        } else if constexpr (std::is_same_v<T, so::UninstallContainer>) {
          return {"uninstall", absl::StrCat(x.container.value)};
        } else if constexpr (std::is_same_v<T, so::CopyFile>) {
          return {
              "copy",
              Flow({{"container", absl::StrCat(x.container.value)},
                    {"direction",
                     x.direction == input::CopyDirection::kIn ? "in" : "out"},
                    {"path", Str(x.guest_path)}})};
        } else if constexpr (std::is_same_v<T, so::AttachBlockDevice>) {
          return {"attach",
                  Flow({{"container", absl::StrCat(x.container.value)},
                        {"slot", absl::StrCat(x.slot)}})};
        } else if constexpr (std::is_same_v<T, so::AddProxy>) {
          return {"add_proxy", absl::StrCat(x.proxy.value)};
        } else if constexpr (std::is_same_v<T, so::Send>) {
          return {"send",
                  Flow({{"proxy", absl::StrCat(x.proxy.value)},
                        {"from", x.from_container ? "container" : "remote"},
                        {"count", absl::StrCat(x.count)},
                        {"bytes", absl::StrCat(x.bytes)}})};
        } else if constexpr (std::is_same_v<T, so::Close>) {
          return {"close",
                  Flow({{"proxy", absl::StrCat(x.proxy.value)},
                        {"side", x.container_side ? "container" : "remote"}})};
        } else if constexpr (std::is_same_v<T, so::RegisterWatcher>) {
          return {"register_watcher", absl::StrCat(x.watcher.value)};
        } else if constexpr (std::is_same_v<T, so::AddWakeSource>) {
          return {"add_wake_source", absl::StrCat(x.source)};
        } else if constexpr (std::is_same_v<T, so::RemoveWakeSource>) {
          return {"remove_wake_source", absl::StrCat(x.source)};
        } else if constexpr (std::is_same_v<T, so::SignalWakeSource>) {
          return {"signal_wake_source",
                  Flow({{"source", absl::StrCat(x.source)},
                        {"hold", Dur(x.hold)},
                        {"in_mask", Bool(x.in_mask)}})};
        } else if constexpr (std::is_same_v<T, so::Suspend>) {
          return {"suspend", none};
        } else if constexpr (std::is_same_v<T, so::Subscribe>) {
          return {"subscribe", absl::StrCat(x.subscriber.value)};
        } else if constexpr (std::is_same_v<T, so::Poll>) {
          return {"poll",
                  Flow({{"subscriber", absl::StrCat(x.subscriber.value)},
                        {"max", absl::StrCat(x.max_events)}})};
        } else if constexpr (std::is_same_v<T, so::Unsubscribe>) {
          return {"unsubscribe", absl::StrCat(x.subscriber.value)};
        } else if constexpr (std::is_same_v<T, so::Shutdown>) {
          return {"shutdown", none};
        } else {
          static_assert(std::is_same_v<T, so::InjectFault>);
          return FaultOp(x);
        }
      },
      op);
}

template <typename Id>
std::string StateMap(const std::map<Id, std::string>& m) {
  Members members;
  for (const auto& [id, name] : m) {
    members.emplace_back(absl::StrCat(id), Str(name));
  }
  return Flow(members);
}

// Block map lines: the first after `first_prefix` (a list item's "- "),
// the others indented to line up with it.
void AppendBlock(std::string* out, absl::string_view first_prefix,
                 size_t indent, const Members& m) {
  for (size_t i = 0; i < m.size(); ++i) {
    absl::StrAppend(out, i == 0 ? first_prefix : std::string(indent, ' '),
                    m[i].first, m[i].second.empty() ? ":" : ": ", m[i].second,
                    "\n");
  }
}

// One item of `expect`, in block form: an expectation is read more often
// than it is written.
std::string ExpectationYaml(const Expectation& x) {
  std::string out;
  if (x.kind == Expectation::Kind::kFinal) {
    const FinalState& f = x.final_state;
    Members fm;
    if (!f.vms.empty()) fm.emplace_back("vms", StateMap(f.vms));
    if (!f.payloads.empty()) fm.emplace_back("payloads", StateMap(f.payloads));
    if (!f.containers.empty()) {
      fm.emplace_back("containers", StateMap(f.containers));
    }
    if (!f.proxies.empty()) fm.emplace_back("proxies", StateMap(f.proxies));
    if (f.suspended) fm.emplace_back("suspended", Bool(*f.suspended));
    if (f.shutdown_complete) {
      fm.emplace_back("shutdown_complete", Bool(*f.shutdown_complete));
    }
    if (fm.empty()) {
      out = "  - final: {}\n";
    } else {
      out = "  - final:\n";
      AppendBlock(&out, "      ", 6, fm);
    }
    if (!x.rule.empty()) absl::StrAppend(&out, "    rule: ", Str(x.rule), "\n");
    return out;
  }
  Members m;
  m.emplace_back(x.kind == Expectation::Kind::kEvent ? "event" : "never",
                 Str(x.pattern.kind));
  if (!(x.pattern.where.is_object() && x.pattern.where.empty())) {
    m.emplace_back("where", JsonYaml(x.pattern.where));
  }
  const TimeWindow& w = x.window;
  if (w.from != absl::ZeroDuration()) {
    m.emplace_back("between",
                   absl::StrCat("[", Dur(w.from), ", ", Dur(w.until), "]"));
  } else if (w.until != absl::InfiniteDuration()) {
    m.emplace_back("within", Dur(w.until));
  }
  if (w.after) m.emplace_back("after", PatternYaml(*w.after));
  if (x.count && x.kind == Expectation::Kind::kEvent) {
    m.emplace_back("count", absl::StrCat(*x.count));
  }
  if (!x.rule.empty()) m.emplace_back("rule", Str(x.rule));
  AppendBlock(&out, "  - ", 4, m);
  return out;
}

}  // namespace

absl::string_view WorldKindName(WorldKind world) {
  const auto i = static_cast<size_t>(world);
  return i < kWorldNames.size() ? kWorldNames[i] : "?";
}

std::optional<WorldKind> ParseWorldKind(absl::string_view name) {
  for (size_t i = 0; i < kWorldNames.size(); ++i) {
    if (kWorldNames[i] == name) return static_cast<WorldKind>(i);
  }
  return std::nullopt;
}

bool Scenario::AppliesTo(WorldKind world) const {
  return std::find(worlds.begin(), worlds.end(), world) != worlds.end();
}

absl::StatusOr<Scenario> ParseScenario(absl::string_view yaml,
                                       absl::string_view file_name) {
  return Parser(file_name).Parse(yaml);
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open the scenario file"));
  }
  std::string text;
  char buffer[64 * 1024];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxScenarioFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": the file is larger than the ",
                       kMaxScenarioFileBytes, " bytes a scenario may have"));
    }
  }
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read the scenario file"));
  }
  return ParseScenario(text, path);
}

std::string FormatScenario(const Scenario& s) {
  const Scenario defaults;
  std::string out;
  absl::StrAppend(&out, "name: ", Str(s.name), "\n");
  if (!s.description.empty()) {
    absl::StrAppend(&out, "description: ", Quote(s.description), "\n");
  }
  std::vector<std::string> rules;
  for (const std::string& r : s.rules) rules.push_back(Str(r));
  absl::StrAppend(&out, "rules: [", absl::StrJoin(rules, ", "), "]\n");
  std::vector<std::string> worlds;
  for (WorldKind w : s.worlds) worlds.push_back(std::string(WorldKindName(w)));
  absl::StrAppend(&out, "worlds: [", absl::StrJoin(worlds, ", "), "]\n");
  if (s.seed != defaults.seed) absl::StrAppend(&out, "seed: ", s.seed, "\n");
  if (s.time_limit != defaults.time_limit) {
    absl::StrAppend(&out, "time_limit: ", Dur(s.time_limit), "\n");
  }
  if (s.invariants != defaults.invariants) {
    absl::StrAppend(&out, "invariants: ", Bool(s.invariants), "\n");
  }
  if (s.generated) {
    const GeneratedWorkload& g = *s.generated;
    absl::StrAppend(&out, "generated: ",
                    Flow({{"seed", absl::StrCat(g.seed)},
                          {"swarm", Bool(g.swarm)},
                          {"vms", absl::StrCat(g.vms)},
                          {"proxies", absl::StrCat(g.proxies)},
                          {"containers", absl::StrCat(g.containers)},
                          {"window", Dur(g.window)},
                          {"quiet", Dur(g.quiet)}}),
                    "\n");
    if (!s.faults.empty()) {
      absl::StrAppend(&out, "faults:\n");
      for (const sim::Fault& f : s.faults) {
        absl::StrAppend(&out, "  - ",
                        Flow({{"at", Dur(absl::Nanoseconds(f.at.ns))},
                              {"kind", std::string(sim::FaultKindName(f.kind))},
                              {"target", absl::StrCat(f.target)},
                              {"a", absl::StrCat(f.a)},
                              {"b", absl::StrCat(f.b)}}),
                        "\n");
      }
    }
  } else {
    const Setup& setup = s.setup;
    if (!setup.vms.empty() || !setup.containers.empty() ||
        !setup.proxies.empty() || setup.wake_sources != 0) {
      absl::StrAppend(&out, "setup:\n");
    }
    if (!setup.vms.empty()) {
      absl::StrAppend(&out, "  vms:\n");
      for (const VmSetup& vm : setup.vms) {
        absl::StrAppend(&out, "    - cid: ", vm.config.cid.value, "\n");
        if (!IsDefaultConfig(vm.config)) {
          absl::StrAppend(&out, "      config:\n");
          AppendBlock(&out, "        ", 8, ConfigMembers(vm.config));
        }
        const sim::ScriptedGuest d;
        Members g;
        if (vm.guest.started_after != d.started_after) {
          g.emplace_back("started_after", Dur(vm.guest.started_after));
        }
        if (vm.guest.ready_after != d.ready_after) {
          g.emplace_back("ready_after", Dur(vm.guest.ready_after));
        }
        if (vm.guest.finish_after) {
          g.emplace_back("finish_after", Dur(*vm.guest.finish_after));
        }
        if (vm.guest.exit_code != d.exit_code) {
          g.emplace_back("exit_code", absl::StrCat(vm.guest.exit_code));
        }
        if (!g.empty()) absl::StrAppend(&out, "      guest: ", Flow(g), "\n");
      }
    }
    if (!setup.containers.empty()) {
      absl::StrAppend(&out, "  containers:\n");
      for (const ContainerSetup& c : setup.containers) {
        Members m = {{"id", absl::StrCat(c.id.value)}};
        const Members spec = SpecMembers(c.spec);
        m.insert(m.end(), spec.begin(), spec.end());
        Members p;
        if (c.process.exit_after) {
          p.emplace_back("exit_after", Dur(*c.process.exit_after));
        }
        if (c.process.exit_code != 0) {
          p.emplace_back("exit_code", absl::StrCat(c.process.exit_code));
        }
        if (!p.empty()) m.emplace_back("process", Flow(p));
        absl::StrAppend(&out, "    - ", Flow(m), "\n");
      }
    }
    if (!setup.proxies.empty()) {
      std::vector<std::string> ids;
      for (ProxyId p : setup.proxies) ids.push_back(absl::StrCat(p.value));
      absl::StrAppend(&out, "  proxies: [", absl::StrJoin(ids, ", "), "]\n");
    }
    if (setup.wake_sources != 0) {
      absl::StrAppend(&out, "  wake_sources: ", setup.wake_sources, "\n");
    }
    if (!s.steps.empty()) {
      absl::StrAppend(&out, "steps:\n");
      for (const Step& step : s.steps) {
        Members m;
        if (step.when.after) {
          m.emplace_back("after", PatternYaml(*step.when.after));
          if (step.when.delay != absl::ZeroDuration()) {
            m.emplace_back("delay", Dur(step.when.delay));
          }
        } else {
          // A step built in code without a trigger runs at the start.
          m.emplace_back("at",
                         Dur(step.when.at.value_or(absl::ZeroDuration())));
        }
        m.push_back(OpYaml(s, step.op));
        absl::StrAppend(&out, "  - ", Flow(m), "\n");
      }
    }
  }
  if (!s.expect.empty()) {
    absl::StrAppend(&out, "expect:\n");
    for (const Expectation& x : s.expect) {
      absl::StrAppend(&out, ExpectationYaml(x));
    }
  }
  return out;
}

}  // namespace proctor::scenario
