"""Products: a multi-product scenario is a network of (site, product) nodes (envs.products)."""

from __future__ import annotations

import numpy as np
import pytest

from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator

SPEC = {
    "periods": 6,
    "sites": [
        {"name": "s1", "supplier": "dc", "lead_time": 1, "holding_cost": 1, "backlog_cost": 9},
        {"name": "s2", "supplier": "dc", "lead_time": 1, "holding_cost": 1, "backlog_cost": 9,
         "products": {"b": {"holding_cost": 3, "lead_time": 2}}},
        {"name": "dc", "lead_time": 2, "holding_cost": 0.5},
    ],
    "products": [
        {"name": "a", "demand": {"kind": "poisson", "mean": 4}},
        {"name": "b", "cost_scale": 2, "sites": ["s2", "dc"], "demand": {"kind": "poisson", "mean": 2},
         "initial_inventory": 5},
    ],
    "demand": {"s1/a": {"kind": "poisson", "mean": 6}},
    "capacities": [{"name": "line", "sites": ["dc"], "limit": 10}, {"name": "van", "sites": ["s2/b"], "limit": 3}],
}


def test_each_stocked_site_product_pair_is_a_node_with_the_most_specific_values():
    scen = load_scenario(SPEC)
    assert scen.site_names == ("s1/a", "s2/a", "s2/b", "dc/a", "dc/b")  # sites downstream first, products listed
    assert [s.supplier for s in scen.sites] == ["dc/a", "dc/a", "dc/b", None, None]
    assert scen.products == ("a", "b") and scen.node(2) == ("s2", "b")
    by = {s.name: s for s in scen.sites}
    # holding cost: the site's (1), times cost_scale for b (2) unless the pair gives its own (s2/b: 3)
    assert [by[n].holding_cost for n in scen.site_names] == [1, 1, 3, 0.5, 1.0]
    assert [by[n].shortage_cost for n in scen.site_names] == [9, 9, 18, 0, 0]
    assert by["s2/b"].lead_time.values == (2,) and by["s2/a"].lead_time.values == (1,)
    assert [by[n].initial_inventory for n in scen.site_names] == [0, 0, 5, 0, 5]  # the product's own
    # demand: the pair's own key (s1/a: 6), else the product's at nodes without customers
    assert {n: m.mean for n, m in scen.demand.items()} == {"s1/a": 6, "s2/a": 4, "s2/b": 2}
    # a capacity naming a site covers all its products; one naming a pair covers that pair
    assert [c.sites for c in scen.capacities] == [(3, 4), (2,)]


def test_a_site_level_demand_entry_gives_each_product_its_own_independent_draws():
    spec = {**SPEC, "demand": {"s2": {"kind": "poisson", "mean": 5}}}
    scen = load_scenario(spec)
    assert scen.demand["s2/a"].mean == 5 and scen.demand["s2/b"].mean == 5 and scen.demand["s1/a"].mean == 4
    sim = Simulator(scen, batch=200)
    sim.reset(np.random.default_rng(0))
    d = sim.episode.demand
    assert not np.array_equal(d[:, :, 1], d[:, :, 2])  # same model, own draws


def test_products_interact_only_through_shared_capacities():
    """Without the line, product b's node costs do not depend on product a's orders; with it they do."""
    free = {**SPEC, "capacities": []}
    costs = []
    for a_orders in (0.0, 9.0):
        sim = Simulator(free, batch=1)
        sim.reset(np.random.default_rng(3))
        total = 0.0
        for _ in range(6):
            total += sim.step(np.array([[a_orders, a_orders, 2.0, a_orders, 3.0]])).cost[0, [2, 4]].sum()
        costs.append(total)
    assert costs[0] == costs[1]
    sim = Simulator(SPEC, batch=1)
    sim.reset(np.random.default_rng(3))
    flows = sim.step(np.array([[0.0, 0.0, 2.0, 9.0, 3.0]]))  # dc/a 9 + dc/b 3 = 12 > line 10
    np.testing.assert_allclose(flows.orders[0, 3:], [8.0, 2.0])  # 7.5, 2.5 rounded down, 1 unit to dc/a first


def test_a_one_product_scenario_is_unchanged():
    one = {k: v for k, v in SPEC.items() if k != "products"}
    one["sites"] = [{k: v for k, v in s.items() if k != "products"} for s in SPEC["sites"]]
    one["demand"] = {"s1": {"kind": "poisson", "mean": 6}, "s2": {"kind": "poisson", "mean": 4}}
    one["capacities"] = [{"name": "line", "sites": ["dc"], "limit": 10}]
    scen = load_scenario(one)
    assert scen.products == () and scen.site_names == ("s1", "s2", "dc") and scen.node(0) == ("s1", None)


@pytest.mark.parametrize("policy", [{"policy": "base_stock", "levels": "optimal"}, "forecast_base_stock", "sterman"])
def test_policies_and_metrics_run_on_a_multi_product_network(policy):
    from echelon.agents.registry import make_policy
    from echelon.evaluation.metrics import measure

    scen = load_scenario("two_products")
    m, first = measure(make_policy(policy, scen), scen, 4, 0)
    assert set(m.site_cost) == set(scen.site_names) and set(m.bottlenecks) == {"line"}
    assert 0 < m.bottlenecks["line"].utilisation <= 1.0 and first.cost.shape == (52, 1, len(scen.sites))


def test_episodes_run_in_blocks_give_one_result_over_all_of_them(monkeypatch):
    """With blocks of 2 episodes (7 nodes: at most 14 node-copies side by side), 5 episodes run as
    2 + 2 + 1; every episode is counted once and the same seed gives the same figures."""
    from echelon.agents.registry import make_policy
    from echelon.evaluation import rollout as rollout_module
    from echelon.evaluation.metrics import measure

    scen = load_scenario("two_products")
    monkeypatch.setattr(rollout_module, "BLOCK_SITE_COPIES", 2 * len(scen.sites))
    assert [b.size for b in rollout_module.episode_blocks(scen, 5, 0)] == [2, 2, 1]
    first, _ = measure(make_policy("sterman", scen), scen, 5, 0)
    again, _ = measure(make_policy("sterman", scen), scen, 5, 0)
    assert first.episode_cost.shape == (5,)
    np.testing.assert_array_equal(first.episode_cost, again.episode_cost)
