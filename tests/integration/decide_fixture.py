"""What the certgate-decide service tests share: the world (a user, a CA,
the installed client and certgate-decide, a run directory), a one-rule
policy, and Notifications, a stand-in for systemd's notify socket.

test_decide_service.py starts the service as systemd does (the socket
handed over); test_decide_own_socket.py starts it binding its own socket.
Both set DecideWorld.binary to the principals-cmd under test first.
"""

import os
import re
import socket
import struct
import time

import sshd_harness as h

PREFIX = "cgd"  # users and groups of the decide tests
ALICE = PREFIX + "_alice"


class DecideWorld(h.World):
    TAG = "d"
    binary = None  # the principals-cmd under test; certgate-decide is beside it

    @classmethod
    def populate(cls):
        cls.users.user(ALICE)
        cls.ca_prod = cls.keys.make_key("ca-prod")
        cls.trusted = cls.ws.write(os.path.join(cls.ws.etc, "trusted_user_ca_keys"),
                                   h.Keys.pub_line(cls.ca_prod) + "\n")
        cls.bin = cls.ws.install(cls.binary, "principals-cmd")
        cls.decide_bin = cls.ws.install(
            os.path.join(os.path.dirname(os.path.realpath(cls.binary)), "certgate-decide"),
            "certgate-decide")
        cls.run_dir = os.path.join(cls.ws.root, "run")
        os.makedirs(cls.run_dir, mode=0o755, exist_ok=True)
        os.chmod(cls.run_dir, 0o755)


def policy_text(w, principals=("ops",)):
    return h.policy_yaml({
        "version": 1,
        "authorities": {"prod": {"keys": [h.Keys.pub_line(w.ca_prod) + " prod-ca"]}},
        "rules": [{"users": [ALICE], "authorities": ["prod"], "principals": list(principals)}],
    })


class Notifications:
    """A stand-in for systemd's notify socket: every datagram with the pid
    that sent it (SCM_CREDENTIALS)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.got = []  # (pid, text)

    def _receive(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return False
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, _, _ = struct.unpack("iII", payload[:12])
        self.got.append((pid, data.decode("utf-8", "replace")))
        return True

    def wait_for(self, pattern, timeout=10):
        """The first message (from the start) matching |pattern|, waiting up
        to |timeout| seconds for it; None if none came."""
        deadline = time.time() + timeout
        while True:
            for pid, text in self.got:
                if re.search(pattern, text):
                    return pid, text
            left = deadline - time.time()
            if left <= 0 or not self._receive(left):
                return None

    def drain(self, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            self._receive(deadline - time.time())

    def close(self):
        self.sock.close()
