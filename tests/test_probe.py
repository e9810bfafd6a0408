"""``pytest-lwa probe``: differences are found, sameness is reported, and recordings replay as tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_lwa import LwaServer
from pytest_lwa.cli import main
from pytest_lwa.probe import CASES, load_recording, replay

RECORDINGS = sorted((Path(__file__).parent / "recordings").glob("*.json"))


@pytest.fixture
def target() -> Iterator[LwaServer]:
    """Another LWA server for the probe to compare with the mock: the stand-in for api.amazon.com."""
    with LwaServer() as server:
        yield server


def credentials(server: LwaServer) -> list[str]:
    client = server.add_client()
    token = server.issue_refresh_token(client)
    return ["--client-id", client.client_id, "--client-secret", client.client_secret, "--refresh-token", token]


def test_an_identical_server_shows_no_difference(
    target: LwaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = credentials(target)
    record = tmp_path / "answers.json"
    assert main(["probe", target.url, *given, "--record", str(record)]) == 0
    out = capsys.readouterr().out
    assert f"{len(CASES)} requests, 0 answered differently by {target.url} and the mock" in out
    assert "DIFFERS" not in out
    assert out.count("same    ") == len(CASES)
    assert "same    refresh (R1): 200 {access_token, refresh_token, token_type, expires_in}" in out
    text = record.read_text()
    for secret in given[3::2]:  # the secret and the refresh token
        assert secret not in text
    assert not re.search(r"At(za|zr|c)\|[A-Za-z0-9_-]{20}", text)  # no token, only its shape
    recording = load_recording(record)
    assert [case["name"] for case in recording["cases"]] == [case.name for case in CASES]
    assert replay(recording) == []


def test_another_body_style_is_a_difference_in_every_error(
    target: LwaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target.configure(body_style="modern")
    record = tmp_path / "modern.json"
    assert main(["probe", target.url, "--record", str(record)]) == 1
    out = capsys.readouterr().out
    no_credentials = [case for case in CASES if not case.needs]
    assert out.count("DIFFERS ") == len(no_credentials)
    assert (
        "DIFFERS no-grant-type (R2): 400 unsupported_grant_type: The authorization grant type is not supported by the"
        " authorization server\n          keys: target ['error_index', 'error_description', 'error', 'request_id'],"
        " mock ['error_description', 'error']\n"
    ) in out
    assert f"; {len(CASES) - len(no_credentials)} more need --client-id/--client-secret/--refresh-token" in out
    differing = replay(load_recording(record))
    assert [name for name, _ in differing] == [case.name for case in no_credentials]
    # the same comparison with the mock set as the target is: no difference
    assert main(["probe", target.url, "--body-style", "modern"]) == 0


def test_a_fault_is_a_difference_in_status_body_and_headers(
    target: LwaServer, capsys: pytest.CaptureFixture[str]
) -> None:
    target.fail_next("server_error", path=None)
    assert main(["probe", target.url]) == 1
    out = capsys.readouterr().out
    assert out.count("DIFFERS") == 1
    assert "DIFFERS no-grant-type (R2): 500 {}" in out
    assert "          status: target 500, mock 400\n" in out
    assert "          keys: target [], mock ['error_description', 'error']\n" in out
    assert (
        "          header x-amzn-errortype: target 'InternalFailure:http://internal.amazon.com/coral/"
        "com.amazon.coral.service/', mock 'OA2UnsupportedGrantTypeException:http://internal.amazon.com/coral/"
        "com.amazon.panda/'\n"
    ) in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["ftp://example.test"], "'ftp://example.test' is not an http:// or https:// URL"),
        (["http://127.0.0.1:1"], "probe of http://127.0.0.1:1 failed: [Errno 111] Connection refused"),
        (["http://x", "--refresh-token", "Atzr|x"], "--refresh-token needs --client-id and --client-secret"),
        (["http://x", "--client-id", "a"], "--client-id and --client-secret go together"),
        (["http://x", "--client-id", "a", "--client-secret", "b", "--refresh-token", "r"], "starting with 'Atzr|'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pytest-lwa: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_an_unwritable_recording_is_one_line(
    target: LwaServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe", target.url, "--record", str(tmp_path / "missing" / "x.json")]) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_probe_from_the_command_line(target: LwaServer) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_lwa", "probe", target.url + "/auth/o2/token"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "0 answered differently" in result.stdout


def test_a_file_that_is_no_recording_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"cases": []}))
    with pytest.raises(ValueError, match="not a pytest-lwa probe recording"):
        load_recording(path)


@pytest.mark.parametrize("path", RECORDINGS, ids=[path.stem for path in RECORDINGS])
def test_recording_replays_against_the_mock(path: Path) -> None:
    """Every recording in tests/recordings/ is a regression test: the mock must answer as recorded."""
    differing = replay(load_recording(path))
    assert differing == [], "\n".join(f"{name}: {'; '.join(lines)}" for name, lines in differing)


def test_there_is_a_recording_to_replay() -> None:
    assert RECORDINGS, "tests/recordings/ holds no recording"
