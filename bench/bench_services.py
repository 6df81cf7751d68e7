"""The certgate-decide services a run times its helpers through:
start_service() starts one on a socket in the workspace, and
service_memory() reads each one's memory (VmRSS/VmHWM, and through SIGUSR1
its workers' peak and private memory) for the report."""

import os
import re
import subprocess
import time

from bench_common import h


def start_service(decide, run_dir, root, name, policy, services):
    """Starts `decide` on RUN_DIR/NAME.sock for POLICY (log ROOT/NAME.log),
    appends it to SERVICES (stopped at the end) and returns its entry once
    the socket exists."""
    sock = os.path.join(run_dir, name + ".sock")
    logf = os.path.join(root, name + ".log")
    with open(logf, "ab") as lf:
        # The helpers run as nobody (and sshd's command user is nobody):
        # the service serves only its --client-user.
        proc = subprocess.Popen([decide, "--socket", sock, "--policy", policy,
                                 "--client-user", h.COMMAND_USER, "--verbose"],
                                stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, cwd="/")
    services.append(proc)
    deadline = time.time() + 120
    while not os.path.exists(sock):
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("%s did not start; see %s" % (decide, logf))
        time.sleep(0.05)
    return {"sock": sock, "log": logf, "proc": proc, "args": ["--socket", sock]}


def service_memory(svc, before=None):
    """Memory of each certgate-decide service: its VmRSS and VmHWM now (its
    ru_maxrss is useless: it survives execve from the Python parent), and,
    from its SIGUSR1 stats line, its largest worker's peak RSS (wait4
    ru_maxrss, which counts the pages shared copy-on-write with the service)
    and the largest private memory (smaps_rollup Private_*) of a request."""
    out = dict(before or {})
    for n, s in svc.items():
        proc = s["proc"]
        if proc.poll() is not None:
            continue
        status = {}
        try:
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    status[k] = v.strip()
        except OSError:
            pass
        size = os.path.getsize(s["log"])
        os.kill(proc.pid, 10)  # SIGUSR1
        text = ""
        for _ in range(100):
            time.sleep(0.02)
            with open(s["log"]) as f:
                f.seek(size)
                text = f.read()
            if "stats:" in text:
                break
        m = re.search(r"stats: (\d+) requests; peak RSS (\d+) KiB \(service\), (\d+) KiB"
                      r"[^,]*, (\d+) KiB", text)
        out[n] = {"vmrss": status.get("VmRSS", "?"), "vmhwm": status.get("VmHWM", "?"),
                  "requests": int(m.group(1)) if m else None,
                  "service_peak_kib": int(m.group(2)) if m else None,
                  "child_peak_kib": int(m.group(3)) if m else None,
                  "child_private_kib": int(m.group(4)) if m else None}
    return out
