"""HelperBadInputCases: the bad-input cases principals-cmd and keys-cmd
must both pass when run the way sshd runs them (test_principals_cmd_direct.py
and test_keys_cmd.py mix them into their direct-run tests)."""

import os
import re
import shutil
import socket
import tempfile
import time

import sshd_harness as h


class HelperBadInputCases:
    """Bad-input cases both helpers must pass when run the way sshd runs
    them: nothing on stdout, and exit 1 for usage errors or 0 (a denial)
    for a bad certificate. Mixed into a unittest.TestCase that provides
    helper(*args), cert_args() -> (key, (type, base64)) and login (a user)."""

    def assertNothing(self, r, code):
        self.assertEqual(r.stdout, "", "stdout must be empty; stderr: " + r.stderr)
        self.assertEqual(r.returncode, code, r.stderr)

    def test_help_and_version(self):
        for flag in ("--help", "--version"):
            r = h.run_helper(self.w.bin, [flag])
            self.assertEqual(r.returncode, 0, flag + ": " + r.stderr)
            self.assertTrue(r.stdout.strip(), flag + " prints something")

    def test_missing_args(self):
        self.assertNothing(self.helper(), 1)
        self.assertNothing(self.helper(self.login), 1)
        _, (t, k) = self.cert_args()
        self.assertNothing(self.helper(self.login, t), 1)

    def test_unknown_option(self):
        _, (t, k) = self.cert_args()
        self.assertNothing(self.helper("--frobnicate", self.login, t, k), 1)

    def own_records(self, mark):
        """The syslog records since |mark| of this helper about this test's
        login name: not those of other programs on the machine (a cafetch
        test's), nor those of other runs of the helper (unit tests that run
        at the same time log as principals-cmd too, about alice)."""
        ours = re.compile(r"^<\d+>.* %s\[\d+\]: (allow|deny) %s: " % (
            re.escape(os.path.basename(self.w.bin)), re.escape(self.login)))
        return [r for r in self.w.tap.since(mark) if ours.match(r)]

    def skip_unless_syslog_as_root(self):
        """Skips a test that makes a root-owned socket directory under /run
        and reads the helpers' records from the syslog capture."""
        if os.getuid() != 0:
            self.skipTest("needs root (a root-owned socket directory under /run)")
        if not self.w.tap.available:
            self.skipTest("syslog capture unavailable: " + self.w.tap.why)
        if os.path.exists("/run/systemd/journal/socket"):
            self.skipTest("the helpers log to the journal here, not syslog")

    def test_client_denials_are_logged(self):
        """A denial the client decides before any helper runs (a usage error
        it catches, a service that takes the request and never answers) is
        logged like the helper's own: deny, login name, reason."""
        self.skip_unless_syslog_as_root()
        _, (t, k) = self.cert_args()
        mark = self.w.tap.mark()
        self.assertNothing(h.run_helper_unwrapped(self.w.bin, ["--socket", "decide.sock", self.login, t, k]), 1)
        time.sleep(0.1)
        records = self.own_records(mark)
        self.assertEqual(len(records), 1, records)
        self.assertRegex(records[0], r"^<83>.* \S+\[\d+\]: deny %s: usage error, nothing granted: "
                                     r"--socket needs an absolute path$" % re.escape(self.login))
        mark = self.w.tap.mark()
        self.assertNothing(h.run_helper_unwrapped(self.w.bin, ["--socket", "/run/a.sock", "--socket=/run/b.sock",
                                                             self.login, t, k]), 1)
        time.sleep(0.1)
        records = self.own_records(mark)
        self.assertEqual(len(records), 1, records)
        self.assertRegex(records[0], r"^<83>.* \S+\[\d+\]: deny %s: usage error, nothing granted: "
                                     r"--socket is given twice; give it once$" % re.escape(self.login))

        run_dir = tempfile.mkdtemp(prefix="certgate-hung-", dir="/run")
        try:
            os.chmod(run_dir, 0o755)
            hung = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            path = os.path.join(run_dir, "decide.sock")
            hung.bind(path)
            os.chmod(path, 0o666)
            hung.listen(4)  # connections queue; none is ever answered
            mark = self.w.tap.mark()
            r = h.run_helper_unwrapped(self.w.bin, ["--socket", path, "--timeout", "1", self.login, t, k])
            self.assertNothing(r, 1)
            time.sleep(0.1)
            records = self.own_records(mark)
            self.assertEqual(len(records), 1, records)
            self.assertRegex(records[0], r"^<83>.* \S+\[\d+\]: deny %s: no complete answer from %s in "
                                         r"time; nothing granted$" % (re.escape(self.login), re.escape(path)))
            hung.close()
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)

    def test_a_service_that_cannot_be_asked_is_said(self):
        """A socket that is there but cannot be used (here: nothing listens,
        connect() is refused; the client treats a socket of another group
        and a full backlog the same way) makes the client decide
        in-process, slower: it says so at notice priority, with why, before
        the decision's own record. No socket at all (no service) says
        nothing."""
        self.skip_unless_syslog_as_root()
        _, (t, k) = self.cert_args()
        run_dir = tempfile.mkdtemp(prefix="certgate-refused-", dir="/run")
        try:
            os.chmod(run_dir, 0o755)
            path = os.path.join(run_dir, "decide.sock")
            notice = re.compile(r"^<85>.* %s\[\d+\]: certgate-decide service not used \(%s: connect: "
                                r"Connection refused\); deciding in-process$" % (
                                    re.escape(os.path.basename(self.w.bin)), re.escape(path)))
            for bound in (False, True):
                if bound:
                    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    stale.bind(path)  # bound, never listened on: refused
                    os.chmod(path, 0o666)  # to the command user too
                mark = self.w.tap.mark()
                r = h.run_helper_unwrapped(self.w.bin, ["--socket", path, "--policy", self.policy,
                                                        self.login, t, k])
                time.sleep(0.1)
                self.assertEqual(r.returncode, 0, r.stderr)  # decided in-process
                said = [x for x in self.w.tap.since(mark) if notice.match(x)]
                self.assertEqual(len(said), 1 if bound else 0, self.w.tap.since(mark))
                self.assertEqual(len(self.own_records(mark)), 1)
            stale.close()
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)

    def test_a_closed_stdout_is_an_output_error(self):
        """Started with stdout closed (sshd always gives a pipe), neither the
        client nor the in-process helper may let the first socket or file
        it opens become fd 1 and send the answer there: exit 1, said on
        stderr and logged."""
        _, (t, k) = self.cert_args()
        granted = self.helper(self.login, t, k)
        self.assertEqual(granted.returncode, 0, granted.stderr)
        self.assertNotEqual(granted.stdout, "", "the test needs a certificate that is granted")
        journal = os.path.exists("/run/systemd/journal/socket")
        kind = os.path.basename(self.w.bin)
        decide = os.path.join(os.path.dirname(os.path.realpath(self.w.bin)), "certgate-decide")
        for argv in ([self.w.bin, "--policy", self.policy, self.login, t, k],
                     [decide, "--run", kind, "--policy", self.policy, self.login, t, k]):
            mark = self.w.tap.mark()
            r = h.run(argv, env=dict(h.SSHD_ENV), check=False, user="nobody", stdout_closed=True)
            self.assertEqual(r.returncode, 1, argv)
            self.assertEqual(r.stderr, "%s: started with stdout closed: no answer can be printed\n" % kind)
            if self.w.tap.available and not journal:
                time.sleep(0.1)
                records = self.own_records(mark)
                self.assertEqual(len(records), 1, records)
                self.assertRegex(records[0], r"^<83>.* %s\[\d+\]: deny .*started with stdout closed: no answer "
                                             r"can be printed; nothing granted$" % re.escape(kind))

    def test_an_answer_that_cannot_be_written_is_logged_as_not_delivered(self):
        """A granted answer that cannot be written (stdout on a full disk):
        exit 1, so sshd uses nothing, and after the decision's own record one
        more says that sshd got nothing, so the log does not show an allow
        that never happened."""
        _, (t, k) = self.cert_args()
        mark = self.w.tap.mark()
        r = h.run_helper(self.w.bin, ["--policy", self.policy, self.login, t, k], stdout_path="/dev/full")
        self.assertEqual(r.returncode, 1, r.stderr)
        if self.w.tap.available and not os.path.exists("/run/systemd/journal/socket"):
            time.sleep(0.1)
            records = self.own_records(mark)
            self.assertTrue(records, "no record of the run")
            self.assertRegex(records[-1], r"^<83>.* \S+\[\d+\]: deny %s: the answer could not be written to "
                                          r"stdout \(No space left on device\); nothing granted$"
                                          % re.escape(self.login))

    def test_malformed_base64(self):
        for bad in ("%%%%", "AAAA!!!*", "AAA", "AAAA AAAA"):
            self.assertNothing(
                self.helper(self.login, "ssh-ed25519-cert-v01@openssh.com", bad), 0)

    def test_truncated_cert(self):
        _, (t, k) = self.cert_args()
        self.assertNothing(self.helper(self.login, t, k[:len(k) // 2 // 4 * 4]), 0)

    def test_type_mismatch(self):
        _, (t, k) = self.cert_args()
        for other in ("ssh-rsa-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com"):
            self.assertNothing(self.helper(self.login, other, k), 0)
