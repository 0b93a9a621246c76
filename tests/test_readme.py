"""The README's recipes for other RL libraries run as written (with the step counts marked ``# test:`` small)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## From other RL libraries"


def recipes() -> list[str]:
    """The Python blocks of the README's section on other libraries, with ``# test:`` values swapped in."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    blocks = re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)
    return [re.sub(r"^(\s*\w+\s*=\s*)[^#\n]+#\s*test:\s*(\S+)\s*$", r"\1\2", block, flags=re.M) for block in blocks]


def test_the_section_has_a_recipe_per_client():
    joined = "\n".join(recipes())
    for client in ("stable_baselines3", "ray.rllib", "tianshou", "torchrl"):
        assert f"from {client}" in joined
    assert all("# test:" not in block for block in recipes())


@pytest.mark.slow
@pytest.mark.parametrize("index", range(4), ids=["sb3", "rllib", "tianshou", "torchrl"])
def test_recipe_runs(index, tmp_path):
    block = recipes()[index]
    first = {0: "stable_baselines3", 1: "ray", 2: "tianshou", 3: "torchrl"}[index]
    pytest.importorskip(first)
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
