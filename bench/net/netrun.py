"""bench/net/netrun.py - the network rows of weft's benchmarks (issue 11).
bench/run imports it; see bench/README.md, "Network rows".

A network case is not one process printing a CSV line, as the other cases
are, but a server and a client: for every run, the server of the
implementation under test is started pinned to core 1 (`taskset -c 1`), the
client pinned to core 0 (`taskset -c 0`), and the server is stopped after.
bench/run interleaves the implementations case by case and run by run as
for every other case.

Three families of cases:

  net/echo_c<N>_<S>     TCP echo ping-pong, one message in flight per
                        connection, N connections, S-byte messages, driven by
                        bench/net/loadgen.c; servers: bench/net/weft_echo.c
                        (weft, weft-epoll), the Tokio and Go net peers
                        (bench/peers/tokio/net/, bench/peers/go/net/) and
                        bench/net/uv_echo.c (libuv).
  net/resp_<test>_c50[_P16]
                        redis-benchmark -t <test> -c 50 [-P 16] against
                        examples/resp_ping (weft, weft-epoll) and
                        redis-server itself (redis).
  net/http_hello_c64    wrk -t1 -c64 --latency against examples/http_hello
                        (weft, weft-epoll) and the Tokio and Go peers'
                        minimal HTTP/1.1 servers.

Convention: a row's figure is **ns per message** (per request), that is
1e9 / (messages per second), so that "lower is better" and the weft/best
ratio of bench/run hold as for every other row; its unit is "ns/msg".
median_ns and mean_ns are the whole recorded window's ns per message;
min_ns, p90_ns and max_ns are those of the loadgen's ten slices of the
window (equal to the median for wrk and redis-benchmark, which report one
total). The messages per second and the round-trip latency percentiles
(p50, p99) go with the row as extra fields and are printed in their own
table and written to net.csv.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

UNIT = "ns/msg"
ECHO_CONNS = [1, 16, 64, 1000]
ECHO_SIZES = [(100, "100B"), (1024, "1KiB")]
RESP_TESTS = ["ping_inline", "ping_mbulk"]
SERVER_CPU = "1"
CLIENT_CPU = "0"


class NetBench:
    """Knows which network cases each implementation has and runs them."""

    def __init__(self, root, build_dir, peers_dir, quick=False, long=False, note=print):
        self.root = root
        self.build = build_dir
        self.peers = peers_dir
        self.quick = quick
        self.long = long
        self.note = note
        # Durations: --quick 1 s (+0.2 s warm-up), default 3 s, --long 10 s.
        if long:
            self.echo_secs, self.warm, self.wrk_secs, self.resp_n = 10.0, 1.0, 10, 1000000
        elif quick:
            self.echo_secs, self.warm, self.wrk_secs, self.resp_n = 1.0, 0.2, 1, 20000
        else:
            self.echo_secs, self.warm, self.wrk_secs, self.resp_n = 3.0, 0.5, 5, 100000
        try:
            ncpu = len(os.sched_getaffinity(0))
        except AttributeError:
            ncpu = os.cpu_count() or 1
        self.pin = shutil.which("taskset") is not None and ncpu >= 2
        if not self.pin:
            note("bench/run: net: no taskset or fewer than 2 usable cores: "
                 "server and client run unpinned")
        self.tools = {
            "loadgen": self._exe(os.path.join(build_dir, "bench", "net", "loadgen")),
            "weft_echo": self._exe(os.path.join(build_dir, "bench", "net", "weft_echo")),
            "uv_echo": self._exe(os.path.join(build_dir, "bench", "net", "uv_echo")),
            "resp_ping": self._exe(os.path.join(build_dir, "examples", "resp_ping")),
            "http_hello": self._exe(os.path.join(build_dir, "examples", "http_hello")),
            "tokio": self._exe(os.path.join(peers_dir, "tokio", "target", "release",
                                            "weft-net-tokio")),
            "go": self._exe(os.path.join(peers_dir, "go", "weft-net-go")),
            "redis-server": shutil.which("redis-server"),
            "redis-benchmark": shutil.which("redis-benchmark"),
            "wrk": shutil.which("wrk"),
        }

    @staticmethod
    def _exe(path):
        return path if os.access(path, os.X_OK) else None

    # -- which cases -------------------------------------------------------

    def echo_cases(self):
        return ["net/echo_c%d_%s" % (c, label) for c in ECHO_CONNS for _, label in ECHO_SIZES]

    def resp_cases(self):
        return ["net/resp_%s_c50%s" % (t, p) for p in ["", "_P16"] for t in RESP_TESTS]

    def http_cases(self):
        return ["net/http_hello_c64"]

    def all_cases(self):
        return self.echo_cases() + self.resp_cases() + self.http_cases()

    def listed(self, impl):
        """The network cases `impl` can run here (weft-epoll is derived from
        weft's by bench/run). Missing tools leave cases out with a note."""
        t = self.tools
        out = []
        if impl == "weft":
            if t["loadgen"] and t["weft_echo"]:
                out += self.echo_cases()
            if t["redis-benchmark"] and t["resp_ping"]:
                out += self.resp_cases()
            if t["wrk"] and t["http_hello"]:
                out += self.http_cases()
        elif impl in ("tokio", "go"):
            if t["loadgen"] and t[impl]:
                out += self.echo_cases()
            if t["wrk"] and t[impl]:
                out += self.http_cases()
        elif impl == "libuv":
            if t["loadgen"] and t["uv_echo"]:
                out += self.echo_cases()
        elif impl == "redis":
            if t["redis-server"] and t["redis-benchmark"]:
                out += self.resp_cases()
        return out

    def missing_notes(self):
        t = self.tools
        notes = []
        for key, what in [("loadgen", "bench/net/loadgen (build-bench)"),
                          ("weft_echo", "bench/net/weft_echo (build-bench)"),
                          ("uv_echo", "bench/net/uv_echo (needs libuv1-dev at meson setup)"),
                          ("redis-server", "redis-server (apt-get install redis-server)"),
                          ("redis-benchmark", "redis-benchmark (apt-get install redis-tools)"),
                          ("wrk", "wrk (apt-get install wrk)")]:
            if not t[key]:
                notes.append("bench/run: net: %s missing; its rows are skipped" % what)
        return notes

    # -- running -----------------------------------------------------------

    def _pinned(self, cpu, cmd):
        return (["taskset", "-c", cpu] + cmd) if self.pin else cmd

    def server_cmd(self, impl, case):
        t = self.tools
        if case.startswith("net/echo_"):
            return {"weft": [t["weft_echo"], "0"], "weft-epoll": [t["weft_echo"], "0"],
                    "tokio": [t["tokio"], "echo", "0"], "go": [t["go"], "echo", "0"],
                    "libuv": [t["uv_echo"], "0"]}.get(impl)
        if case.startswith("net/http_"):
            return {"weft": [t["http_hello"], "0"], "weft-epoll": [t["http_hello"], "0"],
                    "tokio": [t["tokio"], "http", "0"], "go": [t["go"], "http", "0"]}.get(impl)
        if case.startswith("net/resp_"):
            if impl == "redis":
                return [t["redis-server"], "--port", "{port}", "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--daemonize", "no",
                        "--protected-mode", "no", "--loglevel", "warning"]
            return {"weft": [t["resp_ping"], "0"], "weft-epoll": [t["resp_ping"], "0"]}.get(impl)
        return None

    def client_cmd(self, case, port):
        t = self.tools
        m = re.match(r"net/echo_c(\d+)_(\w+)$", case)
        if m:
            size = dict((label, n) for n, label in ECHO_SIZES)[m.group(2)]
            return [t["loadgen"], "-p", str(port), "-c", m.group(1), "-s", str(size),
                    "-d", str(self.echo_secs), "-w", str(self.warm)]
        m = re.match(r"net/resp_(\w+?)_c(\d+)(_P(\d+))?$", case)
        if m:
            # A pipelined run answers 16 requests per round trip: ten
            # times the requests keep it about as long as an unpipelined
            # one (10^5 requests at -P 16 took 0.1 s, and its figure moved
            # by 40% from run to run).
            n = self.resp_n * (10 if m.group(4) else 1)
            cmd = [t["redis-benchmark"], "-h", "127.0.0.1", "-p", str(port), "-t", m.group(1),
                   "-c", m.group(2), "-n", str(n), "--csv"]
            if m.group(4):
                cmd += ["-P", m.group(4)]
            return cmd
        m = re.match(r"net/http_hello_c(\d+)$", case)
        if m:
            return [t["wrk"], "-t1", "-c" + m.group(1), "-d%ds" % self.wrk_secs, "--latency",
                    "http://127.0.0.1:%d/" % port]
        return None

    def run(self, impl, case, timeout, env, log):
        """Runs `case` once for `impl`: (status, row) as bench/run's run_one."""
        scmd = self.server_cmd(impl, case)
        if not scmd or None in scmd:
            return "no-server", None
        with open(log, "a") as logf:
            port = None
            if "{port}" in scmd:
                port = free_port()
                scmd = [a.replace("{port}", str(port)) for a in scmd]
            cmd = self._pinned(SERVER_CPU, scmd)
            prefix = "WEFT_DRIVER=%s " % env["WEFT_DRIVER"] if env.get("WEFT_DRIVER") else ""
            logf.write("$ %s%s &\n" % (prefix, " ".join(cmd)))
            logf.flush()
            # The server's stdout goes to a file, not a pipe: a server that
            # keeps printing must not block on a pipe nobody reads.
            out = tempfile.TemporaryFile()
            server = subprocess.Popen(cmd, stdout=out, stderr=logf, env=env,
                                      start_new_session=True)
            try:
                if port is None:
                    port = read_port(server, out, 10.0)
                if port is None or not wait_connectable(port, 10.0, server):
                    logf.write("(the server did not start listening)\n")
                    return "no-server", None
                ccmd = self._pinned(CLIENT_CPU, self.client_cmd(case, port))
                logf.write("$ %s\n" % " ".join(ccmd))
                logf.flush()
                # --long runs need longer than bench/run's default limit:
                # 10^6 unpipelined redis-benchmark requests take ~20 s here.
                if self.long:
                    timeout = max(timeout, 180.0)
                try:
                    r = subprocess.run(ccmd, stdout=subprocess.PIPE, stderr=logf, text=True,
                                       timeout=timeout, start_new_session=True)
                except subprocess.TimeoutExpired:
                    logf.write("(timeout after %s s)\n" % timeout)
                    return "timeout", None
                logf.write(r.stdout)
                if server.poll() is not None:
                    logf.write("(the server exited with %s)\n" % server.returncode)
                    return "server-died", None
                if r.returncode != 0:
                    return "failed(%d)" % r.returncode, None
                row = parse_client(case, r.stdout)
                if not row:
                    return "bad-output", None
                row.update({"impl": impl, "case": case, "workers": 1})
                return "ok", row
            finally:
                stop(server)
                out.close()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read_port(proc, out, limit):
    """The port of the server's first "listening on ADDR:PORT" line, read
    from the file `out` its stdout goes to."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        out.seek(0)
        m = re.search(rb"listening on \S*:(\d+)\s", out.read(65536))
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            return None
        time.sleep(0.02)
    return None


def wait_connectable(port, limit, proc):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()


def row_from(rate, slices=None, p50=None, p99=None, iters=1):
    """A bench/run row in ns per message from messages per second."""
    if not rate or rate <= 0:
        return None
    ns = 1e9 / rate
    sl = sorted(s for s in (slices or []) if s > 0) or [ns]
    p90 = sl[min(len(sl), max(1, -(-9 * len(sl) // 10))) - 1]
    return {"median_ns": ns, "mean_ns": ns, "min_ns": sl[0], "p90_ns": p90,
            "p99_ns": sl[-1], "max_ns": sl[-1], "iters": iters, "bytes_per_op": "",
            "allocs_per_op": "", "unit": UNIT, "rate": rate, "lat_p50_ns": p50,
            "lat_p99_ns": p99}


def parse_client(case, out):
    if case.startswith("net/echo_"):
        kv = dict(tok.split("=", 1) for tok in out.split() if "=" in tok)
        try:
            slices = [float(x) for x in kv.get("slices", "").split(";") if x]
            return row_from(float(kv["msgs_per_s"]), slices, float(kv["p50_ns"]),
                            float(kv["p99_ns"]), len(slices) or 1)
        except (KeyError, ValueError):
            return None
    if case.startswith("net/resp_"):
        for line in out.splitlines():
            cells = [c.strip('"') for c in line.strip().split(",")]
            if len(cells) >= 8 and cells[0].startswith("PING"):
                try:
                    return row_from(float(cells[1]), None, float(cells[4]) * 1e6,
                                    float(cells[6]) * 1e6)
                except ValueError:
                    return None
        return None
    if case.startswith("net/http_"):
        if re.search(r"Non-2xx|Socket errors", out):
            return None  # the server answered wrongly or dropped connections
        m = re.search(r"Requests/sec:\s*([\d.]+)", out)
        lat = dict((q, wrk_time(v)) for q, v in
                   re.findall(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+\w+)", out, re.M))
        if not m:
            return None
        return row_from(float(m.group(1)), None, lat.get("50"), lat.get("99"))
    return None


def wrk_time(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9}[m.group(2)]


def human_rate(r):
    if r is None:
        return "-"
    if r >= 1e6:
        return "%.2f M/s" % (r / 1e6)
    if r >= 1e3:
        return "%.1f k/s" % (r / 1e3)
    return "%.0f /s" % r


def human_ns(v):
    if v is None:
        return "-"
    if v < 1e3:
        return "%.0f ns" % v
    if v < 1e6:
        return "%.1f us" % (v / 1e3)
    return "%.2f ms" % (v / 1e6)


def table_rows(cases, cols, best):
    """[case, impl, msgs/s, ns/msg, p50, p99] for the network table."""
    rows = []
    for case in cases:
        if not case.startswith("net/"):
            continue
        for impl in cols:
            row = best.get((case, impl), (None, None))[1]
            if row and row.get("unit") == UNIT:
                rows.append([case, impl, human_rate(row.get("rate")), human_ns(row["median_ns"]),
                             human_ns(row.get("lat_p50_ns")), human_ns(row.get("lat_p99_ns"))])
    return rows


def write_csv(path, cases, impls, best):
    with open(path, "w") as f:
        f.write("impl,case,msgs_per_s,ns_per_msg,lat_p50_ns,lat_p99_ns\n")
        for case in cases:
            for impl in impls:
                row = best.get((case, impl), (None, None))[1]
                if row and row.get("unit") == UNIT:
                    f.write("%s,%s,%.0f,%.1f,%s,%s\n" % (
                        impl, case, row["rate"], row["median_ns"],
                        "" if row.get("lat_p50_ns") is None else "%.0f" % row["lat_p50_ns"],
                        "" if row.get("lat_p99_ns") is None else "%.0f" % row["lat_p99_ns"]))
