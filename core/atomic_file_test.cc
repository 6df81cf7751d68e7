#include "core/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::core {
namespace {

using ::certgate::testing::DirectoryEntries;
using ::certgate::testing::ReadFile;
using ::certgate::testing::SmallFileSystem;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

using Names = std::vector<std::string>;

FileMode Mine(mode_t mode) { return FileMode{getuid(), getgid(), mode}; }

ino_t Inode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

// What a full or read-only disk does to a replacement: the old file stays
// as it was (the same inode, the same bytes), no temporary file is left,
// and the error names the file and the reason.
class AtomicFileOnSmallDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs_.mounted()) GTEST_SKIP() << fs_.why_not();
  }

  SmallFileSystem fs_;
};

TEST_F(AtomicFileOnSmallDiskTest, FullDiskKeepsTheOldFile) {
  const std::string path = fs_.Path("keys");
  const std::string old = "ssh-ed25519 AAAA old\n";
  ASSERT_TRUE(WriteFileAtomically(path, old, Mine(0640)));
  const ino_t inode = Inode(path);
  ASSERT_TRUE(fs_.Fill());

  Status st = WriteFileAtomically(path, std::string(3 * 4096, 'n'), Mine(0644));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kIo);
  // The message names the file being replaced, not the removed temporary.
  EXPECT_EQ(st.error().detail.find("write " + path + " (its temporary .keys.certgate-"), 0u) << st.error().detail;
  EXPECT_NE(st.error().detail.find("; " + path + " is unchanged"), std::string::npos) << st.error().detail;
  EXPECT_NE(st.error().detail.find(std::strerror(ENOSPC)), std::string::npos) << st.error().detail;
  EXPECT_EQ(ReadFile(path), old);
  EXPECT_EQ(Inode(path), inode);
  struct stat s {};
  ASSERT_EQ(stat(path.c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0640u);
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"filler", "keys"}));
}

// Short writes until the disk is full: the part that fitted is removed too.
TEST_F(AtomicFileOnSmallDiskTest, DiskFullHalfwayLeavesNoPartOfTheNewFile) {
  const std::string path = fs_.Path("keys");
  WriteFile(path, "old\n");
  ASSERT_TRUE(fs_.Fill("filler", 4096));

  Status st = WriteFileAtomically(path, std::string(4096 + 100, 'n'), Mine(0644));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kIo);
  EXPECT_NE(st.error().detail.find(std::strerror(ENOSPC)), std::string::npos) << st.error().detail;
  EXPECT_EQ(ReadFile(path), "old\n");
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"filler", "keys"}));
  // The space the temporary file took is free again: what fits is written.
  EXPECT_TRUE(WriteFileAtomically(path, std::string(4096, 'n'), Mine(0644)));
  EXPECT_EQ(ReadFile(path), std::string(4096, 'n'));
}

TEST_F(AtomicFileOnSmallDiskTest, FullDiskCreatesNoFile) {
  ASSERT_TRUE(fs_.Fill());
  Status st = WriteFileAtomically(fs_.Path("keys"), "new\n", Mine(0644));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kIo);
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"filler"}));
}

TEST_F(AtomicFileOnSmallDiskTest, ReadOnlyDiskKeepsTheOldFile) {
  const std::string path = fs_.Path("keys");
  WriteFile(path, "old\n");
  ASSERT_TRUE(fs_.MakeReadOnly());
  Status st = WriteFileAtomically(path, "new\n", Mine(0644));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kIo);
  EXPECT_EQ(st.error().detail.find("create " + path + " (its temporary .keys.certgate-"), 0u) << st.error().detail;
  EXPECT_NE(st.error().detail.find(std::strerror(EROFS)), std::string::npos) << st.error().detail;
  EXPECT_EQ(ReadFile(path), "old\n");
  EXPECT_EQ(DirectoryEntries(fs_.path()), (Names{"keys"}));
}

// A temporary file it may not remove is an error, not a count.
TEST_F(AtomicFileOnSmallDiskTest, StaleTemporaryThatCannotBeRemovedIsAnError) {
  const std::string path = fs_.Path("keys");
  const std::string stale = fs_.Path(".keys.certgate-0123456789abcdef");
  WriteFile(stale, "half");
  ASSERT_TRUE(fs_.MakeReadOnly());
  Result<size_t> removed = RemoveStaleTemporaries(path);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, Errc::kIo);
  EXPECT_NE(removed.error().detail.find("remove " + stale), std::string::npos) << removed.error().detail;
  EXPECT_EQ(ReadFile(stale), "half");
}

// The rename is what fails: the error names the path, and the temporary
// file is removed.
TEST(AtomicFileTest, RenameFailureNamesThePathAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.Path("keys");
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
  WriteFile(dir.Path("keys/inside"), "x");
  Status st = WriteFileAtomically(path, "new\n", Mine(0644));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kIo);
  EXPECT_EQ(st.error().detail.find("rename over " + path + " (its temporary .keys.certgate-"), 0u)
      << st.error().detail;
  EXPECT_NE(st.error().detail.find(std::string("): ") + std::strerror(EISDIR) + "; " + path + " is unchanged"),
            std::string::npos)
      << st.error().detail;
  EXPECT_EQ(DirectoryEntries(dir.path()), (Names{"keys"}));
  EXPECT_EQ(ReadFile(dir.Path("keys/inside")), "x");
}

TEST(AtomicFileTest, MissingDirectoryNamesIt) {
  TempDir dir;
  Status st = WriteFileAtomically(dir.Path("missing/keys"), "new\n", Mine(0644));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::kIo);
  EXPECT_NE(st.error().detail.find(dir.Path("missing") + ": " + std::strerror(ENOENT)), std::string::npos)
      << st.error().detail;
}

// Only regular files are stale temporaries: a symbolic link by that name
// is neither followed nor removed (nor is what it points to), and neither
// is a directory.
TEST(AtomicFileTest, StaleTemporaryCleanupSkipsLinksAndDirectories) {
  TempDir dir;
  const std::string path = dir.Path("keys");
  WriteFile(path, "current\n");
  WriteFile(dir.Path("target"), "not a temporary\n");
  const std::string link = dir.Path(".keys.certgate-0123456789abcdef");
  ASSERT_EQ(symlink(dir.Path("target").c_str(), link.c_str()), 0);
  const std::string dangling = dir.Path(".keys.certgate-1111111111111111");
  ASSERT_EQ(symlink(dir.Path("nothing").c_str(), dangling.c_str()), 0);
  const std::string subdir = dir.Path(".keys.certgate-2222222222222222");
  ASSERT_EQ(mkdir(subdir.c_str(), 0755), 0);
  WriteFile(dir.Path(".keys.certgate-3333333333333333"), "half");

  Result<size_t> removed = RemoveStaleTemporaries(path);
  ASSERT_TRUE(removed) << removed.error().detail;
  EXPECT_EQ(*removed, 1u);
  EXPECT_EQ(DirectoryEntries(dir.path()),
            (Names{".keys.certgate-0123456789abcdef", ".keys.certgate-1111111111111111",
                   ".keys.certgate-2222222222222222", "keys", "target"}));
  EXPECT_EQ(ReadFile(dir.Path("target")), "not a temporary\n");
  EXPECT_EQ(ReadFile(path), "current\n");
}

TEST(AtomicFileTest, StaleTemporaryCleanupOfAnUnreadableDirectoryIsAnError) {
  TempDir dir;
  WriteFile(dir.Path("file"), "x");
  Result<size_t> removed = RemoveStaleTemporaries(dir.Path("file/keys"));
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, Errc::kIo);
  EXPECT_NE(removed.error().detail.find(dir.Path("file") + ": " + std::strerror(ENOTDIR)), std::string::npos)
      << removed.error().detail;
}

TEST(AtomicFileTest, ParentDirectory) {
  EXPECT_EQ(ParentDirectory("keys"), ".");
  EXPECT_EQ(ParentDirectory("/keys"), "/");
  EXPECT_EQ(ParentDirectory("/etc/ssh/keys"), "/etc/ssh");
  EXPECT_EQ(ParentDirectory("etc/keys"), "etc");
}

}  // namespace
}  // namespace certgate::core
