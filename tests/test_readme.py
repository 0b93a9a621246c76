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


def _section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(title)
    return text[start:text.index("\n## ", start + len(title))]


def test_the_scenario_table_lists_every_built_in_scenario():
    from echelon.envs import available_scenarios

    listed = re.findall(r"^\| `(\w+)` \|", _section("## Built-in scenarios"), flags=re.M)
    assert sorted(listed) == sorted(available_scenarios())


def test_the_command_list_names_every_command():
    from echelon.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    block = re.search(r"```\n(.*?)```", _section("## Command line"), flags=re.S).group(1)
    listed = re.findall(r"^echelon (\w+)", block, flags=re.M)
    assert sorted(set(listed)) == sorted(commands)


def test_version_is_the_package_version(capsys):
    import tomllib

    from echelon.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out.strip() == f"echelon {declared}"


def test_train_help_names_every_backend_and_algorithm(capsys):
    from echelon.cli import main
    from echelon.training.algorithms import ALGORITHMS

    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    start = text.index("train train agents")
    line = text[start:text.index(" evaluate ", start)]
    for backend, algo in ALGORITHMS:
        assert f"backend: {backend}" in line or backend == "sb3", backend
        assert algo.upper() in line or f"algo: {algo}" in line, algo
