#!/usr/bin/env python3
"""End-to-end tests of keys-cmd behind a real sshd on 127.0.0.1.

sshd is configured for per-user CA trust only: AuthorizedKeysCommand
keys-cmd --policy P %u %t %k, AuthorizedKeysCommandUser nobody,
AuthorizedKeysFile none and NO TrustedUserCAKeys.

Run (as root):  python3 tests/integration/test_keys_cmd.py --binary PATH [--mode M]
(ctest passes the built binary; $CERTGATE_KEYS_CMD works too; without either
the newest build*/keys-cmd/keys-cmd of the tree is used).

Classes:
  StaticAuthorizedKeysTest  the harness against sshd's own authorized_keys
                            `cert-authority,principals=` lines
  KeysLoginTest             logins through keys-cmd
  KeysDirectTest            the binary run as sshd runs it (as nobody)
"""

import base64
import glob
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decide_mode  # noqa: E402
import helper_cases  # noqa: E402
import sshd_harness as h  # noqa: E402

PREFIX = "cgk"  # users of this file (principals-cmd uses cgp)
ALICE, BOB = PREFIX + "_alice", PREFIX + "_bob"

BINARY = h.parse_binary_arg("--binary", "CERTGATE_KEYS_CMD")
# --mode fallback (default): the client finds no service and runs the helper
# in-process (certgate-decide --run); --mode service: a certgate-decide
# service with the login policy preloaded answers. Every case must pass in
# both modes: the decision is the same code either way.
MODE = decide_mode.parse_mode_arg()
if not BINARY:
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(glob.glob(os.path.join(here, "..", "..", "build*", "keys-cmd", "keys-cmd")),
                   key=os.path.getmtime)
    BINARY = os.path.abspath(found[-1]) if found else None

SKIP = h.skip_reason()
# The logged reason when rules exist but none grants (loose on purpose).
NOT_GRANTED = r"deny .*(no rule grants|not in users|principal)"
NO_BINARY = h.missing_binary(BINARY, "keys-cmd", "CERTGATE_KEYS_CMD")


class _World(h.World):
    TAG = "k"

    @classmethod
    def populate(cls):
        cls.users.user(ALICE)
        cls.users.user(BOB)
        cls.ca_a = cls.keys.make_key("ca-a")        # trusted for alice
        cls.ca_b = cls.keys.make_key("ca-b")        # trusted for bob
        cls.ca_rogue = cls.keys.make_key("ca-rogue")  # in no policy
        cls.policy = os.path.join(cls.ws.etc, "policy.yaml")
        if not NO_BINARY:
            cls.bin = cls.ws.install(BINARY, "keys-cmd")
            cls.decide = decide_mode.DecideMode(cls.ws, BINARY, MODE, cls.policy)
            cls.decide.wrap_run_helper(cls.bin)
            cls.cmd = cls.decide.command(cls.bin)


def base_policy(w, rules, revoked_serials=None, revoked=None, defaults=None):
    a = {"keys": [h.Keys.pub_line(w.ca_a) + " ca-a"]}
    if revoked_serials:
        a["revoked_serials"] = revoked_serials
    doc = {"version": 1, "authorities": {
        "a": a, "b": {"keys": [h.Keys.pub_line(w.ca_b) + " ca-b"]}}}
    if defaults:
        doc["defaults"] = defaults
    if revoked:
        doc["revoked"] = revoked
    doc["rules"] = rules
    return h.policy_yaml(doc)


def rule(users, authorities, principals=("ops",), **kw):
    r = {"users": list(users), "authorities": list(authorities), "principals": list(principals)}
    r.update(kw)
    return r


def standard_rules():
    return [rule([ALICE], ["a"]), rule([BOB], ["b"])]


# --------------------------------------------------------------------------

@unittest.skipIf(SKIP, SKIP)
class StaticAuthorizedKeysTest(h.SshdTestCase):
    """The harness against sshd's own cert-authority lines (no certgate)."""

    @classmethod
    def setUpClass(cls):
        w = _World.get()
        cls.w = w
        cls.tap = w.tap
        akdir = os.path.join(w.ws.etc, "ak")
        os.mkdir(akdir)
        os.chmod(akdir, 0o755)
        w.ws.write(os.path.join(akdir, ALICE),
                   'cert-authority,principals="ops" %s\n' % h.Keys.pub_line(w.ca_a))
        cls.sshd = h.Sshd(w.ws, ["AuthorizedKeysFile %s/%%u" % akdir], name="static").start()

    @classmethod
    def tearDownClass(cls):
        cls.sshd.stop()

    def test_static_allowed(self):
        key = self.w.keys.user_with_cert(self.w.ca_a, principals=["ops"])
        self.assertLoginOK(ALICE, key, "id -un", expect_out=ALICE)

    def test_static_other_ca_denied(self):
        key = self.w.keys.user_with_cert(self.w.ca_b, principals=["ops"])
        self.assertLoginDenied(ALICE, key)

    def test_static_wrong_principal(self):
        key = self.w.keys.user_with_cert(self.w.ca_a, principals=["dev"])
        self.assertLoginDenied(ALICE, key, reason=r"principal")


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class KeysLoginTest(h.SshdTestCase):

    @classmethod
    def setUpClass(cls):
        w = _World.get()
        cls.w = w
        cls.tap = w.tap
        cls.sshd = h.Sshd(w.ws, [
            "AuthorizedKeysFile none",
            "AuthorizedKeysCommand %s --policy %s --verbose %%u %%t %%k" % (w.cmd, w.policy),
            "AuthorizedKeysCommandUser nobody",
        ], name="keys").start()
        eff = cls.sshd.effective(ALICE)
        assert eff.get("trustedusercakeys", "none") == "none", eff.get("trustedusercakeys")

    @classmethod
    def tearDownClass(cls):
        cls.sshd.stop()

    def set_policy(self, rules=None, **kw):
        self.w.ws.write(self.w.policy, base_policy(self.w, rules or standard_rules(), **kw))

    def cert(self, ca=None, principals=("ops",), **kw):
        return self.w.keys.user_with_cert(ca or self.w.ca_a,
                                          principals=None if principals is None else list(principals),
                                          **kw)

    def test_ca_scoped_to_user(self):
        self.set_policy()
        self.assertLoginOK(ALICE, self.cert(self.w.ca_a), "id -un", expect_out=ALICE)
        self.assertLoginDenied(BOB, self.cert(self.w.ca_a), reason=NOT_GRANTED)
        self.assertLoginOK(BOB, self.cert(self.w.ca_b))
        self.assertLoginDenied(ALICE, self.cert(self.w.ca_b), reason=NOT_GRANTED)

    def test_principals_restriction(self):
        self.set_policy()
        self.assertLoginDenied(ALICE, self.cert(principals=["dev"]), reason=NOT_GRANTED)
        self.assertLoginOK(ALICE, self.cert(principals=["dev", "ops"]))

    def test_principal_ending_in_backslash_is_never_printed(self):
        # sshd reads \" inside principals="..." as an escaped quote: a last
        # principal ending in \ would swallow the closing quote and the
        # options after it. It is skipped; the other principal still logs in.
        self.set_policy([rule([ALICE], ["a"], ["*"], options=["no-pty"])])
        self.assertLoginOK(ALICE, self.cert(principals=["ops", "evil\\"]), "id -un",
                           expect_out=ALICE)

    def test_empty_principals_denied(self):
        self.set_policy([rule([ALICE], ["a"], ["*"])])
        self.assertLoginDenied(ALICE, self.cert(principals=None), reason=r"principal")

    def test_unknown_ca(self):
        self.set_policy()
        self.assertLoginDenied(ALICE, self.cert(self.w.ca_rogue), reason=r"unknown CA")

    def test_expired(self):
        self.set_policy()
        self.assertLoginDenied(ALICE, self.cert(validity="-2h:-1h"), reason=r"expired")

    def test_not_yet_valid(self):
        self.set_policy()
        self.assertLoginDenied(ALICE, self.cert(validity="+1h:+2h"),
                               reason=r"not (yet )?valid|early|future")

    def test_max_lifetime(self):
        self.set_policy([rule([ALICE], ["a"], max_lifetime="10m")])
        self.assertLoginDenied(ALICE, self.cert(validity="-5m:+1h"), reason=r"lifetime")
        self.assertLoginOK(ALICE, self.cert(validity="-1m:+5m"))

    def test_revoked_serial(self):
        self.set_policy(revoked_serials=[99])
        self.assertLoginDenied(ALICE, self.cert(serial=99), reason=r"revoked")
        self.assertLoginOK(ALICE, self.cert(serial=100))

    def test_revoked_key_id(self):
        self.set_policy(revoked={"key_ids": ["mallory@example.com"]})
        self.assertLoginDenied(ALICE, self.cert(key_id="mallory@example.com"), reason=r"revoked")

    def test_krl_serial(self):
        krl = self.w.keys.krl(os.path.join(self.w.ws.etc, "revoked.krl"), self.w.ca_a,
                              spec_lines=["serial: 555"])
        self.set_policy(revoked={"krl": krl})
        self.assertLoginDenied(ALICE, self.cert(serial=555), reason=r"revoked|krl")
        self.assertLoginOK(ALICE, self.cert(serial=556))

    def test_key_id_pattern(self):
        self.set_policy([rule([ALICE], ["a"], key_id="*@example.com")])
        self.assertLoginOK(ALICE, self.cert(key_id="alice@example.com"))
        self.assertLoginDenied(ALICE, self.cert(key_id="alice@elsewhere"), reason=r"key.?id")

    def test_required_extension(self):
        self.set_policy([rule([ALICE], ["a"], extensions={"require": ["permit-pty"]})])
        self.assertLoginDenied(ALICE, self.cert(options=["clear"]), reason=r"permit-pty|extension")

    def test_forbidden_extension(self):
        self.set_policy([rule([ALICE], ["a"], extensions={"forbid": ["permit-port-forwarding"]})])
        self.assertLoginDenied(ALICE, self.cert(), reason=r"permit-port-forwarding|extension")
        self.assertLoginOK(ALICE, self.cert(options=["clear"]))

    def test_option_from_honoured(self):
        self.set_policy([rule([ALICE], ["a"], options=['from="10.0.0.0/8"'])])
        self.assertLoginDenied(ALICE, self.cert(), reason=r"not from a permitted host|from")
        self.set_policy([rule([ALICE], ["a"], options=['from="127.0.0.1"'])])
        self.assertLoginOK(ALICE, self.cert())

    def test_option_expiry_time_honoured(self):
        self.set_policy([rule([ALICE], ["a"], options=['expiry-time="20200101"'])])
        self.assertLoginDenied(ALICE, self.cert(), reason=r"expir")
        self.set_policy([rule([ALICE], ["a"], options=['expiry-time="29991231"'])])
        self.assertLoginOK(ALICE, self.cert())

    def test_option_command_honoured(self):
        self.set_policy([rule([ALICE], ["a"], options=['command="echo forced-by-keys"'])])
        self.assertLoginOK(ALICE, self.cert(), "id -un", expect_out="forced-by-keys")

    def test_option_command_and_force_command_must_agree(self):
        # As for principals-cmd: sshd refuses the cert-authority line of a
        # rule whose command= is not the certificate's force-command.
        forced = self.cert(options=["force-command=echo from-cert"])
        self.set_policy([rule([ALICE], ["a"], options=['command="echo from-policy"'])])
        self.assertLoginDenied(ALICE, forced, reason=r"not the certificate's force-command")
        self.set_policy([rule([ALICE], ["a"], options=['command="echo from-policy"']), rule([ALICE], ["a"])])
        self.assertLoginOK(ALICE, forced, "id -un", expect_out="from-cert")

    def test_breakglass_user_key(self):
        plain = self.w.keys.make_key("breakglass")
        other = self.w.keys.make_key("not-listed")
        line = 'restrict,command="echo breakglass" %s oncall' % h.Keys.pub_line(plain)
        self.set_policy([rule([ALICE], ["a"], user_keys=[line]), rule([BOB], ["b"])])
        self.assertLoginOK(ALICE, plain, expect_out="breakglass")
        self.assertLoginDenied(ALICE, other, reason=r"user_keys")
        self.assertLoginDenied(BOB, plain, reason=r"user_keys")

    def test_policy_error_denies(self):
        self.set_policy()
        with open(self.w.policy) as f:
            good = f.read()
        self.w.ws.write(self.w.policy, good + "  - users: [\n")
        self.assertLoginDenied(ALICE, self.cert(), reason=r"polic")

    def test_unsafe_policy_permissions_denied(self):
        self.set_policy()
        os.chmod(self.w.policy, 0o666)
        try:
            self.assertLoginDenied(ALICE, self.cert(), reason=r"writable|permission|unsafe|mode")
        finally:
            os.chmod(self.w.policy, 0o644)
        self.assertLoginOK(ALICE, self.cert())


# --------------------------------------------------------------------------

def corrupt_signature(b64):
    """Flips the last byte of the blob (inside the CA signature)."""
    blob = bytearray(base64.b64decode(b64))
    blob[-1] ^= 0x01
    return base64.b64encode(bytes(blob)).decode()


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class KeysDirectTest(helper_cases.HelperBadInputCases, unittest.TestCase):
    login = ALICE

    @classmethod
    def setUpClass(cls):
        w = _World.get()
        cls.w = w
        cls.plain = w.keys.make_key("direct-plain")
        cls.plain_line = "restrict,pty %s oncall-breakglass" % h.Keys.pub_line(cls.plain)
        cls.policy = w.ws.write(os.path.join(w.ws.etc, "direct.yaml"), base_policy(w, [
            rule([ALICE], ["a"], ["ops", "web"], user_keys=[cls.plain_line]),
            rule([BOB], ["b"], ["ops"], options=['from="127.0.0.1"', "no-pty"]),
        ]))

    def helper(self, *args, as_nobody=True):
        return h.run_helper(self.w.bin, ["--policy", self.policy] + list(args),
                            as_nobody=as_nobody)

    def cert_args(self, ca=None, **kw):
        kw.setdefault("principals", ["ops"])
        key = self.w.keys.user_with_cert(ca or self.w.ca_a, **kw)
        return key, h.Keys.cert_parts(key)

    def test_cert_authority_line(self):
        _, (t, k) = self.cert_args()
        r = self.helper(ALICE, t, k)
        self.assertEqual((r.returncode, r.stdout),
                         (0, 'cert-authority,principals="ops" %s\n' % h.Keys.pub_line(self.w.ca_a)),
                         r.stderr)

    def test_cert_authority_line_two_principals(self):
        _, (t, k) = self.cert_args(principals=["web", "dev", "ops"])
        r = self.helper(ALICE, t, k)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.fullmatch(r'cert-authority,principals="([^"]*)" (\S+ \S+)\n', r.stdout)
        self.assertTrue(m, r.stdout)
        self.assertEqual(sorted(m.group(1).split(",")), ["ops", "web"])
        self.assertEqual(m.group(2), h.Keys.pub_line(self.w.ca_a))

    def test_cert_authority_line_with_options(self):
        _, (t, k) = self.cert_args(ca=self.w.ca_b)
        r = self.helper(BOB, t, k)
        self.assertEqual((r.returncode, r.stdout),
                         (0, 'cert-authority,principals="ops",from="127.0.0.1",no-pty %s\n'
                          % h.Keys.pub_line(self.w.ca_b)), r.stderr)

    def test_wrong_user_for_ca(self):
        _, (t, k) = self.cert_args()
        self.assertNothing(self.helper(BOB, t, k), 0)

    def test_plain_key_breakglass(self):
        t, k = h.Keys.pub_line(self.plain).split()
        r = self.helper(ALICE, t, k)
        self.assertEqual((r.returncode, r.stdout), (0, self.plain_line + "\n"), r.stderr)
        self.assertNothing(self.helper(BOB, t, k), 0)
        # Another key: alice's user_keys lines all the same; sshd matches.
        t, k = h.Keys.pub_line(self.w.ca_rogue).split()
        r = self.helper(ALICE, t, k)
        self.assertEqual((r.returncode, r.stdout), (0, self.plain_line + "\n"), r.stderr)

    def plain_key_policy(self, name, lines, revoked=None):
        """A policy whose rule for alice lists |lines| as user_keys."""
        return self.w.ws.write(os.path.join(self.w.ws.etc, name), base_policy(
            self.w, [rule([ALICE], ["a"], user_keys=lines), rule([BOB], ["b"])], revoked=revoked))

    def test_plain_key_every_line_of_the_rule(self):
        a, b, other = (self.w.keys.make_key(n) for n in ("two-a", "two-b", "two-other"))
        lines = ["restrict,pty %s two-a" % h.Keys.pub_line(a), "%s two-b" % h.Keys.pub_line(b)]
        policy = self.plain_key_policy("two-lines.yaml", lines)
        t, k = h.Keys.pub_line(other).split()
        r = h.run_helper(self.w.bin, ["--policy", policy, "--verbose", ALICE, t, k])
        self.assertEqual((r.returncode, r.stdout), (0, lines[0] + "\n" + lines[1] + "\n"), r.stderr)
        self.assertRegex(r.stderr, r"deny %s: plain key SHA256:\S+: no user_keys line" % ALICE)
        t, k = h.Keys.pub_line(b).split()
        r = h.run_helper(self.w.bin, ["--policy", policy, "--verbose", ALICE, t, k])
        self.assertEqual((r.returncode, r.stdout), (0, lines[0] + "\n" + lines[1] + "\n"), r.stderr)
        self.assertRegex(r.stderr, r"allow %s: user key SHA256:\S+ listed by rule 1 \(" % ALICE)

    def test_plain_key_revoked_line_not_printed(self):
        a, b = (self.w.keys.make_key(n) for n in ("krl-a", "krl-b"))
        lines = ["%s krl-a" % h.Keys.pub_line(a), "%s krl-b" % h.Keys.pub_line(b)]
        krl = self.w.keys.krl(os.path.join(self.w.ws.etc, "plain.krl"), self.w.ca_a, keys=[b])
        policy = self.plain_key_policy("krl-lines.yaml", lines, revoked={"krl": krl})
        t, k = h.Keys.pub_line(a).split()
        r = h.run_helper(self.w.bin, ["--policy", policy, ALICE, t, k])
        self.assertEqual((r.returncode, r.stdout), (0, lines[0] + "\n"), r.stderr)
        t, k = h.Keys.pub_line(b).split()
        self.assertNothing(h.run_helper(self.w.bin, ["--policy", policy, ALICE, t, k]), 0)

    def test_forged_signature(self):
        _, (t, k) = self.cert_args()
        self.assertNothing(self.helper(ALICE, t, corrupt_signature(k)), 0)

    def test_host_certificate(self):
        _, (t, k) = self.cert_args(host=True)
        self.assertNothing(self.helper(ALICE, t, k), 0)

    def test_bad_policy(self):
        bad = self.w.ws.write(os.path.join(self.w.ws.etc, "bad.yaml"), "version: 1\nrules: [\n")
        _, (t, k) = self.cert_args()
        self.assertNothing(h.run_helper(self.w.bin, ["--policy", bad, ALICE, t, k]), 1)

    def test_explain(self):
        key, _ = self.cert_args()
        r = self.helper("--explain", "--user", ALICE, key + "-cert.pub", as_nobody=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.helper("--explain", "--user", BOB, key + "-cert.pub", as_nobody=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

    def test_explain_plain_key(self):
        r = self.helper("--explain", "--user", ALICE, self.plain + ".pub", as_nobody=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"(?m)^    restrict,pty ssh-ed25519 SHA256:\S+ oncall-breakglass "
                                   r"\(printed; this key\)$")
        self.assertIn("sshd would read:\n%s\n" % self.plain_line, r.stdout)
        r = self.helper("--explain", "--user", BOB, self.plain + ".pub", as_nobody=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"does not apply: login name %s not in users" % BOB)

    def test_denial_logged_to_syslog(self):
        if not self.w.tap.available:
            self.skipTest("syslog capture unavailable: " + self.w.tap.why)
        if os.path.exists("/run/systemd/journal/socket"):
            self.skipTest("the helpers log to the journal here, not syslog")
        _, (t, k) = self.cert_args(ca=self.w.ca_rogue)
        mark = self.w.tap.mark()
        self.assertNothing(self.helper(ALICE, t, k), 0)
        time.sleep(0.1)
        records = self.w.tap.since(mark)
        self.assertEqual(len(records), 1, records)
        self.assertRegex(records[0], r"(?i)unknown CA")


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
