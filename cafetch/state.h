// cafetch's memory between runs, in state_dir: when each CA key was first
// and last listed by the issuer (so a retired key stays trusted for
// keep_retired), the issuer's validators (ETag / Last-Modified), and the
// lock that keeps two cafetch runs apart.
#ifndef CERTGATE_CAFETCH_STATE_H_
#define CERTGATE_CAFETCH_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cafetch/config.h"
#include "cafetch/fetcher.h"
#include "cafetch/issuers.h"
#include "core/result.h"
#include "core/unique_fd.h"

namespace certgate::cafetch {

// kStateFileName and kLockFileName are the files cafetch keeps in state_dir.
inline constexpr char kStateFileName[] = "cafetch.state";
inline constexpr char kLockFileName[] = "lock";
// kMaxStateFileSize caps the state file, both when it is read (LoadState)
// and when it is written (SaveState, and RunOnce before a round changes
// anything): cafetch never writes a state it would then refuse. 1 MiB is
// the issuer answer's bound (kMaxAnswerBytes): room for hundreds of the
// largest keys sshd takes (16384-bit RSA, about 2.8 KB a line).
inline constexpr size_t kMaxStateFileSize = 1024 * 1024;

// KeyHistory is one CA key cafetch trusts or trusted.
struct KeyHistory {
  CaKey key;
  int64_t first_seen = 0;  // unix seconds of the first answer listing it
  int64_t last_seen = 0;   // unix seconds of the last answer listing it
  bool listed = false;     // listed in the issuer's last answer
  // retired: for a key not listed, unix seconds from which keep_retired
  // counts (AdvanceState: when cafetch first got an answer without it);
  // none for a listed key. A state file from before retired lines gives a
  // retired key none here, and AdvanceState then takes last_seen.
  std::optional<int64_t> retired = std::nullopt;
  // bounded: for a retired key whose retired time is more than
  // keep_retired ahead of the clock, that time as bounded by the first
  // round that found it so (its now + keep_retired), used in its place
  // while it stays that far ahead (AdvanceState). None otherwise.
  std::optional<int64_t> bounded = std::nullopt;
  // sha1_issuer: the issuer that last listed it signs certificates with
  // SHA-1 ssh-rsa (IssuerSignsWithSha1), so that accept_sha1_rsa: auto
  // keeps sshd accepting them while a retired key is still trusted, after
  // a move to another issuer.
  bool sha1_issuer = false;
};

// State is the whole state file.
struct State {
  Validators validators;
  // validators_for: TrustFingerprint of the configuration the answer the
  // validators came from was fetched and verified under (empty: unknown).
  std::string validators_for;
  // keys: listed keys first in the issuer's order, then retired keys still
  // trusted, oldest retirement last.
  std::vector<KeyHistory> keys;
};

// SerializeState returns the text form: a header, "version 1", optional
// "etag VALUE", "last_modified VALUE" and "validators_for HEX" lines, one
// line per key, "key FIRST LAST LISTED keytype base64 [comment]", then
// "sha1_issuer SHA256:FINGERPRINT" for each key with sha1_issuer, then
// "retired SHA256:FINGERPRINT UNIXTIME" for each key not listed that has a
// retired time, then "bounded SHA256:FINGERPRINT UNIXTIME" for each of
// those with a bounded time (the extra lines keep the key lines as older cafetch
// versions write them; such a version refuses the file, with a message
// saying that removing it is the way out).
std::string SerializeState(const State& state);

// ParseState parses SerializeState's form. Anything else (unknown line,
// bad number, a key sshd could not read, a control character) is
// kBadFormat: a damaged state file is reported, never half-used. A
// retired line for a listed key, or one naming no key above it, is
// damage, and so is a bounded line naming no retired key above it; a key not listed without a retired line has none (an older
// file).
core::Result<State> ParseState(std::string_view text);

// LoadState reads state_dir/kStateFileName; a missing file (first run) is
// an empty State. Errors: kIo, kTooLarge, kBadFormat.
core::Result<State> LoadState(const std::string& state_dir);

// SaveState writes the state file atomically (root, 0644), creating
// |state_dir| (0755) if needed. Errors: kIo; kTooLarge (nothing written)
// when SerializeState(|state|) is over kMaxStateFileSize.
core::Status SaveState(const std::string& state_dir, const State& state);

// CheckStateSize returns kTooLarge, saying how many keys and bytes, the
// limit and what to do, when SerializeState(|state|) is over
// kMaxStateFileSize (LoadState would refuse it); Ok otherwise.
core::Status CheckStateSize(const State& state);

// AdvanceState returns |old| updated with the issuer's answer |listed|
// (its keys in order) received at |now|: listed keys get last_seen = now
// (first_seen = now when new) and no retired time. A key no longer listed
// is kept, not listed, while now - retired < |keep_retired_seconds|, and
// dropped after. Its retired time is set at the first answer without it:
// max(now, last_seen), so that keep_retired counts from when the issuer
// was seen to stop listing it (not from its last listing, which an issuer
// outage or a host that was down can put long before), but never later
// than now + keep_retired (a last_seen recorded while the clock was far
// ahead keeps a key at most 2 x keep_retired after that round). A key with
// none (an older state file) takes min(last_seen, now + keep_retired).
// A retired time still more than keep_retired ahead of the clock at a
// later round (recorded while the clock was far ahead, or the clock is
// now far behind: the two cannot be told apart) is bounded by that round
// to now + keep_retired, and the bound is kept while the time stays that
// far ahead: the key goes at most 2 x keep_retired after that round (at
// once with keep_retired 0) unless the clock reaches the recorded time
// again first, which then counts as before. So a retirement recorded a
// year ahead does not keep a key for a year, and a clock set back for
// less than 2 x keep_retired retires nothing early once it is right again.
// Recorded times never move back: a clock set back keeps a key's
// first_seen, its later last_seen and its retired time. Validators (and
// validators_for) are copied from |old|; the caller sets new ones.
State AdvanceState(const State& old, const std::vector<CaKey>& listed, int64_t now,
                   uint64_t keep_retired_seconds);

// TrustFingerprint returns the hex SHA-256 of everything in |config| that
// decides which answer is fetched and what it must pass to be trusted:
// issuer type, url, name, tls.ca_file, tls.pin_sha256, token_file,
// bundle_signature url and allowed_signers.
std::string TrustFingerprint(const Config& config);

// ValidatorsToSend returns the validators of |state| to make the request
// conditional, or empty ones (an unconditional request) when |state| lists
// no key or its validators_for is not TrustFingerprint(|config|): a 304
// reuses the keys of an answer verified under the configuration of that
// time, so it must be that of now (a bundle_signature added, a signer
// removed, another issuer: the answer is fetched and verified again).
Validators ValidatorsToSend(const State& state, const Config& config);

// ListedKeys returns the keys of |state| the issuer listed last time (what
// a 304 Not Modified answer means).
std::vector<CaKey> ListedKeys(const State& state);

// TrustedKeys returns every key of |state| (listed and retired), oldest
// first_seen first (ties by blob bytes), the TrustedUserCAKeys contents: a
// stable order, so that retiring a key does not rewrite the file.
std::vector<CaKey> TrustedKeys(const State& state);

// kReloadPendingFileName marks, in state_dir, an sshd_config that was (or
// was about to be) installed and not yet followed by a successful reload.
inline constexpr char kReloadPendingFileName[] = "reload-pending";

// MarkReloadPending writes state_dir/kReloadPendingFileName atomically
// (fsynced, directory fsynced). Errors: kIo.
core::Status MarkReloadPending(const std::string& state_dir);

// ReloadPending returns whether the mark exists. Errors: kIo when it
// cannot be told.
core::Result<bool> ReloadPending(const std::string& state_dir);

// ClearReloadPending removes the mark (none is fine) and fsyncs the
// directory. Errors: kIo.
core::Status ClearReloadPending(const std::string& state_dir);

// LockStateDir creates |state_dir| if needed, opens state_dir/kLockFileName
// and takes a non-blocking exclusive flock on it, held as long as the
// returned descriptor is open. The file is opened without following a
// symbolic link and created 0600; it must be a regular file owned by the
// effective user with no group or other permission (else anyone who can
// open it could hold the lock and stop every round). Fails with kIo
// ("another cafetch is running") when the lock is held, kUnsafePermissions
// (naming the path, the problem and the fix) when the file is not such a
// file, or kIo when it cannot be opened.
core::Result<core::UniqueFd> LockStateDir(const std::string& state_dir);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_STATE_H_
