"""The exact DP and the lost-sales heuristics against published tables, theory and the core.

Published numbers: Zheng & Federgruen (1991), Table 1 (via stockpyl's transcription of it, which its own
tests pin); Zipkin (2008), Table 3, for the cells a public transcription confirms. The rest are theory:
the DP's policy, priced by an independent evaluation of its Markov chain, costs what the DP says; relaxing
the state bounds changes nothing; optimal costs rise with the lead time (Zipkin 2008) and the penalty; the
core, playing a policy, lands within its confidence interval of the exact cost.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from echelon.agents.dp import _lost_sales_bounds, _lost_sales_rvi, evaluate, solve, standard_levels
from echelon.agents.lost_sales import (
    base_stock_rule,
    best_base_stock,
    best_capped_base_stock,
    constant_order_cost,
    myopic_rule,
    vector_base_stock_rule,
)
from echelon.agents.single_site import single_site_model
from echelon.cli import main
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.evaluation.reproduce import ZHENG_FEDERGRUEN, simulated_cost, zipkin_scenario


def model_of(spec):
    return single_site_model(load_scenario(spec), "the exact DP")


def zipkin(lead: int, penalty: float):
    return model_of(zipkin_scenario(lead, penalty))


@pytest.mark.parametrize(("mean", "s", "big_s", "cost"), ZHENG_FEDERGRUEN)
def test_zheng_federgruen_table(mean, s, big_s, cost):
    """Backlog with K = 64, h = 1, p = 9, Poisson demand, their lead time 0 (Echelon's 1): the DP's optimal
    policy is (s, S) with their s, S and cost to their three decimals."""
    solution = solve(model_of({
        "periods": 10, "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 9,
                                  "fixed_order_cost": 64}],
        "demand": {"shop": {"kind": "poisson", "mean": mean}},
    }))
    assert solution.reorder == (s, big_s)
    assert round(solution.cost, 3) == cost


@pytest.mark.parametrize(("lead", "penalty", "optimal", "vector"), [(4, 4, 4.73, 5.83), (4, 19, 8.89, None)])
def test_zipkin_published_cells(lead, penalty, optimal, vector):
    """Zipkin (2008), Table 3, Poisson(5), h = 1: the optimal cost, and the standard vector base-stock cost,
    to the published two decimals."""
    model = zipkin(lead, penalty)
    assert round(solve(model).cost, 2) == optimal
    if vector is not None:
        assert round(evaluate(model, vector_base_stock_rule(standard_levels(model))).cost, 2) == vector


def test_zipkin_optimal_costs_rise_with_lead_time_and_penalty():
    """Zipkin (2008, Theorem 5): the optimal cost increases with the lead time; and with the penalty."""
    costs = np.array([[solve(zipkin(lead, p)).cost for p in (4, 9, 19, 39)] for lead in (1, 2, 3, 4)])
    assert (np.diff(costs, axis=0) > 0).all()
    assert (np.diff(costs, axis=1) > 0).all()
    assert costs[0, 0] == pytest.approx(4.0407, abs=1e-4) and costs[3, 3] == pytest.approx(10.7944, abs=1e-4)


def test_dp_policy_priced_independently_costs_what_the_dp_says():
    """The DP's table, priced by enumerating the chain it induces (another algorithm), gives the DP's cost;
    and every heuristic costs at least as much."""
    model = model_of("lost_sales")
    solution = solve(model)
    assert evaluate(model, solution.orders).cost == pytest.approx(solution.cost, abs=1e-8)
    for rule in (vector_base_stock_rule(standard_levels(model)), myopic_rule(model), base_stock_rule(28)):
        assert evaluate(model, rule).cost > solution.cost


def test_relaxing_the_state_bounds_changes_nothing():
    """Morton's (1971) bounds are not binding: three more units on every bound, the same cost."""
    model = zipkin(3, 9)
    tight = _lost_sales_rvi(model, _lost_sales_bounds(model, 0))
    loose = _lost_sales_rvi(model, _lost_sales_bounds(model, 3))
    assert loose.states > tight.states
    assert loose.cost == pytest.approx(tight.cost, abs=1e-8)


def test_fixed_cost_bounds_are_checked_by_widening():
    model = model_of({**zipkin_scenario(2, 14), "sites": [{**zipkin_scenario(2, 14)["sites"][0],
                                                            "fixed_order_cost": 5}]})
    solution = solve(model)
    assert any("widening" in check for check in solution.checks)
    assert solution.cost > solve(dataclasses.replace(model, fixed_cost=0.0)).cost


def test_constant_order_cost_by_hand():
    """Demand 0 w.p. 1/3 or 2 w.p. 2/3 (mean 4/3), a constant order of 1 arriving before the next demand
    (tau = 1), h = 1, p = 4. The stock at a period's start, y' = (y - D)^+ + 1, goes up by 1 w.p. 1/3 and
    down by 1 w.p. 2/3 (from 1 it stays): P(y = k) = 2^-k, k >= 1. A period starting with y = 1 costs
    1/3 x 1 + 2/3 x 4 = 3; with y = k >= 2, k/3 + 2 (k - 2)/3 = k - 4/3. Expected: 3/2 + (3/2 - 4/3 x 1/2)
    = 7/3."""
    model = model_of({"periods": 5, "sites": [{"name": "s", "lead_time": 1, "unmet": "lost", "holding_cost": 1,
                                                "lost_sales_cost": 4}],
                      "demand": {"s": {"kind": "uniform", "low": 0, "high": 2}}})
    model = dataclasses.replace(model, pmf=np.array([1 / 3, 0.0, 2 / 3]))
    assert constant_order_cost(model, 1) == pytest.approx(7 / 3, abs=1e-9)
    with pytest.raises(ConfigError, match="not below mean demand"):
        constant_order_cost(model, 2)


@pytest.mark.slow
def test_dp_policy_in_the_core_and_against_the_best_base_stock():
    """Played by the core for 400 x 1000 periods, the DP's policy costs the DP's figure within the 95% CI,
    and beats the best base-stock level on the same demand."""
    model = model_of("lost_sales")
    exact = solve(model).cost
    level, level_cost = best_base_stock(model)
    dp_mean, dp_half = simulated_cost("lost_sales", {"policy": "optimal_dp"}, 400, 1000, warmup=100, seed=3)
    bs_mean, bs_half = simulated_cost("lost_sales", {"policy": "base_stock", "levels": [level]}, 400, 1000,
                                      warmup=100, seed=3)
    assert abs(dp_mean - exact) < dp_half
    assert abs(bs_mean - level_cost) < bs_half
    assert dp_mean + dp_half < bs_mean - bs_half  # strictly better, both intervals apart


@pytest.mark.slow
def test_heuristics_in_the_core_cost_their_exact_price():
    model = model_of("lost_sales")
    (level, cap), capped = best_capped_base_stock(model)
    cases = [
        ({"policy": "vector_base_stock"}, evaluate(model, vector_base_stock_rule(standard_levels(model))).cost),
        ({"policy": "myopic"}, evaluate(model, myopic_rule(model)).cost),
        ({"policy": "capped_base_stock", "levels": level, "cap": cap}, capped),
    ]
    for policy, exact in cases:
        mean, half = simulated_cost("lost_sales", policy, 300, 1000, warmup=100, seed=4)
        assert abs(mean - exact) < half, policy


@pytest.mark.slow
@pytest.mark.parametrize("lead", [1, 2, 3, 4])
def test_best_base_stock_priced_by_the_dp_matches_the_core(lead):
    """All 16 of Zipkin's instances: the best base-stock cost priced exactly matches a long run of the core
    (Echelon's lead time = Zipkin's + 1) within a simultaneous 95% interval over the 16 (Bonferroni: 2.96
    standard errors each; one 95% interval per instance would miss somewhere half the time)."""
    for penalty in (4, 9, 19, 39):
        level, exact = best_base_stock(zipkin(lead, penalty))
        mean, half = simulated_cost(zipkin_scenario(lead, penalty), {"policy": "base_stock", "levels": [level]},
                                    200, 2000, warmup=100, seed=lead * 100 + penalty,
                                    initial={"initial_inventory": float(level)})
        assert abs(mean - exact) < half * 2.96 / 1.96, (lead, penalty)


def test_zipkin_lead_time_convention_maps_to_echelon_once():
    scen = load_scenario(zipkin_scenario(4, 9))
    assert scen.sites[0].lead_time.values == (5,)
    assert single_site_model(scen, "x").pipeline_length == 4
    with pytest.raises(ConfigError, match="field 'lead_time' must be a whole number >= 0"):
        load_scenario({**zipkin_scenario(4, 9), "sites": [{**zipkin_scenario(4, 9)["sites"][0], "lead_time": -1}]})
    with pytest.raises(ConfigError, match="key 'lead_time_convention' must be 'echelon' or 'zipkin'"):
        load_scenario({**zipkin_scenario(4, 9), "lead_time_convention": "stockpyl"})


def test_dp_refuses_what_it_cannot_solve_in_one_line(capsys, tmp_path):
    huge = tmp_path / "huge.yaml"
    huge.write_text("periods: 10\nlead_time_convention: zipkin\nsites:\n  - {name: s, unmet: lost, lead_time: 12, "
                    "holding_cost: 1, lost_sales_cost: 39}\ndemand:\n  s: {kind: poisson, mean: 5}\n")
    assert main(["optimal", str(huge), "--method", "dp"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "too large" in err and "the limit is" in err
    assert main(["optimal", "beer_game", "--method", "dp"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "covers one site supplied from outside" in err
