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
  CommandLineTest       certgate-decide's own usage errors (exit 1, one line
                        on stderr, nothing served); --run KIND runs that
                        helper with the words after KIND as they are

The service binding its own socket is test_decide_own_socket.py's.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sshd_harness as h  # noqa: E402
from decide_fixture import ALICE, DecideWorld, Notifications, policy_text  # noqa: E402

BINARY = DecideWorld.binary = h.parse_binary_arg("--binary", "CERTGATE_PRINCIPALS_CMD")
SKIP = h.skip_reason()
NO_BINARY = h.missing_binary(BINARY, "principals-cmd", "CERTGATE_PRINCIPALS_CMD")
# The watchdog period handed to the service: it must ping 4 times per period.
WATCHDOG_USEC = 400000


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
        w = cls.w = DecideWorld.get()
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
        w = DecideWorld.get()
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
        return subprocess.run([DecideWorld.get().decide_bin] + list(args), capture_output=True, text=True, timeout=30)

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
        w = DecideWorld.get()
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


def tearDownModule():
    DecideWorld.teardown()


if __name__ == "__main__":
    h.run_main()
