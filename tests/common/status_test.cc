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

TEST(Status, ErrnoTranslation) {
  EXPECT_EQ(ErrnoStatus(ENOSPC, "write").code(), Code::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus(EACCES, "open").code(), Code::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open").code(), Code::kNotFound);
  EXPECT_EQ(ErrnoStatus(EIO, "fsync").code(), Code::kIoError);
  EXPECT_NE(ErrnoStatus(EIO, "fsync").message().find("fsync: "), std::string::npos);
}

}  // namespace
}  // namespace streamarc
