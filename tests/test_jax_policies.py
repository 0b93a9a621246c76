"""The device heuristics decide what their NumPy forms decide: whole episodes as one ``lax.scan`` on the JAX core
cost, period by period and copy by copy, what the NumPy simulator charges the NumPy policy on the same draws."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from echelon.agents.jax_policies import CONVERTERS, device_policy, rollout
from echelon.agents.registry import make_policy
from echelon.envs import jax_core
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator

jax.config.update("jax_enable_x64", True)

SPECS = [
    {"policy": "base_stock", "levels": 14}, {"policy": "echelon_base_stock", "levels": [8, 20, 31, 40]},
    {"policy": "capped_base_stock", "levels": 14, "cap": 6}, {"policy": "s_S", "s": 6, "S": 15},
    {"policy": "r_Q", "r": 6, "Q": 5}, {"policy": "constant"}, {"policy": "pass_through"}, {"policy": "sterman"},
    {"policy": "forecast_base_stock"}, {"policy": "forecast_base_stock", "signal": "customer", "window": 6},
]
RANDOM_LEAD = {"name": "random_lead", "periods": 40, "demand": {"r": {"kind": "poisson", "mean": 4}}, "sites": [
    {"name": "r", "supplier": "w", "lead_time": {"values": [1, 2, 4], "probs": [0.5, 0.3, 0.2]}, "holding_cost": 1,
     "backlog_cost": 9},
    {"name": "w", "lead_time": 2, "holding_cost": 0.5, "backlog_cost": 1}]}
SCENARIOS = ["beer_game", "textbook_serial", "distribution", "three_echelon", "lost_sales_capacitated",
             "two_products", RANDOM_LEAD]


def _fit(spec: dict, scenario) -> dict:
    """``spec`` with list parameters cut to the scenario's number of sites."""
    n = len(scenario.site_names)
    return {k: (v * n)[:n] if isinstance(v, list) else v for k, v in spec.items()}


@pytest.mark.parametrize("name", SCENARIOS, ids=[n if isinstance(n, str) else n["name"] for n in SCENARIOS])
@pytest.mark.parametrize("spec", SPECS, ids=[f"{s['policy']}{i}" for i, s in enumerate(SPECS)])
def test_device_policy_costs_what_the_numpy_policy_costs(name, spec):
    scenario = load_scenario(name)
    policy = make_policy(_fit(spec, scenario), scenario)
    sim = Simulator(scenario, batch=4, periods=min(scenario.periods, 60))
    rng = np.random.default_rng(3)
    sim.reset(rng)
    policy.reset(4, rng)
    demand = np.stack([sim.inputs.demand_at(t) for t in range(sim.periods)])
    leads = None if sim.inputs.lead_at(0) is None else np.stack([sim.inputs.lead_at(t) for t in range(sim.periods)])
    run = jax.jit(rollout, static_argnames=("params", "policy"))
    final, costs = run(sim.params, device_policy(policy), jax_core.to_jax(sim.state), demand, leads)
    expected = []
    while not sim.done:
        expected.append(sim.step(policy.act(sim.state)).cost.sum(axis=1))
    np.testing.assert_allclose(np.asarray(costs), np.stack(expected), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.asarray(final.on_hand), sim.state.on_hand, rtol=1e-9, atol=1e-9)


def test_every_converter_is_tested():
    assert {cls.name for cls in CONVERTERS} == {s["policy"] for s in SPECS} | {"random"}


def test_random_orders_are_whole_units_uniform_on_their_range():
    """The device's random policy draws from its own stream (not NumPy's): whole units, uniform on 0..high."""
    scenario = load_scenario("textbook_serial")
    policy = device_policy(make_policy({"policy": "random", "high": 5}, scenario))
    state = jax_core.initial_state(Simulator(scenario).params, 20_000)
    key = policy.init(state, jax.random.key(3))
    key, first = policy.act(key, state)
    _, second = policy.act(key, state)
    first = np.asarray(first)
    assert set(np.unique(first)) == {0, 1, 2, 3, 4, 5}
    np.testing.assert_allclose([(first == v).mean() for v in range(6)], [1 / 6] * 6, atol=0.01)
    assert (first != np.asarray(second)).any()


def test_a_policy_without_a_device_form_is_one_line():
    scenario = load_scenario("lost_sales")
    with pytest.raises(ConfigError, match=r"^policy 'myopic' has no device form on the JAX back end \(device "
                                          r"policies: base_stock, "):
        device_policy(make_policy("myopic", scenario))


def test_an_information_model_is_refused_in_one_line():
    scenario = load_scenario("distribution_informed")
    with pytest.raises(ConfigError, match=r"^policy 'base_stock': scenario 'distribution_informed' has an "
                                          r"information model; the JAX back end runs full, instant information only$"):
        device_policy(make_policy({"policy": "base_stock", "levels": 10}, scenario))
