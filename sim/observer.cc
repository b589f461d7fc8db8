#include "sim/observer.h"

#include <charconv>

#include "absl/strings/str_cat.h"

namespace proctor::sim {

std::string EncodeMessageBytes(uint64_t message_id, size_t size) {
  std::string out = absl::StrCat("msg:", message_id, ";");
  if (out.size() < size) out.resize(size, '.');
  return out;
}

std::optional<uint64_t> DecodeMessageId(absl::string_view bytes) {
  if (bytes.substr(0, 4) != "msg:") return std::nullopt;
  const size_t end = bytes.find(';');
  if (end == absl::string_view::npos || end == 4) return std::nullopt;
  uint64_t id = 0;
  auto [ptr, ec] = std::from_chars(bytes.data() + 4, bytes.data() + end, id);
  if (ec != std::errc() || ptr != bytes.data() + end) return std::nullopt;
  return id;
}

}  // namespace proctor::sim
