#include "cafetch/atomic_file.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::ReadFile;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

FileMode Mine(mode_t mode) { return FileMode{getuid(), getgid(), mode}; }

int CountEntries(const std::string& dir) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  while (struct dirent* e = readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  closedir(d);
  return n;
}

TEST(AtomicFileTest, RemovesOnlyItsOwnStaleTemporaries) {
  TempDir dir;
  const std::string path = dir.Path("keys");
  WriteFile(path, "current\n");
  WriteFile(dir.Path(".keys.certgate-0123456789abcdef"), "half");
  WriteFile(dir.Path(".keys.certgate-fedcba9876543210"), "");
  WriteFile(dir.Path(".keys.certgate-0123"), "too short: not ours");
  WriteFile(dir.Path(".keys.certgate-0123456789ABCDEF"), "upper case: not ours");
  WriteFile(dir.Path(".other.certgate-0123456789abcdef"), "another file's");
  WriteFile(dir.Path("keys.previous"), "old\n");
  auto removed = RemoveStaleTemporaries(path);
  ASSERT_TRUE(removed) << removed.error().detail;
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(CountEntries(dir.Path("")), 5);
  EXPECT_EQ(ReadFile(path), "current\n");
  EXPECT_EQ(*RemoveStaleTemporaries(path), 0u);
  EXPECT_EQ(*RemoveStaleTemporaries(dir.Path("missing/keys")), 0u);
}

TEST(AtomicFileTest, CreatesWithModeAndReplaces) {
  TempDir dir;
  std::string path = dir.Path("keys");
  ASSERT_TRUE(WriteFileAtomically(path, "one\n", Mine(0644)));
  EXPECT_EQ(ReadFile(path), "one\n");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_TRUE(WriteFileAtomically(path, "two\n", Mine(0600)));
  EXPECT_EQ(ReadFile(path), "two\n");
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(CountEntries(dir.path()), 1);  // no temporary file left behind
}

TEST(AtomicFileTest, KeepsPreviousVersion) {
  TempDir dir;
  std::string path = dir.Path("keys");
  ASSERT_TRUE(ReplaceKeepingPrevious(path, "first\n", Mine(0644)));
  EXPECT_EQ(access((path + kPreviousSuffix).c_str(), F_OK), -1);  // nothing to keep yet
  ASSERT_TRUE(ReplaceKeepingPrevious(path, "second\n", Mine(0644)));
  EXPECT_EQ(ReadFile(path), "second\n");
  EXPECT_EQ(ReadFile(path + kPreviousSuffix), "first\n");
}

TEST(AtomicFileTest, FailureLeavesTargetUntouched) {
  TempDir dir;
  std::string path = dir.Path("keys");
  WriteFile(path, "old\n");
  // A directory in place of the target: rename fails, the old data stays
  // and no temporary file is left.
  std::string subdir = dir.Path("sub");
  ASSERT_EQ(mkdir(subdir.c_str(), 0755), 0);
  WriteFile(subdir + "/x", "x");
  EXPECT_FALSE(WriteFileAtomically(subdir, "new\n", Mine(0644)));
  EXPECT_EQ(ReadFile(subdir + "/x"), "x");
  EXPECT_EQ(CountEntries(dir.path()), 2);
  EXPECT_FALSE(WriteFileAtomically(dir.Path("missing/keys"), "new\n", Mine(0644)));
  EXPECT_EQ(ReadFile(path), "old\n");
}

TEST(AtomicFileTest, ReadWholeFile) {
  TempDir dir;
  auto missing = ReadWholeFile(dir.Path("none"));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  WriteFile(dir.Path("f"), std::string(100, 'a'));
  auto big = ReadWholeFile(dir.Path("f"), 10);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, core::Errc::kTooLarge);
  ASSERT_EQ(symlink(dir.Path("f").c_str(), dir.Path("link").c_str()), 0);
  EXPECT_FALSE(ReadWholeFile(dir.Path("link")));  // links are not followed
}

}  // namespace
}  // namespace certgate::cafetch

namespace certgate::cafetch {
namespace {

TEST(AtomicFileTest, BackUpAndRestore) {
  TempDir dir;
  const std::string path = dir.Path("sshd_config");
  WriteFile(path, "old\n", 0640);
  auto replaced = ReplaceKeepingPrevious(path, "new\n", FileMode{getuid(), getgid(), 0644});
  ASSERT_TRUE(replaced) << replaced.error().detail;
  ASSERT_TRUE(replaced->contents.has_value());
  EXPECT_EQ(*replaced->contents, "old\n");
  EXPECT_EQ(replaced->mode.mode, 0640u);
  EXPECT_EQ(ReadFile(path), "new\n");
  struct stat st;
  ASSERT_EQ(stat((path + kPreviousSuffix).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // the copy keeps the old mode
  ASSERT_TRUE(RestoreFile(*replaced));
  EXPECT_EQ(ReadFile(path), "old\n");
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);

  // A file that did not exist is removed again.
  const std::string fresh = dir.Path("drop-in.conf");
  auto created = ReplaceKeepingPrevious(fresh, "x\n", FileMode{getuid(), getgid(), 0644});
  ASSERT_TRUE(created);
  EXPECT_FALSE(created->contents.has_value());
  EXPECT_NE(access((fresh + kPreviousSuffix).c_str(), F_OK), 0);
  ASSERT_TRUE(RestoreFile(*created));
  EXPECT_NE(access(fresh.c_str(), F_OK), 0);
}

TEST(AtomicFileTest, BackUpRefusesSymlinksAndDirectories) {
  TempDir dir;
  WriteFile(dir.Path("target"), "t\n");
  ASSERT_EQ(symlink(dir.Path("target").c_str(), dir.Path("link").c_str()), 0);
  EXPECT_FALSE(BackUpFile(dir.Path("link")));
  ASSERT_EQ(mkdir(dir.Path("d").c_str(), 0755), 0);
  EXPECT_FALSE(BackUpFile(dir.Path("d")));
  auto missing = BackUpFile(dir.Path("none"));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->contents.has_value());
}

}  // namespace
}  // namespace certgate::cafetch
