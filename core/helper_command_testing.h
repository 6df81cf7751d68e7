// The fixture that helper_command_test.cc and
// helper_command_plain_key_test.cc share: principals-cmd's and keys-cmd's
// RunHelper with real ssh-keygen keys and certificates and a real policy
// file, and the key and policy text helpers around it. Header-only: every
// other .cc in core/ goes into certgate_core (core/CMakeLists.txt).
#ifndef CERTGATE_CORE_HELPER_COMMAND_TESTING_H_
#define CERTGATE_CORE_HELPER_COMMAND_TESTING_H_

#include <unistd.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/groups.h"
#include "core/helper_args.h"
#include "core/helper_command.h"
#include "core/log.h"
#include "core/result.h"
#include "tests/testing.h"

namespace certgate::core {

using ::certgate::testing::FirstLine;

// Pub returns the base64 field of the public key made by MakeKey at |path|.
inline std::string Pub(const std::string& path) { return ::certgate::testing::PubBase64(path + ".pub"); }

// KeyLine returns "ssh-ed25519 BASE64" of the key made by MakeKey at |path|.
inline std::string KeyLine(const std::string& path) {
  std::string line = FirstLine(::certgate::testing::ReadFile(path + ".pub"));
  return line.substr(0, line.rfind(' '));
}

// ProdHead is a policy's head: version and one authority, prod, whose CA
// is the key made by MakeKey at |ca|.
inline std::string ProdHead(const std::string& ca) {
  return "version: 1\n"
         "authorities:\n"
         "  prod:\n"
         "    keys: [\"" + FirstLine(::certgate::testing::ReadFile(ca + ".pub")) + "\"]\n";
}

// HelperCommandTest is the fixture: a CA (ca_), a CA the policy does not
// know (other_ca_) and alice's key (user_), made by ssh-keygen in one
// temporary directory, and a policy at policy_path_ whose rule ops gives
// alice the principal ops with no-pty; RunHelper runs with env_, logging
// to log_.
class HelperCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = ::certgate::testing::MakeKey(dir_, "ca", "ed25519");
    other_ca_ = ::certgate::testing::MakeKey(dir_, "other_ca", "ed25519");
    user_ = ::certgate::testing::MakeKey(dir_, "user", "ed25519");
    policy_path_ = dir_.Path("policy.yaml");
    WritePolicy(
        ProdHead(ca_) +
        "rules:\n"
        "  - name: ops\n"
        "    users: [alice]\n"
        "    authorities: [prod]\n"
        "    principals: [ops]\n"
        "    options: [no-pty]\n");
    env_.now = static_cast<uint64_t>(std::time(nullptr));
    env_.log = &log_;
    env_.groups = &groups_;
    env_.load.owner_uid = getuid();
    env_.load.trusted_root = ::certgate::testing::TempRoot();
  }

  // WritePolicy replaces the policy file with |text| (mode 0644).
  void WritePolicy(const std::string& text) { ::certgate::testing::WriteFile(policy_path_, text, 0644); }

  // Cert returns the base64 of a certificate of user_ signed by |ca| with
  // key id alice@example.com and the ssh-keygen arguments |args|; it is
  // also left in user_-cert.pub.
  std::string Cert(const std::string& ca, const std::vector<std::string>& args) {
    return ::certgate::testing::SignCert(ca, user_ + ".pub", "alice@example.com", args);
  }

  // Sshd returns what the helper |kind| answers to sshd's arguments |args|
  // (after --policy policy_path_), log_ holding only its records.
  HelperOutput Sshd(HelperKind kind, std::vector<std::string> args) {
    std::vector<std::string> full = {"--policy", policy_path_};
    full.insert(full.end(), args.begin(), args.end());
    Result<HelperOptions> o = ParseHelperArgs(kind, full);
    EXPECT_TRUE(o);
    log_.records.clear();
    return RunHelper(kind, *o, env_);
  }

  // ExpectExplainedOverTheLimit checks that --explain of |file| for alice
  // gives the same denial as the login, not "ALLOW" and the answer.
  void ExpectExplainedOverTheLimit(HelperKind kind, const std::string& file) {
    Result<HelperOptions> o = ParseHelperArgs(kind, {"--explain", "--user", "alice", "--policy", policy_path_, file});
    ASSERT_TRUE(o);
    HelperOutput explained = RunHelper(kind, *o, env_);
    EXPECT_EQ(explained.exit_code, 1);
    EXPECT_NE(explained.out.find("decision: DENY: the answer for sshd would be "), std::string::npos)
        << explained.out.substr(0, 2000);
    EXPECT_EQ(explained.out.find("sshd would read"), std::string::npos) << explained.out.substr(0, 2000);
  }

  // ExpectDeniedOverTheLimit checks an answer over the 4 MiB limit:
  // nothing printed, one deny record naming the limit.
  void ExpectDeniedOverTheLimit(const HelperOutput& out) {
    EXPECT_EQ(out.exit_code, 0);
    EXPECT_EQ(out.out, "");
    ASSERT_EQ(log_.records.size(), 1u);
    EXPECT_EQ(log_.records[0].Field("CERTGATE_DECISION"), "deny");
    EXPECT_NE(log_.records[0].Field("CERTGATE_REASON").find("over the limit of 4194304 bytes (4 MiB)"),
              std::string::npos)
        << log_.records[0].Field("CERTGATE_REASON");
  }

  ::certgate::testing::TempDir dir_;
  std::string ca_, other_ca_, user_, policy_path_;
  CaptureLogSink log_;
  StaticGroupResolver groups_;
  HelperEnv env_;
  const std::string kType = "ssh-ed25519-cert-v01@openssh.com";
};

}  // namespace certgate::core

#endif  // CERTGATE_CORE_HELPER_COMMAND_TESTING_H_
