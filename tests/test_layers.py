"""The package's floors point one way: envs, then agents, then evaluation, then training, then experiments,
then the command line. Read from the code (its imports), not from a list kept by hand.

- no module imports one from a higher floor (at the top or inside a function);
- no two modules import each other, however indirectly (imports under ``if TYPE_CHECKING:`` are
  annotations only and do not count);
- below the command line, no module imports Echelon inside a function (the command line may, so
  that ``echelon show`` does not load the trainers).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "echelon"
FLOORS = {"stats": 0, "envs": 1, "agents": 2, "evaluation": 3, "training": 4, "experiments": 5}
TOP = 6  # echelon itself, cli, commands, play, classroom, __main__


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["echelon", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def floor(module: str) -> int:
    parts = module.split(".")
    return FLOORS.get(parts[1], TOP) if len(parts) > 1 else TOP


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported Echelon module, inside a function) for each import outside ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            typing_only |= {id(sub) for sub in ast.walk(node)}
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function |= {id(sub) for sub in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "echelon":
            names = [f"{node.module}.{a.name}" for a in node.names]
            targets = [n for n in names if n in MODULES] or [node.module]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.split(".")[0] == "echelon"]
        else:
            continue
        found += [(t, id(node) in in_function) for t in targets if t in MODULES]
    return found


GRAPH = {module: _imports(path) for module, path in MODULES.items()}


def test_the_layout_is_one_package():
    assert {"envs", "agents", "evaluation", "training", "experiments"} <= {p.name for p in PACKAGE.iterdir()}
    root = PACKAGE.parent
    assert not any((root / name).exists() for name in FLOORS), "the floors live inside echelon/"


def test_no_import_runs_up_a_floor():
    upward = [f"{m} -> {t}" for m, targets in GRAPH.items() for t, _ in targets if floor(t) > floor(m)]
    assert not upward, "\n".join(upward)


def test_below_the_command_line_nothing_imports_inside_a_function():
    hidden = [f"{m} -> {t}" for m, targets in GRAPH.items() if floor(m) < TOP for t, inner in targets if inner]
    assert not hidden, "\n".join(hidden)


def test_no_import_cycle():
    edges = {m: {t for t, _ in targets if t != m} for m, targets in GRAPH.items()}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = path[path.index(module):] + [module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(edges[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])


def test_the_checks_can_fail(tmp_path):
    """The reader sees an upward import, a hidden one and a typing-only one for what they are."""
    source = ("from typing import TYPE_CHECKING\nfrom echelon.training.config import TrainConfig\n"
              "if TYPE_CHECKING:\n    from echelon.experiments.scoreboard import Suite\n"
              "def f():\n    from echelon.agents import registry\n")
    path = tmp_path / "probe.py"
    path.write_text(source)
    found = _imports(path)
    assert ("echelon.training.config", False) in found
    assert ("echelon.agents.registry", True) in found
    assert not any(t.startswith("echelon.experiments") for t, _ in found)
    assert floor("echelon.envs.core") < floor("echelon.agents.registry") < floor("echelon.evaluation.rollout") \
        < floor("echelon.training.config") < floor("echelon.experiments.scoreboard") < floor("echelon.cli")
