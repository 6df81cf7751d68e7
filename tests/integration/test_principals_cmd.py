#!/usr/bin/env python3
"""End-to-end tests of principals-cmd behind a real sshd on 127.0.0.1.

Run (as root):  python3 tests/integration/test_principals_cmd.py --binary PATH [--mode M]
(ctest passes the built binary; $CERTGATE_PRINCIPALS_CMD works too; without
either the newest build*/principals-cmd/principals-cmd of the tree is used).
Extra arguments select tests, e.g. `PrincipalsLoginTest.test_expired`.

Two classes:
  StaticPrincipalsFileTest  the harness itself against sshd's own
                            AuthorizedPrincipalsFile (no certgate binary)
  PrincipalsLoginTest       logins through principals-cmd, one sshd, the
                            policy rewritten before each case

The binary run as sshd runs it, without sshd, is
test_principals_cmd_direct.py's.
"""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sshd_harness as h  # noqa: E402
from principals_fixture import (ALICE, BOB, CAROL, NOT_GRANTED, OPS_GROUP, PREFIX,  # noqa: E402
                                PrincipalsWorld, base_policy, parse_args, rule, tear_down)

_, NO_BINARY = parse_args()
SKIP = h.skip_reason()


@unittest.skipIf(SKIP, SKIP)
class StaticPrincipalsFileTest(h.SshdTestCase):
    """The harness against sshd's own AuthorizedPrincipalsFile: if these fail,
    the harness (not certgate) is broken."""

    @classmethod
    def setUpClass(cls):
        w = PrincipalsWorld.get()
        cls.w = w
        cls.tap = w.tap
        cls.pfile = os.path.join(w.ws.etc, "principals-static")
        w.ws.write(cls.pfile, "ops\n")
        cls.sshd = h.Sshd(w.ws, [
            "AuthorizedKeysFile none",
            "TrustedUserCAKeys " + w.trusted,
            "AuthorizedPrincipalsFile " + cls.pfile,
            "CASignatureAlgorithms +ssh-rsa",
        ], name="static").start()

    @classmethod
    def tearDownClass(cls):
        cls.sshd.stop()

    def test_static_allowed(self):
        key = self.w.keys.user_with_cert(self.w.ca_prod, principals=["ops"])
        self.assertLoginOK(ALICE, key, "id -un", expect_out=ALICE)

    def test_static_wrong_principal(self):
        key = self.w.keys.user_with_cert(self.w.ca_prod, principals=["dev"])
        self.assertLoginDenied(ALICE, key, reason=r"authorized principal")

    def test_static_expired(self):
        key = self.w.keys.user_with_cert(self.w.ca_prod, principals=["ops"], validity="-2h:-1h")
        self.assertLoginDenied(ALICE, key, reason=r"expired")


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class PrincipalsLoginTest(h.SshdTestCase):
    """Each case writes the policy, signs a certificate, logs in."""

    @classmethod
    def setUpClass(cls):
        w = PrincipalsWorld.get()
        cls.w = w
        cls.tap = w.tap
        cls.sshd = h.Sshd(w.ws, [
            "AuthorizedKeysFile none",
            "TrustedUserCAKeys " + w.trusted,
            "AuthorizedPrincipalsCommand %s --policy %s --verbose %%u %%t %%k" % (w.cmd, w.policy),
            "AuthorizedPrincipalsCommandUser nobody",
            "CASignatureAlgorithms +ssh-rsa",
        ], name="principals").start()

    @classmethod
    def tearDownClass(cls):
        cls.sshd.stop()

    def setUp(self):
        frag_dir = self.w.policy + ".d"
        if os.path.isdir(frag_dir):
            for f in os.listdir(frag_dir):
                os.unlink(os.path.join(frag_dir, f))
            os.rmdir(frag_dir)

    def set_policy(self, rules, **kw):
        self.w.ws.write(self.w.policy, base_policy(self.w, rules, **kw))

    def cert(self, principals=("ops",), ca=None, **kw):
        return self.w.keys.user_with_cert(ca or self.w.ca_prod,
                                          principals=None if principals is None else list(principals),
                                          **kw)

    # --- principals ---

    def test_allowed_principal(self):
        self.set_policy([rule([ALICE])])
        self.assertLoginOK(ALICE, self.cert(key_id="alice@example.com"), "id -un",
                           expect_out=ALICE)
        self.assertRegex(self.logged(wait_for="allow"), r"(?i)allow")

    def test_wrong_principal(self):
        self.set_policy([rule([ALICE])])
        self.assertLoginDenied(ALICE, self.cert(["dev"]), reason=NOT_GRANTED)

    def test_rule_for_other_user_grants_nothing(self):
        self.set_policy([rule([BOB])])
        self.assertLoginDenied(ALICE, self.cert(), reason=NOT_GRANTED)

    def test_empty_principals_denied(self):
        self.set_policy([rule([ALICE], ["*"])])
        self.assertLoginDenied(ALICE, self.cert(None), reason=r"principal")

    def test_user_token_principal(self):
        self.set_policy([rule(["%s_*" % PREFIX], ["{user}"])])
        self.assertLoginOK(ALICE, self.cert([ALICE]))

    def test_user_token_other_user_denied(self):
        self.set_policy([rule(["%s_*" % PREFIX], ["{user}"])])
        self.assertLoginDenied(ALICE, self.cert([BOB]), reason=NOT_GRANTED)

    def test_negated_principal_pattern(self):
        self.set_policy([rule([ALICE], ["*", "!root"])])
        self.assertLoginDenied(ALICE, self.cert(["root"]), reason=NOT_GRANTED)
        self.assertLoginOK(ALICE, self.cert(["ops"]))

    # --- users ---

    def test_group_supplementary_member(self):
        self.set_policy([rule(["group:" + OPS_GROUP])])
        self.assertLoginOK(ALICE, self.cert())

    def test_group_primary_member(self):
        self.set_policy([rule(["group:" + OPS_GROUP])])
        self.assertLoginOK(BOB, self.cert())

    def test_group_non_member_denied(self):
        self.set_policy([rule(["group:" + OPS_GROUP])])
        self.assertLoginDenied(CAROL, self.cert(), reason=NOT_GRANTED)

    def test_group_membership_change_takes_effect_at_once(self):
        # The service remembers NSS answers for a second at most, and not
        # past a change of /etc/group (core::GroupCache).
        self.set_policy([rule(["group:" + OPS_GROUP])])
        self.assertLoginDenied(CAROL, self.cert(), reason=NOT_GRANTED)
        subprocess.run(["gpasswd", "-a", CAROL, OPS_GROUP], check=True, capture_output=True)
        try:
            self.assertLoginOK(CAROL, self.cert())
        finally:
            subprocess.run(["gpasswd", "-d", CAROL, OPS_GROUP], check=True, capture_output=True)
        self.assertLoginDenied(CAROL, self.cert(), reason=NOT_GRANTED)

    def test_negated_user_pattern(self):
        self.set_policy([rule(["%s_*" % PREFIX, "!" + CAROL])])
        self.assertLoginDenied(CAROL, self.cert(), reason=NOT_GRANTED)
        self.assertLoginOK(ALICE, self.cert())

    # --- authority, time, revocation ---

    def test_unknown_ca(self):
        self.set_policy([rule([ALICE])])
        self.assertLoginDenied(ALICE, self.cert(ca=self.w.ca_other), reason=r"unknown CA")

    def test_expired(self):
        self.set_policy([rule([ALICE])])
        self.assertLoginDenied(ALICE, self.cert(validity="-2h:-1h"), reason=r"expired")

    def test_not_yet_valid(self):
        self.set_policy([rule([ALICE])])
        self.assertLoginDenied(ALICE, self.cert(validity="+1h:+2h"),
                               reason=r"not (yet )?valid|early|future")

    def test_over_max_lifetime(self):
        self.set_policy([rule([ALICE], max_lifetime="10m")])
        self.assertLoginDenied(ALICE, self.cert(validity="-5m:+1h"), reason=r"lifetime")
        self.assertLoginOK(ALICE, self.cert(validity="-1m:+5m"))

    def test_defaults_max_lifetime(self):
        self.set_policy([rule([ALICE])], defaults={"max_lifetime": "10m"})
        self.assertLoginDenied(ALICE, self.cert(validity="-5m:+1h"), reason=r"lifetime")
        self.set_policy([rule([ALICE], max_lifetime="2h")], defaults={"max_lifetime": "10m"})
        self.assertLoginOK(ALICE, self.cert(validity="-5m:+1h"))

    def test_revoked_serial(self):
        self.set_policy([rule([ALICE])], revoked_serials=[4242, 4243])
        self.assertLoginDenied(ALICE, self.cert(serial=4242), reason=r"revoked")
        self.assertLoginOK(ALICE, self.cert(serial=4244))

    def test_revoked_key_id(self):
        self.set_policy([rule([ALICE])], revoked={"key_ids": ["mallory@example.com"]})
        self.assertLoginDenied(ALICE, self.cert(key_id="mallory@example.com"), reason=r"revoked")
        self.assertLoginOK(ALICE, self.cert(key_id="alice@example.com"))

    def _krl_policy(self, **krl_args):
        krl = self.w.keys.krl(os.path.join(self.w.ws.etc, "revoked.krl"), self.w.ca_prod,
                              **krl_args)
        self.set_policy([rule([ALICE])], revoked={"krl": krl})

    def test_krl_serial(self):
        self._krl_policy(spec_lines=["serial: 777"])
        self.assertLoginDenied(ALICE, self.cert(serial=777), reason=r"revoked|krl")
        self.assertLoginOK(ALICE, self.cert(serial=778))

    def test_krl_key_id(self):
        self._krl_policy(spec_lines=["id: stolen@example.com"])
        self.assertLoginDenied(ALICE, self.cert(key_id="stolen@example.com"),
                               reason=r"revoked|krl")
        self.assertLoginOK(ALICE, self.cert(key_id="fine@example.com"))

    def test_krl_explicit_key(self):
        key = self.cert()
        self._krl_policy(keys=[key])
        self.assertLoginDenied(ALICE, key, reason=r"revoked|krl")
        self.assertLoginOK(ALICE, self.cert())

    def test_krl_unreadable_fails_closed(self):
        self.set_policy([rule([ALICE])],
                        revoked={"krl": os.path.join(self.w.ws.etc, "no-such.krl")})
        self.assertLoginDenied(ALICE, self.cert(), reason=r"krl")

    # --- rule constraints ---

    def test_key_id_pattern(self):
        self.set_policy([rule([ALICE], key_id="*@example.com")])
        self.assertLoginOK(ALICE, self.cert(key_id="alice@example.com"))
        self.assertLoginDenied(ALICE, self.cert(key_id="alice@evil.example.org"),
                               reason=r"key.?id")

    def test_source_address_required(self):
        self.set_policy([rule([ALICE], source_address="required")])
        self.assertLoginOK(ALICE, self.cert(options=["source-address=127.0.0.1/32"]))
        self.assertLoginDenied(ALICE, self.cert(), reason=r"source.address")
        # Addresses are read as sshd reads them: "127.1" and the octal
        # "0177.0.0.1" are 127.0.0.1 (inet_aton), so the login works;
        # "0177.0.0.2" is another host, and sshd itself refuses it.
        self.assertLoginOK(ALICE, self.cert(options=["source-address=127.1,::1"]))
        self.assertLoginOK(ALICE, self.cert(options=["source-address=0177.0.0.1"]))
        self.assertLoginDenied(ALICE, self.cert(options=["source-address=0177.0.0.2"]),
                               reason=r"permitted source address")

    def test_required_extension_missing(self):
        self.set_policy([rule([ALICE], extensions={"require": ["permit-pty"]})])
        self.assertLoginDenied(ALICE, self.cert(options=["clear"]), reason=r"permit-pty|extension")
        self.assertLoginOK(ALICE, self.cert(options=["clear", "permit-pty"]))

    def test_forbidden_extension_present(self):
        self.set_policy([rule([ALICE], extensions={"forbid": ["permit-agent-forwarding"]})])
        self.assertLoginDenied(ALICE, self.cert(), reason=r"permit-agent-forwarding|extension")
        self.assertLoginOK(ALICE, self.cert(options=["clear", "permit-pty"]))

    def test_key_types(self):
        self.set_policy([rule([ALICE], key_types=["ssh-ed25519"])])
        self.assertLoginOK(ALICE, self.cert())
        self.assertLoginDenied(ALICE, self.cert(kind="ecdsa"), reason=r"key.?type|ecdsa")

    def test_min_rsa_bits(self):
        self.set_policy([rule([ALICE], min_rsa_bits=3072)])
        self.assertLoginDenied(ALICE, self.cert(kind="rsa", bits=2048), reason=r"min_rsa_bits|bits")
        self.assertLoginOK(ALICE, self.cert(kind="rsa", bits=3072))

    def test_sha1_ca_denied_without_allow_sha1(self):
        self.set_policy([rule([ALICE], authorities=["legacy"])])
        self.assertLoginDenied(ALICE, self.cert(ca=self.w.ca_rsa, sig_alg="ssh-rsa"),
                               reason=r"sha-?1|ssh-rsa")
        # the same CA signing with rsa-sha2-512 is fine
        self.assertLoginOK(ALICE, self.cert(ca=self.w.ca_rsa))

    def test_sha1_ca_allowed_with_allow_sha1(self):
        self.set_policy([rule([ALICE], authorities=["legacy"])], allow_sha1=True)
        self.assertLoginOK(ALICE, self.cert(ca=self.w.ca_rsa, sig_alg="ssh-rsa"))

    # --- options sshd honours ---

    def test_option_from_other_network_denied_by_sshd(self):
        self.set_policy([rule([ALICE], options=['from="10.0.0.0/8"'])])
        self.assertLoginDenied(ALICE, self.cert(), reason=r"not from a permitted host|from=")

    def test_option_from_loopback_allowed(self):
        self.set_policy([rule([ALICE], options=['from="127.0.0.1"'])])
        self.assertLoginOK(ALICE, self.cert())

    def test_option_command_forced(self):
        self.set_policy([rule([ALICE], options=['command="echo forced-by-policy"'])])
        self.assertLoginOK(ALICE, self.cert(), "id -un", expect_out="forced-by-policy")

    def test_option_command_and_force_command_must_agree(self):
        """sshd refuses a login whose certificate forces one command and
        whose principals line another: that rule grants nothing (and says
        why), a later rule may grant, and the same command is fine."""
        forced = self.cert(options=["force-command=echo from-cert"])
        self.set_policy([rule([ALICE], options=['command="echo from-policy"'])])
        self.assertLoginDenied(ALICE, forced, reason=r"not the certificate's force-command")
        self.set_policy([rule([ALICE], options=['command="echo from-policy"']), rule([ALICE])])
        self.assertLoginOK(ALICE, forced, "id -un", expect_out="from-cert")
        self.set_policy([rule([ALICE], options=['command="echo from-cert"'])])
        self.assertLoginOK(ALICE, forced, "id -un", expect_out="from-cert")

    def test_option_tunnel_any(self):
        # sshd reads tunnel="any" as any device (misc.c a2tun).
        self.set_policy([rule([ALICE], options=['tunnel="any"'])])
        self.assertLoginOK(ALICE, self.cert())

    def test_option_no_pty(self):
        self.set_policy([rule([ALICE], options=["no-pty"])])
        # Authentication succeeds; sshd then refuses the pty (the client
        # gives up with 255 when a forced tty is refused).
        rc, out, err = self.login(ALICE, self.cert(), "tty; true", options=["RequestTTY=force"])
        self.assertIn("PTY allocation request failed", err)
        self.assertNotIn("Permission denied", err)
        self.assertRegex(self.logged(wait_for="Accepted"), r"Accepted (certificate|publickey)")
        out = self.assertLoginOK(ALICE, self.cert(), "tty; true")
        self.assertIn("not a tty", out)
        self.set_policy([rule([ALICE])])
        out = self.assertLoginOK(ALICE, self.cert(), "tty; true", options=["RequestTTY=force"])
        self.assertIn("/dev/pts/", out)

    # --- policy structure ---

    def test_first_rule_wins(self):
        self.set_policy([rule([ALICE], options=['command="echo rule-one"'], name="one"),
                         rule([ALICE], options=['command="echo rule-two"'], name="two")])
        self.assertLoginOK(ALICE, self.cert(), expect_out="rule-one")

    def test_failing_rule_falls_through_to_next(self):
        self.set_policy([rule([ALICE], key_id="nobody-has-this", name="strict"),
                         rule([ALICE], options=['command="echo second"'], name="loose")])
        self.assertLoginOK(ALICE, self.cert(), expect_out="second")

    def test_policy_d_fragment(self):
        self.set_policy([rule([BOB])])
        self.assertLoginDenied(ALICE, self.cert(), reason=NOT_GRANTED)
        frag_dir = self.w.policy + ".d"
        os.mkdir(frag_dir)
        os.chmod(frag_dir, 0o755)
        self.w.ws.write(os.path.join(frag_dir, "10-alice.yaml"),
                        h.policy_yaml({"version": 1, "rules": [rule([ALICE])]}))
        self.w.ws.write(os.path.join(frag_dir, "ignored.txt"), "not yaml: [\n")
        self.assertLoginOK(ALICE, self.cert())

    def test_invalid_policy_denies_everything(self):
        self.set_policy([rule([ALICE])])
        with open(self.w.policy) as f:
            good = f.read()
        self.w.ws.write(self.w.policy, good + "rulez: []\n")
        self.assertLoginDenied(ALICE, self.cert(), reason=r"polic")
        r = h.run_helper(self.w.bin, ["--check", "--policy", self.w.policy])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        line_no = good.count("\n") + 1
        self.assertRegex(r.stdout, r"(?m)^%s:%d:\d+: \S" % (re.escape(self.w.policy), line_no))

    def test_unsafe_policy_permissions_denied(self):
        self.set_policy([rule([ALICE])])
        os.chmod(self.w.policy, 0o664)
        try:
            self.assertLoginDenied(ALICE, self.cert(), reason=r"writable|permission|unsafe|mode")
        finally:
            os.chmod(self.w.policy, 0o644)
        self.assertLoginOK(ALICE, self.cert())


def tearDownModule():
    tear_down()


if __name__ == "__main__":
    h.run_main()
