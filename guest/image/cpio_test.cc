// The newc writer against the format: exact bytes of a tiny archive, the
// canonical order, and every refusal.
#include "guest/image/cpio.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace proctor::guest {
namespace {

using ::testing::HasSubstr;
using Type = CpioEntry::Type;

std::string Nul(size_t n) { return std::string(n, '\0'); }

TEST(CpioTest, TinyArchiveHasExactBytes) {
  // Given out of order: the writer sorts.
  std::vector<CpioEntry> entries = {
      {"l", Type::kSymlink, 0777, "a/b", 0, 0},
      {"a/b", Type::kFile, 0644, "hi", 0, 0},
      {"c", Type::kCharDevice, 0600, "", 5, 1},
      {"a", Type::kDirectory, 0755, "", 0, 0},
  };
  absl::StatusOr<std::string> archive = WriteCpioNewc(entries);
  ASSERT_TRUE(archive.ok()) << archive.status();

  // Fields: magic ino mode uid gid nlink mtime filesize devmajor devminor
  // rdevmajor rdevminor namesize check.
  std::string expected;
  // "a": offset 0, header 110 + name 2 = 112, already aligned.
  expected +=
      "070701"
      "00000001"
      "000041ED"
      "00000000"
      "00000000"
      "00000002"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000002"
      "00000000";
  expected += "a" + Nul(1);
  // "a/b": at 112; header + name "a/b\0" = 114 -> pad 2; data 2 -> pad 2.
  expected +=
      "070701"
      "00000002"
      "000081A4"
      "00000000"
      "00000000"
      "00000001"
      "00000000"
      "00000002"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000004"
      "00000000";
  expected += "a/b" + Nul(1) + Nul(2) + "hi" + Nul(2);
  // "c": at 232; 110 + 2 = 112, aligned; a device has no data.
  expected +=
      "070701"
      "00000003"
      "00002180"
      "00000000"
      "00000000"
      "00000001"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000005"
      "00000001"
      "00000002"
      "00000000";
  expected += "c" + Nul(1);
  // "l": at 344; 112 aligned; target "a/b" 3 bytes -> pad 1.
  expected +=
      "070701"
      "00000004"
      "0000A1FF"
      "00000000"
      "00000000"
      "00000001"
      "00000000"
      "00000003"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000002"
      "00000000";
  expected += "l" + Nul(1) + "a/b" + Nul(1);
  // Trailer at 460: 110 + 11 = 121 -> pad 3 = 584; then to 1024.
  expected +=
      "070701"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000001"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "00000000"
      "0000000B"
      "00000000";
  expected += "TRAILER!!!" + Nul(1) + Nul(3);
  ASSERT_EQ(expected.size(), 584u);
  expected += Nul(1024 - 584);

  EXPECT_EQ(*archive, expected);
}

TEST(CpioTest, EmptyArchiveIsJustTheTrailer) {
  absl::StatusOr<std::string> archive = WriteCpioNewc({});
  ASSERT_TRUE(archive.ok());
  ASSERT_EQ(archive->size(), 512u);
  EXPECT_EQ(archive->substr(0, 6), "070701");
  EXPECT_EQ(archive->substr(110, 11), std::string("TRAILER!!!") + Nul(1));
}

TEST(CpioTest, FoldersComeBeforeTheirContentsWhichStayTogether) {
  // Byte order would put "a-b" (0x2d) before "a/x" (0x2f) and split "a"'s
  // contents from "a"; component order keeps them together.
  absl::StatusOr<std::string> archive = WriteCpioNewc({
      {"a-b", Type::kFile, 0644, "", 0, 0},
      {"a/x", Type::kFile, 0644, "", 0, 0},
      {"a", Type::kDirectory, 0755, "", 0, 0},
      {"a/x.d", Type::kDirectory, 0755, "", 0, 0},
      {"a/x.d/y", Type::kFile, 0644, "", 0, 0},
  });
  ASSERT_TRUE(archive.ok()) << archive.status();
  std::vector<std::string> names;
  size_t at = 0;
  while (at + 110 <= archive->size()) {
    const size_t name_size =
        std::stoul(archive->substr(at + 94, 8), nullptr, 16);
    const size_t file_size =
        std::stoul(archive->substr(at + 54, 8), nullptr, 16);
    names.push_back(archive->substr(at + 110, name_size - 1));
    if (names.back() == "TRAILER!!!") break;
    at += (110 + name_size + 3) / 4 * 4;
    at += (file_size + 3) / 4 * 4;
  }
  EXPECT_THAT(names, ::testing::ElementsAre("a", "a/x", "a/x.d", "a/x.d/y",
                                            "a-b", "TRAILER!!!"));
}

TEST(CpioTest, SameEntriesInAnyOrderGiveTheSameBytes) {
  std::vector<CpioEntry> entries = {
      {"bin", Type::kDirectory, 0755, "", 0, 0},
      {"bin/sh", Type::kSymlink, 0777, "busybox", 0, 0},
      {"bin/busybox", Type::kFile, 0755, std::string(1000, 'x'), 0, 0},
      {"init", Type::kFile, 0755, "#!", 0, 0},
  };
  absl::StatusOr<std::string> first = WriteCpioNewc(entries);
  std::reverse(entries.begin(), entries.end());
  absl::StatusOr<std::string> second = WriteCpioNewc(entries);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(CpioTest, RefusesAMissingParentFolder) {
  absl::StatusOr<std::string> archive =
      WriteCpioNewc({{"lib/modules/x.ko", Type::kFile, 0644, "", 0, 0},
                     {"lib", Type::kDirectory, 0755, "", 0, 0}});
  EXPECT_EQ(archive.status().message(),
            "cpio entry lib/modules/x.ko: its parent lib/modules is not a "
            "folder entry of the archive");
}

TEST(CpioTest, RefusesAParentThatIsAFile) {
  absl::StatusOr<std::string> archive =
      WriteCpioNewc({{"f", Type::kFile, 0644, "", 0, 0},
                     {"f/g", Type::kFile, 0644, "", 0, 0}});
  EXPECT_THAT(archive.status().message(), HasSubstr("its parent f is not"));
}

TEST(CpioTest, RefusesBadPaths) {
  for (const char* path : {"", "/abs", "a//b", "a/./b", "../x", "a/", "."}) {
    absl::StatusOr<std::string> archive =
        WriteCpioNewc({{path, Type::kFile, 0644, "", 0, 0}});
    EXPECT_FALSE(archive.ok()) << path;
  }
  EXPECT_EQ(
      WriteCpioNewc({{"a/../b", Type::kFile, 0644, "", 0, 0}})
          .status()
          .message(),
      "cpio entry path \"a/../b\" has an empty, \".\" or \"..\" component (or "
      "a leading '/')");
  EXPECT_FALSE(WriteCpioNewc({{std::string(kMaxCpioPathBytes + 1, 'a'),
                               Type::kFile, 0644, "", 0, 0}})
                   .ok());
}

TEST(CpioTest, RefusesDuplicatesBadModesAndMisplacedData) {
  EXPECT_EQ(WriteCpioNewc({{"x", Type::kFile, 0644, "", 0, 0},
                           {"x", Type::kFile, 0644, "", 0, 0}})
                .status()
                .message(),
            "cpio entry x appears twice");
  EXPECT_EQ(
      WriteCpioNewc({{"x", Type::kFile, 010644, "", 0, 0}}).status().message(),
      "cpio entry x: mode 10644 has bits outside 07777");
  EXPECT_EQ(WriteCpioNewc({{"d", Type::kDirectory, 0755, "data", 0, 0}})
                .status()
                .message(),
            "cpio entry d: a folder or device carries no data");
  EXPECT_EQ(
      WriteCpioNewc({{"l", Type::kSymlink, 0777, "", 0, 0}}).status().message(),
      "cpio entry l: a symlink needs a target");
}

TEST(CpioTest, RefusesTooManyEntries) {
  std::vector<CpioEntry> entries(kMaxCpioEntries + 1);
  absl::StatusOr<std::string> archive = WriteCpioNewc(std::move(entries));
  EXPECT_EQ(archive.status().message(),
            "cpio archive of 65537 entries; the limit is 65536");
}

}  // namespace
}  // namespace proctor::guest
