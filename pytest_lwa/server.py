"""Running the mock on a real port: :class:`LwaServer`, usable with or without pytest."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import errors
from .app import LwaApp
from .authority import Authority, Settings
from .errors import BodyStyle

__all__ = ["LwaServer"]

logger = logging.getLogger("pytest_lwa")


class _RequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, quiet, and answering even unparsable requests with a JSON body."""

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug("%s " + message, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Called by http.server for request lines and headers it cannot parse. It would answer such a
        # request line without a status line (as HTTP/0.9) and with an HTML page; answer like any server.
        self.request_version = "HTTP/1.1"
        body = errors.MALFORMED_REQUEST.body()
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, message)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; raises ``OSError`` (e.g. port in use) instead of exiting."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
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

    The ``lwa_server`` fixture gives each test one, reset before the test.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        expires_in: int = 3600,
        json_body: bool = True,
        body_style: BodyStyle = "classic",
        ssl_context: ssl.SSLContext | None = None,
        tick: bool = False,
    ) -> None:
        self.app = LwaApp(self)  # before the authority's first reset, which clears its errors
        super().__init__(Settings(expires_in=expires_in, json_body=json_body, body_style=body_style), tick=tick)
        self.host = host
        self._port = port
        self.ssl_context = ssl_context
        self._server: BaseWSGIServer | None = None
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
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

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
            server = make_server(
                self.host,
                self._port,
                self.app,
                threaded=True,
                request_handler=_RequestHandler,
                ssl_context=self.ssl_context,
                fd=sock.fileno(),
            )
        finally:
            sock.close()  # the server works on its own duplicate of the socket
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=f"pytest-lwa:{server.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port; a stopped server can be started again."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        server.server_close()
        self._server = self._thread = None

    def reset(self) -> None:
        """Forget every client, token and recorded error; restore settings; start a new clock."""
        super().reset()
        self.app.errors.clear()

    def __enter__(self) -> LwaServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not running"
        return f"<LwaServer {where}, {len(self.clients)} client(s)>"
