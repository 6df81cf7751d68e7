// Differential test: ParseCertificate against the real `ssh-keygen -L`
// (OpenSSH's sshkey_from_blob and cert_parse, then print_cert) on mutants of
// certificates that ssh-keygen made.
//
// Most mutants change the signed part and are signed again with the CA's
// private key, so that they reach past the signature check; the rest are
// byte-level damage to whole blobs, which both must refuse. certgate must
// never accept a mutant that ssh-keygen refuses. Where certgate refuses a
// mutant that ssh-keygen accepts, the mutant must fall in one of the
// categories of StricterRules() (checks OpenSSH makes only when sshd
// authenticates, or limits of our own); any other disagreement fails. When
// both accept, every field must print as ssh-keygen prints it.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/base64.h"
#include "core/certificate.h"
#include "core/openssl_ptr.h"
#include "core/wire_reader.h"
#include "tests/certificate_mutation.h"
#include "tests/certificate_testing.h"
#include "tests/crypto_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::Base;
using certgate::testing::Bytes;
using certgate::testing::CertFields;
using certgate::testing::Describe;
using certgate::testing::Draft;
using certgate::testing::IsEcdsaCert;
using certgate::testing::IsRsaCert;
using certgate::testing::IsSkCert;
using certgate::testing::Mutation;
using certgate::testing::OptionList;
using certgate::testing::PickOne;
using certgate::testing::Rng;
using certgate::testing::Signer;
using certgate::testing::SplitSignature;
using certgate::testing::StringBytes;
using certgate::testing::TempDir;

constexpr uint64_t kSeed = 20261203;

// ---------------------------------------------------------------------------
// Where certgate is deliberately stricter than `ssh-keygen -L`.

bool NonMinimalMpint(std::span<const uint8_t> m) {
  return !m.empty() && m[0] == 0 && (m.size() == 1 || (m[1] & 0x80) == 0);
}

std::vector<std::pair<std::string, Bytes>> AllOptions(const CertFields& f) {
  std::vector<std::pair<std::string, Bytes>> all;
  for (const Bytes* section : {&f.critical, &f.extensions}) {
    std::optional<OptionList> list = testing::SplitOptions(*section);
    if (list) all.insert(all.end(), list->begin(), list->end());
  }
  return all;
}

bool HasUnknownCriticalOption(const CertFields& f) {
  std::optional<OptionList> list = testing::SplitOptions(f.critical);
  if (!list) return false;
  return std::any_of(list->begin(), list->end(), [](const auto& o) {
    return o.first != "force-command" && o.first != "source-address" &&
           o.first != "verify-required";
  });
}

bool HasDuplicateOption(const CertFields& f) {
  for (const Bytes* section : {&f.critical, &f.extensions}) {
    std::optional<OptionList> list = testing::SplitOptions(*section);
    std::set<std::string> seen;
    if (!list) continue;
    for (const auto& o : *list) {
      if (!seen.insert(o.first).second) return true;
    }
  }
  return false;
}

bool HasSourceAddress(const CertFields& f) {
  std::optional<OptionList> list = testing::SplitOptions(f.critical);
  if (!list) return false;
  return std::any_of(list->begin(), list->end(),
                     [](const auto& o) { return o.first == "source-address"; });
}

bool HasLongName(const CertFields& f) {
  if (f.key_id.size() > kMaxNameLength) return true;
  std::optional<std::vector<Bytes>> principals = testing::SplitStrings(f.principals);
  if (principals) {
    for (const auto& p : *principals) {
      if (p.size() > kMaxNameLength) return true;
    }
  }
  for (const auto& o : AllOptions(f)) {
    if (o.first.size() > kMaxNameLength) return true;
  }
  return false;
}

bool HasManyOptions(const CertFields& f) {
  for (const Bytes* section : {&f.critical, &f.extensions}) {
    std::optional<OptionList> list = testing::SplitOptions(*section);
    if (list && list->size() > kMaxOptions) return true;
  }
  return false;
}

bool HasNonMinimalMpint(const CertFields& f) {
  if (IsRsaCert(f) && (NonMinimalMpint(f.key[0]) || NonMinimalMpint(f.key[1]))) return true;
  std::optional<std::vector<Bytes>> ca = testing::SplitStrings(f.signature_key);
  if (ca && ca->size() == 3 && (NonMinimalMpint((*ca)[1]) || NonMinimalMpint((*ca)[2]))) {
    return true;
  }
  std::optional<std::vector<Bytes>> rs = testing::SplitStrings(SplitSignature(f.signature).second);
  return rs && rs->size() == 2 && (NonMinimalMpint((*rs)[0]) || NonMinimalMpint((*rs)[1]));
}

bool HasOddRsaExponent(const CertFields& f) {
  if (!IsRsaCert(f)) return false;
  auto trim = [](const Bytes& m) {
    auto it = std::find_if(m.begin(), m.end(), [](uint8_t b) { return b != 0; });
    return Bytes(it, m.end());
  };
  Bytes e = trim(f.key[0]);
  Bytes n = trim(f.key[1]);
  return e.empty() || (e.back() & 1) == 0 || (e.size() == 1 && e[0] == 1) || e.size() > n.size();
}

bool HasNameAlias(const CertFields& f) {
  if (f.type_name == "rsa-sha2-256-cert-v01@openssh.com" ||
      f.type_name == "rsa-sha2-512-cert-v01@openssh.com") {
    return true;
  }
  std::optional<std::vector<Bytes>> ca = testing::SplitStrings(f.signature_key);
  if (!ca || ca->empty()) return false;
  std::string name(AsStringView((*ca)[0]));
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name == "rsa-sha2-256" || name == "rsa-sha2-512" || upper == "RSA" || upper == "ED25519" ||
         upper == "ECDSA-SK" || upper == "ED25519-SK";
}

bool HasLongApplication(const CertFields& f) { return IsSkCert(f) && f.key.back().size() > 1024; }

bool EndsWithOnlyNul(std::span<const uint8_t> s) {
  return !s.empty() && std::find(s.begin(), s.end(), 0) == s.end() - 1;
}

// HasTrailingNul: a string read as a C string ends with its only NUL.
bool HasTrailingNul(const CertFields& f) {
  std::vector<Bytes> cstrings = {StringBytes(f.type_name), f.key_id,
                                 StringBytes(SplitSignature(f.signature).first)};
  if (IsEcdsaCert(f)) cstrings.push_back(f.key[0]);
  if (IsSkCert(f)) cstrings.push_back(f.key.back());
  std::optional<std::vector<Bytes>> principals = testing::SplitStrings(f.principals);
  if (principals) cstrings.insert(cstrings.end(), principals->begin(), principals->end());
  for (const auto& [name, data] : AllOptions(f)) {
    cstrings.push_back(StringBytes(name));
    std::optional<std::vector<Bytes>> value = testing::SplitStrings(data);
    if (value && value->size() == 1) cstrings.push_back((*value)[0]);
  }
  std::optional<std::vector<Bytes>> ca = testing::SplitStrings(f.signature_key);
  if (ca) cstrings.insert(cstrings.end(), ca->begin(), ca->end());
  return std::any_of(cstrings.begin(), cstrings.end(),
                     [](const Bytes& b) { return EndsWithOnlyNul(b); });
}

bool IsDsa(const CertFields& f) { return f.type_name == "ssh-dss-cert-v01@openssh.com"; }

struct StricterRule {
  const char* name;
  std::vector<Errc> codes;
  bool (*applies)(const CertFields&);
};

// kStricterRules: each way certgate may refuse a certificate that
// `ssh-keygen -L` (sshkey_from_blob) accepts.
const std::vector<StricterRule>& StricterRules() {
  static const std::vector<StricterRule> rules = {
      // sshd refuses an unknown critical option when it authenticates
      // (auth-options.c cert_option_list: "Certificate critical option %s
      // is not supported"); cert_parse only checks the section's format.
      {"unknown-critical-option", {Errc::kUnknownCriticalOption}, HasUnknownCriticalOption},
      // PROTOCOL.certkeys / draft-miller-ssh-cert: an option name may appear
      // only once; sshd refuses a repeated force-command or source-address
      // at authentication (cert_option_list "multiple ... options").
      {"duplicate-option", {Errc::kDuplicateOption}, HasDuplicateOption},
      // sshd checks source-address when it authenticates
      // (auth-options.c: addr_match_cidr_list(NULL, ...) == -1, "contents
      // invalid"). We read its addresses as sshd does (inet_aton forms);
      // a random value is almost never one.
      {"source-address", {Errc::kBadFormat}, HasSourceAddress},
      // certgate's kMaxNameLength (1 KiB) for the key id, principals and
      // option names; OpenSSH has no limit below SSHBUF_SIZE_MAX.
      {"name-length", {Errc::kTooLarge}, HasLongName},
      // certgate's kMaxOptions per section; OpenSSH has none.
      {"option-count", {Errc::kTooLarge}, HasManyOptions},
      // WireReader::ReadMpint refuses redundant leading zeros so that a
      // parsed blob re-encodes to the same bytes; sshbuf_get_bignum2 trims
      // them (sshbuf-getput-basic.c sshbuf_get_bignum2_bytes_direct).
      {"mpint-encoding", {Errc::kBadEncoding, Errc::kBadFormat}, HasNonMinimalMpint},
      // ParseKeyFields wants an odd RSA exponent > 1 no longer than n;
      // ssh_rsa_deserialize_public only checks the modulus size.
      {"rsa-exponent", {Errc::kBadFormat}, HasOddRsaExponent},
      // sshkey_type_from_name also takes the rsa-sha2-* algorithm names and
      // (case-insensitively) the short names "RSA", "ED25519", ... as key
      // types; certgate takes only the canonical names in a blob.
      {"type-name-alias", {Errc::kUnsupportedType}, HasNameAlias},
      // certgate's kMaxApplicationLength (1 KiB) for sk application strings.
      {"sk-application-length", {Errc::kTooLarge}, HasLongApplication},
      // sshbuf_get_cstring takes a string whose only NUL is its last byte
      // (the name, key id, principal, option name or value, curve, sk
      // application, signature algorithm); WireReader::ReadCString takes
      // no NUL at all.
      {"cstring-trailing-nul",
       {Errc::kBadEncoding, Errc::kBadFormat, Errc::kTruncated, Errc::kTypeMismatch},
       HasTrailingNul},
      // DSA: disabled in OpenSSH 9.8, removed in 10.1; certgate never took it.
      {"dsa", {Errc::kUnsupportedType}, IsDsa},
  };
  return rules;
}

// ClassifyStricter returns the rule that explains certgate refusing |blob|
// with |code|, or nullptr.
const StricterRule* ClassifyStricter(std::span<const uint8_t> blob, Errc code) {
  std::optional<CertFields> f = testing::SplitCertificate(blob);
  if (!f) return nullptr;
  for (const auto& rule : StricterRules()) {
    if (rule.applies(*f) &&
        std::find(rule.codes.begin(), rule.codes.end(), code) != rule.codes.end()) {
      return &rule;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------

struct Mutant {
  std::string label;
  Bytes blob;
  std::string line_type;  // the type word on the file line
};

std::string LineType(const Mutant& m, const std::string& fallback) {
  WireReader r(m.blob);
  std::span<const uint8_t> name;
  if (!r.ReadString(&name) || name.empty()) return fallback;
  for (uint8_t c : name) {
    if (c <= 0x20 || c >= 0x7f) return fallback;
  }
  return std::string(AsStringView(name));
}

// MaskValidity replaces the "Valid:" line of a description.
void MaskValidity(std::string* text) {
  const std::string key = "        Valid: ";
  size_t from = text->find(key);
  if (from == std::string::npos) return;
  size_t to = text->find('\n', from);
  text->replace(from, to - from, key + "(masked)");
}

TEST(CertificateDifferentialTest, AcceptsExactlyWhatSshKeygenAccepts) {
  const auto started = std::chrono::steady_clock::now();
  TempDir dir;
  std::vector<Signer> cas;
  cas.push_back(testing::MakeSigner(dir, "ca_ed25519", "ed25519", 256, KeyType::kEd25519));
  cas.push_back(testing::MakeSigner(dir, "ca_p256", "ecdsa", 256, KeyType::kEcdsaP256));
  cas.push_back(testing::MakeSigner(dir, "ca_p384", "ecdsa", 384, KeyType::kEcdsaP384));
  cas.push_back(testing::MakeSigner(dir, "ca_p521", "ecdsa", 521, KeyType::kEcdsaP521));
  cas.push_back(testing::MakeSigner(dir, "ca_rsa", "rsa", 2048, KeyType::kRsa));
  for (const auto& ca : cas) ASSERT_TRUE(ca.key) << ca.path;
  std::map<std::string, std::string> subjects;
  for (const auto& [name, type, bits] :
       std::vector<std::tuple<std::string, std::string, int>>{{"rsa", "rsa", 2048},
                                                              {"p256", "ecdsa", 256},
                                                              {"p384", "ecdsa", 384},
                                                              {"p521", "ecdsa", 521},
                                                              {"ed25519", "ed25519", 0},
                                                              {"dsa", "dsa", 1024}}) {
    subjects[name] = testing::MakeKey(dir, "u_" + name, type, bits) + ".pub";
  }
  subjects["sk-ed25519"] = dir.Path("u_sk_ed25519.pub");
  subjects["sk-p256"] = dir.Path("u_sk_p256.pub");
  testing::WriteSkPublicKey(subjects["ed25519"], subjects["sk-ed25519"]);
  testing::WriteSkPublicKey(subjects["p256"], subjects["sk-p256"]);

  std::string many;
  for (int i = 0; i < 256; ++i) many += (i ? ",u" : "u") + std::to_string(i);
  struct BaseSpec {
    size_t ca;
    std::string alg;
    std::string subject;
    std::vector<std::string> args;
  };
  const std::vector<BaseSpec> specs = {
      {0, "ssh-ed25519", "ed25519", {"-n", "alice,bob", "-V", "20200101:20300101"}},
      {1,
       "ecdsa-sha2-nistp256",
       "rsa",
       {"-n", "alice", "-O", "force-command=/bin/true", "-O", "source-address=10.0.0.0/8,::1"}},
      {2, "ecdsa-sha2-nistp384", "p256", {"-h", "-n", "host.example,*.example.com"}},
      {3, "ecdsa-sha2-nistp521", "p384", {"-O", "clear", "-n", "a", "-z", "42"}},
      {4, "rsa-sha2-256", "p521", {"-t", "rsa-sha2-256", "-n", many}},
      {4,
       "ssh-rsa",
       "ed25519",
       {"-t", "ssh-rsa", "-O", "clear", "-O", "verify-required", "-O",
        "extension:x@example.com=val", "-O", "extension:flag@example.com", "-n", "x"}},
      {4, "rsa-sha2-512", "sk-ed25519", {"-n", "a", "-O", "no-pty", "-V", "always:20300101"}},
      {0, "ssh-ed25519", "sk-p256", {"-n", "u", "-O", "extension:foo@example.com=bar"}},
      {0, "ssh-ed25519", "dsa", {"-n", "d"}},
      {1, "ecdsa-sha2-nistp256", "ed25519", {"-h"}},
      {2, "ecdsa-sha2-nistp384", "rsa", {"-n", "r", "-V", "20200101:forever"}},
  };
  std::vector<Base> bases;
  for (const auto& spec : specs) {
    Base base;
    base.label =
        spec.subject + " by " + cas[spec.ca].path.substr(dir.path().size() + 1) + " " + spec.alg;
    base.ca = &cas[spec.ca];
    base.alg = spec.alg;
    std::string b64 =
        testing::SignCert(cas[spec.ca].path, subjects[spec.subject], "base", spec.args);
    Result<std::vector<uint8_t>> blob = Base64Decode(b64);
    ASSERT_TRUE(blob.has_value()) << base.label;
    base.blob = *blob;
    std::optional<CertFields> fields = testing::SplitCertificate(base.blob);
    ASSERT_TRUE(fields.has_value()) << base.label;
    base.fields = *fields;
    bases.push_back(std::move(base));
  }

  // The corpus: the bases, re-signed structured mutants, raw damage, and
  // signed data just at and just over sshkey_verify's limit.
  Rng rng(kSeed);
  std::vector<Mutant> mutants;
  for (const auto& base : bases) mutants.push_back({"original " + base.label, base.blob, ""});
  const std::vector<Mutation> mutations = testing::Mutations();
  constexpr size_t kPerMutation = 80;
  constexpr size_t kRaw = 400;
  for (size_t round = 0; round < kPerMutation; ++round) {
    for (const auto& mutation : mutations) {
      std::vector<const Base*> fit;
      for (const auto& base : bases) {
        // certgate refuses every DSA certificate: mutants of one test nothing.
        if (mutation.applies(base.fields) && !IsDsa(base.fields)) fit.push_back(&base);
      }
      const Base* base = PickOne(rng, fit);
      Draft d{base->fields, base->ca, base->alg, nullptr, nullptr, true};
      mutation.apply(d, rng);
      mutants.push_back(
          {std::string(mutation.name) + " of " + base->label, testing::Finish(d), ""});
    }
  }
  for (size_t i = 0; i < kRaw; ++i) {
    const Base& base = PickOne(rng, bases);
    std::string label;
    Bytes blob = testing::RawMutant(base, rng, &label);
    mutants.push_back({label + " of " + base.label, blob, ""});
  }
  for (size_t extra : {size_t{0}, size_t{1}}) {
    Draft d{bases[0].fields, bases[0].ca, bases[0].alg, nullptr, nullptr, true};
    d.f.reserved.clear();
    d.f.reserved.resize(kMaxSignedBytes + extra - d.f.Tbs().size());
    mutants.push_back({"signed data of 1 MiB + " + std::to_string(extra), testing::Finish(d), ""});
  }

  std::vector<std::string> lines;
  for (auto& m : mutants) {
    m.line_type = LineType(m, bases[0].fields.type_name);
    lines.push_back(m.line_type + " " + Base64Encode(m.blob));
  }

  // ssh-keygen in two processes at a time, over halves of the corpus.
  const size_t half = lines.size() / 2;
  std::vector<std::optional<std::string>> first, second;
  std::thread worker([&] {
    first = testing::KeygenDescribeAll(
        dir, "a", std::vector<std::string>(lines.begin(), lines.begin() + static_cast<long>(half)));
  });
  second = testing::KeygenDescribeAll(
      dir, "b", std::vector<std::string>(lines.begin() + static_cast<long>(half), lines.end()));
  worker.join();
  std::vector<std::optional<std::string>> keygen = first;
  keygen.insert(keygen.end(), second.begin(), second.end());
  ASSERT_EQ(keygen.size(), mutants.size());

  size_t both_accept = 0;
  size_t both_refuse = 0;
  size_t failures = 0;
  std::map<std::string, size_t> stricter;
  // Per mutation kind (the label up to " of " or "@"): accepted by both, refused
  // by both, refused by certgate only (a stricter category).
  std::map<std::string, std::array<size_t, 3>> by_kind;
  auto report = [&](const Mutant& m, const std::string& what) {
    if (++failures > 25) {
      std::cout << "also: " << m.label << ": " << what.substr(0, what.find('\n')) << "\n";
      return;
    }
    std::string hex = testing::Hex(m.blob);
    if (hex.size() > 16384) hex = hex.substr(0, 16384) + "...";
    ADD_FAILURE() << m.label << ": " << what << "\nline type: " << m.line_type << "\nblob: " << hex;
  };
  for (size_t i = 0; i < mutants.size(); ++i) {
    const Mutant& m = mutants[i];
    Result<Certificate> ours = ParseCertificate(m.blob);
    const std::optional<std::string>& theirs = keygen[i];
    std::array<size_t, 3>& kind =
        by_kind[m.label.substr(0, std::min(m.label.find(" of "), m.label.find('@')))];
    if (m.label.starts_with("original ") && !m.label.starts_with("original dsa")) {
      EXPECT_TRUE(theirs.has_value()) << "ssh-keygen refuses its own certificate " << m.label;
    }
    if (ours && theirs) {
      ++both_accept;
      ++kind[0];
      std::string described = Describe(*ours);
      std::string keygen_text = *theirs;
      if (described.find(testing::kUnprintableTime) != std::string::npos) {
        MaskValidity(&described);
        MaskValidity(&keygen_text);
      }
      if (described != keygen_text) {
        report(m, "fields differ:\ncertgate:\n" + described + "ssh-keygen:\n" + keygen_text);
      }
      if (ours->blob != m.blob) report(m, "certificate blob not kept");
    } else if (!ours && !theirs) {
      ++both_refuse;
      ++kind[1];
    } else if (ours) {
      report(m, "certgate accepts, ssh-keygen refuses (SECURITY)");
    } else {
      const StricterRule* rule = ClassifyStricter(m.blob, ours.error().code);
      if (rule) {
        ++stricter[rule->name];
        ++kind[2];
      } else {
        report(m, std::string("certgate refuses (") + ErrcName(ours.error().code) + ": " +
                      ours.error().detail + "), ssh-keygen accepts:\n" + *theirs);
      }
    }
  }
  EXPECT_EQ(failures, 0u) << "disagreements (only the first 25 shown)";

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string summary = "differential: " + std::to_string(mutants.size()) + " mutants, " +
                        std::to_string(both_accept) + " accepted by both, " +
                        std::to_string(both_refuse) + " refused by both";
  size_t stricter_total = 0;
  for (const auto& [name, count] : stricter) {
    summary += ", stricter " + name + " " + std::to_string(count);
    stricter_total += count;
    ::testing::Test::RecordProperty("stricter_" + name, static_cast<int>(count));
  }
  summary += ", " + std::to_string(failures) + " disagreements, " +
             std::to_string(static_cast<int>(seconds)) + " s";
  ::testing::Test::RecordProperty("mutants", static_cast<int>(mutants.size()));
  ::testing::Test::RecordProperty("accepted_by_both", static_cast<int>(both_accept));
  ::testing::Test::RecordProperty("refused_by_both", static_cast<int>(both_refuse));
  ::testing::Test::RecordProperty("stricter", static_cast<int>(stricter_total));
  std::cout << summary << std::endl;
  std::string kinds = "differential by mutation (both accept/both refuse/stricter):";
  for (const auto& [name, n] : by_kind) {
    if (name.starts_with("original ")) continue;
    kinds += " " + name + " " + std::to_string(n[0]) + "/" + std::to_string(n[1]) + "/" +
             std::to_string(n[2]) + ";";
  }
  std::cout << kinds << std::endl;
  // The corpus must exercise both sides: many mutants that both accept
  // (compared field by field) and many that both refuse.
  EXPECT_GT(both_accept, mutants.size() / 10);
  EXPECT_GT(both_refuse, mutants.size() / 3);
}

}  // namespace
}  // namespace certgate::core
