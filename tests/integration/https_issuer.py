#!/usr/bin/python3
"""A real HTTPS issuer for cafetch tests: serves issuer answers from a
directory and misbehaves on demand.

CLI
  https_issuer.py make-certs DIR
      Makes a test PKI with openssl req/x509 in DIR:
        ca.pem                         test CA (trust this as tls.ca_file)
        server.pem, server.key         signed by ca.pem for 127.0.0.1/localhost
        wrongname.pem, wrongname.key   signed by ca.pem for wrong.example only
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
MODE
  500        HTTP 500 with a short body
  empty      200 with an empty body
  garbage    200 with random bytes
  oversized  200 with 2 MiB of key-looking text
  slow       200, then one byte every 2 s (never finishes in time)
  redirect-http   302 to http://127.0.0.1:PORT/PATH
  redirect-https  302 to https://127.0.0.1:PORT/PATH
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


def make_certs(d):
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", p(ca + ".key"), "-out", p(ca + ".pem"), "-days", "2",
                "-subj", "/CN=certgate test " + ca,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    def leaf(name, ca, san):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + name)
        ext = p(name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + san + "\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", p(name + ".csr"), "-CA", p(ca + ".pem"), "-CAkey", p(ca + ".key"),
                "-CAcreateserial", "-out", p(name + ".pem"), "-days", "2", "-extfile", ext)
    leaf("server", "ca", "IP:127.0.0.1,DNS:localhost")
    leaf("wrongname", "ca", "DNS:wrong.example")
    leaf("other", "other-ca", "IP:127.0.0.1,DNS:localhost")
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
        elif mode == "redirect-http":
            self.send(302, b"", [("Location", "http://127.0.0.1:%d/%s" % (port, path))])
        elif mode == "redirect-https":
            self.send(302, b"", [("Location", "https://127.0.0.1:%d/%s" % (port, path))])
        else:
            self.send(400, b"unknown mode\n")

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
            if words:
                return self.misbehave(words[0], path)
        if not os.path.isfile(full):
            return self.send(404, b"not found\n")
        with open(full, "rb") as f:
            data = f.read()
        etag = '"' + hashlib.sha256(data).hexdigest() + '"'
        modified = email.utils.formatdate(os.stat(full).st_mtime, usegmt=True)
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
