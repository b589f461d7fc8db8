// Statuses for failed system calls that name the call and the errno text,
// e.g. "socketpair(AF_UNIX, SOCK_SEQPACKET): Too many open files", so that a
// report says what failed and where without a debugger.
#ifndef PROCTOR_HOST_IO_ERRNO_STATUS_H_
#define PROCTOR_HOST_IO_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace proctor::host {

// `what` names the call and its arguments; the status code follows errno
// (absl::ErrnoToStatusCode: EMFILE → RESOURCE_EXHAUSTED, EBADF →
// FAILED_PRECONDITION, ...).
absl::Status ErrnoStatus(int error_number, absl::string_view what);

}  // namespace proctor::host

#endif  // PROCTOR_HOST_IO_ERRNO_STATUS_H_
