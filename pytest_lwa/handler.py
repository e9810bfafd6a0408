"""One request's answer, made in a worker thread once the loop (:mod:`pytest_lwa.serving`) has read the
whole request: the app's, the proxy's (``CONNECT`` tunnels, hosts not served), and the JSON answers of the
errors the app never sees."""

from __future__ import annotations

import contextlib
import hmac
import io
import ipaddress
import logging
import math
import selectors
import socket
import ssl
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, cast
from urllib.parse import unquote_to_bytes, urlsplit

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

from . import errors
from .amazon_hosts import PROXY_HOSTS
from .errors import LwaError
from .http1 import Head, Incoming
from .recording import access_log, redact_text
from .wire import JSON_HEADERS, JSON_TYPE, http_date, status_line

logger = logging.getLogger("pytest_lwa")
#: what a read or write raises when the client has gone (werkzeug 3.0.4 and later name it too)
connection_dropped_errors: Final = (ConnectionError, TimeoutError, ssl.SSLEOFError)
#: seconds a passed-through tunnel may carry nothing either way before it is closed
TUNNEL_IDLE_SECONDS: Final = 60.0

#: what the connection does once the answer is sent: serve its next request, close (after reading on for
#: a moment), close at once with nothing sent, start TLS for a proxy's tunnel, or nothing (a thread of its
#: own relays a passthrough tunnel)
Then = Literal["keep", "close", "drop", "tls", "detached"]


@dataclass(frozen=True)
class Proxy:
    #: the server side of TLS for every host in PROXY_HOSTS
    context: ssl.SSLContext
    passthrough: bool
    #: passthrough may reach loopback, private, link-local and this host's own addresses
    allow_private: bool = False
    #: what a passthrough CONNECT must send as ``Proxy-Authorization: Bearer <token>`` (None: nothing)
    token: str | None = None


@dataclass(eq=False, slots=True)
class Connection:
    """One client's connection, as the loop keeps it."""

    sock: socket.socket
    address: Any
    state: int
    deadline: float = math.inf
    #: when the loop's timer for it goes off (it then looks at ``deadline``, which may be later)
    timer_at: float = math.inf
    events: int = 0  # what the selector waits for (0: not registered)
    incoming: Incoming = field(default_factory=Incoming)
    head: Head | None = None
    body: list[bytes] = field(default_factory=list)
    #: why the body ended early (the app reads it that far, then this is raised)
    failure: Exception | None = None
    #: bytes of an answer still to send, and what follows once they are sent
    unsent: bytes = b""
    then: Then = "close"
    #: the TLS port's first bytes are still to be looked at (plain HTTP is answered, not handshaken)
    sniff: bool = False
    #: served inside a proxy's CONNECT tunnel
    tunnel: bool = False
    #: a passthrough tunnel's connection to its destination, once open
    upstream: socket.socket | None = None
    linger_end: float = 0.0
    lingered: int = 0

    @property
    def host(self) -> str:
        return str(self.address[0]) if self.address else "?"


class Server(Protocol):
    """What an answer needs of the server (:class:`pytest_lwa.serving.Server`)."""

    app: WSGIApplication
    proxy: Proxy | None
    keep_alive: bool
    #: the server is stopping: no connection is kept open
    closing: bool
    request_timeout: float
    host: str
    port: int

    def call_soon(self, function: Callable[..., None], *args: Any) -> None: ...

    def tunnel_ended(self, client: socket.socket) -> None: ...


def answer(server: Server, connection: Connection) -> tuple[bytes, Then]:
    """The answer to the connection's request, and what follows it."""
    head = connection.head
    assert head is not None
    if server.proxy is not None:
        proxied = _proxied(server, connection, head)
        if proxied is not None:
            return proxied
    try:
        environ = _environ(server, connection, head)
    except ValueError:  # a request target no URL parser takes ("http://[abc/"): answered, not dropped
        return error_answer(errors.MALFORMED_REQUEST(), 400), "close"
    try:
        status, headers, data = _call_app(server, environ)
    except connection_dropped_errors:  # the app closed the connection on purpose (a fault)
        return b"", "drop"
    keep_alive = (
        server.keep_alive
        and head.keep_alive
        and connection.failure is None
        and connection.incoming.body_done
        and not server.closing
    )
    lines = [f"HTTP/1.1 {status}", f"Date: {http_date(int(time.time()))}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if not any(name.lower() == "content-length" for name, _ in headers):
        lines.append(f"Content-Length: {len(data)}")
    if not keep_alive:
        lines.append("Connection: close")
    elif head.version == "HTTP/1.0":
        lines.append("Connection: keep-alive")
    whole = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if logger.isEnabledFor(logging.DEBUG):  # the access log ("pytest_lwa.access") says more
        code = status.partition(" ")[0]
        logger.debug('%s "%s" %s -', connection.host, redact_text(head.request_line), code)
    if head.method != "HEAD":
        whole += data
    return whole, "keep" if keep_alive else "close"


def error_answer(error: LwaError, status: int | None = None, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A JSON error answer for a request the app never saw, closing the connection."""
    body = error.body()
    lines = [
        f"HTTP/1.1 {status_line(status or error.status)}",
        f"Date: {http_date(int(time.time()))}",
        "Connection: close",
        f"Content-Type: {JSON_TYPE}",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _environ(server: Server, connection: Connection, head: Head) -> WSGIEnvironment:
    """The request as WSGI (PEP 3333) has it, as werkzeug's own server would make it."""
    target = urlsplit(head.target)
    path = head.target if not target.scheme and target.netloc else target.path  # ("//x" is a path)
    body: io.RawIOBase | io.BytesIO
    body = io.BytesIO(b"".join(connection.body)) if connection.failure is None else _Body(connection)
    environ: WSGIEnvironment = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if isinstance(connection.sock, ssl.SSLSocket) else "http",
        "wsgi.input": body,
        "wsgi.input_terminated": True,  # the whole body is here: werkzeug applies its size limit to it
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "pytest-lwa",
        "REQUEST_METHOD": head.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path.encode("latin-1")).decode("latin-1"),
        "QUERY_STRING": target.query,
        "REQUEST_URI": head.target,
        "RAW_URI": head.target,
        "REMOTE_ADDR": connection.host,
        "REMOTE_PORT": connection.address[1] if connection.address else 0,
        "SERVER_NAME": str(server.host),
        "SERVER_PORT": str(server.port),
        "SERVER_PROTOCOL": head.version,
    }
    for name, value in head.headers:
        if "_" in name:  # (as werkzeug: HTTP_X_A could otherwise come from X-A or X_A)
            continue
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
            if key in environ:
                value = f"{environ[key]},{value}"
        environ[key] = value
    if target.scheme and target.netloc:  # an absolute URL names the host
        environ["HTTP_HOST"] = target.netloc
    return environ


class _Body(io.RawIOBase):
    """A body that ended early: what arrived of it, then why it ended (a broken chunk raises ``ValueError``,
    a late body ``TimeoutError``; werkzeug's stream turns either into the error the app answers)."""

    def __init__(self, connection: Connection) -> None:
        self._data = memoryview(b"".join(connection.body))
        self._failure = connection.failure

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._data:
            if self._failure is not None:
                raise self._failure
            return 0
        size = min(len(buffer), len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


def _call_app(server: Server, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
    """The app's whole answer: status, headers and body (LWA answers are small)."""
    answer: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer[:] = [status, headers]  # nothing is sent before the app returns, so exc_info may replace it
        return chunks.append

    try:
        iterable = server.app(environ, start_response)
        try:
            chunks.extend(iterable)
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
        status, headers = answer
    except connection_dropped_errors:
        raise
    except Exception:
        logger.exception("pytest-lwa: the app failed answering %s %s", environ["REQUEST_METHOD"], environ["RAW_URI"])
        return "500 Internal Server Error", [*JSON_HEADERS], errors.SERVER_ERROR().body()
    return status, headers, b"".join(chunks)


# --- the proxy ---------------------------------------------------------------------------------


def _proxied(server: Server, connection: Connection, head: Head) -> tuple[bytes, Then] | None:
    """A proxy's request (``CONNECT host:port``, or an absolute URL for a host not served), answered here;
    None for a request the app answers (an absolute URL for an LWA host among them)."""
    if head.method == "CONNECT":
        host, _, port = head.target.rpartition(":")
        return _connect(server, connection, head, host.strip("[]").lower(), port)
    try:
        target = urlsplit(head.target)
        host = (target.hostname or "").lower()
    except ValueError:
        return None  # (the app's side answers it 400)
    if target.scheme and host and host not in PROXY_HOSTS:
        return _refuse_host(host, f"{head.method} {redact_text(head.target)}"), "close"
    return None


def _refuse_host(host: str, request: str) -> bytes:
    error = errors.forbidden_host(host)
    access_log.info("%s (proxy) -> 403 %s: %s is not an LWA host", request, error.error, host)
    return error_answer(error)


ESTABLISHED: Final = b"HTTP/1.1 200 Connection Established\r\n\r\n"


def _connect(server: Server, connection: Connection, head: Head, host: str, port: str) -> tuple[bytes, Then]:
    """A tunnel: the mock over TLS for an LWA host, the bytes untouched for another host when the proxy
    passes them through (and may reach it), else a 403."""
    proxy = server.proxy
    assert proxy is not None
    if host in PROXY_HOSTS:
        if isinstance(connection.sock, ssl.SSLSocket):
            return error_answer(
                LwaError(400, "invalid_request", "pytest-lwa's proxy takes CONNECT over plain HTTP, not HTTPS")
            ), "close"
        return ESTABLISHED, "tls"
    if not proxy.passthrough:
        return _refuse_host(host, f"CONNECT {host}:{port}"), "close"
    target = f"CONNECT {head.target}"
    authorization = [value for name, value in head.headers if name.lower() == "proxy-authorization"]
    if proxy.token is not None and not _bearer(authorization, proxy.token):
        access_log.info("%s (proxy) -> 407: no Proxy-Authorization: Bearer with the admin token", target)
        return error_answer(
            _proxy_authentication_required(), headers=[("Proxy-Authenticate", 'Bearer realm="pytest-lwa"')]
        ), "close"
    if not (host and port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        access_log.info("%s (proxy) -> 400: not host:port", target)
        return error_answer(
            LwaError(400, "invalid_request", f"pytest-lwa's proxy takes CONNECT host:port, not {head.target}")
        ), "close"
    try:
        addresses = _addresses(host, int(port))
    except (OSError, UnicodeError) as error:  # an unknown name, or none a resolver takes
        access_log.info("%s (proxy) -> 502: %s does not resolve", target, host)
        return error_answer(LwaError(502, "bad_gateway", f"pytest-lwa's proxy cannot resolve {host}: {error}")), "close"
    for address in addresses:  # each one, so that a name cannot resolve to one allowed and one not
        why = _refused(address, int(port), proxy.allow_private, server.port)
        if why is not None:
            named = str(address) if str(address) == host else f"{address} ({host})"
            access_log.info("%s (proxy) -> 403 forbidden_address: %s is %s", target, named, why)
            return error_answer(_forbidden_address(named, why, port)), "close"
    upstream, failure = None, None
    for address in addresses:  # the addresses checked, not the name: a second look-up could differ
        try:
            upstream = socket.create_connection((str(address), int(port)), timeout=server.request_timeout)
        except OSError as error:
            failure = error
        else:
            break
    if upstream is None:
        access_log.info("%s (proxy) -> 502: %s", target, failure)
        return error_answer(
            LwaError(502, "bad_gateway", f"pytest-lwa's proxy cannot reach {host}:{port}: {failure}")
        ), "close"
    access_log.info("%s (proxy) -> passed through to %s", target, address)
    connection.upstream = upstream
    return b"", "detached"


def relay(server: Server, client: socket.socket, upstream: socket.socket, early: bytes) -> None:
    """A passthrough tunnel's thread: the answer to the CONNECT, then the bytes both ways (``early``: what the
    client sent before the answer, which belongs to the tunnel)."""
    try:
        with client, upstream, contextlib.suppress(OSError):
            client.setblocking(True)
            client.sendall(ESTABLISHED)
            if early:
                upstream.sendall(early)
            pipe(client, upstream, TUNNEL_IDLE_SECONDS)
    finally:
        server.call_soon(server.tunnel_ended, client)


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
