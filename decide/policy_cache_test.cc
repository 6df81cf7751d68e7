#include "decide/policy_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "core/policy_snapshot.h"
#include "tests/testing.h"

namespace certgate::decide {
namespace {

using certgate::testing::ReadFile;
using certgate::testing::TempDir;
using certgate::testing::WriteFile;

std::string PolicyText(const std::string& rule_user) {
  return "version: 1\n"
         "authorities:\n"
         "  prod:\n"
         "    keys: [\"SHA256:Kc0JkQ3p0v8u4l9J2m7jW0bqQd0s0eQ0mP0m1b2c3d4\"]\n"
         "rules:\n"
         "  - users: [" + rule_user + "]\n"
         "    authorities: [prod]\n"
         "    principals: [ops]\n";
}

core::LoadOptions Options() {
  core::LoadOptions o;
  o.owner_uid = static_cast<unsigned>(getuid());
  o.trusted_root = testing::TempRoot();
  return o;
}

// Issues renders a result's issues (a LoadedPolicy's or a LoadResult's), to
// compare with a fresh LoadPolicy.
template <typename Loaded>
std::string Issues(const Loaded& r) {
  std::string out;
  for (const auto& i : r.issues) out += i.ToString() + "\n";
  return out;
}

class PolicyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chmod(dir_.path().c_str(), 0755);
    path_ = dir_.Path("policy.yaml");
    WriteFile(path_, PolicyText("alice"));
  }
  // Never racy: these tests change files within the same second on purpose
  // and must see each change through the stamps alone.
  PolicyCache Cache() { return PolicyCache(path_, Options(), /*racy_seconds=*/-1000); }
  // CompileSnapshot writes the policy's snapshot into |dir| (made 0755, as
  // a snapshot's directory must be) and sets |*snapshot| to its path.
  bool CompileSnapshot(const TempDir& dir, std::string* snapshot) {
    chmod(dir.path().c_str(), 0755);
    *snapshot = dir.Path("policy.snapshot");
    return static_cast<bool>(core::WriteSnapshot(path_, *snapshot, Options(), -1));
  }
  std::string FirstUser(const PolicyCache& c) {
    return c.current().policy ? std::string(c.current().policy->rule(0).users()[0]) : "";
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(PolicyCacheTest, LoadsOnceWhileNothingChanges) {
  PolicyCache c = Cache();
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  ASSERT_TRUE(c.current().policy) << Issues(c.current());
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);
  EXPECT_EQ(c.loads(), 1u);
  EXPECT_EQ(&c.Get(path_, Options()), &c.current());
}

TEST_F(PolicyCacheTest, EditInPlaceSameSizeReloads) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  int fd = open(path_.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  std::string text = PolicyText("bobby");  // same size as alice
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  // Same size, and maybe the same mtime tick: ctime/mtime in ns still move
  // on any write on Linux file systems with ns timestamps.
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_EQ(FirstUser(c), "bobby");
}

TEST_F(PolicyCacheTest, ReplaceByRenameReloads) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  WriteFile(dir_.Path("new.yaml.tmp"), PolicyText("carol"));
  ASSERT_EQ(rename(dir_.Path("new.yaml.tmp").c_str(), path_.c_str()), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_EQ(FirstUser(c), "carol");
}

// A directory above the policy made unsafe (or safe again) moves no stamp
// of the policy's files: the cache sees it anyway, as a helper would.
TEST_F(PolicyCacheTest, AnUnsafeDirectoryAboveThePolicyIsSeen) {
  ASSERT_EQ(mkdir(dir_.Path("etc").c_str(), 0755), 0);
  const std::string path = dir_.Path("etc/policy.yaml");
  WriteFile(path, PolicyText("alice"));
  PolicyCache c(path, Options(), /*racy_seconds=*/-1000);
  ASSERT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  ASSERT_TRUE(c.current().policy) << Issues(c.current());
  ASSERT_EQ(chmod(dir_.path().c_str(), 0775), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_FALSE(c.current().policy);
  EXPECT_EQ(Issues(c.current()), dir_.path() + ":1:1: unsafe permissions: writable by group or others; run chmod go-w " +
                                     dir_.path() + "\n");
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);  // still unsafe, still denied
  EXPECT_FALSE(c.current().policy);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_TRUE(c.current().policy) << Issues(c.current());
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);
}

// A worker re-validates inside the request's run (under its --timeout): the change is seen at the first Get, not before, and once.
TEST_F(PolicyCacheTest, RefreshAtNextGetRevalidatesAtTheGet) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  WriteFile(dir_.Path("new.yaml.tmp"), PolicyText("carol"));
  ASSERT_EQ(rename(dir_.Path("new.yaml.tmp").c_str(), path_.c_str()), 0);
  c.RefreshAtNextGet();
  EXPECT_EQ(c.loads(), 1u);
  const core::LoadedPolicy& got = c.Get(path_, Options());
  EXPECT_EQ(&got, &c.current());
  EXPECT_EQ(FirstUser(c), "carol");
  EXPECT_EQ(c.loads(), 2u);
  (void)c.Get(path_, Options());
  EXPECT_EQ(c.loads(), 2u);
}

// A fragment directory over the loader's cap is stamped by its count, not
// entry by entry (the loader reads none of them); adding one still reloads.
TEST_F(PolicyCacheTest, TooManyFragmentsAreOneStamp) {
  ASSERT_EQ(mkdir((path_ + ".d").c_str(), 0755), 0);
  for (size_t i = 0; i <= core::kMaxPolicyFragments; ++i) {
    WriteFile(path_ + ".d/" + std::to_string(100000 + i) + ".yaml", "version: 1\n");
  }
  std::vector<core::FileStamp> stamps = core::TakeStamps(path_);
  ASSERT_EQ(stamps.size(), 4u);
  EXPECT_EQ(stamps.back().path, path_ + ".d/");
  EXPECT_EQ(stamps.back().size, static_cast<off_t>(core::kMaxPolicyFragments + 1));
  PolicyCache c = Cache();
  (void)c.Refresh();
  EXPECT_FALSE(c.current().policy);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);
  WriteFile(path_ + ".d/x.yaml", "version: 1\n");
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
}

TEST_F(PolicyCacheTest, TouchReloads) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  struct timespec times[2] = {{0, UTIME_OMIT}, {12345, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_EQ(c.loads(), 2u);
}

TEST_F(PolicyCacheTest, ChmodGroupWritableGivesTheLoadersError) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  ASSERT_TRUE(c.current().policy);
  ASSERT_EQ(chmod(path_.c_str(), 0664), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_FALSE(c.current().policy);
  EXPECT_EQ(Issues(c.current()), Issues(core::LoadPolicy(path_, Options())));
  EXPECT_NE(Issues(c.current()).find("writable by group or others"), std::string::npos);
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_TRUE(c.current().policy);
}

TEST_F(PolicyCacheTest, InvalidEditGivesTheLoadersError) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  WriteFile(path_, PolicyText("alice") + "rulez: []\n");
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  ASSERT_FALSE(c.current().policy);
  EXPECT_EQ(Issues(c.current()), Issues(core::LoadPolicy(path_, Options())));
  EXPECT_NE(Issues(c.current()).find(path_ + ":9:"), std::string::npos) << Issues(c.current());
}

TEST_F(PolicyCacheTest, FragmentAddedChangedRemovedReloads) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  const std::string frag_dir = path_ + ".d";
  ASSERT_EQ(mkdir(frag_dir.c_str(), 0755), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);  // the directory appeared
  const std::string frag = frag_dir + "/10-more.yaml";
  WriteFile(frag, "version: 1\nrules:\n  - users: [dave]\n    authorities: [prod]\n    principals: [ops]\n");
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  ASSERT_TRUE(c.current().policy) << Issues(c.current());
  EXPECT_EQ(c.current().policy->rule_count(), 2u);
  ASSERT_EQ(chmod(frag.c_str(), 0666), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_FALSE(c.current().policy);
  ASSERT_EQ(unlink(frag.c_str()), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  ASSERT_TRUE(c.current().policy);
  EXPECT_EQ(c.current().policy->rule_count(), 1u);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);
  rmdir(frag_dir.c_str());
}

TEST_F(PolicyCacheTest, DirectoryModeChangeReloads) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  ASSERT_EQ(chmod(dir_.path().c_str(), 0775), 0);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_FALSE(c.current().policy);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
}

TEST_F(PolicyCacheTest, RecentFilesAreRacyAndReloadedEachTime) {
  PolicyCache c(path_, Options());  // the real window: the file is seconds old
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kRacyReload);
  EXPECT_EQ(c.loads(), 2u);
}

// A timestamp well ahead of the clock (touch -d '+1 hour', a clock set
// back) cannot be repeated by a later change, which gets the time now: the
// load is not racy, and the policy is not read again at every request.
TEST_F(PolicyCacheTest, ATimestampAheadOfTheClockIsNotRacy) {
  const int64_t now = core::RealtimeNs();
  struct timespec ahead[2] = {{static_cast<time_t>(now / 1000000000 + 3600), 0},
                              {static_cast<time_t>(now / 1000000000 + 3600), 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path_.c_str(), ahead, 0), 0);
  // The ctime of that change is now: wait until it is out of the window.
  const int64_t wait = core::RacyWindowNs(core::TakeStamps(path_)) + 100'000'000;
  struct timespec ts {static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
  while (nanosleep(&ts, &ts) != 0) {
  }
  PolicyCache c(path_, Options());  // the real window
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);
  EXPECT_EQ(c.loads(), 1u);
  EXPECT_EQ(c.ahead_path(), path_);
  EXPECT_GT(c.ahead_ns(), int64_t{3500} * 1000000000);
  // A change is seen as ever.
  WriteFile(path_, PolicyText("bob"));
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_EQ(FirstUser(c), "bob");
  EXPECT_EQ(c.ahead_path(), "");
}

// With a snapshot (principals-cmd --compile), a load reads it while it is
// current and reads the YAML otherwise: the same policy either way.
TEST_F(PolicyCacheTest, LoadsFromTheSnapshotWhileItIsCurrent) {
  TempDir cache_dir;
  std::string snapshot;
  ASSERT_TRUE(CompileSnapshot(cache_dir, &snapshot));
  PolicyCache c = Cache();
  c.UseSnapshot(snapshot);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_TRUE(c.from_snapshot());
  EXPECT_EQ(FirstUser(c), "alice");
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);
  // An edit: the snapshot is stale, the YAML decides.
  WriteFile(path_, PolicyText("bob"));
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_FALSE(c.from_snapshot());
  EXPECT_EQ(FirstUser(c), "bob");
  // Compiled again: nothing the cache stamps changed, it keeps its policy;
  // the next change that reloads finds the snapshot current again.
  ASSERT_TRUE(core::WriteSnapshot(path_, snapshot, Options(), -1));
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kCurrent);
  chmod(path_.c_str(), 0640);
  ASSERT_TRUE(core::WriteSnapshot(path_, snapshot, Options(), -1));
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_TRUE(c.from_snapshot());
  EXPECT_EQ(FirstUser(c), "bob");
  EXPECT_EQ(c.snapshot_not_used(), "");
  // No snapshot (or none configured): the YAML, and nothing to say.
  unlink(snapshot.c_str());
  WriteFile(path_, PolicyText("carol"));
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_FALSE(c.from_snapshot());
  EXPECT_EQ(c.snapshot_not_used(), "");
  EXPECT_EQ(FirstUser(c), "carol");
}

// The service keeps its own copy of the snapshot it loaded: root writing
// over the file in place, or truncating it, reaches no decision (and
// faults nothing); the next reload finds it damaged and reads the YAML.
TEST_F(PolicyCacheTest, ASnapshotWrittenOverInPlaceLeavesTheLoadedPolicy) {
  TempDir cache_dir;
  std::string snapshot;
  ASSERT_TRUE(CompileSnapshot(cache_dir, &snapshot));
  PolicyCache c = Cache();
  c.UseSnapshot(snapshot);
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  ASSERT_TRUE(c.from_snapshot());
  std::string bytes = ReadFile(snapshot);
  for (char& ch : bytes) ch = static_cast<char>(ch ^ 0x5a);
  WriteFile(snapshot, bytes);
  EXPECT_EQ(FirstUser(c), "alice");
  ASSERT_EQ(truncate(snapshot.c_str(), 0), 0);
  EXPECT_EQ(FirstUser(c), "alice");
  chmod(path_.c_str(), 0640);  // a change: reload
  EXPECT_EQ(c.Refresh(), PolicyCache::RefreshResult::kReloaded);
  EXPECT_FALSE(c.from_snapshot());
  EXPECT_EQ(FirstUser(c), "alice");
  // Why, for the service's log.
  EXPECT_EQ(c.snapshot_not_used(), "policy snapshot not used, reading " + path_ + ": " + snapshot +
                                       " has an impossible size (0 bytes); run principals-cmd --compile (or enable "
                                       "certgate-compile.path)");
}

TEST_F(PolicyCacheTest, OtherPathsAreLoadedFresh) {
  PolicyCache c = Cache();
  (void)c.Refresh();
  const std::string other = dir_.Path("other.yaml");
  WriteFile(other, PolicyText("erin"));
  const core::LoadedPolicy& r = c.Get(other, Options());
  ASSERT_TRUE(r.policy);
  EXPECT_EQ(r.policy->rule(0).users()[0], "erin");
  EXPECT_EQ(FirstUser(c), "alice");
  core::LoadOptions unchecked = Options();
  unchecked.check_permissions = false;
  EXPECT_NE(&c.Get(path_, unchecked), &c.current());
}

}  // namespace
}  // namespace certgate::decide
