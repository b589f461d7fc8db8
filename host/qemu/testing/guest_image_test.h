// The fixture of host_qemu_real_test's suites: the guest image of this build
// (built once per suite into the test cache, or found there), and a private
// parent folder for the run folders, which must be empty again after each
// test. Built on ProcessTest, so no descriptor and no child may be left.
// Only for host_qemu_real_test, whose build gives PROCTOR_AGENT_BINARY and
// PROCTOR_TEST_CACHE_DIR.
#ifndef PROCTOR_HOST_QEMU_TESTING_GUEST_IMAGE_TEST_H_
#define PROCTOR_HOST_QEMU_TESTING_GUEST_IMAGE_TEST_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "guest/image/image.h"
#include "host/process/testing/process_testing.h"

namespace proctor::host::testing {

class GuestImageTest : public ProcessTest {
 protected:
  static void SetUpTestSuite() {
    guest::ImageOptions options;
    // A sanitizer build's agent is dynamic and cannot be a guest's /init:
    // PROCTOR_QEMU_TEST_AGENT names a static one from a normal build.
    const char* agent = std::getenv("PROCTOR_QEMU_TEST_AGENT");
    options.inputs.agent_binary =
        agent != nullptr && *agent != '\0' ? agent : PROCTOR_AGENT_BINARY;
    options.cache_dir = PROCTOR_TEST_CACHE_DIR;
    options.tool_path = "/usr/sbin:/usr/bin:/sbin:/bin";
    absl::StatusOr<guest::Image> image = guest::BuildImage(options);
    if (image.ok()) {
      image_ = new guest::Image(*std::move(image));
    } else {
      image_error_ = new absl::Status(image.status());
    }
  }
  static void TearDownTestSuite() {
    delete image_;
    image_ = nullptr;
    delete image_error_;
    image_error_ = nullptr;
  }

  void SetUp() override {
    ProcessTest::SetUp();
    ASSERT_NE(image_, nullptr) << *image_error_;
    char dir[] = "/tmp/proctor-qemu-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    parent_ = dir;
  }
  void TearDown() override {
    std::error_code ignored;
    EXPECT_TRUE(std::filesystem::is_empty(parent_, ignored))
        << "a run folder was left in " << parent_;
    std::filesystem::remove_all(parent_, ignored);
    ProcessTest::TearDown();
  }

  static const guest::Image& image() { return *image_; }

  // Where the tests' run folders go.
  std::string parent_;

 private:
  inline static guest::Image* image_ = nullptr;
  inline static absl::Status* image_error_ = nullptr;
};

}  // namespace proctor::host::testing

#endif  // PROCTOR_HOST_QEMU_TESTING_GUEST_IMAGE_TEST_H_
