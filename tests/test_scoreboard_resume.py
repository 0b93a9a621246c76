"""A stopped scoreboard resumes: the seed runs it finished are kept, the others run, and the results are
those of the run that was never stopped."""

from __future__ import annotations

import builtins
import json

import pytest

from echelon.cli import main

TINY = """name: tiny
seeds: [0, 1]
zipkin: {lead_times: [1], penalties: [4], iterations: 1, paths: 64, horizon: 10, scenarios: []}
trained:
  - {name: textbook ES, config: es_textbook, timesteps: 3000, test_episodes: 20}
"""


def _rows(folder):
    rows = json.loads((folder / "results.json").read_text())["rows"]
    return [{k: v for k, v in r.items() if k != "cpu_minutes"} for r in rows]


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    pytest.importorskip("rliable")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY)
    return tmp_path


def _stop_after(monkeypatch, marker):
    """print() raises KeyboardInterrupt (as Ctrl-C would) once a line containing ``marker`` is printed."""
    real = builtins.print

    def printing(*args, **kwargs):
        real(*args, **kwargs)
        if args and marker in str(args[0]):
            raise KeyboardInterrupt

    monkeypatch.setattr(builtins, "print", printing)


@pytest.mark.parametrize("marker", ["zipkin L=1 p=4 seed 0:", "textbook ES seed 0:"])
def test_a_stopped_scoreboard_resumes_to_the_same_results(tiny, monkeypatch, marker, capsys):
    import echelon.experiments.scoreboard as sb

    assert main(["scoreboard", "tiny.yaml", "--out", "whole"]) == 0
    with monkeypatch.context() as m:
        _stop_after(m, marker)
        assert main(["scoreboard", "tiny.yaml", "--out", "stopped"]) == 130
    assert not (tiny / "stopped" / "report.md").exists()
    finished = sorted(p.name for p in (tiny / "stopped" / "rows").iterdir())
    assert finished == (["z0-seed0.json"] if marker.startswith("zipkin") else
                        ["t0-seed0.json", "z0-seed0.json", "z0-seed1.json"])
    # the rerun of the same command says how to finish it instead of starting over
    capsys.readouterr()
    assert main(["scoreboard", "tiny.yaml", "--out", "stopped"]) == 2
    assert "echelon scoreboard --resume stopped" in capsys.readouterr().err
    trained: list[int] = []
    real_dcl = sb.train
    monkeypatch.setattr(sb, "train", lambda model, config: trained.append(config.seed) or real_dcl(model, config))
    assert main(["scoreboard", "--resume", "stopped"]) == 0
    assert "resuming stopped: " in capsys.readouterr().out
    assert trained == ([1] if marker.startswith("zipkin") else [])  # finished seed runs are not run again
    assert _rows(tiny / "stopped") == _rows(tiny / "whole")
    whole = json.loads((tiny / "whole" / "results.json").read_text())
    assert json.loads((tiny / "stopped" / "results.json").read_text())["iqm"] == whole["iqm"]


ROW = {"instance": "zipkin L=1 p=4", "seed": 0, "method": "rollout", "cost": 5.0, "reference": "DP",
       "reference_cost": 4.9, "gap": 0.02, "base_stock_cost": 5.2, "best_heuristic": "myopic",
       "best_heuristic_cost": 5.1, "budget": "2 iterations", "cpu_minutes": 0.1, "exact": True, "vs_base_stock": -0.2,
       "vs_base_stock_ci95": 0.0}
"""A finished seed run's row as the scoreboard writes it."""


def _board_with_row(folder, text):
    """A stopped scoreboard folder ``x`` whose one finished row holds ``text``."""
    (folder / "x" / "rows").mkdir(parents=True)
    (folder / "x" / "scoreboard.json").write_text('{"quick": false, "board": {"seeds": [0], "zipkin": null}}')
    (folder / "x" / "rows" / "z0-seed0.json").write_text(text)


@pytest.mark.parametrize("make, argv, fragment", [
    (lambda d: None, ["--resume", "nowhere"], "nowhere: no such scoreboard folder"),
    (lambda d: (d / "x").mkdir(), ["--resume", "x"], "x: not a scoreboard folder (scoreboard.json is missing)"),
    (lambda d: ((d / "x").mkdir(), (d / "x" / "scoreboard.json").write_text("{")), ["--resume", "x"],
     "x/scoreboard.json: not JSON"),
    (lambda d: ((d / "x").mkdir(), (d / "x" / "scoreboard.json").write_text('{"quick": 1, "board": {}}')),
     ["--resume", "x"], "expected keys 'quick' (true/false) and 'board'"),
    (lambda d: ((d / "x").mkdir(), (d / "x" / "report.md").write_text("done")), ["--resume", "x"],
     "x: this scoreboard finished (report.md is there); nothing to resume"),
    (lambda d: ((d / "x").mkdir(), (d / "x" / "scoreboard.json").write_text(
        '{"quick": false, "board": {"seeds": [0], "zipkin": null}}'), (d / "x" / "rows").mkdir(),
        (d / "x" / "rows" / "z0-seed0.json").write_text('{"instance": "a"}')), ["--resume", "x"],
     "x/rows/z0-seed0.json: missing key 'seed'"),
    (lambda d: _board_with_row(d, "{"), ["--resume", "x"], "x/rows/z0-seed0.json: not a scoreboard row (not JSON"),
    (lambda d: _board_with_row(d, json.dumps({**ROW, "cost": "12.5"})), ["--resume", "x"],
     "x/rows/z0-seed0.json: cost: must be a number (got '12.5')"),
    (lambda d: _board_with_row(d, json.dumps({**ROW, "seed": True})), ["--resume", "x"],
     "x/rows/z0-seed0.json: seed: true/false is not a number"),
    (lambda d: _board_with_row(d, json.dumps({**ROW, "exact": "yes"})), ["--resume", "x"],
     "x/rows/z0-seed0.json: exact: must be true or false"),
    (lambda d: _board_with_row(d, json.dumps({**ROW, "note": 1})), ["--resume", "x"],
     "x/rows/z0-seed0.json: unknown key 'note'"),
    (lambda d: ((d / "x").mkdir(), (d / "x" / "scoreboard.json").write_text(
        '{"quick": false, "board": {"seeds": [0], "zipkin": null, '
        '"trained": [{"name": "t", "config": "es_textbook", "timesteps": 100}]}}'),
        (d / "elsewhere").mkdir(), (d / "elsewhere" / "t-seed0").mkdir(), (d / "x" / "runs").symlink_to(
        d / "elsewhere")), ["--resume", "x"], "x/runs: a link; a scoreboard writes only inside its own folder"),
    (lambda d: None, ["tiny.yaml", "--resume", "x"], "--resume continues a scoreboard as it was started"),
])
def test_bad_resumes_are_one_line(tiny, make, argv, fragment, capsys):
    make(tiny)
    before = sorted(p.name for p in tiny.rglob("*"))
    assert main(["scoreboard", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
    assert sorted(p.name for p in tiny.rglob("*")) == before
