"""``echelon study centralization``: the map, its winners, and its config errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from echelon.cli import main
from echelon.evaluation.metrics import Estimate, Metrics

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
    """With no delay and no local knowledge centralized control is among the best (the hybrid, which
    contains it, ties); with the planner's data two periods old a structure that executes locally is
    surely cheaper than centralized control; every winner beats every other structure with a paired 95%
    interval that excludes zero, and every tie is shown as one."""
    out = tmp_path / "map"
    assert main(["study", write(tmp_path, SMALL), "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())
    cells: dict[tuple, list[dict]] = {}
    for r in rows:
        cells.setdefault((r["lift"], r["delay"], r["notice"]), []).append(r)
    assert (0, 0, 3) not in cells  # with no extra demand there is nothing to know ahead
    for key, cell in cells.items():
        winners = [r for r in cell if r["winner"]]
        tied = [r for r in cell if r["tied"]]
        assert (len(winners), bool(tied)) in ((1, False), (0, True)), key
        if winners:  # surely cheaper than every other: each other's paired excess excludes zero
            assert all(r["versus_best"] - r["versus_best_ci95"] > 0 for r in cell if not r["winner"]), key
    first = {r["structure"]: r for r in cells[(0, 0, 0)]}
    assert first["centralized"]["tied"] and first["hybrid"]["tied"]
    late = {r["structure"]: r for r in cells[(0, 2, 0)]}
    assert not late["centralized"]["tied"] and not late["centralized"]["winner"]
    assert late["decentralized"]["versus_centralized"] + late["decentralized"]["versus_centralized_ci95"] < 0
    report = (out / "report.md").read_text()
    assert "no extra demand (demand CV 0.38), with 2 periods of central data delay and no local advance " \
           "knowledge: " in report
    assert "## The search's evidence" in report and "| NO |" not in report
    cv = {r["lift"]: r["demand_cv"] for r in rows}
    # Poisson store demand with means 6, 8, 5, 10: CV 1/sqrt(mean), on average 0.381
    assert cv[0] == pytest.approx(0.381, abs=0.01)
    assert cv[1] > cv[0] + 0.1  # extra demand makes demand more variable
    assert (out / "map.png").read_bytes()[:4] == b"\x89PNG"
    assert "a tie between" in capsys.readouterr().out


@pytest.mark.parametrize(("change", "needle"), [
    ({"axes": {"delay": [0, -1]}}, "axes.delay.1: must be >= 0"),
    ({"axes": {"speed": [1]}}, "unknown key 'axes.speed'"),
    ({"axes": {"lift": [-1]}}, "axes.lift.0: must be >= 0"),
    ({"learned": ["no_such_run"]}, "no_such_run: not a training run folder"),
    ({"advance_demand": {"rate": 1.5}}, "advance_demand.rate: must be at most 1"),
    ({"hybrid_max_adjust": 1}, "unknown key 'hybrid_max_adjust'"),
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


def test_a_winner_only_where_the_paired_difference_is_real():
    """Three structures on the same five episodes (hand-made costs per period). A saving of 0.1% with a
    very narrow interval is real but under 0.5%: a tie, naming both; a 5% saving over the runner-up on
    every episode wins; a 5% saving on average whose paired differences swing from -15 to +5 is inside
    the interval: a tie."""
    from echelon.evaluation.study import Cell, sentence

    def metrics(costs) -> Metrics:
        costs = np.asarray(costs, dtype=float)
        return Metrics(Estimate.of(costs), {}, {}, float("nan"), {}, {}, {}, {}, [1.0], costs)

    base = np.array([100.0, 98.0, 103.0, 99.0, 100.0])

    def cell(other) -> Cell:
        return Cell("chain", 1, 0, 0.0, {"centralized": metrics(base), "decentralized": metrics(other),
                                         "naive": metrics(base + 30)})

    tiny = cell(base - 0.1)
    assert tiny.winner is None and tiny.leaders == ("decentralized", "centralized")
    assert tiny.label == "central = local" and tiny.category == "tie"
    assert "a tie between decentralized and centralized" in sentence(tiny)
    clear = cell(base * 0.95)
    assert clear.winner == "decentralized" and clear.ranking[1] == "centralized"
    assert "decentralized wins, 5.0% ± 0.1% below the runner-up, centralized" in sentence(clear)
    noisy = cell(base + np.array([-15.0, 5.0, -15.0, 5.0, -5.0]))
    assert noisy.winner is None and "naive" not in noisy.leaders
