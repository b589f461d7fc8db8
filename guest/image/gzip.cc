#include "guest/image/gzip.h"

#include <zlib.h>

#include "absl/strings/str_cat.h"

namespace proctor::guest {
namespace {

// windowBits 15 plus 16 selects the gzip wrapper.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kOsUnix = 3;

}  // namespace

absl::StatusOr<std::string> GzipDeterministic(absl::string_view data) {
  if (data.size() > kMaxGzipInputBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("gzip input of ", data.size(), " bytes; the limit is ",
                     kMaxGzipInputBytes));
  }
  z_stream stream{};
  int rc = deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED,
                        kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK) {
    return absl::InternalError(absl::StrCat("deflateInit2 failed: ", rc));
  }
  gz_header header{};
  header.time = 0;
  header.os = kOsUnix;
  header.name = Z_NULL;
  header.comment = Z_NULL;
  header.extra = Z_NULL;
  rc = deflateSetHeader(&stream, &header);
  if (rc != Z_OK) {
    deflateEnd(&stream);
    return absl::InternalError(absl::StrCat("deflateSetHeader failed: ", rc));
  }
  std::string out;
  out.resize(deflateBound(&stream, static_cast<uLong>(data.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  rc = deflate(&stream, Z_FINISH);
  const uLong written = stream.total_out;
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) {
    return absl::InternalError(
        absl::StrCat("deflate did not finish in its bound: ", rc));
  }
  out.resize(written);
  return out;
}

absl::StatusOr<std::string> Gunzip(absl::string_view data, uint64_t max_bytes) {
  if (data.size() > kMaxGzipInputBytes) {
    return absl::InvalidArgumentError(absl::StrCat("gzip data of ", data.size(),
                                                   " bytes; the limit is ",
                                                   kMaxGzipInputBytes));
  }
  z_stream stream{};
  if (inflateInit2(&stream, kGzipWindowBits) != Z_OK) {
    return absl::InternalError("inflateInit2 failed");
  }
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char chunk[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof(chunk);
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&stream);
      return absl::InvalidArgumentError(absl::StrCat(
          "not valid gzip data: ", stream.msg ? stream.msg : "truncated"));
    }
    const size_t produced = sizeof(chunk) - stream.avail_out;
    if (out.size() + produced > max_bytes) {
      inflateEnd(&stream);
      return absl::OutOfRangeError(absl::StrCat(
          "gzip data inflates past the limit of ", max_bytes, " bytes"));
    }
    out.append(chunk, produced);
    if (rc == Z_OK && produced == 0 && stream.avail_in == 0) {
      inflateEnd(&stream);
      return absl::InvalidArgumentError("not valid gzip data: truncated");
    }
  }
  const bool trailing = stream.avail_in != 0;
  inflateEnd(&stream);
  if (trailing) {
    return absl::InvalidArgumentError(
        "not valid gzip data: bytes after the end of the stream");
  }
  return out;
}

}  // namespace proctor::guest
