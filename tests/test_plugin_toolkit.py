"""The marker, options and teardown checks, run through pytester the way users run them."""

from __future__ import annotations

import pytest

TOKEN_HELPER = """
import pytest
import requests

def token(server, client, **extra):
    form = {"grant_type": "client_credentials", "scope": "appstore::apps:readwrite",
            "client_id": client.client_id, "client_secret": client.client_secret}
    return requests.post(server.token_url, data={**form, **extra})
"""


def test_marker_settings_and_clients(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        TOKEN_HELPER
        + """
@pytest.mark.lwa(expires_in=60, body_style="modern", json_body=False, enforce_poll_interval=True,
                 clients=[{"client_id": "ci-client", "client_secret": "ci-secret",
                           "scopes": ["appstore::apps:readwrite"]}])
def test_marked(lwa_server):
    client, = lwa_server.clients
    assert (client.client_id, client.client_secret) == ("ci-client", "ci-secret")
    assert token(lwa_server, client).json()["expires_in"] == 60
    assert list(token(lwa_server, client, client_secret="x").json())[0] == "error_index"
    assert requests.post(lwa_server.token_url, json={}).json()["error"] == "invalid_request"
    assert lwa_server.settings.enforce_poll_interval

def test_unmarked_is_back_to_defaults(lwa_server):
    assert lwa_server.clients == []
    assert lwa_server.settings.expires_in == 3600
    assert not lwa_server.settings.enforce_poll_interval
"""
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_class_marker_and_closest_wins(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.lwa(expires_in=60, body_style="modern")
        class TestMarked:
            @pytest.mark.lwa(expires_in=5)
            def test_inner(self, lwa_server):
                assert (lwa_server.settings.expires_in, lwa_server.settings.body_style) == (5, "modern")
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_ini_and_command_line_options(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        lwa_expires_in = 120
        lwa_body_style = modern
        lwa_json_body = false
        """
    )
    pytester.makepyfile(
        """
        import pytest

        def test_settings(lwa_server, request):
            expected = int(request.config.getoption("--lwa-expires-in") or 120)
            assert lwa_server.settings.expires_in == expected
            assert lwa_server.settings.body_style == "modern"
            assert lwa_server.settings.json_body is False

        @pytest.mark.lwa(expires_in=7)
        def test_marker_wins(lwa_server):
            assert lwa_server.settings.expires_in == 7
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)
    pytester.runpytest("--lwa-expires-in", "30").assert_outcomes(passed=2)
    result = pytester.runpytest("--lwa-json-body", "yes")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*assert True is False*"])


@pytest.mark.parametrize(
    ("ini", "options", "message"),
    [
        ("lwa_expires_in = soon", [], "ini option lwa_expires_in must be a whole number of seconds, got 'soon'"),
        ("lwa_expires_in = 1h", [], "ini option lwa_expires_in must be a whole number of seconds, got '1h'"),
        ("lwa_expires_in = 0", [], "expires_in must be a whole number of seconds >= 1, got 0"),
        ("", ["--lwa-expires-in", "0"], "expires_in must be a whole number of seconds >= 1, got 0"),
        ("lwa_body_style = fancy", [], "body_style must be one of classic, modern, got 'fancy'"),
        ("lwa_json_body = maybe", [], "ini option lwa_json_body must be yes or no (or true or false), got 'maybe'"),
        ("", ["--lwa-json-body", "sure"], "--lwa-json-body must be yes or no (or true or false), got 'sure'"),
    ],
)
def test_a_bad_setting_stops_the_run_once(
    pytester: pytest.Pytester, ini: str, options: list[str], message: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_x(lwa_server):\n    pass\n\ndef test_y(lwa_server):\n    pass\n")
    result = pytester.runpytest(*options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().count(message) == 1, result.stderr.str()
    assert "passed" not in result.stdout.str()


@pytest.mark.parametrize(("word", "accepted"), [("yes", True), ("TRUE", True), ("no", False), ("false", False)])
def test_json_body_takes_yes_no_and_true_false_alike(pytester: pytest.Pytester, word: str, accepted: bool) -> None:
    pytester.makepyfile(f"def test_x(lwa_server):\n    assert lwa_server.settings.json_body is {accepted}\n")
    pytester.makeini(f"[pytest]\nlwa_json_body = {word}\n")
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makeini("[pytest]\n")
    pytester.runpytest("--lwa-json-body", word).assert_outcomes(passed=1)


def test_bad_marker_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.lwa(expire_in=60)
        def test_typo(lwa_server):
            pass

        @pytest.mark.lwa(expires_in=0)
        def test_bad_value(lwa_server):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.lwa got unknown argument(s) expire_in; it takes: expires_in, json_body, body_style*",
            "*expires_in must be a whole number of seconds >= 1, got 0*",
        ]
    )


def test_unused_fault_fails_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_forgot(lwa_server):
            lwa_server.fail_next("temporarily_unavailable", times=2)

        def test_already_failing(lwa_server):
            lwa_server.fail_next()
            assert False, "the test's own failure"

        @pytest.mark.lwa(teardown_checks=False)
        def test_opted_out(lwa_server):
            lwa_server.fail_next()

        @pytest.mark.xfail(reason="known bug", strict=True)
        def test_expected_to_fail(lwa_server):
            lwa_server.fail_next()
            assert False
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1, errors=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_forgot*",
            "*lwa_server: queued fault never used: 503 temporarily_unavailable on /auth/o2/token, fired 0 of 2",
            "*(@pytest.mark.lwa(teardown_checks=False) turns this check off)",
        ]
    )
    assert "AssertionError: the test's own failure" in result.stdout.str()
    assert "ERROR at teardown of test_already_failing" not in result.stdout.str()


def test_a_server_taken_mid_test_is_checked_and_reset_after_the_fixtures_using_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest, requests

        SEEN = []

        @pytest.fixture
        def logs_at_teardown(lwa_server):
            yield
            SEEN.append(len(lwa_server.request_log))  # still this test's server: reset comes after

        def test_taken_mid_test(request):
            server = request.getfixturevalue("lwa_server")
            server.add_client(client_id="mid-test")
            server.fail_next()

        def test_after_it(lwa_server, logs_at_teardown):
            assert lwa_server.clients == []
            requests.post(lwa_server.token_url)

        def test_last(lwa_session_server):
            assert SEEN == [1] and lwa_session_server.request_log == []
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_taken_mid_test*", "*queued fault never used*"])


def test_server_thread_error_fails_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests

        def test_predicate_bug(lwa_server):
            lwa_server.fail_next(when=lambda request: request.nope)
            assert requests.post(lwa_server.token_url).status_code == 500
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "lwa_server: queued fault never used: 500 server_error on /auth/o2/token when <lambda>, fired 0 of 1",
            "the server failed inside its thread: AttributeError(*'RecordedRequest' object has no attribute 'nope'*",
        ]
    )


def test_assertion_message_reaches_the_user(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        TOKEN_HELPER
        + """
def test_expect_basic(lwa_server):
    client = lwa_server.add_client(client_id="my-app")
    token(lwa_server, client)
    lwa_server.assert_token_requests(count=1, auth_method="basic")
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: expected 1 token request(s) with auth_method='basic'; 0 matched.",
            "*Token requests seen (1):",
            "*1. POST /auth/o2/token grant_type=client_credentials scope=appstore::apps:readwrite"
            " client_id=my-app client_secret=*** auth=body -> 200",
            "*auth_method is 'body', not 'basic'",
        ]
    )


def test_toolkit_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        TOKEN_HELPER
        + """
@pytest.mark.parametrize("n", range(8))
@pytest.mark.lwa(expires_in=42)
def test_faults_per_worker(lwa_server, n):
    client = lwa_server.add_client()
    lwa_server.fail_next(nth=2)
    assert token(lwa_server, client).json()["expires_in"] == 42
    assert token(lwa_server, client).status_code == 500
    lwa_server.assert_token_requests(count=2)
"""
    )
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=8)


def test_every_setting_is_an_option_an_ini_key_and_a_marker_keyword(pytester: pytest.Pytester) -> None:
    """Settings are described once (pytest_lwa.model.SETTINGS); each is reachable every way, with its help."""
    from pytest_lwa.model import SETTINGS

    help_text = pytester.runpytest("--help").stdout.str()
    for setting in SETTINGS:
        assert f"--lwa-{setting.name.replace('_', '-')}" in help_text
        assert f"lwa_{setting.name} " in help_text
    pytester.makeini("[pytest]\nlwa_rotate_refresh_tokens = true\nlwa_interactive_consent = no\n")
    pytester.makepyfile(
        """
        import pytest

        def test_ini_and_command_line(lwa_server):
            assert lwa_server.settings.rotate_refresh_tokens is True
            assert lwa_server.settings.interactive_consent is True  # the command line wins over the ini file

        @pytest.mark.lwa(interactive_consent=False, enforce_poll_interval=True)
        def test_marker(lwa_server):
            assert (lwa_server.settings.interactive_consent, lwa_server.settings.enforce_poll_interval) == (False, True)
        """
    )
    pytester.runpytest("--lwa-interactive-consent", "yes").assert_outcomes(passed=2)
