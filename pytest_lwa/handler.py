"""One connection's requests: strict framing, the whole-request deadline, keep-alive, bodies left unread,
the proxy's CONNECT tunnels, and the JSON answers of the errors the app never sees."""

from __future__ import annotations

import contextlib
import hmac
import http.client
import io
import ipaddress
import logging
import selectors
import socket
import ssl
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

from . import errors
from .amazon_hosts import PROXY_HOSTS
from .errors import LwaError
from .http1 import Head, Incoming, Refused
from .recording import access_log, redact_text
from .wire import JSON_HEADERS, JSON_TYPE, MAX_BODY_BYTES

if TYPE_CHECKING:
    from .serving import Server

logger = logging.getLogger("pytest_lwa")
#: what a read or write raises when the client has gone (werkzeug 3.0.4 and later name it too)
connection_dropped_errors: Final = (ConnectionError, TimeoutError, ssl.SSLEOFError)
#: seconds a connection may wait for its first or next request before it is closed
KEEP_ALIVE_SECONDS: Final = 5.0
#: seconds a client may pause while the server reads what is left of a body it did not need
DRAIN_IDLE_SECONDS: Final = 0.5
#: bytes of an unread body read on (at most) before a connection is closed
LINGER_BYTES: Final = 16 * 1024 * 1024
#: seconds a connection being closed is read on, at most, for the client to close its side too
LINGER_SECONDS: Final = 2.0
#: seconds a passed-through tunnel may carry nothing either way before it is closed
TUNNEL_IDLE_SECONDS: Final = 60.0


class _DeadlineReader:
    """A connection's reads, each bounded by the deadline of the stage they belong to.

    A socket timeout bounds one read; a deadline bounds them all, so a client that trickles a byte at
    a time still runs out of time. With no deadline, reads keep the socket's own timeout.
    """

    def __init__(self, connection: socket.socket) -> None:
        self._connection = connection
        self.deadline: float | None = None
        #: seconds one read may wait, within the deadline (a client that pauses longer is let go)
        self.idle: float | None = None

    def recv(self) -> bytes:
        """What has arrived (waiting for it until the deadline); ``b""`` once the client has closed."""
        if self.deadline is not None:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the deadline for reading the request has passed")
            self._connection.settimeout(remaining if self.idle is None else min(remaining, self.idle))
        return self._connection.recv(65536)


class _Body(io.RawIOBase):
    """A request's body as the app reads it, piece by piece as :class:`~pytest_lwa.http1.Incoming` frames it.

    A broken body (a bad chunk, the client gone early) raises ``ValueError``, a late one ``TimeoutError``:
    werkzeug's stream turns either into the answer the app gives.
    """

    def __init__(self, handler: RequestHandler) -> None:
        self._handler = handler
        self._piece = b""
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._piece and not self._ended:
            self._piece = self._handler.body_piece()
            self._ended = not self._piece
        size = min(len(buffer), len(self._piece))
        buffer[:size] = self._piece[:size]
        self._piece = self._piece[size:]
        return size


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, quiet, reading requests strictly (:mod:`pytest_lwa.http1`), answering even
    unparsable requests with a JSON body, and keeping connections open between requests when the server's
    ``keep_alive`` is on.

    A request whose line or headers cannot be framed exactly is answered 400 (431 when over the size
    limit) and its connection closed: nothing after it is read as a request. A body is read (or drained,
    up to :data:`~pytest_lwa.wire.MAX_BODY_BYTES`) before the connection serves the next request; one
    left longer, or HTTP/1.0 without ``keep-alive``, is answered with ``Connection: close``. A kept
    connection waits :data:`KEEP_ALIVE_SECONDS` for its next request; once its first byte has arrived,
    the whole request must arrive within the server's ``request_timeout`` or it is answered 408.
    """

    server: Server
    _reader: _DeadlineReader
    _incoming: Incoming
    _request: Head
    _request_deadline: float | None = None
    #: a TLS port's client sent plain HTTP: it is answered that, without a handshake
    _plain_http = False

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
            # A TLS connection opens with a handshake record (22); a letter, or the empty line a request line
            # may follow, is plain HTTP.
            first = self.request.recv(1, socket.MSG_PEEK)
            self._plain_http = first.isalpha() or first in (b"\r", b"\n")
            if not self._plain_http:
                self.request = context.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()
        self.rfile.close()  # socketserver's reader of the connection: requests are read through Incoming
        self._reader = _DeadlineReader(self.connection)
        self._incoming = Incoming()

    def handle(self) -> None:
        if self._plain_http:
            self.command = ""
            logger.info("pytest-lwa: %s sent plain HTTP to the HTTPS port", self.address_string())
            self._answer_error(errors.PLAIN_HTTP_TO_TLS_PORT())
            self._linger()
            return
        super().handle()

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
        reader.deadline = self._request_deadline = time.monotonic() + self.server.request_timeout
        self.command = self.requestline = ""  # nothing of an earlier request on the connection applies now
        try:
            if self._read_head():
                self.run_wsgi()
        except OSError:  # the client is gone
            self.close_connection = True
        finally:
            reader.deadline = None
            connections.answered()

    def _request_arrives(self) -> bool:
        """Wait (at most :data:`KEEP_ALIVE_SECONDS`) for the connection's next request."""
        if not self.server.connections.waiting(self.connection):
            return False
        if self._incoming.pending:  # pipelined behind the last one
            return True
        self._reader.deadline = time.monotonic() + KEEP_ALIVE_SECONDS
        try:
            data = self._reader.recv()
        except (OSError, ValueError):  # timed out, reset, or shut down by a stop
            return False
        finally:
            self._reader.deadline = None
        self._incoming.feed(data)
        return bool(data)

    def _read_head(self) -> bool:
        """Read the request line and headers; False when the request was answered here (refused, or late)."""
        incoming = self._incoming
        try:
            while (head := incoming.head()) is None:
                incoming.feed(self._reader.recv())
        except Refused as refused:
            logger.info("pytest-lwa: refused a request from %s: %s", self.address_string(), refused.reason)
            self._answer_error(errors.MALFORMED_REQUEST(), refused.status)
            self._linger()
            return False
        except TimeoutError:  # (the reads have the request's deadline: it has passed)
            logger.info("pytest-lwa: %s sent no whole request within %g s", self.address_string(),
                        self.server.request_timeout)  # fmt: skip
            self._answer_error(errors.REQUEST_TIMEOUT())
            return False
        self._request = head
        self.command, self.path, self.request_version = head.method, head.target, head.version
        self.requestline = head.request_line
        self.headers = http.client.HTTPMessage()
        for name, value in head.headers:
            self.headers[name] = value
        self.close_connection = not head.keep_alive
        if head.expects_continue:
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def body_piece(self) -> bytes:
        """The next piece of the request's body, ``b""`` at its end (waiting for it until the deadline)."""
        incoming = self._incoming
        while (piece := incoming.body()) is None:
            incoming.feed(self._reader.recv())
        return piece

    def run_wsgi(self) -> None:
        try:
            if self.server.proxy is not None and self._proxied():
                return
            self.environ = environ = self.make_environ()
        except ValueError:  # a request target no URL parser takes ("http://[abc/"): answered, not dropped
            self._answer_error(errors.MALFORMED_REQUEST(), 400)
            return
        environ["wsgi.input"] = _Body(self)  # (werkzeug's own reads the socket; chunked it marks terminated)
        try:
            status, headers, data = self._call_app(environ)
        except connection_dropped_errors:
            self.close_connection = True  # the client left, or the app closed the connection on purpose
            return
        finally:  # the request has been read (or has run out of time); the answer goes out in bounded time
            self._reader.deadline = None
            with contextlib.suppress(OSError):
                self.connection.settimeout(self.server.request_timeout)
        keep_alive = self.server.keep_alive and not self.close_connection
        keep_alive = keep_alive and not self.server.connections.closing and self._drain()
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
        # head and body in one write: one system call, one wake of the client
        buffer: list[bytes] = self._headers_buffer
        buffer.append(b"\r\n")
        if self.command != "HEAD":
            buffer.append(data)
        self.flush_headers()
        if keep_alive:
            self._incoming.next_request()
        else:
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
        proxy passes them through (and may reach it), else a 403."""
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
            RequestHandler(tunnel, self.client_address, self.server)  # serves the tunnel's requests, then closes
            return
        if not proxy.passthrough:
            self._refuse_host(host, f"CONNECT {host}:{port}")
            return
        target = f"CONNECT {self.path}"
        if proxy.token is not None and not _bearer(self.headers.get_all("Proxy-Authorization") or [], proxy.token):
            access_log.info("%s (proxy) -> 407: no Proxy-Authorization: Bearer with the admin token", target)
            self._answer_error(
                _proxy_authentication_required(), headers=[("Proxy-Authenticate", 'Bearer realm="pytest-lwa"')]
            )
            return
        if not (host and port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            access_log.info("%s (proxy) -> 400: not host:port", target)
            self._answer_error(
                LwaError(400, "invalid_request", f"pytest-lwa's proxy takes CONNECT host:port, not {self.path}")
            )
            return
        try:
            addresses = _addresses(host, int(port))
        except (OSError, UnicodeError) as error:  # an unknown name, or none a resolver takes
            access_log.info("%s (proxy) -> 502: %s does not resolve", target, host)
            self._answer_error(LwaError(502, "bad_gateway", f"pytest-lwa's proxy cannot resolve {host}: {error}"))
            return
        for address in addresses:  # each one, so that a name cannot resolve to one allowed and one not
            why = _refused(address, int(port), proxy.allow_private, self.server.port)
            if why is not None:
                named = str(address) if str(address) == host else f"{address} ({host})"
                access_log.info("%s (proxy) -> 403 forbidden_address: %s is %s", target, named, why)
                self._answer_error(_forbidden_address(named, why, port))
                return
        upstream, failure = None, None
        for address in addresses:  # the addresses checked, not the name: a second look-up could differ
            try:
                upstream = socket.create_connection((str(address), int(port)), timeout=self.server.request_timeout)
            except OSError as error:
                failure = error
            else:
                break
        if upstream is None:
            access_log.info("%s (proxy) -> 502: %s", target, failure)
            self._answer_error(
                LwaError(502, "bad_gateway", f"pytest-lwa's proxy cannot reach {host}:{port}: {failure}")
            )
            return
        with upstream:
            access_log.info("%s (proxy) -> passed through to %s", target, address)
            self.send_response(200, "Connection Established")
            self.end_headers()
            early = self._incoming.leftover()  # what the client sent before the answer belongs to the tunnel
            with contextlib.suppress(OSError):
                if early:
                    upstream.sendall(early)
                pipe(self.connection, upstream, TUNNEL_IDLE_SECONDS)

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

    def _drain(self) -> bool:
        """Read what the app left of a small body, so the connection can serve the next request."""
        incoming, length = self._incoming, self._request.length
        if incoming.body_done:
            return True
        if length is not None and length > MAX_BODY_BYTES:
            return False
        left = MAX_BODY_BYTES
        reader = self._reader
        # the rest of the request, within the request's own deadline, and no read idle for long
        reader.deadline, reader.idle = self._request_deadline, DRAIN_IDLE_SECONDS
        try:
            while piece := self.body_piece():
                left -= len(piece)
                if left < 0:
                    return False
        except (OSError, ValueError):  # the client stalled or left, or the body is broken
            return False
        finally:
            reader.deadline = reader.idle = None
            with contextlib.suppress(OSError):
                self.connection.settimeout(None)
        return True

    def _linger(self) -> None:
        """Close after the answer, reading on until the client closes too: closing with unread data
        (a body the app did not need) would reset the connection, and the client might lose the
        answer. At most :data:`LINGER_BYTES` and :data:`LINGER_SECONDS` in all, and :data:`DRAIN_IDLE_SECONDS`
        idle: a client that trickles on is let go."""
        self.close_connection = True
        reader = self._reader
        reader.deadline, reader.idle = time.monotonic() + LINGER_SECONDS, DRAIN_IDLE_SECONDS
        try:
            with contextlib.suppress(OSError, ValueError):
                self.connection.shutdown(socket.SHUT_WR)
                if self.server.connections.closing:  # a stop does not wait for clients to close
                    return
                total = 0
                while total < LINGER_BYTES and (chunk := reader.recv()):
                    total += len(chunk)
        finally:
            reader.deadline = reader.idle = None

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # werkzeug's own line would colour the request line for a terminal, and show its query's tokens
        if logger.isEnabledFor(logging.DEBUG):  # the access log ("pytest_lwa.access") says more
            self.log("info", '"%s" %s %s', self.requestline, code, size)

    def log(self, type: str, message: str, *args: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.address_string(), redact_text(message % args))

    def _answer_error(
        self,
        error: LwaError,
        code: int | None = None,
        message: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Answer a request the app never saw with a JSON error body, and close the connection."""
        self.request_version = "HTTP/1.1"
        self.close_connection = True
        self.connection.settimeout(self.server.request_timeout)
        body = error.body()
        self.send_response(code or error.status, message)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def pipe(one: socket.socket, other: socket.socket, idle: float) -> None:
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


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: why the proxy does not pass through to its own port, whatever it may reach
ITSELF: Final = "the proxy itself"


def _proxy_authentication_required() -> LwaError:
    return LwaError(
        407,
        "proxy_authentication_required",
        "pytest-lwa's proxy tunnels other hosts only with Proxy-Authorization: Bearer <the admin token>",
    )


def _forbidden_address(named: str, why: str, port: str) -> LwaError:
    """The proxy's answer for a tunnel it does not open (the mock's own: Amazon has no such answer)."""
    if why == ITSELF:
        return LwaError(
            403, "forbidden_address", f"pytest-lwa's proxy does not tunnel to itself ({named}, port {port})"
        )
    return LwaError(
        403,
        "forbidden_address",
        f"pytest-lwa's proxy does not tunnel to {named}, {why}; start it with --proxy-allow-private"
        " (LwaServer(proxy_allow_private=True)) to reach this host's and its network's services",
    )


def _addresses(host: str, port: int) -> list[Address]:
    """The addresses ``host`` names: itself when it is one (no resolver asked), else what it resolves to."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses = [
        ipaddress.ip_address(sockaddr[0])
        for family, _, _, _, sockaddr in found
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise OSError(f"{host} has no IP address")
    return list(dict.fromkeys(addresses))


def _refused(address: Address, port: int, allow_private: bool, own_port: int) -> str | None:
    """Why a passthrough tunnel may not go to ``address``, or None: an address not on the internet (this
    host's, its network's) unless ``allow_private``, and never the proxy's own port."""
    if isinstance(address, ipaddress.IPv6Address):  # an IPv4 address inside an IPv6 one is judged as IPv4
        address = address.ipv4_mapped or address.sixtofour or address
    if port == own_port and (address.is_loopback or address.is_unspecified or _of_this_host(address)):
        return ITSELF
    if allow_private:
        return None
    kinds = (
        ("a loopback address", address.is_loopback),
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        # fec0::/10, deprecated but still routed inside sites; Python counts it as global
        ("a site-local address", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
        ("an address not routed on the internet", not address.is_global),
    )
    why = next((kind for kind, matches in kinds if matches), None)
    if why is None and _of_this_host(address):
        why = "an address of this host"
    return why


def _of_this_host(address: Address) -> bool:
    """Whether ``address`` is one of this host's own: a socket binds to it (nothing is sent)."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


def _bearer(values: list[str], token: str) -> bool:
    """Whether the ``Proxy-Authorization`` headers sent are one ``Bearer <token>``."""
    if len(values) != 1:
        return False
    scheme, _, credentials = values[0].strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())
