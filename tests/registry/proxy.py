#!/usr/bin/python3
# proxy.py - a tiny HTTP proxy for hako's tests (CONNECT tunnels and absolute-form GETs), 127.0.0.x only.
#
#   proxy.py --port P --log FILE
#
# Listens on 127.0.0.1:P. CONNECT host:port opens a tunnel; "GET http://host:port/path"
# is forwarded. Only 127.0.0.0/8 targets are allowed (anything else: 403). Every
# request line is logged to FILE as a JSON line {"method", "target"}.
import argparse, json, socket, socketserver, threading

def log(path, method, target):
    with open(path, "a") as f:
        f.write(json.dumps({"method": method, "target": target}) + "\n")

def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(65536)
            if not d:
                return
            head += d
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        log(self.server.logpath, method, target)
        if method == "CONNECT":
            hostport = target
        else:
            rest = target.split("://", 1)[1]
            hostport = rest.split("/", 1)[0]
            if ":" not in hostport:
                hostport += ":80"
            path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
            head = head.replace(target.encode(), path.encode(), 1)
        host, port = hostport.rsplit(":", 1)
        if not host.startswith("127."):
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        up = socket.create_connection((host, int(port)), timeout=30)
        up.settimeout(None)
        if method == "CONNECT":
            c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            extra = head.split(b"\r\n\r\n", 1)[1]
            if extra:
                up.sendall(extra)
        else:
            up.sendall(head)
        t = threading.Thread(target=pipe, args=(up, c), daemon=True)
        t.start()
        pipe(c, up)
        t.join()

class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.logpath = a.log
    print("ready", flush=True)
    srv.serve_forever()

if __name__ == "__main__":
    main()
