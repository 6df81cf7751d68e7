#include "cafetch/candidates.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::ReadFile;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  closedir(d);
  return names;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

class CandidatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.Path("state");
    candidates_ = state_ + "/" + kCandidatesDirName;
    // Something a symlink could lead the removal to.
    ASSERT_EQ(mkdir(dir_.Path("outside").c_str(), 0755), 0);
    WriteFile(dir_.Path("outside/keep"), "precious\n");
    ASSERT_EQ(mkdir(dir_.Path("outside/sshd_config.d").c_str(), 0755), 0);
    WriteFile(dir_.Path("outside/sshd_config.d/keep.conf"), "precious too\n");
  }

  void MakeCandidates() {
    ASSERT_EQ(mkdir(state_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(candidates_.c_str(), 0700), 0);
  }

  // Leftover makes what a round killed during its check leaves: the
  // candidate main file, a temporary file of an unfinished write, and the
  // drop-in copies with one half-written.
  void Leftover(const std::string& name) {
    const std::string d = candidates_ + "/" + name;
    ASSERT_EQ(mkdir(d.c_str(), 0700), 0);
    WriteFile(d + "/sshd_config", "Include " + d + "/sshd_config.d/*.conf\n", 0600);
    WriteFile(d + "/.sshd_config.certgate-0123456789abcdef", "half", 0600);
    ASSERT_EQ(mkdir((d + "/sshd_config.d").c_str(), 0700), 0);
    WriteFile(d + "/sshd_config.d/05-certgate.conf", "TrustedUserCAKeys /x\n", 0600);
    WriteFile(d + "/sshd_config.d/50-admin.conf", "PasswordAuthentication no\n", 0600);
    WriteFile(d + "/sshd_config.d/.05-certgate.conf.certgate-fedcba9876543210", "", 0600);
  }

  void ExpectOutsideIntact() {
    EXPECT_EQ(Entries(dir_.Path("outside")), (std::set<std::string>{"keep", "sshd_config.d"}));
    EXPECT_EQ(ReadFile(dir_.Path("outside/keep")), "precious\n");
    EXPECT_EQ(ReadFile(dir_.Path("outside/sshd_config.d/keep.conf")), "precious too\n");
  }

  TempDir dir_;
  std::string state_, candidates_;
};

TEST(CandidateNameTest, OnlyWhatMkdtempMakes) {
  EXPECT_TRUE(IsCandidateName("cafetch-candidate-aZ09xY"));
  EXPECT_FALSE(IsCandidateName("cafetch-candidate-aZ09x"));
  EXPECT_FALSE(IsCandidateName("cafetch-candidate-aZ09xYz"));
  EXPECT_FALSE(IsCandidateName("cafetch-candidate-aZ0.xY"));
  EXPECT_FALSE(IsCandidateName("cafetch-candidate-../..."));
  EXPECT_FALSE(IsCandidateName("xafetch-candidate-aZ09xY"));
  EXPECT_FALSE(IsCandidateName(""));
}

TEST_F(CandidatesTest, CreateMakesAPrivateDirectoryInStateDirAndRemovesIt) {
  {
    auto made = CandidateDir::Create(state_);
    ASSERT_TRUE(made) << made.error().detail;
    CandidateDir& dir = **made;
    const std::string prefix = candidates_ + "/";
    ASSERT_EQ(dir.path().rfind(prefix, 0), 0u) << dir.path();
    EXPECT_TRUE(IsCandidateName(dir.path().substr(prefix.size()))) << dir.path();
    EXPECT_EQ(ModeOf(candidates_), 0700u);
    EXPECT_EQ(ModeOf(dir.path()), 0700u);
    ASSERT_TRUE(dir.Write("sshd_config", "Port 22\n"));
    ASSERT_TRUE(dir.MakeSubdirectory(kCandidateDropInDir));
    ASSERT_TRUE(dir.Write(std::string(kCandidateDropInDir) + "/05-certgate.conf", "x\n"));
    EXPECT_EQ(ReadFile(dir.path() + "/sshd_config"), "Port 22\n");
    EXPECT_EQ(ModeOf(dir.path() + "/sshd_config"), 0600u);

    // In use (a --dry-run without the state_dir lock): a round's cleanup
    // leaves it alone.
    StaleCandidates stale = RemoveStaleCandidates(state_);
    EXPECT_TRUE(stale.removed.empty());
    EXPECT_TRUE(stale.problems.empty()) << stale.problems[0];
    EXPECT_TRUE(Exists(dir.path() + "/sshd_config.d/05-certgate.conf"));
  }
  EXPECT_EQ(Entries(candidates_), std::set<std::string>{});
}

TEST_F(CandidatesTest, LeftoversAreRemovedAndNoSymlinkIsFollowed) {
  MakeCandidates();
  Leftover("cafetch-candidate-AbC123");
  ASSERT_EQ(mkdir((candidates_ + "/cafetch-candidate-zzzzzz").c_str(), 0700), 0);  // empty
  // Planted symlinks: a candidate name leading out of the directory, and
  // a candidate's files and drop-in directory leading out.
  ASSERT_EQ(symlink(dir_.Path("outside").c_str(), (candidates_ + "/cafetch-candidate-link01").c_str()), 0);
  const std::string inner = candidates_ + "/cafetch-candidate-inner1";
  ASSERT_EQ(mkdir(inner.c_str(), 0700), 0);
  ASSERT_EQ(symlink(dir_.Path("outside/keep").c_str(), (inner + "/sshd_config").c_str()), 0);
  ASSERT_EQ(symlink(dir_.Path("outside/sshd_config.d").c_str(), (inner + "/sshd_config.d").c_str()), 0);
  // Not named like a candidate: not ours to remove.
  WriteFile(candidates_ + "/notes", "admin's\n");
  ASSERT_EQ(mkdir((candidates_ + "/cafetch-candidate-toolong").c_str(), 0700), 0);

  StaleCandidates stale = RemoveStaleCandidates(state_);
  EXPECT_EQ(stale.removed, (std::vector<std::string>{"cafetch-candidate-AbC123", "cafetch-candidate-inner1",
                                                     "cafetch-candidate-link01",
                                                     "cafetch-candidate-zzzzzz"}));
  EXPECT_TRUE(stale.problems.empty()) << stale.problems[0];
  EXPECT_EQ(Entries(candidates_), (std::set<std::string>{"cafetch-candidate-toolong", "notes"}));
  ExpectOutsideIntact();

  StaleCandidates again = RemoveStaleCandidates(state_);
  EXPECT_TRUE(again.removed.empty());
  EXPECT_TRUE(again.problems.empty());
}

TEST_F(CandidatesTest, DirectoriesCafetchDoesNotMakeAreLeftAndReported) {
  MakeCandidates();
  const std::string d = candidates_ + "/cafetch-candidate-deep01";
  Leftover("cafetch-candidate-deep01");
  ASSERT_EQ(mkdir((d + "/sshd_config.d/deeper").c_str(), 0700), 0);
  WriteFile(d + "/sshd_config.d/deeper/file", "deep\n");
  ASSERT_EQ(mkdir((d + "/other").c_str(), 0700), 0);

  StaleCandidates stale = RemoveStaleCandidates(state_);
  EXPECT_TRUE(stale.removed.empty());
  ASSERT_EQ(stale.problems.size(), 2u);
  EXPECT_NE(stale.problems[0].find(d + "/other is a directory cafetch does not make"), std::string::npos)
      << stale.problems[0];
  EXPECT_NE(stale.problems[1].find(d + "/sshd_config.d/deeper is a directory"), std::string::npos)
      << stale.problems[1];
  EXPECT_EQ(ReadFile(d + "/sshd_config.d/deeper/file"), "deep\n");
}

TEST_F(CandidatesTest, ACandidatesDirectoryThatIsASymlinkIsNeitherUsedNorCleaned) {
  ASSERT_EQ(mkdir(state_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir_.Path("outside/cafetch-candidate-AAAAAA").c_str(), 0700), 0);
  ASSERT_EQ(symlink(dir_.Path("outside").c_str(), candidates_.c_str()), 0);
  StaleCandidates stale = RemoveStaleCandidates(state_);
  EXPECT_TRUE(stale.removed.empty());
  ASSERT_EQ(stale.problems.size(), 1u);
  EXPECT_NE(stale.problems[0].find("open " + candidates_), std::string::npos) << stale.problems[0];
  EXPECT_TRUE(Exists(dir_.Path("outside/cafetch-candidate-AAAAAA")));
  auto made = CandidateDir::Create(state_);
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().detail.find(candidates_), std::string::npos) << made.error().detail;
  EXPECT_EQ(Entries(dir_.Path("outside")),
            (std::set<std::string>{"cafetch-candidate-AAAAAA", "keep", "sshd_config.d"}));
}

TEST_F(CandidatesTest, AGroupWritableCandidatesDirectoryIsRefused) {
  MakeCandidates();
  Leftover("cafetch-candidate-AbC123");
  ASSERT_EQ(chmod(candidates_.c_str(), 0770), 0);
  StaleCandidates stale = RemoveStaleCandidates(state_);
  EXPECT_TRUE(stale.removed.empty());
  ASSERT_EQ(stale.problems.size(), 1u);
  EXPECT_NE(stale.problems[0].find("writable by group or others"), std::string::npos);
  EXPECT_TRUE(Exists(candidates_ + "/cafetch-candidate-AbC123/sshd_config"));
  EXPECT_FALSE(CandidateDir::Create(state_));
}

TEST_F(CandidatesTest, EntriesOfAnotherOwnerAreLeftAlone) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  MakeCandidates();
  Leftover("cafetch-candidate-theirs");
  Leftover("cafetch-candidate-mixed1");
  const std::string theirs = candidates_ + "/cafetch-candidate-theirs";
  const std::string mixed = candidates_ + "/cafetch-candidate-mixed1";
  ASSERT_EQ(chown(theirs.c_str(), 12345, 12345), 0);
  ASSERT_EQ(lchown((mixed + "/sshd_config").c_str(), 12345, 12345), 0);
  StaleCandidates stale = RemoveStaleCandidates(state_);
  EXPECT_TRUE(stale.removed.empty());
  ASSERT_EQ(stale.problems.size(), 2u);
  EXPECT_NE(stale.problems[0].find(mixed + "/sshd_config is owned by uid 12345"), std::string::npos)
      << stale.problems[0];
  EXPECT_NE(stale.problems[1].find(theirs + " is owned by uid 12345"), std::string::npos)
      << stale.problems[1];
  EXPECT_TRUE(Exists(theirs + "/sshd_config.d/05-certgate.conf"));
  EXPECT_TRUE(Exists(mixed + "/sshd_config"));
}

TEST_F(CandidatesTest, NoStateDirectoryIsNothingToDo) {
  StaleCandidates stale = RemoveStaleCandidates(state_);
  EXPECT_TRUE(stale.removed.empty());
  EXPECT_TRUE(stale.problems.empty());
  EXPECT_FALSE(Exists(state_));
}

}  // namespace
}  // namespace certgate::cafetch
