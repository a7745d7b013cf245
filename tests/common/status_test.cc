#include "common/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

namespace streamarc {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status Check(int x) {
  RETURN_IF_ERROR(Quarter(x).status());
  return Status::Ok();
}

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  Status s = NotFound("stream cam1");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.ToString(), "NotFound: stream cam1");
}

TEST(Status, ResultCarriesValueOrError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "odd: 3");
  EXPECT_EQ(Check(6).code(), Code::kInvalidArgument);
  EXPECT_TRUE(Check(4).ok());
  Result<std::unique_ptr<int>> owned = std::make_unique<int>(5);
  std::unique_ptr<int> taken = std::move(owned).value();
  EXPECT_EQ(*taken, 5);
}

// A Result's error may be another type than Status; ASSIGN_OR_RETURN passes it on as is.
struct Refusal {
  int code = 0;
};

Result<std::unique_ptr<int>, Refusal> Owned(int x) {
  if (x < 0) return Refusal{x};
  return std::make_unique<int>(x);
}

Result<int, Refusal> Unwrapped(int x) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> p, Owned(x));
  return *p + 1;
}

TEST(Status, ResultWithAnotherErrorType) {
  Result<int, Refusal> r = Unwrapped(4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  Result<int, Refusal> refused = Unwrapped(-7);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, -7);
  // A Result<T> (error type Status) has both error() and status().
  Result<int> half = Half(3);
  EXPECT_EQ(half.error(), half.status());
}

TEST(Status, ErrnoTranslation) {
  EXPECT_EQ(ErrnoStatus(ENOSPC, "write").code(), Code::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus(EACCES, "open").code(), Code::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open").code(), Code::kNotFound);
  EXPECT_EQ(ErrnoStatus(EIO, "fsync").code(), Code::kIoError);
  EXPECT_NE(ErrnoStatus(EIO, "fsync").message().find("fsync: "), std::string::npos);
}

}  // namespace
}  // namespace streamarc
