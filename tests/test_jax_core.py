"""The JAX core equals the NumPy core (the specification) on the same draws: every built-in scenario and
random Hypothesis networks (capacities, bottlenecks, products, lost sales, both timings, random lead times)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_properties import networks

from echelon.envs import jax_core
from echelon.envs.scenario import available_scenarios, load_scenario
from echelon.envs.simulator import Simulator

jax.config.update("jax_enable_x64", True)

FIELDS = ("on_hand", "backlog", "owed", "last_order", "incoming", "received", "demand")
FLOWS = ("orders", "shipped", "received", "sales", "lost", "cancelled", "holding_cost", "pipeline_cost",
         "shortage_cost", "ordering_cost", "cost")


def play_both(scenario, seed: int, batch: int, periods: int | None = None, order_high: int = 12) -> int:
    """Play random orders through the NumPy simulator and the JAX step from the same draws; assert every
    state field and flow equal each period. Returns the periods played."""
    sim = Simulator(scenario, batch=batch, periods=periods)
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    params = sim.params
    step = jax.jit(jax_core.step, static_argnames="params")
    state = jax_core.to_jax(sim.state)
    played = 0
    while not sim.done:
        t = sim.period
        orders = rng.integers(0, order_high, size=(batch, sim.n_sites)).astype(float)
        demand, lead = sim.inputs.demand_at(t), sim.inputs.lead_at(t)
        flows = sim.step(orders)
        state, jflows = step(state, orders, demand, params, lead)
        for name in FIELDS:
            np.testing.assert_allclose(np.asarray(getattr(state, name)), getattr(sim.state, name), rtol=1e-9,
                                       atol=1e-9, err_msg=f"{scenario.name} period {t}: state {name}")
        for name, slots in (("transit", sim.state.transit), ("pending", sim.state.pending)):
            assert len(getattr(state, name)) == len(slots)
            for k, (a, b) in enumerate(zip(getattr(state, name), slots, strict=True)):
                np.testing.assert_allclose(np.asarray(a), b, rtol=1e-9, atol=1e-9,
                                           err_msg=f"{scenario.name} period {t}: {name}[{k}]")
        for name in FLOWS:
            np.testing.assert_allclose(np.asarray(getattr(jflows, name)), getattr(flows, name), rtol=1e-9,
                                       atol=1e-9, err_msg=f"{scenario.name} period {t}: flow {name}")
        played += 1
    assert int(state.period) == sim.period
    return played


@pytest.mark.parametrize("name", available_scenarios())
def test_every_builtin_scenario_equal_under_numpy_and_jax(name):
    scenario = load_scenario(name)
    big = len(scenario.site_names) > 100
    assert play_both(scenario, seed=7, batch=2 if big else 3, periods=6 if big else min(scenario.periods, 40)) > 0


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(spec=networks(), seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 4))
def test_random_networks_equal_under_numpy_and_jax(spec, seed, batch):
    play_both(load_scenario(spec), seed, batch, periods=12)


def test_large_networks_take_the_segment_path():
    """Networks above the dense size use gathers and scatter-adds; they equal the NumPy core too (a random tree
    of 80 sites with proportional allocation among up to 5 customers, and bottlenecks)."""
    rng = np.random.default_rng(3)
    n = 80
    sites = []
    for i in range(n):
        supplier = None if i == n - 1 else f"s{int(rng.integers(i + 1, min(n, i + 6)))}"
        sites.append({"name": f"s{i}", "supplier": supplier, "lead_time": int(rng.integers(1, 4)),
                      "holding_cost": 1.0, "backlog_cost": 5.0, "initial_inventory": 5, "priority": int(i % 3)})
    supplying = {s["supplier"] for s in sites}
    demand = {s["name"]: {"kind": "poisson", "mean": 3} for s in sites if s["name"] not in supplying}
    for allocation in ("proportional", "priority"):
        spec = {"periods": 10, "sites": sites, "demand": demand, "allocation": allocation,
                "capacities": [{"name": "c", "sites": ["s0", "s1", "s2"], "limit": 9}]}
        scenario = load_scenario(spec)
        assert not jax_core.JaxGraph(Simulator(scenario).params.graph).dense
        play_both(scenario, seed=11, batch=3, order_high=8)
