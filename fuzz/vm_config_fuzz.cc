// fuzz_vm_config: VM-1/VM-2 validation and the VM-9 VMM command line on
// configs decoded from arbitrary bytes. Checks that validation is
// deterministic, refuses with an InvalidArgumentError naming VM-1 or VM-2,
// and does not depend on nested virtualization; that every config, valid or
// not, survives the JSON codec unchanged (a scenario may send an invalid
// one); and that for a valid config the hangup timeout is positive and
// BuildVmmCommand is deterministic and gives exactly the command line that
// runtime/vm/vmm_command.h describes, spelled out again here.
//
// Input (ByteReader in fuzz_util.h; strings are length-prefixed):
//   flags0: bootloader, kernel, initrd, params, cpu_affinity, console_sink,
//           log_sink, memory_mib (bits 0..7: the field is present)
//   flags1: cpus, protected_vm, detect_hangup, hangup_timeout,
//           platform_version, a platform version other than 1.0.0, nested
//           virtualization, a raw 32-bit cid (else 3 + a byte % 8)
//   the cid; the present strings in the order above; memory_mib and cpus
//   (uint32); the hangup timeout (a byte: 255 inf, 254 -inf, else int64 ns);
//   platform_version; the platform version (three bytes); then disks (a
//   count byte % 20, each writable + image) and task profiles (% 40).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_util.h"
#include "runtime/model/input.h"
#include "runtime/model/vm_config.h"
#include "runtime/vm/vmm_command.h"
#include "sim/trace/json_codec.h"

namespace {

using proctor::VmConfig;
using proctor::fuzz::Finding;

constexpr absl::string_view kTarget = "vm_config";

// Past VmConfig's own bounds, so that the refusals are reachable, and small
// enough to keep an input fast.
constexpr size_t kMaxFuzzPathBytes = 2 * VmConfig::kMaxPathBytes;
constexpr size_t kMaxFuzzVersionBytes = 512;
constexpr size_t kMaxFuzzProfileBytes = 64;
constexpr int kDiskChoices = 20;
constexpr int kProfileChoices = 40;

struct Decoded {
  VmConfig config;
  proctor::PlatformInfo platform;
};

Decoded Decode(proctor::fuzz::ByteReader& in) {
  Decoded d;
  VmConfig& c = d.config;
  const uint8_t f0 = in.U8();
  const uint8_t f1 = in.U8();
  auto bit = [](uint8_t flags, int i) { return ((flags >> i) & 1) != 0; };
  c.cid = proctor::Cid{bit(f1, 7) ? in.U32()
                                  : proctor::kMinGuestCid + in.U8() % 8u};
  std::optional<std::string>* strings[] = {
      &c.bootloader,   &c.kernel,       &c.initrd,  &c.params,
      &c.cpu_affinity, &c.console_sink, &c.log_sink};
  for (int i = 0; i < 7; ++i) {
    if (bit(f0, i)) *strings[i] = in.String(kMaxFuzzPathBytes);
  }
  if (bit(f0, 7)) c.memory_mib = in.U32();
  if (bit(f1, 0)) c.cpus = in.U32();
  c.protected_vm = bit(f1, 1);
  c.detect_hangup = bit(f1, 2);
  if (bit(f1, 3)) {
    const uint8_t kind = in.U8();
    if (kind == 255) {
      c.hangup_timeout = absl::InfiniteDuration();
    } else if (kind == 254) {
      c.hangup_timeout = -absl::InfiniteDuration();
    } else {
      c.hangup_timeout = absl::Nanoseconds(static_cast<int64_t>(in.U64()));
    }
  }
  if (bit(f1, 4)) c.platform_version = in.String(kMaxFuzzVersionBytes);
  if (bit(f1, 5)) {
    d.platform.version.major = in.U8();
    d.platform.version.minor = in.U8();
    d.platform.version.patch = in.U8();
  }
  d.platform.nested_virtualization = bit(f1, 6);
  const int disks = in.U8() % kDiskChoices;
  for (int i = 0; i < disks; ++i) {
    proctor::DiskImage disk;
    disk.writable = in.Bool();
    disk.image = in.String(kMaxFuzzPathBytes);
    c.disks.push_back(std::move(disk));
  }
  const int profiles = in.U8() % kProfileChoices;
  for (int i = 0; i < profiles; ++i) {
    c.task_profiles.push_back(in.String(kMaxFuzzProfileBytes));
  }
  return d;
}

std::string Summary(const VmConfig& c) {
  return proctor::fuzz::Shown(
      proctor::sim::EncodeInput(
          proctor::input::CreateVm{proctor::RequestId{1}, c})
          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      4000);
}

// VM-9 as runtime/vm/vmm_command.h states it.
std::vector<std::string> ExpectedCommand(const VmConfig& c) {
  std::vector<std::string> argv = {"crosvm", "--extended-status",
                                   "run",    "--disable-sandbox",
                                   "--cid",  absl::StrCat(c.cid.value)};
  if (c.protected_vm) {
    argv.insert(argv.end(), {"--protected-vm", "--swiotlb",
                             absl::StrCat(2 * (4 + c.disks.size()))});
  }
  if (c.memory_mib)
    argv.insert(argv.end(), {"--mem", absl::StrCat(*c.memory_mib)});
  if (c.cpus) argv.insert(argv.end(), {"--cpus", absl::StrCat(*c.cpus)});
  if (c.cpu_affinity)
    argv.insert(argv.end(), {"--cpu-affinity", *c.cpu_affinity});
  if (!c.task_profiles.empty()) {
    argv.insert(argv.end(),
                {"--task-profiles", absl::StrJoin(c.task_profiles, ",")});
  }
  auto sink = [](const std::optional<std::string>& path) {
    return path ? absl::StrCat("type=file,path=", *path)
                : std::string("type=sink");
  };
  argv.push_back(absl::StrCat("--serial=", sink(c.console_sink),
                              ",hardware=serial,num=1"));
  argv.push_back("--serial=type=file,path=@failure,hardware=serial,num=2");
  argv.push_back(absl::StrCat("--serial=", sink(c.console_sink),
                              ",hardware=virtio-console,num=1"));
  argv.push_back("--serial=type=sink,hardware=virtio-console,num=2");
  argv.push_back(absl::StrCat("--serial=", sink(c.log_sink),
                              ",hardware=virtio-console,num=3"));
  if (c.bootloader) argv.insert(argv.end(), {"--bios", *c.bootloader});
  if (c.initrd) argv.insert(argv.end(), {"--initrd", *c.initrd});
  if (c.params) argv.insert(argv.end(), {"--params", *c.params});
  for (const proctor::DiskImage& disk : c.disks) {
    argv.insert(argv.end(),
                {disk.writable ? "--rwdisk" : "--disk", disk.image});
  }
  if (c.kernel) argv.push_back(*c.kernel);
  return argv;
}

void CheckCodec(const VmConfig& config) {
  const nlohmann::json encoded = proctor::sim::EncodeInput(
      proctor::input::CreateVm{proctor::RequestId{1}, config});
  absl::StatusOr<proctor::Input> decoded = proctor::sim::DecodeInput(encoded);
  if (!decoded.ok()) {
    Finding(kTarget, absl::StrCat("the JSON of a create_vm does not decode: ",
                                  decoded.status().message(),
                                  "\nconfig: ", Summary(config)));
  }
  const auto* create = std::get_if<proctor::input::CreateVm>(&*decoded);
  if (create == nullptr || !(create->config == config)) {
    Finding(kTarget,
            absl::StrCat("a VmConfig changed in the JSON codec: ",
                         Summary(config), "\nbecame: ",
                         create == nullptr ? std::string("another kind")
                                           : Summary(create->config)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  proctor::fuzz::ByteReader in(data, size);
  const Decoded d = Decode(in);
  const VmConfig& config = d.config;

  const absl::Status status = proctor::ValidateVmConfig(config, d.platform);
  if (proctor::ValidateVmConfig(config, d.platform) != status) {
    Finding(kTarget, absl::StrCat("ValidateVmConfig is not deterministic on ",
                                  Summary(config)));
  }
  proctor::PlatformInfo other = d.platform;
  other.nested_virtualization = !other.nested_virtualization;
  if (proctor::ValidateVmConfig(config, other) != status) {
    Finding(kTarget, absl::StrCat("nested virtualization changed the verdict "
                                  "of ValidateVmConfig on ",
                                  Summary(config)));
  }
  CheckCodec(config);

  if (!status.ok()) {
    if (status.code() != absl::StatusCode::kInvalidArgument ||
        !(absl::StartsWith(status.message(), "VM-1: ") ||
          absl::StartsWith(status.message(), "VM-2: "))) {
      Finding(kTarget,
              absl::StrCat("a refusal is not an InvalidArgumentError naming "
                           "VM-1 or VM-2: ",
                           status.ToString(), "\nconfig: ", Summary(config)));
    }
    return 0;
  }

  const absl::Duration timeout =
      proctor::EffectiveHangupTimeout(config, d.platform);
  const absl::Duration want_timeout =
      config.hangup_timeout              ? *config.hangup_timeout
      : d.platform.nested_virtualization ? absl::Seconds(100)
                                         : absl::Seconds(10);
  if (timeout <= absl::ZeroDuration() || timeout != want_timeout) {
    Finding(kTarget, absl::StrCat("a valid config has the hangup timeout ",
                                  absl::FormatDuration(timeout), ", expected ",
                                  absl::FormatDuration(want_timeout), ": ",
                                  Summary(config)));
  }

  const std::vector<std::string> argv = proctor::BuildVmmCommand(config);
  if (proctor::BuildVmmCommand(config) != argv) {
    Finding(kTarget, absl::StrCat("BuildVmmCommand is not deterministic on ",
                                  Summary(config)));
  }
  const std::vector<std::string> want = ExpectedCommand(config);
  if (argv != want) {
    Finding(kTarget,
            absl::StrCat("BuildVmmCommand gave\n  ",
                         proctor::fuzz::Shown(absl::StrJoin(argv, " "), 4000),
                         "\nVM-9 says\n  ",
                         proctor::fuzz::Shown(absl::StrJoin(want, " "), 4000),
                         "\nconfig: ", Summary(config)));
  }
  return 0;
}
