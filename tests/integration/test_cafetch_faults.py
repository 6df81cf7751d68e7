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
  KillTest         SIGKILL (strace syscall injection) before each step of a
                   real update: temp file create, write, fsync, rename,
                   directory fsync, each sshd -V/-t/-T spawn and reap, the
                   SIGHUP and after it; then a --once finishes the update
                   (reload included) and removes the temporary files and
                   the candidate directory (state_dir/candidates) a kill
                   during the candidate check left; nothing goes to /tmp
  KillDropInTest   the same with sshd_config.d/05-certgate.conf
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
# SIGKILL at every step of an update

# The system calls a step can be: cafetch's own (strace without -f traces
# only the agent, whose per-syscall counters `when=N` then count).
STEP_CALLS = ("openat", "write", "fsync", "fdatasync", "rename", "renameat", "renameat2",
              "unlink", "unlinkat", "clone", "clone3", "vfork", "wait4", "waitid", "kill")
_CALL = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\((.*)$")
_TEMP = re.compile(r"certgate-[0-9a-f]{16}")


def signature(name, rest):
    """What identifies one traced call across runs: its name and its fd,
    signal or paths (temporary names normalised)."""
    if name in ("write", "fsync", "fdatasync"):
        return (name, re.match(r"\d*", rest).group(0))
    if name == "kill":
        return (name, "SIGHUP" in rest)
    paths = [re.sub(r"cafetch-candidate-\w+", "cafetch-candidate-X", _TEMP.sub("certgate-X", p))
             for p in re.findall(r'"([^"]*)"', rest)]
    return (name, tuple(paths[:2]))


def killed_call(log):
    """The call strace's SIGKILL interrupted, from a trace without -f."""
    last = None
    for line in log.splitlines():
        m = re.match(r"^(\w+)\((.*)$", line)
        if m and m.group(1) != "mkdir":
            last = signature(m.group(1), m.group(2))
    return last


def parse_trace(path):
    """strace -f -o output -> [(pid, name, rest of line)] (resumed lines
    folded into their call)."""
    calls = []
    pending = {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r"^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$", line)
            if m:
                pid, name, rest = int(m.group(1)), m.group(2), m.group(3)
                if (pid, name) in pending:
                    i = pending.pop((pid, name))
                    calls[i] = (pid, name, calls[i][2] + rest)
                continue
            m = _CALL.match(line)
            if not m:
                continue
            pid, name, rest = int(m.group(1)), m.group(2), m.group(3)
            if rest.endswith("<unfinished ...>"):
                pending[(pid, name)] = len(calls)
            calls.append((pid, name, rest))
    return calls


class KillSteps:
    """Mixed into a FaultCase: runs one real update (new CA + accept_sha1_rsa, so both the key file
    and sshd_config change and sshd is reloaded) under strace -f to list
    its steps, then for each step starts from the old files again and has
    strace SIGKILL cafetch on entry to that system call (the call does not
    happen: "before" it, and "after" the step before it)."""

    drop_in = False
    # Steps before the first one whose label starts with this are left out
    # (another class covers them); None: every step.
    from_step = None

    @classmethod
    def extra_sshd_lines(cls, name):
        if not cls.drop_in:
            return []
        cls.drop_in_dir = os.path.join(cls.ws.sshd, name, "sshd_config.d")
        return ["Include %s/*.conf" % cls.drop_in_dir]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.drop_in:
            os.makedirs(cls.drop_in_dir, mode=0o755, exist_ok=True)
        cls.ca_rsa = cls.w.keys.make_key("kill-ca-rsa", "rsa", 2048)
        cls.user_rsa = cls.w.keys.user_with_cert(cls.ca_rsa, "kill-u-sha1", principals=[USER],
                                                 sig_alg="ssh-rsa")

    def sshd_files(self):
        """Every file sshd reads that cafetch may write, with contents."""
        out = {self.trusted: read(self.trusted), self.sshd.config_path: read(self.sshd.config_path)}
        if self.drop_in:
            for path in glob.glob(os.path.join(self.drop_in_dir, "*.conf")):
                out[path] = read(path)
            out.setdefault(os.path.join(self.drop_in_dir, "05-certgate.conf"), None)
        return out

    def all_files(self):
        """sshd_files plus the state file and the .previous copies."""
        out = self.sshd_files()
        for p in list(out):
            out[p + ".previous"] = read(p + ".previous")
        state = os.path.join(self.state_dir, "cafetch.state")
        out[state] = read(state)
        return out

    def strays(self):
        found = []
        for d in {os.path.dirname(p) for p in self.all_files()}:
            found += [os.path.join(d, n) for n in os.listdir(d) if ".certgate-" in n]
        return sorted(found)

    def restore(self, files):
        """Puts |files| back and has sshd re-read its config."""
        for path, data in files.items():
            self.put(path, data)
        for path in self.strays():
            os.unlink(path)
        mark = self.sshd.log_size()
        self.sshd.proc.send_signal(signal.SIGHUP)
        self.wait_listening(mark)

    def candidates(self):
        """What is in state_dir/candidates, where cafetch checks a
        candidate sshd_config."""
        d = os.path.join(self.state_dir, "candidates")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def steps(self, trace):
        """The steps of the traced update: [(name, when, label, signature)]:
        the |when|th call of |name| by cafetch itself."""
        calls = parse_trace(trace)
        agent = calls[0][0]
        spawned = {}  # child pid -> its argv, from the child's execve
        for pid, name, rest in calls:
            if name == "execve" and pid != agent:
                spawned[pid] = " ".join(re.findall(r'"([^"]*)"', rest.split("], ")[0])[1:])
        watched_dirs = {os.path.dirname(p) for p in self.all_files()}
        counts, steps, fds, sighup, last_child = {}, [], {}, None, "?"
        for pid, name, rest in calls:
            if pid != agent or name not in STEP_CALLS:
                continue
            counts[name] = counts.get(name, 0) + 1
            label = None
            ret = rest.rsplit("= ", 1)[-1].split()[0] if "= " in rest else ""
            if name == "openat":
                path = (re.findall(r'"([^"]*)"', rest) or [""])[0]
                if os.path.dirname(path) in watched_dirs or path in watched_dirs:
                    if ".certgate-" in path:
                        fds[ret] = _TEMP.sub("certgate-X", os.path.basename(path))
                        label = "create " + fds[ret]
                    elif "O_DIRECTORY" in rest:
                        fds[ret] = "directory " + path
            elif name in ("write", "fsync", "fdatasync"):
                fd = re.match(r"\d*", rest).group(0)
                if fd in fds:
                    label = "%s %s" % (name, fds[fd])
            elif name.startswith("rename") or name.startswith("unlink"):
                paths = re.findall(r'"([^"]*)"', rest)
                if paths and os.path.dirname(paths[-1]) in watched_dirs:
                    label = ("rename over " if name[0] == "r" else "remove ") + paths[-1]
            elif name in ("clone", "clone3", "vfork"):
                child = int(ret) if ret.isdigit() else None
                label = "spawn " + spawned.get(child, "?")
                last_child = spawned.get(child, "?")
            elif name in ("wait4", "waitid"):
                label = "reap " + last_child
            elif name == "kill":
                if "SIGHUP" in rest:
                    label, sighup = "SIGHUP sshd", counts[name]
                elif sighup is not None and counts[name] == sighup + 1:
                    label = "after SIGHUP (first check that sshd is back)"
            if label:
                steps.append((name, counts[name], label, signature(name, rest)))
        return steps

    def update(self, accept):
        self.write_config(accept_sha1_rsa=accept)

    def test_sigkill_at_every_step(self):
        if not STRACE:
            self.skipTest("needs strace (scripts/install-deps installs it)")
        probe = h.run([STRACE, "-qq", "-e", "trace=getpid", "-e", "inject=getpid:signal=KILL",
                       "/usr/bin/python3", "-c", "import os; os.getpid()"], check=False)
        if probe.returncode in (-9, 137) or "killed by SIGKILL" in probe.stderr:
            pass
        elif "Operation not permitted" in probe.stderr:
            self.skipTest("strace cannot trace here (ptrace refused): " + probe.stderr.strip())
        else:
            self.fail("strace syscall injection does not work: %d %s" %
                      (probe.returncode, probe.stderr))
        w = self.w
        # Old: CA A trusted, no SHA-1. New: A and an RSA CA, accept_sha1_rsa.
        self.serve(w.ca_old)
        self.update("false")
        self.once("changed: ")
        old = self.all_files()
        # The new key is first seen in a later second than the old one (the
        # file lists keys oldest first): every run from |old| writes the same.
        time.sleep(1.1)
        self.serve(w.ca_old, self.ca_rsa)
        self.update("true")
        trace = os.path.join(self.ws.root, "update-%s.trace" % type(self).__name__)
        p = self.cafetch("--once", prefix=[STRACE, "-f", "-qq", "-s", "256", "-o", trace, "-e",
                                           "trace=%s,execve,mkdir" % ",".join(STEP_CALLS)])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("SIGHUP", p.stdout)
        # Nothing of cafetch's goes to /tmp: the candidate check is in state_dir.
        calls = parse_trace(trace)
        in_tmp = [(name, rest) for pid, name, rest in calls if pid == calls[0][0] and
                  name != "execve" and
                  any(a.startswith("/tmp/") for a in re.findall(r'"([^"]*)"', rest))]
        self.assertEqual(in_tmp, [], "cafetch used /tmp")
        made = [re.findall(r'"([^"]*)"', rest)[0] for pid, name, rest in calls
                if pid == calls[0][0] and name == "mkdir"]
        candidate = re.escape(self.state_dir) + r"/candidates/cafetch-candidate-\w+$"
        self.assertTrue(any(re.match(candidate, d) for d in made), made)
        self.assertEqual(self.candidates(), [], "the update left a candidate directory")
        new_sshd = self.sshd_files()
        old_sshd = {k: old.get(k) for k in new_sshd}
        self.assertNotEqual(old_sshd[self.trusted], new_sshd[self.trusted])
        self.assertTrue(any(old_sshd[k] != new_sshd[k] for k in new_sshd if k != self.trusted))
        steps = self.steps(trace)
        self.strays_seen = 0
        self.candidates_left = 0
        labels = [s[2] for s in steps]
        for want in ("create .trusted_user_ca_keys.certgate-X", "rename over " + self.trusted,
                     "spawn /usr/sbin/sshd -t", "SIGHUP sshd", self.from_step or ""):
            self.assertTrue(any(l.startswith(want) for l in labels), (want, labels))
        if self.from_step:
            steps = steps[[l.startswith(self.from_step) for l in labels].index(True):]
            labels = [s[2] for s in steps]
        print("\n  %d steps in an update:\n    %s" % (len(steps), "\n    ".join(labels)),
              file=sys.stderr)

        for name, when, label, sig in steps:
            with self.subTest(step="%s (%s #%d)" % (label, name, when)):
                self.restore(old)
                log = os.path.join(self.ws.root, "kill.trace")
                p = self.cafetch("--once", prefix=[
                    STRACE, "-o", log, "-e", "trace=%s,mkdir" % name,
                    "-e", "inject=%s:signal=KILL:when=%d" % (name, when)])
                text = read(log).decode(errors="replace")
                self.assertIn("+++ killed by SIGKILL +++", text, "not killed: " + p.stdout + p.stderr)
                self.assertEqual(killed_call(text), sig, "killed at another call than traced")
                self.strays_seen += len(self.strays())
                # A candidate directory outlives a SIGKILL during the check:
                # in state_dir, where the next run removes it (check_after_kill).
                made = re.findall(r'^mkdir\("([^"]*)"', text, re.M)
                self.assertEqual([d for d in made if d.startswith("/tmp/")], [],
                                 "cafetch used /tmp")
                pattern = re.escape(self.state_dir) + r"/candidates/(cafetch-candidate-\w+)$"
                left = [m.group(1) for m in (re.match(pattern, d) for d in made) if m and
                        os.path.isdir(os.path.join(self.state_dir, "candidates", m.group(1)))]
                self.assertEqual(self.candidates(), sorted(left),
                                 "a candidate directory the kill did not make")
                self.candidates_left += len(left)
                self.check_after_kill(old_sshd, new_sshd, left)
        print("  temporary files the kills left (each removed by the next run): %d" %
              self.strays_seen, file=sys.stderr)
        print("  candidate directories the kills left (each removed by the next run): %d" %
              self.candidates_left, file=sys.stderr)
        if self.from_step is None:
            # Some steps are in the candidate check (sshd -t and -T on it).
            self.assertGreater(self.candidates_left, 0, "no kill left a candidate directory")

    def check_after_kill(self, old_sshd, new_sshd, candidates_left=()):
        now = self.sshd_files()
        for path, data in now.items():
            self.assertIn(data, (old_sshd.get(path), new_sshd.get(path)),
                          "%s is neither the old nor the new file" % path)
        self.assertEqual(sorted(now), sorted(new_sshd), "sshd would read other files")
        self.assertSshdAccepts()
        self.wait_sshd_listening()
        self.assertLoginOK(USER, self.w.user_old)
        # The next run finishes the job: files, state and the running sshd,
        # and removes what the killed run left (saying so in one line).
        p = self.cafetch("--once", "--verbose")
        self.assertEqual(p.returncode, 0, "the run after the kill failed: " + p.stderr)
        if now != new_sshd:
            self.assertTrue(p.stdout.strip().splitlines()[-1].startswith("changed: "), p.stdout)
        self.assertEqual(self.sshd_files(), new_sshd)
        self.assertEqual(self.strays(), [], "the next run left the killed run's temporary files")
        self.assertEqual(self.candidates(), [],
                         "the next run left the killed run's candidate directory")
        if candidates_left:
            removed = [l for l in p.stderr.splitlines() if "candidate director" in l]
            self.assertEqual(len(removed), 1, p.stderr)
            self.assertRegex(removed[0], r"removed %d candidate director.* in %s: %s$" % (
                len(candidates_left), re.escape(os.path.join(self.state_dir, "candidates")),
                re.escape(", ".join(candidates_left))))
        self.wait_sshd_listening()
        self.assertEqual(self.cafetch("--once").stdout.strip().splitlines()[-1], "unchanged")
        self.assertLoginOK(USER, self.user_rsa)  # needs the new key file and the reload


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class KillTest(KillSteps, FaultCase):
    """The marked block in the main sshd_config."""


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class KillDropInTest(KillSteps, FaultCase):
    """sshd_config includes sshd_config.d/*.conf: cafetch's drop-in, from
    its creation on (KillTest has the steps before it)."""
    drop_in = True
    from_step = "create .05-certgate.conf"


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
        self.put(os.path.join(self.state_dir, "cafetch.state"), None)  # no history from other tests
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
