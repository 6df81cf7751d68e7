#!/usr/bin/env python3
"""End-to-end tests of cafetch: a real HTTPS issuer (https_issuer.py), a real
sshd on 127.0.0.1 and logins by the real ssh client.

sshd trusts CAs only through the TrustedUserCAKeys line cafetch writes (no
AuthorizedPrincipalsCommand: certificates name the login user as their
principal, so sshd's built-in check applies). cafetch runs with --once, as
the timer unit runs it, and reloads sshd with SIGHUP (reload: signal).

Run (as root):  python3 tests/integration/test_cafetch.py --binary PATH
(ctest passes the built binary; $CERTGATE_CAFETCH works too; without either
the newest build*/cafetch/cafetch of the tree is used).

Classes:
  RotationTest    old CA, then old+new, then new only: logins keep working at
                  every step, and the old CA stops only after keep_retired
  UnitCapabilitiesTest  the SIGHUP reload works with no more capabilities
                  than the systemd units' CapabilityBoundingSet=
  MatchBlockTest, MatchBlockDropInTest  a Match block that sets
                  TrustedUserCAKeys for some connections, root's from
                  loopback included, is a warning and rotation goes on;
                  Match all doing the same fails the round and names it
  DaemonTest, DaemonIntervalTest  cafetch --daemon as systemd runs it
  (FailStaticTest: test_cafetch_refusals.py)
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
import sshd_harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ISSUER = os.path.join(HERE, "https_issuer.py")
USER = "cgc_alice"
KEEP_RETIRED = 2  # seconds

BINARY = h.parse_binary_arg("--binary", "CERTGATE_CAFETCH")
if not BINARY:
    found = sorted(glob.glob(os.path.join(HERE, "..", "..", "build*", "cafetch", "cafetch")),
                   key=os.path.getmtime)
    BINARY = os.path.abspath(found[-1]) if found else None

SKIP = h.skip_reason()
if not SKIP and not (BINARY and os.access(BINARY, os.X_OK)):
    SKIP = "cafetch binary not found (pass --binary PATH or set CERTGATE_CAFETCH)"
if not SKIP and not os.path.exists("/usr/bin/openssl"):
    SKIP = "needs openssl for the issuer's test PKI"


class World:
    """One workspace, user, HTTPS issuer and sshd shared by every test."""

    ws = None
    issuers = {}  # PKI certificate name -> (process, port)
    issuer_log = None

    @classmethod
    def get(cls):
        if cls.ws is not None:
            return cls
        cls.users = h.Users()
        cls.ws = h.Workspace("c")
        cls.users.user(USER)
        cls.keys = h.Keys(cls.ws)
        cls.ca_old = cls.keys.make_key("ca-old")
        cls.ca_new = cls.keys.make_key("ca-new", "ecdsa")
        cls.ca_third = cls.keys.make_key("ca-third")
        cls.user_old = cls.keys.user_with_cert(cls.ca_old, "u-old", principals=[USER])
        cls.user_new = cls.keys.user_with_cert(cls.ca_new, "u-new", principals=[USER])

        # The issuer: a test PKI and the server, answering ROOT/keys.
        cls.pki = os.path.join(cls.ws.root, "pki")
        h.run([sys.executable, "-B", ISSUER, "make-certs", cls.pki])
        cls.root = os.path.join(cls.ws.root, "issuer")
        os.mkdir(cls.root)
        cls.issuers = {}
        cls.issuer_log = open(os.path.join(cls.ws.root, "issuer.log"), "ab")
        cls.port = cls.issuer_port("server")
        return cls

    @classmethod
    def issuer_port(cls, cert):
        """The port of an issuer serving ROOT with PKI certificate |cert|
        (server, other, wrongname, expired: see https_issuer.py), started
        on first use."""
        if cert in cls.issuers:
            return cls.issuers[cert][1]
        port_file = os.path.join(cls.ws.root, "issuer-%s.port" % cert)
        proc = subprocess.Popen(
            [sys.executable, "-B", ISSUER, "serve", "--root", cls.root,
             "--cert", os.path.join(cls.pki, cert + ".pem"),
             "--key", os.path.join(cls.pki, cert + ".key"), "--port-file", port_file],
            stdin=subprocess.DEVNULL, stdout=cls.issuer_log, stderr=cls.issuer_log)
        cls.issuers[cert] = (proc, None)
        deadline = time.time() + 20
        while not os.path.exists(port_file):
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("the HTTPS issuer (%s) did not start" % cert)
            time.sleep(0.05)
        with open(port_file) as f:
            cls.issuers[cert] = (proc, int(f.read()))
        return cls.issuers[cert][1]

    @classmethod
    def cleanup(cls):
        if cls.ws is None:
            return
        for proc, _ in cls.issuers.values():
            proc.terminate()
            proc.wait()
        cls.issuers = {}
        if cls.issuer_log is not None:
            cls.issuer_log.close()
        cls.users.cleanup()
        cls.ws.cleanup()
        cls.ws = None


def tearDownModule():
    World.cleanup()


class CafetchCase(h.SshdTestCase):
    @classmethod
    def setUpClass(cls):
        if SKIP:
            raise unittest.SkipTest(SKIP)
        cls.w = World.get()
        cls.ws = cls.w.ws
        cls.tap = None
        # Each class: its own sshd without any CA trust (cafetch adds it),
        # key file, state and cafetch.yaml.
        name = cls.__name__
        cls.sshd = h.Sshd(cls.ws, ["AuthorizedKeysFile none"] + cls.extra_sshd_lines(name),
                          log_level="VERBOSE", name=name).start()
        cls.trusted = os.path.join(cls.ws.etc, name, "trusted_user_ca_keys")
        os.makedirs(os.path.dirname(cls.trusted), mode=0o755)
        cls.state_dir = os.path.join(cls.ws.root, "state-" + name)
        cls.config = os.path.join(cls.ws.etc, name + ".yaml")
        cls.write_config()

    @classmethod
    def extra_sshd_lines(cls, name):
        """sshd_config lines a class adds to the common ones."""
        return []

    @classmethod
    def write_config(cls, accept_sha1_rsa="false", port=None, timeout="5s",
                     keep_retired="%ds" % KEEP_RETIRED, extra=(), reload="signal", issuer=()):
        """cafetch.yaml for this class; |extra| lines go before sshd:.
        The issuer is type url at ROOT/keys; |issuer| lines (type, url,
        name, token_file) replace its type and url."""
        cls.ws.write(cls.config, "\n".join([
            "issuer:",
        ] + (list(issuer) or [
            "  type: url",
            "  url: https://127.0.0.1:%d/keys" % (port or cls.w.port),
        ]) + [
            "  tls:",
            "    ca_file: %s" % os.path.join(cls.w.pki, "ca.pem"),
            "  timeout: %s" % timeout,
            "keep_retired: %s" % keep_retired,
            "trusted_user_ca_keys: %s" % cls.trusted,
            "state_dir: %s" % cls.state_dir,
        ] + list(extra) + [
            "sshd:",
            "  config: %s" % cls.sshd.config_path,
            "  binary: %s" % h.SSHD,
            "  manage_principals_command: false",
            "  reload: %s" % reload,
            "  accept_sha1_rsa: %s" % accept_sha1_rsa,
        ]) + "\n", 0o600)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "sshd", None) is not None:
            cls.sshd.stop()

    def serve(self, *pubs):
        """The issuer lists these CA public keys from now on."""
        text = "".join(open(p + ".pub").read() for p in pubs)
        self.ws.write(os.path.join(self.w.root, "keys"), text)

    def misbehave(self, mode):
        path = os.path.join(self.w.root, "keys.mode")
        if mode is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            self.ws.write(path, mode + "\n")

    def cafetch(self, *args, prefix=(), env=None, timeout=60):
        """Runs cafetch --config CONFIG ARGS (after |prefix|, e.g. strace)."""
        return subprocess.run(list(prefix) + [BINARY, "--config", self.config] + list(args),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=env, timeout=timeout)

    def once(self, expect_prefix):
        mark = self.sshd.log_size()
        p = self.cafetch("--once")
        self.assertEqual(p.returncode, 0, "cafetch --once failed: " + p.stderr)
        last = p.stdout.strip().splitlines()[-1]
        self.assertTrue(last.startswith(expect_prefix), "last line %r, expected %r\n%s" %
                        (last, expect_prefix, p.stderr))
        if "SIGHUP" in p.stdout:
            # cafetch returns only once sshd listens again after the SIGHUP.
            socket.create_connection(("127.0.0.1", self.sshd.port), timeout=5).close()
            self.assertIn("Server listening on", self.sshd.log_text(mark))
        return p.stdout

    def wait_listening(self, mark):
        """After a SIGHUP sshd re-executes itself and listens again a few
        milliseconds later (connections in between are refused): waits
        until the log written since |mark| says it listens again."""
        deadline = time.time() + 10
        while "Server listening on" not in self.sshd.log_text(mark):
            if time.time() > deadline:
                self.fail("sshd did not come back after SIGHUP:\n" + self.sshd.log_text(mark))
            time.sleep(0.02)

    def watched(self):
        """Every file cafetch may change, with its contents."""
        out = {}
        for d in (os.path.dirname(self.trusted), os.path.dirname(self.sshd.config_path)):
            for name in sorted(os.listdir(d)):
                path = os.path.join(d, name)
                if os.path.isfile(path) and not name.endswith((".log", ".pid")):
                    with open(path, "rb") as f:
                        out[path] = f.read()
        state = os.path.join(self.state_dir, "cafetch.state")
        out[state] = open(state, "rb").read() if os.path.exists(state) else None
        return out


@unittest.skipIf(SKIP, SKIP or "")
class RotationTest(CafetchCase):
    def test_rotation_keeps_logins_working(self):
        w = self.w
        self.assertLoginDenied(USER, w.user_old)  # no CA trusted yet

        # 1. The issuer lists the old CA: cafetch adds TrustedUserCAKeys and
        #    reloads sshd; certificates from the old CA log in.
        self.serve(w.ca_old)
        pid = self.sshd.proc.pid
        out = self.once("changed: ")
        self.assertIn("sent SIGHUP to sshd (pid %d)" % pid, out)
        with open(self.sshd.config_path) as f:
            self.assertIn("# BEGIN certgate\n", f.read())
        self.assertEqual(self.sshd.effective()["trustedusercakeys"], self.trusted)
        self.assertLoginOK(USER, w.user_old)
        self.assertLoginDenied(USER, w.user_new, reason="not trusted|certificate signature|CA")
        self.once("unchanged")  # 304 from the issuer, nothing to do

        # 2. Rotation starts: both listed. Only the key file changes (sshd
        #    re-reads it at every login, no reload).
        self.serve(w.ca_old, w.ca_new)
        out = self.once("changed: %s (+SHA256:" % self.trusted)
        self.assertNotIn("SIGHUP", out)
        self.assertLoginOK(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)

        # 3. The issuer stops listing the old CA: still trusted for keep_retired.
        self.serve(w.ca_new)
        retired_at = time.time()
        self.once("unchanged")
        self.assertLoginOK(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)

        # 4. After keep_retired the old CA is dropped; the new one keeps working.
        time.sleep(max(0.0, retired_at + KEEP_RETIRED + 0.5 - time.time()))
        self.once("changed: %s (-SHA256:" % self.trusted)
        self.assertLoginDenied(USER, w.user_old)
        self.assertLoginOK(USER, w.user_new)
        self.assertEqual(self.sshd.proc.poll(), None, "sshd died")
        self.assertEqual(self.sshd.proc.pid, pid)
        # A copy of the previous key file is kept beside it.
        with open(self.trusted + ".previous") as f:
            self.assertIn(h.Keys.pub_line(w.ca_old).split()[1], f.read())


def unit_capabilities():
    """CapabilityBoundingSet= of packaging/systemd/cafetch.service, which
    cafetch-once.service (the timer's) must repeat."""
    sets = []
    for name in ("cafetch.service", "cafetch-once.service"):
        path = os.path.join(HERE, "..", "..", "packaging", "systemd", name)
        with open(path) as f:
            lines = [line for line in f if line.startswith("CapabilityBoundingSet=")]
        assert len(lines) == 1, "%s: one CapabilityBoundingSet= line expected" % path
        sets.append(lines[0].split("=", 1)[1].split())
    assert sets[0] == sets[1], "cafetch.service and cafetch-once.service differ: %r %r" % tuple(sets)
    return sets[0]


@unittest.skipIf(SKIP, SKIP or "")
@unittest.skipIf(not shutil.which("setpriv"), "setpriv (util-linux) not installed")
class UnitCapabilitiesTest(CafetchCase):
    """cafetch with only the capabilities its systemd units leave it still
    reloads sshd by SIGHUP (sshd.reload: signal, or auto without an ssh
    unit): telling that the PidFile's pid is sshd reads /proc/PID/exe and
    /proc/PID/fd, which a process with fewer capabilities than sshd may do
    only with CAP_SYS_PTRACE."""

    def test_reload_by_signal_within_the_units_capabilities(self):
        caps = unit_capabilities()
        self.assertIn("CAP_SYS_PTRACE", caps)
        bounding = "-all," + ",".join("+" + c[len("CAP_"):].lower() for c in caps)
        self.serve(self.w.ca_old)
        # Without CAP_SYS_PTRACE the round is undone, and the error says why.
        before = self.watched()
        p = self.cafetch("--once", prefix=["setpriv", "--bounding-set=" + bounding.replace(",+sys_ptrace", ""),
                                           "--no-new-privs"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cafetch needs CAP_SYS_PTRACE to tell that pid %d is sshd" % self.sshd.proc.pid, p.stderr)
        self.assertEqual(self.watched(), before)
        pid = self.sshd.proc.pid
        mark = self.sshd.log_size()
        p = self.cafetch("--once", prefix=["setpriv", "--bounding-set=" + bounding, "--no-new-privs"])
        self.assertEqual(p.returncode, 0, "cafetch --once within %s failed: %s" % (" ".join(caps), p.stderr))
        self.assertIn("sent SIGHUP to sshd (pid %d)" % pid, p.stdout)
        self.wait_listening(mark)
        self.assertLoginOK(USER, self.w.user_old)


@unittest.skipIf(SKIP, SKIP or "")
class DropInTest(CafetchCase):
    """The main sshd_config includes sshd_config.d/*.conf: cafetch writes
    05-certgate.conf there and never edits the main file; an admin's later
    drop-in loses to it, an earlier one wins and is reported."""

    @classmethod
    def extra_sshd_lines(cls, name):
        cls.drop_in_dir = os.path.join(cls.ws.sshd, name, "sshd_config.d")
        return ["Include %s/*.conf" % cls.drop_in_dir]

    def test_drop_in_is_written_checked_and_idempotent(self):
        os.makedirs(self.drop_in_dir, mode=0o755, exist_ok=True)
        self.ws.write(os.path.join(self.drop_in_dir, "50-admin.conf"),
                      "TrustedUserCAKeys /etc/ssh/admin_later_ca\n")
        with open(self.sshd.config_path, "rb") as f:
            main = f.read()
        self.serve(self.w.ca_new)
        self.once("changed: ")
        with open(self.sshd.config_path, "rb") as f:
            self.assertEqual(f.read(), main)
        with open(os.path.join(self.drop_in_dir, "05-certgate.conf")) as f:
            self.assertIn("TrustedUserCAKeys %s\n" % self.trusted, f.read())
        self.assertEqual(self.sshd.effective()["trustedusercakeys"], self.trusted)
        self.assertLoginOK(USER, self.w.user_new)
        self.once("unchanged")

        # An admin's drop-in that sorts first wins in sshd: found by the
        # candidate check, reported, and nothing is changed.
        early = os.path.join(self.drop_in_dir, "01-admin.conf")
        self.ws.write(early, "TrustedUserCAKeys /etc/ssh/admin_early_ca\n")
        try:
            self.serve(self.w.ca_new, self.w.ca_third)
            before = self.watched()
            p = self.cafetch("--once")
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn("/etc/ssh/admin_early_ca", p.stderr)
            self.assertEqual(self.watched(), before)
        finally:
            os.unlink(early)
        self.assertEqual(self.sshd.proc.poll(), None, "sshd died")


@unittest.skipIf(SKIP, SKIP or "")
class MatchBlockTest(CafetchCase):
    """The audit's case: sshd_config ends with a Match block that sets
    TrustedUserCAKeys to another file, for connections that include a root
    login from loopback (Match User root, Address 127.0.0.1, Host
    localhost). It is in force only for those connections: each round logs
    a match_override warning, succeeds, and the key file keeps following
    the issuer. A "Match all" block that does the same is in force for
    every connection: the round fails, names its line and changes nothing.
    This class has cafetch's block in the main file, MatchBlockDropInTest
    the drop-in."""

    drop_in = False
    OTHER = "/some/other/file"

    @classmethod
    def extra_sshd_lines(cls, name):
        lines = []
        if cls.drop_in:
            cls.drop_in_dir = os.path.join(cls.ws.sshd, name, "sshd_config.d")
            lines.append("Include %s/*.conf" % cls.drop_in_dir)
        return lines + ["Match User root", "\tTrustedUserCAKeys %s" % cls.OTHER]

    def set_match(self, criteria):
        """Makes sshd_config's Match line `Match CRITERIA`; returns its line
        number."""
        with open(self.sshd.config_path) as f:
            lines = f.read().splitlines(True)
        at = [i for i, line in enumerate(lines) if line.startswith("Match ")]
        self.assertEqual(len(at), 1, lines)
        lines[at[0]] = "Match %s\n" % criteria
        self.ws.write(self.sshd.config_path, "".join(lines))
        return at[0] + 1

    def once_warned(self, expect_prefix):
        """--once --verbose succeeds with a last line starting with
        |expect_prefix| and logs the Match block's match_override."""
        mark = self.sshd.log_size()
        p = self.cafetch("--once", "--verbose")
        self.assertEqual(p.returncode, 0, "cafetch --once failed: " + p.stderr)
        self.assertTrue(p.stdout.strip().splitlines()[-1].startswith(expect_prefix), p.stdout)
        if "SIGHUP" in p.stdout:
            self.wait_listening(mark)
        config = re.escape(self.sshd.config_path)
        self.assertRegex(p.stderr, r"cafetch: %s:\d+: TrustedUserCAKeys %s in the Match block of %s:\d+ replaces "
                         r"cafetch's \"TrustedUserCAKeys %s\" for the connections that Match selects" %
                         (config, re.escape(self.OTHER), config, re.escape(self.trusted)))
        return p

    def test_a_match_block_warns_and_match_all_fails(self):
        w = self.w
        if self.drop_in:
            os.makedirs(self.drop_in_dir, mode=0o755, exist_ok=True)
        self.serve(w.ca_old)
        p = self.once_warned("changed: ")
        self.assertIn("sent SIGHUP to sshd (pid %d)" % self.sshd.proc.pid, p.stdout)
        self.assertEqual(self.sshd.effective(USER)["trustedusercakeys"], self.trusted)
        self.assertEqual(self.sshd.effective("root")["trustedusercakeys"], self.OTHER)
        self.assertLoginOK(USER, w.user_old)

        # Rotation goes on: the key file follows the issuer.
        self.serve(w.ca_old, w.ca_new)
        self.once_warned("changed: %s (+SHA256:" % self.trusted)
        self.assertLoginOK(USER, w.user_new)

        for criteria in ("Address 127.0.0.1", "Host localhost", "User root"):
            with self.subTest(criteria=criteria):
                self.set_match(criteria)
                self.once_warned("")

        # Match all: every connection, a real conflict. Named, nothing changed.
        line = self.set_match("all")
        try:
            self.serve(w.ca_new, w.ca_third)
            before = self.watched()
            p = self.cafetch("--once")
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn("the admin's line %s:%d, in the \"Match all\" block of %s:%d, sets TrustedUserCAKeys to %s "
                          "for every connection, over cafetch's \"TrustedUserCAKeys %s\"" %
                          (self.sshd.config_path, line + 1, self.sshd.config_path, line, self.OTHER,
                           self.trusted), p.stderr)
            self.assertTrue(p.stderr.strip().endswith("(nothing changed)"), p.stderr)
            self.assertEqual(self.watched(), before)
        finally:
            self.set_match("User root")
        self.assertEqual(self.sshd.proc.poll(), None, "sshd died")
        self.assertLoginOK(USER, w.user_new)


@unittest.skipIf(SKIP, SKIP or "")
class MatchBlockDropInTest(MatchBlockTest):
    """MatchBlockTest with `Include sshd_config.d/*.conf` first in the main
    file: cafetch's lines in its drop-in."""

    drop_in = True


@unittest.skipIf(SKIP, SKIP or "")
class Sha1RsaTest(CafetchCase):
    """An RSA CA that signs with SHA-1 ssh-rsa: OpenSSH 8.2+ refuses its
    certificates until cafetch writes what this sshd version needs
    (accept_sha1_rsa: true), and nothing is written without it."""

    def test_sha1_rsa_lines_only_when_asked(self):
        w = self.w
        ca = w.keys.make_key("ca-rsa", "rsa", 2048)
        user = w.keys.user_with_cert(ca, "u-sha1", principals=[USER], sig_alg="ssh-rsa")
        self.serve(ca)
        self.once("changed: ")
        with open(self.sshd.config_path) as f:
            text = f.read()
        self.assertNotIn("CASignatureAlgorithms", text)
        self.assertNotIn("ssh-rsa", self.sshd.effective()["casignaturealgorithms"].split(","))
        self.assertLoginDenied(USER, user, reason="signature algorithm|CASignatureAlgorithms|ssh-rsa")

        self.write_config(accept_sha1_rsa="true")
        try:
            out = self.once("changed: %s" % self.sshd.config_path)
            self.assertIn("SIGHUP", out)
            self.assertIn("ssh-rsa", self.sshd.effective()["casignaturealgorithms"].split(","))
            self.assertIn("ssh-rsa-cert-v01@openssh.com",
                          self.sshd.effective()["pubkeyacceptedalgorithms"].split(","))
            self.assertLoginOK(USER, user)
            self.once("unchanged")
        finally:
            self.write_config()


class NotifiedDaemon:
    """cafetch --daemon as systemd runs it: a NOTIFY_SOCKET datagram socket
    (and |env|, e.g. WATCHDOG_USEC) whose messages wait_for() reads."""

    def __init__(self, case, name, env=()):
        path = os.path.join(case.ws.root, name + ".sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(10)
        full_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": path}
        full_env.update(env)
        self.proc = subprocess.Popen([BINARY, "--config", case.config, "--daemon"], env=full_env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.got = []

    def wait_for(self, text, seconds=10):
        """True once a message holding |text| came (since got was last
        cleared), waiting up to |seconds|."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if any(text in m for m in self.got):
                return True
            try:
                self.got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                break
        return any(text in m for m in self.got)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        self.proc.stdout.close()
        self.proc.stderr.close()


@unittest.skipIf(SKIP, SKIP or "")
class DaemonTest(CafetchCase):
    """--daemon under a stand-in systemd: a NOTIFY_SOCKET datagram socket
    and WATCHDOG_USEC; SIGHUP re-reads the config and runs a round, SIGTERM
    stops it cleanly."""

    def test_notify_watchdog_sighup_sigterm(self):
        self.serve(self.w.ca_new)
        mark = self.sshd.log_size()
        d = NotifiedDaemon(self, "notify", {"WATCHDOG_USEC": "400000"})
        try:
            self.assertTrue(d.wait_for("READY=1"), d.got)
            self.assertTrue(d.wait_for("STATUS=changed: "), d.got)
            self.wait_listening(mark)
            self.assertLoginOK(USER, self.w.user_new)
            del d.got[:]
            self.assertTrue(d.wait_for("WATCHDOG=1"), d.got)  # pinged while it sleeps
            # SIGHUP: config re-read and an immediate round (now unchanged).
            self.serve(self.w.ca_new, self.w.ca_third)
            d.proc.send_signal(signal.SIGHUP)
            self.assertTrue(d.wait_for("STATUS=changed: %s (+SHA256:" % self.trusted), d.got)
            d.proc.send_signal(signal.SIGTERM)
            self.assertEqual(d.proc.wait(10), 0, d.proc.stderr.read())
            self.assertTrue(d.wait_for("STOPPING=1"), d.got)
        finally:
            d.close()


@unittest.skipIf(SKIP, SKIP or "")
class DaemonIntervalTest(CafetchCase):
    """--daemon with a short interval runs its rounds by itself: a key the
    issuer starts listing is trusted within seconds, no signal needed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.write_config(extra=["interval: 1s", "jitter: 0s"])

    def test_a_new_key_is_picked_up_at_the_next_round(self):
        self.serve(self.w.ca_new)
        mark = self.sshd.log_size()
        d = NotifiedDaemon(self, "notify-interval")
        try:
            self.assertTrue(d.wait_for("STATUS=changed: "), d.got)
            self.assertTrue(d.wait_for("next round in 1s"), d.got)
            self.wait_listening(mark)
            self.assertLoginDenied(USER, self.w.user_old)
            del d.got[:]
            self.serve(self.w.ca_new, self.w.ca_old)
            self.assertTrue(d.wait_for("STATUS=changed: %s (+SHA256:" % self.trusted), d.got)
            self.assertLoginOK(USER, self.w.user_old)
            d.proc.send_signal(signal.SIGTERM)
            self.assertEqual(d.proc.wait(10), 0, d.proc.stderr.read())
        finally:
            d.close()

if __name__ == "__main__":
    h.run_main()
