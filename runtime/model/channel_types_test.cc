#include "runtime/model/channel_types.h"

#include "gtest/gtest.h"

namespace proctor {
namespace {

TEST(ChannelTypesTest, CH1_SignalsFormatAndParse) {
  EXPECT_EQ(FormatSignals(kSignalNone), "NONE");
  EXPECT_EQ(FormatSignals(kSignalReadable | kSignalPeerClosed),
            "READABLE|PEER_CLOSED");
  Signals s = 0;
  ASSERT_TRUE(ParseSignals("READABLE|PEER_CLOSED", &s));
  EXPECT_EQ(s, kSignalReadable | kSignalPeerClosed);
  ASSERT_TRUE(ParseSignals("NONE", &s));
  EXPECT_EQ(s, kSignalNone);
  EXPECT_FALSE(ParseSignals("READABLE|BOGUS", &s));
}

TEST(ChannelTypesTest, CT1_CounterSignalNames) {
  EXPECT_EQ(FormatSignals(kSignalPositive), "POSITIVE");
  EXPECT_EQ(FormatSignals(kSignalNonPositive), "NON_POSITIVE");
}

TEST(ChannelTypesTest, CH1_StatusNamesRoundTrip) {
  for (ChannelStatus st :
       {ChannelStatus::kOk, ChannelStatus::kShouldWait,
        ChannelStatus::kPeerClosed, ChannelStatus::kOutOfRange,
        ChannelStatus::kBadHandle}) {
    ChannelStatus parsed;
    ASSERT_TRUE(ParseChannelStatus(ChannelStatusName(st), &parsed));
    EXPECT_EQ(parsed, st);
  }
  EXPECT_EQ(kMaxMessageBytes, 65536u);
  EXPECT_EQ(kMaxMessageHandles, 64u);
}

}  // namespace
}  // namespace proctor
