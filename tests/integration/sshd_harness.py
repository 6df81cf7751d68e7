"""Shared harness for certgate's end-to-end tests against a real sshd.

Everything here drives the real programs: /usr/sbin/sshd on 127.0.0.1, the
real ssh client and certificates made by the real ssh-keygen. Python 3
standard library only.

What a test gets:
  Workspace   a fresh root-owned directory /usr/local/libexec/certgate-test-*
              (sshd refuses helpers under /tmp): bin/ for the installed
              helpers, etc/ for policy files, keys/, sshd/.
  Keys        ssh-keygen wrappers: make_key(), sign_cert(), krl().
  SyslogTap   a /dev/log (AF_UNIX, SOCK_DGRAM) listener that records every
              syslog datagram, when /dev/log is free (the helpers log to the
              journal, else syslog authpriv).
  Sshd        one daemon with a private config, port, PidFile and log file.
  ssh_login() one login with the real client; returns (exit, stdout, stderr).
  Users       creates unix users/groups (useradd -m; usermod -p '*') and
              removes what it created.
  run_main()  runs a unittest module and prints "N passed, N failed[, N
              skipped]" as the last line; exit 0 / 1, or 77 when every test
              was skipped (ctest SKIP_RETURN_CODE).

Beside it, re-exported here: syslog_tap.py (SyslogTap), unittest_main.py
(run_main(), parse_binary_arg()) and policy_yaml.py (policy_yaml()); and
decide_mode.py (DecideMode: fallback, service or snapshot decisions) and
helper_cases.py (HelperBadInputCases, shared by the two helpers' tests).

Helper stderr: sshd (misc.c subprocess) points a command's stderr at
/dev/null unless sshd itself logs to stderr (-d or -e); the daemons here run
with -D -e and their stderr goes to a file, so `--verbose` output of the
helpers lands in that log too. Tests look for a denial reason in the union of
that log and the captured syslog records.
"""

import os
import pwd
import grp
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from policy_yaml import policy_yaml  # noqa: F401  (h.policy_yaml)
from syslog_tap import SyslogTap  # noqa: F401  (h.SyslogTap)
from unittest_main import missing_binary, parse_binary_arg, run_main  # noqa: F401  (h.run_main)

SSHD = "/usr/sbin/sshd"
SSH = shutil.which("ssh") or "/usr/bin/ssh"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
LIBEXEC = "/usr/local/libexec"

# The AuthorizedPrincipalsCommandUser / AuthorizedKeysCommandUser of the
# tests' sshd (and certgate-decide's --client-user).
COMMAND_USER = "nobody"

# The environment sshd gives a helper (misc.c subprocess), for direct runs.
SSHD_ENV = {"PATH": "/usr/bin:/bin", "USER": "nobody", "LOGNAME": "nobody",
            "HOME": "/nonexistent"}


def skip_reason():
    """Why this machine cannot run the sshd tests, or None."""
    if os.geteuid() != 0:
        return "needs root (creates users, runs sshd, installs helpers under /usr/local/libexec)"
    for tool in (SSHD, SSH, SSH_KEYGEN):
        if not os.path.exists(tool):
            return "missing %s (apt-get install openssh-server openssh-client)" % tool
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return "no user 'nobody' for AuthorizedPrincipalsCommandUser"
    return None


def run(argv, input=None, env=None, check=True, timeout=60, user=None, stdout_closed=False,
        stdout_path=None):
    """Runs argv; returns CompletedProcess with text stdout/stderr. With
    |stdout_closed| the program starts with fd 1 closed, with |stdout_path|
    (e.g. /dev/full) with fd 1 that file opened for writing (stdout is "")."""
    kwargs = {}
    pw = pwd.getpwnam(user) if user is not None else None

    def prepare():
        if stdout_closed:
            os.close(1)
        if stdout_path is not None:
            fd = os.open(stdout_path, os.O_WRONLY)
            os.dup2(fd, 1)
            os.close(fd)
        if pw is not None:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    if pw is not None or stdout_closed or stdout_path is not None:
        kwargs["preexec_fn"] = prepare
    if pw is not None:
        kwargs["cwd"] = "/"
    proc = subprocess.run(argv, input=input, env=env, capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), proc.returncode,
                                                    proc.stdout, proc.stderr))
    return proc


def run_helper(binary, args, input=None, env=None, as_nobody=True, timeout=30, stdout_closed=False,
               stdout_path=None):
    """Runs a helper the way sshd does: env -i PATH=... USER=nobody, cwd /,
    stdin /dev/null, as nobody. Returns CompletedProcess."""
    return run([binary] + list(args), input=input if input is not None else "",
               env=dict(SSHD_ENV) if env is None else env, check=False, timeout=timeout,
               user="nobody" if as_nobody else None, stdout_closed=stdout_closed,
               stdout_path=stdout_path)


# run_helper without the arguments DecideMode.wrap_run_helper puts first.
run_helper_unwrapped = run_helper


def stop_process(proc, timeout=10):
    """SIGTERM |proc| if it still runs, SIGKILL it if it has not exited
    |timeout| seconds later; always reaps it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def service_requests_served(proc, log):
    """How many requests the certgate-decide |proc| served: the stats line
    its SIGUSR1 writes to |log| (run with --verbose); None if it is gone or
    does not say within 5 s."""
    if proc.poll() is not None:
        return None
    size = os.path.getsize(log)
    proc.send_signal(signal.SIGUSR1)
    deadline = time.time() + 5
    while time.time() < deadline:
        with open(log, errors="replace") as f:
            f.seek(size)
            m = re.search(r"stats: (\d+) requests", f.read())
        if m:
            return int(m.group(1))
        time.sleep(0.02)
    return None


def _safe_dir(path):
    st = os.stat(path)
    return st.st_uid == 0 and not (st.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Workspace

class Workspace:
    """A root-owned 0755 directory tree sshd's safe_path accepts."""

    def __init__(self, tag):
        if not os.path.isdir(LIBEXEC):
            os.makedirs(LIBEXEC, mode=0o755, exist_ok=True)
            os.chmod(LIBEXEC, 0o755)
        p = LIBEXEC
        while True:
            if not _safe_dir(p):
                raise RuntimeError("%s is not root-owned or is group/other-writable" % p)
            if p == "/":
                break
            p = os.path.dirname(p)
        self.root = tempfile.mkdtemp(prefix="certgate-test-%s-" % tag, dir=LIBEXEC)
        os.chmod(self.root, 0o755)
        self.bin = self._sub("bin", 0o755)
        self.etc = self._sub("etc", 0o755)
        self.keys = self._sub("keys", 0o700)
        self.sshd = self._sub("sshd", 0o755)
        # Called with the path after every write (DecideMode "snapshot").
        self.after_write = []

    def _sub(self, name, mode):
        p = os.path.join(self.root, name)
        os.mkdir(p)
        os.chmod(p, mode)
        return p

    def install(self, src, name=None):
        """install -m 0755 -o root -g root SRC bin/NAME; returns the path."""
        dst = os.path.join(self.bin, name or os.path.basename(src))
        run(["install", "-m", "0755", "-o", "root", "-g", "root", src, dst])
        return dst

    def write(self, path, text, mode=0o644):
        """Atomic root-owned write (the helpers re-read the policy each login)."""
        d = os.path.dirname(path)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.chmod(tmp, mode)
            os.chown(tmp, 0, 0)
            os.rename(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        for hook in self.after_write:
            hook(path)
        return path

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


# --------------------------------------------------------------------------
# Keys and certificates

class Keys:
    """ssh-keygen wrappers; every file lives in ws.keys."""

    def __init__(self, ws):
        self.dir = ws.keys
        self._n = 0

    def _fresh(self, name):
        self._n += 1
        return os.path.join(self.dir, "%s-%d" % (name, self._n))

    def make_key(self, name, kind="ed25519", bits=None):
        """New key pair; returns the private key path (public is path + '.pub')."""
        path = self._fresh(name)
        argv = [SSH_KEYGEN, "-q", "-t", kind, "-N", "", "-C", name, "-f", path]
        if bits:
            argv[4:4] = ["-b", str(bits)]
        run(argv)
        return path

    def sign_cert(self, ca, key, key_id="id", principals=None, validity="-5m:+1h",
                  serial=None, options=(), sig_alg=None, host=False):
        """Signs KEY.pub with CA; returns KEY-cert.pub (which ssh -i KEY picks up).

        principals: list or None (no -n: a certificate with no principals).
        options: ssh-keygen -O values, e.g. ["clear", "source-address=127.0.0.1/32"].
        sig_alg: e.g. "ssh-rsa" for a SHA-1 RSA signature.
        """
        argv = [SSH_KEYGEN, "-q", "-s", ca, "-I", key_id]
        if host:
            argv.append("-h")
        if principals is not None:
            argv += ["-n", ",".join(principals)]
        if validity:
            argv += ["-V", validity]
        if serial is not None:
            argv += ["-z", str(serial)]
        for o in options:
            argv += ["-O", o]
        if sig_alg:
            argv += ["-t", sig_alg]
        argv.append(key + ".pub")
        run(argv)
        return key + "-cert.pub"

    def user_with_cert(self, ca, name="user", kind="ed25519", bits=None, **cert_args):
        """A new key with a certificate; returns the private key path."""
        key = self.make_key(name, kind, bits)
        self.sign_cert(ca, key, **cert_args)
        return key

    @staticmethod
    def pub_line(path):
        """'type base64' of a .pub or -cert.pub file (no comment)."""
        if not path.endswith(".pub"):
            path += ".pub"
        with open(path) as f:
            parts = f.read().split()
        return parts[0] + " " + parts[1]

    @staticmethod
    def cert_parts(key):
        """(%t, %k) sshd would pass for KEY's certificate."""
        with open(key + "-cert.pub") as f:
            parts = f.read().split()
        return parts[0], parts[1]

    def krl(self, path, ca_pub, spec_lines=(), keys=()):
        """ssh-keygen -k: a KRL revoking spec lines (serial:, id:) for CA and
        explicit public keys; returns path."""
        spec = os.path.join(self.dir, "krl-spec-%d" % (self._n + 1))
        self._n += 1
        with open(spec, "w") as f:
            for line in spec_lines:
                f.write(line + "\n")
            for k in keys:
                f.write(self.pub_line(k) + "\n")
        run([SSH_KEYGEN, "-q", "-k", "-f", path, "-s", ca_pub + ("" if ca_pub.endswith(".pub") else ".pub"), spec])
        os.chmod(path, 0o644)
        return path


# --------------------------------------------------------------------------
# Users

class Users:
    """Creates unix users and groups for a test class and removes them."""

    def __init__(self):
        self.users = []
        self.groups = []

    def group(self, name):
        """Creates group NAME (left over from a crashed run: reused); it is
        removed at cleanup either way, so use names private to the tests."""
        try:
            grp.getgrnam(name)
        except KeyError:
            run(["groupadd", name])
        self.groups.append(name)
        return name

    def user(self, name, primary_group=None, groups=()):
        try:
            pwd.getpwnam(name)
            run(["userdel", "-r", name], check=False)
        except KeyError:
            pass
        argv = ["useradd", "-m", "-s", "/bin/sh"]
        if primary_group:
            argv += ["-g", primary_group]
        else:
            argv += ["-U"]
        if groups:
            argv += ["-G", ",".join(groups)]
        run(argv + [name])
        run(["usermod", "-p", "*", name])
        self.users.append(name)
        return name

    def cleanup(self):
        for u in reversed(self.users):
            run(["userdel", "-r", "-f", u], check=False)
        for g in reversed(self.groups):
            run(["groupdel", g], check=False)
        # useradd -U groups go with userdel.


class World:
    """What the test classes of one file share: a Workspace, a SyslogTap, the
    Users it creates and Keys; built at the first get(), removed by
    teardown() (call it from tearDownModule: it runs after a failure too).
    A subclass sets TAG (workspace name) and adds its users, CAs and files
    in populate(); a DecideMode it keeps as `decide` is stopped first."""
    TAG = "t"
    ws = None
    decide = None

    @classmethod
    def get(cls):
        if cls.ws is None:
            cls.users = Users()
            cls.tap = None
            cls.ws = Workspace(cls.TAG)
            cls.tap = SyslogTap()
            cls.keys = Keys(cls.ws)
            cls.populate()
        return cls

    @classmethod
    def populate(cls):
        pass

    @classmethod
    def teardown(cls):
        if cls.ws is not None:
            if cls.decide is not None:
                cls.decide.stop()
                cls.decide = None
            if cls.tap:
                cls.tap.close()
            cls.users.cleanup()
            cls.ws.cleanup()
            cls.ws = None


# --------------------------------------------------------------------------
# sshd

def openssh_version():
    """(major, minor) of the installed sshd, e.g. (9, 2); (0, 0) if unknown."""
    p = subprocess.run([SSHD, "-V"], capture_output=True, text=True)
    m = re.search(r"OpenSSH_(\d+)\.(\d+)", p.stdout + p.stderr)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


class Sshd:
    """One sshd -D -e on 127.0.0.1 with a private config.

    config_lines: sshd_config lines after the common ones (auth lines). A
    line whose keyword is one of the common ones (MaxStartups, LogLevel, ...)
    replaces that common line (sshd itself keeps the first value).
    prefix: argv run before sshd, which must end by exec'ing its arguments
    (e.g. `unshare -m ... sh -c '...; exec "$@"' sh`), so that the daemon's
    pid is the one started.
    """

    def __init__(self, ws, config_lines, log_level="DEBUG3", name="sshd", prefix=()):
        self.ws = ws
        self.dir = os.path.join(ws.sshd, name)
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.host_key = os.path.join(self.dir, "host_ed25519")
        run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", self.host_key])
        os.chmod(self.host_key, 0o600)
        self.pid_file = os.path.join(self.dir, "sshd.pid")
        self.log_path = os.path.join(self.dir, "sshd.log")
        self.config_path = os.path.join(self.dir, "sshd_config")
        self.port = None
        self.proc = None
        self.log_level = log_level
        self.config_lines = list(config_lines)
        self.prefix = list(prefix)

    def _write_config(self):
        common = [
            "ListenAddress 127.0.0.1",
            "Port %d" % self.port,
            "HostKey %s" % self.host_key,
            "PidFile %s" % self.pid_file,
            "UsePAM no",
            "LogLevel %s" % self.log_level,
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "StrictModes no",
            "MaxAuthTries 10",
            "MaxStartups 100",
        ]
        own = {l.split()[0].lower() for l in self.config_lines if l.strip()}
        common = [l for l in common if l and l.split()[0].lower() not in own]
        text = "\n".join(common + self.config_lines) + "\n"
        with open(self.config_path, "w") as f:
            f.write(text)

    def check_config(self):
        return run([SSHD, "-t", "-f", self.config_path], check=False)

    def effective(self, user="root"):
        """sshd -T output as a dict (lower-case keys)."""
        out = run([SSHD, "-T", "-f", self.config_path, "-C",
                   "user=%s,host=localhost,addr=127.0.0.1" % user]).stdout
        d = {}
        for line in out.splitlines():
            k, _, v = line.partition(" ")
            d.setdefault(k.lower(), v)
        return d

    def start(self):
        last = None
        for _ in range(5):
            self.port = free_port()
            self._write_config()
            t = self.check_config()
            if t.returncode != 0:
                raise RuntimeError("sshd -t rejects the test config: %s" % t.stderr)
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(self.prefix + [SSHD, "-D", "-e", "-f", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=self._log,
                                         stderr=self._log)
            deadline = time.time() + 10
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return self
                except OSError:
                    time.sleep(0.02)
            last = self.log_text()
            self.stop()
        raise RuntimeError("sshd did not start; log:\n%s" % last)

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, timeout=5)
            self.proc = None
            self._log.close()

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_text(self, since=0):
        with open(self.log_path, "rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")


def ssh_login(port, user, key, command="true", options=(), timeout=30, cert=None):
    """One login with the real client; returns (exit status, stdout, stderr).

    The client picks up KEY-cert.pub beside KEY (or `cert`, given explicitly).
    """
    argv = [SSH, "-F", "none", "-p", str(port), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "KexAlgorithms=curve25519-sha256", "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR", "-i", key]
    if cert:
        argv += ["-o", "CertificateFile=%s" % cert]
    for o in options:
        argv += ["-o", o]
    argv += ["%s@127.0.0.1" % user, command]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# --------------------------------------------------------------------------
# A test class base with one sshd, a syslog tap and login assertions

class SshdTestCase(unittest.TestCase):
    """Subclasses set up cls.ws, cls.sshd (started) and cls.tap in
    setUpClass; login() records what was logged during the login."""

    ws = None
    sshd = None
    tap = None

    def login(self, user, key, command="true", options=(), cert=None):
        mark_log = self.sshd.log_size()
        mark_tap = self.tap.mark() if self.tap else 0
        rc, out, err = ssh_login(self.sshd.port, user, key, command, options, cert=cert)
        # sshd's child may log its last lines just after the client has gone.
        time.sleep(0.05)
        self._last_mark = (mark_log, mark_tap)
        self.last = (rc, out, err)
        return rc, out, err

    def logged(self, wait_for=None, timeout=2.0):
        """Everything logged since the last login: sshd log + syslog records.
        With wait_for (a regex), polls until it appears or timeout."""
        deadline = time.time() + timeout
        while True:
            text = self.sshd.log_text(self._last_mark[0])
            if self.tap:
                text += "\n" + "\n".join(self.tap.since(self._last_mark[1]))
            if wait_for is None or re.search(wait_for, text, re.I) or time.time() > deadline:
                return text
            time.sleep(0.05)

    def assertLoginOK(self, user, key, command="true", expect_out=None, **kw):
        rc, out, err = self.login(user, key, command, **kw)
        if rc != 0:
            self.fail("login as %s with %s failed (exit %d): %s\n--- log ---\n%s" %
                      (user, os.path.basename(key), rc, err.strip(), self._tail(self.logged())))
        if expect_out is not None:
            self.assertEqual(out.strip(), expect_out)
        return out

    def assertLoginDenied(self, user, key, reason=None, command="true", **kw):
        """The login fails; `reason` (regex, case-insensitive) must appear in
        what was logged during the login."""
        rc, out, err = self.login(user, key, command, **kw)
        if rc == 0:
            self.fail("login as %s with %s succeeded, expected denial\n--- log ---\n%s" %
                      (user, os.path.basename(key), self._tail(self.logged())))
        self.assertIn("Permission denied", err, "unexpected client failure: %s" % err)
        if reason is not None:
            text = self.logged(wait_for=reason)
            if not re.search(reason, text, re.I):
                self.fail("denial reason /%s/ not logged; log:\n%s" % (reason, self._tail(text)))
        return err

    @staticmethod
    def _tail(text, n=60):
        lines = [l for l in text.splitlines()
                 if not l.startswith("debug") or "-cmd" in l or "matched" in l]
        return "\n".join(lines[-n:])
