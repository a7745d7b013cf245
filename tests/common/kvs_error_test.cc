// KVS's exceptions as values: every type has its own name, and a Status maps to the
// exception every API answers with unless it knows better.
#include "common/kvs_error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace streamarc {
namespace {

TEST(KvsErrorTest, EveryTypeHasItsOwnName) {
  std::set<std::string> seen;
  for (int i = 0; i < kKvsErrorTypeCount; ++i) {
    const std::string name(KvsErrorName(static_cast<KvsErrorType>(i)));
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_TRUE(seen.insert(name).second) << name << " names two types";
    // KVS's names end in Exception, but for these two (kvs-api.md).
    if (name != "InternalFailure" && name != "MissingParameter") {
      EXPECT_EQ(name.rfind("Exception"), name.size() - 9) << name;
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kKvsErrorTypeCount));
  // kKvsErrorTypeCount counts every enumerator: the next value is outside the enum.
  EXPECT_EQ(KvsErrorName(static_cast<KvsErrorType>(kKvsErrorTypeCount)), "InternalFailure");
  EXPECT_EQ(KvsErrorName(KvsErrorType::kResourceNotFound), "ResourceNotFoundException");
  EXPECT_EQ(KvsErrorName(KvsErrorType::kConnectionLimitExceeded),
            "ConnectionLimitExceededException");
  EXPECT_EQ(KvsErrorName(KvsErrorType::kTagsPerResourceExceededLimit),
            "TagsPerResourceExceededLimitException");
}

TEST(KvsErrorTest, StatusDefaults) {
  struct Case {
    Status status;
    KvsErrorType type;
  };
  const Case cases[] = {
      {NotFound("no stream cam"), KvsErrorType::kResourceNotFound},
      {AlreadyExists("cam exists"), KvsErrorType::kResourceInUse},
      {InvalidArgument("bad name"), KvsErrorType::kInvalidArgument},
      {OutOfRange("too late"), KvsErrorType::kInvalidArgument},
      {FailedPrecondition("version"), KvsErrorType::kVersionMismatch},
      {ResourceExhausted("too fast"), KvsErrorType::kClientLimitExceeded},
      {Unavailable(kBusyMessage), KvsErrorType::kServiceUnavailable},
  };
  for (const Case& c : cases) {
    KvsError e = KvsErrorFromStatus(c.status);
    EXPECT_EQ(KvsErrorName(e.type), KvsErrorName(c.type)) << c.status.ToString();
    EXPECT_EQ(e.status, c.status) << "the cause is kept as it is";
  }
  // Codes with no KVS meaning are ours; the message says which failure it was.
  for (const Status& s : {IoError("fsync: EIO"), DataLoss("bad CRC"), Internal("bug"),
                          Cancelled("stopped"), PermissionDenied("open segment: EACCES")}) {
    KvsError e = KvsErrorFromStatus(s);
    EXPECT_EQ(e.type, KvsErrorType::kInternalFailure) << s.ToString();
    EXPECT_EQ(e.status.code(), s.code());
    EXPECT_EQ(e.status.message(), s.ToString());
  }
}

TEST(KvsErrorTest, AnOperationNamesItsLimit) {
  const Status full = ResourceExhausted("51 tags");
  EXPECT_EQ(KvsErrorFromStatus(full, KvsErrorType::kTagsPerResourceExceededLimit).type,
            KvsErrorType::kTagsPerResourceExceededLimit);
  EXPECT_EQ(KvsErrorFromStatus(full, KvsErrorType::kConnectionLimitExceeded).type,
            KvsErrorType::kConnectionLimitExceeded);
  // Only a kResourceExhausted takes the operation's limit.
  EXPECT_EQ(KvsErrorFromStatus(NotFound("x"), KvsErrorType::kConnectionLimitExceeded).type,
            KvsErrorType::kResourceNotFound);
}

Result<int, KvsError> Parse(const std::string& s) {
  if (s.empty()) return KvsError{KvsErrorType::kMissingParameter, InvalidArgument("empty")};
  return static_cast<int>(s.size());
}

Result<int, KvsError> Twice(const std::string& s) {
  ASSIGN_OR_RETURN(int n, Parse(s));
  return 2 * n;
}

TEST(KvsErrorTest, ResultCarriesAValueOrTheRefusal) {
  Result<int, KvsError> ok = Twice("abc");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 6);
  Result<int, KvsError> refused = Twice("");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().type, KvsErrorType::kMissingParameter);
  EXPECT_EQ(refused.error().status.message(), "empty");
}

}  // namespace
}  // namespace streamarc
