"""The request log's records as data: the one-line description a failing test shows, redaction, and the
criteria ``assert_token_requests`` matches on."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_lwa.recording import (
    CRITERIA,
    RecordedRequest,
    criteria_of,
    mismatches,
    one_line,
    redact_headers,
    redact_params,
    redact_text,
)

FORM = "application/x-www-form-urlencoded"


def record(**fields: Any) -> RecordedRequest:
    defaults: dict[str, Any] = {
        "method": "POST",
        "path": "/auth/o2/token",
        "content_type": FORM,
        "headers": {"Host": "127.0.0.1:8080"},
        "params": {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "***"},
        "time": 0.0,
        "client_id": "cid",
        "status": 200,
    }
    return RecordedRequest(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({}, "POST /auth/o2/token grant_type=client_credentials client_id=cid client_secret=*** auth=body -> 200"),
        ({"status": 0}, "POST /auth/o2/token grant_type=client_credentials client_id=cid client_secret=*** auth=body"
                        " -> no answer"),
        ({"status": 401, "answer": {"error_description": "Client authentication failed", "error": "invalid_client"},
          "reason": "the secret differs"},
         "POST /auth/o2/token grant_type=client_credentials client_id=cid client_secret=*** auth=body -> 401"
         " invalid_client: the secret differs"),
        ({"status": 500, "answer": {}, "fault": "500 server_error, path /auth/o2/token"},
         "POST /auth/o2/token grant_type=client_credentials client_id=cid client_secret=*** auth=body -> 500"
         " (fault: 500 server_error, path /auth/o2/token)"),
        ({"params": {"grant_type": "refresh_token"}, "headers": {"Authorization": "Basic ***"}},
         "POST /auth/o2/token grant_type=refresh_token client_id=cid auth=basic -> 200"),
        ({"params": {"grant_type": "refresh_token"}, "client_id": None},
         "POST /auth/o2/token grant_type=refresh_token auth=none -> 200"),
        ({"method": "GET", "path": "/auth/o2/tokeninfo", "params": {"access_token": "Atza|0123456789abcdef"},
          "client_id": None, "answer": b"<html>"},
         "GET /auth/o2/tokeninfo access_token=Atza|0123456… -> 200"),
        ({"method": "GET", "path": "/ap/oa", "params": {"state": "x" * 65}, "client_id": None, "status": 302},
         f"GET /ap/oa state={'x' * 24}… -> 302"),
        ({"headers": {"Host": "api.amazon.com:443"}, "params": {}, "client_id": None},
         "POST api.amazon.com/auth/o2/token auth=none -> 200"),
        ({"headers": {"Host": "[bad"}, "params": {}, "client_id": None}, "POST /auth/o2/token auth=none -> 200"),
    ],
)  # fmt: skip
def test_one_line_per_request(fields: dict[str, Any], line: str) -> None:
    assert record(**fields).describe() == str(record(**fields)) == line


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("refresh_token", "Atzr|1234567", "Atzr|1234567"),  # 12 characters: whole
        ("refresh_token", "Atzr|12345678", "Atzr|1234567…"),
        ("code", "ABCDEFGHIJKLM", "ABCDEFGHIJKL…"),
        ("device_code", "d" * 13, "d" * 12 + "…"),
        ("state", "s" * 64, "s" * 64),  # 64 characters: whole
        ("state", "s" * 65, "s" * 24 + "…"),
    ],
)
def test_long_values_and_tokens_are_cut(name: str, value: str, shown: str) -> None:
    line = record(method="GET", path="/x", params={name: value}, client_id=None).describe()
    assert line == f"GET /x {name}={shown} -> 200"


def test_what_a_record_says_of_itself() -> None:
    assert record().host == "127.0.0.1"
    assert record(headers={}).host == ""
    assert record().grant_type == "client_credentials"
    assert record(params={"scope": "a  b"}).scopes == ("a", "b")
    assert record(params={}).scopes == ()
    assert record(headers={"Authorization": "basic abc"}).auth_method == "basic"
    assert record(headers={"Authorization": "Bearer abc"}, params={}).auth_method == "none"
    assert record(path="/AUTH/O2/TOKEN").is_token_request
    assert not record(method="GET").is_token_request
    assert not record(path="/auth/o2/tokeninfo").is_token_request


def test_redaction() -> None:
    assert redact_params({"client_secret": "s", "code_verifier": "v", "password": "p", "code": "c"}) == {
        "client_secret": "***",
        "code_verifier": "***",
        "password": "***",
        "code": "c",
    }
    assert redact_headers([("Authorization", "Basic abc"), ("X-Amz-Access-Token", "Atza|x"), ("Host", "h")]) == {
        "Authorization": "Basic ***",
        "X-Amz-Access-Token": "***",
        "Host": "h",
    }
    assert redact_headers([("authorization", "Bearer t t")]) == {"authorization": "Bearer ***"}
    text = "GET /a?access_token=Atza|x&code=c&state=s&refresh_token='r' client_secret=z password=p device_code=d"
    assert redact_text(text) == (
        "GET /a?access_token=***&code=***&state=s&refresh_token=*** client_secret=*** password=*** device_code=***"
    )
    assert redact_text("code_verifier=abc&xcode=1") == "code_verifier=***&xcode=1"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        (
            "GET /a?client%5Fsecret=s&access%5ftoken=t HTTP/1.1",
            "GET /a?client%5Fsecret=***&access%5ftoken=*** HTTP/1.1",
        ),
        ("/a?%63%6F%64%65=c&state=s", "/a?%63%6F%64%65=***&state=s"),
        ("/a?Client_Secret=s&PASSWORD=p&+code_verifier+=v", "/a?Client_Secret=***&PASSWORD=***&+code_verifier+=***"),
        ("/a;refresh_token=r/b?device%5Fcode=d", "/a;refresh_token=***"),  # up to the next & or space
        ("/a?client_secretx=s&xcode=c&code_=c", "/a?client_secretx=s&xcode=c&code_=c"),  # other names
        ("'POST /t?code=c HTTP/1.1'", "'POST /t?code=*** HTTP/1.1'"),  # a request line quoted in a message
        # a value runs to the next & or ; or space, quotes and all (JavaScript's encodeURIComponent leaves ')
        ("/a?client_secret=abc'TAIL&x=1", "/a?client_secret=***&x=1"),
        ("/a?x=1;access_token=Atza|IwEBIwhole-token", "/a?x=1;access_token=***"),
        # a token or secret outside any parameter: in the path
        ("GET /Atza|IwEBIwhole-token-text HTTP/1.1", "GET /Atza|IwEBIwh… HTTP/1.1"),
        ("/auth/o2/token/amzn1.oa2-cs.v1.0123abcd is none", "/auth/o2/token/amzn1.oa2-cs.v1.*** is none"),
    ],
)
def test_redaction_goes_by_the_decoded_name(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted


def test_redaction_of_parameters_and_headers_in_any_case() -> None:
    assert redact_params({"Client_Secret": "s", "PASSWORD": "p", "client_id": "c"}) == {
        "Client_Secret": "***",
        "PASSWORD": "***",
        "client_id": "c",
    }
    assert redact_headers([("Proxy-Authorization", "Bearer s3cret"), ("proxy-authorization", "s3cret")]) == {
        "Proxy-Authorization": "Bearer ***",
        "proxy-authorization": "***",
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("plain text, accents é and emoji 🙂", "plain text, accents é and emoji 🙂"),
        ("a\r\nb\tc\x00\x1b[0m\x7f", r"a\x0d\x0ab\x09c\x00\x1b[0m\x7f"),
        ("\x85\x9f\xa0", r"\x85\x9f\xa0"),  # C1 controls, and the no-break space (unprintable to Python)
        ("\u2028\u2029\u202e\U000e0001", r"\u2028\u2029\u202e\U000e0001"),
    ],
)
def test_one_line(text: str, line: str) -> None:
    assert one_line(text) == line
    assert "\n" not in one_line(text)


def test_a_record_is_described_on_one_line() -> None:
    seen = record(path="/a\r\nb", params={"x\n": "y\r"}, client_id=None)
    assert seen.describe() == r"POST /a\x0d\x0ab x\x0a=y\x0d -> 200"


def test_criteria() -> None:
    assert CRITERIA == ("grant_type", "client_id", "scope", "auth_method", "content_type", "status")
    assert criteria_of({"status": 200}) == {"status": 200}
    with pytest.raises(TypeError) as refused:
        criteria_of({"grant": "x", "stat": 1})
    assert str(refused.value) == (
        "unknown criteria grant, stat; criteria are: grant_type, client_id, scope, auth_method, content_type, status"
    )


def test_mismatches_say_what_differs() -> None:
    seen = record(content_type="Application/X-WWW-Form-Urlencoded; charset=UTF-8", params={"scope": "profile"})
    assert mismatches(seen, {"content_type": FORM, "scope": "profile", "status": 200, "client_id": "cid"}) == []
    assert mismatches(
        seen,
        {"grant_type": "refresh_token", "client_id": "other", "scope": "x", "auth_method": "basic",
         "content_type": "application/json", "status": 400},
    ) == [
        "grant_type is None, not 'refresh_token'",
        "client_id is 'cid', not 'other'",
        "scope is 'profile', not 'x'",
        "auth_method is 'none', not 'basic'",
        f"content_type is '{FORM}', not 'application/json'",
        "status is 200, not 400",
    ]  # fmt: skip
