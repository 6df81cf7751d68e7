// cafetch.yaml: the agent's configuration, loaded with libyaml's event API
// as strictly as a policy file (unknown keys, wrong kinds, duplicate keys,
// anchors, aliases and tags are errors reported as FILE:LINE:COLUMN).
// man/cafetch.yaml.5 documents every key.
#ifndef CERTGATE_CAFETCH_CONFIG_H_
#define CERTGATE_CAFETCH_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.h"
#include "core/policy_loader.h"  // core::Issue
#include "core/ssh_key.h"

namespace certgate::cafetch {

// kDefaultConfigPath is where cafetch looks without --config.
inline constexpr const char kDefaultConfigPath[] = "/etc/certgate/cafetch.yaml";
// kMaxConfigFileSize caps cafetch.yaml.
inline constexpr size_t kMaxConfigFileSize = 256 * 1024;
// kMinIntervalSeconds is the shortest allowed `interval` (tests use
// seconds; a fleet keeps minutes). After a failure the daemon waits at
// least kBackoffFloorSeconds (daemon.h) whatever the interval.
inline constexpr uint64_t kMinIntervalSeconds = 1;
// kMaxTimeoutSeconds bounds issuer.timeout.
inline constexpr uint64_t kMaxTimeoutSeconds = 300;

// IssuerType is where the CA keys come from (issuer.type).
enum class IssuerType { kVault, kStep, kAkeyless, kCyberark, kTeleport, kUrl, kFile };

// IssuerTypeName returns the config spelling, e.g. "vault".
std::string_view IssuerTypeName(IssuerType type);
// IssuerTypeFromName maps the config spelling to a type, or nullopt.
std::optional<IssuerType> IssuerTypeFromName(std::string_view name);
// IssuerSignsWithSha1 returns true for issuers known to sign user
// certificates with SHA-1 `ssh-rsa` (Akeyless); used by accept_sha1_rsa: auto.
bool IssuerSignsWithSha1(IssuerType type);

// ReloadMode is sshd.reload.
enum class ReloadMode { kAuto, kSystemd, kSignal, kNone };
// AcceptSha1Rsa is sshd.accept_sha1_rsa.
enum class AcceptSha1Rsa { kAuto, kTrue, kFalse };

// TlsConfig is issuer.tls.
struct TlsConfig {
  // ca_file: PEM bundle trusted for the issuer's certificate; empty means
  // the system store.
  std::string ca_file;
  // pin_sha256: base64 SHA-256 of acceptable SubjectPublicKeyInfo (each
  // decodes to 32 bytes); empty means no pin. Any one must match.
  std::vector<std::string> pin_sha256;
};

// IssuerConfig is issuer.
struct IssuerConfig {
  IssuerType type = IssuerType::kUrl;
  // url: "https://..." for every network type. For `file` an absolute path
  // (or "file:///abs/path"); `url` also accepts those two local forms.
  std::string url;
  // url_key: the key that gave |url|, for messages: "issuer.url", or
  // "issuer.path" (file issuers may say either).
  std::string url_key = "issuer.url";
  // name: the Akeyless key name sent in the get-rsa-public body (issuer.name;
  // required for akeyless, rejected for every other type).
  std::string name;
  TlsConfig tls;
  // token_file: absolute path of the token (empty: none). Required for
  // akeyless and cyberark; refused for a local answer (file, or url with a
  // local path), which no request carries. See fetcher.h ReadToken for its
  // rules.
  std::string token_file;
  uint64_t timeout_seconds = 10;  // 1 .. kMaxTimeoutSeconds
};

// BundleSignatureConfig is bundle_signature: the issuer's answer (the exact
// bytes of the body) must carry an SSHSIG with namespace certgate-ca-bundle
// by one of |allowed_signers|.
struct BundleSignatureConfig {
  // url: where the armored signature is (https://, or a local path / file://
  // when the issuer is local); fetched with issuer.tls and issuer.timeout.
  std::string url;
  // allowed_signers: parsed `keytype base64 [comment]` lines (at least one).
  std::vector<core::PublicKey> allowed_signers;
};

// SshdConfig is sshd.
struct SshdConfig {
  std::string config = "/etc/ssh/sshd_config";
  std::string binary = "/usr/sbin/sshd";
  bool manage_principals_command = true;
  ReloadMode reload = ReloadMode::kAuto;
  AcceptSha1Rsa accept_sha1_rsa = AcceptSha1Rsa::kAuto;
};

// Config is a whole, validated cafetch.yaml. Paths are absolute.
struct Config {
  IssuerConfig issuer;
  std::optional<BundleSignatureConfig> bundle_signature;
  uint64_t interval_seconds = 300;  // >= kMinIntervalSeconds
  uint64_t jitter_seconds = 60;     // <= interval_seconds
  uint64_t keep_retired_seconds = 24 * 3600;
  std::string trusted_user_ca_keys = "/etc/ssh/certgate/trusted_user_ca_keys";
  std::string state_dir = "/var/lib/certgate";
  SshdConfig sshd;
};

// ConfigLoadResult is a loaded config, or why there is none: |config| is
// set only when |issues| is empty.
struct ConfigLoadResult {
  std::optional<Config> config;
  std::vector<core::Issue> issues;
};

// ConfigLoadOptions controls file checks (tests run as non-root users).
struct ConfigLoadOptions {
  // check_permissions: the file must be owned by root (or |owner_uid|) and
  // not writable by group or others.
  bool check_permissions = true;
  unsigned owner_uid = 0;
};

// ParseConfigText parses |text| (named |file_name| in issues) and checks
// every value (required keys, URL schemes, paths absolute, durations, pins,
// allowed_signers keys, name only for akeyless, ...). Never throws.
ConfigLoadResult ParseConfigText(std::string_view text, std::string_view file_name);

// LoadConfig opens |path| with O_NOFOLLOW|O_CLOEXEC, checks it with fstat
// (regular file, at most kMaxConfigFileSize, owner and mode per |options|)
// and parses it. File problems are issues at FILE:1:1.
ConfigLoadResult LoadConfig(const std::string& path, const ConfigLoadOptions& options = {});

// ReportConfigIssues logs each issue of a configuration that could not be
// loaded ("configuration: FILE:LINE:COLUMN: ...", CERTGATE_EVENT=config)
// and, with |to_stderr|, says it on stderr too (where the log records do
// not go: neither --verbose nor the journal's stream). --once, --dry-run
// and the daemon report them alike.
void ReportConfigIssues(const std::vector<core::Issue>& issues, core::LogSink* log, bool to_stderr);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_CONFIG_H_
