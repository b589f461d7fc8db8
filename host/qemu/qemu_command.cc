#include "host/qemu/qemu_command.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "guest/protocol/script.h"

namespace proctor::host {
namespace {

static_assert(kDebugExitPort == guest::kDebugExitIoPort,
              "the host's isa-debug-exit port must be where the agent writes");

absl::Status RequirePath(absl::string_view field, absl::string_view path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("VM-9 (QEMU): ", field, " is empty"));
  }
  return absl::OkStatus();
}

// A chardev that writes to `path`, or drops everything when there is none.
// `mux` lets the console feed both ttyS0 and hvc0, as crosvm's console sink
// does.
std::string FileOrNullChardev(absl::string_view id,
                              const std::optional<std::string>& path,
                              bool mux) {
  std::string spec =
      path.has_value()
          ? absl::StrCat("file,id=", id, ",path=", QemuOptionValue(*path))
          : absl::StrCat("null,id=", id);
  if (mux) absl::StrAppend(&spec, ",mux=on");
  return spec;
}

}  // namespace

std::string QemuOptionValue(absl::string_view value) {
  return absl::StrReplaceAll(value, {{",", ",,"}});
}

absl::StatusOr<std::vector<std::string>> BuildQemuCommand(
    const VmConfig& config, const QemuPaths& paths,
    const QemuOptions& options) {
  if (config.protected_vm) {
    return absl::UnimplementedError(
        "VM-9 (QEMU): protected_vm: QEMU with TCG (or KVM without pKVM) has "
        "no protected VMs");
  }
  const bool has_kernel = config.kernel.has_value();
  const bool has_bootloader = config.bootloader.has_value();
  if (has_kernel == has_bootloader) {
    return absl::InvalidArgumentError(
        "VM-9 (QEMU): exactly one of kernel and bootloader must be set");
  }
  if (has_bootloader &&
      (config.initrd.has_value() || config.params.has_value() ||
       !options.behaviour_parameter.empty() ||
       !options.extra_kernel_args.empty())) {
    return absl::InvalidArgumentError(
        "VM-9 (QEMU): a bootloader VM takes no initrd, params, behaviour or "
        "extra kernel arguments: QEMU passes those only with -kernel");
  }
  if (config.memory_mib.has_value() && *config.memory_mib == 0) {
    return absl::InvalidArgumentError("VM-9 (QEMU): memory_mib is 0");
  }
  if (config.cpus.has_value() && *config.cpus == 0) {
    return absl::InvalidArgumentError("VM-9 (QEMU): cpus is 0");
  }
  if (absl::Status s = RequirePath("qemu_binary", paths.qemu_binary); !s.ok()) {
    return s;
  }
  if (absl::Status s = RequirePath("qmp_socket", paths.qmp_socket); !s.ok()) {
    return s;
  }
  if (absl::Status s = RequirePath("agent_socket", paths.agent_socket);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = RequirePath("failure_socket", paths.failure_socket);
      !s.ok()) {
    return s;
  }

  std::vector<std::string> argv = {
      paths.qemu_binary,
      "-name",
      absl::StrCat("proctor-vm-", config.cid.value),
      "-machine",
      "q35",
      "-accel",
      options.accel == QemuAccel::kKvm ? "kvm" : "tcg",
      "-nodefaults",
      "-no-user-config",
      "-nographic",
      "-no-reboot",
  };
  if (options.start_paused) argv.push_back("-S");
  argv.insert(
      argv.end(),
      {"-m", absl::StrCat(config.memory_mib.value_or(kDefaultMemoryMib)),
       "-smp", absl::StrCat(config.cpus.value_or(kDefaultCpus)),
       // ISA pvpanic (port 0x505): a guest panic is GUEST_PANICKED,
       // not a reset that looks like a reboot.
       "-device", "pvpanic",
       // A guest's way to make QEMU exit with an odd code of its choice
       // (guest-protocol.md, vmm-exit); QEMU itself exits 0 or 1.
       "-device",
       absl::StrCat("isa-debug-exit,iobase=0x", absl::Hex(kDebugExitPort),
                    ",iosize=0x",
                    absl::Hex(kDebugExitPortSize, absl::kZeroPad2))});

  // The serial order is the guest ABI, as in the crosvm command: ttyS0 the
  // console, ttyS1 the failure channel (VM-6), ttyS2 the agent channel.
  std::optional<std::string> console = config.console_sink;
  if (!console.has_value() && !paths.console_log.empty()) {
    console = paths.console_log;
  }
  argv.insert(argv.end(),
              {"-chardev", FileOrNullChardev("console", console, /*mux=*/true),
               "-serial", "chardev:console", "-chardev",
               absl::StrCat("socket,id=failure,path=",
                            QemuOptionValue(paths.failure_socket)),
               "-serial", "chardev:failure", "-chardev",
               absl::StrCat("socket,id=agent,path=",
                            QemuOptionValue(paths.agent_socket)),
               "-serial", "chardev:agent"});
  // crosvm's three virtio consoles, in its order: hvc0 the console, hvc1 a
  // sink, hvc2 the log.
  argv.insert(argv.end(),
              {"-device", "virtio-serial-pci,id=virtio-serial", "-device",
               "virtconsole,bus=virtio-serial.0,chardev=console", "-chardev",
               "null,id=sink", "-device",
               "virtconsole,bus=virtio-serial.0,chardev=sink", "-chardev",
               FileOrNullChardev("log", config.log_sink, /*mux=*/false),
               "-device", "virtconsole,bus=virtio-serial.0,chardev=log"});
  argv.insert(argv.end(), {"-chardev",
                           absl::StrCat("socket,id=qmp,path=",
                                        QemuOptionValue(paths.qmp_socket)),
                           "-mon", "chardev=qmp,mode=control"});

  if (has_bootloader) {
    if (absl::Status s = RequirePath("bootloader", *config.bootloader);
        !s.ok()) {
      return s;
    }
    argv.insert(argv.end(), {"-bios", *config.bootloader});
  } else {
    const std::string& kernel =
        paths.kernel.empty() ? *config.kernel : paths.kernel;
    if (absl::Status s = RequirePath("kernel", kernel); !s.ok()) return s;
    argv.insert(argv.end(), {"-kernel", kernel});
    if (!paths.initrd.empty()) {
      argv.insert(argv.end(), {"-initrd", paths.initrd});
    } else if (config.initrd.has_value()) {
      argv.insert(argv.end(), {"-initrd", *config.initrd});
    }
    std::vector<absl::string_view> params = {kFixedKernelParams};
    if (config.params.has_value() && !config.params->empty()) {
      params.push_back(*config.params);
    }
    if (!options.behaviour_parameter.empty()) {
      params.push_back(options.behaviour_parameter);
    }
    for (const std::string& arg : options.extra_kernel_args) {
      params.push_back(arg);
    }
    std::string cmdline = absl::StrJoin(params, " ");
    if (cmdline.size() > kMaxX86KernelCommandLineBytes) {
      return absl::OutOfRangeError(
          absl::StrCat("VM-9 (QEMU): the kernel command line has ",
                       cmdline.size(), " bytes; the x86 boot protocol allows ",
                       kMaxX86KernelCommandLineBytes));
    }
    argv.insert(argv.end(), {"-append", std::move(cmdline)});
  }

  for (const DiskImage& disk : config.disks) {
    if (disk.image.empty()) {
      return absl::InvalidArgumentError(
          "VM-9 (QEMU): a disk's image path is empty");
    }
    // format=raw: probing the format of a guest-writable image lets the
    // guest make it look like qcow2 with a backing file on the host.
    std::string drive = absl::StrCat("file=", QemuOptionValue(disk.image),
                                     ",if=virtio,format=raw");
    if (!disk.writable) absl::StrAppend(&drive, ",readonly=on");
    argv.insert(argv.end(), {"-drive", std::move(drive)});
  }
  return argv;
}

}  // namespace proctor::host
