"""pytest-lwa's speed and memory figures, each against a baseline measured in the same run.

    .venv/bin/python benchmarks/run.py            # everything (about two minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --only startup,plugin

Figures are ratios to a baseline run on the same machine in the same run, so they mean the same on a
fast laptop and a loaded CI box. Nothing here runs in the test suite: timings do not belong in tests.
Needs the test extra (pytest-httpserver, requests); the peer comparison also needs Node.js and npm.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
APPSTORE = "appstore::apps:readwrite"
RESULTS: list[tuple[str, str, str, bool | None]] = []
#: subprocesses run as an installed package does: from bytecode, whatever PYTHONDONTWRITEBYTECODE says here
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def report(name: str, figure: str, target: str, met: bool | None) -> None:
    verdict = {True: "meets", False: "MISSES", None: "info"}[met]
    RESULTS.append((name, figure, target, met))
    print(f"  {name:<34} {figure:<46} target {target:<22} {verdict}", flush=True)


# --- per-test overhead ---------------------------------------------------------------------------

LWA_TESTS = """
import pytest, requests

@pytest.mark.parametrize("n", range(500))
def test_token(lwa_server, n):
    app = lwa_server.add_client(scopes=["appstore::apps:readwrite"])
    r = requests.post(lwa_server.token_url, data={"grant_type": "client_credentials",
        "scope": "appstore::apps:readwrite", "client_id": app.client_id, "client_secret": app.client_secret})
    assert r.json()["token_type"] == "bearer"
"""

STATIC_TESTS = """
import pytest, requests

@pytest.mark.parametrize("n", range(500))
def test_token(httpserver, n):
    httpserver.expect_request("/auth/o2/token", method="POST").respond_with_json(
        {"access_token": "Atc|static", "scope": "appstore::apps:readwrite", "token_type": "bearer", "expires_in": 3600})
    r = requests.post(httpserver.url_for("/auth/o2/token"), data={"grant_type": "client_credentials",
        "scope": "appstore::apps:readwrite", "client_id": "id", "client_secret": "secret"})
    assert r.json()["token_type"] == "bearer"
"""


INTERLEAVING_CONFTEST = """
import json, os, time
import pytest

SPENT = {"test_lwa": 0.0, "test_static": 0.0}

def pytest_collection_modifyitems(items):
    ours = [item for item in items if item.path.stem == "test_lwa"]
    theirs = [item for item in items if item.path.stem == "test_static"]
    rest = [item for item in items if item.path.stem not in SPENT]
    # alternate, so drift on the machine hits both; the session's servers stop after `rest`
    items[:] = [item for pair in zip(ours, theirs) for item in pair] + rest

@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        if item.path.stem in SPENT:
            SPENT[item.path.stem] += time.perf_counter() - started

def pytest_sessionfinish(session):
    with open(os.environ["SPENT_FILE"], "w") as spent:
        json.dump(SPENT, spent)
"""


def interleaved_seconds(directory: Path, package: Path | None = None) -> dict[str, float]:
    """Seconds spent in each file's 500 tests (setup, call, teardown), the tests alternating in one run
    (with ``package``, the plugin imported from there)."""
    spent = directory / "spent.json"
    path = str(directory) if package is None else f"{package}{os.pathsep}{directory}"
    subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "interleave"],
        cwd=directory,
        check=True,
        capture_output=True,
        env={**ENV, "SPENT_FILE": str(spent), "PYTHONPATH": path},
    )
    result: dict[str, float] = json.loads(spent.read_text())
    return result


def pytest_seconds(directory: Path, name: str, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", name, *extra],
        cwd=directory,
        check=True,
        capture_output=True,
        env=ENV,
    )
    return time.perf_counter() - started


def per_test_overhead(before: str | None = None) -> None:
    """The tests alternate in one pytest run, timed one by one (a whole run on this shared machine varies
    by 10-20% from one run to the next, as much as the figure measured, and counts the start of pytest and
    the imports, which are not a test's); whole runs are shown too, five of each, alternating."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "test_lwa.py").write_text(LWA_TESTS)
        (directory / "test_static.py").write_text(STATIC_TESTS)
        (directory / "test_zz_last.py").write_text("def test_last():\n    pass\n")
        (directory / "interleave.py").write_text(INTERLEAVING_CONFTEST)
        (directory / "pytest.ini").write_text("[pytest]\n")
        old = checkout(before, directory / "before") if before is not None else None
        runs, old_runs = [], []
        for _ in range(5):  # (alternating with the older revision's runs, when there are any)
            runs.append(interleaved_seconds(directory))
            if old is not None:
                old_runs.append(interleaved_seconds(directory, old))
        pairs = [  # whole runs, alternating
            (pytest_seconds(directory, "test_lwa.py"), pytest_seconds(directory, "test_static.py")) for _ in range(5)
        ]
    runs.sort(key=lambda run: run["test_lwa"] / run["test_static"])
    ratios = [run["test_lwa"] / run["test_static"] for run in runs]
    middle = ratios[len(ratios) // 2]
    ours_s, theirs_s = runs[len(runs) // 2]["test_lwa"], runs[len(runs) // 2]["test_static"]
    report(
        "500 tests, one token each",
        f"{ours_s:.2f} s vs httpserver {theirs_s:.2f} s = {middle:.2f}x "
        f"({(ours_s - theirs_s) / 500 * 1000:+.2f} ms/test; median of 5 runs, {ratios[0]:.2f}x-{ratios[-1]:.2f}x)",
        "<= 1.05x",
        middle <= 1.05,
    )
    if old_runs:
        old_ratios = sorted(run["test_lwa"] / run["test_static"] for run in old_runs)
        old_middle = old_ratios[len(old_ratios) // 2]
        report(
            f"the same, {before}'s plugin",
            f"{old_middle:.2f}x ({old_ratios[0]:.2f}x-{old_ratios[-1]:.2f}x); now {middle:.2f}x",
            "now no worse",
            middle <= old_middle,
        )
    pairs.sort(key=lambda pair: pair[0] / pair[1])
    ours_s, theirs_s = pairs[len(pairs) // 2]
    report(
        "the same, whole pytest runs",
        f"{ours_s:.2f} s vs httpserver {theirs_s:.2f} s = {ours_s / theirs_s:.2f}x (median of 5 pairs; "
        f"{pairs[0][0] / pairs[0][1]:.2f}x-{pairs[-1][0] / pairs[-1][1]:.2f}x)",
        "(for information)",
        None,
    )


# --- servers in subprocesses ---------------------------------------------------------------------

BARE_WERKZEUG = """
import json, sys
from werkzeug.serving import WSGIRequestHandler, make_server
BODY = json.dumps({"access_token": "Atc|" + "x" * 350, "scope": "appstore::apps:readwrite",
                   "token_type": "bearer", "expires_in": 3600}).encode()
def app(environ, start_response):
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
class Quiet(WSGIRequestHandler):
    def log_request(self, *args): pass
server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
with open(sys.argv[1], "w") as ready:
    json.dump({"url": f"http://127.0.0.1:{server.port}"}, ready)
server.serve_forever()
"""

#: the mock's own WSGI app, with the demo client, hosted by another server: waitress (an asynchronous loop
#: reading requests, a thread pool answering them) or werkzeug's threaded development server
SAME_APP = """
import json, sys
from pytest_lwa import LwaServer
from pytest_lwa.cli import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
mock = LwaServer(tick=True)  # never started: only its app is served
mock.add_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
if sys.argv[2] == "waitress":
    import waitress
    server = waitress.create_server(mock.app, host="127.0.0.1", port=0)
    port, run = server.effective_port, server.run
else:
    from werkzeug.serving import WSGIRequestHandler, make_server
    class Quiet(WSGIRequestHandler):
        def log_request(self, *args): pass
    server = make_server("127.0.0.1", 0, mock.app, threaded=True, request_handler=Quiet)
    port, run = server.port, server.serve_forever
with open(sys.argv[1], "w") as ready:
    json.dump({"url": f"http://127.0.0.1:{port}"}, ready)
run()
"""

PEER = """
const { OAuth2Server } = require('oauth2-mock-server');
(async () => {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  require('fs').writeFileSync(process.argv[2], JSON.stringify({url: `http://127.0.0.1:${server.address().port}`}));
})();
"""


@contextmanager
def running(
    command: list[str], ready: Path, cwd: Path | None = None, package: Path | None = None
) -> Iterator[tuple[dict[str, Any], float]]:
    """Start a server process (importing ``pytest_lwa`` from ``package`` when given); yields its ready-file
    JSON and the seconds until it answered."""
    started = time.perf_counter()
    env = ENV if package is None else {**ENV, "PYTHONPATH": str(package)}
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            if ready.exists() and ready.stat().st_size:
                info = json.loads(ready.read_text())
                try:
                    requests.get(info["url"] + "/", timeout=1)
                    break
                except requests.ConnectionError:
                    pass
            time.sleep(0.002)
        yield info, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_command(ready: Path) -> list[str]:
    return [PYTHON, "-m", "pytest_lwa", "serve", "--port", "0", "--log-level", "warning", "--ready-file", str(ready)]


def checkout(revision: str, into: Path) -> Path:
    """The package as it was at ``revision`` (a git revision of this repository), to run beside this one."""
    archive = subprocess.run(
        ["git", "archive", revision, "pytest_lwa"], cwd=HERE.parent, capture_output=True, check=True
    ).stdout
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


Target = tuple[str, dict[str, str], "tuple[str, str] | None"]


def interleaved_rates(
    targets: dict[str, Target], count: int, rounds: int = 8, keep_alive: bool = True
) -> dict[str, float]:
    """Requests per second of each server, one client, rounds interleaved; the best round of each.

    The client is http.client, reusing its connection where the server keeps it open (with
    ``keep_alive=False`` it asks for a new connection per request): light enough that the servers,
    not the client, set the pace. Interleaving and taking the best round keep a noisy machine from
    favouring whichever ran first.
    """
    best = dict.fromkeys(targets, 0.0)
    per_round = max(1, count // rounds)
    prepared = {}
    for name, (url, form, auth) in targets.items():
        parts = urlsplit(url)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if not keep_alive:
            headers["Connection"] = "close"
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        prepared[name] = (connection, parts.path, urlencode(form), headers)

    def post(name: str) -> None:
        connection, path, body, headers = prepared[name]
        try:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # the server closed a connection idle since the last round, as clients expect of it
            connection.close()
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
        data = response.read()
        assert response.status == 200, data
        if response.will_close:
            connection.close()

    for name in targets:
        for _ in range(50):  # warm up
            post(name)
    for _ in range(rounds):
        for name in targets:
            started = time.perf_counter()
            for _ in range(per_round):
                post(name)
            best[name] = max(best[name], per_round / (time.perf_counter() - started))
    for connection, *_ in prepared.values():
        connection.close()
    return best


def demo_form() -> dict[str, str]:
    from pytest_lwa.cli import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

    return {"grant_type": "client_credentials", "scope": APPSTORE, "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET}  # fmt: skip


def round_trip(count: int, with_peer: bool, before: str | None = None) -> None:
    """The standalone server against a bare werkzeug server (and the npm peer), measured together; with
    ``before``, the standalone server of that git revision too."""
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        script = Path(tmp) / "bare.py"
        script.write_text(BARE_WERKZEUG)
        same = Path(tmp) / "same.py"
        same.write_text(SAME_APP)
        ours, _ = stack.enter_context(running(serve_command(Path(tmp) / "lwa.json"), Path(tmp) / "lwa.json"))
        bare, _ = stack.enter_context(running([PYTHON, str(script), str(Path(tmp) / "b.json")], Path(tmp) / "b.json"))
        hosts = {
            name: stack.enter_context(running([PYTHON, str(same), str(Path(tmp) / f"{name}.json"), name],
                                              Path(tmp) / f"{name}.json"))[0]
            for name in ("waitress", "werkzeug")
        }  # fmt: skip
        targets: dict[str, Target] = {
            "ours": (ours["url"] + "/auth/o2/token", demo_form(), None),
            "bare": (bare["url"] + "/auth/o2/token", demo_form(), None),
            **{name: (host["url"] + "/auth/o2/token", demo_form(), None) for name, host in hosts.items()},
        }
        if before is not None:
            old = checkout(before, Path(tmp) / "before")
            info, _ = stack.enter_context(
                running(serve_command(Path(tmp) / "old.json"), Path(tmp) / "old.json", package=old)
            )
            targets["before"] = (info["url"] + "/auth/o2/token", demo_form(), None)
        package = start_peer(stack) if with_peer else None
        if package is not None:
            peer_url = json.loads((HERE / ".peer" / "ready.json").read_text())["url"]
            targets["peer"] = (
                peer_url + "/token",
                {"grant_type": "client_credentials", "scope": APPSTORE},
                ("id", "s"),
            )
        rates = interleaved_rates(targets, count)
        compared = ("ours", "bare", "waitress", "werkzeug", *(("before",) if before is not None else ()))
        fresh = interleaved_rates({name: targets[name] for name in compared}, count, keep_alive=False)
    ratio = rates["bare"] / rates["ours"]
    report(
        "round trip, keep-alive session",
        f"{rates['ours']:.0f} req/s vs bare werkzeug {rates['bare']:.0f} req/s = {ratio:.2f}x",
        "<= 1.30x time",
        ratio <= 1.3,
    )
    # werkzeug's server closes every connection, so above it pays a connect per request and we do not;
    # with a new connection per request for both, the figure compares the request handling alone.
    ratio = fresh["bare"] / fresh["ours"]
    report(
        "round trip, a connection per request",
        f"{fresh['ours']:.0f} req/s vs bare werkzeug {fresh['bare']:.0f} req/s = {ratio:.2f}x",
        "(for information)",
        None,
    )
    # the same app under other servers: what the serving layer costs, keep-alive and a connection per request
    for host in ("waitress", "werkzeug"):
        for label, measured in (("keep-alive", rates), ("new connections", fresh)):
            ratio = measured["ours"] / measured[host]
            if before is None:
                report(
                    f"same app on {host}, {label}",
                    f"ours {measured['ours']:.0f} req/s vs {measured[host]:.0f} req/s = {ratio:.2f}x its rate",
                    "(for information)",
                    None,
                )
                continue
            old = measured["before"] / measured[host]
            report(
                f"same app on {host}, {label}",
                f"{measured[host]:.0f} req/s; ours {ratio:.2f}x its rate, {before} {old:.2f}x ({ratio / old:.2f})",
                ">= 0.95 of before's",
                ratio >= 0.95 * old,
            )
    if not with_peer:
        return
    if package is None:
        report("peer: oauth2-mock-server (npm)", "skipped: no Node.js/npm", ">= 3x its req/s", None)
        return
    ratio = rates["ours"] / rates["peer"]
    report(
        f"peer: {package}",
        f"ours {rates['ours']:.0f} req/s vs theirs {rates['peer']:.0f} req/s = {ratio:.2f}x",
        ">= 3x its req/s",
        ratio >= 3,
    )


def start_peer(stack: ExitStack) -> str | None:
    """Install (once) and start oauth2-mock-server; returns the package used, or None without Node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None
    major = int(subprocess.run([node, "--version"], capture_output=True, text=True).stdout.lstrip("v").split(".")[0])
    package = "oauth2-mock-server" if major >= 22 else "oauth2-mock-server@7"  # 8+ needs Node 22
    cache = HERE / ".peer"
    cache.mkdir(exist_ok=True)
    if not (cache / "node_modules" / "oauth2-mock-server").exists():
        subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", package], cwd=cache, check=True)
    (cache / "serve.js").write_text(PEER)
    ready = cache / "ready.json"
    ready.unlink(missing_ok=True)
    stack.enter_context(running([node, "serve.js", str(ready)], ready, cwd=cache))
    return package


def startup() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bare.py"
        script.write_text(BARE_WERKZEUG)
        ours, bare = [], []
        for attempt in range(5):
            ready = Path(tmp) / f"lwa{attempt}.json"
            with running(serve_command(ready), ready) as (_, seconds):
                ours.append(seconds)
            ready = Path(tmp) / f"bare{attempt}.json"
            with running([PYTHON, str(script), str(ready)], ready) as (_, seconds):
                bare.append(seconds)
    ours_s, bare_s = statistics.median(ours), statistics.median(bare)
    report(
        "start-up of pytest-lwa serve",
        f"{ours_s * 1000:.0f} ms vs bare werkzeug {bare_s * 1000:.0f} ms = {ours_s / bare_s:.2f}x",
        "< 500 ms",
        ours_s < 0.5,
    )


# --- in-process ----------------------------------------------------------------------------------


def concurrency(threads: int = 8, each: int = 2000) -> None:
    from pytest_lwa import LwaServer

    with LwaServer(keep_alive=True) as server:  # as pytest-lwa serve runs
        app = server.add_client(scopes=[APPSTORE])
        form = {"grant_type": "client_credentials", "scope": APPSTORE, "client_id": app.client_id,
                "client_secret": app.client_secret}  # fmt: skip
        tokens: list[list[str]] = [[] for _ in range(threads)]
        failures: list[int] = []

        def work(index: int) -> None:
            with requests.Session() as session:
                for _ in range(each):
                    response = session.post(server.token_url, data=form, timeout=30)
                    if response.status_code != 200:
                        failures.append(response.status_code)
                    else:
                        tokens[index].append(response.json()["access_token"])

        started = time.perf_counter()
        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - started
        issued = [token for batch in tokens for token in batch]
        valid = sum(1 for token in issued if server.verify(token, scopes=[APPSTORE]))
    ok = not failures and len(issued) == len(set(issued)) == valid == threads * each
    report(
        f"{threads} threads x {each} token requests",
        f"{len(issued)} answered, {len(set(issued))} distinct, {valid} valid; {len(issued) / seconds:.0f} req/s",
        "all, distinct, valid",
        ok,
    )


MEMORY = """
import gc, io, sys
from pytest_lwa import LwaServer

def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20

server = LwaServer(log_size=1000, tick=True)   # as pytest-lwa serve runs it
app = server.add_client(scopes=["appstore::apps:readwrite"])
body = ("grant_type=client_credentials&scope=appstore::apps:readwrite&client_id=%s&client_secret=%s"
        % (app.client_id, app.client_secret)).encode()
def issue(count):
    for _ in range(count):
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/auth/o2/token", "QUERY_STRING": "",
                   "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
                   "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
                   "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr}
        status = []
        b"".join(server.app(environ, lambda s, h, e=None: status.append(s)))
        assert status[0].startswith("200"), status
issue(2000)          # warm: caches, the request log filled to its bound
gc.collect()
idle = rss_mb()
issue(int(sys.argv[1]))
gc.collect()
print(idle, rss_mb())
"""


def memory(count: int) -> None:
    out = subprocess.run([PYTHON, "-c", MEMORY, str(count)], capture_output=True, text=True, check=True, env=ENV).stdout
    idle, after = map(float, out.split())
    growth = after - idle
    report(
        f"memory after {count:,} tokens",
        f"RSS {idle:.1f} MB idle -> {after:.1f} MB (+{growth:.1f} MB)",
        "< +20 MB",
        growth < 20,
    )


def plugin_cost() -> None:
    """What loading the plugin costs a run that never asks for its fixtures."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(HERE.parent / "pytest_lwa")], check=True, env=ENV)
    samples = []
    for _ in range(9):
        out = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", "import pytest; import pytest_lwa.plugin"],
            capture_output=True,
            text=True,
            check=True,
            env=ENV,
        ).stderr
        total = 0
        for line in out.splitlines():
            parts = [part.strip() for part in line.split("|")]
            if len(parts) == 3 and parts[2].startswith("pytest_lwa"):
                total += int(parts[0].split(":")[1])
        samples.append(total)
    ours = statistics.median(samples)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "test_plain.py").write_text("def test_plain():\n    assert True\n")
        (directory / "pytest.ini").write_text("[pytest]\n")
        with_plugin, without = [], []
        for _ in range(10):
            with_plugin.append(pytest_seconds(directory, "test_plain.py"))
            without.append(pytest_seconds(directory, "test_plain.py", "-p", "no:lwa"))
    difference = (min(with_plugin) - min(without)) * 1000
    report(
        "plugin import (fixtures unused)",
        f"{ours / 1000:.2f} ms importing pytest_lwa + plugin (median of 9)",
        "<= 5 ms",
        ours / 1000 <= 5,
    )
    report(
        "pytest run, plugin vs -p no:lwa",
        f"{min(with_plugin) * 1000:.0f} ms vs {min(without) * 1000:.0f} ms ({difference:+.0f} ms, noisy)",
        "(whole-run view)",
        None,
    )


def main() -> int:
    sections = ["overhead", "roundtrip", "peer", "concurrency", "memory", "startup", "plugin"]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated sections: {', '.join(sections)}")
    parser.add_argument("--requests", type=int, default=2000, help="requests per round-trip measurement")
    parser.add_argument("--tokens", type=int, default=200_000, help="tokens for the memory measurement")
    parser.add_argument(
        "--before",
        metavar="REVISION",
        help="roundtrip and overhead: also measure the package of this git revision (e.g. main)",
    )
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else sections
    print(f"pytest-lwa benchmarks, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if "overhead" in chosen:
        per_test_overhead(args.before)
    if "roundtrip" in chosen or "peer" in chosen:
        round_trip(args.requests, with_peer="peer" in chosen, before=args.before)
    if "concurrency" in chosen:
        concurrency()
    if "memory" in chosen:
        memory(args.tokens)
    if "startup" in chosen:
        startup()
    if "plugin" in chosen:
        plugin_cost()
    missed = [name for name, _, _, met in RESULTS if met is False]
    print(f"{len(RESULTS) - len(missed)} of {len(RESULTS)} figures meet their targets" + (
        f"; missed: {', '.join(missed)}" if missed else ""))  # fmt: skip
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
