"""certgate-decide: the ways a client (principals-cmd, keys-cmd) decides in
the integration tests: in-process ("fallback"), through a running service
("service"), or in-process from a compiled policy snapshot ("snapshot").
The helper tests run their whole matrix in each (tests/integration/
CMakeLists.txt passes --mode)."""

import os
import subprocess
import sys
import time

import sshd_harness as h

MODES = ("fallback", "service", "snapshot")


def parse_mode_arg():
    """Takes `--mode fallback|service|snapshot` out of sys.argv (default fallback)."""
    mode = "fallback"
    if "--mode" in sys.argv:
        i = sys.argv.index("--mode")
        mode = sys.argv[i + 1] if i + 1 < len(sys.argv) else ""
        del sys.argv[i:i + 2]
    if mode not in MODES:
        sys.exit("--mode must be one of %s" % ", ".join(MODES))
    return mode


class DecideMode:
    """Installs certgate-decide beside the installed client (the build tree
    keeps a copy beside each client) and, in mode "service", runs it on a
    socket in the workspace with |policy| preloaded. In mode "fallback" the
    client is pointed at a socket that does not exist, so it always runs the
    helper in-process. Mode "snapshot" is "fallback" with a policy snapshot:
    `--compile` (as root) after every write to the workspace, so that the
    in-process helper maps the snapshot instead of reading the YAML
    whenever the policy is valid and its files unchanged since; anything
    else (a chmod by a test, an invalid policy) leaves it stale, and the
    YAML decides. `args` goes before the client's own arguments.
    prefix: argv the service is started under (it must exec its arguments,
    as for Sshd); name: tells apart the sockets and logs of several."""

    def __init__(self, ws, client_binary, mode, policy, prefix=(), name=None):
        src = os.path.join(os.path.dirname(os.path.realpath(client_binary)), "certgate-decide")
        self.decide = ws.install(src, "certgate-decide")
        name = name or os.path.basename(client_binary)
        self.mode = mode
        run_dir = os.path.join(ws.root, "run")
        os.makedirs(run_dir, mode=0o755, exist_ok=True)
        os.chmod(run_dir, 0o755)
        self.socket = os.path.join(run_dir, "decide-%s.sock" % name)
        self.log = os.path.join(ws.root, "decide-%s.log" % name)
        self.proc = None
        self.args = ["--socket", self.socket]
        self.policy = policy
        self.snapshot = None
        if mode == "snapshot":
            cache = os.path.join(ws.root, "cache")
            os.makedirs(cache, mode=0o755, exist_ok=True)
            os.chmod(cache, 0o755)
            self.snapshot = os.path.join(cache, "policy.snapshot")
            self.args += ["--snapshot", self.snapshot]
            self.compiles = 0
            ws.after_write.append(lambda path: self.compile())
            self.compile()
        if mode == "service":
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    list(prefix) + [self.decide, "--socket", self.socket, "--policy", policy,
                                    "--client-user", h.COMMAND_USER, "--verbose"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/")
            deadline = time.time() + 10
            while not os.path.exists(self.socket):
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("certgate-decide did not start; see " + self.log)
                time.sleep(0.01)

    def compile(self):
        """`--compile` of the policy into the snapshot, if there is a policy
        (an invalid one is reported, not compiled: the snapshot goes stale)."""
        if not os.path.exists(self.policy):
            return
        p = subprocess.run([self.decide, "--run", "principals-cmd", "--compile", "--policy", self.policy,
                            "--snapshot", self.snapshot], capture_output=True, text=True)
        if p.returncode == 0:
            self.compiles += 1

    @staticmethod
    def snapshot_reads(records):
        """How many of the syslog |records| say a decision read the snapshot."""
        return sum(1 for r in records if "read from its snapshot" in r)

    def not_exercised(self, tap):
        """Why the runs did not exercise what this mode names, or None: a
        service that served nothing (the clients fell back), or snapshots
        never compiled or never read (seen in |tap|, the syslog capture,
        when it is available). Call it before the service is stopped."""
        if self.mode == "service":
            served = self.requests_served()
            if not served:
                return "--mode service: certgate-decide served %r requests" % served
        if self.mode == "snapshot":
            reads = self.snapshot_reads(tap.since(0)) if tap is not None else 0
            sys.stderr.write("--mode snapshot: %d compiles, %d decisions read the snapshot\n"
                             % (self.compiles, reads))
            if not self.compiles:
                return "--mode snapshot: no policy was compiled"
            if tap is not None and tap.available and not reads:
                return "--mode snapshot: no decision read the snapshot"
        return None

    def command(self, client):
        """The client's command line prefix for sshd_config."""
        return " ".join([client] + self.args)

    def wrap_run_helper(self, client):
        """Makes run_helper(client, args) pass our args first (also for the
        shared HelperBadInputCases)."""
        original = h.run_helper
        prefix = list(self.args)

        def wrapped(binary, args, **kw):
            if binary == client:
                args = prefix + list(args)
            return original(binary, args, **kw)
        h.run_helper = wrapped

    def requests_served(self):
        """How many requests the service served (its SIGUSR1 stats line);
        None when not in service mode or it cannot tell."""
        return None if self.proc is None else h.service_requests_served(self.proc, self.log)

    def stop(self):
        if self.proc is not None:
            h.stop_process(self.proc)
        self.proc = None
