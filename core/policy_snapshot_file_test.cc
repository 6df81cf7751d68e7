// Tests of snapshot files (policy_snapshot_file.cc): WriteSnapshot and
// OpenSnapshot on a policy directory and a snapshot directory, the policy
// stamps that make a snapshot stale, and the helpers' use of snapshots.
// The format itself is policy_snapshot_test.cc's.
#include "core/policy_snapshot.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/helper_args.h"
#include "core/helper_command.h"
#include "core/log.h"
#include "core/policy_stamps.h"
#include "core/unique_fd.h"
#include "tests/testing.h"

// g_after_rename, when set, runs once right after the next successful
// rename() (the interposer below, in place of the C library's): a test
// edits the policy after a snapshot was written and before WriteSnapshot
// looks at the policy files again, as an admin's second edit can.
std::function<void(const char* to)> g_after_rename;

extern "C" int rename(const char* from, const char* to) {
  using Rename = int (*)(const char*, const char*);
  static const Rename real = reinterpret_cast<Rename>(dlsym(RTLD_NEXT, "rename"));
  const int result = real(from, to);
  if (result == 0 && g_after_rename) {
    std::function<void(const char*)> hook = std::move(g_after_rename);
    g_after_rename = nullptr;
    hook(to);
  }
  return result;
}

namespace certgate::core {
namespace {

using certgate::testing::PerUserPolicy;
using certgate::testing::ReadFile;
using certgate::testing::TempDir;
using certgate::testing::TempRoot;
using certgate::testing::WriteFile;

// A policy directory and a snapshot directory as the helpers find them:
// owned by the test's user (root in CI), mode 0755.
class SnapshotFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chmod(dir_.path().c_str(), 0755);
    mkdir(dir_.Path("etc").c_str(), 0755);
    mkdir(dir_.Path("cache").c_str(), 0755);
    policy_ = dir_.Path("etc/policy.yaml");
    snapshot_ = dir_.Path("cache/policy.snapshot");
    options_.owner_uid = static_cast<unsigned>(getuid());
    options_.trusted_root = TempRoot();
    WritePolicy(PerUserPolicy(50));
  }

  // WritePolicy writes the policy with an old mtime (the ctime is now).
  void WritePolicy(const std::string& text) {
    WriteFile(policy_, text);
    struct timespec times[2] = {{1'600'000'000, 0}, {1'600'000'000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, policy_.c_str(), times, 0), 0);
  }

  // Files written just now are racy (kRacySeconds): the tests of other
  // things neither wait nor check it, as PolicyCache's tests do.
  OpenedSnapshot Open(int64_t racy = -1) { return OpenSnapshot(snapshot_, policy_, options_, racy); }
  Result<CompiledSnapshot> Write(int64_t racy = -1) { return WriteSnapshot(policy_, snapshot_, options_, racy); }

  TempDir dir_;
  std::string policy_;
  std::string snapshot_;
  LoadOptions options_;
};

TEST_F(SnapshotFilesTest, WrittenThenUsedUntilAFileChanges) {
  EXPECT_EQ(Open().state, SnapshotState::kAbsent);
  Result<CompiledSnapshot> w = Write();
  ASSERT_TRUE(w) << w.error().detail;
  ASSERT_TRUE(w->issues.empty());
  EXPECT_EQ(w->rules, 50u);
  struct stat st {};
  ASSERT_EQ(stat(snapshot_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(static_cast<size_t>(st.st_size), w->bytes);

  OpenedSnapshot o = Open();
  ASSERT_EQ(o.state, SnapshotState::kUsed) << o.why;
  LoadedPolicy yaml = LoadCompiledPolicy(policy_, options_);
  ASSERT_TRUE(yaml.policy);
  ASSERT_EQ(o.policy->rule_count(), yaml.policy->rule_count());
  EXPECT_EQ(o.policy->rule(49).users().ToVector(), yaml.policy->rule(49).users().ToVector());

  // The same size and an old mtime: the inode and ctime still tell.
  WritePolicy(PerUserPolicy(50));
  o = Open();
  EXPECT_EQ(o.state, SnapshotState::kStale);
  EXPECT_NE(o.why.find("policy.yaml changed since"), std::string::npos) << o.why;

  // A new fragment, even an empty one, is a change too.
  ASSERT_TRUE(Write());
  ASSERT_EQ(Open().state, SnapshotState::kUsed);
  mkdir(dir_.Path("etc/policy.yaml.d").c_str(), 0755);
  o = Open();
  EXPECT_EQ(o.state, SnapshotState::kStale);
  EXPECT_NE(o.why.find("/etc changed since"), std::string::npos) << o.why;  // its directory first
}

// A snapshot opened into the process's own memory (certgate-decide's): the
// file written over in place (cp onto it) or truncated afterwards changes
// nothing it decides, and crashes nothing (a mapping would have read the
// new bytes, unchecked, or raised SIGBUS).
TEST_F(SnapshotFilesTest, AnOpenedSnapshotIsAPrivateCopy) {
  ASSERT_TRUE(Write());
  OpenedSnapshot o = OpenSnapshot(snapshot_, policy_, options_, -1, SnapshotMemory::kOwnCopy);
  ASSERT_EQ(o.state, SnapshotState::kUsed) << o.why;
  const std::vector<std::string> users = o.policy->rule(49).users().ToVector();
  std::string bytes = ReadFile(snapshot_);
  for (char& c : bytes) c = static_cast<char>(c ^ 0x5a);
  WriteFile(snapshot_, bytes);  // in place, same size
  EXPECT_EQ(o.policy->rule(49).users().ToVector(), users);
  ASSERT_EQ(truncate(snapshot_.c_str(), 0), 0);
  EXPECT_EQ(o.policy->rule(49).users().ToVector(), users);
  EXPECT_EQ(o.policy->rule_count(), 50u);
}

// A file damaged in place is refused by its digest; the YAML decides.
TEST_F(SnapshotFilesTest, ADamagedFileIsRefused) {
  ASSERT_TRUE(Write());
  std::string bytes = ReadFile(snapshot_);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
  WriteFile(snapshot_, bytes);
  OpenedSnapshot o = Open();
  EXPECT_EQ(o.state, SnapshotState::kInvalid);
  EXPECT_EQ(o.why, snapshot_ + ": its contents do not match its digest: damaged, or written over in place after "
                               "--compile wrote it");
}

TEST_F(SnapshotFilesTest, NotUsedForAnotherPolicyOrOtherOptions) {
  ASSERT_TRUE(Write());
  EXPECT_EQ(OpenSnapshot(snapshot_, dir_.Path("etc/other.yaml"), options_, -1).state, SnapshotState::kOtherPolicy);
  LoadOptions lax = options_;
  lax.check_permissions = false;
  OpenedSnapshot o = OpenSnapshot(snapshot_, policy_, lax, -1);
  EXPECT_EQ(o.state, SnapshotState::kOtherPolicy);
  EXPECT_NE(o.why.find("other file permission checks"), std::string::npos) << o.why;
  if (getuid() != 0) return;  // giving the files to another owner needs root
  LoadOptions other_owner = options_;
  other_owner.owner_uid = options_.owner_uid + 1;
  ASSERT_EQ(chown(snapshot_.c_str(), other_owner.owner_uid, 0), 0);
  ASSERT_EQ(chown(dir_.Path("cache").c_str(), other_owner.owner_uid, 0), 0);
  o = OpenSnapshot(snapshot_, policy_, other_owner, -1);
  EXPECT_EQ(o.state, SnapshotState::kOtherPolicy) << o.why;
  EXPECT_NE(o.why.find("other file permission checks"), std::string::npos) << o.why;
}

TEST_F(SnapshotFilesTest, UntrustedOwnerOrModeIsNotUsed) {
  ASSERT_TRUE(Write());
  chmod(snapshot_.c_str(), 0664);
  EXPECT_EQ(Open().state, SnapshotState::kUntrusted);
  chmod(snapshot_.c_str(), 0644);
  chmod(dir_.Path("cache").c_str(), 0777);
  OpenedSnapshot o = Open();
  EXPECT_EQ(o.state, SnapshotState::kUntrusted);
  EXPECT_NE(o.why.find("writable by group or others"), std::string::npos) << o.why;
  // The remedy is the mode, not another compile.
  const std::string message = SnapshotNotUsedMessage(policy_, o);
  EXPECT_TRUE(message.ends_with("; make it and every directory above it root's and not writable by group or "
                                "others (then it is used again, no compile needed)"))
      << message;
  chmod(dir_.Path("cache").c_str(), 0755);
  ASSERT_EQ(Open().state, SnapshotState::kUsed);
  LoadOptions other_owner = options_;
  other_owner.owner_uid = options_.owner_uid + 1;
  // Compiled for that owner too, so that only the file's owner differs.
  o = OpenSnapshot(snapshot_, policy_, other_owner, -1);
  EXPECT_NE(o.state, SnapshotState::kUsed);
  EXPECT_NE(o.why.find("owned by uid"), std::string::npos) << o.why;
  // A symbolic link is not followed.
  ASSERT_EQ(symlink(snapshot_.c_str(), dir_.Path("cache/link").c_str()), 0);
  EXPECT_EQ(OpenSnapshot(dir_.Path("cache/link"), policy_, options_, -1).state, SnapshotState::kInvalid);
}

// Every directory above the snapshot and above the policy is checked as
// the YAML loader checks the policy's (options_ trusts only $TMPDIR).
TEST_F(SnapshotFilesTest, NotUsedUnderAnUnsafeOrLinkedDirectory) {
  ASSERT_TRUE(Write());
  ASSERT_EQ(Open().state, SnapshotState::kUsed);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0775), 0);
  OpenedSnapshot o = Open();
  EXPECT_EQ(o.state, SnapshotState::kUntrusted);
  EXPECT_EQ(o.why, dir_.path() + ": unsafe permissions: writable by group or others; run chmod go-w " + dir_.path());
  // --compile says at once that the helpers would not use what it writes.
  Result<CompiledSnapshot> refused = Write();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().detail, "the helpers would not use a snapshot in " + dir_.Path("cache") + ": " +
                                        dir_.path() + ": unsafe permissions: writable by group or others; run chmod go-w " +
                                        dir_.path());
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);

  // Only the policy's directory is unsafe: the snapshot of it is not used.
  ASSERT_EQ(chmod(dir_.Path("etc").c_str(), 0777), 0);
  o = Open();
  EXPECT_EQ(o.state, SnapshotState::kUntrusted);
  EXPECT_EQ(o.why.rfind(dir_.Path("etc") + ": unsafe permissions: writable by group or others", 0), 0u) << o.why;
  ASSERT_EQ(chmod(dir_.Path("etc").c_str(), 0755), 0);
  EXPECT_EQ(Open().state, SnapshotState::kStale);  // a chmod of it is a change

  // The snapshot named through a linked directory.
  ASSERT_EQ(symlink(dir_.Path("cache").c_str(), dir_.Path("cache-link").c_str()), 0);
  o = OpenSnapshot(dir_.Path("cache-link/policy.snapshot"), policy_, options_, -1);
  EXPECT_EQ(o.state, SnapshotState::kUntrusted);
  EXPECT_EQ(o.why.rfind(dir_.Path("cache-link") + ": is a symbolic link to " + dir_.Path("cache"), 0), 0u) << o.why;
}

TEST_F(SnapshotFilesTest, NotAFileOrAnImpossibleSizeIsInvalid) {
  ASSERT_EQ(mkdir(snapshot_.c_str(), 0755), 0);
  OpenedSnapshot o = Open();
  EXPECT_EQ(o.state, SnapshotState::kInvalid);
  EXPECT_NE(o.why.find("is not a regular file"), std::string::npos) << o.why;
  ASSERT_EQ(rmdir(snapshot_.c_str()), 0);
  ASSERT_TRUE(Write());
  ASSERT_EQ(truncate(snapshot_.c_str(), 8), 0);
  o = Open();
  EXPECT_EQ(o.state, SnapshotState::kInvalid);
  EXPECT_NE(o.why.find("has an impossible size (8 bytes)"), std::string::npos) << o.why;
  ASSERT_EQ(truncate(snapshot_.c_str(), 0), 0);
  EXPECT_EQ(Open().state, SnapshotState::kInvalid);
}

TEST_F(SnapshotFilesTest, AnotherVersionOrARacyCompileIsStale) {
  LoadedPolicy yaml = LoadCompiledPolicy(policy_, options_);
  ASSERT_TRUE(yaml.policy);
  SnapshotOrigin origin;
  origin.version = "0.0.1";
  origin.policy_path = policy_;
  origin.owner_uid = options_.owner_uid;
  origin.stamps = TakeStamps(policy_);
  const int64_t newest = NewestChangeNs(origin.stamps);
  const int64_t window = RacyWindowNs(origin.stamps);
  origin.stamped_at_ns = newest + window + 1;
  auto write = [&] {
    const std::vector<uint8_t> bytes = EncodeSnapshot(*yaml.policy, origin);
    WriteFile(snapshot_, std::string(bytes.begin(), bytes.end()));
  };
  write();
  OpenedSnapshot o = Open(kRacySeconds);
  EXPECT_EQ(o.state, SnapshotState::kStale);
  EXPECT_NE(o.why.find("written by certgate 0.0.1"), std::string::npos) << o.why;
  origin.version = CERTGATE_VERSION;
  write();
  ASSERT_EQ(Open(kRacySeconds).state, SnapshotState::kUsed);
  // Stamps taken within the racy window of the newest change: a second
  // change in the same timestamp tick would not show, so it is never used.
  origin.stamped_at_ns = newest + window;
  write();
  o = Open(kRacySeconds);
  EXPECT_EQ(o.state, SnapshotState::kStale);
  EXPECT_NE(o.why.find("compiled too soon after a policy file changed"), std::string::npos) << o.why;
  WriteFile(snapshot_, "not a snapshot, but long enough to hold a header......................................"
                       "......................................................................");
  EXPECT_EQ(Open().state, SnapshotState::kInvalid);
}

TEST_F(SnapshotFilesTest, AnInvalidPolicyWritesNothing) {
  ASSERT_TRUE(Write());
  const std::string before = ReadFile(snapshot_);
  WritePolicy("version: 1\nrules: [\n");
  Result<CompiledSnapshot> w = Write();
  ASSERT_TRUE(w);
  EXPECT_FALSE(w->issues.empty());
  EXPECT_EQ(ReadFile(snapshot_), before);
  EXPECT_EQ(Open().state, SnapshotState::kStale);  // and never used again
  // Nothing else is left in the directory (no temporary file), beside the
  // compiles' lock file.
  EXPECT_EQ(certgate::testing::Run({"ls", "-A", dir_.Path("cache")}).out, "policy.snapshot\npolicy.snapshot.lock\n");
}

// A compile killed before its rename leaves its temporary file; the next
// compile removes it (and only what is a temporary file of the snapshot).
TEST_F(SnapshotFilesTest, RemovesTheTemporariesOfAKilledCompile) {
  WriteFile(dir_.Path("cache/.policy.snapshot.certgate-0123456789abcdef"), "half a snapshot");
  WriteFile(dir_.Path("cache/.other.certgate-0123456789abcdef"), "another file's");
  Result<CompiledSnapshot> w = Write();
  ASSERT_TRUE(w) << w.error().detail;
  EXPECT_EQ(certgate::testing::Run({"ls", "-A", dir_.Path("cache")}).out,
            ".other.certgate-0123456789abcdef\npolicy.snapshot\npolicy.snapshot.lock\n");
  EXPECT_EQ(Open().state, SnapshotState::kUsed);
}

// An edit made after the policy was read (certgate-compile.path does not
// see it: its compile is running) makes the compile start over, so the
// snapshot it leaves is current.
TEST_F(SnapshotFilesTest, CompilesAgainWhenAFileChangesWhileTheSnapshotIsWritten) {
  int edits = 0;
  g_after_rename = [&](const char* to) {
    ASSERT_EQ(std::string(to), snapshot_);
    ++edits;
    WritePolicy(PerUserPolicy(60));
  };
  Result<CompiledSnapshot> w = Write();
  g_after_rename = nullptr;
  ASSERT_TRUE(w) << w.error().detail;
  EXPECT_EQ(edits, 1);
  EXPECT_EQ(w->rules, 60u);
  OpenedSnapshot o = Open();
  ASSERT_EQ(o.state, SnapshotState::kUsed) << o.why;
  EXPECT_EQ(o.policy->rule_count(), 60u);
}

// An edit after every snapshot it writes: after five compiles it gives up
// and says so. The snapshot of the last one is left, but its stamps show
// the edit that followed it, so a helper never uses it.
TEST_F(SnapshotFilesTest, GivesUpWhenTheFilesKeepChanging) {
  int edits = 0;
  std::function<void(const char*)> edit = [&](const char* to) {
    ASSERT_EQ(std::string(to), snapshot_);
    ++edits;
    WritePolicy(PerUserPolicy(50 + edits));
    g_after_rename = edit;
  };
  g_after_rename = edit;
  Result<CompiledSnapshot> w = Write();
  g_after_rename = nullptr;
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::kPolicy);
  EXPECT_EQ(w.error().detail, "the policy files of " + policy_ +
                                  " kept changing while being compiled (5 tries); run --compile again when they "
                                  "are written");
  EXPECT_EQ(edits, 5);
  OpenedSnapshot o = Open();
  EXPECT_EQ(o.state, SnapshotState::kStale);
  EXPECT_NE(o.why.find("policy.yaml changed since"), std::string::npos) << o.why;
  EXPECT_EQ(certgate::testing::Run({"ls", "-A", dir_.Path("cache")}).out, "policy.snapshot\npolicy.snapshot.lock\n");
}

TEST_F(SnapshotFilesTest, RefusesTheDirectoriesItStamps) {
  Result<CompiledSnapshot> w = WriteSnapshot(policy_, dir_.Path("etc/policy.snapshot"), options_, -1);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::kUsage);
  EXPECT_NE(w.error().detail.find("must not be in the policy's directories"), std::string::npos);
  ASSERT_EQ(mkdir(dir_.Path("etc/policy.yaml.d").c_str(), 0755), 0);
  Result<CompiledSnapshot> fragments =
      WriteSnapshot(policy_, dir_.Path("etc/policy.yaml.d/policy.snapshot"), options_, -1);
  ASSERT_FALSE(fragments);
  EXPECT_EQ(fragments.error().code, Errc::kUsage);
  Result<CompiledSnapshot> missing = WriteSnapshot(policy_, dir_.Path("nowhere/policy.snapshot"), options_, -1);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kIo);
}

// A directory as the snapshot's path, and a compile by a user whose file
// the helpers would not use, are refused before anything is loaded, with
// what to do (the write's failure said to create the directory).
TEST_F(SnapshotFilesTest, RefusesADirectoryAndAnotherOwner) {
  Result<CompiledSnapshot> w = WriteSnapshot(policy_, dir_.Path("cache"), options_, -1);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::kUsage);
  EXPECT_EQ(w.error().detail, dir_.Path("cache") + " is a directory; give --snapshot a file's path, such as " +
                                  dir_.Path("cache") + "/policy.snapshot");
  w = WriteSnapshot(policy_, dir_.Path("cache") + "/", options_, -1);
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().detail.find("such as " + dir_.Path("cache") + "/policy.snapshot"), std::string::npos)
      << w.error().detail;

  LoadOptions other_owner = options_;
  other_owner.owner_uid = static_cast<unsigned>(geteuid()) + 1;
  w = WriteSnapshot(policy_, snapshot_, other_owner, -1);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::kUsage);
  EXPECT_EQ(w.error().detail, "the helpers use only a snapshot owned by uid " + std::to_string(geteuid() + 1) +
                                  ", and this runs as uid " + std::to_string(geteuid()) +
                                  "; run --compile as root (sudo)");
  EXPECT_EQ(Open().state, SnapshotState::kAbsent);  // nothing written
  // Without the permission checks (some tests) anyone's snapshot is used,
  // so anyone may write it.
  other_owner.check_permissions = false;
  EXPECT_TRUE(WriteSnapshot(policy_, snapshot_, other_owner, -1));
}

// The audit's case: compiles took turns under a flock on the snapshot's
// directory, which any user may open, so any user could hold it and stop
// every compile (the snapshot then stayed stale: every in-process decision
// read the YAML). The lock is now PATH.lock, which only the compiling user
// can open, created 0600; one others could open is refused, saying so.
TEST_F(SnapshotFilesTest, CompilesTakeTurnsOnALockFileNoOtherUserCanOpen) {
  ASSERT_TRUE(Write());
  const std::string lock = snapshot_ + ".lock";
  struct stat st {};
  ASSERT_EQ(stat(lock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // The directory is no lock: holding it stops nothing.
  UniqueFd dir(open(dir_.Path("cache").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_EQ(flock(dir.get(), LOCK_EX), 0);
  EXPECT_TRUE(Write());
  ASSERT_EQ(chmod(lock.c_str(), 0644), 0);
  Result<CompiledSnapshot> w = Write();
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, Errc::kUnsafePermissions);
  EXPECT_EQ(w.error().detail, "lock file " + lock +
                                  ": mode 0644 lets group or others open it: another user could hold the lock and "
                                  "stop every --compile; chown " +
                                  (geteuid() == 0 ? std::string("root:root") : std::to_string(geteuid())) +
                                  " and chmod 600 it, or remove it");
  ASSERT_EQ(unlink(lock.c_str()), 0);
  EXPECT_TRUE(Write());
}

// The audit's case: the snapshot was always 0644, so a policy the admin
// kept from other users (root:certgate 0640) could be read by anyone from
// its snapshot, and --explain run by them decided from it. The snapshot is
// readable by no one who cannot read every policy file and directory.
TEST_F(SnapshotFilesTest, IsReadableOnlyByWhoeverCanReadThePolicy) {
  auto write = [&] {
    Result<CompiledSnapshot> w = Write();
    ASSERT_TRUE(w) << w.error().detail;
    ASSERT_TRUE(w->issues.empty()) << w->issues[0].ToString();
  };
  auto mode_and_group = [&] {
    struct stat st {};
    EXPECT_EQ(stat(snapshot_.c_str(), &st), 0);
    return std::make_pair(st.st_mode & 07777, st.st_gid);
  };
  write();
  EXPECT_EQ(mode_and_group(), std::make_pair(mode_t{0644}, getegid()));
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the policy another group";
  const gid_t group = 4242;
  ASSERT_EQ(chown(policy_.c_str(), 0, group), 0);
  ASSERT_EQ(chmod(policy_.c_str(), 0640), 0);
  write();
  EXPECT_EQ(mode_and_group(), std::make_pair(mode_t{0640}, group));
  EXPECT_EQ(Open().state, SnapshotState::kUsed);
  // A fragment of another group: neither group may read it all.
  ASSERT_EQ(mkdir((policy_ + ".d").c_str(), 0755), 0);
  WriteFile((policy_ + ".d/a.yaml"), "rules: []\n", 0640);
  ASSERT_EQ(chown((policy_ + ".d/a.yaml").c_str(), 0, group + 1), 0);
  write();
  EXPECT_EQ(mode_and_group().first, mode_t{0600});
  // A directory others cannot search hides what is in it.
  ASSERT_EQ(unlink((policy_ + ".d/a.yaml").c_str()), 0);
  ASSERT_EQ(chmod(policy_.c_str(), 0644), 0);
  ASSERT_EQ(chown(dir_.Path("etc").c_str(), 0, group), 0);
  ASSERT_EQ(chmod(dir_.Path("etc").c_str(), 0750), 0);
  write();
  EXPECT_EQ(mode_and_group(), std::make_pair(mode_t{0640}, group));
  EXPECT_EQ(Open().state, SnapshotState::kUsed);
  // So does one further up, which the stamps do not cover (the review's
  // case: a 0700 directory above a 0755 one gave a 0644 snapshot).
  ASSERT_EQ(chown(dir_.Path("etc").c_str(), 0, 0), 0);
  ASSERT_EQ(chmod(dir_.Path("etc").c_str(), 0755), 0);
  write();
  EXPECT_EQ(mode_and_group().first, mode_t{0644});
  ASSERT_EQ(chmod(dir_.path().c_str(), 0700), 0);
  write();
  EXPECT_EQ(mode_and_group().first, mode_t{0600});
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
}

// A compile right after an edit (as certgate-compile.path starts it) waits
// out the racy window, and the snapshot it writes is used.
TEST_F(SnapshotFilesTest, WaitsOutARecentChange) {
  WriteFile(policy_, PerUserPolicy(5));  // changed now
  ASSERT_TRUE(Write(kRacySeconds));
  EXPECT_EQ(Open(kRacySeconds).state, SnapshotState::kUsed);
}

// The helper's in-process decision: the same answers from the snapshot as
// from the YAML, and a note in the log when one is not used.
class RecordingLog : public LogSink {
 public:
  void Write(const LogRecord& record) override { records.push_back(record); }
  std::vector<LogRecord> records;
};

TEST_F(SnapshotFilesTest, HelperCompilesAndDecidesWithIt) {
  auto run = [&](std::vector<std::string> args, RecordingLog* log) {
    args.insert(args.begin(), {"--policy", policy_, "--snapshot", snapshot_});
    Result<HelperOptions> o = ParseHelperArgs(HelperKind::kPrincipals, args);
    EXPECT_TRUE(o) << o.error().detail;
    HelperEnv env;
    env.now = 1'800'000'000;
    env.log = log;
    env.load = options_;
    return RunHelper(HelperKind::kPrincipals, *o, env);
  };
  RecordingLog log;
  HelperOutput out = run({"--compile"}, &log);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.out, "compiled " + policy_ + " (50 rules) into " + snapshot_ + " (" +
                         std::to_string(ReadFile(snapshot_).size()) + " bytes)\n");
  // --check reads the YAML, whatever the snapshot: a policy made invalid
  // after compiling is reported.
  WritePolicy("version: 1\nrules: [\n");
  out = run({"--check"}, &log);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.out.find("policy.yaml:"), std::string::npos) << out.out;
  out = run({"--compile"}, &log);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.out.find(snapshot_ + ": not written: the policy is invalid"), std::string::npos) << out.out;
  // A stale snapshot is named in the log; the YAML decides.
  log.records.clear();
  out = run({"--explain", "--user", "u100001", dir_.Path("no-such-cert")}, &log);
  ASSERT_FALSE(log.records.empty());
  EXPECT_EQ(log.records[0].priority, Priority::kNotice);
  EXPECT_NE(log.records[0].message.find("policy snapshot not used"), std::string::npos);
  EXPECT_NE(out.out.find("policy: unusable"), std::string::npos) << out.out;
}

}  // namespace
}  // namespace certgate::core
