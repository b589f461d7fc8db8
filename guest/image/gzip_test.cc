// Deterministic gzip: the exact header, identical output for identical
// input, and a round trip through zlib's inflate.
#include "guest/image/gzip.h"

#include <zlib.h>

#include <string>

#include "gtest/gtest.h"

namespace proctor::guest {
namespace {

std::string Sample() {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += static_cast<char>((i * 7919) % 251);
  data += std::string(50000, 'z');
  return data;
}

TEST(GzipTest, HeaderHasNoTimeNoNameAndTheUnixOsByte) {
  absl::StatusOr<std::string> gz = GzipDeterministic("hello");
  ASSERT_TRUE(gz.ok());
  // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=2 (maximum compression) OS=3.
  EXPECT_EQ(gz->substr(0, 10),
            std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03", 10));
  // The trailer: CRC-32 and the input size, little-endian.
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>("hello"), 5);
  const std::string trailer = gz->substr(gz->size() - 8);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(static_cast<unsigned char>(trailer[i]), (crc >> (8 * i)) & 0xff);
  }
  EXPECT_EQ(trailer.substr(4), std::string("\x05\x00\x00\x00", 4));
}

TEST(GzipTest, SameInputGivesSameBytes) {
  const std::string data = Sample();
  absl::StatusOr<std::string> a = GzipDeterministic(data);
  absl::StatusOr<std::string> b = GzipDeterministic(data);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_LT(a->size(), data.size());
}

TEST(GzipTest, RoundTrips) {
  const std::string data = Sample();
  absl::StatusOr<std::string> gz = GzipDeterministic(data);
  ASSERT_TRUE(gz.ok());
  absl::StatusOr<std::string> back = Gunzip(*gz, data.size());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, data);
  absl::StatusOr<std::string> empty = GzipDeterministic("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*Gunzip(*empty, 0), "");
}

TEST(GzipTest, GunzipRefusesBadInput) {
  const std::string data = Sample();
  absl::StatusOr<std::string> gz = GzipDeterministic(data);
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ(Gunzip(*gz, data.size() - 1).status().message(),
            "gzip data inflates past the limit of 149999 bytes");
  EXPECT_EQ(
      Gunzip(gz->substr(0, gz->size() / 2), data.size()).status().message(),
      "not valid gzip data: truncated");
  EXPECT_EQ(Gunzip(*gz + "x", data.size()).status().message(),
            "not valid gzip data: bytes after the end of the stream");
  EXPECT_EQ(Gunzip("not gzip at all", 100).status().message(),
            "not valid gzip data: incorrect header check");
}

}  // namespace
}  // namespace proctor::guest
