"""The pytest plugin: the ``lwa_server`` fixture, the ``lwa`` marker and their options.

Only pytest is imported here; the server is imported when a test first asks for it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from .server import LwaServer

MARKER_ONLY: Final = ("clients", "teardown_checks")
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_SETTINGS = pytest.StashKey[dict[str, Any]]()
#: the servers a test's fixtures gave it (reset after its teardown), each with its teardown check on or off
_SERVERS = pytest.StashKey[list[tuple["LwaServer", bool]]]()
#: the tests running, innermost last (a test may run a pytest session of its own): the fixtures read theirs
#: here instead of taking ``request``, an argument that costs every test a fixture lookup (tens of
#: microseconds, more than the rest of the fixture; benchmarks/run.py measures a test's cost)
_RUNNING: list[pytest.Item] = []
#: requests shown in a failed test's report, the most recent
REPORTED_REQUESTS: Final = 50


def pytest_addoption(parser: pytest.Parser) -> None:
    from .model import SETTINGS, setting_choices, setting_kind

    group = parser.getgroup("lwa", "Login With Amazon mock (pytest-lwa)")
    for setting in SETTINGS:  # every setting, as --lwa-<name> and as the ini option lwa_<name>
        kind = setting_kind(setting)
        default = ("yes" if setting.default else "no") if kind == "bool" else setting.default
        help = f"{setting.metadata['help']} (default {default})"
        choices = setting_choices(setting) or None
        metavar = "yes|no" if kind == "bool" else None if choices else setting.metadata["metavar"]
        group.addoption("--lwa-" + setting.name.replace("_", "-"), choices=choices, metavar=metavar, help=help)
        parser.addini("lwa_" + setting.name, "pytest-lwa: " + help)


def pytest_configure(config: pytest.Config) -> None:
    from .model import SETTINGS

    keywords = ", ".join(f"{setting.name}=" for setting in SETTINGS)
    config.addinivalue_line(
        "markers",
        f"lwa({keywords}, clients=[{{...}}], teardown_checks=True): settings and pre-registered clients of this test's"
        " lwa_server",
    )
    _configured(config)  # a bad ini value or option stops the run here, once, as a usage error


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _RUNNING.append(item)
    try:
        return (yield)
    finally:
        _RUNNING.pop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Once the test's fixtures are torn down (those using its servers among them): check each server, then
    reset it."""
    servers = item.stash.get(_SERVERS, ())
    try:
        yield
        for server, checks in servers:
            if checks:
                _check(item, server)
    finally:
        for server, _ in servers:
            server.reset()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when is not None:  # always set; pytest 7.4's types allow None
        item.stash.setdefault(_REPORTS, {})[report.when] = report
    servers = item.stash.get(_SERVERS, ())
    if report.failed and report.when == "call" and servers:
        report.sections.append(("lwa_server requests", _requests_section(servers[-1][0])))
    return report


def _requests_section(server: LwaServer) -> str:
    """What the test's server saw, each rejected request with its reason (as pytest-httpserver shows its log)."""
    log = server.request_log
    if not log:
        return "no requests reached the server"
    shown = log[-REPORTED_REQUESTS:]
    lines = [f"{len(log) - len(shown) + number}. {record.describe()}" for number, record in enumerate(shown, 1)]
    if len(shown) < len(log):
        lines.insert(0, f"(the last {len(shown)} of {len(log)}; all of them are in lwa_server.request_log)")
    return "\n".join(lines)


def _configured(config: pytest.Config) -> dict[str, Any]:
    """Settings from the ini file, overridden by the command line (read once per run)."""
    if _SETTINGS not in config.stash:
        config.stash[_SETTINGS] = _read_configured(config)
    return config.stash[_SETTINGS]


def _read_configured(config: pytest.Config) -> dict[str, Any]:
    """The settings the ini file and the command line (which wins) give, checked: a bad one stops the run at
    once, as a usage error."""
    from .model import SETTINGS, Settings, setting_from_text

    settings: dict[str, Any] = {}
    try:
        for setting in SETTINGS:
            ini = str(config.getini("lwa_" + setting.name)).strip()
            if ini:
                settings[setting.name] = setting_from_text(setting, ini, f"ini option lwa_{setting.name}")
            option = "--lwa-" + setting.name.replace("_", "-")
            given = config.getoption(option)
            if given is not None:
                settings[setting.name] = setting_from_text(setting, str(given), option)
        Settings(**settings)
    except ValueError as error:
        raise pytest.UsageError(f"pytest-lwa: {error} (from the ini file or the command line)") from None
    return settings


def _marker(item: pytest.Item) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for marker in reversed(list(item.iter_markers("lwa"))):  # the closest marker wins
        if marker.args:
            raise TypeError("@pytest.mark.lwa takes keyword arguments only, e.g. @pytest.mark.lwa(expires_in=60)")
        merged.update(marker.kwargs)
    from .model import SETTINGS

    names = [setting.name for setting in SETTINGS]
    unknown = set(merged) - set(names) - set(MARKER_ONLY)
    if unknown:
        known = ", ".join((*names, *MARKER_ONLY))
        raise TypeError(f"@pytest.mark.lwa got unknown argument(s) {', '.join(sorted(unknown))}; it takes: {known}")
    return merged


@pytest.fixture(scope="session")
def lwa_server_listen_address() -> tuple[str, int]:
    """Host and port of the session's server (default: loopback, a free port). Override to change."""
    return ("127.0.0.1", 0)


@pytest.fixture(scope="session")
def lwa_session_server(lwa_server_listen_address: tuple[str, int]) -> Iterator[LwaServer]:
    """The one server of this test session (of this xdist worker); tests use ``lwa_server``."""
    from .server import LwaServer

    host, port = lwa_server_listen_address
    with LwaServer(host, port) as server:
        yield server


@pytest.fixture(scope="session")
def lwa_https_server_listen_address(lwa_server_listen_address: tuple[str, int]) -> tuple[str, int]:
    """Host and port of the session's HTTPS server (default: the same host, a free port)."""
    return (lwa_server_listen_address[0], 0)


@pytest.fixture(scope="session")
def lwa_https_session_server(lwa_https_server_listen_address: tuple[str, int]) -> Iterator[LwaServer]:
    """The session's HTTPS server, with a certificate authority made for this session."""
    yield from _with_certificates("lwa_https_server", *lwa_https_server_listen_address, tls=True)


@pytest.fixture(scope="session")
def lwa_proxy_session_server(lwa_server_listen_address: tuple[str, int]) -> Iterator[LwaServer]:
    """The session's proxy for Amazon's LWA hosts, with a certificate authority made for this session."""
    yield from _with_certificates("lwa_proxy", lwa_server_listen_address[0], 0, proxy=True)


def _with_certificates(
    fixture: str, host: str, port: int, *, tls: bool = False, proxy: bool = False
) -> Iterator[LwaServer]:
    """A running server that needs certificates, or the fixture's failure when trustme is missing."""
    from .server import LwaServer

    try:
        server = LwaServer(host, port, tls=tls, proxy=proxy)
    except RuntimeError as error:  # no trustme; failed outside this block, so the report says it once
        missing = str(error)
    else:
        missing = ""
    if missing:
        pytest.fail(f"{fixture}: {missing}", pytrace=False)
    with server:
        yield server


@pytest.fixture
def lwa_proxy(lwa_proxy_session_server: LwaServer) -> LwaServer:
    """``lwa_server`` that is also a proxy for Amazon's LWA hosts: give a process ``lwa_proxy.proxy_env``
    (``HTTPS_PROXY``, ``NO_PROXY``, the CA variables) and its requests to ``https://api.amazon.com`` reach it."""
    return _for_this_test(lwa_proxy_session_server)


@pytest.fixture
def lwa_server(lwa_session_server: LwaServer) -> LwaServer:
    """A fake Login With Amazon server, empty and with default settings for this test."""
    return _for_this_test(lwa_session_server)


@pytest.fixture
def lwa_https_server(lwa_https_session_server: LwaServer) -> LwaServer:
    """``lwa_server`` over HTTPS; trust ``.ca_bundle`` (a PEM path) or ``.ssl_context`` in the client."""
    return _for_this_test(lwa_https_session_server)


@pytest.fixture
def lwa_amazon_hosts(lwa_server: LwaServer, monkeypatch: pytest.MonkeyPatch) -> LwaServer:
    """``lwa_server``, with requests for ``https://api.amazon.com`` (and the other LWA hosts) sent to it.

    Covers code using ``requests``, ``httpx``, ``aiohttp``, ``http.client`` or ``urllib``; every other
    request is left alone.
    """
    from .amazon_hosts import patch_amazon_hosts

    patch_amazon_hosts(lwa_server.url, monkeypatch.setattr)
    return lwa_server


def _for_this_test(server: LwaServer) -> LwaServer:
    """``server``, reset and configured for the running test (its teardown resets it again)."""
    item = _RUNNING[-1]
    marker = _marker(item)  # a refused marker fails the setup before the server is touched
    server.reset()
    item.stash.setdefault(_SERVERS, []).append((server, marker.get("teardown_checks", True)))
    settings = {k: v for k, v in marker.items() if k not in MARKER_ONLY}
    server.configure(**{**_configured(item.config), **settings})
    for spec in marker.get("clients", ()):
        server.add_client(**spec)
    return server


def _check(item: pytest.Item, server: LwaServer) -> None:
    """Fail the test for faults it queued but never triggered, or errors inside the server thread."""
    try:
        server.check()
    except AssertionError as failed:
        problems = str(failed)
    else:
        return
    reports = item.stash.get(_REPORTS, {}).values()
    if any(report.failed or hasattr(report, "wasxfail") for report in reports):
        return  # the test's own failure (or expected failure) says more
    pytest.fail(
        f"lwa_server: {problems}\n(@pytest.mark.lwa(teardown_checks=False) turns this check off)",
        pytrace=False,
    )
