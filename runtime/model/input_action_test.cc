#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "runtime/model/action.h"
#include "runtime/model/input.h"

namespace proctor {
namespace {

template <typename Variant, size_t... I>
absl::flat_hash_set<absl::string_view> Names(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, Variant>::kName...};
}

TEST(VocabularyTest, InputNamesAreUnique) {
  constexpr size_t n = std::variant_size_v<Input>;
  EXPECT_EQ(Names<Input>(std::make_index_sequence<n>()).size(), n);
}

TEST(VocabularyTest, ActionNamesAreUnique) {
  constexpr size_t n = std::variant_size_v<Action>;
  EXPECT_EQ(Names<Action>(std::make_index_sequence<n>()).size(), n);
}

TEST(VocabularyTest, RequestsAreRecognised) {
  EXPECT_EQ(InputRequest(input::StartVm{RequestId{7}, Cid{3}}), RequestId{7});
  EXPECT_FALSE(InputRequest(input::TimerFired{}).has_value());
  EXPECT_EQ(InputName(input::VmmExited{}), "vmm_exited");
  EXPECT_EQ(ActionName(action::OnDied{}), "on_died");
}

TEST(VocabularyTest, InstantArithmeticAndFormat) {
  Instant t = Instant{1'500'000'000} + absl::Milliseconds(1);
  EXPECT_EQ(t.ns, 1'501'000'000);
  EXPECT_EQ(t - Instant{1'000'000'000}, absl::Milliseconds(501));
  EXPECT_EQ(FormatInstant(t), "1.501000000s");
}

}  // namespace
}  // namespace proctor
