"""``echelon study centralization``: the map, its winners, and its config errors."""

from __future__ import annotations

import csv
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
    assert "demand CV 0.38, central data 2 periods old: " in report
    assert "## The search's evidence" in report and "| NO |" not in report
    cv = {r["lift"]: r["measured_demand_cv"] for r in rows}
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
    from echelon.evaluation.study import Cell
    from echelon.evaluation.study_report import sentence

    def metrics(costs) -> Metrics:
        costs = np.asarray(costs, dtype=float)
        return Metrics(Estimate.of(costs), {}, {}, float("nan"), {}, {}, {}, {}, [1.0], costs)

    base = np.array([100.0, 98.0, 103.0, 99.0, 100.0])

    def cell(other) -> Cell:
        return Cell("chain", {"delay": 1, "notice": 0, "lift": 0.0},
                    {"centralized": metrics(base), "decentralized": metrics(other), "naive": metrics(base + 30)})

    tiny = cell(base - 0.1)
    assert tiny.winner is None and tiny.leaders == ("decentralized", "centralized")
    assert tiny.label == "central = local" and tiny.category == "tie"
    assert "a tie between decentralized and centralized" in sentence(tiny)
    clear = cell(base * 0.95)
    assert clear.winner == "decentralized" and clear.ranking[1] == "centralized"
    assert "decentralized wins, 5.0% ± 0.1% below the runner-up, centralized" in sentence(clear)
    noisy = cell(base + np.array([-15.0, 5.0, -15.0, 5.0, -5.0]))
    assert noisy.winner is None and "naive" not in noisy.leaders


def _metrics(costs) -> Metrics:
    costs = np.asarray(costs, dtype=float)
    return Metrics(Estimate.of(costs), {}, {}, float("nan"), {}, {}, {}, {}, [1.0], costs)


def test_the_recommendation_names_the_delay_where_the_answer_changes():
    """Hand-made cells of one network at delays 0, 1, 3: centralized control ties at 0 and is surely worse
    beyond; the advice is to centralize while the data are at most 0 periods old, else to let the sites
    decide, with each saving against centralized control: 10% and 20% (centralized costs base / 0.9 and
    base / 0.8 on every episode; the intervals come from the spread of the base costs 100, 98, 103, 99, 100:
    1.96 x 1.871 x (1/0.9 - 1) / sqrt(5) / 111.1 = 0.16%, and 0.33% at 3 periods)."""
    from echelon.evaluation.study import Cell
    from echelon.evaluation.study_config import load_study
    from echelon.evaluation.study_report import recommendation

    config = load_study("centralization", ["two_stage"])
    base = np.array([100.0, 98.0, 103.0, 99.0, 100.0])
    point = {"skill": 1.0, "demand_cv": None, "notice": 0, "lift": 0.0, "record_error": 0.0, "review_period": 1}
    cells = []
    for delay, central in ((0, base), (1, base / 0.9), (3, base / 0.8)):
        metrics = {"centralized": _metrics(central), "hybrid": _metrics(base), "decentralized": _metrics(base),
                   "decentralized selfish": _metrics(base * 1.1), "naive": _metrics(base * 1.3)}
        cells.append(Cell("two_stage", {"delay": delay, **point}, metrics, {"hybrid": "hybrid band=inf"}))
    (line,) = recommendation(config, cells)
    assert "centralize if your planning data are at most 0 periods old" in line
    assert "let the sites (decentralized, levels set for the team) decide" in line
    assert "10.0% ± 0.2% with data 1 period old; 20.0% ± 0.3% with data 3 periods old" in line


def test_quick_mode_keeps_the_maps_corners():
    from echelon.evaluation.study_config import load_study, study_cell_count

    config = load_study("centralization")
    quick = config.quick()
    assert quick.axes["delay"] == (0, 3) and quick.axes["skill"] == (1.0, 0.4) and quick.axes["demand_cv"] == (None,)
    assert quick.episodes <= 100 and quick.periods <= 60
    assert study_cell_count(quick) == 3 * 4


@pytest.mark.slow
def test_a_planners_own_network(tmp_path, capsys):
    """``--scenario`` maps a user's YAML (here a DC, two stores and a production line short of capacity) with
    its own demand, and ends with a recommendation in plain words."""
    net = {"name": "mine", "periods": 40,
           "sites": [{"name": "shop-a", "supplier": "dc", "lead_time": 1, "holding_cost": 2, "backlog_cost": 12},
                     {"name": "shop-b", "supplier": "dc", "lead_time": 1, "holding_cost": 2, "backlog_cost": 12},
                     {"name": "dc", "lead_time": 2, "holding_cost": 1}],
           "demand": {"shop-a": {"kind": "poisson", "mean": 4}, "shop-b": {"kind": "poisson", "mean": 2}},
           "capacities": [{"name": "line", "sites": ["dc"], "limit": 8}]}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(net))
    out = tmp_path / "map"
    assert main(["study", "--scenario", str(path), "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Recommendation:" in printed and "mine, sites" in printed
    rows = json.loads((out / "results.json").read_text())
    assert {r["scenario"] for r in rows} == {"mine"} and {r["demand_cv"] for r in rows} == {None}
    assert "## Recommendation" in (out / "report.md").read_text()


@pytest.mark.slow
def test_the_quick_map_over_the_three_factors(tmp_path, capsys):
    """``echelon study centralization --quick``: the corners of the map over network complexity x planning
    maturity, every network. With fresh data and exact sites centralized control is among the best; with
    data 3 periods old and exact sites it is surely beaten; somewhere (stale data, sites of low skill) the
    hybrid is the sole winner; every tuned figure agrees with its second method."""
    out = tmp_path / "quick"
    assert main(["study", "centralization", "--quick", "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert {r["scenario"] for r in rows} == {"textbook_serial", "distribution", "three_echelon"}
    def central(scenario: str, delay: int, skill: float) -> dict:
        return next(r for r in rows if (r["scenario"], r["delay"], r["skill"], r["structure"])
                    == (scenario, delay, skill, "centralized"))

    for scenario in ("textbook_serial", "distribution", "three_echelon"):
        fresh, stale = central(scenario, 0, 1.0), central(scenario, 3, 1.0)
        assert fresh["winner"] or fresh["tied"], scenario
        assert not (stale["winner"] or stale["tied"]), scenario
    assert any(r["winner"] and r["structure"] == "hybrid" for r in rows)
    report = (out / "report.md").read_text()
    assert "| NO |" not in report and "## Recommendation" in report
    assert "centralize if your planning data are at most 0 periods old" in capsys.readouterr().out
    # buying power: measured on three_echelon (the plant's two products buy from outside), not elsewhere
    assert "**distribution**: \"buying power\": only dc buys from outside" in report
    with (out / "buying_power.csv").open() as f:
        buying = {r["policy"]: r for r in csv.DictReader(f) if r["scenario"] == "three_echelon"}
    separate, consolidated = buying["decentralized, separate orders"], buying["centralized, consolidated"]
    assert float(consolidated["cost"]) < float(separate["cost"])  # cheaper with one purchase order
    assert float(consolidated["purchase_orders"]) <= 1 < float(separate["purchase_orders"])
