"""A long command's progress where no terminal shows rich's bar: plain lines, at the interval asked for."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from echelon.progress import Progress

BENCH = ["benchmark", "heuristics", "--episodes", "4", "--periods", "10"]


class Lines:
    def __init__(self):
        self.lines: list[str] = []

    def print(self, text, **_):
        self.lines.append(text)


def test_plain_lines_count_units_and_name_what_runs(monkeypatch):
    monkeypatch.setenv("ECHELON_PROGRESS_SECONDS", "0")
    console = Lines()
    with Progress(console, "study s", 4) as progress:
        progress.advance("cell 1")
        progress.set(3, "cell 3")
        progress.advance()
    assert console.lines[0].startswith("cell 1: 1/4 (25%), ")
    assert console.lines[1].startswith("cell 3: 3/4 (75%), ")
    assert console.lines[2].startswith("cell 3: 4/4 (100%), ")


def test_no_more_than_one_line_per_interval(monkeypatch):
    monkeypatch.setenv("ECHELON_PROGRESS_SECONDS", "3600")
    console = Lines()
    with Progress(console, "x", 1000) as progress:
        for _ in range(1000):
            progress.advance()
    assert console.lines == []


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_interval_is_one_line(value, monkeypatch):
    monkeypatch.setenv("ECHELON_PROGRESS_SECONDS", value)
    with pytest.raises(ValueError, match="ECHELON_PROGRESS_SECONDS="):
        Progress(Lines(), "x", 1)


def test_a_piped_benchmark_prints_progress_lines(tmp_path):
    """stdout a pipe (CI, nohup): the benchmark's units appear as plain lines as they finish."""
    env = os.environ | {"ECHELON_PROGRESS_SECONDS": "0", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", "echelon", *BENCH, "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    counts = re.findall(r"^.+: (\d+)/(\d+) \(\d+%\), \d+", done.stdout, flags=re.M)
    assert counts, done.stdout
    total = int(counts[-1][1])
    assert [int(k) for k, _ in counts] == list(range(1, total + 1))


def test_a_bad_interval_stops_the_command_before_it_writes(tmp_path):
    env = os.environ | {"ECHELON_PROGRESS_SECONDS": "soon", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", "echelon", *BENCH, "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "echelon: error: ECHELON_PROGRESS_SECONDS='soon': expected seconds between progress lines, e.g. 30"]
    assert list(tmp_path.iterdir()) == []
