#!/usr/bin/env python3
"""certgate-decide started without systemd, binding --socket itself, end
to end (as root).

Run:  python3 tests/integration/test_decide_own_socket.py --binary PATH/principals-cmd
(ctest passes the built client; certgate-decide is taken from beside it).

  OwnSocketTest         a stale socket replaced, a live one or a file left
                        alone, services started together over a stale
                        socket leave exactly one serving, a lock held on
                        PATH.lock (root's, 0600) is given up after 10 s;
                        SIGUSR1's stats count the workers that serve
  StalledJournalTest    a worker stuck logging a usage error (journald
                        stalled: a stand-in that does not read) is killed
                        and logged with CERTGATE_REASON=answer-timeout

Readiness comes on a NOTIFY_SOCKET stand-in, as in test_decide_service.py.
"""

import errno
import fcntl
import os
import pwd
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
from decide_fixture import DecideWorld, Notifications, policy_text  # noqa: E402

BINARY = DecideWorld.binary = h.parse_binary_arg("--binary", "CERTGATE_PRINCIPALS_CMD")
SKIP = h.skip_reason()
NO_BINARY = h.missing_binary(BINARY, "principals-cmd", "CERTGATE_PRINCIPALS_CMD")


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
        self.w = DecideWorld.get()
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

    def test_only_root_and_the_command_users_group_can_connect(self):
        # The audit's case: with a socket of mode 0666, another local user
        # kept its listen backlog full (connections the service declines at
        # once, made faster than it accepts them), so the command user's
        # connect() failed with EAGAIN and every login decided in-process.
        # The socket is root:(the --client-user's group) 0660 now.
        self.start()
        self.assertEqual(len(self.settle()), 1, self.services[0].log_text())
        pw = pwd.getpwnam(h.COMMAND_USER)
        st = os.lstat(self.path)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, pw.pw_gid, 0o660))
        for uid, gid, expected in ((pw.pw_uid, pw.pw_gid, 0), (54321, 54321, errno.EACCES)):
            pid = os.fork()
            if pid == 0:  # the child: connect as that user, exit with errno
                code = 0
                try:
                    os.setgroups([])
                    os.setgid(gid)
                    os.setuid(uid)
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(self.path)
                except OSError as e:
                    code = e.errno or 99
                finally:
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), expected, uid)

    def test_a_lock_file_another_user_could_open_is_refused(self):
        # The audit's case: with --socket in a directory others may write,
        # another user made PATH.lock first (mode 0666, theirs) and held it,
        # and the service waited 10 s, blaming "another process". Such a
        # lock file is refused at once, saying what is wrong.
        lock = self.path + ".lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chown(lock, 65534, 65534)
        os.chmod(lock, 0o666)
        self.stale_socket()
        self.start()
        self.assertEqual(self.services[0].proc.wait(5), 1)
        self.assertIn("cannot listen on %s: lock file %s: owned by uid 65534, not 0: another user could hold "
                      "the lock and stop certgate-decide from starting; chown root:root and chmod 600 it, or "
                      "remove it" % (self.path, lock), self.services[0].log_text())
        self.assertTrue(stat.S_ISSOCK(os.lstat(self.path).st_mode))  # the stale socket, untouched

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
        self.w = DecideWorld.get()
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
    DecideWorld.teardown()


if __name__ == "__main__":
    h.run_main()
