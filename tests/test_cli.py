"""`pytest-lwa serve`: in-process through main(argv), and as the real process CI jobs start."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers import token_request, wait_for

from pytest_lwa.cli import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, _config, build_parser, main, serve
from pytest_lwa.config import load_config
from pytest_lwa.environment import CONFIG_TOML, variables, with_environment

ROOT = Path(__file__).resolve().parent.parent
APPSTORE = "appstore::apps:readwrite"


Serve = Callable[..., tuple[subprocess.Popen[str], dict[str, Any]]]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Serve]:
    """Start `python -m pytest_lwa serve ARGS` on a free port; stopped after the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
        ready = tmp_path / f"ready{len(procs)}.json"
        command = [sys.executable, "-m", "pytest_lwa", "serve", "--port", "0", "--ready-file", str(ready), *args]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc, wait_for(ready, proc)

    yield start
    for proc in procs:  # stopped as a CI job stops a service, so that it cleans up (its TLS folder)
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_the_banner_shows_a_website_where_its_pages_load_the_sdk(served: Serve, tmp_path: Path) -> None:
    config = tmp_path / "site.toml"
    config.write_text(
        '[[clients]]\nclient_id = "shop"\nallowed_origins = ["http://127.0.0.1:3000", "http://localhost:3000"]\n'
        '[[clients]]\nclient_id = "backend"\n'
    )
    proc, ready = served("--config", str(config))
    assert proc.stdout is not None
    banner = [proc.stdout.readline().rstrip("\n") for _ in range(9)]
    sdk = [line for line in banner if line.startswith("SDK:")]
    assert sdk == [
        f"SDK:           {ready['url']}/sdk/na/login1.js for pages on http://127.0.0.1:3000 http://localhost:3000"
    ]
    assert banner[banner.index(sdk[0]) - 3] == "client_id:     shop"  # under its client; none under "backend"
    assert requests.get(f"{ready['url']}/sdk/na/login1.js", timeout=10).status_code == 200


def grantless(
    url: str, client_id: str = DEMO_CLIENT_ID, secret: str = DEMO_CLIENT_SECRET, **kw: Any
) -> requests.Response:
    return token_request(url, client_id=client_id, client_secret=secret, **kw)


# --- the real process ----------------------------------------------------------------------------


def test_demo_server_banner_curl_and_sigterm(served: Serve, tmp_path: Path) -> None:
    proc, ready = served()
    url = ready["url"]
    assert ready["clients"][0]["client_id"] == DEMO_CLIENT_ID
    assert proc.stdout is not None
    banner = [proc.stdout.readline().rstrip("\n") for _ in range(6)]  # printed before the ready file
    assert banner[:4] == [
        f"Serving Login With Amazon mock on {url}",
        f"client_id:     {DEMO_CLIENT_ID}",
        f"client_secret: {DEMO_CLIENT_SECRET}",
        "scopes:        appstore::apps:readwrite adx_reporting::appstore:marketer sellingpartnerapi::notifications"
        " sellingpartnerapi::migration sellingpartnerapi::client_credential:rotation messaging:push"
        " alexa:skill_messaging alexa::proactive_events alexa::datastore creatorsapi::default",
    ]
    assert banner[4].startswith("Try: curl -X POST ")
    assert banner[5] == f"Admin API: {url}/_lwa/ (GET it for the endpoints)"
    if shutil.which("curl") is not None:  # the banner's curl line, run as printed
        command = shlex.split(banner[4][len("Try: ") :])
        curl = subprocess.run([command[0], "-s", *command[1:]], capture_output=True, text=True, check=True)
        assert json.loads(curl.stdout)["token_type"] == "bearer"
    else:
        assert grantless(url).status_code == 200
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    # one access-log line per request, secret redacted
    assert f"client_id={DEMO_CLIENT_ID} client_secret=*** scope={APPSTORE} auth=body -> 200" in err
    assert DEMO_CLIENT_SECRET not in err
    assert "Traceback" not in err
    assert err.endswith("pytest-lwa: stopped\n")
    # the ready file goes with the server: a job starting the next one waits for that one's file
    assert list(tmp_path.iterdir()) == []


def test_sigint_stops_cleanly_and_open_requests_are_answered(served: Serve) -> None:
    proc, ready = served("--log-level", "warning")
    url = ready["url"]
    requests.post(url + "/_lwa/faults", json={"kind": "delay", "seconds": 1.0}, timeout=5).raise_for_status()
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(grantless(url).status_code))
    slow.start()
    deadline = time.monotonic() + 5
    while requests.get(url + "/_lwa/faults", timeout=5).json()["faults"] != [] and time.monotonic() < deadline:
        time.sleep(0.02)  # until the slow request has taken the fault
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    slow.join(timeout=10)
    assert proc.returncode == 0
    assert answers == [200]


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("pytest-lwa")
    if not script.exists():
        pytest.skip("the pytest-lwa script is not installed beside this Python")
    result = subprocess.run([str(script), "serve", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "--ready-file PATH" in result.stdout


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "pytest_lwa", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr == f"pytest-lwa: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_admin_api(served: Serve) -> None:
    _, ready = served("--client", "ci-app:ci-secret:appstore::apps:readwrite,profile")
    url = ready["url"]
    assert ready["clients"] == [
        {"client_id": "ci-app", "client_secret": "ci-secret", "scopes": ["appstore::apps:readwrite", "profile"]}
    ]
    admin = url + "/_lwa/"
    assert requests.get(admin + "health", timeout=5).json() == {"status": "ok", "url": url}

    added = requests.post(admin + "clients", json={"client_id": "second", "scopes": [APPSTORE]}, timeout=5)
    assert added.status_code == 201
    second = added.json()
    assert second["client_secret"].startswith("amzn1.oa2-cs.v1.")
    assert [c["client_id"] for c in requests.get(admin + "clients", timeout=5).json()["clients"]] == [
        "ci-app",
        "second",
    ]
    assert grantless(url, "second", second["client_secret"]).status_code == 200

    refresh = requests.post(admin + "refresh-tokens", json={"client_id": "ci-app"}, timeout=5).json()["refresh_token"]
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh,
        "client_id": "ci-app",
        "client_secret": "ci-secret",
    }
    access = requests.post(url + "/auth/o2/token", data=form, timeout=5).json()["access_token"]
    assert requests.get(url + "/auth/o2/tokeninfo", params={"access_token": access}, timeout=5).json()["exp"] >= 3599
    assert requests.post(admin + "clock/advance", json={"seconds": 3600}, timeout=5).status_code == 200
    assert requests.get(url + "/auth/o2/tokeninfo", params={"access_token": access}, timeout=5).status_code == 400

    fault = requests.post(admin + "faults", json={"error": "temporarily_unavailable", "grant_type": "refresh_token"})
    assert fault.json() == {"fault": "503 temporarily_unavailable on /auth/o2/token when <lambda>, fired 0 of 1"}
    assert grantless(url, "ci-app", "ci-secret").status_code == 200  # not a refresh: untouched
    assert requests.post(url + "/auth/o2/token", data=form, timeout=5).status_code == 503

    log = requests.get(admin + "requests", timeout=5).json()["requests"]
    assert [(r["grant_type"], r["status"]) for r in log][-2:] == [("client_credentials", 200), ("refresh_token", 503)]
    assert all(r["params"].get("client_secret") in (None, "***") for r in log)
    assert "ci-secret" not in json.dumps(log)

    assert requests.delete(admin + "clients/second", timeout=5).json() == {"status": "ok"}
    assert requests.post(admin + "reset", timeout=5).json() == {"status": "ok"}
    assert requests.get(admin + "requests", timeout=5).json() == {"requests": []}
    assert [c["client_id"] for c in requests.get(admin + "clients", timeout=5).json()["clients"]] == ["ci-app"]


NO_ENDPOINT = "no admin endpoint /_lwa/nope; GET /_lwa/ lists them"
NO_CLIENT = "no client with client_id 'ghost' is registered"
BAD_KIND = "unknown fault kind 'meteor'; kinds are: error, throttle, raw, delay, drop"
BACKWARDS = "seconds: advance() takes a non-negative number of seconds, got -5; use set() to move the clock back"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "answer"),
    [
        ("GET", "nope", None, 404, {"error": "not_found", "message": NO_ENDPOINT}),
        ("DELETE", "health", None, 405, {"error": "method_not_allowed", "message": "use GET"}),
        ("POST", "clients", "[1]", 400, {"error": "bad_request", "message": "the body must be a JSON object"}),
        ("POST", "clients", '{"scopes": "x"}', 400,
         {"error": "bad_request", "message": "scopes must be a list of strings, e.g. ['x'], not a single string"}),
        ("POST", "refresh-tokens", "{}", 400, {"error": "bad_request", "message": "missing field 'client_id'"}),
        ("POST", "refresh-tokens", '{"client_id": "ghost"}', 404, {"error": "not_found", "message": NO_CLIENT}),
        ("DELETE", "clients/ghost", None, 404, {"error": "not_found", "message": NO_CLIENT}),
        ("POST", "faults", '{"kind": "meteor"}', 400, {"error": "bad_request", "message": BAD_KIND}),
        ("POST", "clock/advance", '{"seconds": -5}', 400, {"error": "bad_request", "message": BACKWARDS}),
    ],
)  # fmt: skip
def test_admin_errors(served: Serve, method: str, path: str, body: str | None, status: int, answer: Any) -> None:
    _, ready = served("--log-level", "error")
    headers = {"Content-Type": "application/json"} if body is not None else {}
    r = requests.request(method, ready["url"] + "/_lwa/" + path, data=body, headers=headers, timeout=5)
    assert (r.status_code, r.json()) == (status, answer)


def test_admin_beyond_loopback_needs_a_token(served: Serve) -> None:
    _, ready = served("--host", "0.0.0.0", "--log-level", "error")
    local = f"http://127.0.0.1:{ready['port']}"
    r = requests.get(local + "/_lwa/clients", timeout=5)
    assert (r.status_code, r.json()["error"]) == (403, "admin_disabled")
    assert requests.get(local + "/_lwa/health", timeout=5).json()["status"] == "ok"  # a container's health check
    assert grantless(local).status_code == 200  # the LWA endpoints still work

    _, ready = served("--host", "0.0.0.0", "--admin-token", "s3cret", "--log-level", "error")
    local = f"http://127.0.0.1:{ready['port']}"
    assert requests.get(local + "/_lwa/clients", timeout=5).status_code == 401
    assert (
        requests.get(local + "/_lwa/clients", headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    )
    assert (
        requests.get(local + "/_lwa/clients", headers={"Authorization": "Bearer s3cret"}, timeout=5).status_code == 200
    )
    assert requests.get(local + "/_lwa/health", timeout=5).status_code == 200


def test_tls(served: Serve) -> None:
    pytest.importorskip("trustme")
    _, ready = served("--tls", "--log-level", "error")
    assert ready["url"].startswith("https://127.0.0.1:")
    assert grantless(ready["url"], verify=ready["ca_bundle"]).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        grantless(ready["url"])  # not trusted without the bundle
    if shutil.which("curl"):
        for trust in (["-k"], ["--cacert", ready["ca_bundle"]]):
            curl = subprocess.run(
                ["curl", "-s", *trust, ready["url"] + "/_lwa/health"], capture_output=True, check=True
            )
            assert json.loads(curl.stdout)["status"] == "ok"


def test_config_file(served: Serve) -> None:
    _, ready = served("--config", str(ROOT / "examples" / "ci" / "lwa.toml"), "--expires-in", "60")
    client_id = "amzn1.application-oa2-client.ci0000000000000000000000000000"
    secret = "amzn1.oa2-cs.v1.ci00000000000000000000000000000000000000000000000000000000000000"
    assert ready["refresh_tokens"][0]["token"] == "Atzr|ci-seller-refresh-token"
    form = {"grant_type": "refresh_token", "refresh_token": "Atzr|ci-seller-refresh-token"}
    r = requests.post(ready["token_url"], data={**form, "client_id": client_id, "client_secret": secret}, timeout=5)
    assert r.json()["expires_in"] == 60  # the flag wins over the file
    profile = requests.get(ready["url"] + "/user/profile", params={"access_token": r.json()["access_token"]}, timeout=5)
    assert profile.json() == {"user_id": "amzn1.account.CISELLER0000000000000000000", "name": "CI Seller",
                              "email": "ci-seller@example.com"}  # fmt: skip
    # the SP-API application of the file: a draft, authorized with version=beta by the seller who signs in
    [app] = ready["sp_applications"]
    assert (app["application_id"], app["published"]) == (
        "amzn1.sp.solution.00000000-0000-4000-8000-000000000001",
        False,
    )
    params = {"application_id": app["application_id"], "state": "ci", "version": "beta"}
    consent = requests.get(ready["url"] + "/apps/authorize/consent", params=params, allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    assert consent.headers["Location"].startswith(app["login_uri"] + "?")
    assert "selling_partner_id=A1CISELLER00000" in consent.headers["Location"]


def test_seed_replay_script() -> None:
    pytest.importorskip("trustme")
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    result = subprocess.run(
        ["bash", str(ROOT / "examples" / "ci" / "replay-seed.sh")],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, "PYTHON": sys.executable},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("\nok   ") == 7
    assert "replayed 7 requests: 0 differed" in result.stdout


def test_github_actions_recipe_uses_real_options() -> None:
    workflow = (ROOT / "examples" / "ci" / "github-actions.yml").read_text()
    line = next(line for line in workflow.splitlines() if "pytest-lwa serve" in line)
    words = shlex.split(line.split(">")[0])
    args = build_parser().parse_args(words[1:])
    assert (args.port, args.config) == (8080, "lwa.toml")
    # the values the tests get are those of the lwa.toml beside the recipe
    config = load_config(ROOT / "examples" / "ci" / "lwa.toml")
    env = dict(re.findall(r"^\s+(LWA_[A-Z_]+): (\S+)$", workflow, flags=re.MULTILINE))
    assert env["LWA_CLIENT_ID"] == config.clients[0]["client_id"]
    assert env["LWA_CLIENT_SECRET"] == config.clients[0]["client_secret"]
    assert env["LWA_REFRESH_TOKEN"] == config.refresh_tokens[0]["token"]


def test_the_container_examples_use_real_variables(tmp_path: Path) -> None:
    """The GitHub Actions service and the compose file configure the image with variables serve reads; the
    compose file's client gets a token from a server configured as its mock service is."""
    from ruamel.yaml import YAML

    service = YAML(typ="safe").load(ROOT / "examples" / "ci" / "github-actions-service.yml")
    lwa = service["jobs"]["test"]["services"]["lwa"]
    assert lwa["image"].endswith("/pytest-lwa:latest")
    args = with_environment(build_parser(), ["serve"], lwa["env"])
    config = _config(args)
    assert args.admin_token == "ci-admin"
    steps = {step.get("name"): step for step in service["jobs"]["test"]["steps"]}
    assert steps["Tests"]["env"]["LWA_CLIENT_ID"] == config.clients[0]["client_id"]
    assert steps["Tests"]["env"]["LWA_REFRESH_TOKEN"] == config.refresh_tokens[0]["token"]


#: inside `unshare --mount --net`: loopback up, api.amazon.com mapped to it, the compose file's mock service as
#: serve (its environment, the port and files made local), then the app's own command with its own environment
COMPOSE_IN_NAMESPACE = """
import json, os, subprocess, sys, time
from pathlib import Path
spec = json.loads(Path(sys.argv[1]).read_text())
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["mount", "--bind", spec["hosts"], "/etc/hosts"], check=True)
ready = Path(spec["mock"]["LWA_READY_FILE"])
mock = subprocess.Popen([sys.executable, "-m", "pytest_lwa", "serve", "--log-level", "warning"],
                        env={**os.environ, **spec["mock"]}, stdout=subprocess.DEVNULL)
try:
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert mock.poll() is None and time.monotonic() < deadline, "the mock did not start"
        time.sleep(0.05)
    app = subprocess.run(spec["command"], env={**os.environ, **spec["app"]}, capture_output=True, text=True,
                         timeout=30)
    print(json.dumps({"ready": json.loads(ready.read_text()), "out": app.stdout, "err": app.stderr}))
finally:
    mock.terminate()
    mock.wait(timeout=10)
"""


def test_the_compose_example_maps_amazons_host_to_the_mock(tmp_path: Path) -> None:
    """The compose file's app, unchanged, gets a token from https://api.amazon.com: its mock service's
    variables, the host mapping and the shared authority, in a private mount and network namespace."""
    from ruamel.yaml import YAML

    compose = YAML(typ="safe").load(ROOT / "examples" / "ci" / "compose.yaml")
    mock, app = compose["services"]["lwa"], compose["services"]["app"]
    assert mock["build"] == "../.."
    assert app["depends_on"] == {"lwa": {"condition": "service_healthy"}}
    address = mock["networks"]["ci"]["ipv4_address"]
    assert app["extra_hosts"] == [f"api.amazon.com:{address}"]
    shared = {target for _, target, *_ in (volume.split(":") for volume in app["volumes"])}
    environ = dict(mock["environment"])
    assert Path(environ["LWA_CA_FILE"]).parent.as_posix() in shared  # the app reads the authority the mock writes
    assert app["environment"]["SSL_CERT_FILE"] == environ["LWA_CA_FILE"]
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("the host mapping runs in a private mount and network namespace, which needs root and unshare")
    mounted = {target: source for source, target, *_ in (volume.split(":") for volume in mock["volumes"])}
    environ["LWA_CONFIG"] = str(ROOT / "examples" / "ci" / mounted[environ["LWA_CONFIG"]])
    environ["LWA_CA_FILE"] = str(tmp_path / "lwa-ca.pem")
    environ["LWA_READY_FILE"] = str(tmp_path / "ready.json")
    (tmp_path / "hosts").write_text("127.0.0.1 localhost\n127.0.0.1 api.amazon.com\n")
    spec = {
        "hosts": str(tmp_path / "hosts"),
        "mock": environ,
        "app": {**app["environment"], "SSL_CERT_FILE": environ["LWA_CA_FILE"]},
        "command": [sys.executable if part == "python" else part for part in app["command"]],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    (tmp_path / "in_namespace.py").write_text(COMPOSE_IN_NAMESPACE)
    command = [
        "unshare",
        "--mount",
        "--net",
        sys.executable,
        str(tmp_path / "in_namespace.py"),
        str(tmp_path / "spec.json"),
    ]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.splitlines()[-1])
    assert result["ready"]["port"] == 443
    answer = json.loads(result["out"])
    assert (answer["token_type"], answer["scope"]) == ("bearer", "sellingpartnerapi::notifications"), result["err"]


# --- in-process ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--port", "http"], "argument --port: 'http' is not a port number"),
        (["serve", "--port", "70000"], "70000 is not a port number (0-65535; 0 picks a free one)"),
        (["serve", "--expires-in", "0"], "argument --expires-in: 0 must be at least 1"),
        (["serve", "--body-style", "fancy"], "argument --body-style: invalid choice: 'fancy'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "config", "message"),
    [
        (["--client", "no-secret"], None, "--client 'no-secret': expected ID:SECRET or ID:SECRET:SCOPE[,SCOPE...]"),
        (["--client", "a:b", "--client", "a:c"], None,
         "options: a client with client_id 'a' is already registered; call remove_client() first to replace it"),
        (["--client", "a:b:"], None, None),
        ([], "missing.toml", "cannot read it: No such file or directory"),
        ([], "[clients\n", "not valid TOML: "),
        ([], "[[clients]]\nscope = ['x']\n",
         "[[clients]] #1: unknown key(s) scope; keys are: allowed_origins, client_id,"),
        ([], "[settings]\nexpires_in = 'soon'\n", "expires_in must be a whole number of seconds >= 1, got 'soon'"),
        ([], "[[refresh_tokens]]\nscopes = ['profile']\n", "[[refresh_tokens]] #1: client_id is required"),
        ([], "[[refresh_tokens]]\nclient_id = 'nobody'\n", "no client with client_id 'nobody' is registered"),
        ([], "[extras]\n", "unknown table(s) extras; tables are: settings, clients, users, refresh_tokens,"),
        ([], "[[sp_applications]]\nlogin_uri = 'x'\nredirect_uris = []\n", "log-in and redirect URIs must be absolute"),
        ([], "[[selling_partners]]\nsigns_in = 'yes'\n", "signs_in must be true or false, got 'yes'"),
        ([], "clients = 3\n", "clients must be an array of tables ([[clients]])"),
        ([], "[consent]\ngrant_scopes = 'profile'\n",
         "config {path}: grant_scopes must be a list of strings, e.g. ['profile'], not a single string"),
        ([], "[consent]\ngrant_scopes = ['']\n", "each of grant_scopes must be a non-empty string without spaces"),
        ([], "[consent]\ngranted = 'no'\n", "config {path}: granted must be true or false, got 'no'"),
        ([], "[consent]\nuser_id = 'nobody'\n", "config {path}: no user with user_id 'nobody' is registered"),
        ([], "[consent]\nscopes = ['profile']\n",
         "config {path}: [consent]: unknown key(s) scopes; keys are: grant_scopes, granted, user_id\n"),
        ([], "[[consent]]\ngranted = false\n", "config {path}: consent must be a table ([consent])"),
        ([], "a = " + "[" * 100_000 + "\n", "nested more than 16 levels deep"),
        ([], "a = " + "{b = " * 100_000 + "\n", "nested more than 16 levels deep"),
        ([], "[" + "a." * 100_000 + "a]\n", "nested more than 16 levels deep"),  # parsing it took minutes
        ([], "[[clients]]\nclient_id" + ".a" * 100_000 + " = 1\n", "nested more than 16 levels deep"),
        ([], "[[clients]]\nclient_id = " + "[" * 17 + "]" * 17 + "\n", "nested more than 16 levels deep"),
        ([], "#" * (1024 * 1024) + "\n", "larger than 1048576 bytes (1 MiB); is it the right file?"),
        (["--admin-token", ""], None, "--admin-token is empty: give a non-empty token (is the variable that should"),
        (["--admin-token", " \t"], None, "--admin-token is empty: give a non-empty token"),
        (["--admin-token", "two words"], None, "--admin-token must be printable ASCII characters without spaces"),
    ],
)  # fmt: skip
def test_bad_configuration_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], config: str | None, message: str | None
) -> None:
    if config is not None:
        path = tmp_path / "lwa.toml"
        if config != "missing.toml":
            path.write_text(config)
        argv = [*argv, "--config", str(path)]
    if message is None:  # a client without scopes after the colon is valid: it gets the default scopes
        args = build_parser().parse_args(["serve", "--port", "0", *argv])
        stop = threading.Event()
        stop.set()
        assert serve(args, stop) == 0
        return
    assert main(["serve", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pytest-lwa: error: ")
    assert message.replace("{path}", str(tmp_path / "lwa.toml")) in err
    assert err.count("\n") == 1


def test_serve_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ready = tmp_path / "ready.json"
    args = build_parser().parse_args(["serve", "--port", "0", "--ready-file", str(ready), "--log-level", "error"])
    stop = threading.Event()
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(serve(args, stop)))
    thread.start()
    try:
        info = wait_for(ready)
        assert grantless(info["url"]).status_code == 200
        kept = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=5)
        for path in ("/_lwa/health", "/auth/o2/tokeninfo"):  # the admin API and the mock, one connection
            kept.request("GET", path)
            answer = kept.getresponse()
            answer.read()
            assert (answer.status, answer.will_close) == (200 if path.startswith("/_lwa") else 400, False)
        assert kept.sock is not None
    finally:
        stop.set()
        thread.join(timeout=10)
    assert status == [0]
    kept.sock.settimeout(1)  # well before the server would close it for being idle
    assert kept.sock.recv(1) == b""  # kept connections are closed when the server stops
    kept.close()
    assert capsys.readouterr().out.startswith(f"Serving Login With Amazon mock on {info['url']}\n")
    # the process's logging is as it was: a level left at ERROR (or INFO) would change every later test's logs
    logger = logging.getLogger("pytest_lwa")
    assert (logger.level, logger.handlers) == (logging.NOTSET, [])


CONSENT_TOML = """
[[clients]]
client_id = "shop"
client_secret = "shop-secret"
redirect_uris = ["http://localhost:3000/callback"]

[[users]]
user_id = "amzn1.account.CONSENTS"
name = "Consenting Customer"

[consent]
user_id = "amzn1.account.CONSENTS"
grant_scopes = ["profile"]          # postal_code, voluntary when asked so, is left unticked
"""


def test_the_config_files_consent_unticks_voluntary_scopes(tmp_path: Path) -> None:
    """[consent] in the file is POST /_lwa/consent's body: who consents and the voluntary scopes they keep."""
    toml = tmp_path / "lwa.toml"
    toml.write_text(CONSENT_TOML)
    ready = tmp_path / "ready.json"
    argv = ["serve", "--port", "0", "--config", str(toml), "--ready-file", str(ready), "--log-level", "error"]
    stop = threading.Event()
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(serve(build_parser().parse_args(argv), stop)))
    thread.start()
    try:
        url = wait_for(ready)["url"]
        query = {
            "client_id": "shop",
            "scope": "profile postal_code",
            "response_type": "code",
            "redirect_uri": "http://localhost:3000/callback",
            "state": "s",
            "scope_data": json.dumps({"postal_code": {"essential": False}}),
        }

        def authorize() -> dict[str, list[str]]:
            r = requests.get(url + "/ap/oa", params=query, allow_redirects=False, timeout=5)
            assert r.status_code == 302, r.text
            location = urlsplit(r.headers["Location"])
            assert location._replace(query="").geturl() == "http://localhost:3000/callback"
            return parse_qs(location.query)

        got = authorize()
        assert (got["scope"], got["state"]) == (["profile"], ["s"])
        tokens = token_request(
            url, None, "authorization_code", code=got["code"][0], redirect_uri="http://localhost:3000/callback",
            client_id="shop", client_secret="shop-secret",
        ).json()  # fmt: skip
        profile = requests.get(url + "/user/profile", params={"access_token": tokens["access_token"]}, timeout=5)
        assert profile.json() == {"user_id": "amzn1.account.CONSENTS", "name": "Consenting Customer",
                                  "email": "customer@example.com"}  # fmt: skip
        # the admin API changes it; a reset brings back the file's
        assert requests.post(url + "/_lwa/consent", json={}, timeout=5).status_code == 200
        assert authorize()["scope"] == ["profile postal_code"]
        assert requests.post(url + "/_lwa/reset", timeout=5).status_code == 200
        assert authorize()["scope"] == ["profile"]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert status == [0]


def test_setting_flags_reach_the_configuration() -> None:
    flags = ["serve", "--no-json-body", "--rotate-refresh-tokens", "--enforce-poll-interval", "--expires-in", "9"]
    config = _config(build_parser().parse_args(flags))
    assert config.settings == {
        "expires_in": 9,
        "json_body": False,
        "rotate_refresh_tokens": True,
        "enforce_poll_interval": True,
    }
    assert _config(build_parser().parse_args(["serve"])).settings == {}
    flags = ["serve", "--json-body", "--interactive-consent", "--body-style", "modern", "--no-rotate-refresh-tokens"]
    assert _config(build_parser().parse_args(flags)).settings == {
        "json_body": True,
        "body_style": "modern",
        "rotate_refresh_tokens": False,
        "interactive_consent": True,
    }


def test_every_setting_is_a_serve_flag_and_a_toml_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Settings are described once (pytest_lwa.model.SETTINGS); serve and its TOML file take every one."""
    from pytest_lwa.model import SETTINGS, Settings, setting_kind

    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    help_text = capsys.readouterr().out
    changed = {"int": "7", "bool": None, "choice": '"modern"', "text": '"60,10"'}
    kinds = {
        s.name: setting_kind(s) if s.metadata["choices"] or setting_kind(s) != "choice" else "text" for s in SETTINGS
    }
    lines = [f"{s.name} = {changed[kinds[s.name]] or str(not s.default).lower()}" for s in SETTINGS]
    toml = tmp_path / "lwa.toml"
    toml.write_text("[settings]\n" + "\n".join(lines) + "\n")
    settings = Settings(**load_config(toml).settings)
    for setting in SETTINGS:
        assert f"--{setting.name.replace('_', '-')}" in help_text
        assert getattr(settings, setting.name) != setting.default


def test_ready_file_in_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing" / "ready.json"
    assert main(["serve", "--port", "0", "--ready-file", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"pytest-lwa: error: --ready-file {target}: the folder {target.parent} does not exist\n"


def test_ready_file_that_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: str, payload: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("pytest_lwa.cli._write_ready_file", refuse)
    target = tmp_path / "ready.json"
    assert main(["serve", "--port", "0", "--ready-file", str(target), "--log-level", "error"]) == 2
    err = capsys.readouterr().err
    assert err == f"pytest-lwa: error: cannot write --ready-file {target}: Permission denied\n"


def test_a_config_without_an_end_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    assert main(["serve", "--port", "0", "--config", "/dev/zero"]) == 2  # it was a MemoryError
    assert capsys.readouterr().err == (
        "pytest-lwa: error: config /dev/zero: larger than 1048576 bytes (1 MiB); is it the right file?\n"
    )


@contextlib.contextmanager
def serving(argv: list[str], ready: Path) -> Iterator[None]:
    """Run `serve ARGV --ready-file READY` in-process until its ready file is written, for the ``with`` block;
    then stop it."""
    args = build_parser().parse_args(
        ["serve", "--port", "0", "--log-level", "error", "--ready-file", str(ready), *argv]
    )
    stop = threading.Event()
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(serve(args, stop)))
    thread.start()
    try:
        wait_for(ready)
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
    assert status == [0]


def test_the_ready_file_is_for_its_owner_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ready = tmp_path / "ready.json"
    with serving(["--client", "ci:ci-secret"], ready):
        assert ready.stat().st_mode & 0o777 == 0o600  # it holds client secrets
        assert json.loads(ready.read_text())["clients"][0]["client_secret"] == "ci-secret"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ready.json"]  # no partial file left beside it
    assert list(tmp_path.iterdir()) == []  # removed when the server stops


def test_the_ready_file_follows_no_planted_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A link planted where the ready file used to be written first (``<ready>.partial``) is left alone, and so
    is the file it points at."""
    victim = tmp_path / "victim.txt"
    victim.write_text("not the server's to overwrite\n")
    ready = tmp_path / "ready.json"
    planted = tmp_path / "ready.json.partial"
    planted.symlink_to(victim)
    with serving([], ready):
        assert victim.read_text() == "not the server's to overwrite\n"
        assert planted.is_symlink()
        assert not ready.is_symlink()
        assert json.loads(ready.read_text())["clients"][0]["client_id"] == DEMO_CLIENT_ID
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ready.json", "ready.json.partial", "victim.txt"]


def test_a_ready_file_another_server_wrote_since_is_left(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ready = tmp_path / "ready.json"
    with serving([], ready):
        ready.unlink()
        ready.write_text("{}")  # the next server's
    assert ready.read_text() == "{}"


def test_the_ca_file_replaces_a_planted_link_and_another_s_file(tmp_path: Path) -> None:
    """The authority's PEM is what clients will trust: it goes in a new file, never through a link planted at
    its name, and never into a file someone else made writable."""
    victim = tmp_path / "victim.txt"
    victim.write_text("not the server's to overwrite\n")
    linked, open_file = tmp_path / "linked.pem", tmp_path / "open.pem"
    linked.symlink_to(victim)
    open_file.write_text("")
    open_file.chmod(0o666)
    for ca_file in (linked, open_file):
        with serving(["--tls", "--ca-file", str(ca_file)], tmp_path / "ready.json"):
            pass
        assert not ca_file.is_symlink()
        assert ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert ca_file.stat().st_mode & 0o777 == 0o644
    assert victim.read_text() == "not the server's to overwrite\n"


def test_a_dotted_key_of_escaped_quotes_is_no_way_past_the_depth_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bomb.toml"
    config.write_text("[settings]\n" + '"\\"".' * 16000 + "x = 1\n")  # quoted parts with an escaped quote each
    started = time.monotonic()
    assert main(["serve", "--port", "0", "--config", str(config)]) == 2
    assert time.monotonic() - started < 5  # the parser is never asked: its time grows with the square
    assert capsys.readouterr().err == f"pytest-lwa: error: config {config}: nested more than 16 levels deep\n"


def test_the_log_has_times_no_colours_and_no_tokens(served: Serve) -> None:
    proc, ready = served("--log-level", "debug")
    token = "Atza|IwEBIsecret-access-token-that-must-not-be-logged"
    requests.get(ready["url"] + "/auth/o2/tokeninfo", params={"access_token": token}, timeout=5)
    with socket.create_connection(("127.0.0.1", ready["port"]), timeout=5) as sock:
        sock.sendall(b"GET /?access_token=Atza|IwEBIleak&x=1 HTTP/9.9\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 505")
    form = {"grant_type": "client_credentials", "scope": APPSTORE}
    requests.post(ready["token_url"], data=form, auth=("basic-id", "secret"), timeout=5)
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    lines = [line for line in err.splitlines() if line != "pytest-lwa: stopped"]
    assert len(lines) >= 5
    for line in lines:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} ", line), line
    assert "\x1b[" not in err
    assert "secret-access" not in err
    assert "IwEBIleak" not in err
    assert "access_token=Atza|IwEBIse… -> 400 invalid_token" in err
    assert "basic-id auth=basic -> 401 invalid_client" in err


def test_health_checks_stay_out_of_the_info_log(served: Serve) -> None:
    """A container's health check asks /_lwa/health every few seconds: only its failures are worth a line."""
    proc, ready = served()
    for path in ("health", "health/", "clients", "nope"):
        requests.get(ready["url"] + "/_lwa/" + path, timeout=5)
    requests.post(ready["url"] + "/_lwa/health", timeout=5)
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    admin = [line.split(" ", 1)[1] for line in err.splitlines() if line.endswith("(admin)")]
    assert admin == [
        "GET /_lwa/clients -> 200 (admin)",
        "GET /_lwa/nope -> 404 (admin)",
        "POST /_lwa/health -> 405 (admin)",
    ]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.metadata

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"pytest-lwa {importlib.metadata.version('pytest-lwa')}\n"


def test_a_reset_restores_the_settings_serve_started_with(served: Serve) -> None:
    _, ready = served("--expires-in", "60", "--body-style", "modern", "--log-level", "error")
    admin = ready["url"] + "/_lwa/"
    assert requests.post(admin + "settings", json={"expires_in": 5, "body_style": "classic"}, timeout=5).ok
    assert requests.post(admin + "reset", timeout=5).ok
    settings = requests.get(admin + "settings", timeout=5).json()
    assert (settings["expires_in"], settings["body_style"]) == (60, "modern")


# --- the environment: LWA_ variables, for a container given no arguments -------------------------


@pytest.fixture(autouse=True)
def no_lwa_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's own LWA_ variables reach neither main() nor the servers the tests start."""
    for name in [*variables(build_parser()), CONFIG_TOML]:
        monkeypatch.delenv(name, raising=False)


def test_every_option_and_setting_has_a_variable(capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_lwa.model import SETTINGS

    named = variables(build_parser())
    for name, action in named.items():  # LWA_ and the option's name: --expires-in is LWA_EXPIRES_IN
        assert name == "LWA_" + action.option_strings[0].removeprefix("--").replace("-", "_").upper()
    assert {f"LWA_{setting.name.upper()}" for setting in SETTINGS} < set(named)
    assert {"LWA_HOST", "LWA_PORT", "LWA_CLIENT", "LWA_CONFIG", "LWA_ADMIN_TOKEN", "LWA_READY_FILE"} < set(named)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in named:
        assert f"[{name}]" in help_text
    assert "LWA_CONFIG_TOML holds a configuration file's text" in help_text


def test_the_environment_sets_every_option() -> None:
    environ = {
        "LWA_HOST": "::1",
        "LWA_PORT": "0",
        "LWA_CLIENT": "a:sa:appstore::apps:readwrite,profile  b:sb",
        "LWA_EXPIRES_IN": "600",
        "LWA_JSON_BODY": "off",
        "LWA_BODY_STYLE": "modern",
        "LWA_ROTATE_REFRESH_TOKENS": "TRUE",
        "LWA_ENFORCE_POLL_INTERVAL": "1",
        "LWA_INTERACTIVE_CONSENT": "no",
        "LWA_TLS": "yes",
        "LWA_LOG_LEVEL": "warning",
        "LWA_LOG_SIZE": "5",
        "LWA_REQUEST_TIMEOUT": "2.5",
        "LWA_MAX_CONNECTIONS": "3",
        "LWA_READY_FILE": "/run/ready.json",
        "LWA_ADMIN_TOKEN": "  spaces kept ",
        "LWA_CA_FILE": "",  # empty: unset
    }
    args = with_environment(build_parser(), ["serve"], environ)
    assert (args.host, args.port, args.tls, args.proxy, args.ca_file) == ("::1", 0, True, False, None)
    assert (args.log_level, args.log_size, args.request_timeout, args.max_connections) == ("warning", 5, 2.5, 3)
    assert (args.ready_file, args.admin_token, args.config_toml) == ("/run/ready.json", "  spaces kept ", None)
    config = _config(args)
    assert config.settings == {
        "expires_in": 600,
        "json_body": False,
        "body_style": "modern",
        "rotate_refresh_tokens": True,
        "enforce_poll_interval": True,
        "interactive_consent": False,
    }
    assert config.clients == [
        {"client_id": "a", "client_secret": "sa", "scopes": ["appstore::apps:readwrite", "profile"]},
        {"client_id": "b", "client_secret": "sb"},
    ]


def test_the_command_line_wins_over_the_environment(tmp_path: Path) -> None:
    environ = {
        "LWA_PORT": "1234",
        "LWA_EXPIRES_IN": "7",
        "LWA_JSON_BODY": "yes",
        "LWA_CLIENT": "env:secret",
        "LWA_CONFIG_TOML": "[settings]\nbody_style = 'modern'\n",
    }
    toml = tmp_path / "lwa.toml"
    toml.write_text("[settings]\nrotate_refresh_tokens = true\n")
    argv = ["serve", "--port", "0", "--expires-in", "9", "--no-json-body", "--client", "cli:secret"]
    args = with_environment(build_parser(), [*argv, "--config", str(toml)], environ)
    assert args.port == 0
    config = _config(args)  # the file named on the command line, not LWA_CONFIG_TOML
    assert config.settings == {"expires_in": 9, "json_body": False, "rotate_refresh_tokens": True}
    assert config.clients == [{"client_id": "cli", "client_secret": "secret"}]  # replaced, not added to
    assert _config(with_environment(build_parser(), ["serve"], environ)).settings == {
        "expires_in": 7,
        "json_body": True,
        "body_style": "modern",
    }
    unset = with_environment(build_parser(), ["serve"], {})
    # (no port: serve takes 8080, or 443 with --amazon-hosts)
    assert (unset.host, unset.port, unset.client, unset.config_toml) == ("127.0.0.1", None, [], None)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LWA_PORT": "http"}, "LWA_PORT='http': 'http' is not a port number"),
        ({"LWA_PORT": "70000"}, "LWA_PORT='70000': 70000 is not a port number (0-65535; 0 picks a free one)"),
        ({"LWA_EXPIRES_IN": "0"}, "LWA_EXPIRES_IN='0': 0 must be at least 1"),
        ({"LWA_BODY_STYLE": "fancy"}, "LWA_BODY_STYLE='fancy': expected one of classic, modern"),
        ({"LWA_LOG_LEVEL": "loud"}, "LWA_LOG_LEVEL='loud': expected one of debug, info, warning, error"),
        ({"LWA_TLS": "maybe"}, "LWA_TLS='maybe': expected 1, true, yes, on (on) or 0, false, no, off (off)"),
        ({"LWA_JSON_BODY": "2"}, "LWA_JSON_BODY='2': expected 1, true, yes, on (on) or 0, false, no, off (off)"),
        ({"LWA_REQUEST_TIMEOUT": "-1"}, "LWA_REQUEST_TIMEOUT='-1': -1 must be a positive number of seconds"),
        ({"LWA_CLIENT": "a:b no-secret"},
         "LWA_CLIENT: --client 'no-secret': expected ID:SECRET or ID:SECRET:SCOPE[,SCOPE...]"),
        ({"LWA_CONFIG": "{missing}"}, "LWA_CONFIG: config {missing}: cannot read it: No such file or directory"),
        ({"LWA_CONFIG_TOML": "[clients\n"}, "LWA_CONFIG_TOML: not valid TOML: "),
        ({"LWA_CONFIG_TOML": "[extras]\n"},
         "LWA_CONFIG_TOML: unknown table(s) extras; tables are: settings, clients, users, refresh_tokens,"),
        ({"LWA_CONFIG_TOML": "[settings]\nexpires_in = 0\n"},
         "LWA_CONFIG_TOML: expires_in must be a whole number of seconds >= 1, got 0"),
        ({"LWA_CONFIG": "{missing}", "LWA_CONFIG_TOML": "[settings]\n"},
         "LWA_CONFIG and LWA_CONFIG_TOML are both set; set one of them"),
    ],
)  # fmt: skip
def test_a_bad_variable_is_one_line_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    environ: dict[str, str],
    message: str,
) -> None:
    missing = str(tmp_path / "missing.toml")
    for name, value in environ.items():
        monkeypatch.setenv(name, value.format(missing=missing))
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pytest-lwa: error: " + message.format(missing=missing))
    assert err.count("\n") == 1


def test_a_server_configured_by_the_environment_alone(tmp_path: Path) -> None:
    """As a container's service runs: no arguments but the command; settings, clients and the admin token
    from LWA_ variables and LWA_CONFIG_TOML."""
    ready = tmp_path / "ready.json"
    toml = """
        [[clients]]
        client_id = "ci-app"
        client_secret = "ci-secret"
        scopes = ["appstore::apps:readwrite"]
    """
    environ = {
        **os.environ,
        "LWA_PORT": "0",
        "LWA_READY_FILE": str(ready),
        "LWA_EXPIRES_IN": "600",
        "LWA_BODY_STYLE": "modern",
        "LWA_ADMIN_TOKEN": "ci-admin",
        "LWA_CONFIG_TOML": toml,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest_lwa", "serve"], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        info = wait_for(ready, proc)
        assert [client["client_id"] for client in info["clients"]] == ["ci-app"]
        token = grantless(info["url"], "ci-app", "ci-secret")
        assert token.status_code == 200
        assert token.json()["expires_in"] == 600
        wrong = grantless(info["url"], "ci-app", "wrong")
        assert wrong.status_code == 401
        assert sorted(wrong.json()) == ["error", "error_description", "error_index", "request_id"]  # modern
        assert requests.get(info["url"] + "/_lwa/health", timeout=5).status_code == 200
        assert requests.get(info["url"] + "/_lwa/clients", timeout=5).status_code == 401
        admin = {"Authorization": "Bearer ci-admin"}
        assert requests.get(info["url"] + "/_lwa/clients", headers=admin, timeout=5).status_code == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out.startswith(f"Serving Login With Amazon mock on {info['url']}\n")
    assert "GET /_lwa/clients -> 401 (admin)" in err
    assert err.endswith("pytest-lwa: stopped\n")
