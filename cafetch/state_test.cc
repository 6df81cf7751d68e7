#include "cafetch/state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "cafetch/atomic_file.h"
#include "core/ssh_key.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::MakeKey;
using ::certgate::testing::ReadFile;
using ::certgate::testing::TempDir;
using ::certgate::testing::WriteFile;

CaKey Key(const TempDir& dir, const std::string& name) {
  std::string path = MakeKey(dir, name, "ed25519");
  std::string line = ReadFile(path + ".pub");
  auto parsed = core::ParsePublicKeyLine(line.substr(0, line.find('\n')));
  EXPECT_TRUE(parsed);
  return CaKey{parsed->key, parsed->comment};
}

TEST(StateTest, RoundTrip) {
  TempDir dir;
  State s;
  s.validators.etag = "\"abc\"";
  s.validators.last_modified = "Sun, 22 Nov 2026 10:00:00 GMT";
  s.validators_for = "00ff";
  s.keys.push_back({Key(dir, "old"), 100, 200, false});
  s.keys.push_back({Key(dir, "new"), 150, 300, true});
  std::string text = SerializeState(s);
  auto back = ParseState(text);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->validators.etag, s.validators.etag);
  EXPECT_EQ(back->validators.last_modified, s.validators.last_modified);
  EXPECT_EQ(back->validators_for, "00ff");
  ASSERT_EQ(back->keys.size(), 2u);
  EXPECT_EQ(back->keys[0].key.key, s.keys[0].key.key);
  EXPECT_EQ(back->keys[0].key.comment, "old");
  EXPECT_EQ(back->keys[0].first_seen, 100);
  EXPECT_EQ(back->keys[0].last_seen, 200);
  EXPECT_FALSE(back->keys[0].listed);
  EXPECT_TRUE(back->keys[1].listed);
  EXPECT_EQ(SerializeState(*back), text);
}

// A key last listed by an issuer that signs with SHA-1 keeps the mark in
// its own line; without any, the file is as a cafetch without it writes.
TEST(StateTest, Sha1IssuerMarkRoundTrips) {
  TempDir dir;
  State s;
  s.keys.push_back({Key(dir, "plain"), 100, 200, true});
  EXPECT_EQ(SerializeState(s).find("sha1_issuer"), std::string::npos);
  s.keys.push_back({Key(dir, "akeyless"), 150, 300, false});
  s.keys.back().sha1_issuer = true;
  const std::string text = SerializeState(s);
  EXPECT_NE(text.find("\nsha1_issuer " + core::Sha256Fingerprint(s.keys[1].key.key.blob) + "\n"),
            std::string::npos)
      << text;
  auto back = ParseState(text);
  ASSERT_TRUE(back) << back.error().detail;
  ASSERT_EQ(back->keys.size(), 2u);
  EXPECT_FALSE(back->keys[0].sha1_issuer);
  EXPECT_TRUE(back->keys[1].sha1_issuer);
  EXPECT_EQ(SerializeState(*back), text);
  // A mark that names no key is damage.
  auto r = ParseState("version 1\nsha1_issuer " + core::Sha256Fingerprint(s.keys[1].key.key.blob) + "\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("sha1_issuer names no key above it"), std::string::npos) << r.error().detail;
}

// A 304 reuses the keys of the last verified answer, so the request is
// conditional only when nothing that decides trust changed since.
TEST(StateTest, ValidatorsAreSentOnlyUnderTheConfigTheyWereVerifiedUnder) {
  TempDir dir;
  Config config;
  config.issuer.type = IssuerType::kUrl;
  config.issuer.url = "https://issuer.example/ca.pub";
  State s;
  s.validators.etag = "\"v1\"";
  s.keys.push_back({Key(dir, "ca"), 100, 200, true});
  s.validators_for = TrustFingerprint(config);
  ASSERT_EQ(s.validators_for.size(), 64u);
  EXPECT_EQ(ValidatorsToSend(s, config).etag, "\"v1\"");

  // A state file from before validators_for: unconditional.
  State old = s;
  old.validators_for.clear();
  EXPECT_TRUE(ValidatorsToSend(old, config).etag.empty());
  // No listed key: nothing to reuse.
  State none = s;
  none.keys[0].listed = false;
  EXPECT_TRUE(ValidatorsToSend(none, config).etag.empty());

  // bundle_signature added: the answer must be fetched and verified.
  Config signed_config = config;
  BundleSignatureConfig sig;
  sig.url = "https://issuer.example/ca.sig";
  sig.allowed_signers = {Key(dir, "signer").key, Key(dir, "other").key};
  signed_config.bundle_signature = sig;
  EXPECT_TRUE(ValidatorsToSend(s, signed_config).etag.empty());
  State signed_state = s;
  signed_state.validators_for = TrustFingerprint(signed_config);
  EXPECT_EQ(ValidatorsToSend(signed_state, signed_config).etag, "\"v1\"");
  // A signer removed, or another signature URL.
  Config fewer = signed_config;
  fewer.bundle_signature->allowed_signers.pop_back();
  EXPECT_TRUE(ValidatorsToSend(signed_state, fewer).etag.empty());
  Config moved = signed_config;
  moved.bundle_signature->url = "https://issuer.example/other.sig";
  EXPECT_TRUE(ValidatorsToSend(signed_state, moved).etag.empty());
  // Another issuer URL, type or pin.
  Config url = config;
  url.issuer.url = "https://issuer.example/other.pub";
  EXPECT_TRUE(ValidatorsToSend(s, url).etag.empty());
  Config type = config;
  type.issuer.type = IssuerType::kVault;
  EXPECT_TRUE(ValidatorsToSend(s, type).etag.empty());
  Config pinned = config;
  pinned.issuer.tls.pin_sha256 = {"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="};
  EXPECT_TRUE(ValidatorsToSend(s, pinned).etag.empty());
}

TEST(StateTest, RejectsDamage) {
  TempDir dir;
  State s;
  s.keys.push_back({Key(dir, "k"), 1, 2, true});
  const std::string good = SerializeState(s);
  ASSERT_TRUE(ParseState(good));
  const std::string key_line = good.substr(good.find("key "));
  for (const std::string& bad : {
           std::string(""),                                 // no version
           std::string("version 2\n"),                      // unknown version
           std::string("version 1\nbogus x\n"),             // unknown line
           std::string("version 1"),                        // cut short
           "version 1\n" + key_line + key_line,              // duplicate key
           "version 1\nkey 5 2 1 " + key_line.substr(10),    // first after last
           "version 1\nkey 1 2 7 " + key_line.substr(10),    // listed not 0/1
           "version 1\nkey -1 2 1 " + key_line.substr(10),   // negative
           std::string("version 1\nkey 1 2 1 ssh-ed25519 AAAA\n"),  // not a key
           std::string("version 1\netag a\x01" "b\n"),      // control character
       }) {
    auto r = ParseState(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, core::Errc::kBadFormat);
    }
  }
}

TEST(StateTest, LoadMissingIsEmptyAndSaveLoads) {
  TempDir dir;
  auto empty = LoadState(dir.Path("state"));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->keys.empty());
  State s;
  s.keys.push_back({Key(dir, "k"), 1, 2, true});
  ASSERT_TRUE(SaveState(dir.Path("state"), s));  // creates the directory
  auto loaded = LoadState(dir.Path("state"));
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->keys.size(), 1u);
  WriteFile(dir.Path("state/cafetch.state"), "garbage\n");
  EXPECT_FALSE(LoadState(dir.Path("state")));
  // A damaged file says which line, and what removing the file costs.
  WriteFile(dir.Path("state/cafetch.state"), "# cafetch\nversion 1\netag \"v1\"\nbogus line\n");
  auto damaged = LoadState(dir.Path("state"));
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error().code, core::Errc::kBadFormat);
  EXPECT_EQ(damaged.error().detail,
            dir.Path("state/cafetch.state") +
                ": state file line 4: unknown line; fix that line or remove the file: the next round then trusts "
                "the keys the issuer lists and keeps the other keys of the key file cafetch wrote as retired for "
                "keep_retired from then (key_adopted), and fetches the answer again without the saved ETag or "
                "Last-Modified");
}

// LargeKey returns LargeRsaKeyLine(|index|) as a CaKey.
CaKey LargeKey(uint32_t index) {
  auto parsed = core::ParsePublicKeyLine(::certgate::testing::LargeRsaKeyLine(index));
  EXPECT_TRUE(parsed) << parsed.error().detail;
  return CaKey{parsed->key, parsed->comment};
}

// The audit's case: many large keys made SaveState write a file LoadState
// then refused, every round after. Save and load share one limit: what is
// over it is refused before anything is written, saying what to do.
TEST(StateTest, SaveNeverWritesWhatLoadRefuses) {
  TempDir dir;
  const std::string state_dir = dir.Path("state");
  State s;
  while (SerializeState(s).size() <= kMaxStateFileSize) {
    s.keys.push_back({LargeKey(static_cast<uint32_t>(s.keys.size())), 1, 2, s.keys.size() % 2 == 0});
  }
  const size_t bytes = SerializeState(s).size();
  auto saved = SaveState(state_dir, s);
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, core::Errc::kTooLarge);
  const size_t n = s.keys.size();
  EXPECT_EQ(saved.error().detail,
            "the key history would be " + std::to_string(bytes) + " bytes for " + std::to_string(n) +
                " CA keys (" + std::to_string((n + 1) / 2) + " listed, " + std::to_string(n / 2) +
                " retired), over the state file's limit of " + std::to_string(kMaxStateFileSize) +
                " bytes; lower keep_retired so that retired keys go sooner, or ask why the issuer lists so many "
                "keys");
  struct stat st {};
  EXPECT_NE(stat((state_dir + "/" + kStateFileName).c_str(), &st), 0);  // nothing written
  EXPECT_EQ(CheckStateSize(s).error().detail, saved.error().detail);
  // One key fewer fits, is written and loads again.
  s.keys.pop_back();
  ASSERT_TRUE(CheckStateSize(s));
  ASSERT_TRUE(SaveState(state_dir, s));
  auto loaded = LoadState(state_dir);
  ASSERT_TRUE(loaded) << loaded.error().detail;
  EXPECT_EQ(loaded->keys.size(), s.keys.size());
}

TEST(StateTest, RotationKeepsRetiredKeyExactlyKeepRetired) {
  TempDir dir;
  CaKey a = Key(dir, "a"), b = Key(dir, "b");
  const uint64_t keep = 100;
  State s = AdvanceState(State{}, {a}, 1000, keep);
  ASSERT_EQ(s.keys.size(), 1u);
  EXPECT_EQ(s.keys[0].first_seen, 1000);
  EXPECT_FALSE(s.keys[0].retired.has_value());
  s = AdvanceState(s, {a, b}, 1050, keep);  // issuer lists both
  ASSERT_EQ(TrustedKeys(s).size(), 2u);
  EXPECT_EQ(s.keys[0].first_seen, 1000);
  EXPECT_EQ(s.keys[0].last_seen, 1050);
  EXPECT_EQ(s.keys[1].first_seen, 1050);
  s = AdvanceState(s, {b}, 1060, keep);  // old key no longer listed
  ASSERT_EQ(s.keys.size(), 2u);
  EXPECT_EQ(s.keys[0].key.key, b.key);  // listed first
  EXPECT_TRUE(s.keys[0].listed);
  EXPECT_FALSE(s.keys[1].listed);
  EXPECT_EQ(s.keys[1].last_seen, 1050);
  EXPECT_EQ(s.keys[1].retired, 1060);  // the first answer without it
  EXPECT_EQ(ListedKeys(s).size(), 1u);
  // Still trusted one second before keep_retired has passed since then.
  State before = AdvanceState(s, {b}, 1060 + 99, keep);
  EXPECT_EQ(TrustedKeys(before).size(), 2u);
  EXPECT_EQ(before.keys[1].retired, 1060);  // set once, not moved by later answers
  State at = AdvanceState(before, {b}, 1060 + 100, keep);
  ASSERT_EQ(TrustedKeys(at).size(), 1u);
  EXPECT_EQ(TrustedKeys(at)[0].key, b.key);
  // Listed again after retirement: trusted, with its old first_seen and no
  // retired time.
  State back = AdvanceState(before, {b, a}, 1200, keep);
  EXPECT_EQ(back.keys[1].first_seen, 1000);
  EXPECT_TRUE(back.keys[1].listed);
  EXPECT_FALSE(back.keys[1].retired.has_value());
  EXPECT_EQ(SerializeState(back).find("\nretired "), std::string::npos);
}

// The audit's lockout: after an issuer outage (or a host down) longer than
// keep_retired, the first answer without a key dropped it at once,
// although certificates it signed just before the issuer stopped listing
// it were still valid. keep_retired counts from that first answer.
TEST(StateTest, KeepRetiredCountsFromTheFirstAnswerWithoutTheKey) {
  TempDir dir;
  CaKey a = Key(dir, "a"), b = Key(dir, "b");
  const uint64_t keep = 100;
  State s = AdvanceState(State{}, {a, b}, 1000, keep);
  // No answer for 5 x keep_retired, then one without a.
  State after = AdvanceState(s, {b}, 1500, keep);
  ASSERT_EQ(TrustedKeys(after).size(), 2u);
  EXPECT_EQ(after.keys[1].retired, 1500);
  EXPECT_EQ(TrustedKeys(AdvanceState(after, {b}, 1599, keep)).size(), 2u);
  EXPECT_EQ(TrustedKeys(AdvanceState(after, {b}, 1600, keep)).size(), 1u);
  // A clock behind at that round (by less than keep_retired) does not
  // retire it early: it counts from its last listing then.
  State behind = AdvanceState(AdvanceState(State{}, {a, b}, 5000, keep), {b}, 4950, keep);
  EXPECT_EQ(behind.keys[1].retired, 5000);
  EXPECT_EQ(TrustedKeys(AdvanceState(behind, {b}, 5099, keep)).size(), 2u);
  EXPECT_EQ(TrustedKeys(AdvanceState(behind, {b}, 5100, keep)).size(), 1u);
}

// The audit's case: one round with the clock far ahead (2100) recorded
// last_seen then; a later retirement kept the key until 2100. A retired
// time is never set beyond now + keep_retired: the key goes at most
// 2 x keep_retired after the round that retired it.
TEST(StateTest, ALastSeenFarAheadKeepsARetiredKeyAtMostTwiceKeepRetired) {
  TempDir dir;
  CaKey a = Key(dir, "a"), b = Key(dir, "b");
  const uint64_t keep = 100;
  const int64_t year_2100 = 4102444800;
  State s = AdvanceState(State{}, {a, b}, 1000, keep);
  s = AdvanceState(s, {a, b}, year_2100, keep);  // the clock far ahead
  EXPECT_EQ(s.keys[0].last_seen, year_2100);     // recorded times are not clamped
  s = AdvanceState(s, {a, b}, 1010, keep);       // right again
  EXPECT_EQ(s.keys[0].last_seen, year_2100);
  State retired = AdvanceState(s, {b}, 2000, keep);
  ASSERT_EQ(TrustedKeys(retired).size(), 2u);
  EXPECT_EQ(retired.keys[1].retired, 2000 + 100);
  EXPECT_EQ(TrustedKeys(AdvanceState(retired, {b}, 2000 + 199, keep)).size(), 2u);
  EXPECT_EQ(TrustedKeys(AdvanceState(retired, {b}, 2000 + 200, keep)).size(), 1u);
}

// A state file from before retired lines: a retired key without one counts
// from last_seen as it did, capped the same way.
TEST(StateTest, AnOlderStateFileCountsFromLastSeen) {
  TempDir dir;
  CaKey a = Key(dir, "a"), b = Key(dir, "b");
  const uint64_t keep = 100;
  const std::string b_line = "key 100 1000 1 " + core::FormatPublicKeyLine(b.key, b.comment) + "\n";
  auto old = ParseState("version 1\n" + b_line + "key 100 950 0 " + core::FormatPublicKeyLine(a.key, a.comment) +
                        "\n");
  ASSERT_TRUE(old) << old.error().detail;
  ASSERT_EQ(old->keys.size(), 2u);
  EXPECT_FALSE(old->keys[1].retired.has_value());
  State s = AdvanceState(*old, {b}, 1000, keep);
  EXPECT_EQ(s.keys[1].retired, 950);
  EXPECT_EQ(TrustedKeys(AdvanceState(s, {b}, 1049, keep)).size(), 2u);
  EXPECT_EQ(TrustedKeys(AdvanceState(s, {b}, 1050, keep)).size(), 1u);
  // Last seen far ahead in an old file: capped at now + keep_retired.
  auto ahead = ParseState("version 1\n" + b_line + "key 100 4102444800 0 " +
                          core::FormatPublicKeyLine(a.key, a.comment) + "\n");
  ASSERT_TRUE(ahead);
  EXPECT_EQ(AdvanceState(*ahead, {b}, 1000, keep).keys[1].retired, 1100);
}

// The retired time has its own line, after the key lines, so that the key
// lines are as older versions write them.
TEST(StateTest, RetiredTimeRoundTripsAndDamageIsRefused) {
  TempDir dir;
  State s;
  s.keys.push_back({Key(dir, "new"), 150, 300, true});
  s.keys.push_back({Key(dir, "old"), 100, 200, false});
  s.keys.back().retired = 250;
  const std::string fp = core::Sha256Fingerprint(s.keys[1].key.key.blob);
  const std::string text = SerializeState(s);
  EXPECT_NE(text.find("\nretired " + fp + " 250\n"), std::string::npos) << text;
  auto back = ParseState(text);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_FALSE(back->keys[0].retired.has_value());
  EXPECT_EQ(back->keys[1].retired, 250);
  EXPECT_EQ(SerializeState(*back), text);
  // A bounded time has its own line after the retired ones.
  State bounded = s;
  bounded.keys.back().bounded = 260;
  const std::string bounded_text = SerializeState(bounded);
  EXPECT_TRUE(bounded_text.ends_with("retired " + fp + " 250\nbounded " + fp + " 260\n")) << bounded_text;
  auto bounded_back = ParseState(bounded_text);
  ASSERT_TRUE(bounded_back) << bounded_back.error().detail;
  EXPECT_EQ(bounded_back->keys[1].bounded, 260);
  EXPECT_FALSE(back->keys[1].bounded.has_value());
  const std::string keys = text.substr(text.find("key "), text.find("retired ") - text.find("key "));
  const std::string listed_fp = core::Sha256Fingerprint(s.keys[0].key.key.blob);
  for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
           {"version 1\nretired " + fp + " 250\n" + keys, "retired names no key above it"},
           {"version 1\n" + keys + "retired " + listed_fp + " 250\n", "retired names a listed key"},
           {"version 1\n" + keys + "retired " + fp + " -1\n", "bad retired time"},
           {"version 1\n" + keys + "retired " + fp + "\n", "bad retired time"},
           {"version 1\n" + keys + "retired " + fp + " 1 2\n", "bad retired time"},
           {"version 1\n" + keys + "retired " + fp + " 250\nretired " + fp + " 250\n", "key retired twice"},
           {"version 1\n" + keys + "bounded " + fp + " 260\n", "bounded names no retired key above it"},
           {"version 1\n" + keys + "bounded " + listed_fp + " 260\n", "bounded names no retired key above it"},
           {"version 1\n" + keys + "retired " + fp + " 250\nbounded " + fp + " x\n", "bad bounded time"},
           {"version 1\n" + keys + "retired " + fp + " 250\nbounded " + fp + " 260\nbounded " + fp + " 260\n",
            "key bounded twice"},
       }) {
    auto r = ParseState(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, core::Errc::kBadFormat);
    EXPECT_NE(r.error().detail.find(why), std::string::npos) << r.error().detail;
  }
}

TEST(StateTest, ClockSetBackNeverMovesRecordedTimesBack) {
  TempDir dir;
  CaKey a = Key(dir, "a"), b = Key(dir, "b");
  const uint64_t keep = 100;
  const int64_t day = 86400;
  State s = AdvanceState(State{}, {a}, 1000 * day, keep);
  s = AdvanceState(s, {a, b}, 1000 * day + 10, keep);
  // The clock is set back two days while both are listed.
  State back = AdvanceState(s, {a, b}, 998 * day, keep);
  ASSERT_EQ(back.keys.size(), 2u);
  EXPECT_EQ(back.keys[0].first_seen, 1000 * day);
  EXPECT_EQ(back.keys[0].last_seen, 1000 * day + 10);
  EXPECT_EQ(back.keys[1].first_seen, 1000 * day + 10);
  EXPECT_EQ(back.keys[1].last_seen, 1000 * day + 10);
  EXPECT_TRUE(ParseState(SerializeState(back)));  // first_seen <= last_seen still
  // Set right again, the issuer retires a: kept for keep_retired from that
  // answer, not dropped because of the jump.
  State right = AdvanceState(back, {b}, 1000 * day + 20, keep);
  EXPECT_EQ(TrustedKeys(right).size(), 2u);
  EXPECT_EQ(right.keys[1].retired, 1000 * day + 20);
  // Back again, by less than keep_retired, while a is retired: neither a
  // nor the listed b goes, and the retired time stays.
  State again = AdvanceState(right, {b}, 1000 * day + 20 - 60, keep);
  ASSERT_EQ(TrustedKeys(again).size(), 2u);
  EXPECT_EQ(again.keys[1].retired, 1000 * day + 20);
  EXPECT_EQ(ListedKeys(again).size(), 1u);
  EXPECT_EQ(ListedKeys(again)[0].key, b.key);
  // keep_retired after a's retirement, a goes.
  EXPECT_EQ(TrustedKeys(AdvanceState(again, {b}, 1000 * day + 20 + 99, keep)).size(), 2u);
  EXPECT_EQ(TrustedKeys(AdvanceState(again, {b}, 1000 * day + 20 + 100, keep)).size(), 1u);
  // Back by two days while a is retired: that cannot be told from a
  // retirement recorded two days ahead, so the retired time is bounded to
  // now + keep_retired while the clock stays back (a goes 2 x keep_retired
  // later on that clock), and is recorded as it was.
  State far = AdvanceState(right, {b}, 998 * day, keep);
  ASSERT_EQ(TrustedKeys(far).size(), 2u);
  EXPECT_EQ(far.keys[1].retired, 1000 * day + 20);
  EXPECT_EQ(far.keys[1].bounded, 998 * day + 100);
  State still_back = AdvanceState(far, {b}, 998 * day + 150, keep);
  EXPECT_EQ(still_back.keys[1].bounded, 998 * day + 100);  // the first bound stays
  EXPECT_EQ(TrustedKeys(AdvanceState(still_back, {b}, 998 * day + 199, keep)).size(), 2u);
  EXPECT_EQ(TrustedKeys(AdvanceState(still_back, {b}, 998 * day + 200, keep)).size(), 1u);
  // Right again within that: the recorded time counts again, no early drop.
  State right_again = AdvanceState(still_back, {b}, 1000 * day + 20 + 99, keep);
  ASSERT_EQ(TrustedKeys(right_again).size(), 2u);
  EXPECT_FALSE(right_again.keys[1].bounded.has_value());
  EXPECT_EQ(TrustedKeys(AdvanceState(right_again, {b}, 1000 * day + 20 + 100, keep)).size(), 1u);
}

// The second audit's case: the round that found the key gone ran with the
// clock a year ahead and recorded its retirement then; with the clock
// right, the key stayed trusted for that year, even with keep_retired 0s,
// the setting that stops trusting a retired key at once. The first round
// that finds the retired time more than keep_retired ahead bounds it.
TEST(StateTest, ARetirementRecordedFarAheadKeepsTheKeyAtMostTwiceKeepRetired) {
  TempDir dir;
  CaKey a = Key(dir, "a"), b = Key(dir, "b");
  const uint64_t keep = 100;
  const int64_t year_2100 = 4102444800;
  State s = AdvanceState(State{}, {a, b}, 1000, keep);
  State ahead = AdvanceState(s, {b}, year_2100, keep);
  EXPECT_EQ(ahead.keys[1].retired, year_2100);
  State right = AdvanceState(ahead, {b}, 2000, keep);
  ASSERT_EQ(TrustedKeys(right).size(), 2u);
  EXPECT_EQ(right.keys[1].retired, year_2100);  // recorded as it was
  EXPECT_EQ(right.keys[1].bounded, 2000 + 100);
  // Later rounds do not move the bound forward.
  State later = AdvanceState(right, {b}, 2150, keep);
  ASSERT_EQ(TrustedKeys(later).size(), 2u);
  EXPECT_EQ(later.keys[1].bounded, 2000 + 100);
  EXPECT_EQ(TrustedKeys(AdvanceState(later, {b}, 2000 + 199, keep)).size(), 2u);
  EXPECT_EQ(TrustedKeys(AdvanceState(later, {b}, 2000 + 200, keep)).size(), 1u);
  // keep_retired 0s: dropped at the first round, whatever was recorded.
  EXPECT_EQ(TrustedKeys(AdvanceState(ahead, {b}, 2000, 0)).size(), 1u);
  EXPECT_EQ(TrustedKeys(AdvanceState(s, {b}, 2000, 0)).size(), 1u);
}

TEST(StateTest, ReloadMark) {
  TempDir dir;
  const std::string state_dir = dir.Path("state");
  auto none = ReloadPending(state_dir);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(MarkReloadPending(state_dir));
  auto set = ReloadPending(state_dir);
  ASSERT_TRUE(set);
  EXPECT_TRUE(*set);
  ASSERT_TRUE(ClearReloadPending(state_dir));
  EXPECT_FALSE(*ReloadPending(state_dir));
  EXPECT_TRUE(ClearReloadPending(state_dir));  // none is fine
}

TEST(StateTest, LockIsExclusive) {
  TempDir dir;
  auto first = LockStateDir(dir.Path("state"));
  ASSERT_TRUE(first) << first.error().detail;
  auto second = LockStateDir(dir.Path("state"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, core::Errc::kIo);
  EXPECT_NE(second.error().detail.find("another cafetch is running"), std::string::npos);
  first->Reset();
  EXPECT_TRUE(LockStateDir(dir.Path("state")));
}

// A state_dir that cannot be made names the setting and what to do.
TEST(StateTest, AStateDirThatCannotBeMadeSaysWhatToDo) {
  TempDir dir;
  auto missing = LockStateDir(dir.Path("no/state"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().detail, "cannot create directory " + dir.Path("no/state") +
                                        ": No such file or directory; create its parent (root, 0755), or correct "
                                        "state_dir in cafetch.yaml");
  auto proc = LockStateDir("/proc/certgate-state");
  ASSERT_FALSE(proc);
  EXPECT_EQ(proc.error().detail.rfind("cannot create directory /proc/certgate-state: ", 0), 0u)
      << proc.error().detail;
  EXPECT_TRUE(proc.error().detail.ends_with(", or correct state_dir in cafetch.yaml")) << proc.error().detail;
}

// A lock file that is a symbolic link is not followed: neither the file it
// names nor a missing target is opened, created or locked.
TEST(StateTest, LockFileThatIsASymlinkIsRefused) {
  TempDir dir;
  const std::string state_dir = dir.Path("state");
  ASSERT_EQ(mkdir(state_dir.c_str(), 0755), 0);
  const std::string lock = state_dir + "/" + kLockFileName;
  WriteFile(dir.Path("target"), "kept\n", 0644);
  ASSERT_EQ(symlink(dir.Path("target").c_str(), lock.c_str()), 0);
  auto to_file = LockStateDir(state_dir);
  ASSERT_FALSE(to_file);
  EXPECT_EQ(to_file.error().code, core::Errc::kIo);
  EXPECT_NE(to_file.error().detail.find(lock), std::string::npos) << to_file.error().detail;
  EXPECT_EQ(ReadFile(dir.Path("target")), "kept\n");
  core::UniqueFd target(open(dir.Path("target").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(target.valid());
  EXPECT_EQ(flock(target.get(), LOCK_EX | LOCK_NB), 0);  // not held by the refused call

  ASSERT_EQ(unlink(lock.c_str()), 0);
  ASSERT_EQ(symlink(dir.Path("missing").c_str(), lock.c_str()), 0);
  auto dangling = LockStateDir(state_dir);
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.error().code, core::Errc::kIo);
  struct stat st {};
  EXPECT_NE(lstat(dir.Path("missing").c_str(), &st), 0);  // not created through the link
}

// The audit's case: a lock file others may open (chmod 644, chown nobody)
// lets any user flock it and stop every round with a message that blames
// another cafetch. It is refused, saying where, what and how to fix it,
// and a lock file cafetch creates is 0600.
TEST(StateTest, ALockFileOthersCouldOpenIsRefused) {
  TempDir dir;
  const std::string state_dir = dir.Path("state");
  const std::string lock = state_dir + "/" + kLockFileName;
  {
    auto created = LockStateDir(state_dir);
    ASSERT_TRUE(created) << created.error().detail;
  }
  struct stat st {};
  ASSERT_EQ(stat(lock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  ASSERT_EQ(chmod(lock.c_str(), 0644), 0);
  auto loose = LockStateDir(state_dir);
  ASSERT_FALSE(loose);
  EXPECT_EQ(loose.error().code, core::Errc::kUnsafePermissions);
  EXPECT_EQ(loose.error().detail,
            "lock file " + lock +
                ": mode 0644 lets group or others open it: another user could hold the lock and stop every "
                "cafetch round; chown root:root and chmod 600 it, or remove it");
  ASSERT_EQ(chmod(lock.c_str(), 0600), 0);
  EXPECT_TRUE(LockStateDir(state_dir));

  if (geteuid() == 0) {
    ASSERT_EQ(chown(lock.c_str(), 65534, 65534), 0);
    auto foreign = LockStateDir(state_dir);
    ASSERT_FALSE(foreign);
    EXPECT_EQ(foreign.error().code, core::Errc::kUnsafePermissions);
    EXPECT_EQ(foreign.error().detail,
              "lock file " + lock +
                  ": owned by uid 65534, not 0: another user could hold the lock and stop every cafetch round; "
                  "chown root:root and chmod 600 it, or remove it");
    ASSERT_EQ(chown(lock.c_str(), 0, 0), 0);
  }
  // Not a regular file.
  ASSERT_EQ(unlink(lock.c_str()), 0);
  ASSERT_EQ(mkfifo(lock.c_str(), 0600), 0);
  auto fifo = LockStateDir(state_dir);
  ASSERT_FALSE(fifo);
  EXPECT_EQ(fifo.error().code, core::Errc::kUnsafePermissions);
  EXPECT_NE(fifo.error().detail.find(lock + ": not a regular file"), std::string::npos) << fifo.error().detail;
  ASSERT_EQ(unlink(lock.c_str()), 0);
  EXPECT_TRUE(LockStateDir(state_dir));  // removing it is a way out
}

}  // namespace
}  // namespace certgate::cafetch

namespace certgate::cafetch {
namespace {

TEST(StateTest, TrustedOrderDoesNotDependOnIssuerOrder) {
  TempDir dir;
  CaKey a = Key(dir, "a"), b = Key(dir, "b");
  State ab = AdvanceState(State{}, {a, b}, 1000, 100);
  State ba = AdvanceState(State{}, {b, a}, 1000, 100);
  ASSERT_EQ(TrustedKeys(ab).size(), 2u);
  EXPECT_EQ(TrustedKeys(ab)[0].key, TrustedKeys(ba)[0].key);
  // Retiring one (same second) keeps the order.
  State retired = AdvanceState(ab, {b}, 1000, 100);
  EXPECT_EQ(TrustedKeys(retired)[0].key, TrustedKeys(ab)[0].key);
  State older = AdvanceState(AdvanceState(State{}, {b}, 900, 100), {a, b}, 1000, 100);
  EXPECT_EQ(TrustedKeys(older)[0].key, b.key);  // oldest first
}

}  // namespace
}  // namespace certgate::cafetch
