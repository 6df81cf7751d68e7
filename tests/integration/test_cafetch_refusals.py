#!/usr/bin/env python3
"""What cafetch must refuse, against test_cafetch.py's real HTTPS issuer and
sshd: each refused run exits non-zero and changes nothing on disk, and a
certificate login still works after it.

Run (as root):  python3 tests/integration/test_cafetch_refusals.py --binary PATH

Classes:
  FailStaticTest  issuer errors and bad answers; a state file or state_dir
                  others may write; --dry-run prints the diff and changes
                  nothing; candidate directories a killed run left in
                  state_dir/candidates are removed by the next run, without
                  following a symlink; token_file where nothing sends it;
                  usage errors, one line each
"""

import os
import pty
import subprocess
import tempfile
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cafetch as tc  # noqa: E402  (takes --binary out of sys.argv)

h = tc.h
USER = tc.USER


def tearDownModule():
    tc.World.cleanup()


@unittest.skipIf(tc.SKIP, tc.SKIP or "")
class FailStaticTest(tc.CafetchCase):
    def setUp(self):
        self.misbehave(None)
        self.serve(self.w.ca_new)
        self.once("")

    def tearDown(self):
        self.misbehave(None)

    def test_issuer_errors_change_nothing(self):
        before = self.watched()
        for mode in ("500", "empty", "garbage", "oversized", "redirect-https", "redirect-http"):
            with self.subTest(mode=mode):
                self.misbehave(mode)
                p = self.cafetch("--once")
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertIn("nothing changed", p.stderr)
                self.assertEqual(self.watched(), before)
                self.assertLoginOK(USER, self.w.user_new)

    def test_bad_key_lines_change_nothing(self):
        before = self.watched()
        good = open(self.w.ca_new + ".pub").read()
        for text in ("", "# nothing\n", good + "ssh-ed25519 AAAAnotakey x\n",
                     good + "ssh-rsa " + h.Keys.pub_line(self.w.ca_new).split()[1] + "\n",
                     good.replace("ecdsa-sha2", "ssh-ed25519 ecdsa-sha2", 1)):
            with self.subTest(text=text[:40]):
                self.ws.write(os.path.join(self.w.root, "keys"), text)
                p = self.cafetch("--once")
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertEqual(self.watched(), before)
        self.assertLoginOK(USER, self.w.user_new)

    def test_a_state_file_others_may_write_is_never_trusted(self):
        """A key another user adds to the state file would be trusted as a
        retired one: with state_dir or the file writable by others the run
        fails before reading it, names the directory or file, and changes
        nothing; the added CA is never trusted."""
        state = os.path.join(self.state_dir, "cafetch.state")
        good = open(state).read()
        self.addCleanup(os.chmod, self.state_dir, 0o755)
        self.addCleanup(self.ws.write, state, good, 0o644)
        self.ws.write(state, good + "key 1 4102444800 0 %s\n" % h.Keys.pub_line(self.w.ca_third), 0o644)
        before = self.watched()
        for how, where in (("directory", self.state_dir), ("file", state)):
            with self.subTest(how=how):
                if how == "directory":
                    os.chmod(self.state_dir, 0o777)
                else:
                    os.chmod(self.state_dir, 0o755)
                    os.chown(state, 65534, 65534)
                for mode in ("--once", "--dry-run"):
                    p = self.cafetch(mode)
                    self.assertNotEqual(p.returncode, 0, p.stdout)
                    self.assertIn("state_dir %s" % self.state_dir, p.stderr)
                    self.assertIn("another user could change which CA keys sshd trusts", p.stderr)
                    self.assertIn(where, p.stderr)
                    self.assertEqual(self.watched(), before)
                    self.assertNotIn(h.Keys.pub_line(self.w.ca_third).split()[1],
                                     open(self.trusted).read())

    def test_dry_run_prints_the_diff_and_changes_nothing(self):
        self.serve(self.w.ca_new, self.w.ca_third)
        before = self.watched()
        p = self.cafetch("--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--- %s\n+++ %s\n" % (self.trusted, self.trusted), p.stdout)
        self.assertIn("+" + h.Keys.pub_line(self.w.ca_third), p.stdout)
        self.assertTrue(p.stdout.strip().splitlines()[-1].startswith("would change: "), p.stdout)
        self.assertEqual(self.watched(), before)

    def test_leftover_candidate_directories_are_removed_by_the_next_run(self):
        candidates = os.path.join(self.state_dir, "candidates")
        os.makedirs(candidates, mode=0o700, exist_ok=True)
        # What a run killed during its candidate check leaves: the candidate
        # main file, a drop-in copy and a half-written temporary file.
        left = os.path.join(candidates, "cafetch-candidate-K1lled")
        os.makedirs(os.path.join(left, "sshd_config.d"), mode=0o700)
        for name in ("sshd_config", "sshd_config.d/05-certgate.conf",
                     "sshd_config.d/.05-certgate.conf.certgate-0123456789abcdef"):
            self.ws.write(os.path.join(left, name), "TrustedUserCAKeys /nowhere\n", 0o600)
        # Planted symlinks, named like a candidate and inside one: removed,
        # never followed.
        target = os.path.join(self.ws.root, "not-a-candidate")
        os.makedirs(os.path.join(target, "sshd_config.d"), exist_ok=True)
        self.ws.write(os.path.join(target, "keep"), "keep me\n")
        self.ws.write(os.path.join(target, "sshd_config.d", "keep.conf"), "keep me too\n")
        os.symlink(target, os.path.join(candidates, "cafetch-candidate-Symlnk"))
        inner = os.path.join(candidates, "cafetch-candidate-inner1")
        os.mkdir(inner, 0o700)
        os.symlink(os.path.join(target, "sshd_config.d"), os.path.join(inner, "sshd_config.d"))
        os.symlink(os.path.join(target, "keep"), os.path.join(inner, "sshd_config"))
        self.ws.write(os.path.join(candidates, "notes"), "not named like a candidate\n")
        try:
            # A dry run takes no lock and removes nothing.
            p = self.cafetch("--dry-run")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(sorted(os.listdir(candidates)), [
                "cafetch-candidate-K1lled", "cafetch-candidate-Symlnk", "cafetch-candidate-inner1",
                "notes"])
            p = self.cafetch("--once", "--verbose")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout.strip().splitlines()[-1], "unchanged")
            self.assertEqual(os.listdir(candidates), ["notes"])
            lines = [l for l in p.stderr.splitlines() if "candidate director" in l]
            self.assertEqual(lines, [
                "cafetch: removed 3 candidate directories an interrupted run left in %s: "
                "cafetch-candidate-K1lled, cafetch-candidate-Symlnk, cafetch-candidate-inner1"
                % candidates], p.stderr)
            self.assertEqual(sorted(os.listdir(target)), ["keep", "sshd_config.d"])
            self.assertEqual(open(os.path.join(target, "keep")).read(), "keep me\n")
            self.assertEqual(os.listdir(os.path.join(target, "sshd_config.d")), ["keep.conf"])
            self.assertEqual(os.stat(candidates).st_mode & 0o7777, 0o700)
            self.assertLoginOK(USER, self.w.user_new)
        finally:
            os.unlink(os.path.join(candidates, "notes"))

    def test_token_file_where_no_request_carries_it_is_a_config_error(self):
        """issuer.token_file for an issuer that reads a local file (file,
        or url with a local path) would be ignored: the configuration is
        refused at FILE:LINE:COLUMN, as issuer.name on a non-akeyless issuer
        is, and nothing changes."""
        token = os.path.join(self.ws.etc, "unused-token")
        self.ws.write(token, "t0ken\n", 0o600)
        keys = os.path.join(self.ws.etc, "local-keys.pub")
        self.ws.write(keys, open(self.w.ca_new + ".pub").read())
        config = os.path.join(self.ws.etc, "token-local.yaml")
        before = self.watched()
        for kind, url, message in (
                ("file", keys, "issuer.token_file is not used by a file issuer, which reads a local file and "
                               "sends no token; remove it"),
                ("url", "file://" + keys, "issuer.token_file is not used with a local issuer.url, which is read "
                                          "as a file and sends no token; remove it, or give an https:// url")):
            with self.subTest(kind=kind):
                self.ws.write(config, "issuer:\n  type: %s\n  url: %s\n  token_file: %s\n"
                              "trusted_user_ca_keys: %s\nstate_dir: %s\nsshd:\n  config: %s\n  binary: %s\n"
                              "  manage_principals_command: false\n  reload: signal\n" % (
                                  kind, url, token, self.trusted, self.state_dir, self.sshd.config_path,
                                  h.SSHD), 0o600)
                for mode in ("--once", "--dry-run"):
                    p = subprocess.run([tc.BINARY, "--config", config, mode], stdin=subprocess.DEVNULL,
                                       capture_output=True, text=True, timeout=60)
                    self.assertEqual(p.returncode, 1, p.stdout)
                    self.assertEqual(p.stderr.splitlines()[0], "%s:4:15: %s" % (config, message), p.stderr)
                    self.assertEqual(self.watched(), before)

    def test_usage(self):
        for args, code in ((["--help"], 0), (["--version"], 0), ([], 2), (["--bogus"], 2),
                           (["--once", "--daemon"], 2), (["--version", "extra"], 2)):
            p = subprocess.run([tc.BINARY] + args, capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, code, (args, p.stdout, p.stderr))
        # A usage error is one line saying what is wrong.
        for args, err in (([], "give one of --once, --dry-run and --daemon"),
                          (["--bogus", "--once"], "unknown option '--bogus'"),
                          (["--once", "--daemon"], "give only one of --once, --dry-run and --daemon"),
                          (["--once", "--config"], "--config needs a PATH"),
                          (["--config", "--once"], "--config needs a PATH, not the option --once (write "
                                                   "--config=VALUE for a value that starts with --)"),
                          (["-h"], "unknown option '-h' (options start with --)"),
                          (["--once", "-v"], "unknown option '-v' (options start with --)"),
                          (["--once", "--config="], "--config needs a PATH"),
                          (["--once", "--config", "/a", "--config=/b"], "--config is given twice; give it once"),
                          (["--once", "extra"], "unexpected argument 'extra': cafetch takes options only"),
                          (["--version", "--once"], "--version takes no other arguments")):
            p = subprocess.run([tc.BINARY] + args, capture_output=True, text=True, timeout=10)
            self.assertEqual((p.returncode, p.stdout, p.stderr),
                             (2, "", "cafetch: %s (see cafetch --help)\n" % err), args)
        p = subprocess.run([tc.BINARY, "--config", "/nonexistent.yaml", "--once"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        # --daemon started by a person (stderr a terminal) says why it did
        # not start there too, not only in the log.
        master, slave = pty.openpty()
        try:
            p = subprocess.run([tc.BINARY, "--config", "/nonexistent.yaml", "--daemon"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=slave, timeout=10)
            os.close(slave)
            slave = None
            said = b""
            while True:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the terminal's other side is closed
                    break
                if not chunk:
                    break
                said += chunk
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        self.assertEqual(p.returncode, 1)
        missing = ("/nonexistent.yaml:1:1: cannot open: No such file or directory; create it (see "
                   "cafetch.yaml(5)) or name the right file with --config\n")
        self.assertEqual(said.decode().replace("\r\n", "\n"), missing)
        # The same on a pipe or file (runit, docker, a system without
        # journal and syslog): never an exit 1 that says nothing. When
        # stderr is the journal's stream ($JOURNAL_STREAM), the log record
        # is already there: no second copy.
        with tempfile.TemporaryFile() as err:
            p = subprocess.run([tc.BINARY, "--config", "/nonexistent.yaml", "--daemon"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err, timeout=10)
            err.seek(0)
            self.assertEqual((p.returncode, err.read().decode()), (1, missing))
        with tempfile.TemporaryFile() as err:
            st = os.fstat(err.fileno())
            env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
            p = subprocess.run([tc.BINARY, "--config", "/nonexistent.yaml", "--daemon"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err, env=env, timeout=10)
            err.seek(0)
            self.assertEqual((p.returncode, err.read().decode()), (1, ""))
        # --verbose copies the log record to stderr: the final error is
        # said once, not a second time after it.
        p = subprocess.run([tc.BINARY, "--config", "/nonexistent.yaml", "--once", "--verbose"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.count("configuration /nonexistent.yaml not loaded: nothing changed"), 1, p.stderr)
        # ... and so is each issue, logged (so the journal says why), once.
        self.assertEqual(p.stderr.count("cannot open: No such file or directory"), 1, p.stderr)
        self.assertIn("cafetch: configuration: /nonexistent.yaml:1:1: cannot open: ", p.stderr)
        # --dry-run never changes anything: it does not say "nothing changed".
        p = subprocess.run([tc.BINARY, "--config", "/nonexistent.yaml", "--dry-run"], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.splitlines()[-1], "cafetch: configuration /nonexistent.yaml not loaded")
        # A control character in the path is escaped: still one line.
        p = subprocess.run([tc.BINARY, "--config", "/no\nFAKE.yaml", "--once"], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.splitlines()[0], "/no\\x0aFAKE.yaml:1:1: cannot open: No such file or directory; "
                         "create it (see cafetch.yaml(5)) or name the right file with --config")
        self.assertEqual(len(p.stderr.splitlines()), 2, p.stderr)


if __name__ == "__main__":
    h.run_main()
