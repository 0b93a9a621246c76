"""Policies: hand-worked orders, the registry's errors, and common random numbers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SMALL_SCENARIOS

from echelon.agents.heuristics import Sterman
from echelon.agents.registry import POLICIES, make_policy
from echelon.envs.core import initial_state
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.evaluation.rollout import rollout

# one site, L = 2, 10 on hand, 3 in transit: inventory position IP = 13, last incoming 3
SHOP = {
    "name": "shop", "periods": 20, "demand": {"shop": {"kind": "poisson", "mean": 3}},
    "sites": [{"name": "shop", "lead_time": 2, "holding_cost": 1, "backlog_cost": 4,
               "initial_inventory": 10, "initial_pipeline": 3}],
}


@pytest.fixture
def shop():
    scen = load_scenario(SHOP)
    policy = make_policy("pass_through", scen)
    return scen, initial_state(policy.params, 2)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"policy": "base_stock", "levels": 20}, 7.0),  # S - IP = 20 - 13
        ({"policy": "base_stock", "levels": 12}, 0.0),  # IP above S: nothing
        ({"policy": "echelon_base_stock", "levels": 20}, 7.0),  # one stage: echelon = installation
        ({"policy": "s_S", "s": 12, "S": 20}, 0.0),  # IP 13 > s
        ({"policy": "s_S", "s": 13, "S": 20}, 7.0),  # IP <= s: up to S
        ({"policy": "r_Q", "r": 15, "Q": 4}, 4.0),  # one batch lifts IP to 17 > 15
        ({"policy": "r_Q", "r": 21, "Q": 4}, 12.0),  # 13 + 2 x 4 = 21 is not above r: three batches
        ({"policy": "r_Q", "r": 12, "Q": 4}, 0.0),
        ("pass_through", 3.0),  # the last incoming demand
        ({"policy": "constant", "quantity": 2.5}, 2.5),
        # Sterman: 3 + 0.26 (17 - 10 - 0.34 x 3) = 4.5548
        ("sterman", 4.5548),
    ],
)
def test_hand_worked_orders(shop, spec, expected):
    scen, state = shop
    policy = make_policy(spec, scen)
    policy.reset(2, np.random.default_rng(0))
    np.testing.assert_allclose(policy.act(state), np.full((2, 1), expected))


def test_sterman_smooths_incoming_orders(shop):
    """L^_t = theta L_t + (1 - theta) L^_{t-1}: after incoming jumps from 3 to 8, L^ = 0.36 x 8 + 0.64 x 3 = 4.8."""
    scen, state = shop
    policy = Sterman(scen, alpha_s=0.0)  # no stock adjustment: the order is the forecast
    policy.reset(2, np.random.default_rng(0))
    policy.act(state)
    jumped = type(state)(**{**{k: getattr(state, k) for k in state.__slots__}, "incoming": np.full((2, 1), 8.0)})
    np.testing.assert_allclose(policy.act(jumped), 4.8)


ONE_SITE = ("vector_base_stock", "myopic", "myopic2", "optimal_dp")  # need a site supplied from outside, facing demand


def test_every_registered_policy_runs_on_every_scenario():
    """Every policy runs on every built-in scenario, or, where it needs a one-site problem, says why."""
    for name in SMALL_SCENARIOS:
        scen = load_scenario(name)
        for policy_name, cls in POLICIES.items():
            if policy_name == "learned":  # needs a training run: tests/test_training.py
                continue
            spec = {"policy": policy_name}
            if policy_name in ("base_stock", "echelon_base_stock", "central", "local"):
                spec["levels"] = 20
            elif policy_name == "hybrid":
                spec.update(levels=20, local_levels=12, band=3)
            elif policy_name == "s_S":
                spec.update(s=10, S=20)
            elif policy_name == "r_Q":
                spec.update(r=10, Q=5)
            elif policy_name == "capped_base_stock":
                spec.update(levels=20, cap=6)
            elif policy_name == "site_base_stock":
                spec.update(site=scen.site_names[0], level=20, others="sterman")
            if policy_name in ONE_SITE and len(scen.sites) > 1:
                with pytest.raises(ConfigError, match="covers sites supplied from outside"):
                    make_policy(spec, scen)
                continue
            trajectory = rollout(make_policy(spec, scen), scen, 3, seed=1)
            assert isinstance(make_policy(spec, scen), cls)
            assert trajectory.orders.shape == (scen.periods, 3, len(scen.sites))
            assert (trajectory.orders >= 0).all() and np.isfinite(trajectory.cost).all()


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("nope", "unknown policy 'nope' (known: base_stock"),
        ({"levels": 3}, "mapping with key 'policy'"),
        ({"policy": "base_stock"}, "needs parameter 'levels'"),
        ({"policy": "base_stock", "level": 3}, "no parameter 'level' (parameters: levels)"),
        ({"policy": "base_stock", "levels": [1, 2, 3]}, "expected 1 values"),
        ({"policy": "base_stock", "levels": {"store": 3}}, "unknown site 'store'"),
        ({"policy": "base_stock", "levels": "lots"}, "must be a number"),
        ({"policy": "base_stock", "levels": float("nan")}, "finite"),
        ({"policy": "s_S", "s": 9, "S": 5}, "S must be >= s"),
        ({"policy": "r_Q", "r": 9, "Q": 0}, "Q: site 'shop': must be >="),
        ({"policy": "sterman", "theta": 1.5}, "theta"),
        ({"policy": "random", "high": 2.5}, "whole number"),
        ({"policy": "pass_through", "levels": 3}, "has no parameter 'levels' (parameters: none)"),
        ({"policy": "constant", "levels": "optimal"}, "no parameter 'levels'"),
    ],
)
def test_bad_policy_specs_give_clear_errors(spec, needle):
    with pytest.raises(ConfigError) as err:
        make_policy(spec, load_scenario(SHOP), where="bench.yaml: policies[0]")
    message = str(err.value)
    assert needle in message and message.startswith("bench.yaml: policies[0]: ") and "\n" not in message


def test_common_random_numbers_and_reproducible_randomness():
    scen = load_scenario("distribution")
    a = rollout(make_policy("random", scen), scen, 8, seed=5)
    b = rollout(make_policy("random", scen), scen, 8, seed=5)
    np.testing.assert_array_equal(a.cost, b.cost)
    # every policy with one seed faces the same customer demand
    c = rollout(make_policy("pass_through", scen), scen, 8, seed=5)
    np.testing.assert_array_equal(a.demand, c.demand)
    d = rollout(make_policy("pass_through", scen), scen, 8, seed=6)
    assert not np.array_equal(c.demand, d.demand)


def test_policies_do_not_share_state_between_batches():
    scen = load_scenario("beer_game")
    policy = make_policy("sterman", scen)
    first = rollout(policy, scen, 2, seed=0).cost
    again = rollout(policy, scen, 2, seed=0).cost
    np.testing.assert_array_equal(first, again)



@pytest.mark.parametrize(
    ("scenario", "echelon", "local"),
    [("textbook_serial", [6.49, 12.02, 22.71], [6.49, 5.53, 10.69]),
     ("distribution", [17, 23, 15, 28, 170], [17, 23, 15, 28, 87])],
)
def test_local_levels_reproduce_the_echelon_policy(scenario, echelon, local):
    """S_j = S^e_j - sum of the customers' S^e (Axsäter 1993): the same orders, period by period, same costs.

    (Exact while no site starts above its level; both starts here are below.)
    """
    scen = load_scenario(scenario)
    a = rollout(make_policy({"policy": "echelon_base_stock", "levels": echelon}, scen), scen, 50, seed=1)
    b = rollout(make_policy({"policy": "base_stock", "levels": local}, scen), scen, 50, seed=1)
    np.testing.assert_allclose(a.orders, b.orders, atol=1e-9)
    np.testing.assert_allclose(a.cost, b.cost, atol=1e-9)
