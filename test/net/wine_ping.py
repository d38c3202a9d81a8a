#!/usr/bin/env python3
"""The ping server example built for Windows, run under wine, answering a
native Linux client on loopback: starts `wine64 ping_server.exe 0`, reads the
port it reports, connects from this (Linux) process, sends "ping" and a line
to echo, and checks the answers "pong" and the echo.

Usage: wine_ping.py PING_SERVER_EXE
Environment: WEFT_WINE (default /usr/lib/wine/wine64), WINEPREFIX.
Exit 0 pass, 1 fail, 77 skip (no wine)."""
import os
import re
import socket
import subprocess
import sys


def main():
    exe = sys.argv[1]
    wine = os.environ.get("WEFT_WINE", "/usr/lib/wine/wine64")
    if not os.access(wine, os.X_OK):
        print(f"no {wine}: skipped")
        return 77
    env = dict(os.environ, WINEDEBUG="-all")
    srv = subprocess.Popen([wine, exe, "0"], stdout=subprocess.PIPE, env=env)
    try:
        line = srv.stdout.readline().decode(errors="replace")
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            print(f"unexpected first line from the server: {line!r}")
            return 1
        port = int(m.group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
            c.sendall(b"ping\nhello from linux\n")
            got = b""
            while got.count(b"\n") < 2:
                chunk = c.recv(4096)
                if not chunk:
                    break
                got += chunk
        if got != b"pong\nhello from linux\n":
            print(f"wrong answer: {got!r}")
            return 1
        # A second connection: each has its own state.
        with socket.create_connection(("127.0.0.1", port), timeout=60) as c:
            c.sendall(b"pi")
            c.sendall(b"ng\n")
            got = c.recv(16)
        if got != b"pong\n":
            print(f"wrong answer on the second connection: {got!r}")
            return 1
        print(f"ping_server.exe under wine answered on port {port}")
        return 0
    finally:
        srv.kill()
        srv.wait()


if __name__ == "__main__":
    sys.exit(main())
