// Tests of the key history through RunOnce (agent.cc): when a key the
// issuer stopped listing is retired and dropped, keys adopted from
// cafetch's own key file when the state is lost, when key events are
// logged, and the state file's size limit. The fixture is agent_testing.h's.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cafetch/agent.h"
#include "cafetch/agent_testing.h"
#include "cafetch/state.h"
#include "core/ssh_key.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::LargeRsaKeyLine;
using ::certgate::testing::ReadFile;
using ::certgate::testing::WriteFile;

// LargeKeys returns |count| LargeRsaKeyLine lines from |first| on.
std::string LargeKeys(uint32_t first, uint32_t count) {
  std::string out;
  for (uint32_t i = first; i < first + count; ++i) out += LargeRsaKeyLine(i) + "\n";
  return out;
}

// Fp returns the SHA256 fingerprint of the public key line |pub|.
std::string Fp(const std::string& pub) {
  auto k = core::ParsePublicKeyLine(pub.substr(0, pub.find('\n')));
  EXPECT_TRUE(k);
  return k ? core::Sha256Fingerprint(k->key.blob) : "";
}

// The audit's lockout: after an issuer outage longer than keep_retired,
// the first answer without the old key dropped it at once, and with it the
// certificates it signed just before. keep_retired counts from that
// answer, and key_retired says until when.
TEST_F(AgentTest, AnOutageLongerThanKeepRetiredDoesNotDropARetiredKeyAtOnce) {
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);
  ASSERT_TRUE(Run(1000));
  WriteFile(dir_.Path("issuer.pub"), ca_b_);  // first answer after 5 x keep_retired
  auto retired = Run(1500);
  ASSERT_TRUE(retired) << retired.error().detail;
  EXPECT_EQ(retired->Summary(), "unchanged");
  EXPECT_EQ(TrustedBlobs(), (std::vector<std::string>{Blob(ca_a_), Blob(ca_b_)}));
  EXPECT_EQ(Logged("key_retired"),
            std::vector<std::string>{"CA key " + Fp(ca_a_) +
                                     " is no longer listed by the issuer: still trusted until 1970-01-01T00:26:40Z "
                                     "(keep_retired 100s from 1970-01-01T00:25:00Z)"});
  EXPECT_TRUE(Logged("key_dropped").empty());
  ASSERT_TRUE(Run(1599));
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  ASSERT_TRUE(Run(1600));
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_b_)});
  EXPECT_EQ(Logged("key_dropped"),
            std::vector<std::string>{"CA key " + Fp(ca_a_) +
                                     " is no longer listed and keep_retired has passed since it was retired at "
                                     "1970-01-01T00:25:00Z: no longer trusted"});
}

// The audit's case: one round with the clock far ahead (faketime
// @4102444800) recorded last_seen in 2100, and the key retired later was
// kept until then. It goes 2 x keep_retired after the round that retired
// it at most, and clock_behind names the keys recorded ahead of the clock.
TEST_F(AgentTest, ARoundWithTheClockFarAheadKeepsARetiredKeyAtMostTwiceKeepRetired) {
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);
  ASSERT_TRUE(Run(4102444800));
  ASSERT_TRUE(Run(2000));
  const std::vector<std::string> behind = Logged("clock_behind");
  ASSERT_EQ(behind.size(), 1u);
  EXPECT_NE(behind[0].find("the clock (1970-01-01T00:33:20Z) is behind the key history (latest "
                           "2100-01-01T00:00:00Z): recorded times are kept; keys recorded ahead of the clock: "),
            std::string::npos)
      << behind[0];
  for (const std::string& pub : {ca_a_, ca_b_}) {
    EXPECT_NE(behind[0].find(Fp(pub) + " first seen 2100-01-01T00:00:00Z, last seen 2100-01-01T00:00:00Z"),
              std::string::npos)
        << behind[0];
  }
  WriteFile(dir_.Path("issuer.pub"), ca_b_);
  ASSERT_TRUE(Run(2010));
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  ASSERT_TRUE(Run(2010 + 199));
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  ASSERT_TRUE(Run(2010 + 200));
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_b_)});
}

// The second audit's case: the round that found ca_a gone ran with the
// clock a year ahead; back at the right time, keep_retired 0s (the way to
// stop trusting a retired key at once) left it in the key file, "unchanged".
TEST_F(AgentTest, KeepRetiredZeroDropsAKeyRetiredWithTheClockFarAhead) {
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);
  ASSERT_TRUE(Run(1000));
  WriteFile(dir_.Path("issuer.pub"), ca_b_);
  ASSERT_TRUE(Run(1000 + 365 * 86400));
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  config_.keep_retired_seconds = 0;
  auto dropped = Run(2000);
  ASSERT_TRUE(dropped) << dropped.error().detail;
  EXPECT_NE(dropped->Summary(), "unchanged");
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_b_)});
  const std::vector<std::string> events = Logged("key_dropped");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].find(", a time recorded ahead of the clock and bounded by the first round that found it so: "
                           "no longer trusted"),
            std::string::npos)
      << events[0];
}

// The audit's lockout: a lost or removed state file (or a new state_dir)
// dropped the retired keys still within keep_retired at once, with no
// key_dropped. The keys of cafetch's own key file that the state does not
// know and the issuer does not list are adopted as retired now, kept for
// keep_retired, and said so once (key_adopted).
TEST_F(AgentTest, AfterTheStateIsLostCafetchsRetiredKeysStayForKeepRetired) {
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);
  ASSERT_TRUE(Run(1000));
  WriteFile(dir_.Path("issuer.pub"), ca_b_);
  ASSERT_TRUE(Run(1010));  // a retired
  ASSERT_EQ(unlink((config_.state_dir + "/cafetch.state").c_str()), 0);
  auto dry = Run(1020, /*dry_run=*/true);
  ASSERT_TRUE(dry) << dry.error().detail;
  EXPECT_EQ(dry->diff.find("-ssh-ed25519"), std::string::npos) << dry->diff;
  EXPECT_TRUE(Logged("key_adopted").empty());
  auto adopted = Run(1020);
  ASSERT_TRUE(adopted) << adopted.error().detail;
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  EXPECT_EQ(Logged("key_adopted"),
            std::vector<std::string>{"CA key " + Fp(ca_a_) + " is in " + config_.trusted_user_ca_keys +
                                     ", which cafetch wrote, but not in its state (the state file was lost or "
                                     "removed, or state_dir changed) and the issuer does not list it: kept as a "
                                     "retired key, still trusted until 1970-01-01T00:18:40Z (keep_retired 100s "
                                     "from now)"});
  EXPECT_TRUE(Logged("key_dropped").empty());
  auto state = LoadState(config_.state_dir);
  ASSERT_TRUE(state);
  ASSERT_EQ(state->keys.size(), 2u);
  EXPECT_FALSE(state->keys[1].listed);
  EXPECT_EQ(state->keys[1].retired, 1020);
  ASSERT_TRUE(Run(1119));
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  EXPECT_EQ(Logged("key_adopted").size(), 1u);  // once
  ASSERT_TRUE(Run(1120));
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_b_)});
  EXPECT_EQ(Logged("key_dropped").size(), 1u);

  // A new state_dir is the same case.
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);
  ASSERT_TRUE(Run(1200));
  WriteFile(dir_.Path("issuer.pub"), ca_a_);
  ASSERT_TRUE(Run(1210));  // b retired
  config_.state_dir = dir_.Path("state2");
  ASSERT_TRUE(Run(1220));
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  EXPECT_EQ(Logged("key_adopted").size(), 2u);
}

// A retired RSA CA last listed by an issuer that signs with SHA-1
// (Akeyless) made cafetch tell sshd to accept SHA-1 ssh-rsa certificates;
// the state that said so is lost. The adopted key keeps that acceptance
// for as long as it is kept, since the installed lines had it, and loses
// it with the key. Without such lines, an adopted RSA key gets none.
TEST_F(AgentTest, AnAdoptedRsaKeyKeepsTheSha1AcceptanceTheInstalledLinesGaveIt) {
  if (!SshdNeedsSha1Lines()) GTEST_SKIP() << "sshd before 8.2 accepts SHA-1 without any line";
  WriteFile(config_.sshd.config, BaseConfig());
  config_.sshd.accept_sha1_rsa = AcceptSha1Rsa::kAuto;
  ASSERT_NO_FATAL_FAILURE(SaveRetiredSha1RsaState(995));
  ASSERT_TRUE(Run(1000));  // the file issuer lists ca_a_ only
  ASSERT_NE(ReadFile(config_.sshd.config).find("CASignatureAlgorithms +ssh-rsa\n"), std::string::npos)
      << ReadFile(config_.sshd.config);

  ASSERT_EQ(unlink((config_.state_dir + "/cafetch.state").c_str()), 0);
  auto adopted = Run(1010);
  ASSERT_TRUE(adopted) << adopted.error().detail;
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  EXPECT_NE(ReadFile(config_.sshd.config).find("CASignatureAlgorithms +ssh-rsa\n"), std::string::npos)
      << ReadFile(config_.sshd.config);
  ASSERT_EQ(Logged("key_adopted").size(), 1u);
  EXPECT_NE(Logged("key_adopted")[0].find(Fp(ca_rsa_) + " is in " + config_.trusted_user_ca_keys),
            std::string::npos)
      << Logged("key_adopted")[0];
  EXPECT_NE(Logged("key_adopted")[0].find("(keep_retired 100s from now), and its SHA-1 ssh-rsa certificates stay "
                                          "accepted as the installed sshd configuration accepts them"),
            std::string::npos)
      << Logged("key_adopted")[0];
  auto state = LoadState(config_.state_dir);
  ASSERT_TRUE(state);
  ASSERT_EQ(state->keys.size(), 2u);
  EXPECT_TRUE(state->keys[1].sha1_issuer);
  // The next round knows it from the state.
  ASSERT_TRUE(Run(1109));
  EXPECT_NE(ReadFile(config_.sshd.config).find("CASignatureAlgorithms +ssh-rsa\n"), std::string::npos);
  // keep_retired after the round that adopted it, the key and the lines go.
  ASSERT_TRUE(Run(1110));
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_a_)});
  EXPECT_EQ(ReadFile(config_.sshd.config).find("ssh-rsa"), std::string::npos) << ReadFile(config_.sshd.config);

  // The same RSA key retired from an issuer not known to sign with SHA-1:
  // no line installed, so none comes back with the adopted key.
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_rsa_);
  ASSERT_TRUE(Run(1200));
  WriteFile(dir_.Path("issuer.pub"), ca_a_);
  ASSERT_TRUE(Run(1210));
  ASSERT_EQ(unlink((config_.state_dir + "/cafetch.state").c_str()), 0);
  ASSERT_TRUE(Run(1220));
  EXPECT_EQ(TrustedBlobs().size(), 2u);
  ASSERT_EQ(Logged("key_adopted").size(), 2u);
  EXPECT_EQ(Logged("key_adopted")[1].find("SHA-1"), std::string::npos) << Logged("key_adopted")[1];
  EXPECT_EQ(ReadFile(config_.sshd.config).find("ssh-rsa"), std::string::npos) << ReadFile(config_.sshd.config);
}

// keep_retired 0 keeps no retired key, adopted ones included: the way to
// stop trusting a retired key at once (a compromised CA key), whatever the
// state knows. Each goes with key_dropped.
TEST_F(AgentTest, KeepRetiredZeroDropsRetiredAndUnknownKeysAtOnce) {
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);
  ASSERT_TRUE(Run(1000));
  WriteFile(dir_.Path("issuer.pub"), ca_b_);
  ASSERT_TRUE(Run(1010));
  ASSERT_EQ(unlink((config_.state_dir + "/cafetch.state").c_str()), 0);
  config_.keep_retired_seconds = 0;
  ASSERT_TRUE(Run(1020));
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_b_)});
  EXPECT_TRUE(Logged("key_adopted").empty());
  ASSERT_EQ(Logged("key_dropped").size(), 1u);
  EXPECT_NE(Logged("key_dropped")[0].find(Fp(ca_a_) + " in " + config_.trusted_user_ca_keys +
                                         " is not listed by the issuer and keep_retired is 0: no longer trusted"),
            std::string::npos)
      << Logged("key_dropped")[0];
}

// A key file cafetch did not write (the admin's own, from before cafetch
// took over) is replaced by the issuer's keys, as the spec has it, and
// each key it no longer trusts is logged (key_dropped).
TEST_F(AgentTest, AnAdminsOwnKeyFileIsReplacedAndItsKeysDroppedAreLogged) {
  WriteFile(config_.sshd.config, BaseConfig());
  mkdir(dir_.Path("etc/certgate").c_str(), 0755);
  WriteFile(config_.trusted_user_ca_keys, "# our CA\n" + ca_a_ + ca_b_);
  WriteFile(dir_.Path("issuer.pub"), ca_b_);
  auto r = Run(1000);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_b_)});
  EXPECT_TRUE(Logged("key_adopted").empty());
  EXPECT_EQ(Logged("key_dropped"),
            std::vector<std::string>{"CA key " + Fp(ca_a_) + " in " + config_.trusted_user_ca_keys +
                                     " is not listed by the issuer and cafetch did not write that file: no longer "
                                     "trusted (cafetch trusts the issuer's keys, and the keys it retired for "
                                     "keep_retired)"});
}

// The audit's case: --dry-run, and rounds that fail ("nothing changed"),
// logged key_retired and key_dropped for changes that never happened, a
// failing round every time. They are logged once, by the round that
// commits them.
TEST_F(AgentTest, KeyEventsAreLoggedOnlyByTheRoundThatCommitsThem) {
  WriteFile(config_.sshd.config, BaseConfig());
  WriteFile(dir_.Path("issuer.pub"), ca_a_ + ca_b_);
  ASSERT_TRUE(Run(1000));
  WriteFile(dir_.Path("issuer.pub"), ca_b_);
  auto dry = Run(1010, /*dry_run=*/true);
  ASSERT_TRUE(dry) << dry.error().detail;
  EXPECT_TRUE(Logged("key_retired").empty());
  const std::string sshd = config_.sshd.binary;
  config_.sshd.binary = dir_.Path("no-such-sshd");  // fails after the history is worked out
  EXPECT_FALSE(Run(1010));
  EXPECT_FALSE(Run(1020));
  EXPECT_TRUE(Logged("key_retired").empty());
  config_.sshd.binary = sshd;
  ASSERT_TRUE(Run(1030));
  ASSERT_EQ(Logged("key_retired").size(), 1u);
  EXPECT_NE(Logged("key_retired")[0].find("until 1970-01-01T00:18:50Z"), std::string::npos)
      << Logged("key_retired")[0];
  ASSERT_TRUE(Run(1040));
  EXPECT_EQ(Logged("key_retired").size(), 1u);  // once

  EXPECT_TRUE(Run(1130, /*dry_run=*/true));
  config_.sshd.binary = dir_.Path("no-such-sshd");
  EXPECT_FALSE(Run(1130));
  EXPECT_TRUE(Logged("key_dropped").empty());
  config_.sshd.binary = sshd;
  ASSERT_TRUE(Run(1130));
  EXPECT_EQ(Logged("key_dropped").size(), 1u);
  EXPECT_EQ(TrustedBlobs(), std::vector<std::string>{Blob(ca_b_)});
}

// The audit's case: rounds of many large keys (the issuer moving to a new
// set again and again within keep_retired, the old ones retired) made a
// state file every later round refused. The round that would write it
// fails before anything changes, saying how many keys and bytes and what
// to do; the state in place still loads, and a round that fits works.
TEST_F(AgentTest, AStateTooLargeToLoadIsNeverWritten) {
  WriteFile(config_.sshd.config, BaseConfig());
  config_.keep_retired_seconds = 86400;
  const uint32_t per_answer = 60;  // an answer lists at most 64 keys
  uint32_t round = 0;
  core::Result<RunOutcome> r = RunOutcome{};
  std::map<std::string, std::string> before;
  for (; round < 10; ++round) {
    before = Watched();
    WriteFile(dir_.Path("issuer.pub"), LargeKeys(round * per_answer, per_answer));
    r = Run(1000 + round);
    if (!r) break;
  }
  ASSERT_FALSE(r) << "10 rounds of " << per_answer << " large keys fit";
  EXPECT_EQ(r.error().code, core::Errc::kTooLarge);
  const uint32_t keys = (round + 1) * per_answer;
  EXPECT_GT(static_cast<size_t>(keys) * 2700, kMaxStateFileSize);  // the limit, not another error
  EXPECT_NE(r.error().detail.find(" bytes for " + std::to_string(keys) + " CA keys (60 listed, " +
                                  std::to_string(keys - per_answer) +
                                  " retired), over the state file's limit of " + std::to_string(kMaxStateFileSize) +
                                  " bytes; lower keep_retired"),
            std::string::npos)
      << r.error().detail;
  EXPECT_EQ(FailureOutcome(r.error()), "nothing changed");
  EXPECT_EQ(Watched(), before);
  EXPECT_FALSE(Run(1000 + round, /*dry_run=*/true));  // what --once would refuse
  ASSERT_TRUE(LoadState(config_.state_dir));
  // Once the retired keys have gone, the same answer fits.
  auto later = Run(1000 + 86400 + round);
  ASSERT_TRUE(later) << later.error().detail;
  ASSERT_TRUE(LoadState(config_.state_dir));
}

}  // namespace
}  // namespace certgate::cafetch
