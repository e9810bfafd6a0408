"""``pytest-lwa probe URL``: send a fixed set of requests to an LWA endpoint and to the mock, and compare.

The probe keeps the mock honest. Run against ``https://api.amazon.com`` it shows, request by request,
where the real service and the mock answer differently (status, ``error``, ``error_description``, key
order, the headers that matter), and ``--record FILE`` keeps the real answers, with every secret and token
reduced to its shape, as a file the project's test suite replays against the mock
(``tests/recordings/``).

Without credentials it sends only requests that need none (:data:`CASES` with ``needs`` empty); with
``--client-id``/``--client-secret`` also the rows that need a real client, and with ``--refresh-token``
a real refresh. Answers are compared by shape: random values (tokens, request ids, ``error_index``) by
their form, everything else exactly.
"""

from __future__ import annotations

import datetime
import json
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from .authority import CLIENT_CREDENTIALS_SCOPES, Authority

__all__ = ["CASES", "Case", "compare", "probe_case", "replay", "shape"]

FORM: Final = "application/x-www-form-urlencoded"
#: what a recording file says it is
FORMAT: Final = "pytest-lwa probe recording"
#: a bogus client, unknown to any LWA server
BOGUS_ID: Final = "amzn1.application-oa2-client.00000000000000000000000000000000"
BOGUS_SECRET: Final = "amzn1.oa2-cs.v1." + "0" * 64
#: headers compared between the two answers (lower-cased)
COMPARED_HEADERS: Final = ("content-type", "cache-control", "pragma", "x-amzn-errortype", "allow")
#: headers only checked for presence
PRESENT_HEADERS: Final = ("x-amzn-requestid",)
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Case:
    """One probe request. ``fields`` may name ``{client_id}``, ``{client_secret}``, ``{refresh_token}``,
    ``{scope}``: the credentials given to the probe (``needs`` says which it needs), and ``{bogus_id}``,
    ``{bogus_secret}``: a client no server knows."""

    name: str
    method: str
    path: str
    fields: Mapping[str, str]
    encoding: str = "form"  # "form", "form-twice" (grant_type twice), "json", "query" or "text"
    needs: tuple[str, ...] = ()
    row: str = ""

    def request(self, values: Mapping[str, str]) -> tuple[str, bytes | None, dict[str, str]]:
        """``(path with query, body, headers)`` with the placeholders filled in from ``values``."""
        fields = {name: value.format_map(values) for name, value in self.fields.items()}
        if self.encoding == "query":
            return self.path + ("?" + urlencode(fields) if fields else ""), None, {}
        if self.encoding == "json":
            return self.path, json.dumps(fields).encode(), {"Content-Type": "application/json"}
        if self.encoding == "text":
            return self.path, urlencode(fields).encode(), {"Content-Type": "text/plain"}
        twice = b"&grant_type=client_credentials" if self.encoding == "form-twice" else b""
        return self.path, urlencode(fields).encode() + twice, {"Content-Type": FORM}


TOKEN: Final = "/auth/o2/token"
_CLIENT: Final = {"client_id": "{client_id}", "client_secret": "{client_secret}"}
_BOGUS: Final = {"client_id": "{bogus_id}", "client_secret": "{bogus_secret}"}

#: The probe's requests, in the order sent. Those with ``needs`` run only when the probe has them.
CASES: Final[tuple[Case, ...]] = (
    Case("no-grant-type", "POST", TOKEN, _BOGUS, row="R2"),
    Case("unknown-grant-type", "POST", TOKEN, {"grant_type": "password", **_BOGUS}),
    Case("unsupported-content-type", "POST", TOKEN, {"grant_type": "client_credentials", **_BOGUS}, "text"),
    Case("json-without-grant-type", "POST", TOKEN, _BOGUS, "json"),
    Case("parameter-twice", "POST", TOKEN, {"grant_type": "client_credentials", "scope": "{scope}"}, "form-twice"),
    Case("unknown-client", "POST", TOKEN, {"grant_type": "client_credentials", "scope": "{scope}", **_BOGUS}),
    Case("missing-scope", "POST", TOKEN, {"grant_type": "client_credentials", **_BOGUS}),
    Case(
        "unknown-scope-unknown-client",
        "POST",
        TOKEN,
        {"grant_type": "client_credentials", "scope": "appstore::nothing", **_BOGUS},
    ),
    Case(
        "tokeninfo-invalid-token", "GET", "/auth/o2/tokeninfo", {"access_token": "Atza|IwEBIbogus"}, "query", row="R19"
    ),
    Case("get-on-token-url", "GET", TOKEN, {}, "query"),
    Case(
        "codepair-unknown-client",
        "POST",
        "/auth/o2/create/codepair",
        {"response_type": "device_code", "client_id": "{bogus_id}", "scope": "profile"},
        row="R10",
    ),
    Case(
        "client-credentials",
        "POST",
        TOKEN,
        {"grant_type": "client_credentials", "scope": "{scope}", **_CLIENT},
        needs=("client_id", "client_secret"),
    ),
    Case(
        "wrong-secret",
        "POST",
        TOKEN,
        {"grant_type": "client_credentials", "scope": "{scope}", "client_id": "{client_id}", "client_secret": "x"},
        needs=("client_id", "client_secret"),
        row="R5",
    ),
    Case(
        "unknown-scope",
        "POST",
        TOKEN,
        {"grant_type": "client_credentials", "scope": "appstore::nothing", **_CLIENT},
        needs=("client_id", "client_secret"),
        row="R6",
    ),
    Case(
        "unknown-refresh-token",
        "POST",
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": "Atzr|IwEBIbogus", **_CLIENT},
        needs=("client_id", "client_secret"),
        row="R4",
    ),
    Case(
        "refresh",
        "POST",
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": "{refresh_token}", **_CLIENT},
        needs=("client_id", "client_secret", "refresh_token"),
        row="R1",
    ),
)


def _shape_value(name: str, value: Any) -> Any:
    """A value as it is compared: tokens by prefix, random values by form, the rest as it is."""
    if isinstance(value, str):
        if name.endswith("_token") or name in ("device_code",):
            prefix = value.split("|", 1)[0] + "|" if "|" in value else ""
            return f"<{prefix}… token>"
        if name == "request_id":
            return "<uuid>" if _UUID.fullmatch(value) else f"<not a uuid: {len(value)} characters>"
        if name == "error_index":
            return f"<{len(value)} characters>"
        if name in ("user_code", "user_id", "aud", "app_id"):
            return f"<{name}>"
    if name in ("exp", "iat") and isinstance(value, int):
        return "<seconds>"
    return value


def shape(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """What the probe compares of an answer (and what a recording keeps of it)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    kept: dict[str, Any] = {"status": status}
    if isinstance(document, dict):
        kept["keys"] = list(document)
        kept["body"] = {name: _shape_value(name, value) for name, value in document.items()}
    else:
        kept["body"] = f"<{len(body)} bytes, not a JSON object>"
    kept["headers"] = {name: lowered[name] for name in COMPARED_HEADERS if name in lowered}
    kept["headers"].update({name: "<present>" for name in PRESENT_HEADERS if name in lowered})
    return kept


def compare(target: Mapping[str, Any], mock: Mapping[str, Any]) -> list[str]:
    """Where two shapes differ, one line each (empty when they agree)."""
    lines = []
    if target["status"] != mock["status"]:
        lines.append(f"status: target {target['status']}, mock {mock['status']}")
    if target.get("keys") != mock.get("keys"):
        lines.append(f"keys: target {target.get('keys')}, mock {mock.get('keys')}")
    target_body, mock_body = target["body"], mock["body"]
    if isinstance(target_body, dict) and isinstance(mock_body, dict):
        for name in dict.fromkeys([*target_body, *mock_body]):
            if name in target_body and name in mock_body and target_body[name] != mock_body[name]:
                lines.append(f"{name}: target {target_body[name]!r}, mock {mock_body[name]!r}")
    elif target_body != mock_body:
        lines.append(f"body: target {target_body}, mock {mock_body}")
    for name in dict.fromkeys([*target["headers"], *mock["headers"]]):
        ours, theirs = mock["headers"].get(name), target["headers"].get(name)
        if ours != theirs:
            lines.append(f"header {name}: target {theirs!r}, mock {ours!r}")
    return lines


def probe_case(
    base_url: str, case: Case, values: Mapping[str, str], context: ssl.SSLContext | None, timeout: float
) -> dict[str, Any]:
    """Send ``case`` to ``base_url``; its answer's shape. Raises ``OSError`` when no answer comes."""
    path, body, headers = case.request(values)
    request = urllib.request.Request(base_url + path, data=body, headers=headers, method=case.method)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            return shape(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return shape(error.code, dict(error.headers), error.read())


def cases_for(values: Mapping[str, str]) -> list[Case]:
    """The cases the given credentials allow."""
    return [case for case in CASES if all(values.get(name) for name in case.needs)]


def recording(
    target: str, settings: Mapping[str, Any], answers: Sequence[tuple[Case, dict[str, Any]]]
) -> dict[str, Any]:
    """A recording file's content: the target's answers by shape, with no secret in it."""
    return {
        "format": FORMAT,
        "version": 1,
        "target": target,
        "recorded": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "settings": dict(settings),
        "cases": [{"name": case.name, "row": case.row, "answer": answer} for case, answer in answers],
    }


def load_recording(path: str | Path) -> dict[str, Any]:
    """A recording file, checked; raises ``ValueError`` saying what is wrong with it."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read a recording: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f'{path}: not a {FORMAT} (no "format": {FORMAT!r})')
    known = {case.name for case in CASES}
    unknown = [case.get("name") for case in document.get("cases", []) if case.get("name") not in known]
    if unknown:
        raise ValueError(f"{path}: unknown case(s) {', '.join(map(str, unknown))}")
    return document


def replay(document: Mapping[str, Any], timeout: float = 10) -> list[tuple[str, list[str]]]:
    """Send a recording's requests to a fresh mock (with the recording's settings) and compare its answers
    with the recorded ones: ``[(case name, differences), …]`` for every case that differs."""
    from .server import LwaServer

    by_name = {case.name: case for case in CASES}
    with LwaServer(**document.get("settings", {})) as server:
        client = server.add_client()
        values = values_for(client.client_id, client.client_secret, server.issue_refresh_token(client))
        differing = []
        for recorded in document["cases"]:
            answer = probe_case(server.url, by_name[recorded["name"]], values, None, timeout)
            differences = compare(recorded["answer"], answer)
            if differences:
                differing.append((recorded["name"], differences))
    return differing


def values_for(
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    scope: str | None = None,
) -> dict[str, str]:
    """The probe's placeholders: the given credentials (empty when not given) and a bogus client."""
    return {
        "client_id": client_id or "",
        "client_secret": client_secret or "",
        "refresh_token": refresh_token or "",
        "scope": scope or "appstore::apps:readwrite",
        "bogus_id": BOGUS_ID,
        "bogus_secret": BOGUS_SECRET,
    }


def register(server: Authority, values: Mapping[str, str]) -> None:
    """Register the probe's real credentials on the mock, so that it can answer their rows too."""
    if not values["client_id"]:
        return
    scopes = list(dict.fromkeys([*CLIENT_CREDENTIALS_SCOPES, *values["scope"].split()]))  # in order, once each
    server.add_client(values["client_id"], values["client_secret"], scopes=scopes)
    if values["refresh_token"]:
        server.issue_refresh_token(values["client_id"], token=values["refresh_token"])


def _context(cafile: str | None, insecure: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _summary(answer: Mapping[str, Any]) -> str:
    body = answer["body"]
    if isinstance(body, dict) and "error" in body:
        return f"{answer['status']} {body['error']}: {body.get('error_description', '')}"
    if isinstance(body, dict):
        return f"{answer['status']} {{{', '.join(answer.get('keys', []))}}}"
    return f"{answer['status']} {body}"


def run(
    url: str,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    scope: str | None = None,
    settings: Mapping[str, Any] | None = None,
    record: str | None = None,
    cafile: str | None = None,
    insecure: bool = False,
    timeout: float = 10,
    out: Any = None,
) -> int:
    """Probe ``url`` and print each answer beside the mock's: 0 when none differs, 1 when one does.

    Raises ``OSError`` when ``url`` does not answer and ``ValueError`` for bad arguments.
    """
    from .server import LwaServer

    base = url.rstrip("/")
    if base.lower().endswith(TOKEN):
        base = base[: -len(TOKEN)]
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    if refresh_token is not None and not refresh_token.startswith("Atzr|"):
        raise ValueError("--refresh-token must be an LWA refresh token, starting with 'Atzr|'")
    if refresh_token and not (client_id and client_secret):
        raise ValueError("--refresh-token needs --client-id and --client-secret")
    if bool(client_id) != bool(client_secret):
        raise ValueError("--client-id and --client-secret go together")
    values = values_for(client_id, client_secret, refresh_token, scope)
    context = _context(cafile, insecure) if base.startswith("https://") else None
    answers: list[tuple[Case, dict[str, Any]]] = []
    differing = 0
    with LwaServer(**(settings or {})) as mock:
        register(mock.authority, values)
        for case in cases_for(values):
            target = probe_case(base, case, values, context, timeout)
            ours = probe_case(mock.url, case, values, None, timeout)
            answers.append((case, target))
            differences = compare(target, ours)
            differing += bool(differences)
            row = f" ({case.row})" if case.row else ""
            print(f"{'DIFFERS' if differences else 'same   '} {case.name}{row}: {_summary(target)}", file=out)
            for line in differences:
                print(f"          {line}", file=out)
    skipped = len(CASES) - len(answers)
    print(
        f"{len(answers)} requests, {differing} answered differently by {base} and the mock"
        + (f"; {skipped} more need --client-id/--client-secret/--refresh-token" if skipped else ""),
        file=out,
    )
    if record:
        Path(record).write_text(json.dumps(recording(base, settings or {}, answers), indent=2) + "\n", "utf-8")
        print(f"recorded {base}'s answers in {record}", file=out)
    return 1 if differing else 0
