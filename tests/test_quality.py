"""The promises of the package's own code: strict types and a clean lint, checked with every test run."""

from __future__ import annotations

import subprocess
import sys
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
