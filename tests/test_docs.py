"""Every Python example in the README and docs/ runs as a user would paste it; every link resolves."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import wait_for

from pytest_lwa.config import load_config

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = PAGES[0].read_text(encoding="utf-8")
BLOCKS = [
    (f"{page.stem}-{number}", source)
    for page in PAGES
    for number, source in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL))
]


def test_every_page_is_checked() -> None:
    assert {page.name for page in PAGES} >= {
        "README.md",
        "guide.md",
        "serve.md",
        "contract.md",
        "troubleshooting.md",
        "benchmarks.md",
        "development.md",
    }
    assert len(BLOCKS) >= 14


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
        if not target.startswith(("http://", "https://")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


@pytest.mark.parametrize(("name", "source"), BLOCKS, ids=[name for name, _ in BLOCKS])
def test_example_runs(name: str, source: str, pytester: pytest.Pytester) -> None:
    if "def test_" in source:
        pytester.makepyfile(source)
        # TLS examples run in a process of their own: cryptography's classes do not survive pytester's
        # in-process module reloads
        tls = "lwa_https_server" in source or "lwa_proxy" in source
        run = pytester.runpytest_subprocess if tls else pytester.runpytest
        result = run("-p", "no:cacheprovider", "-W", "error")
        outcomes = result.parseoutcomes()
        assert outcomes.get("passed", 0) >= 1, result.stdout.str()
        assert set(outcomes) <= {"passed"}, result.stdout.str()
    else:
        exec(compile(source, name, "exec"), {})


CONSOLE = re.findall(r"```console\n(.*?)```", README, flags=re.DOTALL)


def test_the_two_commands_near_the_top() -> None:
    serve, curl, test = (block.strip() for block in CONSOLE[:3])
    assert serve.endswith("&& .venv/bin/pytest-lwa serve")
    assert curl.startswith("curl -X POST")
    assert curl.endswith("http://127.0.0.1:8080/auth/o2/token")
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines(), "the README's test command must be what .ci/run runs"


def test_readme_curl_gets_a_token_from_the_demo_server(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    ready = tmp_path / "ready.json"
    server = subprocess.Popen(
        [sys.executable, "-m", "pytest_lwa", "serve", "--port", "0", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = wait_for(ready, server)["url"]
        command = shlex.split(CONSOLE[1].strip().replace("http://127.0.0.1:8080", url))
        answer = subprocess.run([command[0], "-s", *command[1:]], capture_output=True, text=True, check=True)
        assert json.loads(answer.stdout)["token_type"] == "bearer"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_configuration_file_loads(tmp_path: Path) -> None:
    (block,) = re.findall(r"```toml\n(.*?)```", (ROOT / "docs" / "serve.md").read_text(), flags=re.DOTALL)
    path = tmp_path / "lwa.toml"
    path.write_text(block)
    config = load_config(path)
    assert config.refresh_tokens[0]["token"] == "Atzr|ci-seller-refresh-token"
    assert config.consent == {"user_id": config.users[0]["user_id"], "granted": True, "grant_scopes": ["profile"]}


def test_every_setting_and_admin_endpoint_is_documented() -> None:
    from pytest_lwa import LwaServer
    from pytest_lwa.admin import AdminApp
    from pytest_lwa.model import SETTINGS

    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    serve = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"| `{setting.name}` | `{setting.default!r}` |".replace("'", '"') in guide, setting.name
        assert f"| `{setting.name}` | `lwa_{setting.name}` | `--lwa-{setting.name.replace('_', '-')}" in guide
        assert f"--{setting.name.replace('_', '-')}" in serve
    server = LwaServer()
    for endpoint in AdminApp(server.app, server, token=None, enabled=True, on_reset=server.reset).endpoints():
        method, path = endpoint.split(" ")
        assert f"{method} {path}" in serve, endpoint


def test_nothing_points_at_a_file_outside_the_project() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = re.compile(r"LWA-CONTRACT|\.\./shared|DESIGN\.md")
    found = [
        f"{name}:{number}"
        for name in tracked
        if name.endswith((".py", ".md", ".toml", ".ini", ".yml", ".yaml", ".txt", ".sh"))
        and name != "tests/test_docs.py"
        for number, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert found == [], "cite docs/contract.md's rows instead"


def test_every_variable_of_serve_is_documented() -> None:
    from pytest_lwa.cli import build_parser
    from pytest_lwa.environment import CONFIG_TOML, variables

    serve = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    section = serve.split("### Environment variables")[1].split("\n## ")[0]
    for name in [*variables(build_parser()), CONFIG_TOML]:
        assert f"`{name}`" in section, name
