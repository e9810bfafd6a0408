"""The listening side of a server: the socket, the worker threads, the connections being served."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import math
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from werkzeug.serving import ThreadedWSGIServer

if TYPE_CHECKING:
    pass

from . import errors

logger = logging.getLogger("pytest_lwa")
#: seconds a client has to send a whole request (request line, headers and body) once its first byte has
#: arrived, and to complete a TLS handshake; a late one gets a JSON 408 and its connection is closed
REQUEST_TIMEOUT: Final = 10.0
#: connections served at once; one more is answered 503 with ``Retry-After`` and closed
MAX_CONNECTIONS: Final = 256
#: seconds between two log lines about connections refused over the limit (each line counts those since the last)
REFUSALS_LOGGED_EVERY: Final = 1.0
#: seconds a worker thread with no connection to serve waits for one before it ends
WORKER_IDLE_SECONDS: Final = 10.0
#: seconds a connection may wait for its first or next request before it is closed


class Connections:
    """The open connections: how many are answering a request, and which wait for their next one.

    Closing shuts those that wait at once; those answering finish their answer, then close.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._waiting: set[socket.socket] = set()
        self._answering = 0
        self.closing = False

    def waiting(self, connection: socket.socket) -> bool:
        """``connection`` waits for its next request; False when the server is closing."""
        with self._lock:
            if not self.closing:
                self._waiting.add(connection)
            return not self.closing

    def answering(self, connection: socket.socket) -> bool:
        """A request arrived on ``connection``; False when the server is closing (it is not answered)."""
        with self._lock:
            self._waiting.discard(connection)
            if self.closing:
                return False
            self._answering += 1
            return True

    def answered(self) -> None:
        with self._lock:
            self._answering -= 1
            self._lock.notify_all()

    def gone(self, connection: socket.socket) -> None:
        with self._lock:
            self._waiting.discard(connection)

    def close(self) -> None:
        """Accept no more requests; shut the waiting connections down."""
        with self._lock:
            self.closing = True
            waiting, self._waiting = self._waiting, set()
        for connection in waiting:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no request is being answered; whether none is."""
        with self._lock:
            return self._lock.wait_for(lambda: self._answering == 0, timeout)


@functools.cache
def malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


@dataclass(frozen=True)
class Proxy:
    #: the server side of TLS for every host in PROXY_HOSTS
    context: ssl.SSLContext
    passthrough: bool
    #: passthrough may reach loopback, private, link-local and this host's own addresses
    allow_private: bool = False
    #: what a passthrough CONNECT must send as ``Proxy-Authorization: Bearer <token>`` (None: nothing)
    token: str | None = None


class Workers:
    """Threads that serve one connection at a time and then wait for the next.

    A connection goes to an idle thread when there is one, else to a new thread: starting a thread per
    connection (as socketserver does) costs more than answering a token request, and a stalled
    connection still never waits for another. At most ``limit`` connections are served at once; a
    thread idle for :data:`WORKER_IDLE_SECONDS` ends, so a burst leaves no threads behind, and the last
    one to end returns free heap memory to the system. The threads are daemons, so they never delay an
    exit.
    """

    def __init__(self, limit: int = MAX_CONNECTIONS) -> None:
        self._lock = threading.Lock()
        self.limit = limit
        self.busy = 0
        self._idle = 0
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.SimpleQueue()

    def submit(self, job: Callable[..., None], *args: Any) -> bool:
        """Serve ``job(*args)`` in a worker thread; False (and nothing done) when ``limit`` are busy."""
        with self._lock:
            if self.busy >= self.limit:
                return False
            self.busy += 1
            if self._idle > 0:  # put under the lock, so an idle thread that times out cannot miss it
                self._idle -= 1
                self._jobs.put((job, args))
                return True
        threading.Thread(target=self._work, args=(job, args), name="pytest-lwa-worker", daemon=True).start()
        return True

    def _work(self, job: Callable[..., None], args: tuple[Any, ...]) -> None:
        while True:
            try:
                job(*args)
            finally:
                with self._lock:
                    self.busy -= 1
                    self._idle += 1
            try:
                next_job = self._jobs.get(timeout=WORKER_IDLE_SECONDS)
            except queue.Empty:
                next_job = self._retire()
            if next_job is None:
                return
            job, args = next_job

    def _retire(self) -> tuple[Callable[..., None], tuple[Any, ...]] | None:
        """An idle thread's end: the job handed over just as its wait ended, else ``None`` (it ends)."""
        with self._lock:
            try:
                return self._jobs.get_nowait()
            except queue.Empty:
                self._idle -= 1
                last = self._idle == 0 and self.busy == 0
        if last:
            # The last thread of a burst: give back the memory its threads freed, which glibc would keep
            # in its per-thread heaps (benchmarks/soak.py measures it).
            trim = malloc_trim()
            if trim is not None:
                trim(0)
        return None

    def release(self) -> None:
        """Let the idle threads end."""
        with self._lock:
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)


class Server(ThreadedWSGIServer):
    """Werkzeug's threaded server, counting connections and quiet about the ones that fail."""

    #: the clock refusals are logged by (only the accept loop's thread reads it and counts them)
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections = Connections()
        self.keep_alive = False
        self.request_timeout = REQUEST_TIMEOUT
        self.proxy: Proxy | None = None
        self.workers = Workers()  # before werkzeug's __init__, which may call server_close()
        self._refused = 0
        self._refused_last = ""
        self._refusals_logged_at = -math.inf
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.workers.submit(self.process_request_thread, request, client_address):
            self._refuse(request, client_address)

    def _refuse(self, request: socket.socket, client_address: Any) -> None:
        """Answer a connection over the limit 503 with ``Retry-After``, from the accept loop, without
        waiting for anything (over HTTPS that would take a handshake: the connection is just closed).

        Refusals are counted, and logged at most once per :data:`REFUSALS_LOGGED_EVERY` seconds: a flood
        of connections writes a line a second, not a line each."""
        self._refused += 1
        self._refused_last = str(client_address[0]) if client_address else "?"
        self._log_refusals()
        with contextlib.suppress(OSError):
            request.setblocking(False)
            if self.ssl_context is None:
                with contextlib.suppress(BlockingIOError):
                    request.recv(65536)  # what has arrived of the request: closing on unread data resets
                body = errors.TEMPORARILY_UNAVAILABLE().body()
                head = (
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json;charset=UTF-8\r\n"
                    "Retry-After: 1\r\n"
                    f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                request.send(head.encode("ascii") + body)
        self.shutdown_request(request)

    def service_actions(self) -> None:
        """Run by the accept loop between connections: the refusals not logged yet, once it is time."""
        super().service_actions()
        if self._refused:
            self._log_refusals()

    def _log_refusals(self) -> None:
        now = self.clock()
        if now - self._refusals_logged_at < REFUSALS_LOGGED_EVERY:
            return
        if self._refused == 1:
            refused = f"refused {self._refused_last} with 503"
        else:
            refused = f"refused {self._refused} with 503 since the last line, the latest from {self._refused_last}"
        logger.warning("pytest-lwa: %d connections are being served, the most allowed; %s", self.workers.limit, refused)
        self._refused, self._refusals_logged_at = 0, now

    def server_close(self) -> None:
        super().server_close()
        self.workers.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("pytest-lwa: connection from %s failed", client_address, exc_info=True)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; raises ``OSError`` (e.g. port in use) instead of exiting."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)  # a burst of connections waits in the kernel, not for SYN retries
    except BaseException:
        sock.close()
        raise
    return sock
