#!/usr/bin/env python3
"""certgate-decide started the way systemd starts it, end to end (as root).

Run:  python3 tests/integration/test_decide_service.py --binary PATH/principals-cmd
(ctest passes the built client; certgate-decide is taken from beside it).

There is no systemd as PID 1 here, so the test plays its part with the
same protocol systemd speaks (sd_listen_fds(3), sd_notify(3)):
certgate-decide.socket's listening socket handed over as fd 3 with
LISTEN_FDS/LISTEN_PID, and a NOTIFY_SOCKET datagram socket with
WATCHDOG_USEC, whose messages are read with the sender's credentials (as
systemd does for NotifyAccess=main). Everything else is real: the client,
the service, sshd and ssh.

  SocketActivationTest  logins through real sshd answered by the service on
                        the socket it was handed; READY=1 once the policy is
                        loaded, STATUS= following every reload (rules, or
                        the unusable policy's FILE:LINE:COLUMN issue),
                        WATCHDOG=1 pings sent only by the main process;
                        two sockets handed over is a start-up error
  StartingServiceTest   a SIGHUP while the policy still loads does no harm
  OwnSocketTest         without systemd, --socket bound by the service: a
                        stale socket replaced, a live one or a file left
                        alone, services started together over a stale
                        socket leave exactly one serving, a lock held on
                        PATH.lock (root's, 0600) is given up after 10 s;
                        SIGUSR1's stats count the workers that serve
  CommandLineTest       certgate-decide's own usage errors (exit 1, one line
                        on stderr, nothing served); --run KIND runs that
                        helper with the words after KIND as they are
  StalledJournalTest    a worker stuck logging a usage error (journald
                        stalled: a stand-in that does not read) is killed
                        and logged with CERTGATE_REASON=answer-timeout
"""

import fcntl
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sshd_harness as h  # noqa: E402

PREFIX = "cgd"  # users and groups of this file
ALICE = PREFIX + "_alice"

BINARY = h.parse_binary_arg("--binary", "CERTGATE_PRINCIPALS_CMD")
SKIP = h.skip_reason()
NO_BINARY = None if BINARY and os.access(BINARY, os.X_OK) else (
    "principals-cmd binary not found (pass --binary PATH or set CERTGATE_PRINCIPALS_CMD)")
# The watchdog period handed to the service: it must ping 4 times per period.
WATCHDOG_USEC = 400000


class _World(h.World):
    TAG = "d"

    @classmethod
    def populate(cls):
        cls.users.user(ALICE)
        cls.ca_prod = cls.keys.make_key("ca-prod")
        cls.trusted = cls.ws.write(os.path.join(cls.ws.etc, "trusted_user_ca_keys"),
                                   h.Keys.pub_line(cls.ca_prod) + "\n")
        cls.bin = cls.ws.install(BINARY, "principals-cmd")
        cls.decide_bin = cls.ws.install(
            os.path.join(os.path.dirname(os.path.realpath(BINARY)), "certgate-decide"),
            "certgate-decide")
        cls.run_dir = os.path.join(cls.ws.root, "run")
        os.makedirs(cls.run_dir, mode=0o755, exist_ok=True)
        os.chmod(cls.run_dir, 0o755)


def policy_text(w, principals=("ops",)):
    return h.policy_yaml({
        "version": 1,
        "authorities": {"prod": {"keys": [h.Keys.pub_line(w.ca_prod) + " prod-ca"]}},
        "rules": [{"users": [ALICE], "authorities": ["prod"], "principals": list(principals)}],
    })


class Notifications:
    """A stand-in for systemd's notify socket: every datagram with the pid
    that sent it (SCM_CREDENTIALS)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.got = []  # (pid, text)

    def _receive(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return False
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, _, _ = struct.unpack("iII", payload[:12])
        self.got.append((pid, data.decode("utf-8", "replace")))
        return True

    def wait_for(self, pattern, timeout=10):
        """The first message (from the start) matching |pattern|, waiting up
        to |timeout| seconds for it; None if none came."""
        deadline = time.time() + timeout
        while True:
            for pid, text in self.got:
                if re.search(pattern, text):
                    return pid, text
            left = deadline - time.time()
            if left <= 0 or not self._receive(left):
                return None

    def drain(self, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            self._receive(deadline - time.time())

    def close(self):
        self.sock.close()


class ActivatedService:
    """certgate-decide started as certgate-decide.service would be: its
    listening socket (made here, as PID 1 makes certgate-decide.socket's)
    handed over as fd 3, LISTEN_FDS/LISTEN_PID and NOTIFY_SOCKET and
    WATCHDOG_USEC set."""

    def __init__(self, w, name, policy, sockets=1):
        self.socket_path = os.path.join(w.run_dir, name + ".sock")
        self.log = os.path.join(w.ws.root, name + ".log")
        self.notify = Notifications(os.path.join(w.run_dir, name + ".notify"))
        self.listeners = []
        for i in range(sockets):
            path = self.socket_path if i == 0 else "%s.%d" % (self.socket_path, i)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            os.chmod(path, 0o666)
            s.listen(128)
            self.listeners.append(s)
        # The shell moves the sockets to fd 3, 4, ... and sets LISTEN_PID to
        # its own pid, which exec keeps.
        moves = " ".join("%d<&%d %d<&-" % (3 + i, s.fileno(), s.fileno())
                         for i, s in enumerate(self.listeners))
        env = {"PATH": "/usr/bin:/bin", "LISTEN_FDS": str(sockets),
               "NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", 'exec %s; export LISTEN_PID=$$; exec "$0" "$@"' % moves,
                 w.decide_bin, "--policy", policy, "--client-user", h.COMMAND_USER, "--verbose"],
                env=env, pass_fds=[s.fileno() for s in self.listeners],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/")

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def requests_served(self):
        return h.service_requests_served(self.proc, self.log)

    def stop(self):
        h.stop_process(self.proc)
        for s in self.listeners:
            s.close()
        self.notify.close()


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class SocketActivationTest(h.SshdTestCase):

    @classmethod
    def setUpClass(cls):
        w = cls.w = _World.get()
        cls.ws, cls.tap = w.ws, w.tap
        cls.policy = os.path.join(w.ws.etc, "policy.yaml")
        w.ws.write(cls.policy, policy_text(w))
        cls.service = ActivatedService(w, "activated", cls.policy)
        # The client is pointed at the handed-over socket and must be served
        # there: --socket names it, and nothing else listens on it.
        cls.sshd = h.Sshd(w.ws, [
            "AuthorizedKeysFile none",
            "TrustedUserCAKeys " + w.trusted,
            "AuthorizedPrincipalsCommand %s --socket %s --policy %s %%u %%t %%k" % (
                w.bin, cls.service.socket_path, cls.policy),
            "AuthorizedPrincipalsCommandUser " + h.COMMAND_USER,
        ], log_level="VERBOSE", name="sshd-activated").start()

    @classmethod
    def tearDownClass(cls):
        cls.sshd.stop()
        cls.service.stop()

    def test_ready_once_the_policy_is_loaded(self):
        n = self.service.notify
        got = n.wait_for(r"(^|\n)READY=1(\n|$)")
        self.assertIsNotNone(got, "no READY=1; log:\n" + self.service.log_text())
        pid, text = got
        self.assertEqual(pid, self.service.proc.pid)
        self.assertRegex(text, r"(^|\n)STATUS=policy %s: 1 rules(\n|$)" % re.escape(self.policy))
        self.assertEqual(sum(1 for _, t in n.got if re.search(r"(^|\n)READY=1", t)), 1)

    def test_login_served_on_the_handed_over_socket(self):
        self.assertIsNotNone(self.service.notify.wait_for(r"READY=1"))
        before = self.service.requests_served()
        self.assertIsNotNone(before, "the service did not report; log:\n" + self.service.log_text())
        key = self.w.keys.user_with_cert(self.w.ca_prod, principals=["ops"])
        self.assertLoginOK(ALICE, key)
        wrong = self.w.keys.user_with_cert(self.w.ca_prod, principals=["dev"])
        self.assertLoginDenied(ALICE, wrong)
        # sshd asks principals-cmd at least once per login attempt.
        self.assertGreaterEqual(self.service.requests_served(), before + 2)

    def test_watchdog_pings_from_the_main_process_only(self):
        n = self.service.notify
        self.assertIsNotNone(n.wait_for(r"READY=1"))
        # Requests make workers run (and fork more) meanwhile: none of them
        # may send anything (systemd would ignore it: NotifyAccess=main).
        key = self.w.keys.user_with_cert(self.w.ca_prod, principals=["ops"])
        self.assertLoginOK(ALICE, key)
        start = len(n.got)
        n.drain(WATCHDOG_USEC / 1e6 * 3)
        pings = [pid for pid, text in n.got[start:] if re.search(r"(^|\n)WATCHDOG=1(\n|$)", text)]
        # Every WATCHDOG_USEC/4 (100 ms) for 1.2 s: at least a few, even on
        # a loaded machine; the period itself is not asserted.
        self.assertGreaterEqual(len(pings), 3, n.got[start:])
        self.assertEqual({pid for pid, _ in n.got}, {self.service.proc.pid}, n.got)

    def test_status_follows_reloads(self):
        n = self.service.notify
        self.assertIsNotNone(n.wait_for(r"READY=1"))
        try:
            self.w.ws.write(self.policy, policy_text(self.w).replace("version: 1", "version: 7"))
            got = n.wait_for(r"STATUS=policy .* is unusable", timeout=15)
            self.assertIsNotNone(got, "no STATUS for the broken policy; log:\n" + self.service.log_text())
            self.assertRegex(got[1], r"is unusable, every login is denied: %s:\d+:\d+: " %
                             re.escape(self.policy))
        finally:
            self.w.ws.write(self.policy, policy_text(self.w))
        start = len(n.got)
        deadline = time.time() + 15
        while time.time() < deadline and not any(
                re.search(r"STATUS=policy %s: 1 rules" % re.escape(self.policy), t) for _, t in n.got[start:]):
            n.drain(0.2)
        self.assertTrue(any(re.search(r"STATUS=policy %s: 1 rules" % re.escape(self.policy), t)
                            for _, t in n.got[start:]), n.got[start:])


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class MisconfiguredActivationTest(unittest.TestCase):

    def test_two_sockets_is_a_start_up_error(self):
        w = _World.get()
        policy = os.path.join(w.ws.etc, "two.yaml")
        w.ws.write(policy, policy_text(w))
        service = ActivatedService(w, "two", policy, sockets=2)
        try:
            self.assertEqual(service.proc.wait(10), 1)
            self.assertIn("got 2 sockets from systemd, expected 1; fix certgate-decide.socket",
                          service.log_text())
            self.assertIsNone(service.notify.wait_for(r"READY=1", timeout=0.2))
        finally:
            service.stop()


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class CommandLineTest(unittest.TestCase):

    def run_decide(self, *args):
        return subprocess.run([_World.get().decide_bin] + list(args), capture_output=True, text=True, timeout=30)

    def test_usage_errors_name_the_word_and_serve_nothing(self):
        for args, why in (
                (["--policy", "policy.yaml"], "--policy needs an absolute path"),
                (["--socket=run.sock"], "--socket needs an absolute path"),
                (["--max-children", "0"], "--max-children must be 1 to 4096"),
                (["--max-children", "8x"], '--max-children needs a whole number, not "8x"'),
                (["--policy", "/p.yaml", "--policy=/p.yaml"], "--policy is given twice; give it once"),
                (["--verbose", "serve"], "unknown argument serve"),
                (["--socket", "/run/x.sock", "--run", "keys-cmd"],
                 "--run must come first: certgate-decide --run principals-cmd|keys-cmd [HELPER-ARGS...]"),
                (["--run"], "--run needs principals-cmd or keys-cmd"),
                (["--run", "sshd", "alice"], "--run needs principals-cmd or keys-cmd, not sshd")):
            r = self.run_decide(*args)
            self.assertEqual((r.returncode, r.stdout, r.stderr),
                             (1, "", "certgate-decide: %s (see --help)\n" % why), args)

    def test_run_hands_the_rest_to_the_helper(self):
        # What follows KIND is the helper's, even words certgate-decide
        # itself would refuse.
        r = self.run_decide("--run", "keys-cmd", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("Usage: keys-cmd "), r.stdout)
        r = self.run_decide("--run", "principals-cmd", "--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^principals-cmd \(certgate\) ")
        r = self.run_decide("--run", "principals-cmd", "--max-children", "0")
        self.assertEqual((r.returncode, r.stdout), (1, ""), r.stderr)
        self.assertIn("unknown option --max-children", r.stderr)


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class StartingServiceTest(unittest.TestCase):

    def test_sighup_while_starting_does_no_harm(self):
        # A reload (ExecReload= sends SIGHUP) can come while the service
        # still loads its policy: it must not kill it. A large policy makes
        # the start-up long enough to be hit.
        w = _World.get()
        policy = os.path.join(w.ws.etc, "large.yaml")
        rules = [{"users": ["user%d" % i], "authorities": ["prod"], "principals": ["p%d" % i]}
                 for i in range(50000)]
        rules.append({"users": [ALICE], "authorities": ["prod"], "principals": ["ops"]})
        w.ws.write(policy, h.policy_yaml({
            "version": 1,
            "authorities": {"prod": {"keys": [h.Keys.pub_line(w.ca_prod) + " prod-ca"]}},
            "rules": rules,
        }))
        service = ActivatedService(w, "hup", policy)
        try:
            # Before main() no program can take a signal over: wait until
            # the service has (SIGHUP ignored or caught, in
            # /proc/PID/status), which must be before it is ready.
            hup_bit = 1 << (signal.SIGHUP - 1)
            deadline = time.time() + 10
            while time.time() < deadline and service.proc.poll() is None:
                try:
                    with open("/proc/%d/status" % service.proc.pid) as f:
                        masks = dict(line.split(":\t", 1) for line in f if line.startswith("Sig"))
                except OSError:
                    break
                if (int(masks["SigIgn"], 16) | int(masks["SigCgt"], 16)) & hup_bit:
                    break
                time.sleep(0.001)
            self.assertIsNone(service.notify.wait_for(r"READY=1", timeout=0.05),
                              "SIGHUP was left to its default action until the service was ready")
            sent = 0
            while service.proc.poll() is None and service.notify.wait_for(r"READY=1", timeout=0.01) is None:
                os.kill(service.proc.pid, signal.SIGHUP)
                sent += 1
            self.assertIsNone(service.proc.poll(), "SIGHUP while starting stopped the service (%d sent); log:\n%s"
                              % (sent, service.log_text()))
            self.assertGreater(sent, 0)
            self.assertIsNotNone(service.notify.wait_for(r"READY=1", timeout=0))
        finally:
            service.stop()


class OwnSocketService:
    """certgate-decide started without systemd's socket: it binds --socket
    itself (a stale socket of an earlier run is replaced, a live one or any
    other file is not). Readiness comes on |notify|, shared by services
    started together."""

    def __init__(self, w, socket_path, policy, notify, name):
        self.log = os.path.join(w.ws.root, name + ".log")
        env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": notify.path}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [w.decide_bin, "--socket", socket_path, "--policy", policy,
                 "--client-user", h.COMMAND_USER, "--verbose"],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/")

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class OwnSocketTest(unittest.TestCase):

    def setUp(self):
        self.w = _World.get()
        self.policy = os.path.join(self.w.ws.etc, "own.yaml")
        self.w.ws.write(self.policy, policy_text(self.w))
        self.path = os.path.join(self.w.run_dir, "own.sock")
        self.notify = Notifications(os.path.join(self.w.run_dir, "own.notify"))
        self.services = []
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        for s in self.services:
            h.stop_process(s.proc)
        self.notify.close()
        for path in (self.path, self.path + ".lock", self.notify.path):
            if os.path.lexists(path):
                os.unlink(path)

    def start(self, n=1):
        for _ in range(n):
            self.services.append(OwnSocketService(self.w, self.path, self.policy, self.notify,
                                                  "own%d" % len(self.services)))

    def settle(self, timeout=10):
        """Waits until every service has either exited or said READY=1;
        returns the ones still running."""
        deadline = time.time() + timeout
        while True:
            ready = {pid for pid, text in self.notify.got if "READY=1" in text}
            running = [s for s in self.services if s.proc.poll() is None]
            if all(s.proc.pid in ready for s in running):
                return running
            if time.time() > deadline:
                self.fail("a service neither exited nor became ready in %ds" % timeout)
            self.notify.drain(0.05)

    def stale_socket(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.close()  # the file stays, nothing listens: a crashed run's

    def assert_served(self):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.connect(self.path)
        finally:
            c.close()

    def test_a_stale_socket_is_replaced(self):
        self.stale_socket()
        self.start()
        self.assertEqual(len(self.settle()), 1, self.services[0].log_text())
        self.assert_served()

    def stats(self, service):
        """The stats line SIGUSR1 makes |service| log (within 5 s), or None."""
        size = os.path.getsize(service.log)
        service.proc.send_signal(signal.SIGUSR1)
        deadline = time.time() + 5
        while time.time() < deadline:
            with open(service.log, errors="replace") as f:
                f.seek(size)
                m = re.search(r"stats: .*", f.read())
            if m:
                return m.group(0)
            time.sleep(0.02)
        return None

    def test_stats_count_the_workers_that_serve(self):
        # The largest worker's peak RSS is of the workers serving too, not
        # only of those that exited: here none has, and it said 0 KiB.
        self.start()
        self.assertEqual(len(self.settle()), 1, self.services[0].log_text())
        deadline = time.time() + 10
        while True:
            line = self.stats(self.services[0])
            self.assertIsNotNone(line, self.services[0].log_text())
            m = re.search(r"peak RSS (\d+) KiB \(service\), (\d+) KiB \(largest worker\), .*; (\d+) workers", line)
            self.assertIsNotNone(m, line)
            if int(m.group(3)) > 0 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertGreater(int(m.group(3)), 0, line)
        self.assertGreater(int(m.group(2)), 0, line)
        self.assertGreater(int(m.group(1)), 0, line)

    def test_a_socket_another_process_listens_on_is_left_to_it(self):
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        other.bind(self.path)
        other.listen(1)
        self.addCleanup(other.close)
        inode = os.lstat(self.path).st_ino
        self.start()
        self.assertEqual(self.services[0].proc.wait(10), 1)
        self.assertIn("cannot listen on %s: a process is listening on it (another certgate-decide?); "
                      "stop that one first, or use another --socket" % self.path, self.services[0].log_text())
        self.assertEqual(os.lstat(self.path).st_ino, inode)

    def test_a_file_that_is_not_a_socket_is_left_alone(self):
        with open(self.path, "w") as f:
            f.write("not a socket\n")
        self.start()
        self.assertEqual(self.services[0].proc.wait(10), 1)
        self.assertIn("cannot listen on %s: exists and is not a socket; remove it or use another --socket"
                      % self.path, self.services[0].log_text())
        with open(self.path) as f:
            self.assertEqual(f.read(), "not a socket\n")

    def test_a_lock_held_is_not_waited_for_without_end(self):
        lock = self.path + ".lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.stale_socket()
        self.start()
        self.assertEqual(self.services[0].proc.wait(30), 1)
        self.assertIn("cannot listen on %s: another process has held %s locked for 10 seconds; "
                      "find it with lslocks, or use another --socket" % (self.path, lock),
                      self.services[0].log_text())
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.path).st_mode))  # the stale socket, untouched

    def test_the_lock_file_is_roots_alone(self):
        # Nobody else can open it, so nobody else can hold the lock (the
        # directory itself may be read by anyone).
        self.start()
        self.assertEqual(len(self.settle()), 1, self.services[0].log_text())
        st = os.lstat(self.path + ".lock")
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600))

    def test_services_started_together_over_a_stale_socket_leave_one_serving(self):
        # Each sees the stale socket; were the check and the replacement not
        # made under one lock, a later one could unlink the socket an earlier
        # one just bound, and two would run, one of them unreachable.
        for round_ in range(10):
            self.stale_socket()
            self.start(6)
            running = self.settle()
            logs = "\n".join(s.log_text() for s in self.services)
            self.assertEqual(len(running), 1, "round %d: %d services running; logs:\n%s"
                             % (round_, len(running), logs))
            for s in self.services:
                if s not in running:
                    self.assertEqual(s.proc.returncode, 1, logs)
                    self.assertIn("a process is listening on it", s.log_text())
            self.assert_served()
            for s in self.services:
                h.stop_process(s.proc)
            self.services = []
            self.notify.got = []
            if os.path.lexists(self.path):
                os.unlink(self.path)



class StalledJournal:
    """A stand-in for journald's /run/systemd/journal/socket that reads only
    when asked: between reads its queue can be filled, so that every record
    sent to it blocks its sender, as a stalled journald does."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, mode=0o755, exist_ok=True)
        self.path = os.path.join(directory, "socket")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.got = []

    def fill(self):
        """Queues filler datagrams until the queue is full (net.unix.
        max_dgram_qlen): the next sender blocks."""
        fillers = []
        try:
            while True:
                f = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                fillers.append(f)
                try:
                    while True:
                        f.sendto(b"FILLER=1\n", socket.MSG_DONTWAIT, self.path)
                except BlockingIOError:
                    pass
                # A fresh sender refused at once: the receiver's queue is
                # full, not just this sender's buffer.
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                fillers.append(probe)
                try:
                    probe.sendto(b"FILLER=1\n", socket.MSG_DONTWAIT, self.path)
                except BlockingIOError:
                    return
        finally:
            for f in fillers:
                f.close()

    def drain(self, seconds):
        """Reads every record that comes within |seconds|."""
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return
            if not data.startswith(b"FILLER="):
                self.got.append(data.decode("utf-8", "replace"))

    def records_with(self, line):
        return [r for r in self.got if line in r.split("\n")]

    def close(self):
        self.sock.close()


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
@unittest.skipUnless(os.path.isdir("/run/systemd"), "no /run/systemd to mount the journal stand-in on")
@unittest.skipUnless(subprocess.run(["unshare", "--mount", "true"], stderr=subprocess.DEVNULL).returncode == 0
                     if not SKIP else True, "cannot make a mount namespace (unshare --mount)")
class StalledJournalTest(unittest.TestCase):
    """A worker stuck sending a usage error's record (journald stalled) is
    killed 10 s after the request came, and the service logs it with
    CERTGATE_REASON=answer-timeout and the client's ids. The service runs in
    a mount namespace of its own where the stand-in stands at journald's
    socket."""

    def setUp(self):
        self.w = _World.get()
        self.policy = os.path.join(self.w.ws.etc, "stalled.yaml")
        self.w.ws.write(self.policy, policy_text(self.w))
        self.path = os.path.join(self.w.run_dir, "stalled.sock")
        self.notify = Notifications(os.path.join(self.w.run_dir, "stalled.notify"))
        self.journal = StalledJournal(os.path.join(self.w.run_dir, "journal"))
        self.log = os.path.join(self.w.ws.root, "stalled.log")
        self.proc = None
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        if self.proc is not None:
            self.journal.drain(0.1)  # a service blocked in a send gets through to SIGTERM
            h.stop_process(self.proc)
        self.notify.close()
        self.journal.close()
        for path in (self.path, self.path + ".lock", self.notify.path, self.journal.path):
            if os.path.lexists(path):
                os.unlink(path)

    def start(self):
        # Bind the stand-in's directory over /run/systemd/journal, made in a
        # tmpfs over /run/systemd where this host has no journald: only in
        # the service's namespace, nothing changes outside it.
        script = ('set -e; if [ ! -d /run/systemd/journal ]; then mount -t tmpfs -o mode=0755 cgtest /run/systemd; '
                  'mkdir /run/systemd/journal; fi; mount --bind "$0" /run/systemd/journal; exec "$@"')
        env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "NOTIFY_SOCKET": self.notify.path}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, self.journal.dir,
                 self.w.decide_bin, "--socket", self.path, "--policy", self.policy,
                 "--client-user", h.COMMAND_USER, "--verbose"],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/")
        ready = self.notify.wait_for("READY=1", timeout=15)
        self.assertIsNotNone(ready, self.log_text())

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def request(self, args):
        body = b"".join(struct.pack(">I", len(a)) + a for a in args)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(self.path)
        c.sendall(b"CGQ1" + struct.pack(">BBH", 0, 0, len(args)) + body)
        c.shutdown(socket.SHUT_WR)  # the request ends here, as the clients end theirs
        return c

    def test_a_worker_stuck_logging_a_usage_error_is_killed_and_logged(self):
        self.start()
        # The stand-in is journald for the service: its start-up record came.
        self.journal.drain(1)
        self.assertTrue(self.journal.records_with("CERTGATE_PROGRAM=certgate-decide"), self.journal.got)
        self.journal.got = []
        self.journal.fill()
        c = self.request([b"--no-such-option"])
        c.settimeout(30)
        # Nothing: the worker, stuck, is killed and the connection closed (a
        # worker that got its record through would answer the usage error).
        answer = c.recv(4096)
        c.close()
        self.assertEqual(answer, b"")
        self.journal.drain(5)
        records = self.journal.records_with("CERTGATE_REASON=answer-timeout")
        self.assertEqual(len(records), 1, "%s\nservice: %s" % (self.journal.got, self.log_text()))
        fields = records[0].split("\n")
        self.assertIn("CERTGATE_PROGRAM=certgate-decide", fields)
        self.assertIn("PRIORITY=3", fields)
        message = [f for f in fields if f.startswith("MESSAGE=")][0]
        self.assertIn("pid %d, uid 0" % os.getpid(), message)
        self.assertRegex(message, r"answered without a decision \(a usage error, or declined\) was not answered "
                                  r"within 10s \(worker \d+ killed \d+ ms past it; a stalled journal or "
                                  r"client\?\); the client denies$")
        # The service goes on: the next request is answered (the usage error).
        c = self.request([b"--no-such-option"])
        c.settimeout(10)
        self.assertTrue(c.recv(4096).startswith(b"CGA1"))
        c.close()


def tearDownModule():
    _World.teardown()


if __name__ == "__main__":
    h.run_main()
