"""The API reference site: it builds with warnings as errors, every command has its page section, and
every code block of its pages runs (Python blocks as written, with the counts marked ``# test:`` made small;
command lines are parsed by the real parser). The README sections the pages include are run by
``tests/test_readme.py``."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md"))


def blocks(kind: str) -> list[tuple[str, str]]:
    """(page, block) for every ``kind`` code block written in the pages themselves."""
    out = []
    for page in PAGES:
        for block in re.findall(rf"```{kind}\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S):
            out.append((str(page.relative_to(ROOT)), block))
    return out


def small(block: str) -> str:
    return re.sub(r"^(\s*\w+\s*=\s*)[^#\n]+#\s*test:\s*(\S+)\s*$", r"\1\2", block, flags=re.M)


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    pytest.importorskip("mkdocstrings_handlers.python")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    cli = (tmp_path / "site" / "cli" / "index.html").read_text(encoding="utf-8")
    from echelon.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    assert all(f"echelon {name}</h2>" in cli for name in sub.choices), "a command without its section"
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert "make_vec_env" in api and "Simulator" in api and "rollout" in api
    assert not (tmp_path / "site" / "hooks.py").exists()


@pytest.mark.parametrize(("page", "block"), blocks("python"), ids=lambda v: v if v.endswith(".md") else "")
def test_every_python_block_of_the_pages_runs(page, block, tmp_path):
    done = subprocess.run([sys.executable, "-c", small(block)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{page}: {done.stderr[-3000:]}"


def test_every_command_line_of_the_pages_parses():
    """``echelon ...`` lines (also after ``.venv/bin/`` and ``&&``) name real commands with real options."""
    from echelon.cli import build_parser

    parser = build_parser()
    lines = [part.strip() for _, block in blocks("bash") for line in block.splitlines()
             for part in line.split("#")[0].split("&&")]
    commands = [shlex.split(line) for line in lines if re.match(r"(\.venv/bin/)?echelon ", line)]
    assert commands
    for words in commands:
        parser.parse_args(words[1:])  # a wrong command or option exits here
