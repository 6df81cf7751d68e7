#include "cafetch/atomic_file.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

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
  WriteFile(path + kPreviousSuffix, "older\n", 0600);
  auto replaced = ReplaceKeepingPrevious(path, "new\n", FileMode{getuid(), getgid(), 0644});
  ASSERT_TRUE(replaced) << replaced.error().detail;
  ASSERT_TRUE(replaced->file.contents.has_value());
  EXPECT_EQ(*replaced->file.contents, "old\n");
  EXPECT_EQ(replaced->file.mode.mode, 0640u);
  ASSERT_TRUE(replaced->previous.has_value());
  ASSERT_TRUE(replaced->previous->contents.has_value());
  EXPECT_EQ(*replaced->previous->contents, "older\n");
  EXPECT_EQ(ReadFile(path), "new\n");
  EXPECT_EQ(ReadFile(path + kPreviousSuffix), "old\n");
  struct stat st;
  ASSERT_EQ(stat((path + kPreviousSuffix).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // the copy keeps the old mode
  ASSERT_TRUE(RestoreFile(replaced->file));
  ASSERT_TRUE(RestoreFile(*replaced->previous));
  EXPECT_EQ(ReadFile(path), "old\n");
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(ReadFile(path + kPreviousSuffix), "older\n");
  ASSERT_EQ(stat((path + kPreviousSuffix).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  // A file that did not exist is removed again; a copy an earlier file of
  // that name left is not its copy, and stays as it is.
  const std::string fresh = dir.Path("drop-in.conf");
  WriteFile(fresh + kPreviousSuffix, "an earlier drop-in\n", 0600);
  auto created = ReplaceKeepingPrevious(fresh, "x\n", FileMode{getuid(), getgid(), 0644});
  ASSERT_TRUE(created);
  EXPECT_FALSE(created->file.contents.has_value());
  EXPECT_FALSE(created->previous.has_value());
  EXPECT_EQ(ReadFile(fresh + kPreviousSuffix), "an earlier drop-in\n");
  ASSERT_TRUE(RestoreFile(created->file));
  EXPECT_NE(access(fresh.c_str(), F_OK), 0);
  EXPECT_EQ(ReadFile(fresh + kPreviousSuffix), "an earlier drop-in\n");
}

// The first replacement of a file has no copy from before to put back: a
// rollback removes the copy it made.
TEST(AtomicFileTest, RestoringTheFirstCopyRemovesIt) {
  TempDir dir;
  const std::string path = dir.Path("keys");
  WriteFile(path, "old\n");
  auto replaced = ReplaceKeepingPrevious(path, "new\n", Mine(0644));
  ASSERT_TRUE(replaced) << replaced.error().detail;
  ASSERT_TRUE(replaced->previous.has_value());
  EXPECT_FALSE(replaced->previous->contents.has_value());
  EXPECT_EQ(ReadFile(path + kPreviousSuffix), "old\n");
  ASSERT_TRUE(RestoreFile(replaced->file));
  ASSERT_TRUE(RestoreFile(*replaced->previous));
  EXPECT_EQ(ReadFile(path), "old\n");
  EXPECT_NE(access((path + kPreviousSuffix).c_str(), F_OK), 0);
}

// A copy kept beside the file that is a symbolic link is not replaced by
// following it.
TEST(AtomicFileTest, PreviousCopyThatIsALinkIsRefused) {
  TempDir dir;
  const std::string path = dir.Path("keys");
  WriteFile(path, "old\n");
  WriteFile(dir.Path("elsewhere"), "not ours\n");
  ASSERT_EQ(symlink(dir.Path("elsewhere").c_str(), (path + kPreviousSuffix).c_str()), 0);
  auto replaced = ReplaceKeepingPrevious(path, "new\n", Mine(0644));
  ASSERT_FALSE(replaced);
  EXPECT_NE(replaced.error().detail.find(path + kPreviousSuffix), std::string::npos) << replaced.error().detail;
  EXPECT_EQ(ReadFile(path), "old\n");
  EXPECT_EQ(ReadFile(dir.Path("elsewhere")), "not ours\n");
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

using ::certgate::testing::DirectoryEntries;
using ::certgate::testing::SmallFileSystem;

using Names = std::vector<std::string>;

// What a full or read-only disk does to ReplaceKeepingPrevious and the
// files it keeps: the installed file is never left half-written and no
// temporary file stays behind.
class ReplaceOnSmallDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs_.mounted()) GTEST_SKIP() << fs_.why_not();
    path_ = fs_.Path("keys");
  }

  void ExpectNoSpace(const core::Error& error) {
    EXPECT_EQ(error.code, core::Errc::kIo);
    EXPECT_NE(error.detail.find(std::strerror(ENOSPC)), std::string::npos) << error.detail;
  }

  SmallFileSystem fs_;
  std::string path_;
};

// No room for the copy of the installed file: neither it nor the copy
// kept from the round before changes.
TEST_F(ReplaceOnSmallDiskTest, NoRoomForThePreviousCopyChangesNothing) {
  const std::string installed(2 * 4096, 'i');
  WriteFile(path_, installed, 0640);
  WriteFile(path_ + kPreviousSuffix, "older\n", 0600);
  ASSERT_TRUE(fs_.Fill());

  auto replaced = ReplaceKeepingPrevious(path_, "new\n", Mine(0644));
  ASSERT_FALSE(replaced);
  ExpectNoSpace(replaced.error());
  EXPECT_EQ(replaced.error().detail.find("write " + path_ + kPreviousSuffix + " (its temporary "), 0u)
      << replaced.error().detail;
  EXPECT_EQ(ReadFile(path_), installed);
  EXPECT_EQ(ReadFile(path_ + kPreviousSuffix), "older\n");
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(stat((path_ + kPreviousSuffix).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"filler", "keys", "keys.previous"}));
}

// Room for the copy but not for the new file: the installed file stays,
// and so does the copy kept from the round before.
TEST_F(ReplaceOnSmallDiskTest, NoRoomForTheNewFileKeepsTheInstalledOne) {
  WriteFile(path_, "installed\n", 0640);
  WriteFile(path_ + kPreviousSuffix, "older\n", 0600);
  ASSERT_TRUE(fs_.Fill("filler", 4096));

  auto replaced = ReplaceKeepingPrevious(path_, std::string(3 * 4096, 'n'), Mine(0644));
  ASSERT_FALSE(replaced);
  ExpectNoSpace(replaced.error());
  EXPECT_EQ(replaced.error().detail.find("write " + path_ + " (its temporary "), 0u) << replaced.error().detail;
  EXPECT_EQ(ReadFile(path_), "installed\n");
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(ReadFile(path_ + kPreviousSuffix), "older\n");
  ASSERT_EQ(stat((path_ + kPreviousSuffix).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"filler", "keys", "keys.previous"}));
}

// The same for a file replaced for the first time: no copy is left.
TEST_F(ReplaceOnSmallDiskTest, NoRoomForTheNewFileLeavesNoFirstCopy) {
  WriteFile(path_, "installed\n", 0640);
  ASSERT_TRUE(fs_.Fill("filler", 4096));

  auto replaced = ReplaceKeepingPrevious(path_, std::string(3 * 4096, 'n'), Mine(0644));
  ASSERT_FALSE(replaced);
  ExpectNoSpace(replaced.error());
  EXPECT_EQ(ReadFile(path_), "installed\n");
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"filler", "keys"}));
}

// A file created on a full disk is not there at all, nor its copy.
TEST_F(ReplaceOnSmallDiskTest, NoRoomForANewFileCreatesNothing) {
  ASSERT_TRUE(fs_.Fill());
  auto replaced = ReplaceKeepingPrevious(path_, "new\n", Mine(0644));
  ASSERT_FALSE(replaced);
  ExpectNoSpace(replaced.error());
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"filler"}));
}

// Putting back the old contents fails on a full disk: the file keeps what
// it has, whole.
TEST_F(ReplaceOnSmallDiskTest, RestoreWithoutRoomKeepsTheCurrentFile) {
  WriteFile(path_, std::string(2 * 4096, 'o'), 0644);
  auto replaced = ReplaceKeepingPrevious(path_, "new\n", Mine(0644));
  ASSERT_TRUE(replaced) << replaced.error().detail;
  ASSERT_TRUE(fs_.Fill());

  core::Status restored = RestoreFile(replaced->file);
  ASSERT_FALSE(restored);
  ExpectNoSpace(restored.error());
  EXPECT_EQ(ReadFile(path_), "new\n");
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"filler", "keys", "keys.previous"}));
}

// On a read-only disk nothing can be replaced, restored or removed; every
// file stays and each failure says why.
TEST_F(ReplaceOnSmallDiskTest, ReadOnlyDiskChangesNothing) {
  WriteFile(path_, "installed\n");
  WriteFile(path_ + kPreviousSuffix, "older\n");
  ASSERT_TRUE(fs_.MakeReadOnly());
  auto expect_read_only = [](const core::Error& error) {
    EXPECT_EQ(error.code, core::Errc::kIo);
    EXPECT_NE(error.detail.find(std::strerror(EROFS)), std::string::npos) << error.detail;
  };
  auto replaced = ReplaceKeepingPrevious(path_, "new\n", Mine(0644));
  ASSERT_FALSE(replaced);
  expect_read_only(replaced.error());
  core::Status restored = RestoreFile(FileBackup{path_, "restored\n", Mine(0644)});
  ASSERT_FALSE(restored);
  expect_read_only(restored.error());
  core::Status removed = RemoveFileDurably(path_);
  ASSERT_FALSE(removed);
  expect_read_only(removed.error());
  EXPECT_NE(removed.error().detail.find("remove " + path_), std::string::npos) << removed.error().detail;
  EXPECT_EQ(ReadFile(path_), "installed\n");
  EXPECT_EQ(ReadFile(path_ + kPreviousSuffix), "older\n");
}

}  // namespace
}  // namespace certgate::cafetch
