#include "host/io/errno_status.h"

namespace proctor::host {

absl::Status ErrnoStatus(int error_number, absl::string_view what) {
  // Abseil appends ": " and the errno text itself.
  return absl::ErrnoToStatus(error_number, what);
}

}  // namespace proctor::host
