"""Shared capacities (bottlenecks): several sites' orders cut to a common limit per period."""

from __future__ import annotations

import numpy as np
import pytest

from echelon.envs.core import cut_to_limit
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator


def _stores(rule: str, demand: dict) -> dict:
    sites = [{"name": f"s{i}", "supplier": "dc", "lead_time": 1, "holding_cost": 1, "backlog_cost": 9,
              "initial_inventory": 20} for i in range(3)]
    sites.append({"name": "dc", "lead_time": 1, "holding_cost": 1, "initial_inventory": 100})
    return {"periods": 5, "sites": sites, "demand": {f"s{i}": demand for i in range(3)},
            "capacities": [{"name": "truck", "sites": ["s0", "s1", "s2"], "limit": 10, "rule": rule}]}


@pytest.mark.parametrize(("rule", "demand", "expected"), [
    # 7 + 5 + 3 = 15 > 10. Proportional: x 10/15 = 4.67, 3.33, 2; whole units: 4, 3, 2 and the one
    # unit left to s0, the first listed. Priority: s0 7, s1 the 3 left, s2 nothing.
    ("proportional", {"kind": "poisson", "mean": 2}, [5, 3, 2]),
    ("proportional", {"kind": "normal", "mean": 2, "std": 0.5}, [70 / 15, 50 / 15, 2]),
    ("priority", {"kind": "poisson", "mean": 2}, [7, 3, 0]),
])
def test_orders_over_a_shared_limit_are_cut_by_the_rule(rule, demand, expected):
    sim = Simulator(_stores(rule, demand), batch=1)
    sim.reset(np.random.default_rng(0))
    flows = sim.step(np.array([[7.0, 5.0, 3.0, 0.0]]))
    np.testing.assert_allclose(flows.orders[0, :3], expected)
    flows = sim.step(np.array([[2.0, 3.0, 4.0, 0.0]]))  # 9 <= 10: nothing cut
    np.testing.assert_array_equal(flows.orders[0, :3], [2, 3, 4])


def test_a_cut_never_exceeds_the_limit_never_raises_an_order_and_keeps_units_whole():
    rng = np.random.default_rng(7)
    for _ in range(200):
        orders = rng.integers(0, 30, size=(16, 5)).astype(float)
        limit = float(rng.integers(1, 80))
        for by_priority in (True, False):
            cut = cut_to_limit(orders, limit, by_priority, integral=True)
            assert (cut.sum(axis=1) <= limit + 1e-9).all()
            assert (cut >= 0).all() and (cut <= orders).all()
            np.testing.assert_array_equal(cut, np.round(cut))
            under = orders.sum(axis=1) <= limit  # copies under the limit keep their orders
            np.testing.assert_array_equal(cut[under], orders[under])
            full = orders.sum(axis=1) >= limit  # and a cut uses the whole limit
            np.testing.assert_allclose(cut[full].sum(axis=1), limit)


def test_a_bottleneck_changes_the_scenario_s_fingerprint():
    from echelon.agents.run_record import scenario_fingerprint

    with_cap = load_scenario(_stores("priority", {"kind": "poisson", "mean": 2}))
    spec = _stores("priority", {"kind": "poisson", "mean": 2})
    del spec["capacities"]
    assert scenario_fingerprint(with_cap) != scenario_fingerprint(load_scenario(spec))


def test_reports_give_each_bottlenecks_utilisation_and_how_often_it_binds():
    """Orders of s0..s2 (truck limit 10) over four periods: 4+4+0 = 8 (80%, free), 8+8+0 cut to 10
    (100%, binds), 5+5+0 = 10 (100%, at the limit: binds), 0+2+0 = 2 (20%). Utilisation (0.8 + 1 + 1
    + 0.2) / 4 = 0.75; binds in 2 of 4 periods."""
    from echelon.evaluation.metrics import compute_metrics
    from echelon.evaluation.rollout import Trajectory, rows

    spec = _stores("proportional", {"kind": "poisson", "mean": 2}) | {"periods": 4}
    sim = Simulator(spec, batch=1)
    sim.reset(np.random.default_rng(0))
    kept: dict[str, list] = {name: [] for name in Trajectory.__dataclass_fields__}
    for q in ([4, 4, 0], [8, 8, 0], [5, 5, 0], [0, 2, 0]):
        flows = sim.step(np.array([[*q, 0.0]]))
        for name, value in rows(flows, sim.state, sim.params).items():
            kept[name].append(value)
    m = compute_metrics(Trajectory(**{k: np.stack(v) for k, v in kept.items()}), sim.scenario)
    assert m.bottlenecks["truck"].utilisation == pytest.approx(0.75)
    assert m.bottlenecks["truck"].binding == pytest.approx(0.5)


def test_overtime_lets_orders_over_the_limit_pass_at_a_cost_shared_in_proportion():
    """Limit 10 with 3 units of overtime at 2 each. Orders 7 + 5 + 3 = 15 are cut to 13: x 13/15 = 6.07,
    4.33, 2.6, rounded down 6, 4, 2 and the unit left to s0: 7, 4, 2. The 3 units above the limit cost
    6, charged 7/13, 4/13 and 2/13 of it: 3.23, 1.85, 0.92. Orders of 9 cost no overtime."""
    spec = _stores("proportional", {"kind": "poisson", "mean": 2})
    spec["capacities"][0] |= {"overtime": 3, "overtime_cost": 2.0}
    sim = Simulator(spec, batch=1)
    sim.reset(np.random.default_rng(0))
    flows = sim.step(np.array([[7.0, 5.0, 3.0, 0.0]]))
    np.testing.assert_allclose(flows.orders[0, :3], [7, 4, 2])
    np.testing.assert_allclose(flows.ordering_cost[0, :3], [6 * 7 / 13, 6 * 4 / 13, 6 * 2 / 13])
    flows = sim.step(np.array([[2.0, 3.0, 4.0, 0.0]]))
    np.testing.assert_array_equal(flows.ordering_cost[0], 0.0)
