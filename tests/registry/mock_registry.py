#!/usr/bin/python3
"""mock_registry.py - a scripted, pull-only OCI registry serving one OCI layout, with injectable faults for hako's tests.

  mock_registry.py --port P --layout DIR --repo NAME --log FILE [--faults F1,F2,...] [--redirect-port P2]

Serves GET/HEAD /v2/, /v2/NAME/manifests/REF (tag = index.json ref.name, or digest),
/v2/NAME/blobs/DIGEST (Range: bytes=N- / N-M -> 206), /v2/NAME/tags/list on 127.0.0.1:P.
Faults (blob faults hit layer blobs only, never configs or manifests):
  429:K:S      first K GETs of each layer answer 429, Retry-After: S
  503:K        the next K GETs of each layer answer 503 (after any 429s)
  cut:N        first served GET of each layer: full Content-Length, N body bytes, then close
               (FIN after the N bytes; a body of <= N bytes is sent whole)
  norange      ignore Range (always 200 + whole body)
  baddigest    layer bodies have their middle byte flipped
  redirect     layer GETs -> 307 to http://127.0.0.2:P2/blobdata/DIGEST?sig=x (the "CDN",
               same process; needs sig=x; cut/norange/baddigest/slow then apply there)
  slow:N:S     a layer body stalls S seconds when it reaches blob offset N (a GET starting at
               or after N does not stall)
  auth         everything but /token needs "Authorization: Bearer good-token"; else 401 with a
               Bearer challenge (realm http://127.0.0.1:P/token, service "mock"); GET /token
               returns {"token":"good-token"}
  scopefail:K  (with auth) the first K manifest requests carrying the token get 401
               error="insufficient_scope"
Log: one JSON line per request: host (listener addr:port), method, path, query, range,
auth (Authorization header present), status, bytes_sent. Prints "ready" once listening.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MT_INDEXES = ("application/vnd.oci.image.index.v1+json",
              "application/vnd.docker.distribution.manifest.list.v2+json")
CHUNK = 64 * 1024


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--layout", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--faults", default="")
    p.add_argument("--redirect-port", type=int, help="CDN port on 127.0.0.2 (default: --port)")
    return p.parse_args()


def parse_faults(spec):
    f = {}
    for item in filter(None, spec.split(",")):
        parts = item.split(":")
        name, vals = parts[0], parts[1:]
        want = {"429": 2, "503": 1, "cut": 1, "norange": 0, "baddigest": 0, "redirect": 0,
                "slow": 2, "auth": 0, "scopefail": 1}
        if name not in want or len(vals) != want[name]:
            sys.exit("mock_registry.py: bad fault '%s'" % item)
        f[name] = [float(v) if name == "slow" and i == 1 else int(v) for i, v in enumerate(vals)]
    return f


ARGS = parse_args()
FAULTS = parse_faults(ARGS.faults)
CDN_PORT = ARGS.redirect_port or ARGS.port
BLOBDIR = os.path.join(ARGS.layout, "blobs", "sha256")
LOCK = threading.Lock()
LOGF = open(ARGS.log, "a", buffering=1)
GETS = {}     # layer digest -> GETs seen by the registry (for 429/503)
SERVED = {}   # layer digest -> bodies started (for cut)
SCOPEFAILS = [0]


def blob_path(digest):
    if not digest.startswith("sha256:") or len(digest) != 71 or \
            any(c not in "0123456789abcdef" for c in digest[7:]):
        return None
    p = os.path.join(BLOBDIR, digest[7:])
    return p if os.path.isfile(p) else None


def load_layout():
    with open(os.path.join(ARGS.layout, "index.json")) as f:
        index = json.load(f)
    tags, manifests, layers = {}, {}, set()
    todo = list(index.get("manifests", []))
    for d in todo:
        ref = d.get("annotations", {}).get("org.opencontainers.image.ref.name")
        if ref:
            tags[ref] = d["digest"]
    while todo:
        d = todo.pop()
        with open(blob_path(d["digest"]), "rb") as f:
            m = json.load(f)
        mt = d.get("mediaType") or m.get("mediaType")
        manifests[d["digest"]] = mt
        if mt in MT_INDEXES:
            todo.extend(m.get("manifests", []))
        else:
            layers.update(l["digest"] for l in m.get("layers", []))
    return tags, manifests, layers


TAGS, MANIFESTS, LAYERS = load_layout()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hako-mock-registry/1"

    def log_message(self, fmt, *a):
        pass

    def send_response(self, code, message=None):
        self.status = code
        super().send_response(code, message)

    # --- plumbing -------------------------------------------------------------
    def handle_one_request(self):
        self.status, self.bytes_sent = None, 0
        super().handle_one_request()

    def record(self):
        url = urllib.parse.urlsplit(self.path)
        host, port = self.server.server_address[:2]
        entry = {"time": round(time.time(), 3), "host": "%s:%d" % (host, port),
                 "method": self.command, "path": url.path, "query": url.query,
                 "range": self.headers.get("Range"), "auth": "Authorization" in self.headers,
                 "status": self.status, "bytes_sent": self.bytes_sent}
        with LOCK:
            LOGF.write(json.dumps(entry) + "\n")

    def write(self, data):
        self.wfile.write(data)
        self.bytes_sent += len(data)

    def simple(self, status, body=b"", ctype="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.write(body)

    def error(self, status, code, msg, headers=()):
        self.simple(status, {"errors": [{"code": code, "message": msg}]}, headers=headers)

    def dispatch(self):
        try:
            if self.server.role == "cdn":
                self.cdn()
            else:
                self.registry()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        finally:
            self.record()

    def do_GET(self):
        self.dispatch()

    do_HEAD = do_GET

    def unsupported(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        try:
            self.error(405, "UNSUPPORTED", "the mock registry is pull-only")
        finally:
            self.record()

    do_POST = do_PUT = do_PATCH = do_DELETE = unsupported

    # --- registry -------------------------------------------------------------
    def challenge(self, scope, error=None):
        v = 'Bearer realm="http://127.0.0.1:%d/token",service="mock"' % ARGS.port
        if scope:
            v += ',scope="repository:%s:pull"' % ARGS.repo
        if error:
            v += ',error="%s"' % error
        return [("WWW-Authenticate", v)]

    def registry(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if "auth" in FAULTS:
            if path == "/token":
                return self.simple(200, {"token": "good-token", "access_token": "good-token",
                                         "expires_in": 300})
            if self.headers.get("Authorization") != "Bearer good-token":
                return self.error(401, "UNAUTHORIZED", "authentication required",
                                  self.challenge(path not in ("/v2", "/v2/")))
        if path in ("/v2", "/v2/"):
            return self.simple(200, b"{}")
        prefix = "/v2/%s/" % ARGS.repo
        if not path.startswith(prefix):
            return self.error(404, "NAME_UNKNOWN", "repository name not known to registry")
        kind, _, ref = path[len(prefix):].partition("/")
        if kind == "tags" and ref == "list":
            return self.simple(200, {"name": ARGS.repo, "tags": sorted(TAGS)})
        if kind == "manifests":
            return self.manifest(ref)
        if kind == "blobs":
            return self.blob(ref)
        self.error(404, "NOT_FOUND", "not found")

    def manifest(self, ref):
        if "scopefail" in FAULTS and "auth" in FAULTS:
            with LOCK:
                fail = SCOPEFAILS[0] < FAULTS["scopefail"][0]
                SCOPEFAILS[0] += fail
            if fail:
                return self.error(401, "UNAUTHORIZED", "insufficient scope",
                                  self.challenge(True, "insufficient_scope"))
        digest = TAGS.get(ref, ref)
        if digest not in MANIFESTS:
            return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        with open(blob_path(digest), "rb") as f:
            body = f.read()
        self.simple(200, body, MANIFESTS[digest], [("Docker-Content-Digest", digest)])

    def blob(self, digest):
        p = blob_path(digest)
        if p is None:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        layer = digest in LAYERS
        if self.command == "GET" and layer:
            with LOCK:
                n = GETS[digest] = GETS.get(digest, 0) + 1
            k429 = FAULTS.get("429", [0, 0])
            if n <= k429[0]:
                return self.error(429, "TOOMANYREQUESTS", "slow down",
                                  [("Retry-After", str(k429[1]))])
            if n <= k429[0] + FAULTS.get("503", [0])[0]:
                return self.error(503, "UNAVAILABLE", "service unavailable")
            if "redirect" in FAULTS:
                loc = "http://127.0.0.2:%d/blobdata/%s?sig=x" % (CDN_PORT, digest)
                return self.simple(307, b"", "text/plain", [("Location", loc)])
        self.body(p, digest, layer)

    # --- CDN (127.0.0.2) --------------------------------------------------------
    def cdn(self):
        url = urllib.parse.urlsplit(self.path)
        digest = url.path[len("/blobdata/"):] if url.path.startswith("/blobdata/") else ""
        p = blob_path(digest)
        if p is None:
            return self.simple(404, b"no such blob\n", "text/plain")
        if urllib.parse.parse_qs(url.query).get("sig") != ["x"]:
            return self.simple(403, b"bad signature\n", "text/plain")
        self.body(p, digest, digest in LAYERS)

    # --- blob bodies ------------------------------------------------------------
    def body(self, path, digest, layer):
        size = os.path.getsize(path)
        start, end, partial = 0, size - 1, False
        rng = self.headers.get("Range")
        if rng and not (layer and "norange" in FAULTS):
            try:
                unit, _, spec = rng.partition("=")
                a, _, b = spec.strip().partition("-")
                if unit.strip() != "bytes" or "," in spec or not a:
                    raise ValueError
                start = int(a)
                end = min(int(b), size - 1) if b else size - 1
                if start > end or start >= size:
                    raise ValueError
                partial = True
            except ValueError:
                return self.error(416, "RANGE_INVALID", "bad range",
                                  [("Content-Range", "bytes */%d" % size)])
        length = end - start + 1
        self.send_response(206 if partial else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Docker-Content-Digest", digest)
        if partial:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = None
        if layer:
            with LOCK:
                first = SERVED.get(digest, 0) == 0
                SERVED[digest] = SERVED.get(digest, 0) + 1
            if first and "cut" in FAULTS:
                cut = FAULTS["cut"][0]
        flip = size // 2 if layer and "baddigest" in FAULTS else -1
        stall = FAULTS["slow"] if layer and "slow" in FAULTS else None
        pos, limit = start, end + 1 if cut is None else min(end + 1, start + cut)
        with open(path, "rb") as f:
            f.seek(start)
            while pos < limit:
                n = min(CHUNK, limit - pos)
                if stall and pos < stall[0] < pos + n:
                    n = stall[0] - pos
                data = bytearray(f.read(n))
                if pos <= flip < pos + n:
                    data[flip - pos] ^= 0xFF
                self.write(bytes(data))
                pos += n
                if stall and pos == stall[0] and start < stall[0]:
                    self.wfile.flush()
                    time.sleep(stall[1])
        if cut is not None and limit < end + 1:  # only when the body really was cut short
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, role):
        self.role = role
        super().__init__(addr, Handler)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


def main():
    servers = [Server(("127.0.0.1", ARGS.port), "registry")]
    if "redirect" in FAULTS:
        servers.append(Server(("127.0.0.2", CDN_PORT), "cdn"))
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    try:
        servers[0].serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
