"""Exact optima against textbook values, and simulation optimisation against the exact optimum.

Snyder & Shen, *Fundamentals of Supply Chain Theory* (2nd ed.), Example 6.1
(our ``textbook_serial``): echelon holding costs 3, 2, 2 (local 7, 4, 2), lead
times 1, 1, 2 from the retailer up, p = 37.12, normal(5, 1) demand: optimal
echelon levels 6.51, 12.01, 22.70 and cost 47.67 (the book's figures).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from echelon.agents.clark_scarf import serial_optimum
from echelon.agents.optimal import optimal_levels
from echelon.agents.registry import make_policy
from echelon.agents.search import LevelEvaluator, search_levels
from echelon.envs.demand import Poisson
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.evaluation.rollout import rollout


def poisson_serial():
    scen = load_scenario("textbook_serial")
    return dataclasses.replace(scen, demand={"retailer": Poisson(5.0)})


def exact_cost_by_propagation(levels, lam=5.0, lead=(1, 1, 2), h=(3, 2, 2), p=37.12, total_h=7):
    """Cost of echelon levels by pushing the integer distribution of the echelon inventory down the chain.

    X_N = S_N - D_N, X_j = min(S_j, X_{j+1}) - D_j, cost = sum_j h_j E[X_j] + (p + h'_1) E[X_1^-]
    (Chen & Zheng 1994): a second, independent computation of what the recursion gives.
    """
    def pmf(mean):
        return {k: math.exp(-mean) * mean**k / math.factorial(k) for k in range(120)}

    dist = {0: 1.0}
    cost = 0.0
    for j in reversed(range(len(levels))):
        new = {}
        for x, q in dist.items():
            y = levels[j] if j == len(levels) - 1 else min(levels[j], x)
            for d, r in pmf(lam * lead[j]).items():
                new[y - d] = new.get(y - d, 0.0) + q * r
        dist = new
        cost += h[j] * sum(x * q for x, q in dist.items())
    return cost + (p + total_h) * sum(-x * q for x, q in dist.items() if x < 0)


def test_example_6_1_normal_demand():
    best = serial_optimum(load_scenario("textbook_serial"))
    np.testing.assert_allclose(best.echelon_levels, [6.51, 12.01, 22.70], atol=0.05)
    assert best.expected_cost == pytest.approx(47.67, abs=0.05)
    # local levels: the textbook's echelon levels less the next downstream one, 6.51, 12.02 - 6.51, 22.70 - 12.02
    np.testing.assert_allclose(best.local_levels, [6.51, 5.51, 10.68], atol=0.06)
    assert best.method == "clark_scarf"


def test_example_6_1_poisson_demand_is_exact():
    """Levels 9, 15, 26. The cost is exact: 72.046741 by two independent computations.

    stockpyl reports 72.0435 for this instance; it drops each lead-time demand's
    tail beyond 4 standard deviations, which moves the cost by 0.003.
    """
    best = serial_optimum(poisson_serial())
    np.testing.assert_array_equal(best.echelon_levels, [9, 15, 26])
    assert best.expected_cost == pytest.approx(exact_cost_by_propagation([9, 15, 26]), abs=1e-9)
    assert best.expected_cost == pytest.approx(72.046741, abs=1e-6)
    # every neighbour of the optimum costs more
    for j in range(3):
        for delta in (-1, 1):
            levels = [9, 15, 26]
            levels[j] += delta
            assert exact_cost_by_propagation(levels) > best.expected_cost


def test_newsvendor_one_stage():
    """Poisson(5), h = 1, p = 4, L = 1: S = 7 (F(6) = 0.762 < 0.8 <= F(7) = 0.867), cost 3.27740 (by hand)."""
    spec = {"periods": 50, "demand": {"shop": {"kind": "poisson", "mean": 5}},
            "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 4}]}
    best = serial_optimum(load_scenario(spec))
    assert best.method == "newsvendor"
    assert best.echelon_levels.tolist() == [7.0]
    assert best.expected_cost == pytest.approx(3.27740, abs=1e-5)


@pytest.mark.parametrize(
    ("name", "needle"),
    [("distribution", "distribution tree"), ("lost_sales", "lost sales"), ("beer_game", "order-transmission delay")],
)
def test_no_exact_optimum_points_to_simulation(name, needle):
    with pytest.raises(ConfigError, match=needle) as err:
        optimal_levels(load_scenario(name), method="exact")
    assert "simulation optimisation" in str(err.value)


def test_capacity_and_fixed_costs_are_refused():
    base = load_scenario("textbook_serial")
    capped = dataclasses.replace(base, sites=(dataclasses.replace(base.sites[0], capacity=9.0), *base.sites[1:]))
    with pytest.raises(ConfigError, match="capacity"):
        serial_optimum(capped)
    fixed = dataclasses.replace(base, sites=(*base.sites[:2], dataclasses.replace(base.sites[2], fixed_order_cost=5)))
    with pytest.raises(ConfigError, match="fixed ordering cost"):
        serial_optimum(fixed)


def test_simulation_optimised_levels_are_near_the_exact_optimum():
    """Searched echelon levels, priced exactly by the recursion, within 1% of the optimum."""
    scen = load_scenario("textbook_serial")
    found = search_levels(scen, kind="echelon", episodes=100, seed=3)
    exact = serial_optimum(scen)
    priced = serial_optimum(scen, levels=found.levels)
    assert priced.expected_cost <= exact.expected_cost * 1.01


def test_distribution_levels_beat_one_common_service_level():
    scen = load_scenario("distribution")
    free = search_levels(scen, episodes=60, seed=0)
    common = search_levels(scen, episodes=60, seed=0, common=True)
    fresh = LevelEvaluator(scen, "echelon", 200, seed=11)
    diff = fresh.per_episode(free.levels[None])[0] - fresh.per_episode(common.levels[None])[0]
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert diff.mean() + half < 0  # paired: cheaper on the same episodes, beyond noise


def test_best_base_stock_team_is_far_cheaper_on_the_beer_game():
    scen = load_scenario("beer_game")
    cost = {}
    for spec in [{"policy": "echelon_base_stock", "levels": "optimal"}, "sterman", "pass_through", "random"]:
        policy = make_policy(spec, scen)
        cost[policy.name] = rollout(policy, scen, 20, seed=0).episode_cost.sum(axis=1).mean()
    best = cost.pop("echelon_base_stock")
    assert all(best < 0.5 * other for other in cost.values()), cost


@pytest.mark.slow
def test_exact_cost_without_pipeline_holding_and_with_unit_costs_matches_simulation():
    """The constant terms: pipeline holding off subtracts h'_{j+1} mu (L_j - 1), unit costs add c mu.

    Retailer lead time 3 (two periods in transit at the wholesaler's h' = 4): -4 x 5 x 2 = -40;
    c = 1.5 at the retailer: +7.5. Checked against the propagation and a 200,000-period simulation.
    """
    base = poisson_serial()
    retailer = dataclasses.replace(base.sites[0], order_cost=1.5, lead_time=dataclasses.replace(
        base.sites[0].lead_time, values=(3,)))
    scen = dataclasses.replace(base, pipeline_holding=False, sites=(retailer, *base.sites[1:]), periods=220)
    best = serial_optimum(scen)
    levels = best.echelon_levels.tolist()
    assert best.expected_cost == pytest.approx(
        exact_cost_by_propagation(levels, lead=(3, 1, 2)) - 40 + 7.5, abs=1e-6)
    policy = make_policy({"policy": "echelon_base_stock", "levels": levels}, scen)
    per_period = rollout(policy, scen, 1000, seed=2).cost.sum(axis=2)[20:].mean()  # 200,000 periods
    assert per_period == pytest.approx(best.expected_cost, rel=0.01)


def test_tied_echelon_costs_give_monotone_levels():
    """Equal local holding costs make the echelon holding costs of the lower stages 0, so g_1..g_3 are
    flat above their support and any large level is optimal. The solver reports the smallest minimiser,
    then S_j = min(S_j, S_{j+1}): an echelon never holds more than the one above lets in. Here
    (Clark–Scarf timing, 4 periods per lane, uniform {0, 1, 2} demand, h' = 2, p = 2 at the retailer):
    S_1 = 8, the most 4 periods can demand; S_2 = 16 and S_3 = 24 likewise; S_4 = 16, the median of
    16 periods' demand; so (8, 16, 16, 16), local levels (8, 8, 0, 0) — the levels Oroojlooyjadid et
    al. (2022) publish for their basic beer game."""
    sites = [{"name": n, "supplier": s, "lead_time": 4, "holding_cost": 2}
             for n, s in (("r", "w"), ("w", "d"), ("d", "m"), ("m", None))]
    sites[0]["backlog_cost"] = 2
    scen = load_scenario({"periods": 50, "pipeline_holding": True, "sites": sites,
                          "demand": {"r": {"kind": "uniform", "low": 0, "high": 2}}})
    best = optimal_levels(scen, method="exact")
    np.testing.assert_array_equal(best.echelon_levels, [8, 16, 16, 16])
    np.testing.assert_array_equal(best.local_levels, [8, 8, 0, 0])
