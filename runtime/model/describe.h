// The canonical one-line text of every input and action, for tests, the
// simulator's traces, replay diffs and error messages. One form everywhere
// means an expected line in a test reads exactly like the line a failing
// replay prints.
//
// Format: the stable kName, then every field in declaration order as
// `key=value`, space separated:
//
//   vm_state cid=5 state=RUNNING
//   arm_timer timer=hangup/5 deadline=10.000000000s
//   reply request=7 status=FAILED_PRECONDITION: VM-3: ... value=Exit(0)
//   write_message endpoint=20 message="hello" handles=[]
//
// Values: ids as numbers; enums by their stable names; instants as
// FormatInstant and durations as absl::FormatDuration; strings quoted and
// escaped so that any bytes stay on one printable-ASCII line; an absent
// optional as `none`; lists in `[...]` and nested records in `{...}`. A
// reply carries `value=` only when it has one. Untrusted byte strings (message
// bytes, a guest's failure report) are cut to their first
// kDescribedBytes bytes, followed by `...(N bytes)`.
#ifndef PROCTOR_RUNTIME_MODEL_DESCRIBE_H_
#define PROCTOR_RUNTIME_MODEL_DESCRIBE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/model/action.h"
#include "runtime/model/channel_types.h"
#include "runtime/model/input.h"

namespace proctor {

// How many bytes of an untrusted byte string a description shows, and how
// many handles of a message: enough to recognise it, bounded so one oversize
// message cannot flood a trace.
inline constexpr size_t kDescribedBytes = 32;
inline constexpr size_t kDescribedHandles = 16;

std::string DescribeInput(const Input& input);
std::string DescribeAction(const Action& action);
std::vector<std::string> DescribeActions(const ActionList& actions);

// "OK", or the code and the message: "NOT_FOUND: no VM with cid 9", then
// any payloads as ` [type_url="bytes"]`.
std::string DescribeStatus(const absl::Status& status);

// `"hello" handles=[7, 8]`: the bytes quoted and bounded, then the handle
// ids. This is the value of a `message=` field.
std::string DescribeMessage(const Message& message);

// The value of a reply's `value=` field: `Exit(0)`, `"/dev/vdb"`,
// `{woken_by=12 name="alarm" slept=2s}`, ...; empty for std::monostate.
std::string DescribeReplyValue(const ReplyValue& value);

// The fields of a container event, as in a container_event action:
// `kind=exit status=Exit(0)`, `kind=cgroup memory={low=none high=2 ...}`.
std::string DescribeContainerEvent(const ContainerEvent& event);

}  // namespace proctor

#endif  // PROCTOR_RUNTIME_MODEL_DESCRIBE_H_
