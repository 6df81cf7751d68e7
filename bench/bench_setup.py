"""The world a run measures in, made fresh by set_up(): the bench's programs
and the helpers installed in a root-owned workspace, the login user and its
groups, a CA and the user's certificate (and ColdCerts for the cold rows),
the policies of every size with their snapshots, and one certgate-decide
service per size (and per COLD_SIZES size for --baseline). World holds it all
for the steps that time it; check_snapshots() checks the snapshots are used."""

import os
import subprocess
import time

from bench_build import BINARIES, compile_tools
from bench_common import COLD_SIZES, GROUPS, SIZES, USER, h, log, make_dir, sh
from bench_inputs import ColdCerts, policy_text
from bench_services import start_service


class World:
    """What the steps of one run share; set_up() fills it in:
    ws (the sshd_harness Workspace), tools (compile_tools()), pcmd, kcmd and
    decide (the installed helpers), base (--baseline's installed binaries by
    name, else empty), run_dir (the services' sockets), no_service and
    no_snapshot (arguments naming an absent socket / snapshot), ukey (the user
    key with its certificate), ktype and kb64 (that certificate as sshd's %t
    and %k), ca_pub, cold (ColdCerts), policies and psizes (path and size by
    rules), snapshots (path by rules), svc and base_svc (start_service()
    entries by rules)."""

    def __init__(self, ws):
        self.ws = ws
        self.base = {}

    def with_snapshot(self, n):
        """Arguments for the in-process decision from n rules' snapshot."""
        return self.no_service + ["--snapshot", self.snapshots[n]]

    def decision_args(self, n, cert=None):
        """A helper's arguments after its mode: the n-rule policy and what
        sshd's %u %t %k expand to, for |cert| (default the warm one)."""
        return ["--policy", self.policies[n], USER, self.ktype,
                self.kb64 if cert is None else cert]


def set_up(ws, users, services, build_dir, baseline):
    """Makes a run's World in WS: USERS and SERVICES collect what the run must
    remove and stop at the end, even when set_up() fails half-way."""
    w = World(ws)
    w.tools = compile_tools(ws)
    w.pcmd = ws.install(os.path.join(build_dir, "principals-cmd", "principals-cmd"))
    w.kcmd = ws.install(os.path.join(build_dir, "keys-cmd", "keys-cmd"))
    # The clients' in-process fallback: certgate-decide beside them.
    w.decide = ws.install(os.path.join(build_dir, "decide", "certgate-decide"))
    w.run_dir = make_dir(os.path.join(ws.root, "run"))
    w.no_service = ["--socket", os.path.join(w.run_dir, "absent.sock")]  # always fallback
    for g in GROUPS:
        users.group(g)
    users.user(USER)
    breakglass = make_certificates(w)
    if baseline:
        w.base = install_baseline(ws, baseline)
    write_policies(w, h.Keys.pub_line(breakglass))
    # One certgate-decide service per policy size, each keeping its
    # policy loaded (run as root, binding its socket in the root-owned
    # workspace, as the integration tests do; production uses socket
    # activation).
    w.svc = {n: start_service(w.decide, w.run_dir, ws.root, "decide-%d" % n, w.policies[n],
                              services)
             for n in SIZES}
    compile_snapshots(w)
    w.base_svc = {n: start_service(w.base["certgate-decide"], w.run_dir, ws.root,
                                   "baseline-%d" % n, w.policies[n], services)
                  for n in (COLD_SIZES if baseline else ())}
    return w


def make_certificates(w):
    """Makes the CA, the user's certificate (w.ukey, w.ktype, w.kb64,
    w.ca_pub) and w.cold; returns the break-glass key's path."""
    keys = h.Keys(w.ws)
    ca = keys.make_key("ca")
    breakglass = keys.make_key("breakglass")
    w.ukey = keys.user_with_cert(ca, "cgbench", key_id=USER + "@example.com",
                                 principals=[USER], validity="-5m:+8h", serial=4242)
    w.ktype, w.kb64 = h.Keys.cert_parts(w.ukey)
    w.ca_pub = h.Keys.pub_line(ca) + " bench-ca"
    # Certificates like ukey's, a fresh one for every run of a cold row.
    w.cold = ColdCerts(w.ws, keys, ca, w.ktype)
    return breakglass


def install_baseline(ws, baseline):
    """Installs --baseline's binaries; returns their paths by name."""
    # Beside each other, like an installation: the client executes
    # the certgate-decide beside it when it falls back.
    base_bin = make_dir(os.path.join(ws.root, "baseline-bin"))
    base = {}
    for sub, name in BINARIES:
        dst = os.path.join(base_bin, name)
        sh(["install", "-m", "0755", "-o", "root", "-g", "root",
            os.path.join(baseline, sub, name), dst])
        base[name] = dst
    return base


def write_policies(w, breakglass_pub):
    """Writes the policy of every size (w.policies, w.psizes), then waits
    until the services may start."""
    w.policies = {}
    for n in SIZES:
        path = os.path.join(w.ws.etc, "policy-%d.yaml" % n)
        w.ws.write(path, policy_text(n, w.ca_pub, breakglass_pub))
        w.policies[n] = path
    w.psizes = {n: os.path.getsize(p) for n, p in w.policies.items()}
    log("policies: " + ", ".join("%d rules %.2f MB" % (n, w.psizes[n] / 1e6) for n in SIZES))
    # A service trusts a load of files changed less than 2 s before for
    # one request only (its racy window), and then its workers reload
    # the policy themselves. Start them past it, as on a host whose
    # policy was written before the service started, so that the memory
    # figures are those of the steady state.
    time.sleep(3)


def compile_snapshots(w):
    """Compiles the snapshot of every policy (w.snapshots) and sets
    w.no_snapshot."""
    # Policy snapshots for the fallback (principals-cmd --compile), in a
    # directory of their own: one in ws.etc would change what they stamp.
    # The plain fallback rows name an absent snapshot, so that they read
    # the YAML whatever this host has in /var/cache/certgate.
    snap_dir = make_dir(os.path.join(w.ws.root, "cache"))
    w.no_snapshot = ["--snapshot", os.path.join(snap_dir, "absent.snapshot")]
    w.snapshots = {}
    for n in SIZES:
        w.snapshots[n] = os.path.join(snap_dir, "policy-%d.snapshot" % n)
        sh([w.pcmd, "--compile", "--policy", w.policies[n], "--snapshot", w.snapshots[n]])
    snap_sizes = {n: os.path.getsize(p) for n, p in w.snapshots.items()}
    log("snapshots: " + ", ".join("%d rules %.2f MB" % (n, snap_sizes[n] / 1e6) for n in SIZES))


def check_snapshots(w):
    """Raises unless every policy is decided from its snapshot (a stale one
    would make the snapshot rows measure the YAML)."""
    for n in w.policies:
        p = subprocess.run([w.pcmd, "--verbose"] + w.with_snapshot(n) + w.decision_args(n),
                           capture_output=True, text=True, timeout=300)
        if "read from its snapshot" not in p.stderr:
            raise RuntimeError("the snapshot of the %d-rule policy is not used:\n%s" % (n, p.stderr))
