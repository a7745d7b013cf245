// ACK events in KVS's exact wire shape, and PutMedia's session headers.
#include <gtest/gtest.h>

#include "ingest/ingest.h"
#include "tests/support/subprocess.h"

namespace streamarc::ingest {
namespace {

using fragmenter::AckErrorId;

// The examples in kvs-api.md §2.1, byte for byte.
TEST(Ack, MatchesKvsExamples) {
  EXPECT_EQ(
      FormatAck(AckEvent::Buffering(253000, "12345678901234567890123456738870744847093249408")),
      R"({"EventType":"BUFFERING","FragmentTimecode":253000,)"
      R"("FragmentNumber":"12345678901234567890123456738870744847093249408"})");
  EXPECT_EQ(FormatAck(AckEvent::Persisted(1663277247152,
                                          "91343852333181432511524306419788296366724229586")),
            R"({"EventType":"PERSISTED","FragmentTimecode":1663277247152,)"
            R"("FragmentNumber":"91343852333181432511524306419788296366724229586"})");
  EXPECT_EQ(FormatAck(AckEvent::Error(0, "91343852333181571046918222741096071001568090649",
                                      AckErrorId::kFragmentTimecodeLesserThanPrevious)),
            R"({"EventType":"ERROR","FragmentTimecode":0,)"
            R"("FragmentNumber":"91343852333181571046918222741096071001568090649",)"
            R"("ErrorCode":"FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS","ErrorId":4004})");
}

TEST(Ack, ReceivedIdleAndErrorWithoutNumber) {
  EXPECT_EQ(FormatAck(AckEvent::Received(2000, "7")),
            R"({"EventType":"RECEIVED","FragmentTimecode":2000,"FragmentNumber":"7"})");
  EXPECT_EQ(FormatAck(AckEvent::Idle()), R"({"EventType":"IDLE"})");
  // An error before any fragment had a number (e.g. a bad header).
  EXPECT_EQ(FormatAck(AckEvent::Error(0, "", AckErrorId::kInvalidMkvData)),
            R"({"EventType":"ERROR","FragmentTimecode":0,"ErrorCode":"INVALID_MKV_DATA",)"
            R"("ErrorId":4006})");
  EXPECT_EQ(FormatAckLine(AckEvent::Idle()), "{\"EventType\":\"IDLE\"}\n");
}

TEST(Ack, EscapesAndStaysUnderTheSdkLimit) {
  AckEvent e = AckEvent::Error(INT64_MAX, std::string(47, '9'), AckErrorId::kArchivalError);
  EXPECT_LE(FormatAck(e).size(), 1024u);  // the PIC's MAX_ACK_FRAGMENT_LEN
  AckEvent odd = AckEvent::Received(1, "1\"2\\3\n");
  EXPECT_EQ(FormatAck(odd),
            R"({"EventType":"RECEIVED","FragmentTimecode":1,"FragmentNumber":"1\"2\\3\u000a"})");
}

// Every event type is valid JSON to a real parser, with the types KVS uses.
TEST(Ack, ValidJsonForPython) {
  std::string lines;
  for (const AckEvent& e :
       {AckEvent::Buffering(1, "1"), AckEvent::Received(2, "2"), AckEvent::Persisted(3, "3"),
        AckEvent::Error(4, "4", AckErrorId::kMaxFragmentSizeReached), AckEvent::Idle()}) {
    lines += FormatAckLine(e);
  }
  streamarc::testing::TempDir dir;
  streamarc::testing::WriteFileOrDie(dir.File("acks"), lines);
  auto r = streamarc::testing::RunCommand(
      {"python3", "-c",
       "import json,sys\n"
       "for l in open(sys.argv[1]):\n"
       "  o=json.loads(l)\n"
       "  assert isinstance(o['EventType'],str)\n"
       "  assert 'FragmentTimecode' not in o or isinstance(o['FragmentTimecode'],int)\n"
       "  assert 'FragmentNumber' not in o or isinstance(o['FragmentNumber'],str)\n"
       "  assert o['EventType']!='ERROR' or (o['ErrorId']==4001 and "
       "o['ErrorCode']=='MAX_FRAGMENT_SIZE_REACHED')\n"
       "  print(o['EventType'])\n",
       dir.File("acks")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->out;
  EXPECT_EQ(r->out, "BUFFERING\nRECEIVED\nPERSISTED\nERROR\nIDLE\n");
}

TEST(PutMediaHeaders, TimecodeType) {
  EXPECT_EQ(*ParseTimecodeType("ABSOLUTE"), fragmenter::TimecodeType::kAbsolute);
  EXPECT_EQ(*ParseTimecodeType("RELATIVE"), fragmenter::TimecodeType::kRelative);
  EXPECT_EQ(ParseTimecodeType("absolute").status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(ParseTimecodeType("").ok());
}

TEST(PutMediaHeaders, ProducerStartTimestamp) {
  EXPECT_EQ(*ParseProducerStartTimestampMs("1588143003.893"), 1588143003893);
  EXPECT_EQ(*ParseProducerStartTimestampMs("1588143003.5"), 1588143003005);  // "%llu" of 5 ms
  EXPECT_EQ(*ParseProducerStartTimestampMs("1588143003.50"), 1588143003050);
  EXPECT_EQ(*ParseProducerStartTimestampMs("1588143003.005"), 1588143003005);
  EXPECT_EQ(*ParseProducerStartTimestampMs("1588143003"), 1588143003000);
  EXPECT_EQ(*ParseProducerStartTimestampMs("1588143003.123456"), 1588143003123);
  for (const char* bad : {"", ".5", "1.", "abc", "1.2x", "-1.5", "1 .5", "9999999999999.1"}) {
    EXPECT_EQ(ParseProducerStartTimestampMs(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace streamarc::ingest
