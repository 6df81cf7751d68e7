#include "tests/certificate_mutation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "core/wire_reader.h"
#include "tests/crypto_testing.h"

namespace certgate::testing {
namespace {

using core::AsStringView;
using core::EvpPkeyPtr;
using core::KeyType;
using core::WireReader;
using core::WireWriter;

constexpr uint64_t kForever = ~uint64_t{0};

Bytes RandomBytes(Rng& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

std::string RandomPrintable(Rng& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>(0x20 + Pick(rng, 0x5f));
  return s;
}

Bytes Mpint(std::span<const uint8_t> magnitude) {
  WireWriter w;
  w.PutMpint(magnitude);
  Bytes b = w.Take();
  return Bytes(b.begin() + 4, b.end());
}

// RsaModulus returns the mpint payload of a random odd |bits|-bit number.
Bytes RsaModulus(Rng& rng, unsigned bits) {
  Bytes n = RandomBytes(rng, (bits + 7) / 8);
  unsigned top = bits % 8 == 0 ? 8 : bits % 8;
  n[0] = static_cast<uint8_t>((n[0] | (1u << (top - 1))) & ((1u << top) - 1));
  n.back() |= 1;
  return Mpint(n);
}

// FreshPoint returns the public point of a new key on |curve|.
Bytes FreshPoint(std::string_view curve) {
  const char* group = curve == "nistp384" ? "P-384" : curve == "nistp521" ? "P-521" : "P-256";
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group));
  Bytes q(1 + 2 * 66);
  size_t len = 0;
  EXPECT_EQ(EVP_PKEY_get_octet_string_param(key.get(), "pub", q.data(), q.size(), &len), 1);
  q.resize(len);
  return q;
}

// LengthOffsets returns the offset in f.Tbs() of every length prefix: the
// top-level fields and the strings packed inside principals, options and
// the signature key.
std::vector<size_t> LengthOffsets(const CertFields& f) {
  std::vector<size_t> out;
  size_t at = 0;
  auto nested = [&](std::span<const uint8_t> body) {
    WireReader r(body);
    std::span<const uint8_t> s;
    size_t inner = at + 4;
    while (r.ReadString(&s)) {
      out.push_back(inner);
      inner += 4 + s.size();
    }
  };
  auto field = [&](std::span<const uint8_t> body, bool packed) {
    out.push_back(at);
    if (packed) nested(body);
    at += 4 + body.size();
  };
  field(StringBytes(f.type_name), false);
  field(f.nonce, false);
  for (const auto& k : f.key) field(k, false);
  at += 12;
  field(f.key_id, false);
  field(f.principals, true);
  at += 16;
  field(f.critical, true);
  field(f.extensions, true);
  field(f.reserved, false);
  field(f.signature_key, true);
  return out;
}

void PutU32At(Bytes* b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4 && at + i < b->size(); ++i) {
    (*b)[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  }
}

uint32_t GetU32At(const Bytes& b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4 && at + i < b.size(); ++i) v = (v << 8) | b[at + i];
  return v;
}

// ---------------------------------------------------------------------------
// Mutations.

bool Always(const CertFields&) { return true; }

std::vector<std::string> CertTypeNames() {
  return {"ssh-rsa-cert-v01@openssh.com",
          "rsa-sha2-256-cert-v01@openssh.com",
          "rsa-sha2-512-cert-v01@openssh.com",
          "ecdsa-sha2-nistp256-cert-v01@openssh.com",
          "ecdsa-sha2-nistp384-cert-v01@openssh.com",
          "ecdsa-sha2-nistp521-cert-v01@openssh.com",
          "ssh-ed25519-cert-v01@openssh.com",
          "sk-ssh-ed25519-cert-v01@openssh.com",
          "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
          "ssh-dss-cert-v01@openssh.com",
          "ssh-ed25519-cert-v00@openssh.com",
          "SSH-ED25519-CERT-V01@OPENSSH.COM",
          "ssh-ed25519",
          "ssh-rsa",
          "ED25519",
          "",
          std::string("ssh-ed25519-cert-v01@openssh.com\0", 33)};
}

// OptionAtom returns one critical option or extension, valid or not.
std::pair<std::string, Bytes> CriticalAtom(Rng& rng) {
  auto str = [](std::string_view s) { return WireString(StringBytes(s)); };
  switch (Pick(rng, 14)) {
    case 0:
      return {"force-command", str(RandomPrintable(rng, 1 + Pick(rng, 20)))};
    case 1:
      return {"source-address",
              str(PickOne(rng, std::vector<std::string>{"10.0.0.0/8", "192.168.1.7,::1",
                                                        "2001:db8::/32,0.0.0.0/0"}))};
    case 2:
      return {"source-address",
              str(PickOne(rng, std::vector<std::string>{"10.0.0.1/8", "10.1", "*.example.com", "",
                                                        "::/129", "10.0.0.0/8,", "1.2.3.4 "}))};
    case 3:
      return {"verify-required", {}};
    case 4:
      return {"verify-required", str("x")};
    case 5:
      return {PickOne(rng, std::vector<std::string>{"foo@example.com", "no-pty", "permit-pty", ""}),
              Pick(rng, 2) ? Bytes() : str("bar")};
    case 6:
      return {"force-command", str(std::string_view("ls\0x", 4))};
    case 7:
      return {"force-command", RandomBytes(rng, 1 + Pick(rng, 3))};
    case 8: {
      Bytes data = str("ls");
      data.push_back(0);
      return {"force-command", data};
    }
    case 9:
      return {std::string("force-command\0", 14), str("ls")};
    case 10:
      return {"force-command", {}};
    case 11:
      return {std::string(1025, 'c'), {}};
    default:
      return {"force-command", str("/usr/bin/true")};
  }
}

std::pair<std::string, Bytes> ExtensionAtom(Rng& rng) {
  static const std::vector<std::string> kFlags = {
      "permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty",
      "permit-user-rc",        "no-touch-required"};
  auto str = [](std::string_view s) { return WireString(StringBytes(s)); };
  switch (Pick(rng, 12)) {
    case 0:
    case 1:
    case 2:
      return {PickOne(rng, kFlags), {}};
    case 3:
      return {PickOne(rng, kFlags), Pick(rng, 2) ? str("") : Bytes{0}};
    case 4:
      return {"x" + std::to_string(Pick(rng, 5)) + "@example.com", {}};
    case 5:
      return {"v@example.com", str(RandomPrintable(rng, Pick(rng, 10)))};
    case 6:
      return {"raw@example.com", RandomBytes(rng, 1 + Pick(rng, 6))};
    case 7:
      return {"", Pick(rng, 2) ? Bytes() : str("e")};
    case 8:
      return {std::string("permit-pty\0", 11), {}};
    case 9:
      return {std::string(1025, 'e'), {}};
    case 10:
      return {"force-command", str("x")};
    default:
      return {"PERMIT-PTY", {}};
  }
}

OptionList MakeOptions(Rng& rng, bool critical) {
  OptionList list;
  size_t n = Pick(rng, 5);
  for (size_t i = 0; i < n; ++i) list.push_back(critical ? CriticalAtom(rng) : ExtensionAtom(rng));
  if (!list.empty() && Pick(rng, 4) == 0) list.push_back(list[Pick(rng, list.size())]);
  if (Pick(rng, 2)) {
    std::sort(list.begin(), list.end());
  } else {
    std::shuffle(list.begin(), list.end(), rng);
  }
  return list;
}

}  // namespace

bool IsRsaCert(const CertFields& f) {
  return f.type_name == "ssh-rsa-cert-v01@openssh.com" ||
         f.type_name == "rsa-sha2-256-cert-v01@openssh.com" ||
         f.type_name == "rsa-sha2-512-cert-v01@openssh.com";
}
bool IsEcdsaCert(const CertFields& f) {
  return f.type_name.starts_with("ecdsa-") || f.type_name.starts_with("sk-ecdsa-");
}
bool IsEd25519Cert(const CertFields& f) { return f.type_name.find("ed25519") != std::string::npos; }
bool IsSkCert(const CertFields& f) { return f.type_name.starts_with("sk-"); }

std::vector<Mutation> Mutations() {
  std::vector<Mutation> m;
  m.push_back({"resigned", Always, [](Draft&, Rng&) {}});
  m.push_back(
      {"nonce", Always, [](Draft& d, Rng& rng) {
         d.f.nonce = RandomBytes(rng, PickOne(rng, std::vector<size_t>{0, 1, 16, 33, 1000}));
       }});
  m.push_back({"type-name", Always,
               [](Draft& d, Rng& rng) { d.f.type_name = PickOne(rng, CertTypeNames()); }});
  m.push_back({"rsa-exponent", IsRsaCert, [](Draft& d, Rng& rng) {
                 std::vector<Bytes> es = {{3},       {1, 0, 1},    {1},         {2},
                                          {},        {0, 1, 0, 1}, {0x81},      {0},
                                          {0, 0, 3}, {0x7f, 0xff}, {0x01, 0, 0}};
                 Bytes longer = d.f.key[1];
                 longer.insert(longer.begin(), 1);
                 longer.back() |= 1;
                 es.push_back(longer);
                 d.f.key[0] = PickOne(rng, es);
               }});
  m.push_back({"rsa-modulus", IsRsaCert, [](Draft& d, Rng& rng) {
                 unsigned bits = PickOne(
                     rng, std::vector<unsigned>{1023, 1024, 1025, 2048, 4096, 16384, 16385});
                 Bytes n = RsaModulus(rng, bits);
                 switch (Pick(rng, 4)) {
                   case 0:  // a redundant leading zero
                     n.insert(n.begin(), 0);
                     break;
                   case 1:  // negative
                     if (n[0] == 0) n.erase(n.begin());
                     n[0] |= 0x80;
                     break;
                   default:
                     break;
                 }
                 d.f.key[1] = n;
               }});
  m.push_back({"ec-point", IsEcdsaCert, [](Draft& d, Rng& rng) {
                 std::string curve(AsStringView(d.f.key[0]));
                 Bytes& q = d.f.key[1];
                 switch (Pick(rng, 9)) {
                   case 0:
                     q.back() ^= 1;  // off the curve
                     break;
                   case 1:
                     q[0] = static_cast<uint8_t>(2 + Pick(rng, 2));  // compressed form
                     q.resize(1 + (q.size() - 1) / 2);
                     break;
                   case 2:
                     q = {0};  // the point at infinity
                     break;
                   case 3:
                     q.pop_back();
                     break;
                   case 4:
                     q = EcPointOutsideOpenSshRange(curve, true);
                     break;
                   case 5:
                     q = EcPointOutsideOpenSshRange(curve, false);
                     break;
                   case 6:
                     q = FreshPoint(PickOne(
                         rng, std::vector<std::string>{"nistp256", "nistp384", "nistp521"}));
                     break;
                   default:
                     q = FreshPoint(curve);
                     break;
                 }
               }});
  m.push_back({"ec-curve", IsEcdsaCert, [](Draft& d, Rng& rng) {
                 d.f.key[0] = StringBytes(PickOne(
                     rng, std::vector<std::string>{"nistp256", "nistp384", "nistp521", "nistp999",
                                                   "", "NISTP256", "secp256r1"}));
               }});
  m.push_back(
      {"ed25519-key", IsEd25519Cert, [](Draft& d, Rng& rng) {
         d.f.key[0] = RandomBytes(rng, PickOne(rng, std::vector<size_t>{32, 32, 31, 33, 0}));
       }});
  m.push_back(
      {"sk-application", IsSkCert, [](Draft& d, Rng& rng) {
         d.f.key.back() = StringBytes(PickOne(
             rng, std::vector<std::string>{"", "ssh:", "ssh:x", std::string(1024, 'a'),
                                           std::string(1025, 'a'), std::string("ssh:\0", 5)}));
       }});
  m.push_back(
      {"cstring-trailing-nul", Always, [](Draft& d, Rng& rng) {
         auto nul = [](Bytes b) {
           b.push_back(0);
           return b;
         };
         switch (Pick(rng, 7)) {
           case 0:
             d.f.key_id = nul(d.f.key_id);
             break;
           case 1:
             d.f.principals = JoinStrings({StringBytes(std::string_view("root\0", 5))});
             break;
           case 2:
             d.f.critical = JoinOptions({{"force-command", WireString(nul(StringBytes("ls")))}});
             break;
           case 3:
             d.f.extensions = JoinOptions({{std::string("permit-pty\0", 11), {}}});
             break;
           case 4:
             if (IsEcdsaCert(d.f)) d.f.key[0] = nul(d.f.key[0]);
             break;
           case 5:
             d.edit_signature = [](Bytes* sig) {
               auto [alg, inner] = SplitSignature(*sig);
               *sig = SignatureBlob(alg + std::string(1, '\0'), inner);
             };
             break;
           default:
             d.f.type_name += '\0';
             break;
         }
       }});
  m.push_back({"serial-and-type", Always, [](Draft& d, Rng& rng) {
                 d.f.serial = rng();
                 d.f.cert_type = PickOne(rng, std::vector<uint32_t>{0, 1, 2, 3, 0xffffffff, 0x101});
               }});
  m.push_back({"key-id", Always, [](Draft& d, Rng& rng) {
                 std::vector<std::string> ids = {"",
                                                 std::string(1024, 'i'),
                                                 std::string(1025, 'i'),
                                                 std::string("id\0x", 4),
                                                 RandomPrintable(rng, Pick(rng, 40)),
                                                 "\xc3\xa9t\xe9 \"q\" \t"};
                 d.f.key_id = StringBytes(PickOne(rng, ids));
               }});
  m.push_back({"principals", Always, [](Draft& d, Rng& rng) {
                 std::vector<Bytes> p;
                 size_t n = PickOne(rng, std::vector<size_t>{0, 1, 2, 3, 255, 256, 257, 300});
                 for (size_t i = 0; i < n; ++i) p.push_back(StringBytes("u" + std::to_string(i)));
                 switch (Pick(rng, 7)) {
                   case 0:
                     p.push_back({});
                     break;
                   case 1:
                     p.push_back(StringBytes(std::string_view("root\0x", 6)));
                     break;
                   case 2:
                     p.push_back(Bytes(1025, 'p'));
                     break;
                   case 3:
                     p.push_back(Bytes(1024, 'p'));
                     break;
                   case 4:
                     if (!p.empty()) p.push_back(p[0]);
                     break;
                   default:
                     break;
                 }
                 d.f.principals = JoinStrings(p);
                 if (Pick(rng, 8) == 0) {
                   Bytes junk = RandomBytes(rng, 1 + Pick(rng, 3));
                   d.f.principals.insert(d.f.principals.end(), junk.begin(), junk.end());
                 }
               }});
  m.push_back({"validity", Always, [](Draft& d, Rng& rng) {
                 // ssh-keygen prints a valid_after of "forever" as garbage
                 // (localtime_r of SSH_TIME_T_MAX fails): not picked.
                 const std::vector<uint64_t> times = {
                     0, 1, 1700000000, rng() % kYear9999, kYear9999, kForever};
                 d.f.valid_after = times[Pick(rng, times.size() - 1)];
                 d.f.valid_before = PickOne(rng, times);
               }});
  m.push_back({"critical-options", Always,
               [](Draft& d, Rng& rng) { d.f.critical = JoinOptions(MakeOptions(rng, true)); }});
  m.push_back({"extensions", Always, [](Draft& d, Rng& rng) {
                 OptionList list = MakeOptions(rng, false);
                 if (Pick(rng, 4) == 0) {
                   size_t n = PickOne(rng, std::vector<size_t>{63, 64, 65});
                   list.clear();
                   for (size_t i = 0; i < n; ++i) list.push_back({"e" + std::to_string(i), {}});
                 }
                 d.f.extensions = JoinOptions(list);
               }});
  m.push_back({"option-section", Always, [](Draft& d, Rng& rng) {
                 Bytes& section = Pick(rng, 2) ? d.f.critical : d.f.extensions;
                 OptionList list = {{"permit-pty", {}}, {"v@example.com", StringBytes("abc")}};
                 section = JoinOptions(list);
                 switch (Pick(rng, 4)) {
                   case 0:
                     section.push_back(static_cast<uint8_t>(rng()));
                     break;
                   case 1:
                     PutU32At(&section, 4 + 10, static_cast<uint32_t>(Pick(rng, 3)));
                     break;
                   case 2:
                     PutU32At(&section, section.size() - 7, 0xffffffff);
                     break;
                   default:
                     section.resize(section.size() - 1);
                     break;
                 }
               }});
  m.push_back({"reserved", Always, [](Draft& d, Rng& rng) {
                 d.f.reserved = RandomBytes(rng, PickOne(rng, std::vector<size_t>{1, 4, 100}));
               }});
  m.push_back({"signature-key", Always, [](Draft& d, Rng& rng) {
                 Bytes key = d.ca->blob;
                 WireReader r(key);
                 std::span<const uint8_t> name;
                 EXPECT_TRUE(r.ReadString(&name));
                 Bytes rest(r.rest().begin(), r.rest().end());
                 auto rename = [&](std::string_view to) {
                   Bytes b = WireString(StringBytes(to));
                   b.insert(b.end(), rest.begin(), rest.end());
                   return b;
                 };
                 switch (Pick(rng, 6)) {
                   case 0:
                     key.push_back(0);
                     break;
                   case 1:
                     key = rename(PickOne(rng, std::vector<std::string>{
                                                   "rsa-sha2-256", "rsa-sha2-512", "RSA", "ed25519",
                                                   "ED25519", "ECDSA", "ecdsa-sha2-nistp256"}));
                     break;
                   case 2:  // a certificate (of the subject) as the CA key
                     key = d.f.Blob();
                     break;
                   case 3:
                     key.clear();
                     break;
                   case 4:
                     key = rename(std::string(AsStringView(name)) + "-cert-v01@openssh.com");
                     break;
                   default:
                     key.resize(key.size() - 1);
                     break;
                 }
                 d.f.signature_key = key;
               }});
  m.push_back({"signature-algorithm", Always, [](Draft& d, Rng& rng) {
                 std::string alg =
                     PickOne(rng, std::vector<std::string>{
                                      "ssh-rsa", "rsa-sha2-256", "rsa-sha2-512", "ssh-ed25519",
                                      "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                                      "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", ""});
                 if (d.ca->type == KeyType::kRsa && Pick(rng, 2)) {
                   d.alg = alg;  // signed with the algorithm it names
                 } else {
                   d.edit_signature = [alg](Bytes* sig) {
                     *sig = SignatureBlob(alg, SplitSignature(*sig).second);
                   };
                 }
               }});
  m.push_back({"signature-encoding", Always, [](Draft& d, Rng& rng) {
                 size_t choice = Pick(rng, 6);
                 d.edit_signature = [choice](Bytes* sig) {
                   auto [alg, inner] = SplitSignature(*sig);
                   switch (choice) {
                     case 0:  // bytes after the signature data
                       sig->push_back(0);
                       return;
                     case 1:
                       sig->clear();
                       return;
                     case 2:
                       inner.pop_back();
                       break;
                     default: {
                       WireReader r(inner);
                       std::span<const uint8_t> ec_r, ec_s;
                       if (r.ReadString(&ec_r) && r.ReadString(&ec_s) && r.empty()) {
                         // ECDSA: a redundant zero before r, or data after s.
                         Bytes rr(ec_r.begin(), ec_r.end());
                         Bytes ss(ec_s.begin(), ec_s.end());
                         if (choice == 3) rr.insert(rr.begin(), 0);
                         if (choice == 4) ss.insert(ss.begin(), 0);
                         WireWriter w;
                         w.PutString(rr);
                         w.PutString(ss);
                         if (choice == 5) w.PutU8(0);
                         inner = w.Take();
                       } else {
                         inner.insert(inner.begin(), 0);  // RSA, Ed25519: one byte longer
                       }
                       break;
                     }
                   }
                   *sig = SignatureBlob(alg, inner);
                 };
               }});
  m.push_back({"trailing", Always,
               [](Draft& d, Rng& rng) { d.f.trailing = RandomBytes(rng, 1 + Pick(rng, 4)); }});
  m.push_back({"tbs-bytes", Always, [](Draft& d, Rng& rng) {
                 uint64_t seed = rng();
                 d.edit_tbs = [seed](Bytes* tbs) {
                   Rng r(seed);
                   size_t at = Pick(r, tbs->size());
                   switch (Pick(r, 4)) {
                     case 0:
                       (*tbs)[at] ^= static_cast<uint8_t>(1u << Pick(r, 8));
                       break;
                     case 1:
                       (*tbs)[at] = static_cast<uint8_t>(r());
                       break;
                     case 2:
                       tbs->insert(tbs->begin() + static_cast<std::ptrdiff_t>(at),
                                   static_cast<uint8_t>(r()));
                       break;
                     default:
                       tbs->erase(tbs->begin() + static_cast<std::ptrdiff_t>(at));
                       break;
                   }
                 };
               }});
  m.push_back({"tbs-length", Always, [](Draft& d, Rng& rng) {
                 std::vector<size_t> offsets = LengthOffsets(d.f);
                 size_t at = PickOne(rng, offsets);
                 size_t how = Pick(rng, 5);
                 d.edit_tbs = [at, how](Bytes* tbs) {
                   uint32_t v = GetU32At(*tbs, at);
                   const std::array<uint32_t, 5> values = {v + 1, v - 1, 0, 0xffffffff, 0x80000000};
                   PutU32At(tbs, at, values[how] == v ? v + 1 : values[how]);
                 };
               }});
  return m;
}

// RawMutant damages a whole blob without signing it again.
Bytes RawMutant(const Base& base, Rng& rng, std::string* label) {
  Bytes b = base.blob;
  switch (Pick(rng, 4)) {
    case 0: {
      size_t at = Pick(rng, b.size());
      b[at] ^= static_cast<uint8_t>(1u << Pick(rng, 8));
      *label = "raw-bit-flip@" + std::to_string(at);
      break;
    }
    case 1: {
      size_t len = Pick(rng, b.size());
      b.resize(len);
      *label = "raw-truncate@" + std::to_string(len);
      break;
    }
    case 2: {
      Bytes more = RandomBytes(rng, 1 + Pick(rng, 8));
      b.insert(b.end(), more.begin(), more.end());
      *label = "raw-append";
      break;
    }
    default: {
      std::vector<size_t> offsets = LengthOffsets(base.fields);
      offsets.push_back(base.fields.Tbs().size());  // the signature's length
      size_t at = PickOne(rng, offsets);
      uint32_t v = GetU32At(b, at);
      const std::array<uint32_t, 5> values = {v + 1, v - 1, 0, 0xffffffff, 0x7fffffff};
      uint32_t to = values[Pick(rng, values.size())];
      PutU32At(&b, at, to == v ? v + 1 : to);  // never a no-op
      *label = "raw-length@" + std::to_string(at);
      break;
    }
  }
  return b;
}

Bytes Finish(const Draft& d) {
  Bytes tbs = d.f.Tbs();
  if (d.edit_tbs) d.edit_tbs(&tbs);
  Bytes sig = d.resign ? SshSign(*d.ca, d.alg, tbs) : d.f.signature;
  if (d.edit_signature) d.edit_signature(&sig);
  WireWriter w;
  w.PutBytes(tbs);
  w.PutString(sig);
  w.PutBytes(d.f.trailing);
  return w.Take();
}

}  // namespace certgate::testing
