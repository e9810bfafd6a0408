"""A long mixed run under bad traffic: does the server come back to its idle size?

    .venv/bin/python benchmarks/soak.py                 # 60 s each for serve and the fixture's server, then the flood
    .venv/bin/python benchmarks/soak.py --seconds 600 --only serve
    .venv/bin/python benchmarks/soak.py --only flood --seconds 20

Each target runs in its own process: ``pytest-lwa serve`` (keep-alive, its defaults), and an ``LwaServer``
built as the ``lwa_server`` fixture builds it, reset every second as a test session resets it between
tests. Four clients load it at once for ``--seconds``:

- keep-alive: one connection, good requests mixed with every kind of rejection;
- one connection per request: the same mix, each with ``Connection: close``;
- malformed: garbage request lines, broken chunked bodies, bodies over the limit, half-closed sockets;
- stalled: a few connections a second that stop inside their request line, headers or body and wait.

The server is first warmed up (two seconds of the same traffic, then two seconds of rest), and its resident
memory and threads measured idle; they are sampled throughout the load; after it stops, the
run waits for the request time limit and the keep-alive limit, and measures again. Targets: end RSS within
10 MB and threads within 8 of the idle server's, and every request answered except the stalled ones
(which must each get their 408).

The flood (``--only flood``, at most 20 s of load) holds 2,000 connections stalled mid-headers, 2,000 idle
kept-alive ones and 200 silent ones, each opened again as soon as the server closes it, beside a good client
that asks for a token on a new connection every 50 ms; then ``serve --tls`` under 300 stalled handshakes
and a good HTTPS client. It runs ``pytest-lwa serve`` at its defaults and waitress hosting the same app, and
prints their figures side by side: the good client's answers, median and 99th-percentile latency against
the same client unloaded, the server's resident memory and threads at the start, the peak and the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import selectors
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

PYTHON = sys.executable
APPSTORE = "appstore::apps:readwrite"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: how long the run waits after the load for the server to settle: the request time limit (10 s), the
#: keep-alive limit (5 s), and a margin
SETTLE_SECONDS = 10.0 + 5.0 + 5.0

FIXTURE_SERVER = """
import json, os, sys, time
from pytest_lwa import LwaServer

server = LwaServer("127.0.0.1", 0)   # as the lwa_server fixture builds its session server

def setup():
    server.reset()
    client = server.add_client(scopes=["appstore::apps:readwrite"])
    return client, server.issue_refresh_token(client)

def publish(client, refresh):
    with open(sys.argv[1] + ".partial", "w") as ready:
        json.dump({"port": server.port, "client_id": client.client_id, "client_secret": client.client_secret,
                   "refresh_token": refresh}, ready)
    os.replace(sys.argv[1] + ".partial", sys.argv[1])

client, refresh = setup()
server.start()
publish(client, refresh)
while True:                # a test session: a reset before every test, and the test's own client
    time.sleep(1)
    publish(*setup())
"""


@dataclass
class Counts:
    sent: int = 0
    answered: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    stalled: int = 0
    stalled_answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, status: int | None) -> None:
        with self.lock:
            self.sent += 1
            if status is not None:
                self.answered += 1
                self.statuses[status] = self.statuses.get(status, 0) + 1


class Target:
    """A server process and what a client needs to talk to it."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.ready = directory / f"{kind}.json"
        if kind == "serve":
            command = [PYTHON, "-m", "pytest_lwa", "serve", "--port", "0", "--log-level", "error"]
            command += ["--ready-file", str(self.ready)]
        else:
            command = [PYTHON, "-c", FIXTURE_SERVER, str(self.ready)]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not (self.ready.exists() and self.ready.stat().st_size):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{kind} did not start: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                )
            time.sleep(0.01)
        info = self.info()
        self.port: int = info["port"]

    def info(self) -> dict[str, str | int]:
        """The current client (the fixture's server registers a new one at each reset)."""
        for _ in range(50):
            with contextlib.suppress(ValueError, OSError):
                info = json.loads(self.ready.read_text())
                if self.kind == "serve":
                    client = info["clients"][0]
                    return {"port": info["port"], **client, "refresh_token": ""}
                return dict(info)
            time.sleep(0.01)
        raise RuntimeError("the ready file could not be read")

    def sample(self) -> tuple[float, int]:
        """Resident memory (MB) and threads of the server process."""
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines() if ":" in line
        )
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def requests_for(target: Target) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """Good requests and one of every kind of rejection, for the target's current client."""
    info = target.info()
    auth = {"client_id": str(info["client_id"]), "client_secret": str(info["client_secret"])}

    def token(fields: dict[str, str], headers: dict[str, str] = FORM) -> tuple[str, str, bytes, dict[str, str]]:
        return "POST", "/auth/o2/token", urlencode(fields).encode(), headers

    good = [token({**auth, "grant_type": "client_credentials", "scope": APPSTORE})] * 4
    if info.get("refresh_token"):
        good.append(token({**auth, "grant_type": "refresh_token", "refresh_token": str(info["refresh_token"])}))
    return [
        *good,
        token({**auth, "grant_type": "client_credentials", "scope": APPSTORE, "client_secret": "wrong"}),
        token({**auth, "client_id": "amzn1.application-oa2-client.unknown", "grant_type": "client_credentials"}),
        token({**auth, "grant_type": "client_credentials", "scope": "appstore:apps:readwrite"}),
        token({**auth, "grant_type": "client_credentials"}),
        token({**auth, "grant_type": "password"}),
        token({**auth, "grant_type": "refresh_token", "refresh_token": "Atzr|unknown"}),
        token({**auth, "grant_type": "authorization_code", "code": "unknown"}),
        token({"grant_type": "device_code", "device_code": "unknown", "user_code": "ABCDEF"}),
        token({**auth, "grant_type": "client_credentials"}, {"Content-Type": "text/plain"}),
        ("POST", "/auth/o2/token", b"grant_type=a&grant_type=b", FORM),
        ("POST", "/auth/o2/token", b"{not json", {"Content-Type": "application/json"}),
        ("POST", "/auth/o2/token", b"x" * 70_000, FORM),
        ("GET", "/auth/o2/tokeninfo?access_token=Atza%7Cunknown", b"", {}),
        ("GET", "/user/profile", b"", {"Authorization": "Bearer Atza|unknown"}),
        ("GET", "/auth/o2/token", b"", {}),
        ("GET", "/nowhere", b"", {}),
    ]


def mixed_client(target: Target, counts: Counts, stop: threading.Event, keep_alive: bool) -> None:
    connection: http.client.HTTPConnection | None = None
    while not stop.is_set():
        for method, path, body, headers in requests_for(target):
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
            sent = dict(headers) if keep_alive else {**headers, "Connection": "close"}
            try:
                connection.request(method, path, body, sent)
                answer = connection.getresponse()
                answer.read()
                counts.answer(answer.status)
                if answer.getheader("Connection") == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                counts.answer(None)
                connection.close()
                connection = None
    if connection is not None:
        connection.close()


MALFORMED = [
    b"\x00\x01\x02 garbage\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"POST /auth/o2/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded"
    b"\r\n\r\nzz\r\nbroken\r\n0\r\n\r\n",
    b"POST /auth/o2/token HTTP/1.1\r\nContent-Length: 100000\r\nContent-Type: application/x-www-form-urlencoded"
    b"\r\n\r\n" + b"a" * 100_000,
    b"POST /auth/o2/token HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    b"POST /auth/o2/token HTTP/1.1\r\nContent-Length: 10\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nabc",
]


def malformed_client(target: Target, counts: Counts, stop: threading.Event) -> None:
    while not stop.is_set():
        for raw in MALFORMED:
            try:
                with socket.create_connection(("127.0.0.1", target.port), timeout=30) as sock:
                    sock.sendall(raw)
                    sock.shutdown(socket.SHUT_WR)  # the last one half-closes inside its body
                    data = b""
                    while chunk := sock.recv(65536):
                        data += chunk
                status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else None
            except OSError:
                status = None
            counts.answer(status)


STALLS = [
    b"P",
    b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Ty",
    b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\nContent-Type: application/x-www-form-urlencoded"
    b"\r\n\r\ngr",
]


def stalled_client(target: Target, counts: Counts, stop: threading.Event, per_second: float) -> None:
    """Connections that stop mid-request; each must be answered 408 (read once it has been)."""
    held: list[socket.socket] = []
    number = 0
    while not stop.wait(1 / per_second):
        sock = socket.create_connection(("127.0.0.1", target.port), timeout=30)
        sock.sendall(STALLS[number % len(STALLS)])
        number += 1
        held.append(sock)
        with counts.lock:
            counts.stalled += 1
    for sock in held:
        with sock:
            try:
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            except OSError:
                data = b""
            if data.startswith(b"HTTP/1.1 408 "):
                with counts.lock:
                    counts.stalled_answered += 1


def soak(kind: str, seconds: float, directory: Path) -> bool:
    target = Target(kind, directory)
    try:
        time.sleep(1)
        cold_rss, _ = target.sample()
        warm_up, stop = Counts(), threading.Event()
        warming = [
            threading.Thread(target=mixed_client, args=(target, warm_up, stop, keep_alive))
            for keep_alive in (True, False)
        ]
        warming.append(threading.Thread(target=malformed_client, args=(target, warm_up, stop)))
        for thread in warming:
            thread.start()
        time.sleep(2)  # warm: modules imported on first use, caches, the request log at its bound
        stop.set()
        for thread in warming:
            thread.join()
        time.sleep(2)
        idle_rss, idle_threads = target.sample()
        peak_rss, peak_threads = idle_rss, idle_threads
        counts, stop = Counts(), threading.Event()
        clients: list[Callable[[], None]] = [
            lambda: mixed_client(target, counts, stop, keep_alive=True),
            lambda: mixed_client(target, counts, stop, keep_alive=False),
            lambda: malformed_client(target, counts, stop),
            lambda: stalled_client(target, counts, stop, per_second=5),
        ]
        threads = [threading.Thread(target=client) for client in clients]
        for thread in threads:
            thread.start()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rss, count = target.sample()
            peak_rss, peak_threads = max(peak_rss, rss), max(peak_threads, count)
            time.sleep(0.5)
        stop.set()
        for thread in threads[:3]:
            thread.join()
        settled = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < settled:
            rss, count = target.sample()
            peak_rss, peak_threads = max(peak_rss, rss), max(peak_threads, count)
            time.sleep(0.5)
        threads[3].join()  # reads the 408 of every stalled connection
        end_rss, end_threads = target.sample()
    finally:
        target.stop()
    unanswered = counts.sent - counts.answered
    statuses = ", ".join(f"{status}: {number:,}" for status, number in sorted(counts.statuses.items()))
    met = (
        end_rss - idle_rss <= 10
        and end_threads - idle_threads <= 8
        and unanswered == 0
        and counts.stalled_answered == counts.stalled
    )
    print(f"{kind}: {seconds:g} s of load, then {SETTLE_SECONDS:g} s to settle")
    print(f"  requests answered      {counts.answered:,} of {counts.sent:,} ({statuses})")
    print(f"  stalled connections    {counts.stalled:,}, answered 408: {counts.stalled_answered:,}")
    print(f"  resident memory (MB)   started {cold_rss:.1f}, idle after a warm-up {idle_rss:.1f}, peak {peak_rss:.1f},"
          f" end {end_rss:.1f}"
          f" ({end_rss - idle_rss:+.1f}; target within 10)")  # fmt: skip
    print(f"  threads                idle {idle_threads}, peak {peak_threads}, end {end_threads}"
          f" ({end_threads - idle_threads:+d}; target within 8)")  # fmt: skip
    print(f"  {'meets' if met else 'MISSES'} its targets", flush=True)
    return met


# --- the flood: thousands of connections that wait, beside a few good clients -----------------------

#: how many of each kind of bad connection the flood holds open at once
STALLED_HEADERS, IDLE_KEPT, SILENT, STALLED_TLS = 2000, 2000, 200, 300
WAITRESS = """
import json, sys
import waitress
from pytest_lwa import LwaServer
from pytest_lwa.cli import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
mock = LwaServer(tick=True)  # never started: only its app is served
mock.add_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
# its loop uses select(), which takes no file descriptor past 1023: a higher limit ends the server
server = waitress.create_server(mock.app, host="127.0.0.1", port=0, connection_limit=1000)
with open(sys.argv[1], "w") as ready:
    json.dump({"port": server.effective_port}, ready)
server.run()
"""


PAYLOADS = {
    "headers": b"POST /auth/o2/token HTTP/1.1\r\nHost: x\r\nContent-Ty",
    "idle": b"GET /auth/o2/tokeninfo HTTP/1.1\r\nHost: x\r\n\r\n",  # one request answered, then left idle
    "silent": b"",
    "tls": b"\x16\x03\x01\x00",  # the start of a ClientHello, and no more
}


class Flood:
    """Bad connections kept at their number: each one the server closes is opened again, the same way."""

    def __init__(self, port: int, tls_port: int | None) -> None:
        self.port, self.tls_port = port, tls_port
        self.selector = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.reopened = 0

    def open(self, kind: str) -> None:
        """Connect without waiting: a server that stops accepting leaves the connection in its backlog."""
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", self.tls_port if kind == "tls" else self.port))
        self.selector.register(sock, selectors.EVENT_WRITE, kind)

    def run(self) -> None:
        while not self.stop.is_set():
            for key, events in self.selector.select(0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if events & selectors.EVENT_WRITE:  # connected (or failed): send what this kind sends
                    with contextlib.suppress(OSError):
                        sock.send(PAYLOADS[key.data])
                    self.selector.modify(sock, selectors.EVENT_READ, key.data)
                    continue
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # closed by the server (a 408, the keep-alive limit): open another
                    self.selector.unregister(sock)
                    sock.close()
                    self.reopened += 1
                    self.open(key.data)

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()


def good_latencies(port: int, seconds: float, tls: ssl.SSLContext | None = None) -> tuple[list[float], int]:
    """A good client asking for a token every 50 ms on a new connection: each answer's seconds, and how
    many requests got anything but a 200."""
    from pytest_lwa.cli import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    body = urlencode({"grant_type": "client_credentials", "scope": APPSTORE, "client_id": DEMO_CLIENT_ID,
                      "client_secret": DEMO_CLIENT_SECRET})  # fmt: skip
    latencies, failed = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            if tls is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            else:
                connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=30, context=tls)
            connection.request("POST", "/auth/o2/token", body, {**FORM, "Connection": "close"})
            answer = connection.getresponse()
            answer.read()
            connection.close()
            ok = answer.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
        latencies.append(time.perf_counter() - started)
        failed += not ok
        time.sleep(0.05)
    return latencies, failed


def process_sample(pid: int) -> tuple[float, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def flood(kind: str, seconds: float, directory: Path) -> dict[str, str]:
    """One server (``serve`` or waitress hosting the same app) unloaded, then flooded, then settled."""
    ready = directory / f"flood-{kind}.json"
    if kind == "serve":
        command = [
            PYTHON,
            "-m",
            "pytest_lwa",
            "serve",
            "--port",
            "0",
            "--log-level",
            "error",
            "--ready-file",
            str(ready),
        ]
    else:
        command = [PYTHON, "-c", WAITRESS, str(ready)]
    log = (directory / f"flood-{kind}.log").open("wb")
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    try:
        while not (ready.exists() and ready.stat().st_size):
            time.sleep(0.01)
        port = int(json.loads(ready.read_text())["port"])
        good_latencies(port, 2)  # warm up
        time.sleep(1)
        start_rss, start_threads = process_sample(proc.pid)
        unloaded, _ = good_latencies(port, 5)
        flooding = Flood(port, None)
        kinds = [("headers", STALLED_HEADERS), ("idle", IDLE_KEPT), ("silent", SILENT)]
        for bad, number in kinds:
            for _ in range(number):
                flooding.open(bad)
        runner = threading.Thread(target=flooding.run)
        runner.start()
        peak = [start_rss, start_threads]

        def sample() -> None:
            while not flooding.stop.wait(0.5):
                rss, threads = process_sample(proc.pid)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], threads)

        sampler = threading.Thread(target=sample)
        sampler.start()
        loaded, failed = good_latencies(port, seconds)
        flooding.stop.set()
        runner.join()
        sampler.join()
        reopened = flooding.reopened
        flooding.close()
        time.sleep(12)  # the server closes what the flood left (the request and keep-alive limits)
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} exited: {(directory / f'flood-{kind}.log').read_text()[-3000:]}")
        end_rss, end_threads = process_sample(proc.pid)
        tls = "n/a (no TLS)"
        if kind == "serve":
            tls = stalled_tls(directory)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    median, loaded_median = statistics.median(unloaded), statistics.median(loaded)
    p99 = statistics.quantiles(loaded, n=100)[98] if len(loaded) > 1 else loaded[0]
    return {
        "server": "pytest-lwa serve (defaults)" if kind == "serve" else "waitress 3, connection_limit=1000",
        "good requests": f"{len(loaded) - failed} of {len(loaded)} answered 200",
        "median latency": f"{loaded_median * 1000:.1f} ms ({loaded_median / median:.2f}x {median * 1000:.1f} unloaded)",
        "p99 latency": f"{p99 * 1000:.1f} ms",
        "bad connections reopened": f"{reopened:,}",
        "RSS start/peak/end": f"{start_rss:.1f} / {peak[0]:.1f} / {end_rss:.1f} MB (+{peak[0] - start_rss:.1f})",
        "threads start/peak/end": f"{start_threads} / {peak[1]} / {end_threads}",
        "300 stalled TLS handshakes": tls,
    }


def stalled_tls(directory: Path) -> str:
    """``serve --tls`` holding 300 stalled handshakes: a good HTTPS client's answers."""
    ready = directory / "flood-tls.json"
    command = [PYTHON, "-m", "pytest_lwa", "serve", "--tls", "--port", "0", "--log-level", "error"]
    proc = subprocess.Popen(
        [*command, "--ready-file", str(ready)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while not (ready.exists() and ready.stat().st_size):
            time.sleep(0.01)
        info = json.loads(ready.read_text())
        context = ssl.create_default_context(cafile=info["ca_bundle"])
        flooding = Flood(info["port"], info["port"])
        for _ in range(STALLED_TLS):
            flooding.open("tls")
        runner = threading.Thread(target=flooding.run)
        runner.start()
        latencies, failed = good_latencies(info["port"], 5, context)
        flooding.stop.set()
        runner.join()
        flooding.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    median = statistics.median(latencies) * 1000
    return f"{len(latencies) - failed} of {len(latencies)} HTTPS requests 200, median {median:.1f} ms"


def flood_table(seconds: float, directory: Path) -> bool:
    rows = []
    for kind in ("serve", "waitress"):
        rows.append(flood(kind, seconds, directory))
        print(f"  {rows[-1]}", flush=True)
    print(f"flood: {STALLED_HEADERS:,} connections stalled mid-headers, {IDLE_KEPT:,} idle kept-alive, {SILENT} silent,"
          f" each reopened when closed; a good client on a new connection every 50 ms for {seconds:g} s")  # fmt: skip
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(row.values()) + " |")
    return rows[0]["good requests"].split(" of ")[0] == rows[0]["good requests"].split(" of ")[1].split()[0]


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pytest-lwa-soak-") as directory:
        yield Path(directory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="seconds of load for each target (default 60)")
    parser.add_argument("--only", choices=("serve", "fixture", "flood"), help="one target only")
    args = parser.parse_args()
    print(f"pytest-lwa soak, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    kinds = [args.only] if args.only else ["serve", "fixture", "flood"]
    with workdir() as directory:
        results = [
            flood_table(min(args.seconds, 20), directory) if kind == "flood" else soak(kind, args.seconds, directory)
            for kind in kinds
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
