// Fetcher tests against a real HTTPS server (tests/integration/https_issuer.py)
// with a test CA made by openssl.
#include "cafetch/fetcher.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cafetch/issuers.h"
#include "cafetch/sshsig.h"
#include "tests/testing.h"

extern char** environ;

namespace certgate::cafetch {
namespace {

using core::Errc;
using testing::TempDir;

std::string Script() { return testing::SourceDir() + "/tests/integration/https_issuer.py"; }

std::string Python() { return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"; }

// IssuerServer runs https_issuer.py serve for the life of the object.
class IssuerServer {
 public:
  IssuerServer(const std::string& root, const std::string& cert, const std::string& key, const std::string& log)
      : port_file_(root + "/../port-" + std::to_string(reinterpret_cast<uintptr_t>(this))) {
    std::vector<std::string> args = {Python(),  Script(), "serve",      "--root",     root, "--cert",
                                     cert,      "--key",  key,          "--port-file", port_file_, "--log", log};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 200 && pid_ > 0; ++i) {
      std::string text = testing::ReadFile(port_file_);
      if (!text.empty()) {
        port_ = std::stoi(text);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~IssuerServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    unlink(port_file_.c_str());
  }
  int port() const { return port_; }
  std::string Url(const std::string& path) const { return "https://127.0.0.1:" + std::to_string(port_) + "/" + path; }

 private:
  std::string port_file_;
  pid_t pid_ = -1;
  int port_ = 0;
};

class FetcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TempDir();
    auto r = testing::Run({Python(), Script(), "make-certs", pki_->Path("pki")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override {
    mkdir(dir_.Path("root").c_str(), 0755);
    server_ = std::make_unique<IssuerServer>(dir_.Path("root"), Pki("server.pem"), Pki("server.key"), dir_.Path("log"));
    ASSERT_GT(server_->port(), 0);
    key_line_ = testing::ReadFile(testing::MakeKey(dir_, "ca", "ed25519") + ".pub");
    testing::WriteFile(dir_.Path("root/keys"), key_line_);
  }
  static std::string Pki(const std::string& name) { return pki_->Path("pki/" + name); }
  HttpRequest Request(const std::string& path) {
    HttpRequest request;
    request.url = server_->Url(path);
    request.tls.ca_file = Pki("ca.pem");
    request.timeout_ms = 5000;
    return request;
  }
  Config MakeConfig(IssuerType type, const std::string& path) {
    Config config;
    config.issuer.type = type;
    config.issuer.url = server_->Url(path);
    config.issuer.tls.ca_file = Pki("ca.pem");
    config.issuer.timeout_seconds = 5;
    return config;
  }
  std::string Log() { return testing::ReadFile(dir_.Path("log")); }
  // LastRequest returns the log's last line: the last request the server got.
  std::string LastRequest() {
    std::string log = Log();
    if (!log.empty() && log.back() == '\n') log.pop_back();
    return log.substr(log.rfind('\n') + 1);
  }

  static TempDir* pki_;
  TempDir dir_;
  std::unique_ptr<IssuerServer> server_;
  std::string key_line_;
};

TempDir* FetcherTest::pki_ = nullptr;

TEST_F(FetcherTest, SuccessThenNotModifiedWithEtag) {
  auto first = HttpsFetch(Request("keys"));
  ASSERT_TRUE(first) << first.error().detail;
  EXPECT_EQ(first->status, FetchStatus::kOk);
  EXPECT_EQ(first->body, key_line_);
  ASSERT_FALSE(first->validators.etag.empty());
  EXPECT_FALSE(first->validators.last_modified.empty());

  HttpRequest again = Request("keys");
  again.validators = first->validators;
  auto second = HttpsFetch(again);
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_EQ(second->status, FetchStatus::kNotModified);
  EXPECT_TRUE(second->body.empty());
  EXPECT_NE(Log().find("If-None-Match"), std::string::npos);

  // Rotation: a changed answer is fetched in full again.
  testing::WriteFile(dir_.Path("root/keys"), key_line_ + key_line_);
  auto third = HttpsFetch(again);
  ASSERT_TRUE(third) << third.error().detail;
  EXPECT_EQ(third->status, FetchStatus::kOk);
  EXPECT_NE(third->validators.etag, first->validators.etag);
}

TEST_F(FetcherTest, NotModifiedByLastModified) {
  auto first = HttpsFetch(Request("keys"));
  ASSERT_TRUE(first) << first.error().detail;
  HttpRequest again = Request("keys");
  again.validators.last_modified = first->validators.last_modified;
  auto second = HttpsFetch(again);
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_EQ(second->status, FetchStatus::kNotModified);
  EXPECT_NE(Log().find("If-Modified-Since"), std::string::npos);
}

TEST_F(FetcherTest, HttpErrorsAreErrors) {
  auto e500 = HttpsFetch(Request("_mode/500/keys"));
  ASSERT_FALSE(e500);
  EXPECT_EQ(e500.error().code, Errc::kIo);
  EXPECT_NE(e500.error().detail.find("HTTP 500"), std::string::npos);
  auto e404 = HttpsFetch(Request("missing"));
  ASSERT_FALSE(e404);
  EXPECT_NE(e404.error().detail.find("HTTP 404; check the path in issuer.url"), std::string::npos)
      << e404.error().detail;
}

// 304 answers only a conditional request; to one without validators it
// says nothing about which keys hold, so it is an error, not "keep the
// last keys" (and not a redirect).
TEST_F(FetcherTest, NotModifiedToAnUnconditionalRequestIsAnError) {
  auto r = HttpsFetch(Request("_mode/not-modified/keys"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIo);
  EXPECT_EQ(r.error().detail, server_->Url("_mode/not-modified/keys") +
                                  ": HTTP 304 Not Modified to a request without validators");
  EXPECT_EQ(LastRequest().find("If-"), std::string::npos) << LastRequest();

  testing::WriteFile(dir_.Path("root/keys.mode"), "not-modified\n");
  auto keys = FetchCaKeys(MakeConfig(IssuerType::kVault, "keys"), {});
  ASSERT_FALSE(keys);
  EXPECT_EQ(keys.error().code, Errc::kIo);
  // With validators, the same answer means "not modified".
  auto conditional = FetchCaKeys(MakeConfig(IssuerType::kVault, "keys"), Validators{"\"v1\"", ""});
  ASSERT_TRUE(conditional) << conditional.error().detail;
  EXPECT_TRUE(conditional->not_modified);
  EXPECT_EQ(conditional->validators.etag, "\"v1\"");
}

// An ETag / Last-Modified longer than 1024 bytes or holding a byte outside
// printable ASCII is dropped, so the next request is not conditional on it;
// the other validator, if fine, is kept.
TEST_F(FetcherTest, ValidatorsThatAreTooLongOrNotPrintableAreNotKept) {
  const std::string at_limit = "\"" + std::string(1022, 'e') + "\"";
  testing::WriteFile(dir_.Path("root/keys.etag"), at_limit);
  auto kept = HttpsFetch(Request("keys"));
  ASSERT_TRUE(kept) << kept.error().detail;
  EXPECT_EQ(kept->validators.etag, at_limit);

  const std::string date = "Sun, 22 Nov 2026 10:00:00 GMT";
  testing::WriteFile(dir_.Path("root/keys.last-modified"), date);
  for (const std::string& etag : {"\"" + std::string(1023, 'e') + "\"", std::string("\"a\x01" "b\""),
                                  std::string("\"a\x7f" "b\""), std::string("\"caf\xe9\""),
                                  std::string("\"a\tb\"")}) {
    testing::WriteFile(dir_.Path("root/keys.etag"), etag);
    auto first = HttpsFetch(Request("keys"));
    ASSERT_TRUE(first) << first.error().detail;
    EXPECT_EQ(first->validators.etag, "") << etag;
    EXPECT_EQ(first->validators.last_modified, date) << etag;
    // The next request carries only the Last-Modified it kept.
    HttpRequest next = Request("keys");
    next.validators = first->validators;
    ASSERT_TRUE(HttpsFetch(next));
    EXPECT_EQ(LastRequest().find("If-None-Match"), std::string::npos) << LastRequest();
    EXPECT_NE(LastRequest().find("\"If-Modified-Since\": \"" + date + "\""), std::string::npos) << LastRequest();
  }

  ASSERT_EQ(unlink(dir_.Path("root/keys.etag").c_str()), 0);
  for (const std::string& modified : {date + std::string(1025 - date.size(), 'x'),
                                      std::string("Sun, 22 Nov 2026\x1b[2J 10:00:00 GMT")}) {
    testing::WriteFile(dir_.Path("root/keys.last-modified"), modified);
    auto first = FetchCaKeys(MakeConfig(IssuerType::kUrl, "keys"), {});
    ASSERT_TRUE(first) << first.error().detail;
    EXPECT_EQ(first->validators.last_modified, "");
    EXPECT_FALSE(first->validators.etag.empty());
    // Neither bad validator is sent back: with no ETag kept either, the
    // next request is unconditional and gets the whole answer again.
    Validators etag_dropped = first->validators;
    etag_dropped.etag.clear();
    auto next = FetchCaKeys(MakeConfig(IssuerType::kUrl, "keys"), etag_dropped);
    ASSERT_TRUE(next) << next.error().detail;
    EXPECT_FALSE(next->not_modified);
    EXPECT_EQ(next->keys.size(), 1u);
    EXPECT_EQ(LastRequest().find("If-"), std::string::npos) << LastRequest();
  }
}

TEST_F(FetcherTest, OversizedIsAborted) {
  auto r = HttpsFetch(Request("_mode/oversized/keys"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kTooLarge);
}

TEST_F(FetcherTest, SlowIsTimedOut) {
  HttpRequest request = Request("_mode/slow/keys");
  request.timeout_ms = 1500;
  const auto start = std::chrono::steady_clock::now();
  auto r = HttpsFetch(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(FetcherTest, RedirectsAreNotFollowed) {
  for (const char* mode : {"redirect-http", "redirect-https"}) {
    auto r = HttpsFetch(Request(std::string("_mode/") + mode + "/keys"));
    ASSERT_FALSE(r) << mode;
    EXPECT_EQ(r.error().code, Errc::kIo);
    EXPECT_NE(r.error().detail.find("redirect"), std::string::npos);
  }
  // Only the two redirecting requests reached the server.
  const std::string log = Log();
  EXPECT_EQ(log.find("\"/keys\""), std::string::npos) << log;
}

TEST_F(FetcherTest, OnlyHttps) {
  HttpRequest request = Request("keys");
  request.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/keys";
  auto r = HttpsFetch(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kUsage);
  request.url = "file:///etc/passwd";
  EXPECT_FALSE(HttpsFetch(request));
}

TEST_F(FetcherTest, UntrustedCertificatesAreRefused) {
  // The system store does not trust the test CA.
  HttpRequest system = Request("keys");
  system.tls.ca_file.clear();
  auto r1 = HttpsFetch(system);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, Errc::kIo);
  // A CA that did not sign the server's certificate.
  HttpRequest other = Request("keys");
  other.tls.ca_file = Pki("other-ca.pem");
  EXPECT_FALSE(HttpsFetch(other));
  EXPECT_TRUE(r1.error().detail.ends_with("; name the CA of the issuer's certificate in issuer.tls.ca_file"))
      << r1.error().detail;
  // A server certificate from another CA, one for another name and an
  // expired one: each says which check failed and what to do about it.
  const std::pair<const char*, const char*> cases[] = {
      {"other", "; name the CA of the issuer's certificate in issuer.tls.ca_file"},
      {"wrongname", "; the issuer's TLS certificate is not for the host named in issuer.url: use a name it was "
                    "issued for"},
      {"expired", "; the issuer's TLS certificate has expired: renew it (or, if it has not, set this host's clock)"},
  };
  for (const auto& [name, advice] : cases) {
    IssuerServer wrong(dir_.Path("root"), Pki(std::string(name) + ".pem"), Pki(std::string(name) + ".key"),
                       dir_.Path("log2"));
    ASSERT_GT(wrong.port(), 0);
    HttpRequest request = Request("keys");
    request.url = wrong.Url("keys");
    auto r = HttpsFetch(request);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, Errc::kIo);
    EXPECT_TRUE(r.error().detail.ends_with(advice)) << name << ": " << r.error().detail;
  }
}

// A transfer that fails before any HTTP answer says where to look.
TEST_F(FetcherTest, TransferFailuresSayWhatToCheck) {
  HttpRequest refused = Request("keys");
  refused.url = "https://127.0.0.1:1/keys";  // nothing listens on port 1
  auto r = HttpsFetch(refused);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIo);
  EXPECT_TRUE(r.error().detail.ends_with("; check the host and port in issuer.url and that the issuer is up"))
      << r.error().detail;
  HttpRequest stalled = Request("_mode/stall/keys");
  stalled.timeout_ms = 1000;
  auto t = HttpsFetch(stalled);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, Errc::kTimeout);
  EXPECT_TRUE(t.error().detail.ends_with("; check that the issuer is up, or raise issuer.timeout"))
      << t.error().detail;
  auto e500 = HttpsFetch(Request("_mode/500/keys"));
  ASSERT_FALSE(e500);
  EXPECT_EQ(e500.error().detail, server_->Url("_mode/500/keys") + ": HTTP 500; the issuer failed to answer: see its "
                                                                   "own logs");
}

TEST_F(FetcherTest, PinnedPublicKey) {
  std::string pin = testing::ReadFile(Pki("server.pin"));
  while (!pin.empty() && pin.back() == '\n') pin.pop_back();
  HttpRequest good = Request("keys");
  good.tls.pin_sha256 = {"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", pin};
  auto ok = HttpsFetch(good);
  ASSERT_TRUE(ok) << ok.error().detail;
  HttpRequest bad = Request("keys");
  bad.tls.pin_sha256 = {"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="};
  auto refused = HttpsFetch(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::kIo);
  EXPECT_TRUE(refused.error().detail.ends_with(
      "; the issuer's key is none of issuer.tls.pin_sha256: if the issuer changed its key, pin the new one "
      "(cafetch.yaml(5) shows how to compute it)"))
      << refused.error().detail;
}

TEST_F(FetcherTest, BadAnswersGiveNoKeys) {
  for (const char* mode : {"empty", "garbage"}) {
    const Config config = MakeConfig(IssuerType::kUrl, std::string("_mode/") + mode + "/keys");
    auto r = FetchCaKeys(config, {});
    ASSERT_FALSE(r) << mode;
    // Where the answer came from, and what to check.
    EXPECT_EQ(r.error().detail.rfind("the url issuer's answer from " + config.issuer.url + ": ", 0), 0u)
        << r.error().detail;
    EXPECT_TRUE(r.error().detail.ends_with("; check issuer.url and issuer.type")) << r.error().detail;
  }
  // A refusal that says what to do is not blurred by the generic advice.
  testing::WriteFile(dir_.Path("root/dsa"), "ssh-dss AAAAB3NzaC1kc3MAAACBAP8= old-ca\n");
  testing::WriteFile(dir_.Path("root/teleport"), "cert-authority " + key_line_);
  for (const char* path : {"dsa", "teleport"}) {
    auto r = FetchCaKeys(MakeConfig(IssuerType::kUrl, path), {});
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().detail.rfind("the url issuer's answer from " + server_->Url(path) + ": line 1: ", 0), 0u)
        << r.error().detail;
    EXPECT_EQ(r.error().detail.find("check issuer.url"), std::string::npos) << r.error().detail;
  }
  auto ok = FetchCaKeys(MakeConfig(IssuerType::kVault, "keys"), {});
  ASSERT_TRUE(ok) << ok.error().detail;
  ASSERT_EQ(ok->keys.size(), 1u);
  auto again = FetchCaKeys(MakeConfig(IssuerType::kVault, "keys"), ok->validators);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_TRUE(again->not_modified);
  EXPECT_EQ(again->validators.etag, ok->validators.etag);
}

TEST_F(FetcherTest, TokensAreSentAsEachIssuerExpects) {
  testing::WriteFile(dir_.Path("token"), "s.T0KEN-value\n", 0600);
  Config vault = MakeConfig(IssuerType::kVault, "keys");
  vault.issuer.token_file = dir_.Path("token");
  ASSERT_TRUE(FetchCaKeys(vault, {}));
  EXPECT_NE(Log().find("\"X-Vault-Token\": \"s.T0KEN-value\""), std::string::npos) << Log();

  Config cyberark = MakeConfig(IssuerType::kCyberark, "keys");
  cyberark.issuer.token_file = dir_.Path("token");
  ASSERT_TRUE(FetchCaKeys(cyberark, {}));
  EXPECT_NE(Log().find("\"Authorization\": \"Bearer s.T0KEN-value\""), std::string::npos) << Log();

  // step, teleport and url send it as a bearer token when one is set
  // (cafetch.yaml(5) token_file); only a local answer has no request to
  // carry it, and the config refuses token_file there (config.cc).
  const size_t blob_at = key_line_.find(' ') + 1;
  const std::string blob = key_line_.substr(blob_at, key_line_.find(' ', blob_at) - blob_at);
  testing::WriteFile(dir_.Path("root/step"), "{\"userKey\":[\"" + blob + "\"]}");
  testing::WriteFile(dir_.Path("root/teleport"), "cert-authority " + key_line_);
  for (const auto& [type, path] : {std::pair{IssuerType::kStep, "step"}, std::pair{IssuerType::kTeleport, "teleport"},
                                   std::pair{IssuerType::kUrl, "keys"}}) {
    Config bearer = MakeConfig(type, path);
    bearer.issuer.token_file = dir_.Path("token");
    auto sent = FetchCaKeys(bearer, {});
    ASSERT_TRUE(sent) << path << ": " << sent.error().detail;
    EXPECT_NE(LastRequest().find("\"Authorization\": \"Bearer s.T0KEN-value\""), std::string::npos)
        << path << ": " << LastRequest();
  }

  testing::WriteFile(dir_.Path("root/akeyless"), "{\"raw\":\"x\",\"ssh\":\"" + key_line_.substr(0, key_line_.size() - 1) + "\"}");
  Config akeyless = MakeConfig(IssuerType::kAkeyless, "akeyless");
  akeyless.issuer.token_file = dir_.Path("token");
  akeyless.issuer.name = "/ssh/ca \"1\"";
  auto r = FetchCaKeys(akeyless, {});
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_NE(Log().find(R"("method": "POST")"), std::string::npos);
  EXPECT_NE(Log().find(R"(\"name\":\"/ssh/ca \\\"1\\\"\",\"token\":\"s.T0KEN-value\")"), std::string::npos) << Log();

  // Without issuer.name (the spec's config has none): the token alone.
  akeyless.issuer.name.clear();
  auto unnamed = FetchCaKeys(akeyless, {});
  ASSERT_TRUE(unnamed) << unnamed.error().detail;
  EXPECT_NE(LastRequest().find(R"("body": "{\"token\":\"s.T0KEN-value\"}")"), std::string::npos) << LastRequest();
  // An issuer that refuses such a request: the error says what to set.
  akeyless.issuer.url = server_->Url("_mode/refused/akeyless");
  auto refused = FetchCaKeys(akeyless, {});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().detail.ends_with(
      ": HTTP 400; Akeyless's get-rsa-public needs the key's name: set issuer.name"))
      << refused.error().detail;
}

TEST_F(FetcherTest, TokenFileRules) {
  testing::WriteFile(dir_.Path("open"), "tok\n", 0644);
  auto open = ReadToken(dir_.Path("open"));
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().code, Errc::kUnsafePermissions);
  EXPECT_EQ(open.error().detail.find("tok\n"), std::string::npos);
  testing::WriteFile(dir_.Path("empty"), "\n", 0600);
  EXPECT_FALSE(ReadToken(dir_.Path("empty")));
  testing::WriteFile(dir_.Path("two"), "a b\n", 0600);
  EXPECT_FALSE(ReadToken(dir_.Path("two")));
  testing::WriteFile(dir_.Path("inject"), "a\r\nX-Evil: 1\n", 0600);
  EXPECT_FALSE(ReadToken(dir_.Path("inject")));
  testing::WriteFile(dir_.Path("big"), std::string(kMaxTokenBytes + 1, 'a'), 0600);
  EXPECT_FALSE(ReadToken(dir_.Path("big")));
  ASSERT_EQ(symlink(dir_.Path("good").c_str(), dir_.Path("link").c_str()), 0);
  testing::WriteFile(dir_.Path("good"), "tok\n", 0600);
  EXPECT_FALSE(ReadToken(dir_.Path("link")));
  auto good = ReadToken(dir_.Path("good"));
  ASSERT_TRUE(good) << good.error().detail;
  EXPECT_EQ(good->value(), "tok");
  EXPECT_FALSE(ReadToken(dir_.Path("missing")));
}

TEST_F(FetcherTest, LocalFiles) {
  Config file = MakeConfig(IssuerType::kFile, "");
  file.issuer.url = dir_.Path("root/keys");
  auto r = FetchCaKeys(file, {});
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->keys.size(), 1u);
  file.issuer.url = "file://" + dir_.Path("root/keys");
  EXPECT_TRUE(FetchCaKeys(file, {}));
  // An answer that does not parse names the setting the config gave.
  testing::WriteFile(dir_.Path("root/garbage"), "not a key\n");
  file.issuer.url = dir_.Path("root/garbage");
  file.issuer.url_key = "issuer.path";
  auto garbage = FetchCaKeys(file, {});
  ASSERT_FALSE(garbage);
  EXPECT_TRUE(garbage.error().detail.ends_with("; check issuer.path and issuer.type")) << garbage.error().detail;
  // A missing one names the setting and what to do, for the signature too.
  file.issuer.url = dir_.Path("root/missing");
  auto missing = FetchCaKeys(file, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().detail, "issuer.path " + dir_.Path("root/missing") +
                                        ": cannot open: No such file or directory; create or fix that file, or "
                                        "correct issuer.path in cafetch.yaml");
  auto signature = FetchSignature(file.issuer, dir_.Path("root/missing.sig"));
  ASSERT_FALSE(signature);
  EXPECT_EQ(signature.error().detail, "bundle_signature.url " + dir_.Path("root/missing.sig") +
                                          ": cannot open: No such file or directory; create or fix that file, or "
                                          "correct bundle_signature.url in cafetch.yaml");
  testing::WriteFile(dir_.Path("huge"), std::string(kMaxAnswerBytes + 1, '#'));
  auto huge = ReadLocalFile(dir_.Path("huge"));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, Errc::kTooLarge);
  EXPECT_FALSE(ReadLocalFile(dir_.Path("root")));
}

TEST_F(FetcherTest, BundleSignature) {
  const std::string signer = testing::MakeKey(dir_, "signer", "ed25519");
  auto r = testing::Run({"ssh-keygen", "-q", "-Y", "sign", "-n", std::string(kBundleNamespace), "-f", signer,
                         dir_.Path("root/keys")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Config config = MakeConfig(IssuerType::kUrl, "keys");
  config.bundle_signature.emplace();
  config.bundle_signature->url = server_->Url("keys.sig");
  config.bundle_signature->allowed_signers = {core::ParsePublicKeyLine(testing::ReadFile(signer + ".pub"))->key};
  auto ok = FetchCaKeys(config, {});
  ASSERT_TRUE(ok) << ok.error().detail;
  // The answer changes but the signature does not: refused.
  testing::WriteFile(dir_.Path("root/keys"), key_line_ + testing::ReadFile(signer + ".pub"));
  auto bad = FetchCaKeys(config, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kBadSignature);
  EXPECT_EQ(bad.error().detail,
            "bundle signature " + server_->Url("keys.sig") +
                ": signature does not verify (ed25519 signature): the answer changed after it was signed, or the "
                "signature is for another answer; re-sign the current answer with ssh-keygen -Y sign -n "
                "certgate-ca-bundle -f KEY ANSWER");
  // The signature URL is named without its userinfo or query.
  config.bundle_signature->url = "https://u:s3cret@" + server_->Url("keys.sig?token=s3cret").substr(8);
  auto redacted = FetchCaKeys(config, {});
  ASSERT_FALSE(redacted);
  EXPECT_EQ(redacted.error().code, Errc::kBadSignature) << redacted.error().detail;
  EXPECT_EQ(redacted.error().detail.find("s3cret"), std::string::npos) << redacted.error().detail;
  EXPECT_EQ(redacted.error().detail.rfind("bundle signature " + server_->Url("keys.sig") + ": ", 0), 0u)
      << redacted.error().detail;
  // A missing signature is an error too, and its advice names the
  // signature's setting, not issuer.url; the signature is fetched without
  // the issuer's token, so a refusal does not blame the token.
  config.bundle_signature->url = server_->Url("nothing.sig");
  auto missing = FetchCaKeys(config, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().detail, server_->Url("nothing.sig") + ": HTTP 404; check the path in bundle_signature.url");
  testing::WriteFile(dir_.Path("token"), "s.T0KEN-value\n", 0600);
  config.issuer.token_file = dir_.Path("token");
  config.bundle_signature->url = server_->Url("_mode/403/keys.sig");
  auto refused = FetchCaKeys(config, {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().detail, server_->Url("_mode/403/keys.sig") +
                                        ": HTTP 403; no token is sent for bundle_signature.url: serve the "
                                        "signature without one");
}

// 401 and 403 say what to do about the token: check the one sent, or set
// one when none was.
TEST_F(FetcherTest, AccessRefusalsNameTheToken) {
  Config vault = MakeConfig(IssuerType::kVault, "_mode/401/keys");
  auto without = FetchCaKeys(vault, {});
  ASSERT_FALSE(without);
  EXPECT_EQ(without.error().code, Errc::kIo);
  EXPECT_EQ(without.error().detail,
            server_->Url("_mode/401/keys") + ": HTTP 401; no token was sent: set issuer.token_file");
  testing::WriteFile(dir_.Path("token"), "s.T0KEN-value\n", 0600);
  vault.issuer.token_file = dir_.Path("token");
  vault.issuer.url = server_->Url("_mode/403/keys");
  auto with = FetchCaKeys(vault, {});
  ASSERT_FALSE(with);
  EXPECT_EQ(with.error().detail, server_->Url("_mode/403/keys") +
                                     ": HTTP 403; check the token in issuer.token_file and what it may read");
  // A 4xx other than these carries no token advice.
  vault.issuer.url = server_->Url("_mode/refused/keys");
  auto bad_request = FetchCaKeys(vault, {});
  ASSERT_FALSE(bad_request);
  EXPECT_EQ(bad_request.error().detail, server_->Url("_mode/refused/keys") + ": HTTP 400");
  // Akeyless without issuer.name: every 4xx also says to set it.
  Config akeyless = MakeConfig(IssuerType::kAkeyless, "_mode/401/akeyless");
  akeyless.issuer.token_file = dir_.Path("token");
  auto unnamed = FetchCaKeys(akeyless, {});
  ASSERT_FALSE(unnamed);
  EXPECT_EQ(unnamed.error().detail, server_->Url("_mode/401/akeyless") +
                                        ": HTTP 401; check the token in issuer.token_file and what it may read; "
                                        "Akeyless's get-rsa-public needs the key's name: set issuer.name");
  akeyless.issuer.url = server_->Url("_mode/500/akeyless");
  auto server_error = FetchCaKeys(akeyless, {});
  ASSERT_FALSE(server_error);
  EXPECT_EQ(server_error.error().detail,
            server_->Url("_mode/500/akeyless") + ": HTTP 500; the issuer failed to answer: see its own logs");
}

}  // namespace
}  // namespace certgate::cafetch
