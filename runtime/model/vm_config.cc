#include "runtime/model/vm_config.h"

#include "absl/strings/str_cat.h"

namespace proctor {
namespace {

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

absl::Status CheckPath(const std::optional<std::string>& path,
                       absl::string_view field) {
  if (!path) return absl::OkStatus();
  if (path->empty()) {
    return Invalid(absl::StrCat("VM-1: ", field, " path is empty"));
  }
  if (path->size() > VmConfig::kMaxPathBytes) {
    return Invalid(absl::StrCat("VM-1: ", field, " path is longer than ",
                                VmConfig::kMaxPathBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateVmConfig(const VmConfig& config,
                              const PlatformInfo& platform) {
  if (config.cid.value < kMinGuestCid) {
    return Invalid(absl::StrCat("VM-1: cid ", config.cid.value,
                                " is reserved; guest cids start at ",
                                kMinGuestCid));
  }
  if (!config.bootloader && !config.kernel) {
    return Invalid("VM-2: VM must have either a bootloader or a kernel image");
  }
  if (config.bootloader && (config.kernel || config.initrd)) {
    return Invalid("VM-2: can't have both bootloader and kernel/initrd image");
  }
  auto req = VersionReq::Parse(config.platform_version);
  if (!req.ok()) {
    return Invalid(absl::StrCat("VM-2: invalid platform_version: ",
                                req.status().message()));
  }
  if (!req->Matches(platform.version)) {
    return Invalid(absl::StrCat(
        "VM-2: incompatible platform version: the config is compatible with "
        "platform version(s) ",
        config.platform_version, ", but the actual platform version is ",
        FormatSemVer(platform.version)));
  }
  for (const auto& [path, field] :
       {std::pair{&config.bootloader, "bootloader"},
        std::pair{&config.kernel, "kernel"},
        std::pair{&config.initrd, "initrd"},
        std::pair{&config.console_sink, "console_sink"},
        std::pair{&config.log_sink, "log_sink"}}) {
    if (auto s = CheckPath(*path, field); !s.ok()) return s;
  }
  if (config.disks.size() > VmConfig::kMaxDisks) {
    return Invalid(absl::StrCat("VM-1: ", config.disks.size(),
                                " disks; at most ", VmConfig::kMaxDisks,
                                " are allowed"));
  }
  for (size_t i = 0; i < config.disks.size(); ++i) {
    const std::string& image = config.disks[i].image;
    if (image.empty() || image.size() > VmConfig::kMaxPathBytes) {
      return Invalid(absl::StrCat("VM-1: disk ", i,
                                  " has an empty or over-long image path"));
    }
  }
  if (config.params && config.params->size() > VmConfig::kMaxParamsBytes) {
    return Invalid(absl::StrCat("VM-1: params are longer than ",
                                VmConfig::kMaxParamsBytes, " bytes"));
  }
  if (config.memory_mib && *config.memory_mib == 0) {
    return Invalid("VM-1: memory_mib must be positive");
  }
  if (config.cpus && *config.cpus == 0) {
    return Invalid("VM-1: cpus must be positive");
  }
  if (config.task_profiles.size() > VmConfig::kMaxTaskProfiles) {
    return Invalid(absl::StrCat("VM-1: more than ", VmConfig::kMaxTaskProfiles,
                                " task profiles"));
  }
  if (config.hangup_timeout && *config.hangup_timeout <= absl::ZeroDuration()) {
    return Invalid("VM-1: hangup_timeout must be positive");
  }
  return absl::OkStatus();
}

absl::Duration EffectiveHangupTimeout(const VmConfig& config,
                                      const PlatformInfo& platform) {
  if (config.hangup_timeout) return *config.hangup_timeout;
  return platform.nested_virtualization ? absl::Seconds(100)
                                        : absl::Seconds(10);
}

}  // namespace proctor
