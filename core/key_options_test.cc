#include "core/key_options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace certgate::core {
namespace {

constexpr char kEd25519[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7Rf4UtCFvPwKgo/BztXck2xC4a2WyA34XtIwZ";

// A CIDR entry sshd would refuse says why and what to write instead.
TEST(KeyOptionsTest, FromCidrMessages) {
  Status s = CheckKeyOption("from=\"127.0.0.1,10.0.0.0/33\"");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail,
            "from entry \"10.0.0.0/33\": mask /33 is longer than an IPv4 address (32 bits) (sshd would refuse every "
            "login with this key)");
  s = CheckKeyOption("from=\"!10.1.2.3/16\"");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().detail,
            "from entry \"!10.1.2.3/16\": the address has bits set after the first 16; write the network, e.g. "
            "10.1.0.0/16 (sshd would refuse every login with this key)");
  s = CheckKeyOption("from=\"2001:db8::1/33\"");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().detail.find("e.g. 2001:db8::/33"), std::string::npos) << s.error().detail;
}

TEST(KeyOptionsTest, GoodOptions) {
  const char* cases[] = {
      "restrict",
      "no-pty",
      "pty",
      "No-Port-Forwarding",  // sshd compares names case-insensitively
      "no-agent-forwarding",
      "agent-forwarding",
      "port-forwarding",
      "user-rc",
      "no-user-rc",
      "X11-forwarding",
      "no-X11-forwarding",
      "no-touch-required",
      "touch-required",
      "verify-required",
      "no-verify-required",  // sshd's opt_flag allows the no- form
      "command=\"/usr/bin/uptime\"",
      "command=\"\"",
      "command=\"echo \\\"hi\\\"\"",
      "command=\"a,b c\"",
      "environment=\"LANG=C\"",
      "environment=\"A_1=\"",
      "expiry-time=\"20270101\"",
      "expiry-time=\"202701011200\"",
      "expiry-time=\"20270101120059Z\"",
      "from=\"10.0.0.0/8\"",
      "from=\"*.example.com,!bad.example.com,192.168.1.?\"",
      // What sshd's addr_pton_cidr does not read as ADDRESS/BITS is a
      // pattern, and so is accepted: a name, a mask over 128, a sign.
      "from=\"10.0.0.0/32,!192.168.0.0/16,0.0.0.0/0,2001:db8::/32,::/0,::1/128\"",
      "from=\"host/33,10.0.0.0/129,10.0.0.0/x,10.0.0.0/,10.0.0.0/8/8,10.0.0.1/-4\"",
      "from=\"10.0.0.1/+8,10.0.0.1/-0,10.0.0.0/008,::1/129\"",
      "permitopen=\"db:5432\"",
      "permitopen=\"[::1]:22\"",
      "permitopen=\"*:*\"",
      "permitlisten=\"8080\"",
      "permitlisten=\"localhost:8080\"",
      "tunnel=\"0\"",
      "tunnel=\"42\"",
      // a2tun: "any" in any case is SSH_TUNID_ANY.
      "tunnel=\"any\"",
      "tunnel=\"ANY\"",
  };
  for (const char* c : cases) {
    Status s = CheckKeyOption(c);
    EXPECT_TRUE(s.has_value()) << c << ": " << (s ? "" : s.error().detail);
  }
}

TEST(KeyOptionsTest, BadOptions) {
  const char* cases[] = {
      "",
      "cert-authority",
      "Cert-Authority",
      "principals=\"root\"",
      "no-such-option",
      "no-pty=\"x\"",
      "pty ",
      "command",
      "command=/bin/true",
      "command=\"unterminated",
      "command=\"a\"b",
      "command=\"a\"\"",
      "environment=\"NOEQUALS\"",
      "environment=\"=x\"",
      "environment=\"A-B=x\"",
      "expiry-time=\"2027\"",
      "expiry-time=\"20271301\"",
      "expiry-time=\"202701011260\"",
      "expiry-time=\"tomorrow\"",
      "from=\"\"",
      "from=\"a,,b\"",
      "from=\"a b\"",
      "from=\"10.0.0.0/33\"",
      "from=\"!10.0.0.0/33\"",
      "from=\"10.0.0.1/8\"",
      "from=\"::1/127\"",
      "from=\"2001:db8::1/32\"",
      "from=\"10.1/16\"",  // inet_aton's 10.0.0.1, as getaddrinfo reads it
      "permitopen=\"db\"",
      "permitopen=\"db:0\"",
      "permitopen=\"db:65536\"",
      "permitopen=\":22\"",
      "permitopen=\"::1:22\"",
      "permitopen=\"db host:22\"",
      "permitopen=\"db\thost:22\"",
      "permitopen=\"db,evil:22\"",
      "permitopen=\"[db,evil]:22\"",
      "command=\"a\x7f\"",
      "permitlisten=\"x\"",
      "tunnel=\"any:0\"",
      "tunnel=\"anyx\"",
      "tunnel=\"-1\"",
      "tunnel=\"99999999999\"",
      "command=\"a\nb\"",
      "pty\r",
  };
  for (const char* c : cases) {
    Status s = CheckKeyOption(c);
    ASSERT_FALSE(s.has_value()) << c;
    EXPECT_EQ(s.error().code, Errc::kBadFormat) << c;
  }
  Status nul = CheckKeyOption(std::string("command=\"a\0b\"", 13));
  EXPECT_FALSE(nul.has_value());
}

// The names sshd reads as options, in any case; a word that merely looks
// like one is not.
TEST(KeyOptionsTest, OptionNames) {
  for (std::string_view name : {"no-pty", "No-PTY", "restrict", "X11-forwarding", "command", "permitlisten",
                                "cert-authority", "principals", "verify-required", "No-Verify-Required"}) {
    EXPECT_TRUE(IsKeyOptionName(name)) << name;
  }
  for (std::string_view name : {"", "use", "no-pty2", "nopty", "command=", "<p>", "cert-authority-v2"}) {
    EXPECT_FALSE(IsKeyOptionName(name)) << name;
  }
}

TEST(KeyOptionsTest, Split) {
  Result<std::vector<std::string>> r = SplitKeyOptions("restrict,pty,command=\"a,b\",from=\"10.0.0.0/8,::1\"");
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(*r, (std::vector<std::string>{"restrict", "pty", "command=\"a,b\"", "from=\"10.0.0.0/8,::1\""}));
  Result<std::vector<std::string>> escaped = SplitKeyOptions("command=\"say \\\"x,y\\\"\",no-pty");
  ASSERT_TRUE(escaped.has_value()) << escaped.error().detail;
  EXPECT_EQ(escaped->size(), 2u);

  for (const char* bad : {"", ",", "a,,b", "pty,", ",pty", "command=\"x", "pty,bogus",
                          "command=\"a\",command=\"b\"", "from=\"a\",FROM=\"b\""}) {
    EXPECT_FALSE(SplitKeyOptions(bad).has_value()) << bad;
  }
  Result<std::vector<std::string>> dup = SplitKeyOptions("command=\"a\",command=\"b\"");
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, Errc::kDuplicateOption);
}

TEST(KeyOptionsTest, AuthorizedKeysLine) {
  Result<AuthorizedKeysLine> plain = ParseAuthorizedKeysLine(std::string(kEd25519) + " breakglass key");
  ASSERT_TRUE(plain.has_value()) << plain.error().detail;
  EXPECT_TRUE(plain->options.empty());
  EXPECT_EQ(plain->key.type, KeyType::kEd25519);
  EXPECT_EQ(plain->comment, "breakglass key");

  Result<AuthorizedKeysLine> with = ParseAuthorizedKeysLine(
      std::string("restrict,pty,command=\"echo a b\" ") + kEd25519 + " oncall");
  ASSERT_TRUE(with.has_value()) << with.error().detail;
  EXPECT_EQ(with->options, (std::vector<std::string>{"restrict", "pty", "command=\"echo a b\""}));
  EXPECT_EQ(with->comment, "oncall");

  Result<AuthorizedKeysLine> spaced = ParseAuthorizedKeysLine(std::string("  no-pty\t") + kEd25519);
  ASSERT_TRUE(spaced.has_value()) << spaced.error().detail;
  EXPECT_EQ(spaced->options, std::vector<std::string>{"no-pty"});

  // \" inside a quoted value does not end it (sshkey_advance_past_options):
  // the blank after it is still part of the options, and the key follows.
  Result<AuthorizedKeysLine> escaped = ParseAuthorizedKeysLine(
      std::string("command=\"say \\\" hi\\\"\",no-pty ") + kEd25519 + " c");
  ASSERT_TRUE(escaped.has_value()) << escaped.error().detail;
  EXPECT_EQ(escaped->options, (std::vector<std::string>{"command=\"say \\\" hi\\\"\"", "no-pty"}));
  EXPECT_EQ(escaped->comment, "c");
}

TEST(KeyOptionsTest, AuthorizedKeysLineErrors) {
  const std::string key = kEd25519;
  const std::string cases[] = {
      "",
      "   ",
      "# comment",
      "no-pty",
      "cert-authority " + key,
      "bogus-option " + key,
      "command=\"unbalanced " + key,
      "command=\"escaped end\\\" " + key,
      "restrict " + key.substr(0, key.size() - 4),
      "ssh-ed25519 !!notbase64",
      "ssh-ed25519-cert-v01@openssh.com AAAA",
      "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7Rf4UtCFvPwKgo/BztXck2xC4a2WyA34XtIwZ",
  };
  for (const std::string& c : cases) {
    EXPECT_FALSE(ParseAuthorizedKeysLine(c).has_value()) << c;
  }
}

}  // namespace
}  // namespace certgate::core
