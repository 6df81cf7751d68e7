#!/usr/bin/python3
"""A real HTTPS issuer for cafetch tests: serves issuer answers from a
directory and misbehaves on demand.

CLI
  https_issuer.py make-certs DIR
      Makes a test PKI with openssl req/ca in DIR. Every certificate is
      valid from 30 days ago to 30 days ahead (so a client whose clock is
      moved by libfaketime still accepts it), except expired.pem:
        ca.pem                         test CA (trust this as tls.ca_file)
        server.pem, server.key         signed by ca.pem for 127.0.0.1/localhost
        wrongname.pem, wrongname.key   signed by ca.pem for wrong.example only
        expired.pem, expired.key       signed by ca.pem for 127.0.0.1/localhost,
                                       valid from 10 days ago to 1 day ago
        other-ca.pem, other.pem, other.key   an unrelated CA and its server cert
        server.pin                     base64 SHA-256 of server.pem's SPKI
                                       (for tls.pin_sha256)
  https_issuer.py serve --root DIR --cert PEM --key KEY
                        [--port N] [--port-file FILE] [--log FILE]
      Serves over TLS on 127.0.0.1:N (N=0, the default, picks a free port;
      the port is written to --port-file once listening, and printed as
      "PORT N" on stdout). Runs until killed.

Answers (GET or POST)
  /PATH              the file ROOT/PATH, 200 with ETag ("sha256 hex") and
                     Last-Modified (file mtime); If-None-Match equal to the
                     ETag, or (without If-None-Match) If-Modified-Since not
                     older than the file, gives 304. A missing file gives 404. Files are read
                     at every request, so a test can rotate keys by rewriting
                     them.
  /_mode/MODE/PATH   misbehave (MODE below) instead of serving PATH.
  ROOT/PATH.mode     if this file exists, its first word is the MODE used
                     for /PATH (lets a test change behaviour of one URL).
  ROOT/PATH.etag, ROOT/PATH.last-modified
                     if present, their exact bytes (read as Latin-1) are
                     sent as the ETag / Last-Modified of /PATH instead of
                     the computed ones (lets a test send odd validators).
MODE
  500        HTTP 500 with a short body
  401, 403   HTTP 401 / 403 with a short body (credentials refused)
  empty      200 with an empty body
  garbage    200 with random bytes
  oversized  200 with 2 MiB of key-looking text
  slow       200, then one byte every 2 s (never finishes in time)
  stall      reads the request and never answers (until the client leaves)
  slowloris  sends the status line and headers one byte every 0.5 s (too
             fast for a 1 byte/s low-speed cutoff), never ending them
  truncated  200 with Content-Length: 4096, then the first 100 bytes of
             ROOT/PATH and the connection is closed
  huge       200 with Content-Length: 10 GiB, the body streamed lazily
  huge-chunked    200, chunked, no Content-Length, 10 GiB streamed lazily
  delay[:S]  waits S seconds (default 1.5), then serves ROOT/PATH normally
             (only in a PATH.mode file, not as /_mode/)
  redirect-http   302 to http://127.0.0.1:PORT/PATH
  redirect-https  302 to https://127.0.0.1:PORT/PATH
  not-modified    304 Not Modified, whatever validators the request carries
--log FILE appends one JSON object per request: method, path, headers, body.
"""
import argparse
import base64
import email.utils
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# openssl ca, not x509 -req: OpenSSL 3.0's x509 cannot set a start date.
CA_CONF = """[ca]
default_ca = test_ca
[test_ca]
dir = %(dir)s
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
commonName = supplied
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
subjectAltName = %(san)s
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
"""


def asn1_time(offset_days):
    t = time.gmtime(time.time() + offset_days * 86400)
    return time.strftime("%Y%m%d%H%M%SZ", t)


def make_certs(d):
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)
    state = p("openssl-ca")
    os.makedirs(os.path.join(state, "issued"), exist_ok=True)

    def sign(name, ca, ext, san, start_days, end_days):
        """openssl ca: NAME.csr -> NAME.pem, signed by CA (itself if None)."""
        for f, text in (("index.txt", ""), ("serial", "%016X\n" % int.from_bytes(os.urandom(7), "big"))):
            with open(os.path.join(state, f), "w") as out:
                out.write(text)
        conf = p(name + ".cnf")
        with open(conf, "w") as f:
            f.write(CA_CONF % {"dir": state, "san": san or "DNS:unused"})
        argv = ["ca", "-batch", "-notext", "-config", conf, "-in", p(name + ".csr"),
                "-out", p(name + ".pem"), "-extensions", ext,
                "-startdate", asn1_time(start_days), "-enddate", asn1_time(end_days)]
        if ca is None:
            argv += ["-selfsign", "-keyfile", p(name + ".key")]
        else:
            argv += ["-cert", p(ca + ".pem"), "-keyfile", p(ca + ".key")]
        openssl(*argv)

    def request(name, cn):
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + cn)

    for ca in ("ca", "other-ca"):
        request(ca, "certgate test " + ca)
        sign(ca, None, "ca_ext", None, -30, 30)
    for name, ca, san, start, end in (
            ("server", "ca", "IP:127.0.0.1,DNS:localhost", -30, 30),
            ("wrongname", "ca", "DNS:wrong.example", -30, 30),
            ("expired", "ca", "IP:127.0.0.1,DNS:localhost", -10, -1),
            ("other", "other-ca", "IP:127.0.0.1,DNS:localhost", -30, 30)):
        request(name, name)
        sign(name, ca, "leaf_ext", san, start, end)
    spki = subprocess.run(["openssl", "x509", "-in", p("server.pem"), "-pubkey", "-noout"],
                          check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki,
                         check=True, capture_output=True).stdout
    with open(p("server.pin"), "w") as f:
        f.write(base64.b64encode(hashlib.sha256(der).digest()).decode() + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def record(self, body):
        log = self.server.log_path
        if not log:
            return
        entry = {"method": self.command, "path": self.path,
                 "headers": {k: v for k, v in self.headers.items()},
                 "body": body.decode("utf-8", "replace")}
        with self.server.log_lock, open(log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def misbehave(self, mode, path):
        port = self.server.server_address[1]
        if mode == "500":
            self.send(500, b"internal error\n")
        elif mode in ("401", "403"):
            self.send(int(mode), b"access denied\n")
        elif mode == "empty":
            self.send(200, b"", [("Content-Type", "text/plain")])
        elif mode == "garbage":
            self.send(200, os.urandom(4096), [("Content-Type", "text/plain")])
        elif mode == "oversized":
            line = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEl4b0w3bG9ja3NfbG9va19saWtlX2tleXNfX19f big\n"
            body = line * (2 * 1024 * 1024 // len(line) + 1)
            self.send(200, body, [("Content-Type", "text/plain")])
        elif mode == "slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"#")
                    self.wfile.flush()
                    time.sleep(2)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                pass
        elif mode == "stall":
            # Holds the connection open, answering nothing, until the client
            # gives up (or 10 minutes pass).
            self.connection.settimeout(600)
            try:
                self.connection.recv(1)
            except (OSError, ssl.SSLError):
                pass
            self.close_connection = True
        elif mode == "slowloris":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: "
            try:
                for i in range(100000):
                    self.wfile.write(head[i:i + 1] if i < len(head) else b"a")
                    self.wfile.flush()
                    time.sleep(0.5)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                pass
            self.close_connection = True
        elif mode == "truncated":
            data = self.read_root_file(path) or b"ssh-ed25519 AAAA"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "4096")
            self.end_headers()
            self.wfile.write(data[:100])
            self.wfile.flush()
            self.close_connection = True
        elif mode in ("huge", "huge-chunked"):
            self.send_huge(chunked=mode == "huge-chunked")
        elif mode == "redirect-http":
            self.send(302, b"", [("Location", "http://127.0.0.1:%d/%s" % (port, path))])
        elif mode == "redirect-https":
            self.send(302, b"", [("Location", "https://127.0.0.1:%d/%s" % (port, path))])
        elif mode == "not-modified":
            self.send(304)
        else:
            self.send(400, b"unknown mode\n")

    def read_root_file(self, path):
        """The bytes of ROOT/PATH, or None."""
        root = os.path.realpath(self.server.root)
        full = os.path.realpath(os.path.join(root, path))
        if not full.startswith(root + os.sep):
            return None
        try:
            with open(full, "rb") as f:
                return f.read()
        except OSError:
            return None

    def send_huge(self, chunked, total=10 * 1024 ** 3):
        """Streams |total| bytes of key-looking lines without ever holding
        more than one 64 KiB block; stops when the client hangs up."""
        line = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEl4b0w3bG9ja3NfbG9va19saWtlX2tleXNfX19f big\n"
        block = line * (65536 // len(line))

        def blocks():
            sent = 0
            while sent < total:
                piece = block[:min(len(block), total - sent)]
                sent += len(piece)
                yield piece

        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        try:
            for piece in blocks():
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    self.wfile.write(piece)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.record(body)
        path = self.path.split("?", 1)[0].lstrip("/")
        if path.startswith("_mode/"):
            parts = path.split("/", 2)
            return self.misbehave(parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "")
        root = os.path.realpath(self.server.root)
        full = os.path.realpath(os.path.join(root, path))
        if not full.startswith(root + os.sep):
            return self.send(404, b"not found\n")
        if os.path.isfile(full + ".mode"):
            with open(full + ".mode") as f:
                words = f.read().split()
            if words and words[0].startswith("delay"):
                time.sleep(float(words[0].partition(":")[2] or 1.5))
            elif words:
                return self.misbehave(words[0], path)
        if not os.path.isfile(full):
            return self.send(404, b"not found\n")
        with open(full, "rb") as f:
            data = f.read()
        etag = '"' + hashlib.sha256(data).hexdigest() + '"'
        modified = email.utils.formatdate(os.stat(full).st_mtime, usegmt=True)
        def given(suffix, computed):
            if not os.path.isfile(full + suffix):
                return computed
            with open(full + suffix, "rb") as f:
                return f.read().decode("latin-1")
        etag = given(".etag", etag)
        modified = given(".last-modified", modified)
        headers = [("ETag", etag), ("Last-Modified", modified)]
        if self.headers.get("If-None-Match") == etag:
            return self.send(304, b"", headers)
        since = self.headers.get("If-Modified-Since")
        if since and not self.headers.get("If-None-Match"):
            try:
                if email.utils.parsedate_to_datetime(since).timestamp() >= int(os.stat(full).st_mtime):
                    return self.send(304, b"", headers)
            except (TypeError, ValueError):
                pass
        ctype = "application/json" if data.lstrip()[:1] in (b"{", b"[") else "text/plain"
        self.send(200, data, headers + [("Content-Type", ctype)])

    do_GET = handle_any
    do_POST = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hang up on purpose (oversized, slow, bad TLS)


def serve(args):
    server = Server(("127.0.0.1", args.port), Handler)
    server.root = args.root
    server.log_path = args.log
    server.log_lock = threading.Lock()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("PORT %d" % port, flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description="HTTPS issuer for cafetch tests")
    sub = parser.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make-certs")
    mk.add_argument("dir")
    sv = sub.add_parser("serve")
    sv.add_argument("--root", required=True)
    sv.add_argument("--cert", required=True)
    sv.add_argument("--key", required=True)
    sv.add_argument("--port", type=int, default=0)
    sv.add_argument("--port-file")
    sv.add_argument("--log")
    args = parser.parse_args()
    if args.cmd == "make-certs":
        make_certs(args.dir)
    else:
        serve(args)


if __name__ == "__main__":
    sys.exit(main())
