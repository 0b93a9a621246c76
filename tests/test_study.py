"""``echelon study centralization``: the map, its winners, and its config errors."""

from __future__ import annotations

import json

import pytest
import yaml

from echelon.cli import main

SMALL = {
    "name": "small", "scenarios": ["distribution"], "axes": {"delay": [0, 2], "notice": [0, 3], "lift": [0, 1]},
    "advance_demand": {"rate": 0.2, "lift": 1.0}, "episodes": 200, "search_episodes": 80, "periods": 60,
    "warmup": 10, "seed": 0,
}


def write(tmp_path, config) -> str:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.slow
def test_the_map_says_it_depends(tmp_path, capsys):
    """With no delay and no local knowledge centralized control is best (hybrid no better); with the
    planner's data two periods old, a structure that executes locally wins with a paired 95% interval
    that excludes zero."""
    out = tmp_path / "map"
    assert main(["study", write(tmp_path, SMALL), "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())
    winners = {(r["lift"], r["delay"], r["notice"]): r["structure"] for r in rows if r["winner"]}
    assert winners[(0, 0, 0)] == "centralized"
    assert (0, 0, 3) not in winners  # with no extra demand there is nothing to know ahead
    hybrid = next(r for r in rows if (r["lift"], r["delay"], r["notice"], r["structure"]) == (0, 0, 0, "hybrid"))
    assert hybrid["versus_centralized"] + hybrid["versus_centralized_ci95"] >= 0  # hybrid no better
    late = next(r for r in rows if (r["lift"], r["delay"], r["notice"]) == (0, 2, 0) and r["winner"])
    assert late["structure"] != "centralized"
    assert late["versus_centralized"] + late["versus_centralized_ci95"] < 0
    report = (out / "report.md").read_text()
    assert "no extra demand (demand CV 0.38), with 2 periods of central data delay and no local advance " \
           "knowledge: " in report
    cv = {r["lift"]: r["demand_cv"] for r in rows}
    # Poisson store demand with means 6, 8, 5, 10: CV 1/sqrt(mean), on average 0.381
    assert cv[0] == pytest.approx(0.381, abs=0.01)
    assert cv[1] > cv[0] + 0.1  # extra demand makes demand more variable
    assert (out / "map.png").read_bytes()[:4] == b"\x89PNG"
    assert "beats centralized by" in capsys.readouterr().out


@pytest.mark.parametrize(("change", "needle"), [
    ({"axes": {"delay": [0, -1]}}, "axes.delay.1: must be >= 0"),
    ({"axes": {"speed": [1]}}, "unknown key 'axes.speed'"),
    ({"axes": {"lift": [-1]}}, "axes.lift.0: must be >= 0"),
    ({"learned": ["no_such_run"]}, "no_such_run: not a training run folder"),
    ({"advance_demand": {"rate": 1.5}}, "advance_demand.rate: must be at most 1"),
    ({"hybrid_max_adjust": -1}, "hybrid_max_adjust: must be >= 0"),
    ({"episodes": 1}, "episodes: must be >= 2"),
    ({"warmup": 60}, "'warmup' 60 leaves too few"),
    ({"scenarios": ["nowhere"]}, "scenarios[0]: unknown scenario 'nowhere'"),
    ({"colour": "red"}, "unknown key 'colour'"),
])
def test_bad_study_configs_fail_in_one_line_and_write_nothing(change, needle, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["study", write(tmp_path, {**SMALL, **change}), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and needle in err
    assert not out.exists()


def test_study_refuses_an_existing_folder_and_bad_arguments(tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    assert main(["study", write(tmp_path, SMALL), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["study", "nowhere_study"]) == 2
    assert "unknown study 'nowhere_study'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["study", "centralization", "--episodes", "1"])
    assert exit_info.value.code == 2


def test_a_tiny_sure_saving_is_a_tie_and_goes_to_centralized():
    """A saving of 0.1% with a very narrow interval is real but not worth reorganising for: the cell
    reports centralized, naming the tied structure; a 5% saving wins."""
    from echelon.evaluation.metrics import Estimate
    from echelon.evaluation.study import Cell, sentence

    def cell(saving: float) -> Cell:
        cost = {"centralized": Estimate(100.0, 0.5), "decentralized": Estimate(100.0 - saving, 0.5)}
        versus = {"centralized": Estimate(0.0, 0.0), "decentralized": Estimate(-saving, 0.01)}
        return Cell("chain", 0, 1, 2.0, cost, versus)

    assert cell(0.1).winner == "centralized"
    assert "centralized control is best" in sentence(cell(0.1)) and "decentralized" in sentence(cell(0.1))
    assert cell(5.0).winner == "decentralized"
    assert "decentralized beats centralized by 5.0% ± 0.0%" in sentence(cell(5.0))
