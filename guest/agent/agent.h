// The in-guest agent's logic, as a state machine without I/O: it is told
// what arrived on the agent channel and what time it is, and returns what to
// write and what to do (power off, panic, ...). agent_main.cc carries those
// effects out as PID 1 in a guest or, in test mode, over descriptors it is
// given. Keeping the logic here lets unit tests drive it with a made-up
// clock. Standard library only: the agent links statically without Abseil.
#ifndef PROCTOR_GUEST_AGENT_AGENT_H_
#define PROCTOR_GUEST_AGENT_AGENT_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "guest/protocol/script.h"
#include "guest/protocol/wire.h"

namespace proctor::guest {

inline constexpr std::string_view kAgentVersion = "0.1.0";
// Bytes of the script steps queued at once (host messages to send, failure
// reports), so a burst of run commands cannot pile up memory.
inline constexpr size_t kMaxQueuedScriptBytes = size_t{256} << 10;
// VM-1's bound on a kernel command line.
inline constexpr size_t kMaxKernelCommandLineBytes = 4'096;
// Kernel modules the agent loads at boot, and the length of one's path.
inline constexpr size_t kMaxModules = 32;
inline constexpr size_t kMaxModulePathBytes = 256;

// What the agent's driver is to do, in order.
struct Effect {
  enum class Kind : uint8_t {
    kChannel,      // write `bytes` to the agent channel (ttyS2)
    kFailurePort,  // write `bytes` to the failure port (ttyS1)
    kPowerOff,     // reboot(RB_POWER_OFF)
    kReboot,       // reboot(RB_AUTOBOOT)
    kPanic,        // crash the kernel through sysrq
    kHang,         // stop doing anything, for good
    kVmmExit,      // make the VMM exit with `code` (isa-debug-exit)
  };
  Kind kind;
  std::string bytes;
  uint32_t code = 0;  // kVmmExit: odd, 1..255
  bool operator==(const Effect&) const = default;
};

struct AgentOptions {
  AgentMode mode = AgentMode::kInit;
  // The behaviour script (script.h) as given, e.g. by the kernel command
  // line; an invalid one is reported and the guest powers off.
  std::string script = std::string(kDefaultScript);
};

class Agent {
 public:
  explicit Agent(AgentOptions options);

  // The first bytes of every boot: a newline, which ends whatever noise the
  // line carried before, and the hello.
  void Hello(std::vector<Effect>* out);

  // Starts the script and the handling of commands; steps run until the
  // first sleep.
  void Run(uint64_t now_ms, std::vector<Effect>* out);

  // Bytes from the host, in any chunks. Each complete line is a command;
  // each bad line gets an error report, and the agent goes on.
  void OnChannelBytes(std::string_view bytes, uint64_t now_ms,
                      std::vector<Effect>* out);
  // The host side closed (test mode): a line left unfinished is reported.
  void OnChannelEnd(std::vector<Effect>* out);

  // Acks that are due and script steps whose sleep is over.
  void Tick(uint64_t now_ms, std::vector<Effect>* out);

  // An error report (`code` is [a-z0-9-]+; `what` is cut to
  // kMaxErrorTextBytes). Nothing once halted.
  void ReportError(std::string_view code, std::string_view what,
                   std::vector<Effect>* out);
  // An error the agent cannot go on after: reported, then power off.
  void Fail(std::string_view code, std::string_view what,
            std::vector<Effect>* out);

  // When Tick next has something to do; nullopt when only input can wake
  // the agent.
  std::optional<uint64_t> NextWakeMs() const;

  // After a power action, a hang or a VMM exit: the agent does nothing
  // more.
  bool halted() const { return halted_; }
  size_t pending_messages() const { return pending_.size(); }
  size_t queued_steps() const { return queue_.size(); }

 private:
  struct Pending {
    uint64_t id;
    std::string data;
    uint64_t due_ms;
  };

  void Emit(const Report& report, std::vector<Effect>* out);
  void OnLine(const LineSplitter::Piece& piece, uint64_t now_ms,
              std::vector<Effect>* out);
  void OnCommand(Command command, uint64_t now_ms, std::vector<Effect>* out);
  void Queue(std::vector<Step> steps, std::vector<Effect>* out);
  void RunSteps(uint64_t now_ms, std::vector<Effect>* out);
  void Execute(const Step& step, uint64_t now_ms, std::vector<Effect>* out);
  void Act(AgentAction action, std::vector<Effect>* out);
  // Ends with `last` and does nothing more: no step, no ack, no report.
  void Halt(Effect last, std::vector<Effect>* out);

  AgentOptions options_;
  std::variant<std::vector<Step>, std::string> script_;
  bool running_ = false;
  bool halted_ = false;
  std::deque<Step> queue_;
  size_t queued_bytes_ = 0;
  std::optional<uint64_t> sleep_until_ms_;
  uint64_t ack_delay_ms_ = 0;
  bool echo_ = false;
  std::deque<Pending> pending_;
  size_t pending_bytes_ = 0;
  uint64_t next_message_id_ = 1;
  LineSplitter splitter_;
};

// What the agent takes from the kernel command line (/proc/cmdline):
// proctor.behaviour=SCRIPT and proctor.modules=PATH,PATH,... Words are
// split at blanks outside double quotes, which are removed, as the kernel
// does; the last of a repeated parameter wins.
struct KernelParameters {
  std::optional<std::string> behaviour;
  std::optional<std::string> modules;
  bool operator==(const KernelParameters&) const = default;
};

// An error names the problem: a command line over 4,096 bytes, or an
// unknown proctor.* parameter (a misspelt one would otherwise be ignored).
std::variant<KernelParameters, std::string> ParseKernelCommandLine(
    std::string_view cmdline);

// Module paths from proctor.modules= (`separator` ',') or the image's
// /etc/proctor/modules (one a line, '\n'; blank lines and lines starting
// with '#' are skipped). Each must be absolute, at most 256 bytes of
// printable ASCII, and there are at most 32.
std::variant<std::vector<std::string>, std::string> ParseModuleList(
    std::string_view text, char separator);

}  // namespace proctor::guest

#endif  // PROCTOR_GUEST_AGENT_AGENT_H_
