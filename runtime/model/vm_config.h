// The configuration of one VM (VM-1) and its validation (VM-2). Files are
// named by path: the runtime never opens them, the world does.
#ifndef PROCTOR_RUNTIME_MODEL_VM_CONFIG_H_
#define PROCTOR_RUNTIME_MODEL_VM_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "runtime/model/ids.h"
#include "runtime/model/semver.h"

namespace proctor {

struct DiskImage {
  std::string image;
  bool writable = false;
  friend bool operator==(const DiskImage&, const DiskImage&) = default;
};

struct VmConfig {
  // Bounds on what a client may ask for; beyond them the config is invalid.
  static constexpr size_t kMaxDisks = 16;
  static constexpr size_t kMaxParamsBytes = 4096;
  static constexpr size_t kMaxTaskProfiles = 32;
  static constexpr size_t kMaxPathBytes = 4096;

  Cid cid{kMinGuestCid};
  std::optional<std::string> bootloader;
  std::optional<std::string> kernel;
  std::optional<std::string> initrd;
  std::vector<DiskImage> disks;
  std::optional<std::string> params;
  bool protected_vm = false;
  std::optional<uint32_t> memory_mib;
  std::optional<uint32_t> cpus;
  std::optional<std::string> cpu_affinity;
  std::vector<std::string> task_profiles;
  // Where the console and the log go; absent means a sink that drops them.
  std::optional<std::string> console_sink;
  std::optional<std::string> log_sink;
  // A semver requirement that the runtime's platform version must meet.
  std::string platform_version = "~1.0";
  bool detect_hangup = false;
  // Absent: 10 s, or 100 s under nested virtualization (VM-5).
  std::optional<absl::Duration> hangup_timeout;

  friend bool operator==(const VmConfig&, const VmConfig&) = default;
};

// Facts about the platform the runtime runs on, passed in by the world.
struct PlatformInfo {
  static constexpr SemVer kVersion{1, 0, 0};
  SemVer version = kVersion;
  bool nested_virtualization = false;
};

// VM-2 (and the bounds of VM-1). Each violation is a distinct error whose
// message starts with the rule ID; the first violation found is returned.
absl::Status ValidateVmConfig(const VmConfig& config,
                              const PlatformInfo& platform);

// VM-5: the hangup timeout that applies to `config` on `platform`.
absl::Duration EffectiveHangupTimeout(const VmConfig& config,
                                      const PlatformInfo& platform);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_VM_CONFIG_H_
