#!/usr/bin/env python3
"""The sshd helpers under stress, end to end (as root, against the real sshd).

Run:  python3 tests/integration/test_stress.py --binary PATH/principals-cmd
(ctest passes the built binary; $CERTGATE_PRINCIPALS_CMD works too). Extra
arguments select tests, e.g. `NssHangTest`. $CERTGATE_STRESS_SECONDS sets
how long each stress loop runs (default 30).

Two classes, each in both ways a client decides (fallback: in-process
`certgate-decide --run`; service: a certgate-decide service):
  StressTest        50 concurrent certificate logins in a loop, certificates
                    that must be allowed mixed with ones that must be denied;
                    no wrong decision, no dropped connection, no helper crash
                    or timeout, no process left behind
  NssHangTest       group lookups that never return (a test NSS module,
                    nss_certgatehang.c, seen only inside `unshare -m`): the
                    login is refused within the helper's --timeout, with a
                    clear log line

Hostile policy files are test_hostile_policy.py's.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decide_mode  # noqa: E402
import sshd_harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "cgs"  # users and groups of this file
ALICE, BOB, CAROL = PREFIX + "_alice", PREFIX + "_bob", PREFIX + "_carol"
OPS_GROUP = PREFIX + "_ops"
# nss_certgatehang.c hangs every group lookup of a name starting "cghang".
HANG_USER, HANG_GROUP = "cghang_user", "cghang_group"

BINARY = h.parse_binary_arg("--binary", "CERTGATE_PRINCIPALS_CMD")
STRESS_SECONDS = float(os.environ.get("CERTGATE_STRESS_SECONDS", "30"))
CONCURRENCY = 50
SKIP = h.skip_reason()
NO_BINARY = h.missing_binary(BINARY, "principals-cmd", "CERTGATE_PRINCIPALS_CMD")


class _World(h.World):
    """Users, CAs and the installed client shared by the classes."""
    TAG = "s"

    @classmethod
    def populate(cls):
        cls.users.group(OPS_GROUP)
        cls.users.user(ALICE)
        cls.users.user(BOB, groups=[OPS_GROUP])
        cls.users.user(CAROL)
        cls.users.user(HANG_USER, groups=[OPS_GROUP])
        cls.ca_prod = cls.keys.make_key("ca-prod")
        cls.ca_foreign = cls.keys.make_key("ca-foreign")  # trusted by sshd, not by the policy
        cls.trusted = cls.ws.write(os.path.join(cls.ws.etc, "trusted_user_ca_keys"), "".join(
            h.Keys.pub_line(k) + "\n" for k in (cls.ca_prod, cls.ca_foreign)))
        cls.bin = cls.ws.install(BINARY, "principals-cmd")


def policy_text(w, rules):
    return h.policy_yaml({
        "version": 1,
        "authorities": {"prod": {"keys": [h.Keys.pub_line(w.ca_prod) + " prod-ca"]}},
        "rules": rules,
    })


def principals_command(decide, policy, extra=()):
    return "AuthorizedPrincipalsCommand %s --policy %s %s%%u %%t %%k" % (
        decide.command(_World.bin), policy, "".join(a + " " for a in extra))


def _ppid(pid):
    """The parent pid of |pid| (from /proc), or None if it is gone."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def processes_mentioning(path):
    """{pid: (ppid, argv)} of every process whose argv mentions |path|."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        ppid = _ppid(pid)
        if ppid is not None and any(path in a for a in argv):
            found[int(pid)] = (ppid, argv)
    return found


def children_of(pid):
    return [int(p) for p in filter(str.isdigit, os.listdir("/proc")) if _ppid(p) == pid]


def classify(rc, out, err):
    """'allowed', 'denied' (the server said Permission denied), or what
    else went wrong: a dropped connection, a timeout, a client error."""
    if rc == 0:
        return "allowed"
    if rc == 255 and "Permission denied" in err:
        return "denied"
    if re.search(r"Connection (closed|reset)|kex_exchange_identification|banner exchange|"
                 r"Connection timed out|Connection refused", err):
        return "dropped"
    return "error"


# --------------------------------------------------------------------------

@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class StressTest(unittest.TestCase):
    """CONCURRENCY logins at once, for STRESS_SECONDS, per mode."""

    @classmethod
    def setUpClass(cls):
        w = cls.w = _World.get()
        cls.policy = os.path.join(w.ws.etc, "stress.yaml")
        w.ws.write(cls.policy, policy_text(w, [
            {"name": "alice", "users": [ALICE], "authorities": ["prod"], "principals": ["ops"],
             "max_lifetime": "1d"},
            {"name": "ops-group", "users": ["group:" + OPS_GROUP], "authorities": ["prod"],
             "principals": ["ops"], "max_lifetime": "1d"},
        ]))
        k = w.keys
        # (name, login, key, must be allowed)
        cls.cases = [
            ("allowed", ALICE, k.user_with_cert(w.ca_prod, principals=["ops"]), True),
            ("allowed-by-group", BOB, k.user_with_cert(w.ca_prod, principals=["ops"]), True),
            ("wrong-principal", ALICE, k.user_with_cert(w.ca_prod, principals=["dev"]), False),
            ("expired", ALICE, k.user_with_cert(w.ca_prod, principals=["ops"],
                                                validity="-2h:-1h"), False),
            ("foreign-ca", ALICE, k.user_with_cert(w.ca_foreign, principals=["ops"]), False),
            ("no-rule-for-user", CAROL, k.user_with_cert(w.ca_prod, principals=["ops"]), False),
            ("over-max-lifetime", ALICE, k.user_with_cert(w.ca_prod, principals=["ops"],
                                                          validity="-5m:+30d"), False),
        ]

    def _run(self, mode):
        w = self.w
        decide = decide_mode.DecideMode(w.ws, BINARY, mode, self.policy, name="stress-" + mode)
        sshd = None
        try:
            lines = [
                "AuthorizedKeysFile none",
                "TrustedUserCAKeys " + w.trusted,
                principals_command(decide, self.policy),
                "AuthorizedPrincipalsCommandUser nobody",
                # The default 10:30:100 drops concurrent unauthenticated
                # connections: a drop here would be the harness, not us.
                "MaxStartups 200",
                "MaxSessions 200",
                "LoginGraceTime 120",
            ]
            if h.openssh_version() >= (9, 8):
                lines.append("PerSourcePenalties no")  # repeated denials from 127.0.0.1
            sshd = h.Sshd(w.ws, lines, log_level="VERBOSE", name="stress-" + mode).start()
            log_mark = w.tap.mark() if w.tap else 0
            results = self._hammer(sshd)
            self._check_results(mode, results)
            self._check_no_leftovers(sshd, decide)
            self._check_logs(sshd, w.tap.since(log_mark) if w.tap else [])
            if mode == "service":
                served = decide.requests_served()
                self.assertIsNotNone(served, "the service died or did not report; see " + decide.log)
                # Every login asks the helper at least once: the service, not
                # the fallback, must have answered.
                self.assertGreaterEqual(served, len(results),
                                        "the service answered %r of %d logins" % (served, len(results)))
        finally:
            if sshd is not None:
                sshd.stop()
            decide.stop()

    def _hammer(self, sshd):
        results = []  # (case name, must be allowed, outcome, seconds, stderr)
        lock = threading.Lock()
        deadline = time.time() + STRESS_SECONDS

        def worker(n):
            i = n
            while time.time() < deadline:
                name, login, key, allowed = self.cases[i % len(self.cases)]
                i += 1
                start = time.time()
                try:
                    rc, out, err = h.ssh_login(sshd.port, login, key, "true", timeout=90)
                    outcome = classify(rc, out, err)
                except subprocess.TimeoutExpired:
                    outcome, err = "error", "ssh did not finish in 90 s"
                with lock:
                    results.append((name, allowed, outcome, time.time() - start, err.strip()))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(CONCURRENCY)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return results

    def _check_results(self, mode, results):
        per_case = {}
        wrong, other = [], []
        for name, allowed, outcome, secs, err in results:
            c = per_case.setdefault(name, {"n": 0, "max_s": 0.0})
            c["n"] += 1
            c["max_s"] = max(c["max_s"], secs)
            if outcome in ("allowed", "denied"):
                if (outcome == "allowed") != allowed:
                    wrong.append((name, outcome, err))
            else:
                other.append((name, outcome, err))
        summary = ", ".join("%s %d (slowest %.1fs)" % (n, c["n"], c["max_s"])
                            for n, c in sorted(per_case.items()))
        print("\n%s: %d logins in %.0f s by %d clients: %s" % (
            mode, len(results), STRESS_SECONDS, CONCURRENCY, summary), flush=True)
        self.assertFalse(wrong, "wrong decisions (%d): %s" % (len(wrong), wrong[:5]))
        self.assertFalse(other, "connections dropped or failed other than by a denial (%d): %s" %
                         (len(other), other[:5]))
        # Bounded time must still mean a real load: every case, many times.
        self.assertEqual(set(per_case), {c[0] for c in self.cases})
        self.assertGreaterEqual(min(c["n"] for c in per_case.values()), 3, summary)

    def _check_no_leftovers(self, sshd, decide):
        """No helper still running, no sshd session left, and the service
        (if any) back to at most 4 idle workers, within 10 s of the last login."""
        deadline = time.time() + 10
        while True:
            helpers = {p: v for p, v in processes_mentioning(self.w.ws.bin).items()
                       if decide.proc is None or (p != decide.proc.pid and v[0] != decide.proc.pid)}
            sessions = children_of(sshd.proc.pid)
            workers = children_of(decide.proc.pid) if decide.proc is not None else []
            if not helpers and not sessions and len(workers) <= 4:
                return
            if time.time() > deadline:
                self.fail("left behind after the run: helpers %s, sshd children %s, "
                          "service workers %d" % (helpers, sessions, len(workers)))
            time.sleep(0.2)

    def _check_logs(self, sshd, records):
        text = sshd.log_text()
        # sshd (misc.c exited_cleanly) logs a helper killed by a signal or
        # exiting non-zero: a denial is exit 0 with nothing printed.
        bad = [l for l in text.splitlines()
               if re.search(r"AuthorizedPrincipalsCommand.*(exited on signal|failed, status)", l)
               or "fatal" in l.lower()]
        self.assertFalse(bad, "helper crashes or failures in sshd's log: %s" % bad[:5])
        bad = [r for r in records
               if re.search(r"internal error|took longer than|no complete answer|malformed answer|no answer from|"
                            r"fork failed|policy error", r)]
        self.assertFalse(bad, "errors logged during the run: %s" % bad[:5])

    def test_fallback(self):
        self._run("fallback")

    def test_service(self):
        self._run("service")


# --------------------------------------------------------------------------

def library_dir():
    """The directory (links resolved) holding this system's glibc NSS
    modules, e.g. /usr/lib/x86_64-linux-gnu; None if not found."""
    arch = sysconfig.get_config_var("MULTIARCH") or ""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        path = line.split("=>")[-1].strip()
        if line.strip().startswith("libnss_files.so.2") and arch in path:
            return os.path.dirname(os.path.realpath(path))
    return None


def nss_skip_reason():
    if SKIP or NO_BINARY:
        return SKIP or NO_BINARY
    for tool in ("unshare", "setpriv", "cc"):
        if shutil.which(tool) is None:
            return "missing %s (util-linux, gcc)" % tool
    if library_dir() is None:
        return "cannot find glibc's libnss_files.so.2"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return "cannot create a mount namespace: " + probe.stderr.strip()
    return None


NSS_SKIP = nss_skip_reason()
HANG_TIMEOUT = 1  # --timeout given to the helper, seconds


@unittest.skipIf(NSS_SKIP, NSS_SKIP)
class NssHangTest(h.SshdTestCase):
    """A group lookup that never returns. Only the processes started under
    `prefix` (a private mount namespace, gone with its last process) see
    nsswitch.conf's `group: files certgatehang` and the module."""

    @classmethod
    def setUpClass(cls):
        w = cls.w = _World.get()
        cls.tap = w.tap
        nss_dir = os.path.join(w.ws.root, "nss")
        os.mkdir(nss_dir)
        os.chmod(nss_dir, 0o755)
        h.run(["cc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o",
               os.path.join(nss_dir, "libnss_certgatehang.so.2"),
               os.path.join(HERE, "nss_certgatehang.c")])
        conf = os.path.join(w.ws.etc, "nsswitch.conf")
        with open("/etc/nsswitch.conf") as f:
            text = re.sub(r"(?m)^group:.*$", "group: files certgatehang", f.read())
        w.ws.write(conf, text)
        script = ('set -e; mount --bind "$1" /etc/nsswitch.conf; '
                  'mount -t overlay certgatehang -o lowerdir="$2":"$3" "$3"; shift 3; exec "$@"')
        cls.prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                      conf, nss_dir, library_dir()]
        cls.policy = os.path.join(w.ws.etc, "nss.yaml")
        cls.set_policy("group:" + OPS_GROUP)
        # The namespace really hangs: else every case below proves nothing.
        probe = subprocess.run(cls.prefix + ["timeout", "2", "getent", "group", HANG_GROUP],
                               capture_output=True, text=True)
        if probe.returncode != 124:
            raise RuntimeError("the test NSS module does not hang (exit %d): %s" %
                               (probe.returncode, probe.stderr))

    @classmethod
    def set_policy(cls, group_entry):
        w = cls.w
        w.ws.write(cls.policy, policy_text(w, [
            {"name": "alice", "users": [ALICE], "authorities": ["prod"], "principals": ["ops"]},
            {"name": "by-group", "users": [group_entry], "authorities": ["prod"],
             "principals": ["ops"]},
        ]))

    def _start(self, mode):
        self.decide = decide_mode.DecideMode(self.w.ws, BINARY, mode, self.policy, prefix=self.prefix,
                                   name="nss-" + mode)
        self.sshd = h.Sshd(self.w.ws, [
            "AuthorizedKeysFile none",
            "TrustedUserCAKeys " + self.w.trusted,
            principals_command(self.decide, self.policy,
                               ["--timeout", str(HANG_TIMEOUT), "--verbose"]),
            "AuthorizedPrincipalsCommandUser nobody",
            "LoginGraceTime 60",
        ], name="nss-" + mode, prefix=self.prefix).start()

    def _stop(self):
        if self.sshd is not None:
            self.sshd.stop()
        if self.decide is not None:
            self.decide.stop()
        self.set_policy("group:" + OPS_GROUP)
        deadline = time.time() + 10
        while processes_mentioning(self.w.ws.bin) and time.time() < deadline:
            time.sleep(0.1)
        self.assertFalse(processes_mentioning(self.w.ws.bin), "processes left behind")

    def _refused_promptly(self, login, cert_key):
        start = time.time()
        self.assertLoginDenied(login, cert_key, reason=r"took longer than %ds" % HANG_TIMEOUT)
        elapsed = time.time() - start
        # sshd asks twice per login: two timeouts plus the login itself,
        # well before LoginGraceTime (60 s).
        self.assertLess(elapsed, 2 * HANG_TIMEOUT + 8, "login refused only after %.1fs" % elapsed)

    def _direct(self, login, key):
        """The installed client run as sshd runs it (as nobody, sshd's
        environment) inside the namespace: exit 1, nothing printed, in time."""
        t, k = h.Keys.cert_parts(key)
        nobody = h.pwd.getpwnam("nobody")
        argv = self.prefix + ["setpriv", "--reuid=%d" % nobody.pw_uid,
                              "--regid=%d" % nobody.pw_gid, "--clear-groups",
                              self.w.bin] + self.decide.args + [
            "--policy", self.policy, "--timeout", str(HANG_TIMEOUT), login, t, k]
        start = time.time()
        r = subprocess.run(argv, env=dict(h.SSHD_ENV), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=30, cwd="/")
        elapsed = time.time() - start
        self.assertEqual(r.stdout, "", "a principal was printed: " + r.stderr)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertLess(elapsed, HANG_TIMEOUT + 3, "took %.1fs" % elapsed)

    def _cases(self, mode):
        self.decide = self.sshd = None
        try:
            self._start(mode)
            key = self.w.keys.user_with_cert(self.w.ca_prod, principals=["ops"])
            # Control: the module answers "not found" at once for others.
            self.assertLoginOK(BOB, key)
            # getgrouplist() of the user hangs (the group itself is in files).
            self._refused_promptly(HANG_USER, key)
            self._direct(HANG_USER, key)
            # getgrnam() of the group hangs.
            self.set_policy("group:" + HANG_GROUP)
            self._refused_promptly(BOB, key)
            self._direct(BOB, key)
        finally:
            self._stop()

    def test_fallback(self):
        self._cases("fallback")

    def test_service(self):
        self._cases("service")


def tearDownModule():
    _World.teardown()


if __name__ == "__main__":
    h.run_main()
