// Behaviour scripts: what the in-guest agent does, step by step, as a comma
// list (docs/guest-protocol.md, "Behaviours"). The kernel command line gives
// the default (proctor.behaviour=started,ready) and the host may queue more
// with a run command. Standard library only: the agent parses scripts, and
// the host checks the ones it sends before it boots a guest.
#ifndef PROCTOR_GUEST_PROTOCOL_SCRIPT_H_
#define PROCTOR_GUEST_PROTOCOL_SCRIPT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace proctor::guest {

// Steps in one script, and steps queued in the agent at once.
inline constexpr size_t kMaxScriptSteps = 64;
// Longest wait a step may ask for: a day, surely a mistake beyond that.
inline constexpr uint64_t kMaxStepDelayMs = 24ull * 60 * 60 * 1000;
// The behaviour the agent runs when the kernel command line names none.
inline constexpr std::string_view kDefaultScript = "started,ready";

// The I/O port of QEMU's isa-debug-exit device. The host puts the device
// there (host/qemu/qemu_command.h, kDebugExitPort, which is checked equal to
// this); this copy is for the agent, which cannot include Abseil headers.
inline constexpr uint16_t kDebugExitIoPort = 0x501;
// isa-debug-exit makes QEMU exit with (value << 1) | 1, so a vmm-exit step
// can only ask for odd codes, and a process exit code has 8 bits.
inline constexpr uint64_t kMinVmmExitCode = 1;
inline constexpr uint64_t kMaxVmmExitCode = 255;

enum class StepKind : uint8_t {
  kStarted,   // "started": report Started
  kReady,     // "ready": report Ready
  kFinished,  // "finished:N": report Finished with exit code N
  kExit,      // "exit:N": finished:N, then power off
  kSleep,     // "sleep:MS": run the next step MS ms later
  kHang,      // "hang": stop reading, reporting and acking, for good
  kPanic,     // "panic": crash the kernel (sysrq 'c')
  kReboot,    // "reboot": reboot(RB_AUTOBOOT)
  kPowerOff,  // "poweroff": reboot(RB_POWER_OFF)
  kFailure,   // "failure:REASON" / "failure-hex:HEX": write to ttyS1
  kFail,      // "fail:REASON" / "fail-hex:HEX": write, then power off
  kAckDelay,  // "ack-delay:MS": ack host messages MS ms after arrival
  kEcho,      // "echo": send every host message back after its ack
  kSend,      // "send:HEX": send a message to the host
  kVmmExit,   // "vmm-exit:N": make the VMM exit with code N (odd, 1..255)
              // through QEMU's isa-debug-exit device
};

struct Step {
  StepKind kind = StepKind::kStarted;
  uint64_t number = 0;  // exit code, VMM exit code or milliseconds
  std::string bytes;    // failure report or message
  bool operator==(const Step&) const = default;
};

// The steps of `text`, or an error naming the step (1-based) and what is
// wrong with it. "" is a script of no steps.
std::variant<std::vector<Step>, std::string> ParseScript(std::string_view text);

// The canonical text of `steps`: failure bytes that are a valid REASON
// ([A-Za-z0-9_.-]+) are written as one, others in hex, so
// ParseScript(FormatScript(s)) == s for every script ParseScript accepts.
std::string FormatScript(const std::vector<Step>& steps);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_PROTOCOL_SCRIPT_H_
