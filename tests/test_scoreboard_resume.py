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
     "x/rows/z0-seed0.json: not a scoreboard row"),
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
