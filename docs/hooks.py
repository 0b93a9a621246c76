"""MkDocs hooks: pages written from the sources they describe, so nothing is kept in step by hand.

* ``<!-- echelon-cli -->``: every command's help, from the parser itself (``echelon COMMAND --help``);
* ``<!-- readme: HEADING -->``: that section of the README (to the next heading of its level or above), its
  links to ``docs/`` pictures made relative to the page. The README's code blocks are run by
  ``tests/test_readme.py``; the pages' own by ``tests/test_docs.py``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

CLI = "<!-- echelon-cli -->"
README = re.compile(r"<!-- readme: (.+?) -->")
ROOT = Path(__file__).resolve().parent.parent


def cli_reference() -> str:
    """Markdown: each command's help, in the order ``echelon --help`` lists them."""
    from echelon.cli import build_parser

    parser = build_parser()
    parts = ["```text", parser.format_help().rstrip(), "```"]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        parts += ["", f"## echelon {name}", "", "```text", command.format_help().rstrip(), "```"]
    return "\n".join(parts)


def readme_section(heading: str, depth: int) -> str:
    """The README's section under ``heading`` (its heading left out), pictures relative to a page ``depth``
    folders below ``docs/``; a missing heading is an error (the build stops)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        raise ValueError(f"docs: the README has no heading {heading!r}") from None
    level = len(heading) - len(heading.lstrip("#"))
    end = next((i for i in range(start + 1, len(lines))
                if re.match(rf"#{{1,{level}}} ", lines[i]) and not _in_code(lines, i)), len(lines))
    body = "\n".join(lines[start + 1:end])
    return body.replace("](docs/", "](" + "../" * depth)


def _in_code(lines: list[str], i: int) -> bool:
    return sum(line.startswith("```") for line in lines[:i]) % 2 == 1


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    depth = page.file.src_uri.count("/")
    markdown = markdown.replace(CLI, cli_reference()) if CLI in markdown else markdown
    return README.sub(lambda m: readme_section(m.group(1), depth), markdown)
