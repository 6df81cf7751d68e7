#include "cafetch/state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "cafetch/atomic_file.h"
#include "core/digest.h"
#include "core/lock_file.h"
#include "core/ssh_key.h"
#include "core/wire_reader.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;

constexpr std::string_view kHeader = "# cafetch state (certgate): rewritten on every run\n";

// Printable returns true for values that fit on one state-file line.
bool Printable(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

// NextWord takes the next space-separated word off |s|.
std::string_view NextWord(std::string_view* s) {
  size_t sp = s->find(' ');
  std::string_view word = s->substr(0, sp);
  s->remove_prefix(sp == std::string_view::npos ? s->size() : sp + 1);
  return word;
}

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && *out >= 0;
}

// MakeDir creates the state directory |dir| unless it exists.
core::Status MakeDir(const std::string& dir) {
  core::Result<bool> made = MakeDirectory(dir, "state_dir");
  if (!made) return core::Unexpected{made.error()};
  return core::Ok();
}

// WriteInStateDir writes |text| as the file |name| in |state_dir|,
// creating the directory first; a file that cannot be written says to
// make state_dir writable or to set another (MakeDir says its own).
core::Status WriteInStateDir(const std::string& state_dir, const char* name, std::string_view text) {
  core::Status made = MakeDir(state_dir);
  if (!made) return made;
  core::Status written =
      WriteFileAtomically(state_dir + "/" + name, text, FileMode{geteuid(), getegid(), 0644});
  if (!written) return core::Unexpected{Unwritable(written.error(), state_dir, "state_dir")};
  return core::Ok();
}

std::string ReloadMarkPath(const std::string& state_dir) {
  return state_dir + "/" + kReloadPendingFileName;
}

}  // namespace

std::string SerializeState(const State& state) {
  std::string out(kHeader);
  out += "version 1\n";
  if (!state.validators.etag.empty() && Printable(state.validators.etag)) {
    out += "etag " + state.validators.etag + "\n";
  }
  if (!state.validators.last_modified.empty() && Printable(state.validators.last_modified)) {
    out += "last_modified " + state.validators.last_modified + "\n";
  }
  if (!state.validators_for.empty() && Printable(state.validators_for)) {
    out += "validators_for " + state.validators_for + "\n";
  }
  for (const KeyHistory& k : state.keys) {
    out += "key " + std::to_string(k.first_seen) + " " + std::to_string(k.last_seen) + " " +
           (k.listed ? "1 " : "0 ") + core::FormatPublicKeyLine(k.key.key, k.key.comment) + "\n";
  }
  for (const KeyHistory& k : state.keys) {
    if (k.sha1_issuer) out += "sha1_issuer " + core::Sha256Fingerprint(k.key.key.blob) + "\n";
  }
  for (const KeyHistory& k : state.keys) {
    if (!k.listed && k.retired.has_value()) {
      out += "retired " + core::Sha256Fingerprint(k.key.key.blob) + " " + std::to_string(*k.retired) + "\n";
    }
  }
  for (const KeyHistory& k : state.keys) {
    if (!k.listed && k.retired.has_value() && k.bounded.has_value()) {
      out += "bounded " + core::Sha256Fingerprint(k.key.key.blob) + " " + std::to_string(*k.bounded) + "\n";
    }
  }
  return out;
}

namespace {

// FindKey returns the key of |state| whose SHA256 fingerprint is |fp|, or
// null: how the lines after the key lines name a key.
KeyHistory* FindKey(State* state, std::string_view fp) {
  for (KeyHistory& k : state->keys) {
    if (core::Sha256Fingerprint(k.key.key.blob) == fp) return &k;
  }
  return nullptr;
}

}  // namespace

core::Result<State> ParseState(std::string_view text) {
  State state;
  bool versioned = false;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return Fail(Errc::kBadFormat, "state file: last line cut short");
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    const std::string where = "state file line " + std::to_string(line_no);
    if (line.empty() || line[0] == '#') continue;
    if (!Printable(line)) return Fail(Errc::kBadFormat, where + ": control character");
    std::string_view rest = line;
    std::string_view word = NextWord(&rest);
    if (!versioned) {
      if (word != "version" || rest != "1") return Fail(Errc::kBadFormat, where + ": expected \"version 1\"");
      versioned = true;
    } else if (word == "etag" && !rest.empty()) {
      state.validators.etag = std::string(rest);
    } else if (word == "last_modified" && !rest.empty()) {
      state.validators.last_modified = std::string(rest);
    } else if (word == "validators_for" && !rest.empty()) {
      state.validators_for = std::string(rest);
    } else if (word == "key") {
      KeyHistory k;
      std::string_view listed;
      if (!ParseInt(NextWord(&rest), &k.first_seen) || !ParseInt(NextWord(&rest), &k.last_seen) ||
          ((listed = NextWord(&rest)) != "0" && listed != "1") || k.first_seen > k.last_seen) {
        return Fail(Errc::kBadFormat, where + ": bad key record");
      }
      k.listed = listed == "1";
      core::Result<core::AuthorizedKey> key = core::ParsePublicKeyLine(rest);
      if (!key) return Fail(Errc::kBadFormat, where + ": " + key.error().detail);
      k.key.key = std::move(key->key);
      k.key.comment = std::move(key->comment);
      for (const KeyHistory& other : state.keys) {
        if (other.key.key == k.key.key) return Fail(Errc::kBadFormat, where + ": key listed twice");
      }
      state.keys.push_back(std::move(k));
    } else if (word == "sha1_issuer") {
      KeyHistory* found = FindKey(&state, rest);
      if (found == nullptr) return Fail(Errc::kBadFormat, where + ": sha1_issuer names no key above it");
      found->sha1_issuer = true;
    } else if (word == "retired") {
      const std::string_view fp = NextWord(&rest);
      int64_t when = 0;
      if (!ParseInt(rest, &when)) return Fail(Errc::kBadFormat, where + ": bad retired time");
      KeyHistory* found = FindKey(&state, fp);
      if (found == nullptr) return Fail(Errc::kBadFormat, where + ": retired names no key above it");
      if (found->listed) return Fail(Errc::kBadFormat, where + ": retired names a listed key");
      if (found->retired.has_value()) return Fail(Errc::kBadFormat, where + ": key retired twice");
      found->retired = when;
    } else if (word == "bounded") {
      const std::string_view fp = NextWord(&rest);
      int64_t when = 0;
      if (!ParseInt(rest, &when)) return Fail(Errc::kBadFormat, where + ": bad bounded time");
      KeyHistory* found = FindKey(&state, fp);
      if (found == nullptr || !found->retired.has_value()) {
        return Fail(Errc::kBadFormat, where + ": bounded names no retired key above it");
      }
      if (found->bounded.has_value()) return Fail(Errc::kBadFormat, where + ": key bounded twice");
      found->bounded = when;
    } else {
      return Fail(Errc::kBadFormat, where + ": unknown line");
    }
  }
  if (!versioned) return Fail(Errc::kBadFormat, "state file: no version line");
  return state;
}

core::Result<State> LoadState(const std::string& state_dir) {
  const std::string path = state_dir + "/" + kStateFileName;
  core::Result<std::optional<std::string>> text = ReadWholeFile(path, kMaxStateFileSize);
  if (!text) return core::Unexpected{text.error()};
  if (!text->has_value()) return State{};
  core::Result<State> state = ParseState(**text);
  if (!state) {
    // Removing the file is always a way out; say what it costs (the
    // retired keys of cafetch's key file are adopted again, retired from
    // that round: agent.cc AdoptInstalledKeys; the validators are lost).
    return Fail(state.error().code,
                path + ": " + state.error().detail +
                    "; fix that line or remove the file: the next round then trusts the keys the issuer lists "
                    "and keeps the other keys of the key file cafetch wrote as retired for keep_retired from "
                    "then (key_adopted), and fetches the answer again without the saved ETag or Last-Modified");
  }
  return state;
}

namespace {

core::Status StateTooLarge(const State& state, size_t bytes) {
  size_t listed = 0;
  for (const KeyHistory& k : state.keys) listed += k.listed ? 1 : 0;
  return Fail(Errc::kTooLarge,
              "the key history would be " + std::to_string(bytes) + " bytes for " +
                  std::to_string(state.keys.size()) + " CA keys (" + std::to_string(listed) + " listed, " +
                  std::to_string(state.keys.size() - listed) + " retired), over the state file's limit of " +
                  std::to_string(kMaxStateFileSize) +
                  " bytes; lower keep_retired so that retired keys go sooner, or ask why the issuer lists so "
                  "many keys");
}

}  // namespace

core::Status CheckStateSize(const State& state) {
  const size_t bytes = SerializeState(state).size();
  if (bytes > kMaxStateFileSize) return StateTooLarge(state, bytes);
  return core::Ok();
}

core::Status SaveState(const std::string& state_dir, const State& state) {
  // Never write what LoadState would refuse: the next round could not run.
  const std::string text = SerializeState(state);
  if (text.size() > kMaxStateFileSize) return StateTooLarge(state, text.size());
  return WriteInStateDir(state_dir, kStateFileName, text);
}

namespace {

// AddField appends |value| with its length, so that no two field lists
// serialise alike.
void AddField(std::string* out, std::string_view value) {
  *out += std::to_string(value.size());
  *out += ':';
  out->append(value);
  *out += ';';
}

}  // namespace

std::string TrustFingerprint(const Config& config) {
  std::string data = "cafetch-trust-v1;";
  AddField(&data, IssuerTypeName(config.issuer.type));
  AddField(&data, config.issuer.url);
  AddField(&data, config.issuer.name);
  AddField(&data, config.issuer.tls.ca_file);
  AddField(&data, std::to_string(config.issuer.tls.pin_sha256.size()));
  for (const std::string& pin : config.issuer.tls.pin_sha256) AddField(&data, pin);
  AddField(&data, config.issuer.token_file);
  if (config.bundle_signature) {
    AddField(&data, "bundle_signature");
    AddField(&data, config.bundle_signature->url);
    AddField(&data, std::to_string(config.bundle_signature->allowed_signers.size()));
    for (const core::PublicKey& signer : config.bundle_signature->allowed_signers) {
      AddField(&data, core::Sha256Fingerprint(signer.blob));
    }
  }
  core::Result<core::Sha256Digest> digest = core::Sha256(core::AsBytes(data));
  if (!digest) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : *digest) {
    hex += kHex[b >> 4];
    hex += kHex[b & 0xf];
  }
  return hex;
}

Validators ValidatorsToSend(const State& state, const Config& config) {
  const std::string now = TrustFingerprint(config);
  if (now.empty() || state.validators_for != now || ListedKeys(state).empty()) return Validators{};
  return state.validators;
}

State AdvanceState(const State& old, const std::vector<CaKey>& listed, int64_t now,
                   uint64_t keep_retired_seconds) {
  State next;
  next.validators = old.validators;
  next.validators_for = old.validators_for;
  for (const CaKey& key : listed) {
    KeyHistory k;
    k.key = key;
    k.first_seen = now;
    k.last_seen = now;
    k.listed = true;
    for (const KeyHistory& was : old.keys) {
      if (was.key.key != key.key) continue;
      // With the clock set back, |now| is earlier than what was recorded:
      // taking it as last_seen would retire the key early once the clock
      // is right again (and a changed first_seen would reorder the file).
      k.first_seen = was.first_seen;
      k.last_seen = std::max(was.last_seen, now);
    }
    next.keys.push_back(std::move(k));
  }
  // The latest retired time a key can get this round (saturated: a clock
  // can be anything).
  int64_t latest_retired = 0;
  if (keep_retired_seconds > static_cast<uint64_t>(INT64_MAX) ||
      __builtin_add_overflow(now, static_cast<int64_t>(keep_retired_seconds), &latest_retired)) {
    latest_retired = INT64_MAX;
  }
  for (const KeyHistory& was : old.keys) {
    bool still_listed = false;
    for (const CaKey& key : listed) still_listed = still_listed || key.key == was.key.key;
    if (still_listed) continue;
    KeyHistory k = was;
    k.listed = false;
    if (was.listed) {
      // The first answer without it: keep_retired counts from now, or from
      // its last listing when that is later (a clock behind now never
      // retires it early), but a last listing recorded while the clock was
      // far ahead does not keep it for years.
      k.retired = std::min(std::max(now, was.last_seen), latest_retired);
    } else if (!was.retired.has_value()) {
      // A state file from before retired times: last_seen was what
      // keep_retired counted from; capped the same way.
      k.retired = std::min(was.last_seen, latest_retired);
    }
    // A retired time still far ahead (the round that retired it ran with
    // the clock far ahead, or this one runs far behind): bounded from the
    // first round that finds it so, until the clock comes near it again.
    if (*k.retired > latest_retired) {
      if (!k.bounded.has_value()) k.bounded = latest_retired;
    } else {
      k.bounded.reset();
    }
    const int64_t age = now - k.bounded.value_or(*k.retired);
    if (age >= 0 && static_cast<uint64_t>(age) >= keep_retired_seconds) continue;
    next.keys.push_back(std::move(k));
  }
  return next;
}

std::vector<CaKey> ListedKeys(const State& state) {
  std::vector<CaKey> keys;
  for (const KeyHistory& k : state.keys) {
    if (k.listed) keys.push_back(k.key);
  }
  return keys;
}

std::vector<CaKey> TrustedKeys(const State& state) {
  std::vector<const KeyHistory*> order;
  for (const KeyHistory& k : state.keys) order.push_back(&k);
  std::stable_sort(order.begin(), order.end(), [](const KeyHistory* a, const KeyHistory* b) {
    if (a->first_seen != b->first_seen) return a->first_seen < b->first_seen;
    return a->key.key.blob < b->key.key.blob;  // same second: an order the issuer cannot shuffle
  });
  std::vector<CaKey> keys;
  for (const KeyHistory* k : order) keys.push_back(k->key);
  return keys;
}

core::Status MarkReloadPending(const std::string& state_dir) {
  return WriteInStateDir(state_dir, kReloadPendingFileName,
                         "sshd_config was installed; sshd has not been reloaded since\n");
}

core::Result<bool> ReloadPending(const std::string& state_dir) {
  const std::string path = ReloadMarkPath(state_dir);
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return Fail(Errc::kIo, "stat " + path + ": " + std::strerror(errno));
}

core::Status ClearReloadPending(const std::string& state_dir) {
  return RemoveFileDurably(ReloadMarkPath(state_dir));
}

core::Result<core::UniqueFd> LockStateDir(const std::string& state_dir) {
  core::Status made = MakeDir(state_dir);
  if (!made) return core::Unexpected{made.error()};
  const std::string path = state_dir + "/" + kLockFileName;
  // Anyone who can open the lock file can flock it and stop every round
  // ("another cafetch is running"): it must be ours alone, as the state
  // file is.
  core::Result<core::UniqueFd> fd = core::OpenPrivateLockFile(path, "stop every cafetch round");
  if (!fd) {
    if (fd.error().code != Errc::kIo) return fd;
    return Fail(Errc::kIo, "state_dir " + state_dir + ": " + fd.error().detail +
                               "; state_dir must be writable by root: fix it, or set state_dir in cafetch.yaml");
  }
  for (;;) {
    if (flock(fd->get(), LOCK_EX | LOCK_NB) == 0) return fd;
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) {
      return Fail(Errc::kIo, "another cafetch is running (" + path + " is locked)");
    }
    return Fail(Errc::kIo, "flock " + path + ": " + std::strerror(errno));
  }
}

}  // namespace certgate::cafetch
