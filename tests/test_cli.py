"""The echelon command line: help, the commands, and one-line errors with exit status 2."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from echelon.cli import main


def run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_commands_with_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for command in ("scenarios", "show", "speed", "examples:"):
        assert command in out


def test_scenarios_and_show(capsys):
    code, out, _ = run(["scenarios"], capsys)
    assert code == 0 and "beer_game" in out and "textbook_serial" in out
    from echelon.envs.scenario import available_scenarios

    assert len(out.splitlines()) == len(available_scenarios()) + 2  # one line each, a header, a pointer to show
    assert "Sterman (1989)" not in out and "echelon show NAME" in out
    code, out, _ = run(["show", "distribution"], capsys)
    assert code == 0 and "north" in out and "(outside)" in out


def test_speed_prints_figures(capsys):
    code, out, _ = run(["speed", "--batches", "1,8", "--seconds", "0.05"], capsys)
    assert code == 0 and "ParallelEnv beer_game" in out and "make_vec_env beer_game" in out and "site-steps/s" in out
    assert "plain dict env" in out and "CPU-s" in out and "load average" in out and "ParallelEnv / plain" in out


def test_speed_compares_two_checkouts_side_by_side(capsys):
    """This checkout against itself: both sides measured in their own worker process, interleaved; the
    ratio is near 1 (a loose bound: the windows are short)."""
    from pathlib import Path

    import echelon

    root = Path(echelon.__file__).resolve().parents[1]
    code, out, _ = run(["speed", "--compare", str(root), "--batches", "64", "--seconds", "0.5"], capsys)
    assert code == 0 and "ParallelEnv beer_game" in out and "core beer_game" in out and "this / REF" in out
    rows = [line.split("│") for line in out.splitlines() if "beer_game" in line and line.count("│") == 8]
    ratios = [float(cells[5].strip().rstrip("x")) for cells in rows]
    assert len(ratios) == 2 and all(0.3 < r < 3 for r in ratios)


def test_bad_scenario_file_one_line_error(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"periods": 5, "sites": [{"name": "a", "lead_time": 0, "holding_cost": 1}],
                                    "demand": {"a": {"kind": "poisson", "mean": 1}}}))
    code, out, err = run(["show", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "site 'a'" in err and "lead_time" in err and str(path) in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["show", "nope"], "unknown scenario 'nope'"),
     (["speed", "--seconds", "-1"], "must be > 0"),
     (["speed", "--batches", "0"], "batch sizes"),
     (["speed", "--scenario", "nope"], "unknown scenario"),
     (["benchmark", "heuristics", "--episodes", "1"], "--episodes: must be >= 2"),  # no "± nan"
     (["evaluate", "runs/x", "--episodes", "1"], "--episodes: must be >= 2"),
     (["optimal", "textbook_serial", "--episodes", "1"], "--episodes: must be >= 2"),
     (["fly"], "invalid choice")],
)
def test_bad_arguments_exit_2_one_line(args, needle, capsys):
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1, err


def test_console_script_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "echelon", "show", "missing.yaml"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "missing.yaml" in proc.stderr


def test_optimal_json_exact(capsys):
    import json

    code, out, _ = run(["optimal", "textbook_serial", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"method", "echelon_levels", "local_levels", "expected_cost"}
    assert data["method"] == "clark_scarf"
    assert list(data["echelon_levels"]) == ["retailer", "wholesaler", "factory"]
    assert data["echelon_levels"]["factory"] == pytest.approx(22.70, abs=0.05)
    assert data["expected_cost"] == pytest.approx(47.67, abs=0.05)


def test_optimal_simulation_and_compare(capsys):
    code, out, _ = run(["optimal", "lost_sales", "--episodes", "20", "--compare"], capsys)
    assert code == 0
    assert "simulation-optimised" in out and "sterman" in out and "pass_through" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["optimal", "distribution", "--method", "exact"], "distribution tree"),
     (["optimal", "nope"], "unknown scenario"),
     (["optimal", "beer_game", "--episodes", "0"], "--episodes")],
)
def test_optimal_errors(capsys, args, needle):
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse usage errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_packages_docstring_example_runs():
    """The examples at the top of ``echelon/__init__.py`` run as written (doctest)."""
    import doctest

    import echelon

    result = doctest.testmod(echelon, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 6 and result.failed == 0


def test_benchmark_table_names_whole_and_the_optimum_gap_explained(tmp_path, capsys):
    """Scenario and policy names are printed whole (not cut to 'textbook_ser…'), and the gap to the exact
    optimum says what it is: the optimal levels' simulated cost sits within its CI of C*, marked ≈."""
    from echelon.agents.optimal import known_optimum
    from echelon.envs import load_scenario

    out = tmp_path / "b"
    assert main(["benchmark", "heuristics", "--episodes", "40", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for name in ("textbook_serial", "Sterman player", "moving average", "lost_sales"):
        assert re.search(rf"│ {name} +│", text) or re.search(rf"│ +│ {name} +│", text), name
    assert "…" not in text
    best = next(line for line in text.splitlines() if "textbook_serial" in line and "best echelon" in line)
    assert "≈ " in best
    exact = known_optimum(load_scenario("textbook_serial"))[0]
    caption = " ".join(text.split())
    assert f"exact long-run optimal cost C* (textbook_serial {exact:.2f}" in caption
    random_row = next(line for line in text.splitlines() if "random" in line and "%" in line)
    assert "≈" not in random_row
