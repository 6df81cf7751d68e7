#!/usr/bin/env python3
"""Fault injection for cafetch, against the real thing: the HTTPS issuer of
https_issuer.py, a real sshd on 127.0.0.1 reloaded by SIGHUP, certificates
from the real ssh-keygen and logins by the real ssh client. Built on
test_cafetch.py's World and CafetchCase.

After every fault: a failed `cafetch --once` exits non-zero with one stderr
line naming the cause and "(nothing changed)", and nothing on disk changed;
after a SIGKILL every file sshd reads is entirely old or entirely new. In
both cases `sshd -t` accepts the resulting config and a certificate login
still works.

Run (as root):  python3 tests/integration/test_cafetch_faults.py --binary PATH

Classes:
  IssuerFaultTest  issuer down, stalled, slow, slowloris headers, cut off
                   mid-body, 10 GiB answers (Content-Length and chunked),
                   TLS certificate untrusted / expired / for another name
  BundleSignatureTest  bundle_signature: wrong signer, tampered bundle,
                   wrong namespace, missing signature; a good one applies
  (KillTest, KillDropInTest: test_cafetch_kill.py)
  DiskTest         target directory / state_dir on a full tmpfs and on a
                   read-only one (mount(8); unmounted in cleanups)
  StalePidFileTest a PidFile whose pid now runs another program: sshd is not
                   running, nothing to reload, that process left alone
  BusFallbackTest  CERTGATE_SYSTEMD_BUS_ADDRESS with nothing there: reload
                   systemd fails and leaves no reload mark, auto sends SIGHUP
  ConcurrentTest   four --once at the same time: one works, three are
                   refused at the lock at once
  ClockTest        libfaketime moves cafetch's clock back and forth around
                   keep_retired
  (OutageTest, LostStateTest: test_cafetch_rotation.py)
"""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cafetch as tc  # noqa: E402  (takes --binary out of sys.argv)

h = tc.h
USER = tc.USER
STRACE = shutil.which("strace")
LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
# The one stderr line of a failed run (main.cc Fail).
FAILED_LINE = r"^cafetch: [a-z_-]+: .*%s.*\(nothing changed\)$"


def tearDownModule():
    # Each mount has its own cleanup; this catches one a crash left behind.
    if tc.World.ws is not None:
        with open("/proc/self/mounts") as f:
            points = [line.split()[1] for line in f]
        for point in reversed(points):
            if point.startswith(tc.World.ws.root + "/"):
                h.run(["umount", "-l", point], check=False)
    tc.World.cleanup()


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class FaultCase(tc.CafetchCase):
    """Assertions shared by the fault classes."""

    def setUp(self):
        self.misbehave(None)
        self.write_config()

    def tearDown(self):
        self.misbehave(None)
        self.write_config()

    def put(self, path, data):
        """Puts |data| (bytes) at |path| atomically, root 0644; None removes it."""
        if data is not None:
            self.ws.write(path, data.decode())
        elif os.path.lexists(path):
            os.unlink(path)

    def assertSshdAccepts(self):
        t = self.sshd.check_config()
        self.assertEqual(t.returncode, 0, "sshd -t rejects the resulting config: " + t.stderr)

    def assertFailedCleanly(self, p, cause, before):
        """|p| (a --once) failed, said why in one line matching |cause|,
        changed nothing; sshd -t passes and a certificate still logs in."""
        self.assertNotEqual(p.returncode, 0, "cafetch --once succeeded:\n" + p.stdout)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, "expected one line on stderr:\n" + p.stderr)
        self.assertRegex(lines[0], FAILED_LINE % cause)
        self.assertEqual(p.stdout, "")
        self.assertEqual(self.watched(), before, "files changed: " + lines[0])
        self.assertSshdAccepts()
        self.assertLoginOK(USER, self.w.user_new)

    def wait_sshd_listening(self, timeout=10):
        deadline = time.time() + timeout
        while True:
            self.assertIsNone(self.sshd.proc.poll(), "sshd died:\n" + self.sshd.log_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.sshd.port), timeout=1).close()
                return
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.02)


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class IssuerFaultTest(FaultCase):
    """Every way the issuer's HTTPS answer can go wrong, each against a
    real TLS server: nothing changes, and it fails within its bounds."""

    def setUp(self):
        super().setUp()
        self.serve(self.w.ca_new)
        self.once("")
        # What the issuer would list next; any failure must keep it out.
        self.serve(self.w.ca_new, self.w.ca_third)

    def fails(self, cause, max_seconds, **config):
        self.write_config(**config)
        before = self.watched()
        start = time.time()
        p = self.cafetch("--once")
        took = time.time() - start
        self.assertFailedCleanly(p, cause, before)
        self.assertLess(took, max_seconds, "gave up only after %.1f s" % took)
        return p

    def test_issuer_down(self):
        self.fails("(Connection refused|Could not connect|Failed to connect).*; check the host and port in "
                   "issuer.url and that the issuer is up", 5,
                   port=h.free_port())

    def test_stalled_issuer_times_out(self):
        self.misbehave("stall")
        self.fails("timed out", 2 + 3, timeout="2s")

    def test_slow_body_times_out(self):
        self.misbehave("slow")  # headers, then one byte every 2 s
        self.fails("timed out", 2 + 3, timeout="2s")

    def test_slowloris_headers_time_out(self):
        # Two bytes a second passes a 1 byte/s low-speed cutoff: only the
        # whole-transfer timeout ends it.
        self.misbehave("slowloris")
        self.fails("timed out", 3 + 3, timeout="3s")

    def test_connection_dropped_mid_body(self):
        self.misbehave("truncated")
        self.fails("transfer closed|bytes remaining|partial", 5)

    def test_10gb_answer_stops_at_the_size_bound(self):
        for mode in ("huge", "huge-chunked"):
            with self.subTest(mode=mode):
                self.misbehave(mode)
                self.fails(r"answer larger than \d+ bytes", 5)

    def test_tls_untrusted_certificate(self):
        self.fails("SSL certificate problem: (unable to get local issuer|self.signed).*; name the CA of the "
                   "issuer's certificate in issuer.tls.ca_file", 5,
                   port=self.w.issuer_port("other"))

    def test_tls_expired_certificate(self):
        self.fails("certificate has expired.*; the issuer's TLS certificate has expired: renew it", 5,
                   port=self.w.issuer_port("expired"))

    def test_tls_certificate_for_another_name(self):
        self.fails("(subject name|does not match|no alternative certificate).*; the issuer's TLS certificate is "
                   "not for the host named in issuer.url", 5,
                   port=self.w.issuer_port("wrongname"))

    def test_control_the_same_issuer_works(self):
        # The faults above are the only difference: the issuer works.
        self.once("changed: %s (+SHA256:" % self.trusted)
        self.assertLoginOK(USER, self.w.user_new)


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class BundleSignatureTest(FaultCase):
    """bundle_signature with allowed_signers: the answer's SSHSIG (made by
    the real ssh-keygen -Y sign -n certgate-ca-bundle) must verify."""

    @classmethod
    def setUpClass(cls):
        keys = tc.World.get().keys
        cls.signer = keys.make_key("bundle-signer")
        cls.stranger = keys.make_key("bundle-stranger")
        super().setUpClass()

    @classmethod
    def write_config(cls, **kw):
        with open(cls.signer + ".pub") as f:
            signer = f.read().strip()
        super().write_config(extra=[
            "bundle_signature:",
            "  url: https://127.0.0.1:%d/keys.sig" % cls.w.port,
            "  allowed_signers:",
            "    - %s" % signer,
        ], **kw)

    def sign(self, key, namespace="certgate-ca-bundle"):
        bundle = os.path.join(self.w.root, "keys")
        self.put(bundle + ".sig", None)
        h.run([h.SSH_KEYGEN, "-q", "-Y", "sign", "-f", key, "-n", namespace, bundle])

    def setUp(self):
        super().setUp()
        self.serve(self.w.ca_new)
        self.sign(self.signer)
        self.once("")

    def tearDown(self):
        self.put(os.path.join(self.w.root, "keys.sig"), None)
        super().tearDown()

    def test_bad_signatures_change_nothing(self):
        before = self.watched()
        bundle = os.path.join(self.w.root, "keys")
        cases = (
            ("signed by a key not in allowed_signers", lambda: self.sign(self.stranger),
             r"bundle signature https://127\.0\.0\.1:\d+/keys\.sig: signer SHA256:.* is not an allowed signer"),
            ("signed for another namespace", lambda: self.sign(self.signer, "file"),
             r"bundle signature https://127\.0\.0\.1:\d+/keys\.sig: signature namespace is file, not certgate-ca-bundle; "
             "sign with ssh-keygen -Y sign -n certgate-ca-bundle"),
            ("bundle changed after signing",
             lambda: (self.serve(self.w.ca_new), self.sign(self.signer),
                      self.put(bundle, read(bundle) + read(self.w.ca_third + ".pub"))),
             r"bundle signature https://127\.0\.0\.1:\d+/keys\.sig: signature does not verify"),
            ("no signature", lambda: self.put(bundle + ".sig", None), "keys.sig: HTTP 404"),
        )
        for what, make, cause in cases:
            with self.subTest(what):
                self.serve(self.w.ca_new, self.w.ca_third)  # not a 304: verified
                make()
                p = self.cafetch("--once")
                self.assertFailedCleanly(p, cause, before)

    def test_good_signature_applies(self):
        self.serve(self.w.ca_new, self.w.ca_third)
        self.sign(self.signer)
        self.once("changed: %s (+SHA256:" % self.trusted)


# --------------------------------------------------------------------------
# Full and read-only file systems

def mount_tmpfs(test, path, size="64k"):
    """Mounts a tmpfs of |size| on |path| (root 0755), unmounted by a
    cleanup of |test| even when the test fails; skips the test if mount(2)
    is not permitted here."""
    p = h.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "certgate-test", path],
              check=False)
    if p.returncode != 0:
        test.skipTest("cannot mount a tmpfs here: " + p.stderr.strip())
    test.addCleanup(h.run, ["umount", "-l", path], check=False)


def fill(directory):
    """Fills the file system of |directory| until write(2) fails."""
    path = os.path.join(directory, "filler")
    with open(path, "wb", buffering=0) as f:
        for size in (65536, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass
    return path


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class DiskTest(FaultCase):
    """The key file's directory or state_dir on a tiny tmpfs that is full,
    or mounted read-only: the run fails at once and changes nothing."""

    def start(self, directory):
        # No history from other tests: neither the state nor the key file
        # (whose keys cafetch would adopt as retired, as after a lost state).
        self.put(os.path.join(self.state_dir, "cafetch.state"), None)
        self.put(self.trusted, None)
        mount_tmpfs(self, directory)
        self.addCleanup(self.serve, self.w.ca_new)
        self.serve(self.w.ca_new)
        self.once("")
        self.serve(self.w.ca_new, self.w.ca_third)
        return self.watched()

    def check(self, cause, before):
        self.assertFailedCleanly(self.cafetch("--once"), cause, before)

    def test_key_directory_full(self):
        d = os.path.dirname(self.trusted)
        self.start(d)
        filler = fill(d)
        before = self.watched()
        self.check("No space left on device", before)
        os.unlink(filler)
        self.once("changed: %s (+SHA256:" % self.trusted)  # the disk was the only problem

    def test_key_directory_read_only(self):
        d = os.path.dirname(self.trusted)
        before = self.start(d)
        h.run(["mount", "-o", "remount,ro", d])
        self.check("Read-only file system", before)
        h.run(["mount", "-o", "remount,rw", d])
        self.once("changed: ")

    def test_state_directory_full(self):
        before = self.start(self.state_dir)
        filler = fill(self.state_dir)
        self.check("No space left on device", before)
        os.unlink(filler)
        self.once("changed: ")

    def test_state_directory_read_only(self):
        before = self.start(self.state_dir)
        h.run(["mount", "-o", "remount,ro", self.state_dir])
        self.check("Read-only file system", before)
        h.run(["mount", "-o", "remount,rw", self.state_dir])
        self.once("changed: ")


# --------------------------------------------------------------------------
# Reload faults

@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class StalePidFileTest(FaultCase):
    """The audit's case: sshd's PidFile names a pid that now runs another
    program (`setsid sleep 300`), as when sshd died and its pid was reused.
    With reload: signal and a change that edits sshd_config, the round
    succeeds: sshd is not running, nothing to reload; a warning says the
    PidFile is stale and what its pid runs; that process is never
    signalled."""

    def test_a_pid_that_runs_another_program_is_a_stale_pidfile(self):
        with open(self.sshd.pid_file) as f:
            real = f.read()
        sleeper = subprocess.Popen(["setsid", "sleep", "300"], stdin=subprocess.DEVNULL)
        self.addCleanup(sleeper.wait)
        self.addCleanup(sleeper.kill)
        self.addCleanup(self.ws.write, self.sshd.pid_file, real)
        self.ws.write(self.sshd.pid_file, "%d\n" % sleeper.pid)
        deadline = time.time() + 5
        while "sleep" not in os.readlink("/proc/%d/exe" % sleeper.pid) and time.time() < deadline:
            time.sleep(0.01)  # until setsid has exec'd sleep
        runs = os.readlink("/proc/%d/exe" % sleeper.pid)
        self.serve(self.w.ca_new)  # this class's first round: the key file and sshd_config change
        p = self.cafetch("--once", "--verbose")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.strip().splitlines()
        self.assertEqual(lines[-2], "sshd is not running: nothing to reload", p.stdout)
        self.assertTrue(lines[-1].startswith("changed: %s (+SHA256:" % self.trusted), p.stdout)
        self.assertTrue(lines[-1].endswith("; %s" % self.sshd.config_path), p.stdout)
        self.assertIn("cafetch: PidFile %s is stale: its pid %d now runs %s, not %s; that process was left alone, "
                      "and sshd is not running: nothing to reload\n" % (
                          self.sshd.pid_file, sleeper.pid, runs, os.path.realpath(h.SSHD)), p.stderr)
        self.assertIsNone(sleeper.poll(), "the process behind the stale PidFile was signalled")
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, "reload-pending")))
        with open(self.sshd.config_path) as f:
            self.assertIn("TrustedUserCAKeys %s\n" % self.trusted, f.read())
        # What was installed is what sshd needs: reloaded by hand, it logs in.
        self.ws.write(self.sshd.pid_file, real)
        mark = self.sshd.log_size()
        os.kill(self.sshd.proc.pid, signal.SIGHUP)
        self.wait_listening(mark)
        self.assertLoginOK(USER, self.w.user_new)


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class BusFallbackTest(FaultCase):
    """The audit's case: CERTGATE_SYSTEMD_BUS_ADDRESS set but nothing
    listens there, and a change that edits sshd_config (an RSA CA with
    accept_sha1_rsa). reload: systemd fails, restores every file and leaves
    no reload-pending mark (nothing reached sshd); reload: auto sends the
    SIGHUP that systemd's ExecReload would, says why, and succeeds."""

    BUS = "unix:path=/nonexistent/certgate-test-bus"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ca_rsa = cls.w.keys.make_key("bus-ca-rsa", "rsa", 2048)
        cls.user_rsa = cls.w.keys.user_with_cert(cls.ca_rsa, "bus-u-sha1", principals=[USER], sig_alg="ssh-rsa")

    def env(self):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CERTGATE_SYSTEMD_BUS_ADDRESS": self.BUS}

    def test_unreachable_bus(self):
        pending = os.path.join(self.state_dir, "reload-pending")
        self.serve(self.w.ca_new)
        self.once("changed: ")
        self.serve(self.w.ca_new, self.ca_rsa)

        self.write_config(accept_sha1_rsa="true", reload="systemd")
        before = self.watched()
        p = self.cafetch("--once", env=self.env())
        self.assertFailedCleanly(p, re.escape(
            "connect to D-Bus %s: No such file or directory; set sshd.reload: signal (or none) if systemd does not "
            "run sshd; previous files restored" % self.BUS), before)
        self.assertFalse(os.path.exists(pending), "a reload that was never sent left reload-pending")

        self.write_config(accept_sha1_rsa="true", reload="auto")
        mark = self.sshd.log_size()
        p = self.cafetch("--once", "--verbose", env=self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("sent SIGHUP to sshd (pid %d)" % self.sshd.proc.pid, p.stdout)
        self.assertIn("cafetch: cannot reach systemd to reload sshd (connect to D-Bus %s: No such file or "
                      "directory): sending SIGHUP to the pid in sshd's PidFile instead, which is what the ExecReload "
                      "of ssh.service and sshd.service does; set sshd.reload: signal to skip D-Bus, or systemd to "
                      "make this an error\n" % self.BUS, p.stderr)
        self.wait_listening(mark)
        self.assertFalse(os.path.exists(pending))
        self.assertLoginOK(USER, self.user_rsa)  # needs the new sshd_config, so the reload


# --------------------------------------------------------------------------
# Concurrent runs

@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class ConcurrentTest(FaultCase):
    def test_four_runs_at_once(self):
        self.serve(self.w.ca_new)
        self.once("")
        self.serve(self.w.ca_new, self.w.ca_third)
        before = self.watched()
        self.misbehave("delay:1.5")  # the run holding the lock is slow
        procs = [subprocess.Popen([tc.BINARY, "--config", self.config, "--once"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        start = time.time()
        ends = [None] * len(procs)
        try:
            while None in ends and time.time() < start + 60:
                for i, p in enumerate(procs):
                    if ends[i] is None and p.poll() is not None:
                        ends[i] = time.time() - start
                time.sleep(0.005)
            results = []
            for p, took in zip(procs, ends):
                out, err = p.communicate(timeout=10)
                results.append((p.returncode, out, err, took))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        winners = [r for r in results if r[0] == 0]
        losers = [r for r in results if r[0] != 0]
        self.assertEqual(len(winners), 1, results)
        self.assertTrue(winners[0][1].strip().splitlines()[-1].startswith(
            "changed: %s (+SHA256:" % self.trusted), winners[0])
        self.assertGreater(winners[0][3], 1.4, "the winner did not wait for the issuer")
        lock = os.path.join(self.state_dir, "lock")
        for rc, out, err, took in losers:
            self.assertEqual(out, "")
            self.assertRegex(err.strip(), FAILED_LINE % re.escape(
                "another cafetch is running (%s is locked)" % lock))
            self.assertEqual(len(err.strip().splitlines()), 1, err)
        # The three others were refused at once, not after the winner.
        self.assertLess(sorted(r[3] for r in results)[2], 1.0, results)
        self.misbehave(None)
        after = self.watched()
        self.assertNotEqual(after[self.trusted], before[self.trusted])
        self.assertIn(h.Keys.pub_line(self.w.ca_third).encode(), after[self.trusted])
        self.assertSshdAccepts()
        self.assertLoginOK(USER, self.w.user_new)
        self.once("unchanged")


# --------------------------------------------------------------------------
# Clock jumps

def state_keys(path):
    """{key base64: (first_seen, last_seen, listed)} of a state file."""
    out = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "key":
                out[w[5]] = (int(w[1]), int(w[2]), w[3] == "1")
    return out


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class ClockTest(FaultCase):
    """cafetch under libfaketime (LD_PRELOAD; sshd and the issuer keep the
    real clock): keep_retired 1h, the clock set back two days and forward
    again. A jump back must never retire a key early or drop a listed one."""

    HOUR = 3600
    DAY = 86400

    def setUp(self):
        if not LIBFAKETIME:
            self.skipTest("needs libfaketime (apt-get install faketime; scripts/install-deps)")
        super().setUp()
        self.write_config(keep_retired="1h")
        # The preload works here at all (forward jumps check cafetch itself).
        p = h.run(["date", "+%s"], env=self.faked(-2 * self.DAY))
        self.assertLess(abs(int(p.stdout) - (time.time() - 2 * self.DAY)), 60, p.stdout)

    @staticmethod
    def faked(offset):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LD_PRELOAD": LIBFAKETIME[-1],
                "FAKETIME": "%+ds" % offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "FAKETIME_NO_CACHE": "1"}

    def run_at(self, offset, expect_prefix):
        real = int(time.time())
        p = self.cafetch("--once", "--verbose", env=self.faked(offset))
        self.last_stderr = p.stderr
        self.assertEqual(p.returncode, 0, "at %+ds: %s" % (offset, p.stderr))
        last = p.stdout.strip().splitlines()[-1]
        self.assertTrue(last.startswith(expect_prefix), "at %+ds: %r, expected %r" %
                        (offset, last, expect_prefix))
        state = state_keys(os.path.join(self.state_dir, "cafetch.state"))
        if offset >= 0:
            # cafetch's clock is the faked one: a listed key was seen then.
            self.assertTrue(any(k[2] and abs(k[1] - (real + offset)) < 60 for k in state.values()),
                            (offset, state))
        return state

    def test_clock_jumps(self):
        w = self.w
        a = h.Keys.pub_line(w.ca_old).split()[1]
        b = h.Keys.pub_line(w.ca_new).split()[1]
        self.serve(w.ca_old, w.ca_new)
        s0 = self.run_at(0, "changed: ")
        self.assertLoginOK(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)

        # Back two days, both still listed: nothing to change, and what was
        # seen stays seen as late as it was.
        s1 = self.run_at(-2 * self.DAY, "unchanged")
        self.assertIn("is behind the key history", self.last_stderr)
        for k in (a, b):
            self.assertGreaterEqual(s1[k][1], s0[k][1], "last_seen went back with the clock")

        # The clock is right again and the issuer retires A: A stays trusted
        # for keep_retired from when it was really last listed.
        self.serve(w.ca_new)
        self.run_at(0, "unchanged")
        self.assertLoginOK(USER, w.user_old)

        # Back again while A is retired: neither A nor the listed B goes.
        self.run_at(-2 * self.DAY, "unchanged")
        self.assertLoginOK(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)

        # Forward, still within keep_retired: A stays.
        self.run_at(self.HOUR // 2, "unchanged")
        self.assertLoginOK(USER, w.user_old)

        # Forward past keep_retired: A goes, B stays.
        self.run_at(2 * self.HOUR, "changed: %s (-SHA256:" % self.trusted)
        self.assertLoginDenied(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)

        # And back once more: the listed key is never dropped.
        s = self.run_at(-2 * self.DAY, "unchanged")
        self.assertEqual(list(s), [b])
        self.assertLoginOK(USER, w.user_new)
        self.assertSshdAccepts()


if __name__ == "__main__":
    h.run_main()
