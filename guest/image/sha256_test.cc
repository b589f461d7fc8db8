// SHA-256 against the FIPS 180-4 examples, split updates and files.
#include "guest/image/sha256.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace proctor::guest {
namespace {

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, SplitUpdatesGiveTheSameDigest) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 31);
  const std::string whole = Sha256Hex(data);
  for (size_t step : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 200u}) {
    Sha256 sha;
    for (size_t at = 0; at < data.size(); at += step) {
      sha.Update(absl::string_view(data).substr(at, step));
    }
    EXPECT_EQ(sha.HexDigest(), whole) << "step " << step;
  }
}

TEST(Sha256Test, HashesFilesWithinALimit) {
  char path[] = "/tmp/proctor-sha256-test-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "abc";
  EXPECT_EQ(*Sha256File(path, 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256File(path, 2).status().message(),
            std::string(path) + ": 3 bytes, larger than the limit of 2");
  unlink(path);
  EXPECT_EQ(Sha256File(path, 2).status().message(),
            std::string("open ") + path + ": No such file or directory");
  EXPECT_EQ(Sha256File("/tmp", 2).status().message(),
            "/tmp: not a regular file");
}

}  // namespace
}  // namespace proctor::guest
