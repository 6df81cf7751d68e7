// Snapshot files: opening one (OpenSnapshot: trusted, current, mapped or
// read into memory of its own, and decoded in place), writing one (WriteSnapshot, for
// --compile) and choosing between it and the YAML (LoadPolicyOrSnapshot).
// The format itself is policy_snapshot.cc's.
#include "core/policy_snapshot.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/atomic_file.h"
#include "core/lock_file.h"
#include "core/log.h"
#include "core/safe_directory.h"
#include "core/unique_fd.h"

namespace certgate::core {

namespace {

// Racy returns true if stamps taken at |stamped_at_ns| cannot tell their
// changes from a later one now (policy_stamps.h, CheckRaciness): a change
// time near |stamped_at_ns|, or one that was ahead of the clock then and
// that the clock has come near since.
bool Racy(const std::vector<FileStamp>& stamps, int64_t stamped_at_ns, int64_t racy_seconds) {
  const Raciness r = CheckRaciness(stamps, stamped_at_ns, racy_seconds);
  return r.racy || RealtimeNs() >= r.racy_from_ns;
}

// SnapshotBytes holds a snapshot file's bytes in memory mapped for them,
// page-aligned as the decoder needs (8).
struct SnapshotBytes {
  void* address = MAP_FAILED;
  size_t size = 0;
  SnapshotBytes() = default;
  SnapshotBytes(const SnapshotBytes&) = delete;
  SnapshotBytes& operator=(const SnapshotBytes&) = delete;
  ~SnapshotBytes() {
    if (address != MAP_FAILED) munmap(address, size);
  }
  std::span<const uint8_t> bytes() const { return {static_cast<const uint8_t*>(address), size}; }
};

// ReadSnapshotBytes gets the |size| (> 0) bytes of |fd|: the file's pages
// mapped read-only (kMapping), or read into memory of this process
// (kOwnCopy: populated in one call, then made read-only), or says why not.
Result<std::shared_ptr<SnapshotBytes>> ReadSnapshotBytes(int fd, size_t size, SnapshotMemory memory) {
  auto held = std::make_shared<SnapshotBytes>();
  if (memory == SnapshotMemory::kMapping) {
    held->address = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (held->address == MAP_FAILED) return Fail(Errc::kIo, std::string("cannot map: ") + std::strerror(errno));
    held->size = size;
    return held;
  }
  held->address = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (held->address == MAP_FAILED) return Fail(Errc::kIo, "no memory for " + std::to_string(size) + " bytes");
  held->size = size;
  uint8_t* out = static_cast<uint8_t*>(held->address);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = pread(fd, out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Errc::kIo, std::strerror(errno));
    if (n == 0) return Fail(Errc::kTruncated, "it got shorter while it was read");
    done += static_cast<size_t>(n);
  }
  if (mprotect(held->address, size, PROT_READ) != 0) return Fail(Errc::kIo, std::strerror(errno));
  return held;
}

// Untrusted returns an empty string if |st| passes sshd's StrictModes rule
// under |options|, else what is wrong.
std::string Untrusted(const struct stat& st, const std::string& path, const LoadOptions& options) {
  if (!options.check_permissions) return {};
  std::string problem = OwnerAndModeProblem(st, path, options.owner_uid, false);
  return problem.empty() ? problem : path + ": " + problem;
}

OpenedSnapshot Not(SnapshotState state, std::string why) {
  OpenedSnapshot o;
  o.state = state;
  o.why = std::move(why);
  return o;
}

}  // namespace

OpenedSnapshot OpenSnapshot(const std::string& snapshot_path, const std::string& policy_path,
                            const LoadOptions& options, int64_t racy_seconds, SnapshotMemory memory) {
  // The snapshot's directories, and then the policy's, are checked as the
  // YAML loader checks the policy's: a snapshot is never trusted where the
  // files it stands for would not be.
  const DirectoryRule rule = DirectoryRuleFor(options);
  UnsafeDirectory unsafe;
  const UniqueFd dir(OpenSafeDirectory(ParentDirectory(snapshot_path), rule, &unsafe));
  if (!dir.valid()) {
    if (unsafe.error == ENOENT) {
      return Not(SnapshotState::kAbsent, snapshot_path + " does not exist");
    }
    return Not(SnapshotState::kUntrusted, unsafe.path + ": " + unsafe.message);
  }
  UniqueFd fd(openat(dir.get(), BaseName(snapshot_path).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    if (errno == ENOENT) return Not(SnapshotState::kAbsent, snapshot_path + " does not exist");
    return Not(SnapshotState::kInvalid, "cannot open " + snapshot_path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Not(SnapshotState::kInvalid, snapshot_path + " is not a regular file");
  }
  if (std::string why = Untrusted(st, snapshot_path, options); !why.empty()) {
    return Not(SnapshotState::kUntrusted, why);
  }
  if (st.st_size < static_cast<off_t>(kSnapshotHeaderSize) || static_cast<uint64_t>(st.st_size) > kMaxSnapshotSize) {
    return Not(SnapshotState::kInvalid, snapshot_path + " has an impossible size (" + std::to_string(st.st_size) +
                                            " bytes)");
  }
  Result<std::shared_ptr<SnapshotBytes>> held = ReadSnapshotBytes(fd.get(), static_cast<size_t>(st.st_size), memory);
  if (!held) return Not(SnapshotState::kInvalid, "cannot read " + snapshot_path + ": " + held.error().detail);
  Result<DecodedSnapshot> decoded = DecodeSnapshot((*held)->bytes(), *held);
  if (!decoded) return Not(SnapshotState::kInvalid, snapshot_path + ": " + decoded.error().detail);
  const SnapshotOrigin& origin = decoded->origin;
  if (origin.policy_path != policy_path) {
    return Not(SnapshotState::kOtherPolicy,
               snapshot_path + " was compiled from " + origin.policy_path + ", not " + policy_path);
  }
  if (origin.check_permissions != options.check_permissions || origin.owner_uid != options.owner_uid) {
    return Not(SnapshotState::kOtherPolicy,
               snapshot_path + " was compiled with other file permission checks than this run's");
  }
  if (origin.version != CERTGATE_VERSION) {
    return Not(SnapshotState::kStale,
               snapshot_path + " was written by certgate " + origin.version + ", this is " + CERTGATE_VERSION);
  }
  if (!OpenSafeDirectory(ParentDirectory(policy_path), rule, &unsafe).valid()) {
    return Not(SnapshotState::kUntrusted, unsafe.path + ": " + unsafe.message);
  }
  if (Racy(origin.stamps, origin.stamped_at_ns, racy_seconds)) {
    return Not(SnapshotState::kStale, snapshot_path + " was compiled too soon after a policy file changed " +
                                          "to tell that change from a later one");
  }
  const std::vector<FileStamp> now = TakeStamps(policy_path);
  if (now != origin.stamps) {
    std::string changed = policy_path;
    for (size_t i = 0; i < now.size(); ++i) {
      if (i >= origin.stamps.size() || !(now[i] == origin.stamps[i])) {
        changed = now[i].path;
        break;
      }
    }
    return Not(SnapshotState::kStale, changed + " changed since " + snapshot_path + " was compiled");
  }
  OpenedSnapshot o;
  o.state = SnapshotState::kUsed;
  o.policy = std::move(decoded->policy);
  return o;
}

namespace {

// RealPath returns |path| with links and dots resolved, or "" if it does
// not exist.
std::string RealPath(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return {};
  std::string out = resolved;
  free(resolved);
  return out;
}

// SnapshotMode is the owner and mode of a snapshot of |policy_path|, whose
// files and directories |stamps| describe: it holds everything they say,
// so it may be read by no one who cannot read them. World-readable (0644)
// if every one is, and every directory above the policy's is searchable by
// others; else, if those that are not are all readable (searchable) by one
// group, 0640 with that group (root:certgate 0640 files: sshd's command
// user still maps the snapshot); else 0600.
FileMode SnapshotMode(const std::string& policy_path, const std::vector<FileStamp>& stamps) {
  std::optional<gid_t> group;
  bool one_group = true;
  bool private_to_others = false;
  auto note = [&](mode_t mode, gid_t gid) {
    const bool dir = S_ISDIR(mode);
    if ((mode & (dir ? S_IXOTH : S_IROTH)) != 0) return;
    private_to_others = true;
    if ((mode & (dir ? S_IXGRP : S_IRGRP)) == 0 || (group && *group != gid)) one_group = false;
    group = gid;
  };
  for (const FileStamp& stamp : stamps) {
    if (stamp.error == 0 && (S_ISREG(stamp.mode) || S_ISDIR(stamp.mode))) note(stamp.mode, stamp.gid);
  }
  // The directories above the policy's own, which the stamps leave out.
  std::string dir = ParentDirectory(ParentDirectory(policy_path));
  for (;;) {
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) note(st.st_mode, st.st_gid);
    if (dir == "/" || dir.empty() || dir == ".") break;
    dir = ParentDirectory(dir);
  }
  if (!private_to_others) return FileMode{geteuid(), getegid(), 0644};
  if (one_group) return FileMode{geteuid(), *group, 0640};
  return FileMode{geteuid(), getegid(), 0600};
}

}  // namespace

Result<CompiledSnapshot> WriteSnapshot(const std::string& policy_path, const std::string& snapshot_path,
                                       const LoadOptions& options, int64_t racy_seconds) {
  struct stat existing {};
  if (lstat(snapshot_path.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode)) {
    return Fail(Errc::kUsage, snapshot_path + " is a directory; give --snapshot a file's path, such as " +
                                  snapshot_path + (snapshot_path.ends_with('/') ? "" : "/") + "policy.snapshot");
  }
  // The file is owned by whoever writes it, and the helpers use only a
  // snapshot |owner_uid| (root) owns: another user's compile would write
  // one nobody uses, or (more likely) be refused its directory.
  if (options.check_permissions && geteuid() != options.owner_uid) {
    return Fail(Errc::kUsage, "the helpers use only a snapshot owned by " +
                                  (options.owner_uid == 0 ? std::string("root")
                                                          : "uid " + std::to_string(options.owner_uid)) +
                                  ", and this runs as uid " + std::to_string(geteuid()) +
                                  "; run --compile as root (sudo)");
  }
  // Writing into a directory the stamps cover would change its stamp, and
  // the snapshot would be stale the moment it is written.
  const std::string dir = RealPath(ParentDirectory(snapshot_path));
  if (!dir.empty() && (dir == RealPath(ParentDirectory(policy_path)) || dir == RealPath(FragmentDirectory(policy_path)))) {
    return Fail(Errc::kUsage, "the snapshot " + snapshot_path + " must not be in the policy's directories (" + dir +
                                  "); use the default " + kDefaultSnapshotPath);
  }
  // A snapshot in a directory the helpers would not trust is never used:
  // say so now rather than have every login read the YAML.
  UnsafeDirectory unsafe;
  if (!OpenSafeDirectory(ParentDirectory(snapshot_path), DirectoryRuleFor(options), &unsafe).valid() &&
      unsafe.error != ENOENT) {
    return Fail(Errc::kUsage, "the helpers would not use a snapshot in " + ParentDirectory(snapshot_path) + ": " +
                                  unsafe.path + ": " + unsafe.message);
  }
  // One compile at a time per snapshot (the path unit's and an admin's),
  // and, while it holds the lock, no temporary file of a compile that was
  // killed stays behind. The lock is a file of its own that only the
  // compiling user can open: a lock on the directory, which any user may
  // open, let any user stop every compile. Without the directory, the
  // write below reports it.
  Result<UniqueFd> lock{UniqueFd()};  // held until the snapshot is written
  if (struct stat st {}; stat(ParentDirectory(snapshot_path).c_str(), &st) == 0) {
    const std::string lock_path = snapshot_path + ".lock";
    lock = OpenPrivateLockFile(lock_path, "stop every --compile");
    if (!lock) return Unexpected{lock.error()};
    int locked;
    while ((locked = flock(lock->get(), LOCK_EX)) != 0 && errno == EINTR) {
    }
    if (locked != 0) return Fail(Errc::kIo, "cannot lock " + lock_path + ": " + std::strerror(errno));
    // Best effort: a file it cannot remove is only litter, and the write
    // below reports a directory it cannot write.
    (void)RemoveStaleTemporaries(snapshot_path);
  }
  constexpr int kTries = 5;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    const int64_t start_ns = RealtimeNs();
    std::vector<FileStamp> before = TakeStamps(policy_path);
    if (Racy(before, start_ns, racy_seconds)) {
      // A change within the last timestamp tick could be followed by
      // another one the stamps would not show: wait until it is older.
      const int64_t window = RacyWindowNs(before, racy_seconds);
      const int64_t wait = std::clamp<int64_t>(NewestChangeNs(before) + window - start_ns, 0, window) + 1000000;
      struct timespec ts {static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
      continue;
    }
    LoadedPolicy loaded = LoadCompiledPolicy(policy_path, options);
    if (!loaded.policy) {
      CompiledSnapshot out;
      out.issues = std::move(loaded.issues);
      return out;
    }
    if (TakeStamps(policy_path) != before) continue;  // changed while read
    SnapshotOrigin origin;
    origin.version = CERTGATE_VERSION;
    origin.policy_path = policy_path;
    origin.check_permissions = options.check_permissions;
    origin.owner_uid = options.owner_uid;
    origin.stamped_at_ns = start_ns;
    origin.stamps = std::move(before);
    std::vector<uint8_t> bytes = EncodeSnapshot(*loaded.policy, origin);
    // What is written must be what a helper accepts.
    Result<DecodedSnapshot> check = DecodeSnapshot(bytes, nullptr);
    if (!check) return Fail(Errc::kInternal, "the snapshot does not read back: " + check.error().detail);
    // Owned by whoever compiles (root in production: the helpers use only a
    // root-owned snapshot), readable by whoever can read the policy.
    const FileMode mode = SnapshotMode(policy_path, origin.stamps);
    if (Status st = WriteFileAtomically(snapshot_path, AsStringView(bytes), mode); !st) {
      return Fail(Errc::kIo, "cannot write the snapshot: " + st.error().detail +
                                 "; create its directory (root, mode 0755) or pass --snapshot");
    }
    // certgate-compile.path does not see changes made while this runs: a
    // file changed while the snapshot was encoded and written would leave
    // it stale until the next edit. Compile again instead.
    if (TakeStamps(policy_path) != origin.stamps) continue;
    CompiledSnapshot out;
    out.rules = loaded.policy->rule_count();
    out.bytes = bytes.size();
    return out;
  }
  return Fail(Errc::kPolicy, "the policy files of " + policy_path + " kept changing while being compiled (" +
                                 std::to_string(kTries) + " tries); run --compile again when they are written");
}

std::string SnapshotNotUsedMessage(const std::string& policy_path, const OpenedSnapshot& snapshot) {
  std::string advice;
  switch (snapshot.state) {
    case SnapshotState::kUntrusted:
      advice = "make it and every directory above it root's and not writable by group or others (then it is used "
               "again, no compile needed)";
      break;
    case SnapshotState::kOtherPolicy:
      advice = "run principals-cmd --compile with this --policy, or name another --snapshot";
      break;
    case SnapshotState::kUsed:
    case SnapshotState::kAbsent:
    case SnapshotState::kStale:
    case SnapshotState::kInvalid:
      advice = "run principals-cmd --compile (or enable certgate-compile.path)";
      break;
  }
  return "policy snapshot not used, reading " + EscapeForLog(policy_path) + ": " + EscapeForLog(snapshot.why) +
         "; " + advice;
}

LoadedPolicy LoadPolicyOrSnapshot(const std::string& policy_path, const LoadOptions& options,
                                  const std::string& snapshot_path, OpenedSnapshot* opened,
                                  int64_t racy_seconds, SnapshotMemory memory) {
  OpenedSnapshot snapshot;
  if (!snapshot_path.empty()) snapshot = OpenSnapshot(snapshot_path, policy_path, options, racy_seconds, memory);
  LoadedPolicy out;
  if (snapshot.state == SnapshotState::kUsed) {
    out.policy = snapshot.policy;
  } else {
    out = LoadCompiledPolicy(policy_path, options);
  }
  if (opened != nullptr) *opened = std::move(snapshot);
  return out;
}

}  // namespace certgate::core
