"""Running the mock on a real port: :class:`LwaServer`, usable with or without pytest."""

from __future__ import annotations

import functools
import http.client
import ipaddress
import shutil
import ssl
import tempfile
import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Final, ParamSpec, TypeVar, Unpack
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

from .amazon_hosts import PROXY_HOSTS
from .app import LwaApp
from .authority import Authority, Client, Settings, User
from .clock import ManualClock
from .errors import LwaError
from .faults import CATALOGUE, TOKEN_PATH, Fault, Match, Predicate, header_map, whole_number
from .grants.selling_partner import SellingPartner
from .handler import Proxy
from .model import SettingValues, bearer_safe, check_setting_names
from .recording import Criteria, RecordedRequest, criteria_of, mismatches
from .serving import MAX_CONNECTIONS, REQUEST_TIMEOUT, WORKERS, Server, listen
from .stores import Consent, Notification
from .tls import make_certificates

__all__ = ["MAX_CONNECTIONS", "MAX_RETRY_AFTER", "REQUEST_TIMEOUT", "WORKERS", "LwaServer"]

#: the largest ``Retry-After`` a throttle fault sends (RFC 9110's recipients handle at least 2**31 - 1)
MAX_RETRY_AFTER: Final = 2**31 - 1

P = ParamSpec("P")
R = TypeVar("R")


def _delegate(method: Callable[Concatenate[Authority, P], R]) -> Callable[Concatenate[Any, P], R]:
    """``method`` of the server's :class:`~pytest_lwa.authority.Authority`, as a method of the server."""

    @functools.wraps(method)
    def call(self: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(self.authority, *args, **kwargs)

    return call


def is_loopback_name(name: str) -> bool:
    """Whether ``name`` (a host to bind, or one a request names) is ``localhost``, an IPv4 address in
    127.0.0.0/8 or ``::1``; any other name may resolve beyond loopback."""
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LwaServer:
    """A fake Login With Amazon authorization server on a local port.

    It serves an :class:`~pytest_lwa.authority.Authority` (``server.authority``: clients, users, clock,
    settings) over HTTP, and offers its registration methods as its own::

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
        tls: bool = False,
        tick: bool = False,
        log_size: int | None = None,
        keep_alive: bool = False,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int | None = None,
        workers: int = WORKERS,
        proxy: bool = False,
        proxy_passthrough: bool = False,
        proxy_allow_private: bool = False,
        proxy_token: str | None = None,
        certificate_authority: tuple[bytes, bytes] | None = None,
        amazon_hosts: bool = False,
        **settings: Unpack[SettingValues],
    ) -> None:
        #: the state and rules this server serves; ``settings`` (any of :class:`Settings`) are the ones a
        #: reset restores
        check_setting_names(settings)
        self.authority = Authority(Settings(**settings), tick=tick)
        self.app = LwaApp(self.authority, log_size)
        #: what the port serves; wrap it (as the standalone server's admin API does) to add routes
        self.wsgi_app: WSGIApplication = self.app
        self.host = host
        self._port = port
        #: with ``tls=True`` or ``proxy=True``: the PEM file of the authority that signed the server's certificate
        self.ca_bundle: str | None = None
        #: with ``tls=True`` or ``proxy=True``: a client SSL context that trusts the server
        self.ssl_context: ssl.SSLContext | None = None
        self._server_context: ssl.SSLContext | None = None
        self._proxy: Proxy | None = None
        #: removes the folder of the CA bundle: at exit, when collected, or at the end of a ``with`` block
        self._forget_certificates: Callable[[], Any] = lambda: None
        if proxy_passthrough and not proxy:
            raise ValueError("proxy_passthrough=True needs proxy=True")
        if proxy_allow_private and not proxy_passthrough:
            raise ValueError("proxy_allow_private=True needs proxy_passthrough=True")
        if proxy_token is not None and not (isinstance(proxy_token, str) and proxy_token.strip()):
            raise ValueError(f"proxy_token must be a non-empty string, got {proxy_token!r}")
        if proxy_token is not None and not bearer_safe(proxy_token):  # what Proxy-Authorization cannot carry
            raise ValueError(f"proxy_token must be printable ASCII characters without spaces, got {proxy_token!r}")
        if proxy_passthrough and proxy_token is None and not is_loopback_name(host):
            raise ValueError(
                f"proxy_passthrough=True bound beyond loopback ({host!r}) needs proxy_token=: without it anyone who"
                " reaches the port could tunnel through this host"
            )
        tls = tls or amazon_hosts  # Amazon's hosts mapped to this server: HTTPS with a certificate for them all
        if tls or proxy:
            directory = Path(tempfile.mkdtemp(prefix="pytest-lwa-tls-"))
            self._forget_certificates = weakref.finalize(self, shutil.rmtree, directory, True)
            names = [host, *(sorted(PROXY_HOSTS) if proxy or amazon_hosts else ())]
            certificates = make_certificates(names, directory, certificate_authority)
            self._server_context = certificates.server_context if tls else None
            self.ssl_context = certificates.client_context
            self.ca_bundle = str(certificates.ca_bundle)
            if proxy:
                self._proxy = Proxy(certificates.server_context, proxy_passthrough, proxy_allow_private, proxy_token)
        # Connections stay open between requests only when asked (see serving.Server): a client that
        # never closes its session would otherwise leave a socket open, which -W error reports.
        self._keep_alive = keep_alive
        if (
            isinstance(request_timeout, bool)
            or not isinstance(request_timeout, (int, float))
            or not request_timeout > 0
        ):
            raise ValueError(f"request_timeout must be a positive number of seconds, got {request_timeout!r}")
        for name, value in (("max_connections", max_connections), ("workers", workers)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        self._request_timeout = float(request_timeout)
        self._max_connections = max_connections
        self._workers = workers
        self._server: Server | None = None
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
        and Node.js), to pass to a service under test started from a test.

        For Node.js's own ``http``/``https`` (superagent, node-oauth, got), which ignore ``HTTPS_PROXY``, it
        also holds ``NODE_USE_ENV_PROXY=1`` (read by the Node versions that have it, ignored by older ones)
        and ``GLOBAL_AGENT_HTTP_PROXY`` (read by the ``global-agent`` preload, ``node -r
        global-agent/bootstrap``, ignored without it)."""
        url, bundle = self.proxy_url, str(self.ca_bundle)
        loopback = "127.0.0.1,localhost,::1"
        env = {"HTTPS_PROXY": url, "HTTP_PROXY": url, "NO_PROXY": loopback}
        env.update({name.lower(): value for name, value in env.items()})
        env.update(NODE_USE_ENV_PROXY="1", GLOBAL_AGENT_HTTP_PROXY=url, GLOBAL_AGENT_NO_PROXY=loopback)
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
        server = Server(
            listen(self.host, self._port),
            self.wsgi_app,
            ssl_context=self._server_context,
            proxy=self._proxy,
            keep_alive=self._keep_alive,
            request_timeout=self._request_timeout,
            max_connections=self._max_connections,
            workers=self._workers,
        )
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=f"pytest-lwa:{server.port}", daemon=True)
        self._thread.start()

    def stop(self, drain: float = 0.0) -> bool:
        """Stop serving and release the port; a stopped server can be started again.

        With ``drain``, wait up to that many seconds for requests already being served to be answered.
        Returns whether none was left unanswered.
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return True
        self._server = self._thread = None
        return server.stop(drain, thread)

    @property
    def busy(self) -> int:
        """Connections open now (one waiting for its next request counts); 0 when not running."""
        return self._server.open_connections if self._server is not None else 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until no request is being answered; whether none is."""
        return self._server is None or self._server.wait_idle(timeout)

    def reset(self) -> None:
        """Forget clients, users, tokens, faults, the request log and recorded errors; restore the
        constructor's settings; start a new clock."""
        self.authority.reset()
        self.app.reset()

    # --- the authority's registration methods, as the server's own ------------------------------

    configure = _delegate(Authority.configure)
    add_client = _delegate(Authority.add_client)
    remove_client = _delegate(Authority.remove_client)
    rotate_secret = _delegate(Authority.rotate_secret)
    retire_secret = _delegate(Authority.retire_secret)
    add_user = _delegate(Authority.add_user)
    set_consent = _delegate(Authority.set_consent)
    issue_refresh_token = _delegate(Authority.issue_refresh_token)
    revoke = _delegate(Authority.revoke)
    issue_authorization_code = _delegate(Authority.issue_authorization_code)
    approve_device = _delegate(Authority.approve_device)
    deny_device = _delegate(Authority.deny_device)
    verify = _delegate(Authority.verify)
    add_sp_application = _delegate(Authority.add_sp_application)
    add_selling_partner = _delegate(Authority.add_selling_partner)
    set_seller_consent = _delegate(Authority.set_seller_consent)
    issue_spapi_code = _delegate(Authority.issue_spapi_code)
    set_notification_queue = _delegate(Authority.set_notification_queue)
    rotate_application_secret = _delegate(Authority.rotate_application_secret)

    @property
    def notifications(self) -> list[Notification]:
        """Every rotation notification since the last reset, oldest first (each a
        :class:`~pytest_lwa.stores.Notification`)."""
        return self.authority.notifications

    @property
    def clock(self) -> ManualClock:
        """The server's clock: tokens, codes and code pairs expire by it; ``clock.advance(3600)``."""
        return self.authority.clock

    @property
    def settings(self) -> Settings:
        """The current :class:`~pytest_lwa.authority.Settings` (change them with :meth:`configure`)."""
        return self.authority.settings

    @property
    def clients(self) -> list[Client]:
        """The registered clients, in registration order."""
        return self.authority.clients

    @property
    def users(self) -> list[User]:
        """The registered users; the first is :attr:`default_user`."""
        return self.authority.users

    @property
    def default_user(self) -> User:
        """The user who consents at ``/ap/oa`` unless :meth:`set_consent` names another."""
        return self.authority.default_user

    @property
    def consents(self) -> list[Consent]:
        """The consents given at ``/ap/oa``, oldest first: the scopes asked and granted, and ``scope_data`` (N16)."""
        return list(self.authority.consents)

    @property
    def default_selling_partner(self) -> SellingPartner:
        """The selling partner who signs in to Seller Central unless :meth:`set_seller_consent` names another."""
        return self.authority.default_selling_partner

    # --- a browser's part ---------------------------------------------------------------------

    def follow(self, url: str, *, redirects: int = 10) -> str:
        """Follow ``url`` as a browser would, through this server, and return where Amazon sends it back.

        ``url`` is the authorization URL a website-login library built — ``https://www.amazon.com/ap/oa?…``,
        a regional sign-in host, Seller Central's consent — or one on this server. Each redirect to an
        Amazon host (or to this server) is followed here; the first that leaves them is returned: the
        client's redirect URI with ``code`` and ``state`` (or ``error``), or an SP-API application's log-in
        URI. Consent is the automatic one (:meth:`set_consent`, :meth:`set_seller_consent`); a page that
        waits for a person (``interactive_consent``), an error page or a loop raises ``AssertionError``
        with what the server answered.
        """
        for _ in range(redirects + 1):
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            if host not in PROXY_HOSTS and (host, parts.port) != (self.host, self.port):
                return url
            if self._server_context is not None:
                connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                    self.host, self.port, timeout=10, context=self.ssl_context
                )
            else:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                connection.request("GET", target or "/", headers={"Host": parts.netloc})
                answer = connection.getresponse()
                body = answer.read()
            finally:
                connection.close()
            location = answer.getheader("Location")
            if answer.status not in (301, 302, 303, 307, 308) or location is None:
                shown = body.decode("utf-8", "replace")[:500]
                raise AssertionError(
                    f"GET {url} answered {answer.status} {answer.reason}, not a redirect"
                    + (" (a page for a person: interactive_consent is on)" if b"<form" in body else "")
                    + f":\n{shown}"
                )
            url = urljoin(url, location)
        raise AssertionError(f"more than {redirects} redirects, the last to {url}")

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
        if not isinstance(error, str) or not error:
            raise TypeError(f"error must be an LWA error code (a string such as 'server_error'), got {error!r}")
        if status is not None:
            whole_number(status, "status", 400, 599, " (an error's status)")
        if description is not None and not isinstance(description, str):
            raise TypeError(f"description must be a string, got {type(description).__name__}")
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
            Fault("error", error=lwa_error, headers=header_map(headers), times=times, path=path, when=when, nth=nth)
        )

    def throttle_next(self, retry_after: int = 1, times: int = 1, **match: Unpack[Match]) -> Fault:
        """Answer ``429 too_many_requests`` with ``Retry-After: <retry_after>`` (whole seconds)."""
        whole_number(retry_after, "retry_after", 0, MAX_RETRY_AFTER, " (seconds)")
        return self.fail_next("too_many_requests", times=times, headers={"Retry-After": str(retry_after)}, **match)

    def respond_next(
        self,
        status: int,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        **match: Unpack[Match],
    ) -> Fault:
        """Answer with exactly this status, body and headers: an HTML 502 page, a truncated JSON body…

        ``Content-Type`` defaults to ``application/json``.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        if raw and status in (204, 304):
            raise ValueError(f"a {status} answer has no body (HTTP says so, and a client would read it as the next)")
        return self.app.faults.add(
            Fault("raw", status=status, body=raw, headers=header_map(headers), times=times, **match)
        )

    def delay_next(self, seconds: float, times: int = 1, **match: Unpack[Match]) -> Fault:
        """Wait ``seconds`` of real time, then answer normally (for client timeouts)."""
        return self.app.faults.add(Fault("delay", delay=seconds, times=times, **match))

    def drop_next(self, times: int = 1, **match: Unpack[Match]) -> Fault:
        """Close the connection without any answer."""
        return self.app.faults.add(Fault("drop", times=times, **match))

    @property
    def pending_faults(self) -> list[Fault]:
        """Queued faults not yet spent."""
        return self.app.faults.pending

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self.app.faults.clear()

    # --- the server's own failures --------------------------------------------------------------

    @property
    def errors(self) -> list[BaseException]:
        """What the mock raised inside its thread since the last reset (each answered as a JSON 500), oldest
        first, at most 100."""
        return list(self.app.errors)

    def check(self) -> None:
        """Raise ``AssertionError`` when a queued fault was never used (the test did not exercise what it set
        up) or the mock failed inside its thread (the first such exception is the cause); the ``lwa_server``
        fixture calls it after each passing test."""
        problems = [f"queued fault never used: {fault.describe()}" for fault in self.pending_faults]
        failures = self.errors
        problems += [f"the server failed inside its thread: {error!r}" for error in failures]
        if problems:
            raise AssertionError("\n".join(problems)) from (failures[0] if failures else None)

    # --- the request log ----------------------------------------------------------------------

    @property
    def request_log(self) -> list[RecordedRequest]:
        """Every request this server saw since the last reset, oldest first, secrets redacted."""
        return list(self.app.log)

    def clear_log(self) -> None:
        """Forget the requests logged so far (clients, tokens and faults stay)."""
        self.app.log.clear()

    def token_requests(self, **criteria: Unpack[Criteria]) -> list[RecordedRequest]:
        """The logged ``POST /auth/o2/token`` requests matching ``criteria`` (see :meth:`assert_token_requests`)."""
        checks = criteria_of(criteria)
        return [r for r in self.request_log if r.is_token_request and not mismatches(r, checks)]

    def assert_token_requests(self, count: int | None = None, **criteria: Unpack[Criteria]) -> list[RecordedRequest]:
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
