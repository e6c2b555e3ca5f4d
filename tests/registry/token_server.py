#!/usr/bin/python3
"""token_server.py - a minimal docker/distribution token server (RS256 JWT with x5c) for hako's registry tests.

GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...]  (optional Basic auth;
     offline_token=true also returns a refresh_token)
POST /token  form: grant_type=password (username, password) or grant_type=refresh_token
     (refresh_token), plus service, scope, client_id -> access_token + refresh_token.
Wrong credentials -> 401. Granted actions = requested actions the user may do;
anonymous may pull names starting with --anonymous-prefix. Signing shells out to
`openssl dgst -sha256 -sign` (stdlib has no RSA). Stdlib only.
"""
import argparse
import base64
import json
import secrets
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--cert", help="TLS server cert (omit both --cert/--key for plain HTTP)")
    p.add_argument("--key")
    p.add_argument("--signing-key", required=True, help="RSA private key (PEM) signing the JWTs")
    p.add_argument("--signing-cert", required=True, help="its certificate (PEM), sent as x5c")
    p.add_argument("--issuer", required=True)
    p.add_argument("--service", required=True)
    p.add_argument("--users", nargs="*", default=[], help="NAME:PASSWORD:ACTION,ACTION ('*' = all)")
    p.add_argument("--anonymous-prefix", action="append", default=[])
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--log", help="JSON-lines request log")
    return p.parse_args()


ARGS = parse_args()
USERS = {}  # name -> (password, set of actions)
for spec in ARGS.users:
    name, password, actions = spec.split(":", 2)
    USERS[name] = (password, set(a for a in actions.split(",") if a))
REFRESH = {}  # refresh token -> user name
LOCK = threading.Lock()
LOGF = open(ARGS.log, "a", buffering=1) if ARGS.log else None


def x5c_chain():
    pem = open(ARGS.signing_cert).read()
    out, body = [], None
    for line in pem.splitlines():
        if "BEGIN CERTIFICATE" in line:
            body = []
        elif "END CERTIFICATE" in line:
            out.append("".join(body))
            body = None
        elif body is not None:
            body.append(line.strip())
    return out


X5C = x5c_chain()


def sign(data):
    r = subprocess.run(["openssl", "dgst", "-sha256", "-sign", ARGS.signing_key],
                       input=data, capture_output=True, check=True)
    return r.stdout


def parse_scope(scope):
    # type:name:actions; a name may contain ':' (host:port/repo), actions never do
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not typ or not name:
        return None
    return typ, name, [a for a in actions.split(",") if a]


def grant(user, scopes):
    access = []
    for s in scopes:
        for one in s.split(" "):  # OAuth2 form scopes are space separated
            parsed = parse_scope(one) if one else None
            if not parsed:
                continue
            typ, name, wanted = parsed
            if user is not None:
                allowed = USERS[user][1]
            elif typ == "repository" and any(name.startswith(p) for p in ARGS.anonymous_prefix):
                allowed = {"pull"}
            else:
                allowed = set()
            got = [a for a in wanted if a in allowed or "*" in allowed]
            access.append({"type": typ, "name": name, "actions": got})
    return access


def make_jwt(user, access, service):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": X5C}
    claims = {"iss": ARGS.issuer, "sub": user or "", "aud": service or ARGS.service,
              "exp": now + ARGS.expires, "nbf": now - 10, "iat": now,
              "jti": secrets.token_hex(16), "access": access}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    return signing_input + "." + b64url(sign(signing_input.encode())), now


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hako-test-token/1"

    def setup(self):
        if CTX is not None:
            self.request.settimeout(30)
            self.request = CTX.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, fmt, *a):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % a))

    def record(self, query, user, status, granted=None, grant_type=None):
        if LOGF:
            entry = {"time": time.time(), "method": self.command, "path": self.path.split("?")[0],
                     "query": query, "auth": "Authorization" in self.headers, "user": user,
                     "status": status, "granted": granted}
            if grant_type:
                entry["grant_type"] = grant_type
            with LOCK:
                LOGF.write(json.dumps(entry) + "\n")

    def reply(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def basic_user(self):
        """(ok, user): ok False on bad credentials, user None when anonymous."""
        h = self.headers.get("Authorization")
        if not h:
            return True, None
        kind, _, cred = h.partition(" ")
        if kind.lower() != "basic":
            return False, None
        try:
            name, _, password = base64.b64decode(cred.strip()).decode().partition(":")
        except Exception:
            return False, None
        return self.check(name, password)

    @staticmethod
    def check(name, password):
        u = USERS.get(name)
        if u is None or not secrets.compare_digest(u[0], password):
            return False, name
        return True, name

    def token_reply(self, user, scopes, service, query, refresh=False, grant_type=None):
        access = grant(user, scopes)
        token, now = make_jwt(user, access, service)
        resp = {"token": token, "access_token": token, "expires_in": ARGS.expires,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
        if refresh and user is not None:
            rt = secrets.token_urlsafe(24)
            with LOCK:
                REFRESH[rt] = user
            resp["refresh_token"] = rt
        if scopes:
            resp["scope"] = " ".join(scopes)
        self.record(query, user, 200, access, grant_type)
        self.reply(200, resp)

    def unauthorized(self, query, user, grant_type=None):
        self.record(query, user, 401, None, grant_type)
        self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                   {"WWW-Authenticate": 'Basic realm="hako-test-token"'})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            self.record(url.query, None, 404)
            return self.reply(404, {"error": "not found"})
        q = urllib.parse.parse_qs(url.query)
        ok, user = self.basic_user()
        if not ok:
            return self.unauthorized(url.query, user)
        self.token_reply(user, q.get("scope", []), q.get("service", [ARGS.service])[0], url.query,
                         refresh=q.get("offline_token", [""])[0] == "true")

    do_HEAD = do_GET

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        if url.path != "/token":
            self.record(url.query, None, 404)
            return self.reply(404, {"error": "not found"})
        f = urllib.parse.parse_qs(raw)
        get = lambda k: f.get(k, [""])[0]
        gt = get("grant_type")
        scopes = f.get("scope", [])
        service = get("service") or ARGS.service
        if gt == "password":
            ok, user = self.check(get("username"), get("password"))
            if not ok:
                return self.unauthorized(url.query, user, gt)
            return self.token_reply(user, scopes, service, url.query, refresh=True, grant_type=gt)
        if gt == "refresh_token":
            with LOCK:
                user = REFRESH.get(get("refresh_token"))
            if user is None:
                return self.unauthorized(url.query, None, gt)
            return self.token_reply(user, scopes, service, url.query, refresh=True, grant_type=gt)
        self.record(url.query, None, 400, None, gt)
        self.reply(400, {"error": "unsupported_grant_type"})


CTX = None
if ARGS.cert:
    CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    CTX.load_cert_chain(ARGS.cert, ARGS.key)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    srv = Server((ARGS.host, ARGS.port), Handler)
    print("ready", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
