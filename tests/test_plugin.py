"""The pytest plugin, run the way users run it."""

from __future__ import annotations

import pytest

USER_TEST = """
import requests

def test_appstore_token(lwa_server):
    client = lwa_server.add_client(scopes=["appstore::apps:readwrite"])
    r = requests.post(lwa_server.token_url, data={
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "scope": "appstore::apps:readwrite",
    })
    assert r.status_code == 200
    assert r.json()["token_type"] == "bearer"
"""

# Each test leaves state behind and checks that none of the others' is visible.
LEAK_TESTS = """
import requests
import pytest
from pytest_lwa import LwaServer, Settings

seen = {}

@pytest.mark.parametrize("n", range(6))
def test_isolated(lwa_server: LwaServer, n):
    assert lwa_server.clients == []
    assert lwa_server.settings == Settings()
    for token in seen.values():
        r = requests.get(lwa_server.tokeninfo_url, params={"access_token": token})
        assert r.json()["error"] == "invalid_token"
    assert abs(lwa_server.clock.now() - __import__("time").time()) < 60

    lwa_server.configure(expires_in=5, body_style="modern")
    lwa_server.clock.advance(10_000)
    client = lwa_server.add_client(client_id="same-id-every-test")
    r = requests.post(lwa_server.token_url, data={
        "grant_type": "client_credentials", "scope": "appstore::apps:readwrite",
        "client_id": client.client_id, "client_secret": client.client_secret})
    seen[n] = r.json()["access_token"]
"""


def test_user_test_file_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_user_test_that_expects_the_wrong_answer_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TEST.replace('== "bearer"', '== "Bearer"'))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 'bearer' == 'Bearer'*"])


def test_no_state_leaks_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(LEAK_TESTS)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=6)


def test_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leak=LEAK_TESTS, test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_listen_address_can_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def lwa_server_listen_address():
            return ("localhost", 0)
        """
    )
    pytester.makepyfile(
        """
        def test_host(lwa_server):
            assert lwa_server.url.startswith("http://localhost:")
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_one_server_per_session(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        ports = set()

        def test_a(lwa_server):
            ports.add(lwa_server.port)

        def test_b(lwa_server):
            ports.add(lwa_server.port)
            assert len(ports) == 1
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_plugin_imports_no_server_code_until_asked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_nothing_heavy_loaded():
            assert "pytest_lwa.plugin" in sys.modules
            assert "werkzeug" not in sys.modules
            assert "pytest_lwa.server" not in sys.modules

        def test_fixture_loads_it(lwa_server):
            assert "pytest_lwa.server" in sys.modules
        """
    )
    # pytest-httpserver, installed beside us, imports werkzeug itself: leave it out of this run
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:pytester", "-p", "no:pytest_httpserver")
    result.assert_outcomes(passed=2)


def test_fixtures_are_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        [
            "*lwa_server -- *",
            "*A fake Login With Amazon server, empty and with default settings for this test.",
        ]
    )


SESSION_TESTS = """
def test_uses_the_fixture(lwa_server):
    lwa_server.add_client("left-behind")
    lwa_server.clock.advance(100)

def test_uses_the_session_server_directly(lwa_session_server):
    assert lwa_session_server.clients == []  # lwa_server's test reset it when it ended
    assert lwa_session_server.request_log == []
"""


def test_the_session_server_is_reset_after_each_test_that_used_lwa_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SESSION_TESTS)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)
