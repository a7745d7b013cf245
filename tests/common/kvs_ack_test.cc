// KVS's ACK vocabulary, shared by the server and the producer SDK.
#include "common/kvs_ack.h"

#include <gtest/gtest.h>

namespace streamarc::kvs {
namespace {

TEST(KvsAckTest, EventTypeNamesRoundTrip) {
  for (AckEventType t : {AckEventType::kBuffering, AckEventType::kReceived,
                         AckEventType::kPersisted, AckEventType::kError, AckEventType::kIdle}) {
    auto back = ParseAckEventType(AckEventTypeName(t));
    ASSERT_TRUE(back.has_value()) << AckEventTypeName(t);
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(AckEventTypeName(AckEventType::kPersisted), "PERSISTED");
  // Case-sensitive, as KVS's parser; nothing else is an event type.
  for (const char* bad : {"persisted", "Persisted", "PERSISTED ", "", "UNKNOWN", "?"}) {
    EXPECT_FALSE(ParseAckEventType(bad).has_value()) << bad;
  }
}

TEST(KvsAckTest, ErrorIdsAreKvsNumbersWithKvsNames) {
  EXPECT_EQ(static_cast<int>(AckErrorId::kStreamReadError), 4000);
  EXPECT_EQ(static_cast<int>(AckErrorId::kMoreThanAllowedTracksFound), 4012);
  EXPECT_EQ(static_cast<int>(AckErrorId::kKmsKeyNotFound), 4506);
  EXPECT_EQ(static_cast<int>(AckErrorId::kStreamDeleted), 4507);
  EXPECT_EQ(static_cast<int>(AckErrorId::kArchivalError), 5001);
  EXPECT_EQ(AckErrorCodeName(AckErrorId::kInvalidMkvData), "INVALID_MKV_DATA");
  EXPECT_EQ(AckErrorCodeName(AckErrorId::kKmsKeyAccessDenied), "KMS_KEY_ACCESS_DENIED");
  EXPECT_EQ(AckErrorCodeName(AckErrorId::kStreamDeleted), "STREAM_DELETED");
  // An id a newer service might send is not a crash, just unknown.
  EXPECT_EQ(AckErrorCodeName(static_cast<AckErrorId>(4999)), "UNKNOWN");
}

TEST(KvsAckTest, WhatAProducerDoesOnEachError) {
  for (int id : {4000, 4003, 5000, 5001}) {
    EXPECT_TRUE(IsRetriedByProducer(static_cast<AckErrorId>(id))) << id;
    EXPECT_FALSE(MeansStreamGone(static_cast<AckErrorId>(id))) << id;
  }
  for (int id : {4001, 4002, 4004, 4006, 4008, 4500, 4507, 4999, 0}) {
    EXPECT_FALSE(IsRetriedByProducer(static_cast<AckErrorId>(id))) << id;
  }
  EXPECT_TRUE(MeansStreamGone(AckErrorId::kStreamNotActive));
  EXPECT_TRUE(MeansStreamGone(AckErrorId::kStreamDeleted));
  EXPECT_FALSE(MeansStreamGone(AckErrorId::kInvalidMkvData));
}

}  // namespace
}  // namespace streamarc::kvs
