"""The listening side of a server: one loop that owns every connection until a whole request has arrived,
and a few worker threads that run the app.

The loop (:meth:`Server.serve_forever`, one thread) accepts connections, does their TLS handshakes, reads
their requests with the strict framing of :mod:`pytest_lwa.http1`, and keeps the deadlines: a waiting or
stalled connection costs a socket and a few hundred bytes, never a thread. Only a whole request (its head
and a body up to :data:`~pytest_lwa.wire.MAX_REQUEST_BODY`) goes to a worker (:mod:`pytest_lwa.handler` answers
it); the worker sends the answer and hands the connection back, and a kept-alive connection waits in the
loop for its next request.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import logging
import math
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from . import errors, handler
from .handler import Connection, Proxy
from .http1 import Incoming, Refused
from .wire import MAX_REQUEST_BODY

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

logger = logging.getLogger("pytest_lwa")
#: seconds a client has to send a whole request (request line, headers and body) once its first byte has
#: arrived, and to complete a TLS handshake; a late one gets a JSON 408 and its connection is closed
REQUEST_TIMEOUT: Final = 10.0
#: connections open at once, by default (fewer when the process may open fewer files): beyond it the
#: connections waiting idle for a request are closed, oldest first, and with none idle the new one is refused 503
MAX_CONNECTIONS: Final = 10_000
#: file descriptors left to the rest of the process below its limit, when the default limit is set by it
SPARE_FILES: Final = 64
#: threads that run the app, by default; requests wait their turn, they are never refused for want of one
WORKERS: Final = 8
#: seconds between two log lines of one kind about connections (each line counts those since the last)
REFUSALS_LOGGED_EVERY: Final = 1.0
#: seconds a connection may wait for its first or next request before it is closed
KEEP_ALIVE_SECONDS: Final = 5.0
#: bytes a connection being closed is read on for (at most), so that the client gets the answer
LINGER_BYTES: Final = 16 * 1024 * 1024
#: seconds a connection being closed is read on, at most, for the client to close its side too
LINGER_SECONDS: Final = 2.0
#: seconds a connection being closed may send nothing before it is closed
LINGER_IDLE_SECONDS: Final = 0.5
#: seconds the loop stops accepting when the process is out of file descriptors
OUT_OF_FILES_PAUSE: Final = 0.1

# what a connection is doing
HANDSHAKE, WAITING, READING, WORKING, WRITING, LINGERING = range(6)


def default_max_connections() -> int:
    """:data:`MAX_CONNECTIONS`, or the process's open-file limit less :data:`SPARE_FILES` when lower."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        return MAX_CONNECTIONS
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(1, min(MAX_CONNECTIONS, soft - SPARE_FILES))


class Tally:
    """Log lines about connections, at most one of a kind a second: the first at once, those that follow
    within the second counted, and the count written as one line."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last: dict[str, float] = {}
        self._counted: dict[str, tuple[int, str, int]] = {}  # kind: (count, latest message, level)

    @property
    def pending(self) -> bool:
        """Counts wait to be written."""
        return bool(self._counted)

    def note(self, kind: str, level: int, message: str) -> None:
        now = self._clock()
        if now - self._last.get(kind, -math.inf) >= REFUSALS_LOGGED_EVERY:
            self._last[kind] = now
            logger.log(level, "pytest-lwa: %s", message)
            return
        count, _, _ = self._counted.get(kind, (0, "", level))
        self._counted[kind] = (count + 1, message, level)

    def flush(self) -> None:
        """Write the counts that are due."""
        if not self._counted:
            return
        now = self._clock()
        for kind, (count, message, level) in list(self._counted.items()):
            if now - self._last[kind] >= REFUSALS_LOGGED_EVERY:
                del self._counted[kind]
                self._last[kind] = now
                logger.log(level, "pytest-lwa: %d more since the last line; the latest: %s", count, message)


class Server:
    """A listening socket served by one loop thread and a pool of worker threads."""

    #: the clock refusals are logged by (only the loop reads it)
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(
        self,
        listener: socket.socket,
        app: WSGIApplication,
        *,
        ssl_context: ssl.SSLContext | None = None,
        proxy: Proxy | None = None,
        keep_alive: bool = False,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int | None = None,
        workers: int = WORKERS,
    ) -> None:
        self.app = app
        self.ssl_context = ssl_context
        self.proxy = proxy
        self.keep_alive = keep_alive
        self.request_timeout = request_timeout
        self.max_connections = default_max_connections() if max_connections is None else max_connections
        self.host, self.port = listener.getsockname()[:2]
        self.closing = False
        self._listener = listener
        listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._woken = False
        self._inbox: collections.deque[tuple[Callable[..., None], tuple[Any, ...]]] = collections.deque()
        self._connections: dict[Connection, None] = {}
        #: those waiting for a request, oldest first (the first closed when the limit is reached)
        self._idle: dict[Connection, None] = {}
        self._timers: list[tuple[float, int, Connection]] = []
        self._order = itertools.count()
        #: the client sockets of passthrough tunnels, relayed by threads of their own
        self._tunnels: dict[socket.socket, None] = {}
        self._answering = 0
        self._idle_condition = threading.Condition()
        self._running = True
        self._accepting_again = 0.0
        self.tally = Tally(lambda: self.clock())
        self.workers = Workers(workers)

    # --- what other threads may call -----------------------------------------------------------

    @property
    def open_connections(self) -> int:
        return len(self._connections) + len(self._tunnels)

    def call_soon(self, function: Callable[..., None], *args: Any) -> None:
        """Run ``function(*args)`` in the loop's thread."""
        self._inbox.append((function, args))
        if not self._woken:
            self._woken = True
            with contextlib.suppress(OSError):
                self._wake_write.send(b"\0")

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no request is being answered; whether none is."""
        with self._idle_condition:
            return self._idle_condition.wait_for(lambda: self._answering == 0, timeout)

    def stop(self, drain: float, thread: threading.Thread) -> bool:
        """Stop accepting, close the connections not being answered, wait up to ``drain`` seconds for the
        others' answers, then close everything and end the loop running in ``thread``."""
        self.call_soon(self._close_listener)
        answered = self.wait_idle(drain)
        self.call_soon(self._end)
        thread.join()
        self.workers.stop()
        return answered

    # --- the loop ------------------------------------------------------------------------------

    def serve_forever(self) -> None:
        selector = self._selector
        selector.register(self._listener, selectors.EVENT_READ, None)
        selector.register(self._wake_read, selectors.EVENT_READ, None)
        try:
            while self._running:
                timeout = None
                if self._timers:
                    timeout = max(0.0, self._timers[0][0] - time.monotonic())
                if self._accepting_again:  # paused out of file descriptors: accept again on time
                    pause = max(0.0, self._accepting_again - time.monotonic())
                    timeout = pause if timeout is None else min(timeout, pause)
                if self.tally.pending:
                    timeout = REFUSALS_LOGGED_EVERY if timeout is None else min(timeout, REFUSALS_LOGGED_EVERY)
                for key, mask in selector.select(timeout):
                    connection = key.data
                    if connection is not None:
                        try:
                            self._on_event(connection, mask)
                        except Exception:  # a fault of the loop's own: that connection ends, the loop goes on
                            logger.exception("pytest-lwa: serving a connection from %s failed", connection.host)
                            self._close(connection)
                    elif key.fileobj is self._listener:
                        self._accept()
                    else:
                        self._run_inbox()
                self._expire()
                self.tally.flush()
        finally:
            for connection in list(self._connections):
                self._close(connection)
            for client in self._tunnels:  # their threads see the end, and close both sides
                with contextlib.suppress(OSError):
                    client.shutdown(socket.SHUT_RDWR)
            selector.close()
            self._listener.close()
            self._wake_read.close()
            self._wake_write.close()

    def _run_inbox(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_read.recv(4096):
                pass
        self._woken = False
        inbox = self._inbox
        while inbox:
            function, args = inbox.popleft()
            function(*args)

    def _close_listener(self) -> None:
        self.closing = True
        if self._listener.fileno() >= 0:
            if not self._accepting_again:  # (while paused out of file descriptors it is not registered)
                self._selector.unregister(self._listener)
            self._accepting_again = 0.0
            self._listener.close()
        for connection in list(self._connections):
            if connection.state not in (WORKING, WRITING):
                self._close(connection)

    def _end(self) -> None:
        self._running = False

    def _accept(self) -> None:
        for _ in range(64):  # a burst in turns with the connections already open
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of file descriptors: stop accepting a moment, not spin
                self.tally.note("accept", logging.WARNING, f"cannot accept a connection: {error}")
                self._selector.unregister(self._listener)
                self._accepting_again = time.monotonic() + OUT_OF_FILES_PAUSE
                return
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                # head and body go out in one write, but a 100 Continue and a TLS record may go in two
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.open_connections >= self.max_connections and not self._make_room():
                self._refuse(sock, address)
                continue
            connection = Connection(sock, address, HANDSHAKE if self.ssl_context is not None else WAITING)
            connection.sniff = self.ssl_context is not None
            self._connections[connection] = None
            if connection.state == HANDSHAKE:
                self._set_deadline(connection, self.request_timeout)
            else:
                self._wait_for_request(connection)
            self._watch(connection, selectors.EVENT_READ)

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for a request; False when none is waiting."""
        if not self._idle:
            return False
        self._close(next(iter(self._idle)))
        return True

    def _refuse(self, sock: socket.socket, address: Any) -> None:
        """Answer a connection over the limit 503 with ``Retry-After``, at once (over HTTPS that would take
        a handshake: the connection is just closed)."""
        host = str(address[0]) if address else "?"
        self.tally.note(
            "refused",
            logging.WARNING,
            f"{self.max_connections} connections are open, the most allowed, none of them idle;"
            f" refused {host} with 503",
        )
        with contextlib.suppress(OSError):
            if self.ssl_context is None:
                with contextlib.suppress(BlockingIOError):
                    sock.recv(65536)  # what has arrived of the request: closing on unread data resets
                sock.send(handler.error_answer(errors.TEMPORARILY_UNAVAILABLE(), headers=[("Retry-After", "1")]))
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _on_event(self, connection: Connection, mask: int) -> None:
        state = connection.state
        if state == HANDSHAKE:
            self._handshake(connection)
        elif state in (WAITING, READING):
            self._read(connection)
        elif state == WRITING:
            self._write(connection)
        elif state == LINGERING:
            self._discard(connection)

    # --- the stages of a connection ------------------------------------------------------------

    def _handshake(self, connection: Connection) -> None:
        sock = connection.sock
        if connection.sniff:
            connection.sniff = False
            try:
                first = sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                connection.sniff = True
                return
            except OSError:
                first = b""
            if not first:
                self._close(connection)
                return
            # A TLS connection opens with a handshake record (22); a letter, or the empty line a request
            # line may follow, is plain HTTP.
            if first.isalpha() or first in (b"\r", b"\n"):
                self.tally.note("plain", logging.INFO, f"{connection.host} sent plain HTTP to the HTTPS port")
                connection.state = READING
                self._answer_now(connection, handler.error_answer(errors.PLAIN_HTTP_TO_TLS_PORT()))
                return
            assert self.ssl_context is not None
            self._start_tls(connection, self.ssl_context)
            return
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._watch(connection, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._watch(connection, selectors.EVENT_WRITE)
            return
        except OSError as error:  # the client does not trust the authority, speaks no TLS, or went away
            where = " through the proxy" if connection.tunnel else ""
            self.tally.note(
                "handshake", logging.INFO, f"the TLS handshake{where} with {connection.host} failed: {error}"
            )
            self._close(connection)
            return
        self._wait_for_request(connection)
        self._watch(connection, selectors.EVENT_READ)
        self._read(connection)  # (the first request may have come with the handshake's last flight)

    def _start_tls(self, connection: Connection, context: ssl.SSLContext) -> None:
        """Begin the server side of a TLS handshake on the connection."""
        self._watch(connection, 0)
        try:
            connection.sock = context.wrap_socket(connection.sock, server_side=True, do_handshake_on_connect=False)
        except OSError:
            self._close(connection)
            return
        connection.state = HANDSHAKE
        self._set_deadline(connection, self.request_timeout)
        self._handshake(connection)

    def _wait_for_request(self, connection: Connection) -> None:
        connection.state = WAITING
        connection.head, connection.body, connection.failure = None, [], None
        self._idle[connection] = None
        self._set_deadline(connection, KEEP_ALIVE_SECONDS)

    def _read(self, connection: Connection) -> None:
        sock = connection.sock
        incoming = connection.incoming
        for turn in itertools.count():
            # up to 256 KiB in one turn (more waits for the next), and what TLS has decrypted already
            if turn >= 4 and not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                break
            try:
                data = sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            except OSError:
                data = b""
            if connection.state == WAITING:
                if not data:
                    self._close(connection)
                    return
                del self._idle[connection]
                connection.state = READING
                self._set_deadline(connection, self.request_timeout)
            incoming.feed(data)
            tls_left = isinstance(sock, ssl.SSLSocket) and sock.pending()
            if not data or (len(data) < 65536 and not tls_left):  # (a short read took what had arrived)
                break
        self._take_request(connection)

    def _take_request(self, connection: Connection) -> None:
        """Take as much of the request as has arrived; once it is whole, hand it to a worker."""
        incoming = connection.incoming
        try:
            if connection.head is None:
                head = incoming.head()
                if head is None:
                    return
                connection.head = head
                if head.length is not None and head.length > MAX_REQUEST_BODY:
                    self._dispatch(connection)  # answered 413 without the body
                    return
                if head.expects_continue and not incoming.body_done:
                    with contextlib.suppress(OSError):
                        connection.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            body, size = connection.body, sum(map(len, connection.body))
            while (piece := incoming.body()) is not None:
                if not piece:
                    self._dispatch(connection)
                    return
                body.append(piece)
                size += len(piece)
                if size > MAX_REQUEST_BODY:  # the app answers 413; the rest of the body is never read
                    self._dispatch(connection)
                    return
        except Refused as refused:
            if connection.head is not None:  # a broken body: the app answers it, as it reads it
                connection.failure = refused
                self._dispatch(connection)
                return
            self.tally.note(
                "refused-request", logging.INFO, f"refused a request from {connection.host}: {refused.reason}"
            )
            self._answer_now(connection, handler.error_answer(errors.MALFORMED_REQUEST(), refused.status))

    def _dispatch(self, connection: Connection) -> None:
        """The request is whole (or as whole as it will be): a worker answers it."""
        connection.state = WORKING
        connection.deadline = math.inf
        self._watch(connection, 0)
        with self._idle_condition:
            self._answering += 1
        self.workers.submit(self._work, connection)

    def _work(self, connection: Connection) -> None:
        """In a worker thread: answer the request, send what the socket takes, hand the rest to the loop."""
        assert connection.head is not None
        try:
            answer, then = handler.answer(self, connection)
        except Exception:  # (handler.answer answers the app's own failures; this is the handler's)
            logger.exception("pytest-lwa: answering a request from %s failed", connection.host)
            answer, then = handler.error_answer(errors.SERVER_ERROR()), "close"
        sent = 0
        if then != "drop":
            try:
                while sent < len(answer):
                    sent += connection.sock.send(answer[sent:])
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
            except OSError:
                then = "drop"  # the client has gone
        self.call_soon(self._answered, connection, answer[sent:], then)

    def _answered(self, connection: Connection, unsent: bytes, then: handler.Then) -> None:
        """Back in the loop: the answer is (partly) sent."""
        if connection not in self._connections:  # closed by a stop meanwhile
            if connection.upstream is not None:
                connection.upstream.close()
            return
        if then == "detached":  # a passthrough tunnel: a thread of its own relays it from now on
            assert connection.upstream is not None
            self._tunnels[connection.sock] = None
            relayed = (self, connection.sock, connection.upstream, connection.incoming.leftover())
            connection.upstream = None
            self._answer_done(connection)
            self._forget(connection)  # before the relay starts: the tunnel is never counted twice in busy
            threading.Thread(target=handler.relay, args=relayed, name="pytest-lwa-tunnel", daemon=True).start()
            return
        connection.unsent, connection.then = unsent, then
        connection.state = WRITING
        if unsent:
            self._set_deadline(connection, self.request_timeout)
            self._watch(connection, selectors.EVENT_WRITE)
        else:
            self._sent(connection)

    def tunnel_ended(self, client: socket.socket) -> None:
        """A passthrough tunnel's thread has closed it (called in the loop's thread)."""
        self._tunnels.pop(client, None)

    def _write(self, connection: Connection) -> None:
        try:
            sent = connection.sock.send(connection.unsent)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return
        except OSError:
            self._close(connection)
            return
        connection.unsent = connection.unsent[sent:]
        if not connection.unsent:
            self._sent(connection)

    def _sent(self, connection: Connection) -> None:
        """The whole answer has gone out: serve the next request, close, or start the tunnel's TLS."""
        self._answer_done(connection)
        then = connection.then
        if then == "drop":
            self._close(connection)
        elif then == "keep" and not self.closing:
            connection.incoming.next_request()
            self._wait_for_request(connection)
            self._watch(connection, selectors.EVENT_READ)
            if connection.incoming.pending:  # pipelined behind the last one
                del self._idle[connection]
                connection.state = READING
                self._set_deadline(connection, self.request_timeout)
                self._take_request(connection)
        elif then == "tls" and not self.closing:
            assert self.proxy is not None
            connection.tunnel = True
            connection.incoming = Incoming()
            self._start_tls(connection, self.proxy.context)
        else:
            self._linger(connection)

    def _answer_done(self, connection: Connection) -> None:
        if connection.state in (WORKING, WRITING):
            connection.state = LINGERING  # (whatever comes next, it no longer counts as answering)
            with self._idle_condition:
                self._answering -= 1
                self._idle_condition.notify_all()

    def _answer_now(self, connection: Connection, answer: bytes) -> None:
        """Answer from the loop (a request the app never sees), then close."""
        with self._idle_condition:
            self._answering += 1
        connection.state = WORKING
        self._answered(connection, answer, "close")

    def _linger(self, connection: Connection) -> None:
        """Close after the answer, reading on until the client closes too: closing with unread data (a body
        the app did not need) would reset the connection, and the client might lose the answer. At most
        :data:`LINGER_BYTES` and :data:`LINGER_SECONDS` in all, and :data:`LINGER_IDLE_SECONDS` idle."""
        if self.closing:
            self._close(connection)
            return
        connection.state = LINGERING
        try:
            connection.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(connection)
            return
        connection.linger_end = time.monotonic() + LINGER_SECONDS
        self._set_deadline(connection, LINGER_IDLE_SECONDS)
        self._watch(connection, selectors.EVENT_READ)

    def _discard(self, connection: Connection) -> None:
        try:
            data = connection.sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError):
            return
        except OSError:
            data = b""
        connection.lingered += len(data)
        if not data or connection.lingered > LINGER_BYTES:
            self._close(connection)
            return
        deadline = min(connection.linger_end, time.monotonic() + LINGER_IDLE_SECONDS)
        self._set_deadline(connection, deadline - time.monotonic())

    # --- deadlines -----------------------------------------------------------------------------

    def _set_deadline(self, connection: Connection, seconds: float) -> None:
        connection.deadline = deadline = time.monotonic() + seconds
        if deadline < connection.timer_at:  # (a later one is looked at when the earlier timer goes off)
            connection.timer_at = deadline
            heapq.heappush(self._timers, (deadline, next(self._order), connection))

    def _expire(self) -> None:
        now = time.monotonic()
        timers = self._timers
        if self._accepting_again and now >= self._accepting_again and not self.closing:
            self._accepting_again = 0.0
            self._selector.register(self._listener, selectors.EVENT_READ, None)
        while timers and timers[0][0] <= now:
            at, _, connection = heapq.heappop(timers)
            if at != connection.timer_at or connection not in self._connections:
                continue  # replaced by an earlier timer, or the connection is closed
            connection.timer_at = math.inf
            if connection.deadline <= now:
                self._late(connection)
            elif connection.deadline < math.inf:  # pushed back since the timer was set
                connection.timer_at = connection.deadline
                heapq.heappush(timers, (connection.deadline, next(self._order), connection))

    def _late(self, connection: Connection) -> None:
        state = connection.state
        if state == READING and connection.head is not None:  # its body is late: the app answers 408
            connection.failure = TimeoutError("the deadline for reading the request has passed")
            self._dispatch(connection)
            return
        if state == READING:
            self.tally.note(
                "late",
                logging.INFO,
                f"{connection.host} sent no whole request within {self.request_timeout:g} s",
            )
            self._answer_now(connection, handler.error_answer(errors.REQUEST_TIMEOUT()))
            return
        if state == HANDSHAKE:
            self.tally.note(
                "handshake",
                logging.INFO,
                f"{connection.host} did not finish a TLS handshake within {self.request_timeout:g} s",
            )
        self._close(connection)

    # --- the selector and the end of a connection ----------------------------------------------

    def _watch(self, connection: Connection, events: int) -> None:
        """Have the selector wait for ``events`` on the connection (0: for nothing)."""
        if events == connection.events:
            return
        selector = self._selector
        if connection.events == 0:
            selector.register(connection.sock, events, connection)
        elif events == 0:
            selector.unregister(connection.sock)
        else:
            selector.modify(connection.sock, events, connection)
        connection.events = events

    def _forget(self, connection: Connection) -> None:
        self._watch(connection, 0)
        self._connections.pop(connection, None)
        self._idle.pop(connection, None)
        connection.deadline = math.inf
        # its timer may hold it for a few seconds more: not what it read
        connection.head, connection.body, connection.unsent = None, [], b""
        connection.incoming = Incoming()

    def _close(self, connection: Connection) -> None:
        self._answer_done(connection)
        self._forget(connection)
        with contextlib.suppress(OSError):
            connection.sock.close()


class Workers:
    """The threads that run the app: started as requests need them, up to ``count``; a request waits its
    turn when all are busy. They are daemons, so one held by a long delay never delays an exit."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, job: Callable[..., None], *args: Any) -> None:
        self._jobs.put((job, args))
        with self._lock:
            if self._idle > 0:  # an idle thread takes it
                self._idle -= 1
                return
            if len(self._threads) >= self.count:  # a busy one will, once it is done
                return
            thread = threading.Thread(target=self._work, name="pytest-lwa-worker", daemon=True)
            self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            function, args = job
            function(*args)
            with self._lock:
                self._idle += 1

    def stop(self) -> None:
        """Let the threads end once they have answered what they hold."""
        with self._lock:
            threads, self._threads, self._idle = self._threads, [], 0
        for _ in threads:
            self._jobs.put(None)


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
