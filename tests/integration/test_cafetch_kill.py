#!/usr/bin/env python3
"""SIGKILL at every step of a cafetch update, against the real thing (the
HTTPS issuer of https_issuer.py, a real sshd reloaded by SIGHUP, logins by
the real ssh client): after the kill every file sshd reads is entirely old
or entirely new, `sshd -t` accepts the config and a certificate still logs
in; the next --once finishes the update. Built on test_cafetch_faults.py's
FaultCase.

Run (as root):  python3 tests/integration/test_cafetch_kill.py --binary PATH

Classes:
  KillTest         SIGKILL (strace syscall injection) before each step of a
                   real update: temp file create, write, fsync, rename,
                   directory fsync, each sshd -V/-t/-T spawn and reap, the
                   SIGHUP and after it; then a --once finishes the update
                   (reload included) and removes the temporary files and
                   the candidate directory (state_dir/candidates) a kill
                   during the candidate check left; nothing goes to /tmp
  KillDropInTest   the same with sshd_config.d/05-certgate.conf
"""

import glob
import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cafetch_faults as tf  # noqa: E402  (test_cafetch takes --binary out of sys.argv)

tc = tf.tc
h = tf.h


def tearDownModule():
    tc.World.cleanup()


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
        cls.user_rsa = cls.w.keys.user_with_cert(cls.ca_rsa, "kill-u-sha1", principals=[tf.USER],
                                                 sig_alg="ssh-rsa")

    def sshd_files(self):
        """Every file sshd reads that cafetch may write, with contents."""
        out = {self.trusted: tf.read(self.trusted), self.sshd.config_path: tf.read(self.sshd.config_path)}
        if self.drop_in:
            for path in glob.glob(os.path.join(self.drop_in_dir, "*.conf")):
                out[path] = tf.read(path)
            out.setdefault(os.path.join(self.drop_in_dir, "05-certgate.conf"), None)
        return out

    def all_files(self):
        """sshd_files plus the state file and the .previous copies."""
        out = self.sshd_files()
        for p in list(out):
            out[p + ".previous"] = tf.read(p + ".previous")
        state = os.path.join(self.state_dir, "cafetch.state")
        out[state] = tf.read(state)
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
        if not tf.STRACE:
            self.skipTest("needs strace (scripts/install-deps installs it)")
        probe = h.run([tf.STRACE, "-qq", "-e", "trace=getpid", "-e", "inject=getpid:signal=KILL",
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
        p = self.cafetch("--once", prefix=[tf.STRACE, "-f", "-qq", "-s", "256", "-o", trace, "-e",
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
                    tf.STRACE, "-o", log, "-e", "trace=%s,mkdir" % name,
                    "-e", "inject=%s:signal=KILL:when=%d" % (name, when)])
                text = tf.read(log).decode(errors="replace")
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
        self.assertLoginOK(tf.USER, self.w.user_old)
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
        self.assertLoginOK(tf.USER, self.user_rsa)  # needs the new key file and the reload


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class KillTest(KillSteps, tf.FaultCase):
    """The marked block in the main sshd_config."""


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class KillDropInTest(KillSteps, tf.FaultCase):
    """sshd_config includes sshd_config.d/*.conf: cafetch's drop-in, from
    its creation on (KillTest has the steps before it)."""
    drop_in = True
    from_step = "create .05-certgate.conf"


if __name__ == "__main__":
    h.run_main()
