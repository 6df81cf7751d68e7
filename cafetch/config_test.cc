#include "cafetch/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using testing::TempDir;

std::string Issues(const ConfigLoadResult& r) {
  std::string out;
  for (const auto& issue : r.issues) out += issue.ToString() + "\n";
  return out;
}

constexpr char kMinimal[] = R"(issuer:
  type: vault
  url: https://vault.example.com:8200/v1/ssh-client-signer/public_key
)";

TEST(ConfigTest, DefaultJitterIsNeverLongerThanAShortInterval) {
  auto r = ParseConfigText(std::string(kMinimal) + "interval: 30s\n", "c.yaml");
  ASSERT_TRUE(r.config) << Issues(r);
  EXPECT_EQ(r.config->interval_seconds, 30u);
  EXPECT_EQ(r.config->jitter_seconds, 30u);
  r = ParseConfigText(std::string(kMinimal) + "interval: 2m\n", "c.yaml");
  ASSERT_TRUE(r.config) << Issues(r);
  EXPECT_EQ(r.config->jitter_seconds, 60u);
}

// The audit's case: an invalid interval is reported as itself, not as a
// jitter "longer than interval (0s)" whose advice (shorten jitter) would
// not fix the file; jitter is measured against a valid interval only.
TEST(ConfigTest, AnInvalidIntervalIsReportedAsItselfNotAsJitter) {
  auto r = ParseConfigText(std::string(kMinimal) + "interval: 0\njitter: 1s\n", "c.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(Issues(r), "c.yaml:4:11: interval must be at least 1s\n");
  r = ParseConfigText(std::string(kMinimal) + "jitter: 10m\ninterval: 5x\n", "c.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(Issues(r).find("jitter"), std::string::npos) << Issues(r);
  EXPECT_EQ(Issues(r).rfind("c.yaml:5:11: interval: bad duration \"5x\"", 0), 0u) << Issues(r);
  // With a valid interval, a longer jitter is still reported.
  r = ParseConfigText(std::string(kMinimal) + "interval: 1m\njitter: 2m\n", "c.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(Issues(r),
            "c.yaml:5:9: jitter must not be longer than interval (60s): shorten jitter or lengthen interval\n");
}

// YAML allows a byte order mark at the start; columns count without it.
// The audit's case: issues come in file order, though jitter is checked
// only once interval is known, after every key.
TEST(ConfigTest, IssuesAreInFileOrder) {
  auto r = ParseConfigText(std::string("jitter: 10m\ninterval: 1m\nbogus: 1\n") + kMinimal, "c.yaml");
  ASSERT_EQ(r.issues.size(), 2u) << Issues(r);
  EXPECT_EQ(r.issues[0].where.line, 1) << Issues(r);
  EXPECT_NE(r.issues[0].message.find("jitter must not be longer than interval"), std::string::npos) << Issues(r);
  EXPECT_EQ(r.issues[1].where.line, 3) << Issues(r);
}

// A missing key comes after the other issues, though its mapping starts
// before them: it is often their consequence, and the cause comes first.
TEST(ConfigTest, AMissingKeyComesAfterTheIssueThatMayCauseIt) {
  auto r = ParseConfigText("interval: 0s\nisuer:\n  type: file\n  path: /etc/ca.pub\n", "c.yaml");
  EXPECT_EQ(Issues(r),
            "c.yaml:1:11: interval must be at least 1s\n"
            "c.yaml:2:1: unknown key \"isuer\" in the config file; did you mean \"issuer\"?\n"
            "c.yaml:1:1: missing issuer: cafetch needs to know where the CA keys come from\n");
  r = ParseConfigText("issuer:\n  url: https://ca.example.com/keys\n  tpye: vault\nbundle_signature: {}\n", "c.yaml");
  EXPECT_EQ(Issues(r),
            "c.yaml:3:3: unknown key \"tpye\" in issuer; did you mean \"type\"?\n"
            "c.yaml:2:3: issuer needs a type: one of vault, step, akeyless, cyberark, teleport, url, file\n"
            "c.yaml:4:19: bundle_signature needs a url\n"
            "c.yaml:4:19: bundle_signature needs allowed_signers\n");
}

TEST(ConfigTest, AByteOrderMarkAtTheStartIsAllowed) {
  auto r = ParseConfigText("\xef\xbb\xbf" + std::string(kMinimal), "c.yaml");
  ASSERT_TRUE(r.config) << Issues(r);
  r = ParseConfigText("\xef\xbb\xbf" "interval: 0s\n" + std::string(kMinimal), "c.yaml");
  EXPECT_EQ(Issues(r).substr(0, 43), "c.yaml:1:11: interval must be at least 1s\n");
}

TEST(ConfigTest, MinimalGetsDefaults) {
  auto r = ParseConfigText(kMinimal, "c.yaml");
  ASSERT_TRUE(r.config) << Issues(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.issuer.type, IssuerType::kVault);
  EXPECT_EQ(c.issuer.timeout_seconds, 10u);
  EXPECT_TRUE(c.issuer.tls.ca_file.empty());
  EXPECT_FALSE(c.bundle_signature);
  EXPECT_EQ(c.interval_seconds, 300u);
  EXPECT_EQ(c.jitter_seconds, 60u);
  EXPECT_EQ(c.keep_retired_seconds, 86400u);
  EXPECT_EQ(c.trusted_user_ca_keys, "/etc/ssh/certgate/trusted_user_ca_keys");
  EXPECT_EQ(c.state_dir, "/var/lib/certgate");
  EXPECT_EQ(c.sshd.config, "/etc/ssh/sshd_config");
  EXPECT_EQ(c.sshd.binary, "/usr/sbin/sshd");
  EXPECT_TRUE(c.sshd.manage_principals_command);
  EXPECT_EQ(c.sshd.reload, ReloadMode::kAuto);
  EXPECT_EQ(c.sshd.accept_sha1_rsa, AcceptSha1Rsa::kAuto);
}

TEST(ConfigTest, FullConfig) {
  TempDir dir;
  const std::string signer = testing::ReadFile(testing::MakeKey(dir, "signer", "ed25519") + ".pub");
  const std::string text = std::string(R"(issuer:
  type: akeyless
  url: https://api.akeyless.io/get-rsa-public
  name: /ssh/user-ca
  tls:
    ca_file: /etc/certgate/issuer-ca.pem
    pin_sha256: ["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]
  token_file: /etc/certgate/issuer-token
  timeout: 30s
bundle_signature:
  url: https://vault.example.com/ca-bundle.sig
  allowed_signers: [")") + signer.substr(0, signer.size() - 1) + R"("]
interval: 10m
jitter: 2m
keep_retired: 2d
trusted_user_ca_keys: /etc/ssh/ca.pub
state_dir: /var/lib/x
sshd:
  config: /etc/ssh/other_config
  binary: /usr/local/sbin/sshd
  manage_principals_command: false
  reload: signal
  accept_sha1_rsa: true
)";
  auto r = ParseConfigText(text, "c.yaml");
  ASSERT_TRUE(r.config) << Issues(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.issuer.type, IssuerType::kAkeyless);
  EXPECT_EQ(c.issuer.name, "/ssh/user-ca");
  EXPECT_EQ(c.issuer.tls.ca_file, "/etc/certgate/issuer-ca.pem");
  ASSERT_EQ(c.issuer.tls.pin_sha256.size(), 1u);
  EXPECT_EQ(c.issuer.token_file, "/etc/certgate/issuer-token");
  EXPECT_EQ(c.issuer.timeout_seconds, 30u);
  ASSERT_TRUE(c.bundle_signature);
  EXPECT_EQ(c.bundle_signature->allowed_signers.size(), 1u);
  EXPECT_EQ(c.interval_seconds, 600u);
  EXPECT_EQ(c.jitter_seconds, 120u);
  EXPECT_EQ(c.keep_retired_seconds, 172800u);
  EXPECT_EQ(c.trusted_user_ca_keys, "/etc/ssh/ca.pub");
  EXPECT_EQ(c.state_dir, "/var/lib/x");
  EXPECT_EQ(c.sshd.config, "/etc/ssh/other_config");
  EXPECT_EQ(c.sshd.binary, "/usr/local/sbin/sshd");
  EXPECT_FALSE(c.sshd.manage_principals_command);
  EXPECT_EQ(c.sshd.reload, ReloadMode::kSignal);
  EXPECT_EQ(c.sshd.accept_sha1_rsa, AcceptSha1Rsa::kTrue);
  EXPECT_TRUE(IssuerSignsWithSha1(c.issuer.type));
}

// The spec's issuer keys are enough for akeyless: name is optional.
TEST(ConfigTest, AkeylessWithoutName) {
  auto r = ParseConfigText("issuer:\n  type: akeyless\n  url: https://api.akeyless.io/get-rsa-public\n"
                           "  token_file: /etc/certgate/issuer-token\n",
                           "c.yaml");
  ASSERT_TRUE(r.config) << Issues(r);
  EXPECT_EQ(r.config->issuer.name, "");
}

struct BadCase {
  const char* text;
  const char* issue;  // the whole first issue, FILE:LINE:COLUMN: message
};

// A misspelt key is reported once, not again as the key it was meant to
// be ("pth" is not also "issuer needs a url").
TEST(ConfigTest, AMisspeltIssuerKeyIsOneIssue) {
  auto path = ParseConfigText("issuer:\n  type: file\n  pth: /etc/ca.pub\n", "c.yaml");
  EXPECT_FALSE(path.config);
  EXPECT_EQ(Issues(path), "c.yaml:3:3: unknown key \"pth\" in issuer; did you mean \"path\"?\n");
  auto token = ParseConfigText("issuer:\n  type: akeyless\n  url: https://x/\n  token_fil: /t\n", "c.yaml");
  EXPECT_EQ(Issues(token), "c.yaml:4:3: unknown key \"token_fil\" in issuer; did you mean \"token_file\"?\n");
  // Without a misspelling, the missing key is still said.
  EXPECT_EQ(Issues(ParseConfigText("issuer:\n  type: akeyless\n  url: https://x/\n", "c.yaml")),
            "c.yaml:2:3: an akeyless issuer needs token_file\n");
}

TEST(ConfigTest, ErrorsPointAtTheProblem) {
  const BadCase cases[] = {
      {"", "c.yaml:1:1: empty config file; it needs at least an issuer"},
      {"interval: 5m\n", "c.yaml:1:1: missing issuer: cafetch needs to know where the CA keys come from"},
      {"issuer:\n  type: vault\n  url: https://x/\n  urll: https://y/\n",
       "c.yaml:4:3: unknown key \"urll\" in issuer; did you mean \"url\"?"},
      {"issuer:\n  type: vault\n  url: https://x/\n  colour: red\n",
       "c.yaml:4:3: unknown key \"colour\" in issuer; use one of: type, url, path, name, tls, token_file, timeout"},
      {"issuer:\n  type: vault\n  url: https://x/\n  type: step\n", "c.yaml:4:3: duplicate key \"type\"; keep only one"},
      {"issuer:\n  type: hashicorp\n  url: https://x/\n",
       "c.yaml:2:9: issuer.type must be one of vault, step, akeyless, cyberark, teleport, url, file, not \"hashicorp\""},
      {"issuer:\n  type: vault\n  url: http://x/\n", "c.yaml:3:8: issuer.url must start with https://, not \"http://x/\""},
      // Neither a password nor a token in the URL is repeated in the message.
      {"issuer:\n  type: vault\n  url: http://admin:s3cr3t@vault.example/v1/ssh/public_key?token=hvs.SECRET\n",
       "c.yaml:3:8: issuer.url must start with https://, not \"http://vault.example/v1/ssh/public_key\""},
      {"issuer: [1]\n", "c.yaml:1:9: issuer must be a mapping (key: value lines), not a list"},
      {"issuer:\n  type: vault\n  url: https://x/\ninterval: 0\n", "c.yaml:4:11: interval must be at least 1s"},
      {"issuer:\n  type: vault\n  url: https://x/\nsshd:\n  reload: sometimes\n",
       "c.yaml:5:11: sshd.reload must be auto, systemd, signal or none, not \"sometimes\""},
      {"issuer:\n  type: vault\n  url: https://x/\nsshd:\n  manage_principals_command: \"true\"\n",
       "c.yaml:5:30: sshd.manage_principals_command must be true or false (without quotes)"},
      {"issuer:\n  type: vault\n  url: https://x/\nstate_dir: var/lib\n",
       "c.yaml:4:12: state_dir must be an absolute path, not \"var/lib\""},
      {"issuer:\n  type: vault\n  url: https://x/\nstate_dir: \"/var/lib\\tcertgate\"\n",
       "c.yaml:4:12: state_dir must be an absolute path, not \"/var/lib\\x09certgate\""},
      {"issuer:\n  type: vault\n  url: https://x/\ntrusted_user_ca_keys: /etc/ssh/user ca keys\n",
       "c.yaml:4:23: trusted_user_ca_keys is written into sshd_config, so it must not contain blanks, quotes or "
       "backslashes, not \"/etc/ssh/user ca keys\""},
      {"issuer:\n  type: vault\n  url: https://x/\ntrusted_user_ca_keys: '/etc/ssh/\"ca\"'\n",
       "c.yaml:4:23: trusted_user_ca_keys is written into sshd_config, so it must not contain blanks, quotes or "
       "backslashes, not \"/etc/ssh/\"ca\"\""},
      {"issuer: &a\n  type: vault\n", "c.yaml:1:9: anchors (&name) are not allowed; write the value out in full"},
      {"issuer:\n  type: !!str vault\n", "c.yaml:2:9: tags (!tag) are not allowed; remove \"!!str\""},
      {"issuer:\n  type: vault\n  url: https://x/\n  name: k\n",
       "c.yaml:4:9: issuer.name is used only by an akeyless issuer"},
      {"issuer:\n  type: cyberark\n  url: https://x/\n", "c.yaml:2:3: a cyberark issuer needs token_file"},
      // A local answer sends no request: a token there would be ignored.
      {"issuer:\n  type: file\n  path: /etc/certgate/ca.pub\n  token_file: /etc/certgate/issuer-token\n",
       "c.yaml:4:15: issuer.token_file is not used by a file issuer, which reads a local file and sends no token; "
       "remove it"},
      {"issuer:\n  type: file\n  token_file: /etc/certgate/issuer-token\n  url: file:///etc/certgate/ca.pub\n",
       "c.yaml:3:15: issuer.token_file is not used by a file issuer, which reads a local file and sends no token; "
       "remove it"},
      {"issuer:\n  type: url\n  url: /etc/certgate/ca.pub\n  token_file: /etc/certgate/issuer-token\n",
       "c.yaml:4:15: issuer.token_file is not used with a local issuer.url, which is read as a file and sends no "
       "token; remove it, or give an https:// url"},
      // Nor does it make a TLS connection: a pin there would check nothing.
      {"issuer:\n  type: file\n  path: /etc/certgate/ca.pub\n  tls:\n    ca_file: /etc/certgate/ca.pem\n",
       "c.yaml:5:5: issuer.tls is not used by a file issuer, which reads a local file over no connection; remove it"},
      {"issuer:\n  type: url\n  url: file:///etc/certgate/ca.pub\n  tls: {pin_sha256: []}\n",
       "c.yaml:4:8: issuer.tls is not used with a local issuer.url, which is read as a file over no connection; "
       "remove it, or give an https:// url"},
      {"issuer:\n  type: file\n  url: https://x/\n",
       "c.yaml:3:8: issuer.url of a file issuer must be an absolute path or file:///path"},
      {"issuer:\n  type: vault\n  url: https://x/\n  tls:\n    pin_sha256: abc\n",
       "c.yaml:5:17: issuer.tls.pin_sha256 entries are the base64 SHA-256 of the SubjectPublicKeyInfo (44 "
       "characters ending in '='); see cafetch.yaml(5)"},
      {"issuer:\n  type: vault\n  url: https://x/\n  timeout: 1h\n", "c.yaml:4:12: issuer.timeout must be from 1s to 5m"},
      {"issuer:\n  type: vault\n  url: https://x/\njitter: 10m\n", "c.yaml:4:9: jitter must not be longer than interval (300s): shorten jitter or lengthen interval"},
      {"issuer:\n  type: vault\n  url: https://x/\ninterval: 30s\njitter: 31s\n",
       "c.yaml:5:9: jitter must not be longer than interval (30s): shorten jitter or lengthen interval"},
      {"issuer:\n  type: vault\n  url: https://x/\nbundle_signature:\n  url: https://x/sig\n",
       "c.yaml:5:3: bundle_signature needs allowed_signers"},
      {"issuer:\n  type: vault\n  url: https://x/\nbundle_signature:\n  url: https://x/sig\n  allowed_signers: [\"ssh-ed25519 AAAA\"]\n",
       nullptr},
      {"issuer:\n  type: vault\n  url: https://x/\nbundle_signature:\n  url: https://x/sig\n  allowed_signers: []\n",
       "c.yaml:6:20: bundle_signature.allowed_signers is empty; list the public key lines of the keys that sign "
       "the bundle, or remove bundle_signature"},
      {"issuer:\n  type: vault\n  url: https://x/\n---\nissuer: {}\n",
       "c.yaml:4:1: a config file holds one YAML document; remove the second one"},
      {"issuer:\n  type: vault\n  url: [https://x/\n", nullptr},
  };
  for (const BadCase& c : cases) {
    auto r = ParseConfigText(c.text, "c.yaml");
    EXPECT_FALSE(r.config) << c.text;
    ASSERT_FALSE(r.issues.empty()) << c.text;
    if (c.issue != nullptr) {
      EXPECT_EQ(r.issues[0].ToString(), c.issue) << c.text;
    }
  }
}

// token_file is accepted by every issuer that sends it (vault's
// X-Vault-Token, akeyless's body, a bearer token for the others); the
// local ones are ErrorsPointAtTheProblem's.
// The audit's case: a trusted_user_ca_keys naming cafetch's state file
// was overwritten with key lines, and every later round failed; naming the
// issuer's file overwrote cafetch's own input. Refused where it is set.
TEST(ConfigTest, TrustedUserCaKeysMayNotNameAFileCafetchOwnsOrReads) {
  const std::string head = "issuer:\n  type: file\n  path: /etc/certgate/ca.pub\n";
  const std::string tail =
      ": each round would replace it with the CA keys; name a file of its own (the default is "
      "/etc/ssh/certgate/trusted_user_ca_keys)";
  struct Case {
    std::string text;
    std::string issue;
  };
  const std::vector<Case> cases = {
      {head + "trusted_user_ca_keys: /var/lib/certgate/cafetch.state\n",
       "c.yaml:4:23: trusted_user_ca_keys \"/var/lib/certgate/cafetch.state\" is inside state_dir "
       "\"/var/lib/certgate\", cafetch's own directory" + tail},
      {head + "state_dir: /srv/state/\ntrusted_user_ca_keys: /srv/./state//lock\n",
       "c.yaml:5:23: trusted_user_ca_keys \"/srv/./state//lock\" is inside state_dir \"/srv/state/\", "
       "cafetch's own directory" + tail},
      // Not set: the default key file, inside the state_dir that is.
      {head + "state_dir: /etc/ssh/certgate\n",
       "c.yaml:4:12: trusted_user_ca_keys \"/etc/ssh/certgate/trusted_user_ca_keys\" is inside state_dir "
       "\"/etc/ssh/certgate\", cafetch's own directory" + tail},
      {head + "trusted_user_ca_keys: /etc/certgate/ca.pub\n",
       "c.yaml:4:23: trusted_user_ca_keys \"/etc/certgate/ca.pub\" is also issuer.path" + tail},
      {head + "trusted_user_ca_keys: /etc/ssh/sshd_config\n",
       "c.yaml:4:23: trusted_user_ca_keys \"/etc/ssh/sshd_config\" is also sshd.config" + tail},
      {head + "trusted_user_ca_keys: /etc/ssh/sshd_config.d/05-certgate.conf\n",
       "c.yaml:4:23: trusted_user_ca_keys \"/etc/ssh/sshd_config.d/05-certgate.conf\" is a .conf file in "
       "sshd_config.d, which sshd reads as its configuration" + tail},
      {"issuer:\n  type: vault\n  url: https://x/\n  token_file: /etc/certgate/token\n"
       "trusted_user_ca_keys: /etc/certgate/../certgate/token\n",
       "c.yaml:5:23: trusted_user_ca_keys \"/etc/certgate/../certgate/token\" is also issuer.token_file" + tail},
  };
  for (const Case& c : cases) {
    auto r = ParseConfigText(c.text, "c.yaml");
    EXPECT_FALSE(r.config) << c.text;
    ASSERT_EQ(r.issues.size(), 1u) << c.text << Issues(r);
    EXPECT_EQ(r.issues[0].ToString(), c.issue);
  }
  // A file of its own beside them is fine.
  for (const char* keys : {"/etc/ssh/certgate/trusted_user_ca_keys", "/etc/ssh/sshd_config.d/keys",
                           "/var/lib/certgate-keys"}) {
    auto r = ParseConfigText(head + "trusted_user_ca_keys: " + keys + "\n", "c.yaml");
    EXPECT_TRUE(r.config) << keys << ": " << Issues(r);
  }
}

TEST(ConfigTest, TokenFileForEveryIssuerThatSendsIt) {
  for (const char* type : {"vault", "step", "akeyless", "cyberark", "teleport", "url"}) {
    auto r = ParseConfigText(std::string("issuer:\n  type: ") + type +
                                 "\n  url: https://issuer.example/x\n  token_file: /etc/certgate/issuer-token\n",
                             "c.yaml");
    ASSERT_TRUE(r.config) << type << ": " << Issues(r);
    EXPECT_EQ(r.config->issuer.token_file, "/etc/certgate/issuer-token") << type;
  }
}

// A type that is given but wrong is one issue, not also "needs a type".
TEST(ConfigTest, ABadIssuerTypeIsOneIssue) {
  for (const char* text : {"issuer:\n  type: hashicorp\n  url: https://x/\n",
                           "issuer:\n  type: [vault]\n  url: https://x/\n"}) {
    auto r = ParseConfigText(text, "c.yaml");
    EXPECT_FALSE(r.config);
    EXPECT_EQ(r.issues.size(), 1u) << Issues(r);
  }
  auto missing = ParseConfigText("issuer:\n  url: https://x/\n", "c.yaml");
  ASSERT_EQ(missing.issues.size(), 1u) << Issues(missing);
  EXPECT_EQ(missing.issues[0].ToString(),
            "c.yaml:2:3: issuer needs a type: one of vault, step, akeyless, cyberark, teleport, url, file");
}

// Nesting: the root mapping is level 1, so a mapping |levels| deep puts
// key kN on line N+1 at column 2N+1 ("issuer:\n  k1:\n    k2: ...").
std::string NestedMappings(int levels) {
  std::string text = "issuer:\n";
  for (int i = 1; i < levels; ++i) {
    text += std::string(static_cast<size_t>(2 * i), ' ') + "k" + std::to_string(i) + ":\n";
  }
  return text + std::string(static_cast<size_t>(2 * levels), ' ') + "leaf\n";
}

TEST(ConfigTest, NestedDeeperThanSixteenLevelsIsRefusedAtItsLine) {
  // 16 levels: read, then refused by the grammar (not for its depth).
  auto at_limit = ParseConfigText(NestedMappings(16), "c.yaml");
  EXPECT_FALSE(at_limit.config);
  ASSERT_FALSE(at_limit.issues.empty());
  EXPECT_EQ(at_limit.issues[0].ToString(),
            "c.yaml:2:3: unknown key \"k1\" in issuer; use one of: type, url, path, name, tls, token_file, timeout");
  // 17 levels: the 17th mapping starts with key k16 on line 17.
  auto deeper = ParseConfigText(NestedMappings(17), "c.yaml");
  EXPECT_FALSE(deeper.config);
  EXPECT_EQ(Issues(deeper), "c.yaml:17:33: nested too deeply\n");
  // Flow lists count the same: issuer's value opens at column 9.
  auto flow_at_limit = ParseConfigText("issuer: " + std::string(15, '[') + std::string(15, ']') + "\n", "c.yaml");
  EXPECT_EQ(Issues(flow_at_limit), "c.yaml:1:9: issuer must be a mapping (key: value lines), not a list\n");
  auto flow_deeper = ParseConfigText("issuer: " + std::string(16, '[') + std::string(16, ']') + "\n", "c.yaml");
  EXPECT_EQ(Issues(flow_deeper), "c.yaml:1:24: nested too deeply\n");
}

// ListOfItems is "issuer:" followed by |items| list items, one per line:
// 3 + |items| nodes (the root mapping, the key, the list and its items).
std::string ListOfItems(size_t items) {
  std::string text = "issuer:\n";
  for (size_t i = 0; i < items; ++i) text += "- a\n";
  return text;
}

TEST(ConfigTest, MoreThanTenThousandNodesIsRefusedAtTheNodeOverTheLimit) {
  // 10,000 nodes: read, then refused by the grammar.
  auto at_limit = ParseConfigText(ListOfItems(10000 - 3), "c.yaml");
  EXPECT_EQ(Issues(at_limit), "c.yaml:2:1: issuer must be a mapping (key: value lines), not a list\n");
  // Node 10,001 is the 9,998th item, on line 9,999.
  auto over = ParseConfigText(ListOfItems(10000 - 2), "c.yaml");
  EXPECT_FALSE(over.config);
  EXPECT_EQ(Issues(over), "c.yaml:9999:3: config file too complex\n");
}

TEST(ConfigTest, UrlIssuerMayBeLocal) {
  auto r = ParseConfigText("issuer:\n  type: url\n  url: file:///etc/certgate/keys\n", "c.yaml");
  EXPECT_TRUE(r.config) << Issues(r);
  auto f = ParseConfigText("issuer:\n  type: file\n  url: /etc/certgate/keys\n", "c.yaml");
  EXPECT_TRUE(f.config) << Issues(f);
}

TEST(ConfigTest, FileIssuerMayNameItsFileWithPath) {
  auto p = ParseConfigText("issuer:\n  type: file\n  path: /etc/certgate/keys\n", "c.yaml");
  ASSERT_TRUE(p.config) << Issues(p);
  EXPECT_EQ(p.config->issuer.url, "/etc/certgate/keys");
  EXPECT_EQ(p.config->issuer.url_key, "issuer.path");  // what messages name
  auto by_url = ParseConfigText("issuer:\n  type: file\n  url: /etc/certgate/keys\n", "c.yaml");
  ASSERT_TRUE(by_url.config) << Issues(by_url);
  EXPECT_EQ(by_url.config->issuer.url_key, "issuer.url");
  auto both = ParseConfigText(
      "issuer:\n  type: file\n  url: /etc/certgate/a\n  path: /etc/certgate/b\n", "c.yaml");
  EXPECT_FALSE(both.config);
  EXPECT_EQ(Issues(both), "c.yaml:4:9: give issuer.url or issuer.path, not both\n");
  auto vault = ParseConfigText("issuer:\n  type: vault\n  path: /etc/certgate/keys\n", "c.yaml");
  EXPECT_FALSE(vault.config);
  EXPECT_EQ(Issues(vault),
            "c.yaml:3:9: issuer.path is only for a file issuer; give this issuer a url\n");
  auto relative = ParseConfigText("issuer:\n  type: file\n  path: keys\n", "c.yaml");
  EXPECT_FALSE(relative.config);
  EXPECT_NE(Issues(relative).find("c.yaml:3:9: issuer.path must be an absolute path"),
            std::string::npos) << Issues(relative);
  auto none = ParseConfigText("issuer:\n  type: file\n", "c.yaml");
  EXPECT_FALSE(none.config);
  EXPECT_NE(Issues(none).find("issuer needs a url (or, for a file issuer, a path)"),
            std::string::npos) << Issues(none);
}

TEST(ConfigTest, LoadChecksTheFile) {
  TempDir dir;
  const std::string path = dir.Path("cafetch.yaml");
  testing::WriteFile(path, kMinimal, 0644);
  ConfigLoadOptions options;
  options.owner_uid = getuid();
  auto ok = LoadConfig(path, options);
  EXPECT_TRUE(ok.config) << Issues(ok);
  chmod(path.c_str(), 0666);
  auto writable = LoadConfig(path, options);
  ASSERT_FALSE(writable.config);
  EXPECT_NE(writable.issues[0].message.find("writable by group or others"), std::string::npos);
  chmod(path.c_str(), 0644);
  ASSERT_EQ(symlink(path.c_str(), dir.Path("link.yaml").c_str()), 0);
  EXPECT_FALSE(LoadConfig(dir.Path("link.yaml"), options).config);
  EXPECT_FALSE(LoadConfig(dir.Path("missing.yaml"), options).config);
  options.owner_uid = getuid() + 1;
  auto other_owner = LoadConfig(path, options);
  EXPECT_FALSE(other_owner.config);
  EXPECT_EQ(Issues(other_owner), path + ":1:1: unsafe permissions: owned by uid " + std::to_string(getuid()) +
                                     ", not uid " + std::to_string(options.owner_uid) + "; run chown " +
                                     std::to_string(options.owner_uid) + " " + path + "\n");
  testing::WriteFile(dir.Path("big.yaml"), std::string(kMaxConfigFileSize + 1, '#'), 0644);
  EXPECT_FALSE(LoadConfig(dir.Path("big.yaml"), ConfigLoadOptions{false, 0}).config);
}

// A directory or a FIFO is refused at once: the open does not wait for a
// writer, and nothing is read from it.
TEST(ConfigTest, LoadRefusesWhatIsNotARegularFile) {
  TempDir dir;
  ConfigLoadOptions options;
  options.owner_uid = getuid();
  const std::string directory = dir.Path("cafetch.yaml.d");
  ASSERT_EQ(mkdir(directory.c_str(), 0755), 0);
  auto d = LoadConfig(directory, options);
  EXPECT_FALSE(d.config);
  EXPECT_EQ(Issues(d), directory + ":1:1: not a regular file; name cafetch.yaml itself with --config\n");
  const std::string fifo = dir.Path("fifo.yaml");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  auto f = LoadConfig(fifo, options);
  EXPECT_FALSE(f.config);
  EXPECT_EQ(Issues(f), fifo + ":1:1: not a regular file; name cafetch.yaml itself with --config\n");
}

}  // namespace
}  // namespace certgate::cafetch
