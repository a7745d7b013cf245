// ReplaceFile: whole files, their mode from creation, and the failures said plainly.
#include "common/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "tests/support/subprocess.h"

namespace streamarc {
namespace {

namespace fs = std::filesystem;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

TEST(ReplaceFileTest, ReplacesTheWholeFileWithItsModeAndLeavesNoTemporary) {
  testing::TempDir dir;
  const std::string path = dir.File("key");
  // A file already there, and a temporary left by a crash that anyone could read.
  ASSERT_TRUE(ReplaceFile(path, "an older and longer content", 0644, false).ok());
  ASSERT_TRUE(ReplaceFile(path + ".tmp", "left by a crash", 0666, false).ok());
  const mode_t old_mask = ::umask(0);  // the mode must not depend on the caller's umask
  Status s = ReplaceFile(path, "secret", 0600, /*sync=*/true);
  ::umask(old_mask);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(testing::ReadFileOrDie(path), "secret");
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

TEST(ReplaceFileTest, AMissingDirectoryIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  Status s = ReplaceFile(dir.File("no/such/dir/key"), "x", 0600, false);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("no/such/dir/key.tmp"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace streamarc
