#!/usr/bin/env python3
"""Hostile policy files against the helpers, end to end (as root).

Run:  python3 tests/integration/test_hostile_policy.py --binary PATH/principals-cmd
(ctest passes the built binary; $CERTGATE_PRINCIPALS_CMD works too).

  HostilePolicyTest hostile policy files (huge, deeply nested, alias bombs,
                    bad bytes, overlong lines, 100,000 fragments): `--check`
                    names FILE:LINE:COLUMN and a real decision denies, each
                    within bounded time and memory, in-process and through
                    a certgate-decide service
"""

import os
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decide_mode  # noqa: E402
import sshd_harness as h  # noqa: E402

ALICE = "cgh_alice"  # the one user of this file

BINARY = h.parse_binary_arg("--binary", "CERTGATE_PRINCIPALS_CMD")
SKIP = h.skip_reason()
NO_BINARY = h.missing_binary(BINARY, "principals-cmd", "CERTGATE_PRINCIPALS_CMD")


class _World(h.World):
    """A user, a CA and the installed client."""
    TAG = "h"

    @classmethod
    def populate(cls):
        cls.users.user(ALICE)
        cls.ca_prod = cls.keys.make_key("ca-prod")
        cls.bin = cls.ws.install(BINARY, "principals-cmd")


def policy_text(w, rules):
    return h.policy_yaml({
        "version": 1,
        "authorities": {"prod": {"keys": [h.Keys.pub_line(w.ca_prod) + " prod-ca"]}},
        "rules": rules,
    })


LIMIT_SECONDS = 10          # per run of a helper on one hostile policy
LIMIT_KIB = 256 * 1024      # peak RSS of that run


# Forks and execs argv from a fresh, small interpreter and reports the
# child's own rusage: a child forked from this (large) test process would
# carry our resident size in its ru_maxrss. The launcher's ~10 MB are thus
# the only part of a measurement that is not the helper's.
_LAUNCHER = """
import os, resource, sys  # resource: os.wait4 needs it, load it before setuid
if sys.argv[1] != "-":
    os.setgroups([])
    os.setgid(int(sys.argv[2]))
    os.setuid(int(sys.argv[1]))
os.chdir("/")
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[3], sys.argv[3:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write("\\nCERTGATE-RUSAGE %d %d\\n" % (os.waitstatus_to_exitcode(status), usage.ru_maxrss))
"""


def run_measured(argv, as_nobody=False, timeout=60):
    """Runs argv (sshd's environment, cwd /; as nobody if asked); returns
    (exit status, stdout, stderr, seconds, peak RSS in KiB of that process)."""
    start = time.time()
    pw = h.pwd.getpwnam("nobody")
    ids = [str(pw.pw_uid), str(pw.pw_gid)] if as_nobody else ["-", "-"]
    r = h.run([sys.executable, "-c", _LAUNCHER] + ids + list(argv), env=dict(h.SSHD_ENV),
              check=False, timeout=timeout)
    seconds = time.time() - start
    err, _, last = r.stderr.rstrip("\n").rpartition("\n")
    m = re.match(r"CERTGATE-RUSAGE (-?\d+) (\d+)$", last)
    if not m:
        raise RuntimeError("launcher failed: " + r.stderr)
    return int(m.group(1)), r.stdout, err, seconds, int(m.group(2))


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class HostilePolicyTest(unittest.TestCase):
    """Each hostile policy through the installed client: `--check` (in
    process, as a person runs it) must name FILE:LINE:COLUMN and what to
    do; a real decision with sshd's argv, as nobody, must deny (exit 1,
    nothing printed) or, for a large but valid policy, decide; both in
    LIMIT_SECONDS and LIMIT_KIB. Then the same through a certgate-decide
    service whose policy file is replaced by the hostile one."""

    @classmethod
    def setUpClass(cls):
        w = cls.w = _World.get()
        cls.dir = os.path.join(w.ws.etc, "hostile")
        os.mkdir(cls.dir)
        os.chmod(cls.dir, 0o755)
        cls.key = w.keys.user_with_cert(w.ca_prod, principals=["ops"])
        cls.cert = h.Keys.cert_parts(cls.key)
        cls.head = policy_text(w, []).replace("rules: []\n", "")
        cls.alice_rule = "  - {users: [%s], authorities: [prod], principals: [ops]}\n" % ALICE
        cls.served = os.path.join(cls.dir, "served.yaml")
        w.ws.write(cls.served, cls.head + "rules:\n" + cls.alice_rule)
        cls.service = decide_mode.DecideMode(w.ws, BINARY, "service", cls.served, name="hostile")
        cls.fallback_socket = os.path.join(w.ws.root, "run", "no-such.sock")
        cls.measured = []

    @classmethod
    def tearDownClass(cls):
        cls.service.stop()
        print("\n%-22s %-9s %8s %10s" % ("hostile policy", "run", "seconds", "peak KiB"))
        for row in cls.measured:
            print("%-22s %-9s %8.2f %10d" % row)

    def _decide(self, policy, socket):
        t, k = self.cert
        return run_measured([self.w.bin, "--socket", socket, "--policy", policy, ALICE, t, k],
                            as_nobody=True)

    def _case(self, name, write, issue=None, fragments=None):
        """write(path) makes the policy; issue: regex of the first --check
        line's message (None: a valid policy, which must allow alice);
        fragments: write(dir) makes PATH.d instead of the main file issue."""
        path = os.path.join(self.dir, name + ".yaml")
        self.w.ws.write(path, self.head + "rules:\n" + self.alice_rule)
        write(path)
        try:
            rc, out, err, secs, kib = run_measured([self.w.bin, "--check", "--policy", path])
            self.measured.append((name, "--check", secs, kib))
            if issue is None:
                self.assertEqual((rc, out), (0, "ok\n"), err)
            else:
                self.assertEqual(rc, 1, out + err)
                first = out.splitlines()[0] if out else ""
                where = re.escape(path) + (r"\.d(/[^:]*)?" if fragments else "")
                self.assertRegex(first, r"^%s:\d+:\d+: %s" % (where, issue))
                self.assertLessEqual(len(out.splitlines()), 101, "the report must stay bounded")
            self.assertLess(secs, LIMIT_SECONDS, "%s --check took %.1fs" % (name, secs))
            self.assertLess(kib, LIMIT_KIB, "%s --check used %d KiB" % (name, kib))

            rc, out, err, secs, kib = self._decide(path, self.fallback_socket)
            self.measured.append((name, "decision", secs, kib))
            if issue is None:
                self.assertEqual((rc, out), (0, "ops\n"), err)
            else:
                self.assertEqual((rc, out), (1, ""), "must fail closed: " + err)
            self.assertLess(secs, LIMIT_SECONDS, "%s decision took %.1fs" % (name, secs))
            self.assertLess(kib, LIMIT_KIB, "%s decision used %d KiB" % (name, kib))

            # The service: its policy replaced by this one (renamed in place,
            # as config management does), the next request reloads it. (Its
            # request count is not checked per case; test_service_memory
            # checks it served at all.)
            os.rename(path, self.served)
            if os.path.isdir(path + ".d"):
                os.rename(path + ".d", self.served + ".d")
            try:
                rc, out, err, secs, _ = self._decide(self.served, self.service.socket)
            finally:
                if os.path.isdir(self.served + ".d"):
                    os.rename(self.served + ".d", path + ".d")
                self.w.ws.write(self.served, self.head + "rules:\n" + self.alice_rule)
            self.measured.append((name, "service", secs, 0))
            if issue is None:
                self.assertEqual((rc, out), (0, "ops\n"), err)
            else:
                self.assertEqual((rc, out), (1, ""), "must fail closed: " + err)
            self.assertLess(secs, LIMIT_SECONDS, "%s via the service took %.1fs" % (name, secs))
        finally:
            if os.path.exists(path):
                os.unlink(path)
            shutil.rmtree(path + ".d", ignore_errors=True)

    def test_service_memory(self):
        """Run last (name order): the service and its workers
        stayed within LIMIT_KIB through every hostile reload."""
        self.assertTrue(self.service.requests_served(), "the service answered no request")
        with open("/proc/%d/status" % self.service.proc.pid) as f:
            hwm = int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))
        self.assertLess(hwm, LIMIT_KIB, "the service's peak RSS")
        size = os.path.getsize(self.service.log)
        self.service.requests_served()
        with open(self.service.log, errors="replace") as f:
            f.seek(size)
            m = re.search(r"(\d+) KiB \(largest worker\)", f.read())
        self.assertIsNotNone(m)
        self.assertLess(int(m.group(1)), LIMIT_KIB, "a worker's peak RSS")

    @staticmethod
    def _append(path, text):
        with open(path, "a") as f:
            f.write(text)

    @staticmethod
    def _replace(path, data):
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)

    def test_big_but_valid_50mb(self):
        def write(path):
            rules = "".join("  - {users: [user%d], authorities: [prod], principals: [p]}\n" % i
                            for i in range(100000))
            self._append(path, rules + "# " + "x" * (50 * 1024 * 1024 - len(rules)) + "\n")
        self._case("big-50mb", write)

    def test_million_rules(self):
        def write(path):
            self._append(path, "".join("  - {users: [u%d], authorities: [prod], principals: [p]}\n" % i
                                       for i in range(1000000)))
        self._case("million-rules", write, r"more than 200000 rules")

    def test_over_64mib(self):
        self._case("over-64mib", lambda p: os.truncate(p, 65 * 1024 * 1024),
                   r"file is larger than 67108864 bytes")

    def test_huge_list(self):
        self._case("huge-list", lambda p: self._append(
            p, "  - {authorities: [prod], principals: [p], users: [" + ",".join(["a"] * 10000000) + "]}\n"),
            r"users has more than 10000 items")

    def test_deep_nesting(self):
        self._case("deep-brackets", lambda p: self._replace(p, self.head + "rules: " + "[" * 100000),
                   r"rule must be a mapping")
        self._case("deep-braces", lambda p: self._replace(p, "{" * 100000),
                   r"a key in the policy file must be a plain name")

    def test_alias_bomb(self):
        def write(path):
            text = self.head + "a: &a [" + ",".join(['"lol"'] * 9) + "]\n"
            for i in range(1, 10):
                text += "%s: &%s [%s]\n" % (chr(97 + i), chr(97 + i), ",".join(["*" + chr(96 + i)] * 9))
            self._replace(path, text)
        self._case("alias-bomb", write, r"anchors \(&name\) are not allowed")
        self._case("alias", lambda p: self._append(p, "  - {users: *u, authorities: [prod], principals: [p]}\n"),
                   r"aliases \(\*name\) are not allowed")

    def test_bad_bytes(self):
        self._case("not-utf8", lambda p: self._append(p, "") or self._replace(
            p, (self.head + "rules:\n  - {users: [al").encode() + b"\xff\xfe" + b"], authorities: [prod]}\n"),
            r"YAML syntax error: .*UTF-8.*the file must be UTF-8")
        self._case("nul", lambda p: self._replace(
            p, (self.head + "rules:\n  - {users: [al").encode() + b"\0" + b"ice], authorities: [prod]}\n"),
            r"YAML syntax error: control characters are not allowed")

    def test_overlong_line(self):
        self._case("overlong-line", lambda p: self._append(
            p, "  - {authorities: [prod], principals: [p], users: [" + "a" * (20 * 1024 * 1024) + "]}\n"),
            r"bad pattern .* pattern longer than 1022 bytes")

    def test_100k_fragments(self):
        def write(path):
            os.mkdir(path + ".d", 0o755)
            for i in range(100000):
                with open(os.path.join(path + ".d", "%06d.yaml" % i), "w") as f:
                    f.write("version: 1\n")
        self._case("fragments-100k", write, r"holds 100000 \*\.yaml files, more than 10000", fragments=True)


def tearDownModule():
    _World.teardown()


if __name__ == "__main__":
    h.run_main()
