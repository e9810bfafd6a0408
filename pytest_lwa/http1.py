"""Strict HTTP/1.1 request framing: where each request on a connection begins and ends, or why it is refused.

h11 reads the request line, the header block and the body, as RFC 9112 asks of a server: a header line
without a colon, whitespace before the colon, a byte outside the token set in a name, NUL or a bare CR in a
value, two different ``Content-Length`` values, two ``Host`` headers or none on HTTP/1.1, a chunk size no
server could read — each is a :class:`Refused`, and the connection answers it once and closes. Nothing after
a refused head is ever read as a request (Python's own parser keeps reading, and runs a body as the next
request). A few checks h11 leaves to its user are made here: bare CRs as line ends are refused as soon as
they arrive (h11 would wait for a line end that never comes), so are methods that are not upper case
(werkzeug would serve ``GeT`` as ``GET``), HTTP versions other than 1.0 and 1.1, and ``Content-Length``
beside ``Transfer-Encoding``. Empty lines before a request line are skipped (RFC 9112 §2.2).

Nothing here touches a socket: the server feeds the bytes it reads and takes heads and body pieces out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import h11

__all__ = ["MAX_HEAD_BYTES", "Head", "Incoming", "Refused"]

#: the most a request line and header block may take together; a longer one is refused 431
MAX_HEAD_BYTES: Final = 64 * 1024
_BARE_CR: Final = re.compile(rb"\r(?!\n)")
#: a control character other than the line ends and HTAB (RFC 9110 5.5 allows none in a field value)
_CONTROL: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: a header line that continues the one before it (obs-fold)
_FOLDED: Final = re.compile(rb"\n[ \t]")
_HEAD_END: Final = re.compile(rb"\n\r?\n")
_LEADING_EMPTY_LINES: Final = re.compile(rb"(?:\r?\n)+")
_METHOD: Final = re.compile(rb"[A-Z]+")


class Refused(ValueError):
    """A request that cannot be framed: the status to answer (400; 431 for a head over the limit, 505 for
    an HTTP version other than 1.x) and why, in words for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True, slots=True)
class Head:
    """A request's line and headers, as received (names in their own case, values decoded as Latin-1)."""

    method: str
    target: str
    #: ``HTTP/1.1`` or ``HTTP/1.0``
    version: str
    headers: list[tuple[str, str]]
    #: whether the client lets the connection serve another request after this one
    keep_alive: bool
    #: the client waits for ``100 Continue`` before it sends the body
    expects_continue: bool
    #: the body's length when ``Content-Length`` frames it, else ``None`` (chunked, or no body)
    length: int | None
    chunked: bool

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.target} {self.version}"


class Incoming:
    """One connection's incoming requests: feed it what arrives, take a :class:`Head`, then the body.

    Bytes that arrive beyond the request being read (a pipelined request) are kept for the next one, once
    :meth:`next_request` is called after the body has been read to its end.
    """

    def __init__(self, max_head: int = MAX_HEAD_BYTES) -> None:
        self._max_head = max_head
        #: while a head is arriving: its bytes so far (the parser sees them once the head is whole)
        self._head: bytearray | None = bytearray()
        self._searched = 0  # how far the head's end has been looked for
        self._parser: h11.Connection | None = None
        self._closed = False

    @property
    def pending(self) -> bool:
        """Bytes of a request not yet taken have arrived (a close with none is no request)."""
        return bool(self.leftover())

    def feed(self, data: bytes) -> None:
        """What arrived from the client; ``b""`` when it closed its side."""
        if self._closed:
            return
        self._closed = not data
        if self._head is not None:
            self._head += data
        else:
            assert self._parser is not None
            self._parser.receive_data(data)

    def head(self) -> Head | None:
        """The next request's head, or ``None`` when more bytes are needed. Raises :class:`Refused`."""
        head = self._head
        assert head is not None, "the head has been taken; read the body, then call next_request()"
        if head[:1] in (bytearray(b"\r"), bytearray(b"\n")):  # empty lines before the request line are skipped
            skipped = _LEADING_EMPTY_LINES.match(head)
            del head[: skipped.end() if skipped else 0]
            self._searched = 0
        end = _HEAD_END.search(head, max(0, self._searched - 3))
        bare_cr = _BARE_CR.search(head, max(0, self._searched - 1))  # (a CR last may start a CRLF)
        if bare_cr and bare_cr.start() < (end.end() if end else len(head) - 1):
            raise Refused(400, "a bare CR in the request line or headers")
        if (end.end() if end else len(head)) > self._max_head:
            raise Refused(431, f"the request line and headers are over {self._max_head // 1024} KiB")
        if end is None:
            self._searched = len(head)
            if self._closed:
                raise Refused(400, "the client closed the connection before a whole request")
            return None
        whole = memoryview(head)[: end.end()]
        if _CONTROL.search(whole):
            raise Refused(400, "a control character in the request line or headers")
        if _FOLDED.search(whole, 0, len(whole) - 2):  # (the blank line that ends the head is no fold)
            raise Refused(400, "a folded header line (obs-fold): RFC 9112 lets a server refuse it, and this one does")
        self._parser = parser = h11.Connection(h11.SERVER, max_incomplete_event_size=self._max_head)
        parser.receive_data(bytes(head))
        if self._closed:
            parser.receive_data(b"")
        self._head = None
        event = self._next_event()
        assert isinstance(event, h11.Request), event
        return _head_of(event, parser.they_are_waiting_for_100_continue)

    def body(self) -> bytes | None:
        """The next piece of the body, ``b""`` at its end, or ``None`` when more bytes are needed."""
        while True:
            event = self._next_event()
            if event is h11.NEED_DATA:
                return None
            if isinstance(event, h11.Data):
                if event.data:
                    return bytes(event.data)
                continue
            if isinstance(event, h11.EndOfMessage):
                return b""
            raise Refused(400, "the client closed the connection before the end of the body")

    @property
    def body_done(self) -> bool:
        """The whole body of the current request has been read."""
        return self._parser is not None and self._parser.their_state in (h11.DONE, h11.MUST_CLOSE)

    def next_request(self) -> None:
        """Start reading the next request, beginning with what has already arrived of it."""
        self._head, self._searched = bytearray(self.leftover()), 0
        self._parser = None

    def leftover(self) -> bytes:
        """What has arrived beyond the request read (after a ``CONNECT``: the first bytes of the tunnel)."""
        if self._head is not None:
            return bytes(self._head)
        assert self._parser is not None
        return bytes(self._parser.trailing_data[0])

    def _next_event(self) -> object:
        assert self._parser is not None
        try:
            return self._parser.next_event()
        except h11.RemoteProtocolError as error:
            status = error.error_status_hint
            # h11's words, without the bytes it quotes (they may hold a secret, and go to a log)
            reason = re.split(r": (?:bytearray\()?b['\"]", str(error), maxsplit=1)[0]
            raise Refused(431 if status == 431 else 400, reason) from None


def _head_of(event: h11.Request, expects_continue: bool) -> Head:
    method = bytes(event.method)
    if not _METHOD.fullmatch(method):
        raise Refused(400, f"the method {method.decode('ascii', 'replace')!r} is not upper case")
    if event.http_version not in (b"1.1", b"1.0"):
        raise Refused(505, f"HTTP/{event.http_version.decode('ascii')} is not HTTP/1.1 or HTTP/1.0")
    length: int | None = None
    chunked = False
    connection: list[bytes] = []
    for name, value in event.headers:
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"connection":
            connection.extend(token.strip().lower() for token in value.split(b","))
    if chunked and length is not None:
        raise Refused(400, "both Content-Length and Transfer-Encoding frame the body")
    if chunked and event.http_version == b"1.0":  # RFC 9112 6.1: faulty framing
        raise Refused(400, "Transfer-Encoding in an HTTP/1.0 request")
    if event.http_version == b"1.1":
        keep_alive = b"close" not in connection
    else:
        keep_alive = b"keep-alive" in connection and b"close" not in connection
    return Head(
        method=method.decode("ascii"),
        target=event.target.decode("latin-1"),
        version="HTTP/" + event.http_version.decode("ascii"),
        headers=[(raw.decode("latin-1"), value.decode("latin-1")) for raw, value in event.headers.raw_items()],
        keep_alive=keep_alive,
        expects_continue=expects_continue,
        length=length,
        chunked=chunked,
    )
