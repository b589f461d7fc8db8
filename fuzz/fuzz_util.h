// What the fuzz targets share: how a finding is reported, and a small
// deterministic decoder that turns the fuzzer's bytes into numbers, flags and
// strings. The decoder never fails: past the end of the input it reads zeros
// and empty strings, so that every byte string is a valid input and a
// mutation of one field never shifts the meaning of the whole input.
#ifndef PROCTOR_FUZZ_FUZZ_UTIL_H_
#define PROCTOR_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

namespace proctor::fuzz {

// An invariant of the code under test broke. Printing and aborting lets
// libFuzzer save the input as a crash and makes a corpus replay fail.
[[noreturn]] inline void Finding(absl::string_view target,
                                 absl::string_view what) {
  std::fprintf(stderr, "FINDING (fuzz_%.*s): %.*s\n",
               static_cast<int>(target.size()), target.data(),
               static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

// Bytes shown in a finding's message: printable and bounded, so that a
// megabyte of fuzzer output does not bury the message.
inline std::string Shown(absl::string_view bytes, size_t max = 200) {
  std::string shown = absl::CHexEscape(bytes.substr(0, max));
  if (bytes.size() > max) shown += "...";
  return shown;
}

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t remaining() const { return size_ - pos_; }
  bool empty() const { return pos_ == size_; }

  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t U16() {
    const uint16_t lo = U8();
    return static_cast<uint16_t>(lo | (uint16_t{U8()} << 8));
  }
  uint32_t U32() {
    const uint32_t lo = U16();
    return lo | (uint32_t{U16()} << 16);
  }
  uint64_t U64() {
    const uint64_t lo = U32();
    return lo | (uint64_t{U32()} << 32);
  }
  bool Bool() { return (U8() & 1) != 0; }

  // Up to `n` bytes; fewer at the end of the input.
  std::string Bytes(size_t n) {
    n = n < remaining() ? n : remaining();
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }

  // A length-prefixed string of at most `max` bytes: one length byte, or,
  // when that byte is 255, a 16-bit length after it, so that both short
  // names and paths past a 4 KiB bound are a few mutations away.
  std::string String(size_t max) {
    size_t n = U8();
    if (n == 255) n = U16();
    return Bytes(n < max ? n : max);
  }

  // Everything not read yet.
  absl::string_view Rest() {
    absl::string_view rest(reinterpret_cast<const char*>(data_ + pos_),
                           remaining());
    pos_ = size_;
    return rest;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace proctor::fuzz

#endif  // PROCTOR_FUZZ_FUZZ_UTIL_H_
