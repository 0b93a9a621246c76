"""A planner's demand history (envs.history): reading, periods from dates, gaps, the moment fit,
replay in the simulator, and the generated sample file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from echelon.envs.errors import ConfigError
from echelon.envs.history import fit, read_history, sample_history
from echelon.envs.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent

WEEKLY = """date,site,product,quantity,note
2025-01-06,store_a,sku_1,4,first week
2025-01-13,store_a,sku_1,7,
2025-01-27,store_a,sku_1,3,(the week of 2025-01-20 sold nothing and is not listed)
2025-01-06,store_b,sku_1,10,
2025-01-13,store_b,sku_1,0,
2025-01-20,store_b,sku_1,12,
2025-01-27,store_b,sku_1,8,
"""


def test_weekly_dates_become_periods_and_missing_weeks_sold_nothing(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(WEEKLY)
    history = read_history(path)
    assert history.period_days == 7
    np.testing.assert_array_equal(history.series[("store_a", "sku_1")], [4, 7, 0, 3])
    np.testing.assert_array_equal(history.series[("store_b", "sku_1")], [10, 0, 12, 8])
    np.testing.assert_array_equal(history.get("store_b", None, "here"), [10, 0, 12, 8])


def test_numbered_periods_start_at_the_first_one(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("site,period,quantity\nshop,3,5\nshop,4,6\nshop,6,1\n")
    history = read_history(path)
    assert history.period_days is None
    np.testing.assert_array_equal(history.series[("shop", "")], [5, 6, 0, 1])


def test_the_moment_fit():
    """[2, 4, 6]: mean 4, sample variance 4, ratio 1: Poisson(4). [0, 10, 2]: mean 4, variance
    (16 + 36 + 4) / 2 = 28, ratio 7: Normal(4, sqrt 28)."""
    poisson = fit(np.array([2.0, 4.0, 6.0]), "here")
    assert (poisson.kind, poisson.mean, poisson.dispersion) == ("poisson", 4.0, 1.0)
    normal = fit(np.array([0.0, 10.0, 2.0]), "here")
    assert normal.kind == "normal" and normal.mean == 4.0 and normal.std == pytest.approx(math.sqrt(28))
    with pytest.raises(ConfigError, match="no demand"):
        fit(np.zeros(5), "here")
    with pytest.raises(ConfigError, match="at least 2 periods"):
        fit(np.array([3.0]), "here")


def test_a_replayed_history_is_the_demand_the_simulator_draws(tmp_path):
    from echelon.envs.simulator import Simulator

    (tmp_path / "sales.csv").write_text(WEEKLY)
    spec = {"periods": 4, "sites": [
        {"name": "store_a", "lead_time": 1, "holding_cost": 1, "backlog_cost": 5},
        {"name": "store_b", "lead_time": 1, "holding_cost": 1, "backlog_cost": 5}],
        "demand": {"store_a": {"kind": "history", "path": str(tmp_path / "sales.csv")},
                   "store_b": {"kind": "history", "path": str(tmp_path / "sales.csv"), "use": "fit"}}}
    scen = load_scenario(spec)
    assert scen.demand["store_b"].mean == 7.5  # (10 + 0 + 12 + 8) / 4, fitted: variance 30.33 / 7.5 > 1.2
    assert type(scen.demand["store_b"]).__name__ == "Normal"
    as_law = load_scenario({**spec, "demand": {**spec["demand"], "store_b": {
        "kind": "history", "path": str(tmp_path / "sales.csv"), "use": "empirical"}}})
    pmf = as_law.demand["store_b"].pmf()  # its four weeks 10, 0, 12, 8: a quarter each
    assert len(pmf) == 13 and pmf[[0, 8, 10, 12]].tolist() == [0.25] * 4 and pmf.sum() == 1.0
    sim = Simulator(scen, batch=2)
    sim.reset(np.random.default_rng(0))
    np.testing.assert_array_equal(sim.episode.demand[:, 0, 0], [4, 7, 0, 3])
    np.testing.assert_array_equal(sim.episode.demand[:, 1, 0], [4, 7, 0, 3])


def test_the_sample_file_is_the_generator_s_output():
    """configs/data/sample_history.csv is written by `echelon history --sample`, seed 0."""
    assert (ROOT / "echelon" / "configs" / "data" / "sample_history.csv").read_text() == sample_history()
    history = read_history(ROOT / "echelon" / "configs" / "data" / "sample_history.csv")
    assert len(history.series) == 8 and history.period_days == 7
    assert all(len(v) == 104 for v in history.series.values())


def test_the_example_scenario_reads_its_history():
    scen = load_scenario(ROOT / "echelon" / "configs" / "data" / "stores_from_history.yaml")
    assert {type(m).__name__ for m in scen.demand.values()} == {"Replay", "Normal", "Poisson"}


def test_the_period_is_the_most_common_gap_not_the_smallest(tmp_path):
    """Weekly sales with a week missing and a run of two-week gaps: still weekly (the most common gap),
    the missing weeks sold nothing; a tie between gaps takes the shorter period."""
    path = tmp_path / "h.csv"
    path.write_text("date,site,quantity\n2025-01-06,a,12\n2025-01-13,a,10\n2025-01-27,a,14\n2025-02-03,a,12\n"
                    "2025-02-10,a,12\n")
    history = read_history(path)
    assert history.period_days == 7
    assert history.series[("a", "")].tolist() == [12, 10, 0, 14, 12, 12]
    path.write_text("date,site,quantity\n2025-01-01,a,1\n2025-01-15,a,2\n2025-01-22,a,3\n")  # gaps 14 and 7
    assert read_history(path).period_days == 7
