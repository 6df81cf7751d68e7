// Policy snapshots: a compiled policy (compiled_policy.h) written to a file
// by `principals-cmd --compile`, which the in-process helpers map read-only
// (certgate-decide reads it into memory of its own)
// instead of reading the YAML when certgate-decide is not running.
//
// A snapshot is only ever a faster way to get the answer the YAML gives. It
// is used only if it is root-owned and not group- or world-writable, in a
// directory that is the same, was written by this very certgate version for
// the same --policy and load options, and every file and directory the
// loader reads has the stamp (policy_stamps.h) it had when the snapshot was
// compiled. Anything else, and the helper reads the YAML as before.
//
// The file (native byte order; certgate never reads a snapshot written on
// another machine, and says so if it meets one):
//
//   header   magic "certgate", format, byte-order mark, file size, the
//            offset and size of each section, and the SHA-256 digest of the
//            whole file but the digest itself
//   meta     SSH wire encoding (wire_reader.h): what the snapshot was
//            compiled from (version, policy path, load options, stamps)
//            and the small parts of the policy (authorities, defaults,
//            constraints, user_keys, the generic rules of the index)
//   chars, string_ends, lists, rules, by_name
//            the compiled policy's arrays, 8-byte aligned, used in place
//
// DecodeSnapshot first checks the digest, so a damaged file (a flipped bit,
// bytes written over in place) is refused whole; then, as it would any
// input, every offset, id, list position and count before a
// decision can follow it: the file is untrusted input with a fuzz target
// (tests/fuzz/snapshot_fuzzer.cc). It does not check that the user index
// lists exactly the right rules: a decision matches every candidate the
// index yields against the rule's own users and groups again (MatchUser),
// so a wrong index can only miss a rule (a denial), never grant one.
#ifndef CERTGATE_CORE_POLICY_SNAPSHOT_H_
#define CERTGATE_CORE_POLICY_SNAPSHOT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/compiled_policy.h"
#include "core/policy_loader.h"
#include "core/policy_stamps.h"
#include "core/result.h"

namespace certgate::core {

// kDefaultSnapshotPath is where --compile writes and the helpers look.
inline constexpr const char kDefaultSnapshotPath[] = "/var/cache/certgate/policy.snapshot";
// kMaxSnapshotSize bounds the file a helper maps (a 100,000-rule policy
// compiles to about 11 MB; the loader's limits keep any policy far below).
inline constexpr size_t kMaxSnapshotSize = size_t{1} << 30;
// kSnapshotHeaderSize is the size of the header: no smaller file is one.
inline constexpr size_t kSnapshotHeaderSize = 152;

// SnapshotOrigin is what a snapshot was compiled from.
struct SnapshotOrigin {
  std::string version;      // CERTGATE_VERSION of the writer
  std::string policy_path;  // the --policy it was compiled from
  bool check_permissions = true;
  uint32_t owner_uid = 0;
  int64_t stamped_at_ns = 0;  // CLOCK_REALTIME when |stamps| were taken
  std::vector<FileStamp> stamps;
};

// EncodeSnapshot returns the bytes of a snapshot of |policy|, sealed.
std::vector<uint8_t> EncodeSnapshot(const CompiledPolicy& policy, const SnapshotOrigin& origin);

// SealSnapshot writes the digest of |bytes| into their header (nothing if
// they are shorter than one): EncodeSnapshot's last step, and how tests and
// the fuzz target make changed bytes reach the checks after the digest's.
void SealSnapshot(std::span<uint8_t> bytes);

// DecodedSnapshot is a validated snapshot.
struct DecodedSnapshot {
  std::shared_ptr<const CompiledPolicy> policy;
  SnapshotOrigin origin;
};

// DecodeSnapshot validates |bytes| (8-byte aligned; any content) and returns
// a policy whose arrays are views into them; |backing| keeps them alive as
// long as the policy lives. Fails with kTruncated, kTrailingData,
// kBadFormat, kTooLarge or kBadEncoding and the field at fault.
Result<DecodedSnapshot> DecodeSnapshot(std::span<const uint8_t> bytes, std::shared_ptr<const void> backing);

// SnapshotState says whether OpenSnapshot's snapshot may be used, or why not.
enum class SnapshotState {
  kUsed,         // current: decide with it
  kAbsent,       // no file at the path
  kOtherPolicy,  // compiled from another --policy or with other load options
  kStale,        // a policy file changed since, another certgate version
                 // wrote it, or it was compiled too close to a change
  kUntrusted,    // owner or mode of the file or its directory
  kInvalid,      // not a snapshot, or damaged
};

// OpenedSnapshot is OpenSnapshot's answer: |policy| is set only if kUsed;
// |why| says in one line why not otherwise.
struct OpenedSnapshot {
  SnapshotState state = SnapshotState::kAbsent;
  std::shared_ptr<const CompiledPolicy> policy;
  std::string why;
};

// SnapshotMemory is where an opened snapshot's bytes are held.
enum class SnapshotMemory {
  // The file's pages mapped read-only, shared with every process that maps
  // them: for a process that decides once and exits (the in-process helper).
  // Root writing over the file in place during that decision would change
  // (or, truncating it, fault) what it reads after the checks.
  kMapping,
  // A copy in the process's own memory: for a process that keeps the policy
  // (certgate-decide), so that nothing done to the file later reaches its
  // decisions. Its workers share the copy.
  kOwnCopy,
};

// OpenSnapshot reads |snapshot_path| (into |memory|) and returns its policy
// if it may stand in for LoadCompiledPolicy(|policy_path|, |options|) now.
// A snapshot whose stamps were taken within RacyWindowNs(stamps,
// |racy_seconds|) of a change is never used, nor one holding a change time
// that was ahead of the clock when it was compiled once the clock has come
// within that window of it (CheckRaciness). |racy_seconds| is
// kRacySeconds but for tests (negative: never racy).
OpenedSnapshot OpenSnapshot(const std::string& snapshot_path, const std::string& policy_path,
                            const LoadOptions& options, int64_t racy_seconds = kRacySeconds,
                            SnapshotMemory memory = SnapshotMemory::kMapping);

// SnapshotNotUsedMessage says, in one line, that the snapshot |snapshot|
// says was not used (any state but kUsed and kAbsent) and why, so that
// |policy_path|'s YAML is read, and what to do about it.
std::string SnapshotNotUsedMessage(const std::string& policy_path, const OpenedSnapshot& snapshot);

// LoadPolicyOrSnapshot is LoadCompiledPolicy(|policy_path|, |options|), or
// the policy of the snapshot at |snapshot_path| (empty: none) when
// OpenSnapshot says it may stand in for it. |opened|, if set, gets
// OpenSnapshot's answer (kAbsent without a snapshot path). The in-process
// helper and certgate-decide load their policy this way.
LoadedPolicy LoadPolicyOrSnapshot(const std::string& policy_path, const LoadOptions& options,
                                  const std::string& snapshot_path, OpenedSnapshot* opened,
                                  int64_t racy_seconds = kRacySeconds,
                                  SnapshotMemory memory = SnapshotMemory::kMapping);

// CompiledSnapshot is what WriteSnapshot wrote, or the issues of a policy
// that does not load (then nothing was written).
struct CompiledSnapshot {
  std::vector<Issue> issues;
  size_t rules = 0;
  size_t bytes = 0;
};

// WriteSnapshot loads and compiles |policy_path| and replaces
// |snapshot_path| atomically (a temporary file in the same directory,
// fsync, rename, fsync of the directory), mode 0644. If a policy file
// changed within the racy window (RacyWindowNs: 100 ms, or 2 s on a file
// system of whole seconds) it first waits that out (a time further ahead
// of the clock is not waited for, see CheckRaciness); if the files change
// while they are read or the snapshot is written it compiles them again
// (5 tries). Fails with kIo (what, where, and errno), kUsage for a snapshot
// path that is a directory or in a directory the stamps cover or that the
// helpers would not trust, or when not run as |options.owner_uid| (the
// helpers would not use the file), or kPolicy when the files keep changing.
// |racy_seconds| as for OpenSnapshot.
Result<CompiledSnapshot> WriteSnapshot(const std::string& policy_path, const std::string& snapshot_path,
                                       const LoadOptions& options, int64_t racy_seconds = kRacySeconds);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_POLICY_SNAPSHOT_H_
