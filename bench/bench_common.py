"""What every part of bench/run shares: where things are (the bench
directory, the repository, bench/out/), the integration tests' sshd_harness
(imported as h), the policy sizes and the login user and groups of a run,
and log(), sh() and make_dir()."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import sshd_harness as h  # noqa: E402  (Workspace, Keys, Users, Sshd, skip_reason)

SIZES = (10, 1000, 10000, 100000)
COLD_SIZES = (10, 100000)  # sizes with "cold certificate" rows
USER = "cgbench"
GROUPS = ("cgb-ops", "cgb-dev", "cgb-dba")


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def sh(argv, **kw):
    return h.run(argv, **kw)


def make_dir(path):
    """Makes the directory PATH, mode 0755, and returns PATH."""
    os.mkdir(path)
    os.chmod(path, 0o755)
    return path
