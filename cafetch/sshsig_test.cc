#include "cafetch/sshsig.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base64.h"
#include "core/wire_reader.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using testing::TempDir;

// SshSigTest signs with the real `ssh-keygen -Y sign`.
class SshSigTest : public ::testing::Test {
 protected:
  core::PublicKey PublicKeyOf(const std::string& key) {
    auto parsed = core::ParsePublicKeyLine(testing::ReadFile(key + ".pub"));
    EXPECT_TRUE(parsed);
    return parsed ? parsed->key : core::PublicKey{};
  }
  // Sign returns the armored signature of |message| by |key|.
  std::string Sign(const std::string& key, const std::string& message, const std::string& ns,
                   const std::vector<std::string>& extra = {}) {
    const std::string file = dir_.Path("msg" + std::to_string(counter_++));
    testing::WriteFile(file, message);
    std::vector<std::string> argv = {"ssh-keygen", "-q", "-Y", "sign", "-n", ns, "-f", key};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(file);
    auto r = testing::Run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return testing::ReadFile(file + ".sig");
  }
  TempDir dir_;
  int counter_ = 0;
  const std::string message_ = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey ca\n";
};

TEST_F(SshSigTest, VerifiesRealSignaturesOfEachKeyType) {
  for (const auto& [type, bits] : std::vector<std::pair<std::string, int>>{{"ed25519", 0}, {"ecdsa", 256}, {"rsa", 2048}}) {
    const std::string key = testing::MakeKey(dir_, "signer-" + type, type, bits);
    const std::string sig = Sign(key, message_, std::string(kBundleNamespace));
    auto signer = VerifySshSig(sig, core::AsBytes(message_), kBundleNamespace, {PublicKeyOf(key)});
    ASSERT_TRUE(signer) << type << ": " << signer.error().detail;
    EXPECT_EQ(*signer, PublicKeyOf(key));
  }
}

TEST_F(SshSigTest, Sha256HashAlgorithm) {
  const std::string key = testing::MakeKey(dir_, "signer", "ed25519");
  const std::string sig = Sign(key, message_, std::string(kBundleNamespace), {"-O", "hashalg=sha256"});
  auto parsed = ParseArmoredSshSig(sig);
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(parsed->hash_algorithm, "sha256");
  EXPECT_TRUE(VerifySshSig(sig, core::AsBytes(message_), kBundleNamespace, {PublicKeyOf(key)}));
}

TEST_F(SshSigTest, RejectsWrongNamespaceKeyMessageAndSignature) {
  const std::string key = testing::MakeKey(dir_, "signer", "ed25519");
  const std::string other = testing::MakeKey(dir_, "other", "ed25519");
  const std::vector<core::PublicKey> allowed = {PublicKeyOf(key)};

  auto wrong_ns = VerifySshSig(Sign(key, message_, "file"), core::AsBytes(message_), kBundleNamespace, allowed);
  ASSERT_FALSE(wrong_ns);
  EXPECT_EQ(wrong_ns.error().code, Errc::kBadSignature);

  auto wrong_key = VerifySshSig(Sign(other, message_, std::string(kBundleNamespace)), core::AsBytes(message_),
                                kBundleNamespace, allowed);
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code, Errc::kBadSignature);

  const std::string sig = Sign(key, message_, std::string(kBundleNamespace));
  std::string tampered_message = message_;
  tampered_message[5] ^= 1;
  auto bad_message = VerifySshSig(sig, core::AsBytes(tampered_message), kBundleNamespace, allowed);
  ASSERT_FALSE(bad_message);
  EXPECT_EQ(bad_message.error().code, Errc::kBadSignature);

  EXPECT_FALSE(VerifySshSig(sig, core::AsBytes(message_), kBundleNamespace, {}));

  // Flip one bit inside the signature bytes (re-armored so base64 stays valid).
  auto parsed = ParseArmoredSshSig(sig);
  ASSERT_TRUE(parsed);
  std::string b64;
  {
    size_t a = sig.find('\n') + 1;
    size_t b = sig.find("-----END");
    for (char c : sig.substr(a, b - a)) {
      if (c != '\n') b64 += c;
    }
  }
  auto blob = core::Base64Decode(b64);
  ASSERT_TRUE(blob);
  (*blob)[blob->size() - 3] ^= 0x01;
  const std::string bad_sig = "-----BEGIN SSH SIGNATURE-----\n" + core::Base64Encode(*blob) +
                              "\n-----END SSH SIGNATURE-----\n";
  auto tampered = VerifySshSig(bad_sig, core::AsBytes(message_), kBundleNamespace, allowed);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error().code, Errc::kBadSignature);
}

TEST_F(SshSigTest, RejectsMalformedArmorAndBlobs) {
  EXPECT_FALSE(ParseArmoredSshSig(""));
  EXPECT_FALSE(ParseArmoredSshSig("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"));
  EXPECT_FALSE(ParseArmoredSshSig("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"));
  EXPECT_FALSE(ParseArmoredSshSig("junk\n-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"));
  EXPECT_FALSE(ParseArmoredSshSig(std::string(kMaxArmoredSignature + 1, 'A')));

  const std::string key = testing::MakeKey(dir_, "signer", "ed25519");
  const std::string sig = Sign(key, message_, std::string(kBundleNamespace));
  auto good = ParseArmoredSshSig(sig);
  ASSERT_TRUE(good) << good.error().detail;
  EXPECT_EQ(good->signature_namespace, kBundleNamespace);
  EXPECT_EQ(good->hash_algorithm, "sha512");

  // Rebuild the blob with variations.
  auto armor = [](const std::vector<uint8_t>& blob) {
    return "-----BEGIN SSH SIGNATURE-----\n" + core::Base64Encode(blob) + "\n-----END SSH SIGNATURE-----\n";
  };
  auto build = [&](uint32_t version, std::string_view hash, bool trailing) {
    core::WireWriter w;
    w.PutBytes(core::AsBytes("SSHSIG"));
    w.PutU32(version);
    w.PutString(std::span<const uint8_t>(good->key.blob));
    w.PutString(kBundleNamespace);
    w.PutString(std::string_view());
    w.PutString(hash);
    w.PutString(std::span<const uint8_t>(good->signature));
    if (trailing) w.PutU8(0);
    return w.Take();
  };
  EXPECT_TRUE(ParseArmoredSshSig(armor(build(1, "sha512", false))));
  auto trailing = ParseArmoredSshSig(armor(build(1, "sha512", true)));
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error().code, Errc::kTrailingData);
  EXPECT_FALSE(ParseArmoredSshSig(armor(build(2, "sha512", false))));
  auto md5 = ParseArmoredSshSig(armor(build(1, "md5", false)));
  ASSERT_FALSE(md5);
  EXPECT_EQ(md5.error().code, Errc::kUnsupportedType);
  // Every strict prefix fails.
  const std::vector<uint8_t> blob = build(1, "sha512", false);
  for (size_t n = 0; n < blob.size(); ++n) {
    EXPECT_FALSE(ParseArmoredSshSig(armor(std::vector<uint8_t>(blob.begin(), blob.begin() + static_cast<long>(n)))))
        << n;
  }
}

}  // namespace
}  // namespace certgate::cafetch
