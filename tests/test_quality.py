"""The promises of the package's own code: strict types and a clean lint, checked with every test run."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_py_typed_marker_ships() -> None:
    assert (ROOT / "pytest_lwa" / "py.typed").is_file()


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("mypy",), id="mypy-strict"),
        pytest.param(("ruff", "check", "."), id="ruff-check"),
        pytest.param(("ruff", "format", "--check", "."), id="ruff-format"),
    ],
)
def test_tool_passes(command: tuple[str, ...]) -> None:
    result = run(*command)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layering_holds() -> None:
    """Each module imports only the layers below its own (pyproject.toml's import-linter contracts), imports
    under TYPE_CHECKING included: an import circle fails here."""
    lint = "import sys, importlinter.cli as c; sys.exit(c.lint_imports(no_cache=True))"
    result = subprocess.run([sys.executable, "-c", lint], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout, result.stdout


def test_the_layering_has_no_exceptions() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert config["exclude_type_checking_imports"] is False
    assert config["include_external_packages"] is False
    for contract in config["contracts"]:
        assert contract["type"] == "layers"
        assert set(contract) == {"name", "type", "containers", "layers"}, contract["name"]  # no ignore_imports
    top = config["contracts"][0]["layers"]
    modules = {path.stem for path in (ROOT / "pytest_lwa").glob("*.py")} - {"__init__"} | {"grants"}
    layered = {name.strip() for layer in top for name in layer.split("|")}
    assert layered == modules  # every module has its layer


def test_misspelt_keywords_are_type_errors(tmp_path: Path) -> None:
    """A user's typo in a fault's or a criterion's keyword, or a wrong type, fails their type check."""
    user = tmp_path / "test_user.py"
    user.write_text(
        "from datetime import timedelta\n"
        "from pytest_lwa import LwaServer\n\n"
        "def check(server: LwaServer) -> None:\n"
        "    server.drop_next(paht='/auth/o2/token')\n"
        "    server.delay_next(1.0, nht=2)\n"
        "    server.throttle_next(when='always')\n"
        "    server.assert_token_requests(grant='refresh_token')\n"
        "    server.token_requests(status='200')\n"
        "    server.fail_next(paht='/auth/o2/token')\n"
        "    server.clock.advance(timedelta(minutes=5))\n"
        "    server.add_client(scope=['profile'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    errors = [
        line.split(": error: ")[0].rsplit(":", 1)[1] for line in result.stdout.splitlines() if ": error: " in line
    ]
    assert errors == ["5", "6", "7", "8", "9", "10", "12"], result.stdout
