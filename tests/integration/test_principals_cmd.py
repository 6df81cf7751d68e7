#!/usr/bin/env python3
"""End-to-end tests of principals-cmd behind a real sshd on 127.0.0.1.

Run (as root):  python3 tests/integration/test_principals_cmd.py --binary PATH [--mode M]
(ctest passes the built binary; $CERTGATE_PRINCIPALS_CMD works too; without
either the newest build*/principals-cmd/principals-cmd of the tree is used).
Extra arguments select tests, e.g. `PrincipalsLoginTest.test_expired`.

Three classes:
  StaticPrincipalsFileTest  the harness itself against sshd's own
                            AuthorizedPrincipalsFile (no certgate binary)
  PrincipalsLoginTest       logins through principals-cmd, one sshd, the
                            policy rewritten before each case
  PrincipalsDirectTest      the binary run as sshd runs it (as nobody,
                            env -i PATH=/usr/bin:/bin USER=nobody ...)
"""

import glob
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decide_mode  # noqa: E402
import helper_cases  # noqa: E402
import sshd_harness as h  # noqa: E402

PREFIX = "cgp"  # users and groups of this file (keys-cmd uses cgk)
ALICE, BOB, CAROL = PREFIX + "_alice", PREFIX + "_bob", PREFIX + "_carol"
OPS_GROUP = PREFIX + "_ops"

BINARY = h.parse_binary_arg("--binary", "CERTGATE_PRINCIPALS_CMD")
# --mode fallback (default): the client finds no service and runs the helper
# in-process (certgate-decide --run); --mode service: a certgate-decide
# service with the login policy preloaded answers. Every case must pass in
# both modes: the decision is the same code either way.
MODE = decide_mode.parse_mode_arg()
if not BINARY:
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(glob.glob(os.path.join(here, "..", "..", "build*", "principals-cmd",
                                          "principals-cmd")), key=os.path.getmtime)
    BINARY = os.path.abspath(found[-1]) if found else None

SKIP = h.skip_reason()
# The logged reason when rules exist but none grants (loose on purpose).
NOT_GRANTED = r"deny .*(no rule grants|not in users|principal)"
NO_BINARY = None if BINARY and os.access(BINARY, os.X_OK) else (
    "principals-cmd binary not found (pass --binary PATH or set CERTGATE_PRINCIPALS_CMD)")


class _World(h.World):
    """State shared by the classes of this file: one workspace, users, CAs,
    syslog tap; built on first use, torn down at exit."""
    TAG = "p"

    @classmethod
    def populate(cls):
        cls.users.group(OPS_GROUP)
        cls.users.user(ALICE, groups=[OPS_GROUP])     # supplementary member
        cls.users.user(BOB, primary_group=OPS_GROUP)  # primary member
        cls.users.user(CAROL)                         # not a member
        cls.ca_prod = cls.keys.make_key("ca-prod")
        cls.ca_other = cls.keys.make_key("ca-other")            # trusted by sshd, not by policy
        cls.ca_rsa = cls.keys.make_key("ca-rsa", "rsa", 3072)   # legacy, SHA-1 capable
        cls.trusted = cls.ws.write(os.path.join(cls.ws.etc, "trusted_user_ca_keys"), "".join(
            h.Keys.pub_line(k) + "\n" for k in (cls.ca_prod, cls.ca_other, cls.ca_rsa)))
        cls.policy = os.path.join(cls.ws.etc, "policy.yaml")
        if BINARY and not NO_BINARY:
            cls.bin = cls.ws.install(BINARY, "principals-cmd")
            cls.decide = decide_mode.DecideMode(cls.ws, BINARY, MODE, cls.policy)
            cls.decide.wrap_run_helper(cls.bin)
            cls.cmd = cls.decide.command(cls.bin)


def base_policy(w, rules, allow_sha1=None, revoked_serials=None, revoked=None, defaults=None):
    prod = {"keys": [h.Keys.pub_line(w.ca_prod) + " prod-ca"]}
    if revoked_serials:
        prod["revoked_serials"] = revoked_serials
    legacy = {"keys": [h.Keys.pub_line(w.ca_rsa) + " legacy-ca"]}
    if allow_sha1 is not None:
        legacy["allow_sha1"] = allow_sha1
    doc = {"version": 1, "authorities": {"prod": prod, "legacy": legacy}}
    if defaults:
        doc["defaults"] = defaults
    if revoked:
        doc["revoked"] = revoked
    doc["rules"] = rules
    return h.policy_yaml(doc)


def rule(users, principals=("ops",), authorities=("prod",), **kw):
    r = {"users": list(users), "authorities": list(authorities), "principals": list(principals)}
    r.update(kw)
    return r


# --------------------------------------------------------------------------

@unittest.skipIf(SKIP, SKIP)
class StaticPrincipalsFileTest(h.SshdTestCase):
    """The harness against sshd's own AuthorizedPrincipalsFile: if these fail,
    the harness (not certgate) is broken."""

    @classmethod
    def setUpClass(cls):
        w = _World.get()
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
        w = _World.get()
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


# --------------------------------------------------------------------------

@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class PrincipalsDirectTest(helper_cases.HelperBadInputCases, unittest.TestCase):
    """The binary run as sshd runs it: as nobody, env -i PATH USER LOGNAME
    HOME, cwd /, stdin empty."""
    login = ALICE

    @classmethod
    def setUpClass(cls):
        w = _World.get()
        cls.w = w
        cls.policy = os.path.join(w.ws.etc, "direct.yaml")
        w.ws.write(cls.policy, base_policy(w, [
            rule([ALICE], ["ops", "web"]),
            rule([BOB], ["ops"], options=['from="127.0.0.1"', "no-pty"]),
        ]))

    def helper(self, *args, as_nobody=True):
        return h.run_helper(self.w.bin, ["--policy", self.policy] + list(args),
                            as_nobody=as_nobody)

    def cert_args(self, **kw):
        kw.setdefault("principals", ["ops"])
        key = self.w.keys.user_with_cert(self.w.ca_prod, **kw)
        return key, h.Keys.cert_parts(key)

    def test_a_build_tree_of_another_user_runs_for_root(self):
        # A user builds, then runs the helpers with sudo (examples/demo.sh):
        # the in-process certgate-decide beside the client is that user's,
        # as the client itself is, and is trusted as much; one of a third
        # user is not.
        tree = os.path.join(self.w.ws.root, "usertree")
        os.makedirs(tree, exist_ok=True)
        os.chown(tree, 65534, 65534)
        os.chmod(tree, 0o755)
        client = os.path.join(tree, "principals-cmd")
        decide = os.path.join(tree, "certgate-decide")
        h.run(["install", "-m", "0755", "-o", "65534", "-g", "65534", BINARY, client])
        h.run(["install", "-m", "0755", "-o", "65534", "-g", "65534",
               os.path.join(os.path.dirname(os.path.realpath(BINARY)), "certgate-decide"), decide])
        args = ["--socket", os.path.join(tree, "none.sock"), "--check", "--policy", self.policy]
        r = h.run_helper_unwrapped(client, args, as_nobody=False)
        self.assertEqual((r.returncode, r.stdout), (0, "ok\n"), r.stderr)
        os.chown(decide, 1, 1)
        r = h.run_helper_unwrapped(client, args, as_nobody=False)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        # --check is no login: not "deny", but what could not run and why.
        self.assertEqual(r.stderr, "principals-cmd: cannot run certgate-decide, which does this: %s: not owned by "
                         "root or by uid 65534; fix that, or reinstall certgate\n" % os.path.realpath(decide))
        # A login through the same client is a denial, logged as one.
        r = h.run_helper_unwrapped(client, ["--socket", os.path.join(tree, "none.sock"), "--policy", self.policy,
                                            "alice", "t", "k"], as_nobody=False)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("principals-cmd: deny: no certgate-decide service and no in-process helper: %s: not owned by "
                      "root or by uid 65534" % os.path.realpath(decide), r.stderr)

    def test_grant_exact_output(self):
        _, (t, k) = self.cert_args(principals=["ops", "dev", "web"])
        r = self.helper(ALICE, t, k)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines(True)), ["ops\n", "web\n"])

    def test_grant_with_options_exact_output(self):
        _, (t, k) = self.cert_args()
        r = self.helper(BOB, t, k)
        self.assertEqual((r.returncode, r.stdout), (0, 'from="127.0.0.1",no-pty ops\n'), r.stderr)

    def test_denial_is_exit0_empty(self):
        _, (t, k) = self.cert_args(principals=["dev"])
        self.assertNothing(self.helper(ALICE, t, k), 0)

    def test_principal_with_space_never_printed(self):
        _, (t, k) = self.cert_args(principals=["ops", "web x"])
        r = self.helper(ALICE, t, k)
        self.assertEqual((r.returncode, r.stdout), (0, "ops\n"), r.stderr)

    def test_plain_key_not_a_cert(self):
        key = self.w.keys.make_key("plain")
        t, k = h.Keys.pub_line(key).split()
        self.assertNothing(self.helper(ALICE, t, k), 0)

    def test_host_certificate(self):
        _, (t, k) = self.cert_args(host=True)
        self.assertNothing(self.helper(ALICE, t, k), 0)

    def test_bad_policy(self):
        bad = self.w.ws.write(os.path.join(self.w.ws.etc, "bad.yaml"), "version: 1\nrules: [\n")
        _, (t, k) = self.cert_args()
        r = h.run_helper(self.w.bin, ["--policy", bad, ALICE, t, k])
        self.assertNothing(r, 1)

    def test_missing_policy(self):
        _, (t, k) = self.cert_args()
        r = h.run_helper(self.w.bin, ["--policy", os.path.join(self.w.ws.etc, "absent.yaml"),
                                      ALICE, t, k])
        self.assertNothing(r, 1)

    def test_unsafe_or_linked_directory_above_policy_denied(self):
        # sshd's StrictModes: every directory up to / is checked, and no
        # link is followed, whatever the policy file itself looks like.
        above = os.path.join(self.w.ws.etc, "above")
        os.makedirs(os.path.join(above, "etc"), mode=0o755)
        os.chmod(above, 0o755)
        policy = self.w.ws.write(os.path.join(above, "etc", "policy.yaml"),
                                 base_policy(self.w, [rule([ALICE], ["ops"])]))
        _, (t, k) = self.cert_args()
        r = h.run_helper(self.w.bin, ["--policy", policy, ALICE, t, k])
        self.assertEqual((r.returncode, r.stdout), (0, "ops\n"), r.stderr)
        os.chmod(above, 0o775)
        try:
            self.assertNothing(h.run_helper(self.w.bin, ["--policy", policy, ALICE, t, k]), 1)
            r = h.run_helper(self.w.bin, ["--check", "--policy", policy])
            self.assertEqual((r.returncode, r.stdout),
                             (1, "%s:1:1: unsafe permissions: writable by group or others; "
                                 "run chmod go-w %s\n" % (above, above)), r.stderr)
        finally:
            os.chmod(above, 0o755)
        link = os.path.join(self.w.ws.etc, "above-link")
        os.symlink(above, link)
        linked = os.path.join(link, "etc", "policy.yaml")
        self.assertNothing(h.run_helper(self.w.bin, ["--policy", linked, ALICE, t, k]), 1)
        r = h.run_helper(self.w.bin, ["--check", "--policy", linked])
        self.assertEqual((r.returncode, r.stdout),
                         (1, "%s:1:1: is a symbolic link to %s; certgate does not follow links in "
                             "the path of its files: name the real directory\n" % (link, above)),
                         r.stderr)

    def test_check_unreadable_directory_or_linked_policy_says_what_to_do(self):
        # Root's 0600 policy, read by the command user (nobody).
        secret = self.w.ws.write(os.path.join(self.w.ws.etc, "secret.yaml"),
                                 base_policy(self.w, [rule([ALICE], ["ops"])]), mode=0o600)
        r = h.run_helper(self.w.bin, ["--check", "--policy", secret])
        self.assertEqual((r.returncode, r.stdout),
                         (1, "%s:1:1: cannot open: Permission denied; the AuthorizedPrincipalsCommandUser and "
                             "AuthorizedKeysCommandUser must be able to read it, e.g. run chmod 644 %s\n"
                             % (secret, secret)), r.stderr)
        # A directory given for the policy file, with or without its slash.
        etc = self.w.ws.etc
        for given, message in ((etc, "is a directory, not the policy file; name the file, e.g. --policy "
                                     "%s/policy.yaml" % etc),
                               (etc + "/", "names a directory, not the policy file; name the file, e.g. "
                                           "--policy %s/policy.yaml" % etc)):
            r = h.run_helper(self.w.bin, ["--check", "--policy", given])
            self.assertEqual((r.returncode, r.stdout), (1, "%s:1:1: %s\n" % (given, message)), r.stderr)
        # A linked policy file: the error names where the link leads.
        link = os.path.join(etc, "linked-policy.yaml")
        if not os.path.lexists(link):
            os.symlink(self.policy, link)
        r = h.run_helper(self.w.bin, ["--check", "--policy", link])
        self.assertEqual((r.returncode, r.stdout),
                         (1, "%s:1:1: is a symbolic link to %s; certgate does not follow links in the path "
                             "of its files: name the real file\n" % (link, os.path.realpath(self.policy))),
                         r.stderr)

    def test_timeout_option_accepted(self):
        _, (t, k) = self.cert_args()
        r = self.helper("--timeout", "5", ALICE, t, k)
        self.assertEqual((r.returncode, r.stdout), (0, "ops\n"), r.stderr)

    def test_check_ok(self):
        r = self.helper("--check")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "ok"), r.stderr)

    def test_check_reports_file_line_column(self):
        bad = self.w.ws.write(os.path.join(self.w.ws.etc, "bad2.yaml"),
                              "version: 1\nauthorities: {}\nrules:\n  - users: [x]\n    bogus: 1\n")
        r = h.run_helper(self.w.bin, ["--check", "--policy", bad])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"(?m)^%s:\d+:\d+: \S" % re.escape(bad))

    def test_explain_allow_and_deny(self):
        key, _ = self.cert_args()
        r = self.helper("--explain", "--user", ALICE, key + "-cert.pub", as_nobody=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.strip(), "explain prints its reasoning")
        r = self.helper("--explain", "--user", CAROL, key + "-cert.pub", as_nobody=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertTrue(r.stdout.strip())

    def test_denial_logged_to_syslog(self):
        if not self.w.tap.available:
            self.skipTest("syslog capture unavailable: " + self.w.tap.why)
        if os.path.exists("/run/systemd/journal/socket"):
            self.skipTest("the helpers log to the journal here, not syslog")
        _, (t, k) = self.cert_args(validity="-2h:-1h")
        mark = self.w.tap.mark()
        self.assertNothing(self.helper(ALICE, t, k), 0)
        import time
        time.sleep(0.1)
        # Only this helper's records about this login: other programs (an
        # audit or a unit test running principals-cmd about alice) may log
        # at the same time.
        records = self.own_records(mark)
        self.assertEqual(len(records), 1, self.w.tap.since(mark))
        self.assertRegex(records[0], r"(?i)expired")
        self.assertRegex(records[0], r"^<(8[0-7])>")  # facility authpriv (10) << 3


def tearDownModule():
    decide = getattr(_World, "decide", None)
    why = decide.not_exercised(getattr(_World, "tap", None)) if decide is not None else None
    _World.teardown()
    # --mode service must have exercised the service, --mode snapshot the
    # snapshot, not the plain fallback.
    if why:
        raise AssertionError(why)


if __name__ == "__main__":
    h.run_main()
