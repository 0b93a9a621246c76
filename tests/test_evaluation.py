"""Evaluation: metrics on hand-worked traces, the bullwhip theory, benchmark configs and output."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from echelon.agents.registry import make_policy
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.evaluation.benchmark import load_benchmark, run_benchmark
from echelon.evaluation.metrics import compute_metrics, echelon_levels
from echelon.evaluation.output import write_benchmark
from echelon.evaluation.rollout import Trajectory, rollout

ONE_SITE = {"name": "one", "periods": 4, "demand": {"shop": {"kind": "poisson", "mean": 4}},
            "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 2}]}


def trace(**columns):
    """A 4-period, 2-episode (identical), 1-site trajectory from per-period lists."""
    zeros = [0.0] * 4
    fields = {name: np.tile(np.array(columns.get(name, zeros), dtype=float)[:, None, None], (1, 2, 1))
              for name in Trajectory.__dataclass_fields__}
    return Trajectory(**fields)


def test_metrics_by_hand():
    """Demand 4, 6, 2, 5; sales 4, 3, 5, 5; customer backlog after each period 0, 3, 0, 0.

    Served on arrival: 4, 3 (of 6), 5 - 3 = 2 (the backlog goes first), 5 -> fill rate 14/17.
    Periods without a stockout: 3 of 4. Orders 4, 8, 0, 5 against demand 4, 6, 2, 5:
    sum of squared deviations 32.75 and 8.75 -> bullwhip 32.75 / 8.75 = 3.742857.
    Cost 1, 2, 3, 6 -> 3.0 per period.
    """
    t = trace(demand=[4, 6, 2, 5], sales=[4, 3, 5, 5], customer_backlog=[0, 3, 0, 0], backlog=[0, 3, 0, 0],
              orders=[4, 8, 0, 5], cost=[1, 2, 3, 6], on_hand=[2, 0, 1, 3], in_transit=[4, 8, 0, 5])
    m = compute_metrics(t, load_scenario(ONE_SITE))
    assert m.fill_rate["shop"] == pytest.approx(14 / 17)
    assert m.fill_rate_total == pytest.approx(14 / 17)
    assert m.cycle_service["shop"] == pytest.approx(0.75)
    assert m.bullwhip["shop"] == pytest.approx(32.75 / 8.75)
    assert m.echelon_bullwhip == [pytest.approx(32.75 / 8.75)]
    assert m.cost.mean == pytest.approx(3.0) and m.cost.half_width == pytest.approx(0.0)
    assert m.on_hand["shop"] == pytest.approx(1.5) and m.backlog["shop"] == pytest.approx(0.75)
    assert m.in_transit["shop"] == pytest.approx(17 / 4)  # (4 + 8 + 0 + 5) / 4
    # from period 2 on: demand 2, 5 all served on arrival
    late = compute_metrics(t, load_scenario(ONE_SITE), warmup=2)
    assert late.fill_rate["shop"] == pytest.approx(1.0) and late.cost.mean == pytest.approx(4.5)


def test_echelon_levels():
    assert echelon_levels(load_scenario("beer_game")) == [1, 2, 3, 4]
    assert echelon_levels(load_scenario("distribution")) == [1, 1, 1, 1, 2]


def bullwhip(spec, scenario="textbook_serial", episodes=400):
    scen = load_scenario(scenario).with_periods(200)
    return compute_metrics(rollout(make_policy(spec, scen), scen, episodes, seed=4), scen, warmup=20).echelon_bullwhip


def test_pass_through_does_not_amplify():
    np.testing.assert_allclose(bullwhip("pass_through"), 1.0, atol=0.02)


def test_moving_average_forecast_bullwhip_matches_chen_et_al_2000():
    """Order-up-to on a p-period moving average, lead times (covers) 1, 1, 2, p = 4, z = 0.

    Chen, Drezner, Ryan & Simchi-Levi (2000): stage 1 has Var(q)/Var(D) = 1 + 2L/p + 2L^2/p^2 = 1.625;
    upstream, sites forecasting the orders they receive amplify at least multiplicatively,
    prod_i (1 + 2L_i/p + 2L_i^2/p^2) = 1.625, 2.64, 6.60, while sites that share the customer demand
    follow 1 + 2 sum L/p + 2 (sum L)^2/p^2 = 1.625, 2.5, 5.0.
    """
    own = bullwhip({"policy": "forecast_base_stock", "z": 0})
    shared = bullwhip({"policy": "forecast_base_stock", "z": 0, "signal": "customer"})
    assert own[0] == pytest.approx(1.625, rel=0.03)
    assert own[1] >= 2.64 and own[2] >= 6.60 and own[0] < own[1] < own[2]
    np.testing.assert_allclose(shared, [1.625, 2.5, 5.0], rtol=0.05)


BENCH = {
    "name": "tiny",
    "scenarios": ["textbook_serial", "lost_sales"],
    "episodes": 20,
    "seed": 3,
    "periods": 30,
    "policies": [{"label": "base", "policy": "base_stock", "levels": 15}, "pass_through", "random"],
}


def write_config(tmp_path, data, name="bench.yaml"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_benchmark_is_reproducible_and_self_paired_difference_is_zero(tmp_path):
    config = load_benchmark(write_config(tmp_path, BENCH))
    first, second = run_benchmark(config), run_benchmark(config)
    for a, b in zip(first.rows, second.rows, strict=True):
        np.testing.assert_array_equal(a.metrics.episode_cost, b.metrics.episode_cost)
    for row in first.rows:
        if row.label == "base":
            assert row.vs_baseline.mean == 0.0 and row.vs_baseline.half_width == 0.0
    # the written tables are identical byte for byte
    write_benchmark(first, tmp_path / "one")
    write_benchmark(second, tmp_path / "two")
    for name in ("results.csv", "results.json", "report.md"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


@pytest.mark.slow
def test_benchmark_output_folder(tmp_path):
    config = load_benchmark(write_config(tmp_path, BENCH))
    result = run_benchmark(config)
    files = write_benchmark(result, tmp_path / "out")
    names = {f.name for f in files}
    assert {"results.csv", "results.json", "report.md", "cost.png", "bullwhip.png"} <= names
    assert all(f.stat().st_size > 0 for f in files)
    assert (tmp_path / "out" / "cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {r["label"] for r in doc["results"]} == {"base", "pass_through", "random"}
    assert "## textbook_serial" in (tmp_path / "out" / "report.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.yaml", "out"]  # no temporary left behind
    with pytest.raises(FileExistsError, match="already exists"):
        write_benchmark(result, tmp_path / "out")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"scenarios": ["nope"]}, "scenarios[0]: unknown scenario 'nope'"),
        ({"policies": ["nope"]}, "policies[0] on 'textbook_serial': unknown policy 'nope'"),
        ({"policies": [{"policy": "base_stock", "level": 3}]}, "no parameter 'level'"),
        ({"episodes": 0}, "episodes: must be >= 2"),
        ({"episodes": 1}, "episodes: must be >= 2"),  # a CI needs two
        ({"episodes": "many"}, "episodes: must be a whole number"),
        ({"horizon": 5}, "unknown key 'horizon'"),
        ({"baseline": "best"}, "baseline 'best' is not a policy label"),
        ({"policies": ["random", "random"]}, "duplicate label 'random'"),
        ({"policies": []}, "policies: must have at least 1 item"),
        ({"warmup": 40}, "warmup 40 leaves too few"),
    ],
)
def test_bad_benchmark_configs(tmp_path, change, needle):
    data = {**BENCH, **change}
    with pytest.raises(ConfigError) as err:
        load_benchmark(write_config(tmp_path, data))
    assert needle in str(err.value) and str(tmp_path) in str(err.value)


def test_missing_and_malformed_benchmark_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_benchmark(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="unknown benchmark 'absent'"):
        load_benchmark("absent")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_benchmark(write_config(tmp_path, "policies: [a, b\n"))


def test_benchmark_cli_errors_and_never_overwrites(tmp_path, capsys):
    from echelon.cli import main

    path = write_config(tmp_path, {**BENCH, "scenarios": ["lost_sales"], "episodes": 3})
    assert main(["benchmark", str(path), "--out", str(tmp_path / "run")]) == 0
    before = (tmp_path / "run" / "results.csv").read_bytes()
    capsys.readouterr()
    assert main(["benchmark", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and err.count("\n") == 1
    assert (tmp_path / "run" / "results.csv").read_bytes() == before
    assert main(["benchmark", str(tmp_path / "nope.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_default_run_folders_never_collide(tmp_path):
    from echelon.envs.files import fresh_dir

    first = fresh_dir(tmp_path, "heuristics")
    first.mkdir()
    second = fresh_dir(tmp_path, "heuristics")
    assert first.name == "heuristics" and second.name == "heuristics-2"


def test_stock_in_transit_follows_littles_law():
    """Snyder & Shen's chain under base-stock: at a period's end each lane holds its mean demand x (L - 1)
    units in transit (Little's law; an order placed at a period's end with lead time L is on hand L periods
    later, so it spends L - 1 period ends on the way): 0, 0 and 5 x (2 - 1) = 5 at the factory's lane."""
    from echelon.agents.heuristics import EchelonBaseStock
    from echelon.evaluation.metrics import measure

    scen = load_scenario("textbook_serial")
    m, _ = measure(EchelonBaseStock(scen, levels=[6.49, 12.02, 22.71]), scen, 200, 0, warmup=20)
    assert m.in_transit["retailer"] == 0 and m.in_transit["wholesaler"] == 0
    assert m.in_transit["factory"] == pytest.approx(5.0, abs=0.05)
