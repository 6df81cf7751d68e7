#!/usr/bin/env python3
"""principals-cmd run as sshd runs it, without sshd: as nobody, env -i
PATH=/usr/bin:/bin USER=nobody ..., cwd /, stdin empty (PrincipalsDirectTest):
exact output of grants and denials, bad input (helper_cases.py), --check,
--explain, unsafe policy paths, and the syslog record of a denial.

Run (as root):  python3 tests/integration/test_principals_cmd_direct.py --binary PATH [--mode M]
(ctest passes the built binary; as test_principals_cmd.py, which logs in
through sshd, and with the same --mode).
"""

import grp
import os
import re
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helper_cases  # noqa: E402
import sshd_harness as h  # noqa: E402
from principals_fixture import (ALICE, BOB, CAROL, PrincipalsWorld, base_policy,  # noqa: E402
                                parse_args, rule, tear_down)

BINARY, NO_BINARY = parse_args()
SKIP = h.skip_reason()


@unittest.skipIf(SKIP, SKIP)
@unittest.skipIf(NO_BINARY, NO_BINARY)
class PrincipalsDirectTest(helper_cases.HelperBadInputCases, unittest.TestCase):
    """The binary run as sshd runs it: as nobody, env -i PATH USER LOGNAME
    HOME, cwd /, stdin empty."""
    login = ALICE

    @classmethod
    def setUpClass(cls):
        w = PrincipalsWorld.get()
        cls.w = w
        cls.policy = w.policy  # the policy the service preloads and the snapshot compiles
        w.ws.write(cls.policy, base_policy(w, [
            rule([ALICE], ["ops", "web"]),
            rule([BOB], ["ops"], options=['from="127.0.0.1"', "no-pty"]),
            rule(["--*"], ["dash"]),
        ]))

    def helper(self, *args, as_nobody=True):
        return h.run_helper(self.w.bin, ["--policy", self.policy] + list(args),
                            as_nobody=as_nobody)

    def cert_args(self, **kw):
        kw.setdefault("principals", ["ops"])
        key = self.w.keys.user_with_cert(self.w.ca_prod, **kw)
        return key, h.Keys.cert_parts(key)

    def test_a_build_tree_of_another_user_runs_for_root(self):
        # A user builds, then runs the helpers with sudo (examples/demo.sh):
        # the in-process certgate-decide beside the client is that user's,
        # as the client itself is, and is trusted as much; one of a third
        # user is not.
        tree = os.path.join(self.w.ws.root, "usertree")
        os.makedirs(tree, exist_ok=True)
        os.chown(tree, 65534, 65534)
        os.chmod(tree, 0o755)
        client = os.path.join(tree, "principals-cmd")
        decide = os.path.join(tree, "certgate-decide")
        h.run(["install", "-m", "0755", "-o", "65534", "-g", "65534", BINARY, client])
        h.run(["install", "-m", "0755", "-o", "65534", "-g", "65534",
               os.path.join(os.path.dirname(os.path.realpath(BINARY)), "certgate-decide"), decide])
        args = ["--socket", os.path.join(tree, "none.sock"), "--check", "--policy", self.policy]
        r = h.run_helper_unwrapped(client, args, as_nobody=False)
        self.assertEqual((r.returncode, r.stdout), (0, "ok\n"), r.stderr)
        os.chown(decide, 1, 1)
        r = h.run_helper_unwrapped(client, args, as_nobody=False)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        # --check is no login: not "deny", but what could not run and why.
        self.assertEqual(r.stderr, "principals-cmd: cannot run certgate-decide, which does this: %s: not owned by "
                         "root or by uid 65534; fix that, or reinstall certgate\n" % os.path.realpath(decide))
        # A login through the same client is a denial, logged as one.
        r = h.run_helper_unwrapped(client, ["--socket", os.path.join(tree, "none.sock"), "--policy", self.policy,
                                            "alice", "t", "k"], as_nobody=False)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("principals-cmd: deny: no certgate-decide service and no in-process helper: %s: not owned by "
                      "root or by uid 65534" % os.path.realpath(decide), r.stderr)

    def test_grant_exact_output(self):
        _, (t, k) = self.cert_args(principals=["ops", "dev", "web"])
        r = self.helper(ALICE, t, k)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines(True)), ["ops\n", "web\n"])

    def test_grant_with_options_exact_output(self):
        _, (t, k) = self.cert_args()
        r = self.helper(BOB, t, k)
        self.assertEqual((r.returncode, r.stdout), (0, 'from="127.0.0.1",no-pty ops\n'), r.stderr)

    def test_denial_is_exit0_empty(self):
        _, (t, k) = self.cert_args(principals=["dev"])
        self.assertNothing(self.helper(ALICE, t, k), 0)

    def test_principal_with_space_never_printed(self):
        _, (t, k) = self.cert_args(principals=["ops", "web x"])
        r = self.helper(ALICE, t, k)
        self.assertEqual((r.returncode, r.stdout), (0, "ops\n"), r.stderr)

    def test_plain_key_not_a_cert(self):
        key = self.w.keys.make_key("plain")
        t, k = h.Keys.pub_line(key).split()
        self.assertNothing(self.helper(ALICE, t, k), 0)

    def test_host_certificate(self):
        _, (t, k) = self.cert_args(host=True)
        self.assertNothing(self.helper(ALICE, t, k), 0)

    def test_bad_policy(self):
        bad = self.w.ws.write(os.path.join(self.w.ws.etc, "bad.yaml"), "version: 1\nrules: [\n")
        _, (t, k) = self.cert_args()
        r = h.run_helper(self.w.bin, ["--policy", bad, ALICE, t, k])
        self.assertNothing(r, 1)

    def test_missing_policy(self):
        _, (t, k) = self.cert_args()
        r = h.run_helper(self.w.bin, ["--policy", os.path.join(self.w.ws.etc, "absent.yaml"),
                                      ALICE, t, k])
        self.assertNothing(r, 1)

    def test_unsafe_or_linked_directory_above_policy_denied(self):
        # sshd's StrictModes: every directory up to / is checked, and no
        # link is followed, whatever the policy file itself looks like.
        above = os.path.join(self.w.ws.etc, "above")
        os.makedirs(os.path.join(above, "etc"), mode=0o755)
        os.chmod(above, 0o755)
        policy = self.w.ws.write(os.path.join(above, "etc", "policy.yaml"),
                                 base_policy(self.w, [rule([ALICE], ["ops"])]))
        _, (t, k) = self.cert_args()
        r = h.run_helper(self.w.bin, ["--policy", policy, ALICE, t, k])
        self.assertEqual((r.returncode, r.stdout), (0, "ops\n"), r.stderr)
        os.chmod(above, 0o775)
        try:
            self.assertNothing(h.run_helper(self.w.bin, ["--policy", policy, ALICE, t, k]), 1)
            r = h.run_helper(self.w.bin, ["--check", "--policy", policy])
            self.assertEqual((r.returncode, r.stdout),
                             (1, "%s:1:1: unsafe permissions: writable by group or others; "
                                 "run chmod go-w %s\n" % (above, above)), r.stderr)
        finally:
            os.chmod(above, 0o755)
        link = os.path.join(self.w.ws.etc, "above-link")
        os.symlink(above, link)
        linked = os.path.join(link, "etc", "policy.yaml")
        self.assertNothing(h.run_helper(self.w.bin, ["--policy", linked, ALICE, t, k]), 1)
        r = h.run_helper(self.w.bin, ["--check", "--policy", linked])
        self.assertEqual((r.returncode, r.stdout),
                         (1, "%s:1:1: is a symbolic link to %s; certgate does not follow links in "
                             "the path of its files: name the real directory\n" % (link, above)),
                         r.stderr)

    def test_check_unreadable_directory_or_linked_policy_says_what_to_do(self):
        # Root's 0600 policy, read by the command user (nobody).
        secret = self.w.ws.write(os.path.join(self.w.ws.etc, "secret.yaml"),
                                 base_policy(self.w, [rule([ALICE], ["ops"])]), mode=0o600)
        r = h.run_helper(self.w.bin, ["--check", "--policy", secret])
        self.assertEqual((r.returncode, r.stdout),
                         (1, "%s:1:1: cannot open: Permission denied; the AuthorizedPrincipalsCommandUser and "
                             "AuthorizedKeysCommandUser must be able to read it, e.g. run chmod 644 %s\n"
                             % (secret, secret)), r.stderr)
        # A directory given for the policy file, with or without its slash.
        etc = self.w.ws.etc
        for given, message in ((etc, "is a directory, not the policy file; name the file, e.g. --policy "
                                     "%s/policy.yaml" % etc),
                               (etc + "/", "names a directory, not the policy file; name the file, e.g. "
                                           "--policy %s/policy.yaml" % etc)):
            r = h.run_helper(self.w.bin, ["--check", "--policy", given])
            self.assertEqual((r.returncode, r.stdout), (1, "%s:1:1: %s\n" % (given, message)), r.stderr)
        # A linked policy file: the error names where the link leads.
        link = os.path.join(etc, "linked-policy.yaml")
        if not os.path.lexists(link):
            os.symlink(self.policy, link)
        r = h.run_helper(self.w.bin, ["--check", "--policy", link])
        self.assertEqual((r.returncode, r.stdout),
                         (1, "%s:1:1: is a symbolic link to %s; certgate does not follow links in the path "
                             "of its files: name the real file\n" % (link, os.path.realpath(self.policy))),
                         r.stderr)

    def test_a_login_name_that_starts_with_two_dashes(self):
        # The audit's case: sshd takes any name NSS gives and passes it as
        # %u; "principals-cmd %u %t %k" read --a as an unknown option and
        # denied, where --explain --user=--a allowed. %u %t %k are now read
        # from the end when %u looks like an option but is none.
        key, (t, k) = self.cert_args(principals=["dash"])
        for args in (["--a", t, k], ["--timeout", "5", "--a.b", t, k], ["--", "--a", t, k]):
            r = self.helper(*args)
            self.assertEqual((r.returncode, r.stdout), (0, "dash\n"), r.stderr)
        r = self.helper("--explain", "--user=--a", key + "-cert.pub", as_nobody=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # A name that is an option's own stays that option: two arguments
        # are left, a usage error, denied.
        r = self.helper("--verbose", t, k)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertIn("expected 3 arguments USER KEYTYPE KEY (sshd: %u %t %k), got 2", r.stderr)

    def test_timeout_option_accepted(self):
        _, (t, k) = self.cert_args()
        r = self.helper("--timeout", "5", ALICE, t, k)
        self.assertEqual((r.returncode, r.stdout), (0, "ops\n"), r.stderr)

    def test_check_ok(self):
        r = self.helper("--check")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "ok"), r.stderr)

    def test_check_reports_file_line_column(self):
        bad = self.w.ws.write(os.path.join(self.w.ws.etc, "bad2.yaml"),
                              "version: 1\nauthorities: {}\nrules:\n  - users: [x]\n    bogus: 1\n")
        r = h.run_helper(self.w.bin, ["--check", "--policy", bad])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"(?m)^%s:\d+:\d+: \S" % re.escape(bad))

    def test_check_warns_of_a_name_used_twice_on_stderr(self):
        text = open(self.policy).read()
        head = text[:text.index("rules:")]
        two = self.w.ws.write(os.path.join(self.w.ws.etc, "two-names.yaml"), head + (
            "rules:\n  - {name: same, users: [x], authorities: [prod], principals: [p]}\n"
            "  - {name: same, users: [y], authorities: [prod], principals: [p]}\n"))
        r = h.run_helper(self.w.bin, ["--check", "--policy", two])
        self.assertEqual((r.returncode, r.stdout), (0, "ok\n"), r.stderr)
        self.assertRegex(r.stderr, r"^%s:\d+:5: warning: rule name \"same\" is also the name of rule 1 \(%s:\d+\), "
                         r"so logs and --explain cannot tell the two apart; give each rule its own name\n$"
                         % (re.escape(two), re.escape(two)))

    def test_compile_a_policy_kept_from_others_as_the_unit_runs_it(self):
        # certgate-compile.service runs the compile as root with CAP_CHOWN
        # alone: enough to give the snapshot of a root:GROUP 0640 policy that
        # group (without it, root may chown only to its own groups).
        text = open(self.policy).read()
        kept = self.w.ws.write(os.path.join(self.w.ws.etc, "kept.yaml"), text)
        group = grp.getgrnam("nogroup").gr_gid
        os.chown(kept, 0, group)
        os.chmod(kept, 0o640)
        cache = os.path.join(self.w.ws.root, "cache-kept")
        os.makedirs(cache, mode=0o755, exist_ok=True)
        snapshot = os.path.join(cache, "policy.snapshot")
        compile_args = [self.w.bin, "--compile", "--policy", kept, "--snapshot", snapshot]
        unit = ["setpriv", "--bounding-set=-all,+chown", "--inh-caps=-all"]
        r = h.run(unit + compile_args, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        st = os.stat(snapshot)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, group, 0o640))
        os.unlink(snapshot)
        r = h.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all"] + compile_args, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Operation not permitted", r.stdout + r.stderr)

    def test_explain_allow_and_deny(self):
        key, _ = self.cert_args()
        r = self.helper("--explain", "--user", ALICE, key + "-cert.pub", as_nobody=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(r.stdout.strip(), "explain prints its reasoning")
        r = self.helper("--explain", "--user", CAROL, key + "-cert.pub", as_nobody=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertTrue(r.stdout.strip())

    def test_denial_logged_to_syslog(self):
        if not self.w.tap.available:
            self.skipTest("syslog capture unavailable: " + self.w.tap.why)
        if os.path.exists("/run/systemd/journal/socket"):
            self.skipTest("the helpers log to the journal here, not syslog")
        _, (t, k) = self.cert_args(validity="-2h:-1h")
        mark = self.w.tap.mark()
        self.assertNothing(self.helper(ALICE, t, k), 0)
        time.sleep(0.1)
        # Only this helper's records about this login: other programs (an
        # audit or a unit test running principals-cmd about alice) may log
        # at the same time.
        records = self.own_records(mark)
        self.assertEqual(len(records), 1, self.w.tap.since(mark))
        self.assertRegex(records[0], r"(?i)expired")
        self.assertRegex(records[0], r"^<(8[0-7])>")  # facility authpriv (10) << 3


def tearDownModule():
    tear_down()


if __name__ == "__main__":
    h.run_main()
