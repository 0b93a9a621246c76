"""Lot sizing and consolidated purchase orders: (s, S) and (Q, S) by hand, the published (s, S) optimum,
and what consolidation is worth (:mod:`agents.purchasing`, :mod:`evaluation.buying_power`)."""

from __future__ import annotations

import numpy as np
import pytest

from echelon.agents.control import Centralized, Local
from echelon.agents.purchasing import consolidated, economic_order_quantity, outside_buyers, separate, tune_purchasing
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Episode, Simulator
from echelon.evaluation.metrics import measure
from echelon.evaluation.rollout import common_episodes


def orders_of(policy, scenario, demand: np.ndarray) -> list[list[float]]:
    """Every site's orders period by period on demand ``[T, S]`` written out by hand."""
    sim = Simulator(scenario)
    sim.reset(np.random.default_rng(0), Episode(demand[:, None, :].astype(float), None, None, None, None))
    policy.reset(1, np.random.default_rng(0))
    placed = []
    for _ in range(len(demand)):
        q = policy.decide(sim.knowledge())
        placed.append(q[0].tolist())
        sim.step(q)
    return placed


def shop(**site) -> dict:
    return {"periods": 5, "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 9,
                                     "initial_inventory": 10, **site}],
            "demand": {"shop": {"kind": "poisson", "mean": 3}}}


def two_buyers(**extra) -> dict:
    """Shops a and b, both buying from outside, 10 units each at the start, lead time 1."""
    site = {"lead_time": 1, "holding_cost": 1, "backlog_cost": 9, "initial_inventory": 10}
    return {"periods": 4, "sites": [{"name": "a", **site}, {"name": "b", **site}],
            "demand": {"a": {"kind": "poisson", "mean": 1}, "b": {"kind": "poisson", "mean": 2}}, **extra}


def test_s_S_by_hand():
    """Level 10, reorder 5 (s = 5), demand 3 a period, lead time 1. Decisions at the start of each period:
    position 10, 7 (gap 3: none), 4 (gap 6: orders 6), 1 + 6 = 7 (none), 4 + 0 = 4 (orders 6). Base-stock
    (reorder 0) replaces each period's 3."""
    scen = load_scenario(shop())
    demand = np.full((5, 1), 3)
    assert [q[0] for q in orders_of(Local(scen, levels=[10], reorder=[5]), scen, demand)] == [0, 0, 6, 0, 6]
    assert [q[0] for q in orders_of(Local(scen, levels=[10]), scen, demand)] == [0, 3, 3, 3, 3]


def test_one_purchase_order_for_all_by_hand():
    """Levels 10 and 10; demand 1 at a, 2 at b. Gaps at the start of periods 0..3: (0, 0), (1, 2), (2, 4),
    then (1, 2) once the order is in the pipeline. Joint trigger 6: only when the gaps total 6 do both
    order, each up to its level. Reorder 3 each, separately: b alone at 4, then a alone at 3."""
    scen = load_scenario(two_buyers())
    demand = np.tile([1, 2], (4, 1))
    joint = Centralized(scen, levels=[10, 10], joint=6)
    assert orders_of(joint, scen, demand) == [[0, 0], [0, 0], [2, 4], [0, 0]]
    apart = Centralized(scen, levels=[10, 10], reorder=[3, 3])
    assert orders_of(apart, scen, demand) == [[0, 0], [0, 0], [0, 4], [3, 0]]


def test_consolidation_never_costs_more_on_the_same_path():
    """The same policy on the same episodes: one purchase order a period costs at most one per buyer
    (K_0 <= K x buyers ordering), equal where one buyer orders at a time; no lot-sizing, no difference."""
    base = load_scenario({**two_buyers(), "periods": 30})
    policy_for = lambda scen: Centralized(scen, levels=[3, 5])  # noqa: E731
    one, each = consolidated(base, 20.0), separate(base, 20.0)
    episode = common_episodes(base, 50, 0)
    cheap = measure(policy_for(one), one, 50, 0, episode)[0].episode_cost
    dear = measure(policy_for(each), each, 50, 0, episode)[0].episode_cost
    assert (cheap <= dear + 1e-9).all() and (cheap < dear - 1).any()
    plain = measure(policy_for(base), base, 50, 0, episode)[0].episode_cost
    assert (plain < cheap).all()


def test_lot_sizing_options_are_checked():
    scen = load_scenario(two_buyers())
    with pytest.raises(ConfigError, match="reorder: site 'a': must be >= 0"):
        Local(scen, levels=[5, 5], reorder=[-1, 0])
    with pytest.raises(ConfigError, match="joint: must be a number >= 0"):
        Centralized(scen, levels=[5, 5], joint="often")
    assert economic_order_quantity(40.0, 24.0, 0.5) == pytest.approx(61.967, abs=1e-3)  # sqrt(2 x 40 x 24 / 0.5)
    assert outside_buyers(load_scenario("three_echelon")).tolist() == [9, 10]  # plant/core, plant/special


def test_the_published_s_S_optimum_is_reached():
    """Zheng & Federgruen (1991), Poisson(10), K = 64, h = 1, p = 9, their lead time 0 (Echelon's 1): the
    optimal (s, S) = (6, 40) costs 35.022 a period. Echelon's (s, S) at those values simulates to that
    figure, and the lot-sizing search, started from base-stock (no lot-sizing), finds a policy as cheap
    within the simulation's interval."""
    scen = load_scenario({**shop(initial_inventory=40), "periods": 220,
                          "demand": {"shop": {"kind": "poisson", "mean": 10}}})
    faced = separate(scen, 64.0)
    published = measure(Local(faced, levels=[40], reorder=[34]), faced, 400, 1, warmup=20)[0].cost
    assert abs(published.mean - 35.022) < published.half_width
    tuned = tune_purchasing(scen, "decentralized, separate orders", np.array([20.0]), 64.0, 100, 0)
    found = measure(tuned.policy, faced, 400, 1, warmup=20)[0].cost
    assert found.mean < 35.022 * 1.01 + found.half_width
