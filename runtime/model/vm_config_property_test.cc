// Property test of VM config validation (issue 5): VM-2 of docs/spec.md and
// the bounds VM-1 adds, with a model written from the rule text. Configs are
// generated field by field, most of them close to valid so that single
// violations are common; the model lists every rule the config breaks.
//
// What the model requires:
//   - valid exactly when no rule is broken, and then nothing else is said;
//   - otherwise INVALID_ARGUMENT naming one broken rule, its message starting
//     with that rule's ID (each violation is a distinct, clear error);
//   - among VM-2's rules, the text's order: the image choice ("exactly one
//     of bootloader and kernel", "a bootloader excludes kernel and initrd")
//     comes before the platform version.
// docs/spec.md does not order VM-1's bounds against VM-2's rules (the
// header only says "the first violation found"), so when both are broken
// the model accepts either.
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"  // before rapidcheck/gtest.h, which needs it
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "runtime/model/vm_config.h"

namespace proctor {
namespace {

// ---- The model ----

// A broken rule, and what its error must say so that it is told apart from
// every other one.
struct Violation {
  std::string rule;  // "VM-1" or "VM-2"
  std::vector<std::string> says;
  bool image_choice = false;      // VM-2: exactly one / bootloader excludes
  bool platform_version = false;  // VM-2: the version requirement
};

// VM-2's platform version (the runtime's is 1.0.0) against requirements in
// Cargo's syntax, decided by hand from the semver rules: ~1.0 is >=1.0.0
// <1.1.0, ^0.9 is >=0.9.0 <0.10.0, a bare version means ^, and so on.
enum class Req { kMatches, kDoesNotMatch, kMalformed };
struct Requirement {
  const char* text;
  Req verdict;
};
constexpr Requirement kRequirements[] = {
    {"~1.0", Req::kMatches},
    {"^1.0", Req::kMatches},
    {"1", Req::kMatches},
    {"1.0.0", Req::kMatches},
    {"=1.0.0", Req::kMatches},
    {">=1.0.0", Req::kMatches},
    {">=0.9, <2", Req::kMatches},
    {"*", Req::kMatches},
    {"1.x", Req::kMatches},
    {"<=1.0.0", Req::kMatches},
    {"~1", Req::kMatches},
    {">0.9.9", Req::kMatches},
    {"^2.0", Req::kDoesNotMatch},
    {">1.0.0", Req::kDoesNotMatch},
    {"<1.0.0", Req::kDoesNotMatch},
    {"~1.1", Req::kDoesNotMatch},
    {"0.9", Req::kDoesNotMatch},
    {"=1.0.1", Req::kDoesNotMatch},
    {">=1.0.0, <1.0.0", Req::kDoesNotMatch},
    {"2.x", Req::kDoesNotMatch},
    {"^0.1", Req::kDoesNotMatch},
    {"not a version", Req::kMalformed},
    {">=", Req::kMalformed},
    {"abc", Req::kMalformed},
    {"^", Req::kMalformed},
    {"1..0", Req::kMalformed},
};

Req VerdictOf(const std::string& requirement) {
  for (const Requirement& r : kRequirements) {
    if (requirement == r.text) return r.verdict;
  }
  RC_FAIL("a requirement outside the table");
  return Req::kMalformed;
}

void CheckPath(const std::optional<std::string>& path, const char* field,
               std::vector<Violation>& out) {
  if (!path.has_value()) return;
  if (path->empty()) {
    out.push_back({"VM-1", {absl::StrCat(field, " path is empty")}});
  } else if (path->size() > 4096) {
    out.push_back({"VM-1", {field, "longer than 4096"}});
  }
}

std::vector<Violation> ModelViolations(const VmConfig& c) {
  std::vector<Violation> v;
  // VM-1: cids 0..2 are reserved by vsock.
  if (c.cid.value < 3) v.push_back({"VM-1", {"cid", "reserved"}});
  // VM-2, in the text's order.
  if (!c.bootloader.has_value() && !c.kernel.has_value()) {
    v.push_back({"VM-2", {"either a bootloader or a kernel"}, true});
  }
  if (c.bootloader.has_value() &&
      (c.kernel.has_value() || c.initrd.has_value())) {
    v.push_back({"VM-2", {"both bootloader and kernel/initrd"}, true});
  }
  switch (VerdictOf(c.platform_version)) {
    case Req::kMatches:
      break;
    case Req::kDoesNotMatch:
      // Clear: names what the config asks for and the actual version.
      v.push_back(
          {"VM-2",
           {"incompatible platform version", c.platform_version, "1.0.0"},
           false,
           true});
      break;
    case Req::kMalformed:
      v.push_back({"VM-2", {"invalid platform_version"}, false, true});
      break;
  }
  // VM-1's bounds (project additions).
  CheckPath(c.bootloader, "bootloader", v);
  CheckPath(c.kernel, "kernel", v);
  CheckPath(c.initrd, "initrd", v);
  CheckPath(c.console_sink, "console_sink", v);
  CheckPath(c.log_sink, "log_sink", v);
  if (c.disks.size() > 16) v.push_back({"VM-1", {"disks", "at most 16"}});
  for (size_t i = 0; i < c.disks.size(); ++i) {
    if (c.disks[i].image.empty() || c.disks[i].image.size() > 4096) {
      v.push_back({"VM-1", {absl::StrCat("disk ", i, " ")}});
    }
  }
  if (c.params.has_value() && c.params->size() > 4096) {
    v.push_back({"VM-1", {"params"}});
  }
  if (c.memory_mib == 0u) v.push_back({"VM-1", {"memory_mib", "positive"}});
  if (c.cpus == 0u) v.push_back({"VM-1", {"cpus", "positive"}});
  if (c.task_profiles.size() > 32) {
    v.push_back({"VM-1", {"task profiles"}});
  }
  if (c.hangup_timeout.has_value() &&
      *c.hangup_timeout <= absl::ZeroDuration()) {
    v.push_back({"VM-1", {"hangup_timeout", "positive"}});
  }
  return v;
}

bool Names(absl::string_view message, const Violation& v) {
  if (!absl::StartsWith(message, absl::StrCat(v.rule, ": "))) return false;
  for (const std::string& piece : v.says) {
    if (!absl::StrContains(message, piece)) return false;
  }
  return true;
}

// ---- Generated configs ----

rc::Gen<std::optional<std::string>> OptionalPath(int absent_weight) {
  using P = std::optional<std::string>;
  return rc::gen::weightedOneOf<P>({
      {static_cast<size_t>(absent_weight), rc::gen::just(P())},
      {12, rc::gen::element(P("/images/a.img"), P("/b"), P("relative/c"))},
      {1, rc::gen::just(P(""))},
      {1, rc::gen::element(P("/" + std::string(4095, 'p')),
                           P("/" + std::string(4096, 'p')))},
  });
}

VmConfig GenerateConfig() {
  VmConfig c;
  c.cid = Cid{*rc::gen::weightedOneOf<uint32_t>({
      {12, rc::gen::inRange<uint32_t>(3, 1'000)},
      {1, rc::gen::element<uint32_t>(0, 1, 2, UINT32_MAX)},
  })};
  // Mostly one of the valid image choices; sometimes any combination.
  switch (*rc::gen::weightedElement<int>({{4, 0}, {2, 1}, {2, 2}, {1, 3}})) {
    case 0:
      c.kernel = *OptionalPath(0);
      c.initrd = *OptionalPath(8);
      break;
    case 1:
      c.kernel = *OptionalPath(0);
      break;
    case 2:
      c.bootloader = *OptionalPath(0);
      break;
    default:
      c.bootloader = *OptionalPath(10);
      c.kernel = *OptionalPath(10);
      c.initrd = *OptionalPath(10);
      break;
  }
  c.console_sink = *OptionalPath(30);
  c.log_sink = *OptionalPath(30);
  const size_t disks = *rc::gen::weightedOneOf<size_t>({
      {12, rc::gen::inRange<size_t>(0, 4)},
      {1, rc::gen::inRange<size_t>(15, 19)},
  });
  for (size_t i = 0; i < disks; ++i) {
    c.disks.push_back(DiskImage{
        *rc::gen::weightedElement<std::string>(
            {{40, "/disks/d.img"}, {1, ""}, {1, std::string(4097, 'd')}}),
        *rc::gen::arbitrary<bool>()});
  }
  c.params = *rc::gen::weightedElement<std::optional<std::string>>(
      {{6, std::nullopt},
       {6, "console=ttyS0 quiet"},
       {1, std::string(4096, 'x')},
       {1, std::string(4097, 'x')}});
  c.protected_vm = *rc::gen::arbitrary<bool>();
  using U = std::optional<uint32_t>;
  c.memory_mib = *rc::gen::weightedElement<U>(
      {{6, std::nullopt}, {6, 2048u}, {6, 1u}, {1, 0u}});
  c.cpus = *rc::gen::weightedElement<U>(
      {{6, std::nullopt}, {6, 4u}, {6, 1u}, {1, 0u}});
  c.task_profiles.assign(
      *rc::gen::weightedOneOf<size_t>({{12, rc::gen::inRange<size_t>(0, 3)},
                                       {1, rc::gen::inRange<size_t>(31, 35)}}),
      "SCHED_SP_VIP");
  c.platform_version = *rc::gen::weightedOneOf<std::string>({
      {5, rc::gen::element<std::string>("~1.0", "^1.0", "1", "*")},
      {7, rc::gen::map(
              rc::gen::inRange<size_t>(0, std::size(kRequirements)),
              [](size_t i) { return std::string(kRequirements[i].text); })},
  });
  c.detect_hangup = *rc::gen::arbitrary<bool>();
  using D = std::optional<absl::Duration>;
  c.hangup_timeout = *rc::gen::weightedElement<D>({{6, std::nullopt},
                                                   {6, absl::Seconds(10)},
                                                   {2, absl::Nanoseconds(1)},
                                                   {1, absl::ZeroDuration()},
                                                   {1, -absl::Seconds(1)}});
  return c;
}

std::string Describe(const VmConfig& c) {
  auto path = [](const std::optional<std::string>& p) {
    if (!p.has_value()) return std::string("-");
    if (p->size() > 16) return absl::StrCat("<", p->size(), " bytes>");
    return absl::StrCat("\"", *p, "\"");
  };
  return absl::StrCat(
      "cid=", c.cid.value, " bootloader=", path(c.bootloader),
      " kernel=", path(c.kernel), " initrd=", path(c.initrd),
      " console_sink=", path(c.console_sink), " log_sink=", path(c.log_sink),
      " disks=", c.disks.size(), " params=", path(c.params),
      " memory_mib=", c.memory_mib ? absl::StrCat(*c.memory_mib) : "-",
      " cpus=", c.cpus ? absl::StrCat(*c.cpus) : "-",
      " task_profiles=", c.task_profiles.size(), " platform_version=\"",
      c.platform_version, "\" hangup_timeout=",
      c.hangup_timeout ? absl::FormatDuration(*c.hangup_timeout) : "-");
}

RC_GTEST_PROP(VmConfigProperty, VM2_ValidExactlyWhenNoRuleIsBroken, ()) {
  const VmConfig config = GenerateConfig();
  PlatformInfo platform;
  platform.nested_virtualization = *rc::gen::arbitrary<bool>();
  RC_LOG() << Describe(config) << "\n";

  const std::vector<Violation> broken = ModelViolations(config);
  const absl::Status status = ValidateVmConfig(config, platform);
  if (broken.empty()) {
    RC_TAG("valid");
    RC_LOG() << "the model: valid; actual: " << status << "\n";
    RC_ASSERT(status.ok());
    return;
  }
  RC_TAG(broken.size() == 1 ? "one broken rule" : "several broken rules");
  RC_LOG() << "the model's broken rules:";
  for (const Violation& v : broken) {
    RC_LOG() << " [" << v.rule << ": " << absl::StrJoin(v.says, ", ") << "]";
  }
  RC_LOG() << "\nactual: " << status << "\n";
  RC_ASSERT(status.code() == absl::StatusCode::kInvalidArgument);

  // The error names one of the broken rules.
  const Violation* named = nullptr;
  for (const Violation& v : broken) {
    if (Names(status.message(), v)) {
      named = &v;
      break;
    }
  }
  RC_ASSERT(named != nullptr);
  // VM-2's own order: the image choice before the platform version.
  if (named->platform_version) {
    for (const Violation& v : broken) RC_ASSERT(!v.image_choice);
  }
}

}  // namespace
}  // namespace proctor
