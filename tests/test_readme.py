"""Every Python example in the README runs, as a user would paste it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
