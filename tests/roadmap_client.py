#!/usr/bin/env python3
"""HTTP client for the roadmap topology (tests/topology.sh up-roadmap), run in the client host:

    ip netns exec qdpt-client python3 tests/roadmap_client.py MODE --url URL [options]

Each backend answers its own name ("web1", "web2", ...) at /; the client reports which backend
answered. Output is JSON on stdout, one object per line. Every connect, send and receive gives up
after --timeout seconds (default 2).

  spread --url URL --count N
      N requests, each on a new TCP connection (so a new source port), "Connection: close".
      Prints {"backends": {"web1": n1, ...}, "errors": e}.
  same --url URL --count N --sport P
      N requests, each on a new connection from the same source address and port P; each
      connection ends with RST (SO_LINGER 0), so that the same 4-tuple is free again at once.
      Prints {"backends": [b0, b1, ...], "errors": e} (the backends in order; a failed request
      is left out of the list and counted in errors).
  hold --url URL --connections N
      N persistent HTTP/1.1 keep-alive connections, one GET on each; prints
      {"round": 0, "backends": [b0, ...]} (null for a connection that failed). Then, for each line
      read on stdin, one more GET on each connection (never reconnecting: a broken connection
      stays null) and the next round. Exits at end of input, closing every connection.
"""
import argparse
import http.client
import json
import socket
import struct
import sys
import urllib.parse


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def parse_url(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        raise SystemExit(f"not an http URL with a host: {url}")
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    return u.hostname, u.port or 80, path


def body_name(resp):
    data = resp.read()
    if resp.status != 200:
        raise OSError(f"HTTP {resp.status}")
    return data.decode("utf-8", "replace").strip()


class BoundConnection(http.client.HTTPConnection):
    """An HTTPConnection whose socket is bound to a fixed source port before connecting and that
    closes with RST, leaving no TIME_WAIT behind."""

    def __init__(self, host, port, timeout, sport):
        super().__init__(host, port, timeout=timeout)
        self.sport = sport

    def connect(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.settimeout(self.timeout)
            s.bind(("0.0.0.0", self.sport))
            s.connect((self.host, self.port))
        except BaseException:
            s.close()
            raise
        self.sock = s


def one_request(conn, path):
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        return body_name(conn.getresponse())
    finally:
        conn.close()


def spread(args):
    host, port, path = parse_url(args.url)
    backends, errors = {}, 0
    for _ in range(args.count):
        try:
            name = one_request(http.client.HTTPConnection(host, port, timeout=args.timeout), path)
        except (OSError, http.client.HTTPException):
            errors += 1
            continue
        backends[name] = backends.get(name, 0) + 1
    emit({"backends": backends, "errors": errors})


def same(args):
    host, port, path = parse_url(args.url)
    backends, errors = [], 0
    for _ in range(args.count):
        try:
            name = one_request(BoundConnection(host, port, args.timeout, args.sport), path)
        except (OSError, http.client.HTTPException):
            errors += 1
            continue
        backends.append(name)
    emit({"backends": backends, "errors": errors})


def hold(args):
    host, port, path = parse_url(args.url)
    conns = []
    for _ in range(args.connections):
        c = http.client.HTTPConnection(host, port, timeout=args.timeout)
        try:
            c.connect()
        except OSError:
            c.close()
            c = None
        conns.append(c)

    def get(i):
        c = conns[i]
        if c is None:
            return None
        try:
            # HTTPConnection reconnects by itself once its socket is gone; a connection that
            # broke must stay broken.
            if c.sock is None:
                raise OSError("connection closed")
            c.request("GET", path)
            resp = c.getresponse()
            name = body_name(resp)
        except (OSError, http.client.HTTPException):
            c.close()
            conns[i] = None
            return None
        if resp.will_close:  # answered, but the connection ends here
            c.close()
            conns[i] = None
        return name

    rnd = 0
    try:
        while True:
            emit({"round": rnd, "backends": [get(i) for i in range(len(conns))]})
            if not sys.stdin.readline():
                break
            rnd += 1
    finally:
        for c in conns:
            if c is not None:
                c.close()


def main():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", required=True, help="http://HOST[:PORT]/PATH")
    common.add_argument("--timeout", type=float, default=2.0, help="seconds per network operation")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("spread", parents=[common])
    s.add_argument("--count", type=int, required=True)
    s = sub.add_parser("same", parents=[common])
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--sport", type=int, required=True)
    s = sub.add_parser("hold", parents=[common])
    s.add_argument("--connections", type=int, required=True)
    args = p.parse_args()
    {"spread": spread, "same": same, "hold": hold}[args.mode](args)


if __name__ == "__main__":
    main()
