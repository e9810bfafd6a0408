"""A long mixed run under bad traffic: does the server come back to its idle size?

    .venv/bin/python benchmarks/soak.py                 # 60 s each for serve and the fixture's server
    .venv/bin/python benchmarks/soak.py --seconds 600 --only serve

Each target runs in its own process: ``pytest-lwa serve`` (keep-alive, its defaults), and an ``LwaServer``
built as the ``lwa_server`` fixture builds it, reset every second as a test session resets it between
tests. Four clients load it at once for ``--seconds``:

- keep-alive: one connection, good requests mixed with every kind of rejection;
- one connection per request: the same mix, each with ``Connection: close``;
- malformed: garbage request lines, broken chunked bodies, bodies over the limit, half-closed sockets;
- stalled: a few connections a second that stop inside their request line, headers or body and wait.

The server is first warmed up (two seconds of the same traffic, then the worker threads' idle time), and
its resident memory and threads measured idle; they are sampled throughout the load; after it stops, the
run waits for the request time limit and the worker threads' idle time, and measures again. Targets: end RSS within
10 MB and threads within 8 of the idle server's, and every request answered except the stalled ones
(which must each get their 408).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
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
#: seconds an idle worker thread of the server lives on
WORKER_IDLE_SECONDS = 10.0
#: how long the run waits after the load for the server to settle: the request time limit (10 s), the
#: worker threads' idle time, and a margin
SETTLE_SECONDS = 10.0 + WORKER_IDLE_SECONDS + 5.0

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
    b"POST /auth/o2/token HTTP/1.1\r\nContent-Length: 50\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\ngr",
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
        time.sleep(WORKER_IDLE_SECONDS + 2)
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


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="pytest-lwa-soak-") as directory:
        yield Path(directory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="seconds of load for each target (default 60)")
    parser.add_argument("--only", choices=("serve", "fixture"), help="one target only")
    args = parser.parse_args()
    print(f"pytest-lwa soak, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    kinds = [args.only] if args.only else ["serve", "fixture"]
    with workdir() as directory:
        results = [soak(kind, args.seconds, directory) for kind in kinds]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
