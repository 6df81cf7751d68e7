"""SyslogTap: records what the helpers log through syslog in the tests.

The helpers log to the journal when it runs, else to syslog (authpriv)
through /dev/log. A SyslogTap binds /dev/log when no syslog daemon owns
it and keeps every datagram, so that a test can read what one login or
one run logged (mark() and since()). Python 3 standard library only.
"""

import os
import socket
import threading
import time

DEV_LOG = "/dev/log"


class SyslogTap:
    """Listens on /dev/log when nobody else does; records datagrams.

    `available` is False (and nothing is bound) when another syslog daemon
    owns /dev/log; tests then rely on the helper's --verbose stderr in the
    sshd log.
    """

    def __init__(self, path=DEV_LOG):
        self.path = path
        self.available = False
        self.why = ""
        self._records = []
        self._lock = threading.Lock()
        self._barriers = 0
        self._sock = None
        self._stop = False
        if os.path.exists(path) or os.path.islink(path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                probe.connect(path)
                self.why = "%s is owned by a running syslog daemon" % path
                return
            except OSError:
                pass  # stale socket file: ours to replace
            finally:
                probe.close()
            try:
                os.unlink(path)
            except OSError as e:
                self.why = "cannot replace stale %s: %s" % (path, e)
                return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.bind(path)
        except OSError as e:
            self.why = "cannot bind %s: %s" % (path, e)
            s.close()
            return
        os.chmod(path, 0o666)  # the helpers run as nobody
        s.settimeout(0.2)
        self._sock = s
        self.available = True
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop:
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._records.append(data.decode("utf-8", "replace"))

    BARRIER = "certgate-test-barrier"

    def mark(self):
        """Where the records of what happens next start: after every record
        sent before this call. A helper's datagram may still wait in the
        socket when it has exited, so a barrier datagram is sent and waited
        for (a datagram socket keeps the order of what is sent to it)."""
        if self.available:
            self._barriers += 1
            token = "<191>%s %d %d" % (self.BARRIER, os.getpid(), self._barriers)
            with self._lock:
                before = len(self._records)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                s.sendto(token.encode(), self.path)
            finally:
                s.close()
            deadline = time.time() + 5
            while time.time() < deadline:
                with self._lock:
                    if token in self._records[before:]:
                        return len(self._records)
                time.sleep(0.005)
        with self._lock:
            return len(self._records)

    def since(self, mark):
        with self._lock:
            return [r for r in self._records[mark:] if self.BARRIER not in r]

    def close(self):
        if not self.available:
            return
        self._stop = True
        self._thread.join(2)
        self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        self.available = False
