"""Running the mock on a real port: :class:`LwaServer`, usable with or without pytest."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import logging
import queue
import selectors
import shutil
import socket
import ssl
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final, cast
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

from . import errors
from .amazon_hosts import PROXY_HOSTS
from .app import LwaApp
from .authority import Authority, Settings
from .errors import BodyStyle, LwaError
from .faults import CATALOGUE, TOKEN_PATH, Fault, Predicate
from .recording import RecordedRequest, access_log, criteria_of, mismatches, redact_text
from .tls import make_certificates
from .wire import JSON_HEADERS, JSON_TYPE, MAX_BODY_BYTES

__all__ = ["LwaServer"]

logger = logging.getLogger("pytest_lwa")
#: what a read or write raises when the client has gone (werkzeug 3.0.4 and later name it too)
connection_dropped_errors: Final = (ConnectionError, TimeoutError, ssl.SSLEOFError)
#: seconds a client has to send a whole request (request line, headers and body) once its first byte has
#: arrived, and to complete a TLS handshake; a late one gets a JSON 408 and its connection is closed
REQUEST_TIMEOUT: Final = 10.0
#: connections served at once; one more is answered 503 with ``Retry-After`` and closed
MAX_CONNECTIONS: Final = 256
#: seconds a worker thread with no connection to serve waits for one before it ends
WORKER_IDLE_SECONDS: Final = 10.0
#: seconds a connection may wait for its first or next request before it is closed
KEEP_ALIVE_SECONDS: Final = 5.0
#: seconds a client may pause while the server reads what is left of a body it did not need
DRAIN_IDLE_SECONDS: Final = 0.5
#: bytes of an unread body read on (at most) before a connection is closed
LINGER_BYTES: Final = 16 * 1024 * 1024
#: seconds a passed-through tunnel may carry nothing either way before it is closed
TUNNEL_IDLE_SECONDS: Final = 60.0


class _Connections:
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


class _DeadlineReader(io.RawIOBase):
    """A connection's reads, each bounded by the deadline of the stage they belong to.

    A socket timeout bounds one read; a deadline bounds them all, so a client that trickles a byte at
    a time still runs out of time. With no deadline, reads keep the socket's own timeout.
    """

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self.deadline: float | None = None
        #: the deadline passed during a read
        self.timed_out = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.timed_out = True
                raise TimeoutError("the deadline for reading the request has passed")
            self._connection.settimeout(remaining)
        try:
            return self._connection.recv_into(buffer)
        except TimeoutError:
            self.timed_out = self.deadline is not None
            raise


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, quiet, answering even unparsable requests with a JSON body, and keeping
    connections open between requests when the server's ``keep_alive`` is on.

    Werkzeug's own handler closes every connection, because it cannot tell where an unread request
    body ends. This one knows: a body framed by ``Content-Length`` is read (or drained, up to
    :data:`~pytest_lwa.wire.MAX_BODY_BYTES`) before the connection serves the next request. Anything
    else (a chunked body, an invalid ``Content-Length``, HTTP/1.0 without ``keep-alive``) is answered
    with ``Connection: close``. A kept connection waits :data:`KEEP_ALIVE_SECONDS` for its next request;
    once its first byte has arrived, the whole request must arrive within the server's ``request_timeout``
    or it is answered 408.
    """

    server: _Server
    _reader: _DeadlineReader
    _in_app = False

    def setup(self) -> None:
        # An answer goes out as two writes (head, body): without TCP_NODELAY the second would wait for
        # the client's delayed acknowledgement of the first (~40 ms) on a kept-alive connection.
        with contextlib.suppress(OSError):
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # TLS is set up here, in the connection's own thread, so a client that stalls in the handshake
        # does not hold up the accept loop (werkzeug would do the handshake there).
        context = self.server.ssl_context
        if context is not None and not isinstance(self.request, ssl.SSLSocket):  # (a tunnel's is wrapped)
            self.request.settimeout(self.server.request_timeout)
            self.request = context.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()
        self.rfile.close()  # socketserver's reader of the connection, replaced by one that keeps deadlines
        self._reader = _DeadlineReader(self.connection)
        self.rfile = io.BufferedReader(self._reader)

    def finish(self) -> None:
        self.server.connections.gone(self.connection)
        super().finish()
        if isinstance(self.request, ssl.SSLSocket):  # it took over the socket the server would close
            with contextlib.suppress(OSError):
                self.request.shutdown(socket.SHUT_WR)
            self.request.close()

    def handle_one_request(self) -> None:
        connections = self.server.connections
        if not (self._request_arrives() and connections.answering(self.connection)):
            self.close_connection = True
            return
        reader = self._reader
        reader.deadline, reader.timed_out, self._in_app = time.monotonic() + self.server.request_timeout, False, False
        self.command = self.requestline = ""  # nothing of an earlier request on the connection applies now
        try:
            super().handle_one_request()
            if reader.timed_out and not self._in_app:  # the request line or headers came too late
                logger.info("pytest-lwa: %s sent no whole request within %g s", self.address_string(),
                            self.server.request_timeout)  # fmt: skip
                self._answer_error(errors.REQUEST_TIMEOUT())
        except OSError:  # the client is gone too
            self.close_connection = True
        finally:
            reader.deadline = None
            connections.answered()

    def _request_arrives(self) -> bool:
        """Wait (at most :data:`KEEP_ALIVE_SECONDS`) for the connection's next request."""
        if not self.server.connections.waiting(self.connection):
            return False
        self._reader.deadline = time.monotonic() + KEEP_ALIVE_SECONDS
        try:
            return bool(cast(io.BufferedReader, self.rfile).peek(1))
        except (OSError, ValueError):  # timed out, reset, or shut down by a stop
            return False
        finally:
            self._reader.deadline = None

    def run_wsgi(self) -> None:
        self._in_app = True
        try:
            if self.server.proxy is not None and self._proxied():
                return
            self.environ = environ = self.make_environ()
        except ValueError:  # a request target no URL parser takes ("http://[abc/"): answered, not dropped
            self._answer_error(errors.MALFORMED_REQUEST(), 400)
            return
        lengths = self.headers.get_all("Content-Length") or []
        framed = "Transfer-Encoding" not in self.headers and len(lengths) <= 1
        body: LimitedStream | None = None
        if framed and lengths:
            length = lengths[0].strip()
            if length.isascii() and length.isdigit():
                body = environ["wsgi.input"] = LimitedStream(cast(IO[bytes], self.rfile), int(length))
            else:  # where this body ends is anyone's guess
                framed = False
        try:
            status, headers, data = self._call_app(environ)
        except connection_dropped_errors:
            self.close_connection = True  # the client left, or the app closed the connection on purpose
            return
        finally:  # the request has been read (or has run out of time); the answer goes out in bounded time
            self._reader.deadline = None
            with contextlib.suppress(OSError):
                self.connection.settimeout(self.server.request_timeout)
        keep_alive = self.server.keep_alive and framed and not self.close_connection
        keep_alive = keep_alive and not self.server.connections.closing and (body is None or self._drain(body))
        code, _, phrase = status.partition(" ")
        self.send_response(int(code), phrase)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", str(len(data)))
        if not keep_alive:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        if not keep_alive:
            self._linger()

    def _proxied(self) -> bool:
        """A proxy's request (``CONNECT host:port``, or an absolute URL for a host not served), handled here;
        False for a request the app answers (an absolute URL for an LWA host among them)."""
        if self.command == "CONNECT":
            host, _, port = self.path.rpartition(":")
            self._connect(host.strip("[]").lower(), port)
            return True
        target = urlsplit(self.path)
        host = (target.hostname or "").lower()
        if target.scheme and host and host not in PROXY_HOSTS:
            self._refuse_host(host, f"{self.command} {redact_text(self.path)}")
            return True
        return False

    def _refuse_host(self, host: str, request: str) -> None:
        error = errors.forbidden_host(host)
        access_log.info("%s (proxy) -> 403 %s: %s is not an LWA host", request, error.error, host)
        self._answer_error(error)

    def _connect(self, host: str, port: str) -> None:
        """Serve a tunnel: the mock over TLS for an LWA host, the bytes untouched for another host when the
        proxy passes them through, else a 403."""
        proxy = self.server.proxy
        assert proxy is not None
        self.close_connection = True
        if host in PROXY_HOSTS:
            self.send_response(200, "Connection Established")
            self.end_headers()
            self.connection.settimeout(self.server.request_timeout)  # the handshake's limit
            try:
                tunnel = proxy.context.wrap_socket(self.connection, server_side=True)
            except OSError as error:  # the client does not trust the authority, or went away
                logger.info("pytest-lwa: the TLS handshake for %s through the proxy failed: %s", host, error)
                return
            tunnel.settimeout(None)
            _RequestHandler(tunnel, self.client_address, self.server)  # serves the tunnel's requests, then closes
            return
        if not proxy.passthrough:
            self._refuse_host(host, f"CONNECT {host}:{port}")
            return
        access_log.info("CONNECT %s:%s (proxy) -> passed through", host, port)
        try:
            upstream = socket.create_connection((host, int(port)), timeout=self.server.request_timeout)
        except (OSError, ValueError) as error:
            self._answer_error(LwaError(502, "bad_gateway", f"pytest-lwa's proxy cannot reach {host}:{port}: {error}"))
            return
        with upstream:
            self.send_response(200, "Connection Established")
            self.end_headers()
            _pipe(self.connection, upstream, TUNNEL_IDLE_SECONDS)

    def _call_app(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
        """The app's whole answer: status, headers and body (LWA answers are small)."""
        answer: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]  # nothing is sent before the app returns, so exc_info may replace it
            return chunks.append

        try:
            iterable = self.server.app(environ, start_response)
            try:
                chunks.extend(iterable)
            finally:
                if hasattr(iterable, "close"):
                    iterable.close()
            status, headers = answer
        except connection_dropped_errors:
            raise
        except Exception:
            logger.exception("pytest-lwa: the app failed answering %s %s", self.command, self.path)
            return "500 Internal Server Error", [*JSON_HEADERS], errors.SERVER_ERROR().body()
        return status, headers, b"".join(chunks)

    def _drain(self, body: LimitedStream) -> bool:
        """Read what the app left of a small body, so the connection can serve the next request."""
        if body.is_exhausted:
            return True
        if body.limit - body.tell() > MAX_BODY_BYTES:
            return False
        try:
            self.connection.settimeout(DRAIN_IDLE_SECONDS)
            body.exhaust()
        except (OSError, HTTPException):  # the client stalled or left
            return False
        finally:
            with contextlib.suppress(OSError):
                self.connection.settimeout(None)
        return body.is_exhausted

    def _linger(self) -> None:
        """Close after the answer, reading on until the client closes too: closing with unread data
        (a body the app did not need) would reset the connection, and the client might lose the
        answer. At most :data:`LINGER_BYTES`, and :data:`DRAIN_IDLE_SECONDS` idle."""
        self.close_connection = True
        with contextlib.suppress(OSError, ValueError):
            self.connection.shutdown(socket.SHUT_WR)
            if self.server.connections.closing:  # a stop does not wait for clients to close
                return
            self.connection.settimeout(DRAIN_IDLE_SECONDS)
            total = 0
            while total < LINGER_BYTES and (chunk := self.rfile.read1(65536)):
                total += len(chunk)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug's own line would colour the request line for a terminal, and show its query's tokens
        if logger.isEnabledFor(logging.DEBUG):  # the access log ("pytest_lwa.access") says more
            self.log("info", '"%s" %s %s', self.requestline, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.address_string(), redact_text(message % args))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Called by http.server for request lines and headers it cannot parse. It would answer such a
        # request line without a status line (as HTTP/0.9) and with an HTML page; answer like any server.
        self.log_error("code %d, message %s", code, message)
        self._answer_error(errors.MALFORMED_REQUEST(), code, message)

    def _answer_error(self, error: LwaError, code: int | None = None, message: str | None = None) -> None:
        """Answer a request the app never saw with a JSON error body, and close the connection."""
        self.request_version = "HTTP/1.1"
        self.close_connection = True
        self.connection.settimeout(self.server.request_timeout)
        body = error.body()
        self.send_response(code or error.status, message)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` where the C library has none."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def _pipe(one: socket.socket, other: socket.socket, idle: float) -> None:
    """Copy bytes both ways until either side closes, or neither sends anything for ``idle`` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(one, selectors.EVENT_READ, other)
        selector.register(other, selectors.EVENT_READ, one)
        one.settimeout(idle)
        other.settimeout(idle)
        with contextlib.suppress(OSError):
            while events := selector.select(idle):
                for key, _ in events:
                    data = cast(socket.socket, key.fileobj).recv(65536)
                    if not data:
                        return
                    cast(socket.socket, key.data).sendall(data)


@dataclass(frozen=True)
class _Proxy:
    #: the server side of TLS for every host in PROXY_HOSTS
    context: ssl.SSLContext
    passthrough: bool


class _Workers:
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
            trim = _malloc_trim()
            if trim is not None:
                trim(0)
        return None

    def release(self) -> None:
        """Let the idle threads end."""
        with self._lock:
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)


class _Server(ThreadedWSGIServer):
    """Werkzeug's threaded server, counting connections and quiet about the ones that fail."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections = _Connections()
        self.keep_alive = False
        self.request_timeout = REQUEST_TIMEOUT
        self.proxy: _Proxy | None = None
        self.workers = _Workers()  # before werkzeug's __init__, which may call server_close()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.workers.submit(self.process_request_thread, request, client_address):
            self._refuse(request, client_address)

    def _refuse(self, request: socket.socket, client_address: Any) -> None:
        """Answer a connection over the limit 503 with ``Retry-After``, from the accept loop, without
        waiting for anything (over HTTPS that would take a handshake: the connection is just closed)."""
        logger.warning(
            "pytest-lwa: %d connections are being served, the most allowed; refused %s with 503",
            self.workers.limit,
            client_address[0],
        )
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

    def server_close(self) -> None:
        super().server_close()
        self.workers.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("pytest-lwa: connection from %s failed", client_address, exc_info=True)


def _listen(host: str, port: int) -> socket.socket:
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


class LwaServer(Authority):
    """A fake Login With Amazon authorization server on a local port.

    It is an :class:`~pytest_lwa.authority.Authority` (clients, clock, settings) served over HTTP::

        with LwaServer() as server:
            client = server.add_client()
            requests.post(server.token_url, data={...})

    The ``lwa_server`` fixture gives each test one, reset before the test. Every answer closes its
    connection, unless ``keep_alive=True`` (as ``pytest-lwa serve`` runs it).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        expires_in: int = 3600,
        json_body: bool = True,
        body_style: BodyStyle = "classic",
        tls: bool = False,
        tick: bool = False,
        log_size: int | None = None,
        keep_alive: bool = False,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        proxy: bool = False,
        proxy_passthrough: bool = False,
        certificate_authority: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.app = LwaApp(self, log_size)  # before the authority's first reset, which resets the app too
        #: what the port serves; wrap it (as the standalone server's admin API does) to add routes
        self.wsgi_app: WSGIApplication = self.app
        super().__init__(Settings(expires_in=expires_in, json_body=json_body, body_style=body_style), tick=tick)
        self.host = host
        self._port = port
        #: with ``tls=True`` or ``proxy=True``: the PEM file of the authority that signed the server's certificate
        self.ca_bundle: str | None = None
        #: with ``tls=True`` or ``proxy=True``: a client SSL context that trusts the server
        self.ssl_context: ssl.SSLContext | None = None
        self._server_context: ssl.SSLContext | None = None
        self._proxy: _Proxy | None = None
        #: removes the folder of the CA bundle: at exit, when collected, or at the end of a ``with`` block
        self._forget_certificates: Callable[[], Any] = lambda: None
        if proxy_passthrough and not proxy:
            raise ValueError("proxy_passthrough=True needs proxy=True")
        if tls or proxy:
            directory = Path(tempfile.mkdtemp(prefix="pytest-lwa-tls-"))
            self._forget_certificates = weakref.finalize(self, shutil.rmtree, directory, True)
            names = [host, *(sorted(PROXY_HOSTS) if proxy else ())]
            certificates = make_certificates(names, directory, certificate_authority)
            self._server_context = certificates.server_context if tls else None
            self.ssl_context = certificates.client_context
            self.ca_bundle = str(certificates.ca_bundle)
            if proxy:
                self._proxy = _Proxy(certificates.server_context, proxy_passthrough)
        # Connections stay open between requests only when asked (see _RequestHandler): a client that
        # never closes its session would otherwise leave a socket open, which -W error reports.
        self._keep_alive = keep_alive
        if (
            isinstance(request_timeout, bool)
            or not isinstance(request_timeout, (int, float))
            or not request_timeout > 0
        ):
            raise ValueError(f"request_timeout must be a positive number of seconds, got {request_timeout!r}")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int) or max_connections < 1:
            raise ValueError(f"max_connections must be a whole number >= 1, got {max_connections!r}")
        self._request_timeout = float(request_timeout)
        self._max_connections = max_connections
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- addresses ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (known once started, even when constructed with port 0)."""
        return self._server.port if self._server is not None else self._port

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash, e.g. ``http://127.0.0.1:40123``."""
        if self._server is None:
            raise RuntimeError("the server is not running: call start() (or use `with LwaServer() as server:`) first")
        scheme = "https" if self._server_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def proxy_url(self) -> str:
        """With ``proxy=True``: the URL to give clients as their proxy (``HTTPS_PROXY``)."""
        if self._proxy is None:
            raise RuntimeError("this server is no proxy: construct it with LwaServer(proxy=True)")
        return self.url

    @property
    def proxy_env(self) -> dict[str, str]:
        """With ``proxy=True``: the environment that makes a process's clients use the proxy and trust its
        authority (``HTTPS_PROXY``, ``NO_PROXY`` for loopback, the CA variables of OpenSSL, requests, curl
        and Node.js), to pass to a service under test started from a test."""
        url, bundle = self.proxy_url, str(self.ca_bundle)
        loopback = "127.0.0.1,localhost,::1"
        env = {"HTTPS_PROXY": url, "HTTP_PROXY": url, "NO_PROXY": loopback}
        env.update({name.lower(): value for name, value in env.items()})
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
            env[name] = bundle
        return env

    @property
    def token_url(self) -> str:
        """``url + "/auth/o2/token"``."""
        return self.url + "/auth/o2/token"

    @property
    def tokeninfo_url(self) -> str:
        """``url + "/auth/o2/tokeninfo"``."""
        return self.url + "/auth/o2/tokeninfo"

    # --- life cycle ---------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Bind the port and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError(f"the server is already running on {self.url}")
        sock = _listen(self.host, self._port)
        try:
            server = _Server(self.host, self._port, self.wsgi_app, _RequestHandler, fd=sock.fileno())
        finally:
            sock.close()  # the server works on its own duplicate of the socket
        server.ssl_context = self._server_context  # each connection is wrapped in its own thread
        server.keep_alive = self._keep_alive
        server.proxy = self._proxy
        server.request_timeout = self._request_timeout
        server.workers.limit = self._max_connections
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=f"pytest-lwa:{server.port}", daemon=True
        )  # a short poll interval makes stop() quick
        self._thread.start()

    def stop(self, drain: float = 0.0) -> bool:
        """Stop serving and release the port; a stopped server can be started again.

        With ``drain``, wait up to that many seconds for requests already being served to be answered.
        Returns whether none was left unanswered.
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return True
        server.shutdown()
        thread.join()
        server.server_close()
        server.connections.close()  # kept-alive connections close now; those answering, once answered
        self._server = self._thread = None
        return server.connections.wait_idle(drain)

    def reset(self) -> None:
        """Forget clients, users, tokens, faults, the request log and recorded errors; restore the
        constructor's settings; start a new clock."""
        super().reset()
        self.app.reset()

    # --- faults -------------------------------------------------------------------------------

    def fail_next(
        self,
        error: str = "server_error",
        status: int | None = None,
        times: int = 1,
        *,
        description: str | None = None,
        headers: Mapping[str, str] | None = None,
        path: str | None = TOKEN_PATH,
        when: Predicate | None = None,
        nth: int = 1,
    ) -> Fault:
        """Answer the next matching request(s) with an LWA error body instead of the real answer.

        ``error`` is an LWA error code (``server_error``, ``temporarily_unavailable``, ``invalid_client``,
        ``invalid_grant``, …); its status and description come from the catalogue unless given. The body
        follows the server's body style. ``path=None`` matches every route; ``when`` is a predicate on the
        :class:`~pytest_lwa.recording.RecordedRequest`; ``nth=3`` lets two matching requests through first.
        """
        known = CATALOGUE.get(error)
        if known is None and description is None:
            raise ValueError(
                f"{error!r} is not in the error catalogue ({', '.join(CATALOGUE)}); pass description= to use it"
            )
        if known is not None and status is None and description is None:
            lwa_error = known  # the catalogue's own answer: server_error is Amazon's 500 {} (R23)
        else:
            lwa_error = LwaError(
                status or (known.status if known else 400), error, description or (known.description if known else "")
            )
        return self.app.faults.add(
            Fault("error", error=lwa_error, headers=dict(headers or {}), times=times, path=path, when=when, nth=nth)
        )

    def throttle_next(self, retry_after: int = 1, times: int = 1, **match: Any) -> Fault:
        """Answer ``429 too_many_requests`` with ``Retry-After: <retry_after>``."""
        return self.fail_next("too_many_requests", times=times, headers={"Retry-After": str(retry_after)}, **match)

    def respond_next(
        self,
        status: int,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        **match: Any,
    ) -> Fault:
        """Answer with exactly this status, body and headers: an HTML 502 page, a truncated JSON body…

        ``Content-Type`` defaults to ``application/json``.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        return self.app.faults.add(
            Fault("raw", status=status, body=raw, headers=dict(headers or {}), times=times, **match)
        )

    def delay_next(self, seconds: float, times: int = 1, **match: Any) -> Fault:
        """Wait ``seconds`` of real time, then answer normally (for client timeouts)."""
        return self.app.faults.add(Fault("delay", delay=seconds, times=times, **match))

    def drop_next(self, times: int = 1, **match: Any) -> Fault:
        """Close the connection without any answer."""
        return self.app.faults.add(Fault("drop", times=times, **match))

    @property
    def pending_faults(self) -> list[Fault]:
        """Queued faults not yet spent."""
        return self.app.faults.pending

    # --- the request log ----------------------------------------------------------------------

    @property
    def request_log(self) -> list[RecordedRequest]:
        """Every request this server saw since the last reset, oldest first, secrets redacted."""
        return list(self.app.log)

    def token_requests(self, **criteria: Any) -> list[RecordedRequest]:
        """The logged ``POST /auth/o2/token`` requests matching ``criteria`` (see :meth:`assert_token_requests`)."""
        checks = criteria_of(criteria)
        return [r for r in self.request_log if r.is_token_request and not mismatches(r, checks)]

    def assert_token_requests(self, count: int | None = None, **criteria: Any) -> list[RecordedRequest]:
        """Assert how many token requests matched ``criteria`` (at least one when ``count`` is None).

        Criteria: ``grant_type``, ``client_id``, ``scope`` (the string sent), ``auth_method`` (``"basic"``,
        ``"body"``, ``"none"``), ``content_type`` (media type), ``status``. On failure the message lists the
        token requests seen and why each did not match.
        """
        matched = self.token_requests(**criteria)
        if (count is None and matched) or len(matched) == count:
            return matched
        checks = criteria_of(criteria)
        seen = [r for r in self.request_log if r.is_token_request]
        wanted = "at least 1" if count is None else str(count)
        described = ", ".join(f"{k}={v!r}" for k, v in checks.items())
        lines = [
            f"expected {wanted} token request(s){' with ' + described if described else ''}; {len(matched)} matched."
        ]
        if not seen:
            lines.append("No token requests were seen.")
        else:
            lines.append(f"Token requests seen ({len(seen)}):")
            for number, record in enumerate(seen, 1):
                lines.append(f"  {number}. {record.describe()}")
                lines.extend(f"       {why}" for why in mismatches(record, checks))
        others = len(self.app.log) - len(seen)
        if others:
            lines.append(f"({others} other request(s) not shown; see lwa_server.request_log)")
        raise AssertionError("\n".join(lines))

    def __enter__(self) -> LwaServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self._forget_certificates()  # the block is over: its CA bundle goes with it

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not running"
        return f"<LwaServer {where}, {len(self.clients)} client(s)>"
