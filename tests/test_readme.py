"""Every Python example in the README runs, as a user would paste it."""

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

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(source: str, pytester: pytest.Pytester) -> None:
    if "def test_" in source:
        pytester.makepyfile(source)
        result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
        outcomes = result.parseoutcomes()
        assert outcomes.get("passed", 0) >= 1, result.stdout.str()
        assert set(outcomes) <= {"passed"}, result.stdout.str()
    else:
        exec(compile(source, "README.md", "exec"), {})


CONSOLE = re.findall(r"```console\n(.*?)```", README, flags=re.DOTALL)
ROOT = Path(__file__).resolve().parent.parent


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


def test_readme_configuration_file_loads(tmp_path: Path) -> None:
    (block,) = re.findall(r"```toml\n(.*?)```", README, flags=re.DOTALL)
    path = tmp_path / "lwa.toml"
    path.write_text(block)
    config = load_config(path)
    assert config.refresh_tokens[0]["token"] == "Atzr|ci-seller-refresh-token"
