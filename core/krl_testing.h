// The fixture that krl_test.cc and krl_crafted_test.cc share: keys,
// certificates and KRLs made by the real ssh-keygen in a temporary
// directory, and each key or certificate checked against a KRL both by
// ssh-keygen -Q and by ParseKrl and the lookups. Header-only: every other
// .cc in core/ goes into certgate_core (core/CMakeLists.txt).
#ifndef CERTGATE_CORE_KRL_TESTING_H_
#define CERTGATE_CORE_KRL_TESTING_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/certificate.h"
#include "core/krl.h"
#include "core/result.h"
#include "core/ssh_key.h"
#include "tests/testing.h"

namespace certgate::core {

// Bytes is a KRL, a key blob or a piece of either.
using Bytes = std::vector<uint8_t>;

// ErrcOf returns the error code of |r|, or nullopt if it succeeded.
inline std::optional<Errc> ErrcOf(const Result<Krl>& r) {
  if (r) return std::nullopt;
  return r.error().code;
}

// ToBytes and ToString copy between text and bytes.
inline Bytes ToBytes(std::string_view s) { return {s.begin(), s.end()}; }
inline std::string ToString(const Bytes& b) { return {b.begin(), b.end()}; }

// Answer is what checking one key against one KRL gives: what ssh-keygen -Q
// says (exit 0 ok, 1 revoked, 255 when the KRL does not load) or what
// ParseKrl and the lookups say.
enum class Answer { kOk, kRevoked, kLoadError };

// AnswerName returns the name of |a| for test messages.
inline const char* AnswerName(Answer a) {
  switch (a) {
    case Answer::kOk:
      return "ok";
    case Answer::kRevoked:
      return "revoked";
    case Answer::kLoadError:
      return "load error";
  }
  return "?";
}

// Item is one file ssh-keygen -Q is asked about: a certificate or a key.
struct Item {
  std::string file;
  std::optional<Certificate> cert;
  PublicKey key;  // the plain key when |cert| is empty
};

// KrlTest is the fixture: a CA (ca_, ed25519), another CA (other_ca_,
// ECDSA) and a user key (user_), made by ssh-keygen in dir_.
class KrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = ::certgate::testing::MakeKey(dir_, "ca", "ed25519");
    other_ca_ = ::certgate::testing::MakeKey(dir_, "other_ca", "ecdsa");
    user_ = ::certgate::testing::MakeKey(dir_, "user", "ed25519");
  }

  // Key returns the plain key in |pub_file|.
  PublicKey Key(const std::string& pub_file) {
    Result<Bytes> blob = Base64Decode(::certgate::testing::PubBase64(pub_file));
    EXPECT_TRUE(blob);
    Result<PublicKey> key = ParsePublicKeyBlob(blob ? *blob : Bytes{});
    EXPECT_TRUE(key) << pub_file;
    return key ? *key : PublicKey{};
  }

  // KeyItem returns the item of the plain key in |pub_file|.
  Item KeyItem(const std::string& pub_file) { return {pub_file, std::nullopt, Key(pub_file)}; }

  // CertItem signs |key|.pub with |ca|, |serial| and |id|; the certificate
  // is copied to its own file so that later signings do not replace it.
  Item CertItem(const std::string& ca, uint64_t serial, const std::string& id,
                const std::string& key = {}) {
    const std::string& k = key.empty() ? user_ : key;
    ::certgate::testing::SignCert(ca, k + ".pub", id, {"-n", "alice", "-z", std::to_string(serial)});
    std::string copy = dir_.Path("cert" + std::to_string(++cert_count_) + ".pub");
    ::certgate::testing::WriteFile(copy, ::certgate::testing::ReadFile(k + "-cert.pub"));
    Result<Bytes> blob = Base64Decode(::certgate::testing::PubBase64(copy));
    EXPECT_TRUE(blob);
    Result<Certificate> cert = ParseCertificate(blob ? *blob : Bytes{});
    EXPECT_TRUE(cert) << cert.error().detail;
    Item item{copy, std::nullopt, {}};
    if (cert) {
      item.key = cert->key;
      item.cert = *cert;
    }
    return item;
  }

  // GenKrl runs `ssh-keygen -k [-u] -f krl [-s CA] spec` (CA may be
  // "none"), |spec| being the text of a KRL spec file, and returns the KRL.
  Bytes GenKrl(const std::string& spec, const std::string& ca = {}, bool update = false) {
    ::certgate::testing::WriteFile(dir_.Path("spec"), spec);
    std::vector<std::string> argv = {"ssh-keygen", "-q", "-k", "-f", dir_.Path("krl")};
    if (update) argv.push_back("-u");
    if (!ca.empty()) {
      argv.push_back("-s");
      argv.push_back(ca == "none" ? ca : ca + ".pub");
    }
    argv.push_back(dir_.Path("spec"));
    auto r = ::certgate::testing::Run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err << "\nspec:\n" << spec;
    return ToBytes(::certgate::testing::ReadFile(dir_.Path("krl")));
  }

  // SshKeygen asks the real `ssh-keygen -Q` about every item at once.
  std::vector<Answer> SshKeygen(const Bytes& krl, const std::vector<Item>& items) {
    ::certgate::testing::WriteFile(dir_.Path("q.krl"), ToString(krl));
    std::vector<std::string> argv = {"ssh-keygen", "-Q", "-f", dir_.Path("q.krl")};
    for (const Item& item : items) argv.push_back(item.file);
    auto r = ::certgate::testing::Run(argv);
    std::vector<Answer> answers;
    if (r.exit_code != 0 && r.exit_code != 1) {
      answers.assign(items.size(), Answer::kLoadError);
      return answers;
    }
    std::string_view out = r.out;
    while (!out.empty()) {
      std::string_view line = out.substr(0, out.find('\n'));
      out.remove_prefix(std::min(out.size(), line.size() + 1));
      if (line.ends_with(": ok")) answers.push_back(Answer::kOk);
      if (line.ends_with(": REVOKED")) answers.push_back(Answer::kRevoked);
    }
    EXPECT_EQ(answers.size(), items.size()) << r.out << r.err;
    return answers;
  }

  // Ours returns what ParseKrl and the lookups say of every item.
  static std::vector<Answer> Ours(const Bytes& krl, const std::vector<Item>& items) {
    Result<Krl> parsed = ParseKrl(krl);
    std::vector<Answer> answers;
    for (const Item& item : items) {
      if (!parsed) {
        answers.push_back(Answer::kLoadError);
      } else if (item.cert ? parsed->IsCertificateRevoked(*item.cert)
                           : parsed->IsKeyRevoked(item.key)) {
        answers.push_back(Answer::kRevoked);
      } else {
        answers.push_back(Answer::kOk);
      }
    }
    return answers;
  }

  // ExpectAgree checks every item against |krl| with ssh-keygen -Q and with
  // our code; it returns how many items ssh-keygen found revoked.
  int ExpectAgree(const Bytes& krl, const std::vector<Item>& items, const std::string& what) {
    std::vector<Answer> theirs = SshKeygen(krl, items);
    std::vector<Answer> ours = Ours(krl, items);
    int revoked = 0;
    for (size_t i = 0; i < items.size() && i < theirs.size(); ++i) {
      std::string desc = items[i].cert ? "serial " + std::to_string(items[i].cert->serial) +
                                             " id " + items[i].cert->key_id
                                       : "plain key";
      EXPECT_EQ(AnswerName(ours[i]), std::string(AnswerName(theirs[i])))
          << what << ": " << items[i].file << " (" << desc << ")";
      if (theirs[i] == Answer::kRevoked) ++revoked;
    }
    return revoked;
  }

  // Blob returns the blob of the plain key in |pub_file|.
  Bytes Blob(const std::string& pub_file) { return Key(pub_file).blob; }

  ::certgate::testing::TempDir dir_;
  std::string ca_, other_ca_, user_;
  int cert_count_ = 0;
};

}  // namespace certgate::core

#endif  // CERTGATE_CORE_KRL_TESTING_H_
