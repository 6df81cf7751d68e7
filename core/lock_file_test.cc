#include "core/lock_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/testing.h"

namespace certgate::core {
namespace {

using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

std::string Owner() { return geteuid() == 0 ? "root:root" : std::to_string(geteuid()); }

TEST(LockFileTest, CreatesItPrivateAndLeavesItUnlocked) {
  TempDir dir;
  const std::string path = dir.Path("x.lock");
  Result<UniqueFd> fd = OpenPrivateLockFile(path, "stop x");
  ASSERT_TRUE(fd) << fd.error().detail;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  UniqueFd other(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(flock(other.get(), LOCK_EX | LOCK_NB), 0);  // opening does not lock
  EXPECT_TRUE(OpenPrivateLockFile(path, "stop x"));     // and an existing one is fine
}

// Whatever another user could open is refused, saying what is wrong, what
// that user could do, and how to fix it.
TEST(LockFileTest, RefusesWhatAnotherUserCouldOpen) {
  TempDir dir;
  const std::string path = dir.Path("x.lock");
  WriteFile(path, "", 0640);
  Result<UniqueFd> loose = OpenPrivateLockFile(path, "stop every x");
  ASSERT_FALSE(loose);
  EXPECT_EQ(loose.error().code, Errc::kUnsafePermissions);
  EXPECT_EQ(loose.error().detail, "lock file " + path +
                                      ": mode 0640 lets group or others open it: another user could hold the lock "
                                      "and stop every x; chown " + Owner() + " and chmod 600 it, or remove it");
  ASSERT_EQ(chmod(path.c_str(), 0600), 0);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
    Result<UniqueFd> foreign = OpenPrivateLockFile(path, "stop every x");
    ASSERT_FALSE(foreign);
    EXPECT_NE(foreign.error().detail.find(path + ": owned by uid 65534, not 0: "), std::string::npos)
        << foreign.error().detail;
  }
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  Result<UniqueFd> fifo = OpenPrivateLockFile(path, "stop every x");
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().code, Errc::kUnsafePermissions);
  EXPECT_NE(fifo.error().detail.find(path + ": not a regular file: "), std::string::npos) << fifo.error().detail;
  // A symbolic link is not followed, not even to a file that would do.
  ASSERT_EQ(unlink(path.c_str()), 0);
  WriteFile(dir.Path("target"), "", 0600);
  ASSERT_EQ(symlink(dir.Path("target").c_str(), path.c_str()), 0);
  Result<UniqueFd> link = OpenPrivateLockFile(path, "stop every x");
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, Errc::kIo);
  EXPECT_EQ(link.error().detail.rfind("cannot open lock file " + path + ": ", 0), 0u) << link.error().detail;
}

}  // namespace
}  // namespace certgate::core
