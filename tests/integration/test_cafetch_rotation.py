#!/usr/bin/env python3
"""How long cafetch keeps trusting a CA key the issuer stopped listing,
against the real thing: the HTTPS issuer of https_issuer.py, a real sshd,
certificates from the real ssh-keygen and logins by the real ssh client.
cafetch's clock is driven by libfaketime (LD_PRELOAD; sshd and the issuer
keep the real clock), keep_retired is 1h. Built on test_cafetch.py's World
and test_cafetch_faults.py's FaultCase.

Run (as root):  python3 tests/integration/test_cafetch_rotation.py --binary PATH

Classes:
  OutageTest     the issuer is unreachable for longer than keep_retired, then
                 lists only the new key: a certificate the old key signed
                 still logs in, for keep_retired from that round, then not
  LostStateTest  the state file is removed while a retired key is still
                 trusted: the key keeps working (key_adopted) for
                 keep_retired, then goes (key_dropped)
  Sha1LostStateTest  the same for an RSA CA of an Akeyless issuer (which
                 signs with SHA-1 ssh-rsa) retired by a move to another
                 issuer: its SHA-1 certificates keep logging in
"""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cafetch as tc  # noqa: E402  (takes --binary out of sys.argv)
import test_cafetch_faults as tf  # noqa: E402

h = tc.h
USER = tc.USER
HOUR = 3600


def tearDownModule():
    tc.World.cleanup()


class FakedClockCase(tf.FaultCase):
    """cafetch --once under libfaketime, keep_retired 1h."""

    def setUp(self):
        if not tf.LIBFAKETIME:
            self.skipTest("needs libfaketime (apt-get install faketime; scripts/install-deps)")
        super().setUp()
        self.write_config(keep_retired="1h")
        self.state_file = os.path.join(self.state_dir, "cafetch.state")

    def run_at(self, offset, expect_prefix=""):
        """cafetch --once --verbose with its clock |offset| seconds from now;
        must succeed with a last line starting with |expect_prefix|.
        Returns (last line, stderr)."""
        p = self.cafetch("--once", "--verbose", env=tf.ClockTest.faked(offset))
        self.assertEqual(p.returncode, 0, "at %+ds: %s" % (offset, p.stderr))
        last = p.stdout.strip().splitlines()[-1]
        self.assertTrue(last.startswith(expect_prefix), "at %+ds: %r, expected %r\n%s" %
                        (offset, last, expect_prefix, p.stderr))
        return last, p.stderr


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class OutageTest(FakedClockCase):
    """The audit's lockout: keep_retired counted from the old key's last
    listing, so the first answer after an outage longer than keep_retired
    dropped it at once, and the certificates it had signed with it."""

    def test_an_outage_longer_than_keep_retired(self):
        w = self.w
        self.serve(w.ca_old, w.ca_new)
        self.run_at(0, "changed: ")
        self.assertLoginOK(USER, w.user_old)

        # The issuer is unreachable: the round fails, changes nothing and
        # reports no key event.
        self.write_config(keep_retired="1h", port=h.free_port())
        before = self.watched()
        p = self.cafetch("--once", "--verbose", env=tf.ClockTest.faked(HOUR))
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("(nothing changed)", p.stderr)
        self.assertNotIn("no longer listed", p.stderr)
        self.assertEqual(self.watched(), before)

        # Two hours on, it answers again, without the old key: the old key
        # is retired now, and still trusted for keep_retired.
        self.write_config(keep_retired="1h")
        self.serve(w.ca_new)
        _, err = self.run_at(2 * HOUR, "unchanged")
        self.assertRegex(err, r"is no longer listed by the issuer: still trusted until \S+Z "
                              r"\(keep_retired 3600s from \S+Z\)")
        with open(self.state_file) as f:
            self.assertRegex(f.read(), r"\nretired SHA256:\S+ \d+\n")
        self.assertLoginOK(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)

        self.run_at(2 * HOUR + 55 * 60, "unchanged")
        self.assertLoginOK(USER, w.user_old)

        # keep_retired after that round, it goes.
        _, err = self.run_at(3 * HOUR + 5 * 60, "changed: %s (-SHA256:" % self.trusted)
        self.assertIn("keep_retired has passed since it was retired at", err)
        self.assertLoginDenied(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)
        self.assertSshdAccepts()


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class LostStateTest(FakedClockCase):
    """The audit's lockout: a removed state file dropped a retired key
    still within keep_retired at once, without any key_dropped."""

    def test_the_state_file_removed(self):
        w = self.w
        self.serve(w.ca_old, w.ca_new)
        self.run_at(0, "changed: ")
        self.serve(w.ca_new)
        self.run_at(60, "unchanged")  # the old key retired
        self.assertLoginOK(USER, w.user_old)

        os.unlink(self.state_file)
        last, err = self.run_at(120)
        self.assertNotIn("-SHA256:", last)
        self.assertRegex(err, r"CA key SHA256:\S+ is in %s, which cafetch wrote, but not in its state \(the "
                              r"state file was lost or removed, or state_dir changed\) and the issuer does not "
                              r"list it: kept as a retired key, still trusted until \S+Z" % self.trusted)
        self.assertLoginOK(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)

        # Adopted once, not at every round.
        _, err = self.run_at(HOUR, "unchanged")
        self.assertNotIn("which cafetch wrote", err)
        self.assertLoginOK(USER, w.user_old)

        # keep_retired after the round that adopted it, it goes.
        _, err = self.run_at(HOUR + 180, "changed: %s (-SHA256:" % self.trusted)
        self.assertIn("no longer trusted", err)
        self.assertLoginDenied(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)
        self.assertSshdAccepts()


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class Sha1LostStateTest(FakedClockCase):
    """The audit's note: an adopted key lost the state's sha1_issuer mark,
    so after a move from Akeyless and a lost state file, sshd stopped
    accepting the SHA-1 certificates of the retired RSA CA at once (with
    accept_sha1_rsa: auto), though the key itself stayed trusted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keys = cls.w.keys
        cls.ca_rsa = keys.make_key("lost-ca-rsa", "rsa", 2048)
        cls.user_sha1 = keys.user_with_cert(cls.ca_rsa, "lost-u-sha1", principals=[USER], sig_alg="ssh-rsa")
        cls.token = os.path.join(cls.ws.etc, "akeyless-token")
        cls.ws.write(cls.token, "t-0123456789\n", 0o600)

    def accepts_sha1(self):
        return "ssh-rsa" in self.sshd.effective()["casignaturealgorithms"].split(",")

    def test_an_akeyless_rsa_ca_retired_then_the_state_lost(self):
        w = self.w
        with open(self.ca_rsa + ".pub") as f:
            self.put(os.path.join(w.root, "akeyless"), json.dumps({"ssh": f.read().strip()}).encode())
        self.write_config(keep_retired="1h", accept_sha1_rsa="auto", issuer=[
            "  type: akeyless",
            "  url: https://127.0.0.1:%d/akeyless" % w.port,
            "  name: /ssh/ca",
            "  token_file: %s" % self.token,
        ])
        _, err = self.run_at(0, "changed: ")
        self.assertIn("which signs certificates with SHA-1 ssh-rsa: telling sshd to accept them", err)
        self.assertTrue(self.accepts_sha1())
        self.assertLoginOK(USER, self.user_sha1)

        # Moved to another issuer: the RSA CA is retired, and its SHA-1
        # certificates stay accepted (the state's sha1_issuer mark).
        self.write_config(keep_retired="1h", accept_sha1_rsa="auto")
        self.serve(w.ca_new)
        self.run_at(60, "changed: ")
        with open(self.state_file) as f:
            self.assertRegex(f.read(), r"\nsha1_issuer SHA256:\S+\n")
        self.assertLoginOK(USER, self.user_sha1)

        # The state is lost: the key is adopted with the acceptance the
        # installed lines gave it.
        os.unlink(self.state_file)
        last, err = self.run_at(120)
        self.assertNotIn("-SHA256:", last)
        self.assertTrue(self.accepts_sha1(), err)
        self.assertLoginOK(USER, self.user_sha1)
        self.assertLoginOK(USER, w.user_new)
        self.assertRegex(err, r"CA key SHA256:\S+ is in %s, which cafetch wrote, but not in its state .*, and "
                              r"its SHA-1 ssh-rsa certificates stay accepted as the installed sshd "
                              r"configuration accepts them" % self.trusted)

        # keep_retired after the round that adopted it, the key and the
        # acceptance go.
        _, err = self.run_at(HOUR + 180, "changed: ")
        self.assertIn("no longer trusted", err)
        self.assertFalse(self.accepts_sha1())
        self.assertLoginDenied(USER, self.user_sha1)
        self.assertLoginOK(USER, w.user_new)
        self.assertSshdAccepts()


if __name__ == "__main__":
    h.run_main()
