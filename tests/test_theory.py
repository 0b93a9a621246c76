"""The simulator agrees with inventory theory (Clark & Scarf 1960; Snyder & Shen ch. 6).

Snyder & Shen, Fundamentals of Supply Chain Theory, Example 6.1 (our
``textbook_serial``): with normal(5, 1) demand the optimal echelon base-stock
levels are about 6.51, 12.02, 22.70 and the expected cost is 47.67 per period;
with Poisson(5) demand they are 9, 15, 26 and 72.0435. Running those levels
through the simulator must reproduce the costs, which checks the order of
events, the lead-time convention and the (pipeline) holding and backlog costs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from echelon.envs.demand import Poisson
from echelon.envs.ordering import order_up_to
from echelon.envs.positions import echelon_inventory_position
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator


def long_run_cost(scenario, levels, batch=2000, periods=120, warmup=20, seed=1):
    sim = Simulator(scenario, batch=batch, periods=periods)
    sim.reset(np.random.default_rng(seed))
    costs = []
    while not sim.done:
        orders = order_up_to(np.asarray(levels)[None], echelon_inventory_position(sim.state, sim.params))
        costs.append(sim.step(orders).cost.sum(axis=1))
    per_copy = np.array(costs)[warmup:].mean(axis=0)
    return per_copy.mean(), 1.96 * per_copy.std() / np.sqrt(batch)


@pytest.mark.slow
def test_clark_scarf_cost_normal_demand():
    mean, half_width = long_run_cost(load_scenario("textbook_serial"), [6.51, 12.02, 22.70])
    assert half_width < 0.2
    assert mean == pytest.approx(47.67, rel=0.01)


@pytest.mark.slow
def test_clark_scarf_cost_poisson_demand():
    scen = load_scenario("textbook_serial")
    scen = dataclasses.replace(scen, demand={"retailer": Poisson(5.0)})
    mean, half_width = long_run_cost(scen, [9, 15, 26])
    assert half_width < 0.5
    assert mean == pytest.approx(72.0435, rel=0.01)


def test_retailer_newsvendor_single_stage():
    """One stage, L = 1, Poisson(5): base stock S covers one period's demand.

    Expected cost per period = h E[(S - D)^+] + p E[(D - S)^+]; for S = 7, h = 1,
    p = 4 that is 1 x 2.25548 + 4 x 0.25548 = 3.27740 (Poisson(5) sums, by hand:
    E[(7-D)^+] = sum_{d<=7} (7-d) P(d) = 2.25548, E[(D-7)^+] = 5 - 7 + 2.25548 = 0.25548).
    """
    spec = {"periods": 60, "demand": {"shop": {"kind": "poisson", "mean": 5}},
            "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 4,
                       "initial_inventory": 7}]}
    mean, _ = long_run_cost(load_scenario(spec), [7], batch=4000, periods=60, warmup=5)
    assert mean == pytest.approx(3.27740, rel=0.01)


@pytest.mark.slow
def test_exact_optimum_through_the_gymnasium_env():
    """The exact levels, played through the central-controller env for 100,000 periods, cost 47.66 +- 1%."""
    from echelon import envs
    from echelon.agents.clark_scarf import serial_optimum
    from echelon.agents.registry import make_policy

    scen = load_scenario("textbook_serial")
    best = serial_optimum(scen)
    env = envs.CentralSupplyChainEnv(scenario=scen, action="continuous", max_order=200.0)
    policy = make_policy({"policy": "echelon_base_stock", "levels": best.echelon_levels.tolist()}, scen)
    total, periods = 0.0, 0
    env.reset(seed=7)
    for _ in range(1000):  # 1000 episodes x 100 periods
        policy.reset(1, np.random.default_rng(0))
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(policy.act(env.sim.state)[0].astype(np.float32))
            total -= reward
            periods += 1
            done = terminated or truncated
        env.reset()
    assert periods == 100_000
    assert total / periods == pytest.approx(best.expected_cost, rel=0.01)


def test_geometric_and_empirical_demand_by_hand(tmp_path):
    """Geometric, mean 5: q = 5/6, P(D = 0) = 1/6, P(D = 1) = 5/36, variance mu (1 + mu) = 30. Empirical
    [0.2, 0.5, 0.3]: mean 1.1; from a column of past demands 0, 1, 1, 2: [0.25, 0.5, 0.25]. Draws follow
    each law; a list not summing to 1 is refused in one line."""
    from pathlib import Path

    from echelon.envs.demand import build_demand
    from echelon.envs.errors import ConfigError

    geometric = build_demand({"kind": "geometric", "mean": 5}, "d", Path("."))
    pmf = geometric.pmf()
    k = np.arange(len(pmf))
    assert pmf[0] == pytest.approx(1 / 6) and pmf[1] == pytest.approx(5 / 36) and pmf.sum() == pytest.approx(1.0)
    assert (k * pmf).sum() == pytest.approx(5.0) and (k * k * pmf).sum() - 25 == pytest.approx(30.0)
    draws = geometric.sample(np.random.default_rng(0), 400, 500)
    assert draws.mean() == pytest.approx(5.0, rel=0.02) and draws.var() == pytest.approx(30.0, rel=0.05)
    listed = build_demand({"kind": "empirical", "probs": [0.2, 0.5, 0.3]}, "d", Path("."))
    assert listed.mean == pytest.approx(1.1) and listed.pmf().tolist() == [0.2, 0.5, 0.3]
    counts = np.bincount(listed.sample(np.random.default_rng(1), 200, 500).astype(int).ravel()) / 100_000
    np.testing.assert_allclose(counts, [0.2, 0.5, 0.3], atol=0.005)
    (tmp_path / "sales.csv").write_text("week,units\n1,0\n2,1\n3,1\n4,2\n")
    column = build_demand({"kind": "empirical", "path": "sales.csv", "column": "units"}, "d", tmp_path)
    assert column.pmf().tolist() == [0.25, 0.5, 0.25]
    with pytest.raises(ConfigError, match=r"d: field 'probs' must sum to 1 \(got 0.9\)"):
        build_demand({"kind": "empirical", "probs": [0.4, 0.5]}, "d", Path("."))


def test_negative_binomial_demand_by_hand():
    """Mean 6, CV 0.8: variance 23.04, r = 36 / 17.04 = 2.11268, p = r / (r + 6) = 0.26042; P(D = 0) = p^r
    = 0.058277, P(D = 1) = r (1 - p) p^r = 0.091058. Its draws have that mean and CV; a CV at or below the
    Poisson's 1/sqrt(mean) is refused in one line."""
    from pathlib import Path

    from echelon.envs.demand import build_demand
    from echelon.envs.errors import ConfigError

    model = build_demand({"kind": "negative_binomial", "mean": 6, "cv": 0.8}, "d", Path("."))
    pmf = model.pmf()
    assert pmf[0] == pytest.approx(0.058277, abs=2e-6) and pmf[1] == pytest.approx(0.091058, abs=2e-6)
    k = np.arange(len(pmf))
    assert pmf.sum() == pytest.approx(1.0) and (k * pmf).sum() == pytest.approx(6.0)
    draws = model.sample(np.random.default_rng(0), 400, 500)
    assert draws.mean() == pytest.approx(6.0, rel=0.01) and draws.std() / draws.mean() == pytest.approx(0.8, rel=0.02)
    with pytest.raises(ConfigError, match=r"field 'cv' must be above the Poisson's 1/sqrt\(mean\) = 0.408"):
        build_demand({"kind": "negative_binomial", "mean": 6, "cv": 0.4}, "d", Path("."))
