"""The package as a user gets it: built, checked, installed in a fresh venv, and running a user's test.

Also the project's own GitHub Actions workflow, checked against the workflow schema, and the promise that
declared support is tested support.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
RECIPE = ROOT / "examples" / "ci" / "github-actions.yml"
SERVICE = ROOT / "examples" / "ci" / "github-actions-service.yml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def run(*command: str | Path, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The sdist and the wheel, built as a release builds them."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT)
    return sorted(out.iterdir())


def test_the_distributions_pass_twine_check(distributions: list[Path]) -> None:
    assert sorted(path.suffix for path in distributions) == [".gz", ".whl"]
    result = run(sys.executable, "-m", "twine", "check", "--strict", *distributions)
    assert result.stdout.count("PASSED") == 2


def test_the_wheel_in_a_fresh_venv_runs_the_readmes_first_test(distributions: list[Path], tmp_path: Path) -> None:
    (wheel,) = [path for path in distributions if path.suffix == ".whl"]
    with zipfile.ZipFile(wheel) as built:
        assert {"pytest_lwa/login1.js", "pytest_lwa/py.typed"} <= set(built.namelist())  # the files beside the code
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel, "requests")
    readme = (ROOT / "README.md").read_text()
    first = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)[0]
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_first.py").write_text(first)
    result = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", cwd=project)
    assert "1 passed" in result.stdout
    version = run(venv / "bin" / "pytest-lwa", "--version")
    assert version.stdout.strip() == f"pytest-lwa {PYPROJECT['project']['version']}"


@pytest.mark.parametrize("workflow", [WORKFLOW, RECIPE, SERVICE], ids=["ci", "recipe", "service"])
def test_workflows_are_valid(workflow: Path) -> None:
    result = run(sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", workflow)
    assert "ok -- validation done" in result.stdout


def test_an_invalid_workflow_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1))
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0


def test_declared_support_is_tested_support() -> None:
    classifiers = PYPROJECT["project"]["classifiers"]
    declared = sorted(
        c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    matrix = re.search(r"^\s+python: \[(.*)\]$", WORKFLOW.read_text(), flags=re.MULTILINE)
    assert matrix is not None
    assert re.findall(r'"(3\.\d+)"', matrix.group(1)) == declared
    tox = (ROOT / "tox.ini").read_text()
    envs = re.search(r"env_list = (.*)", tox)
    assert envs is not None
    for version in declared:
        assert f"py{version.replace('.', '')}" in envs.group(1)
    assert "min" in envs.group(1)
    # the min env pins every floor the project declares for its users
    floors = [re.split(r">=", dep) for dep in PYPROJECT["project"]["dependencies"]]
    floors += [
        re.split(r">=", dep)
        for extra in ("tls", "strategies")
        for dep in PYPROJECT["project"]["optional-dependencies"][extra]
    ]
    min_env = tox.split("[testenv:min]")[1].split("\n[")[0]
    for name, version in floors:
        assert re.search(rf"^\s+{name}=={re.escape(version)}(\.0)*$", min_env, flags=re.MULTILINE), (name, version)
    assert PYPROJECT["project"]["requires-python"] == f">={declared[0]}"
