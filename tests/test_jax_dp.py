"""The lost-sales DP's value iteration on the device equals the NumPy DP: Zipkin's (2008) instances at lead
times 1-4 (his L; pipeline length m = L) and a fixed-cost one, the same cost to 1e-9 and the same table."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from echelon.agents.dp import solve
from echelon.agents.jax_dp import jax_relative_value_iteration
from echelon.agents.single_site import single_site_model
from echelon.envs.scenario import load_scenario

jax.config.update("jax_enable_x64", True)


def _lost_sales(lead: int, p: float, fixed: float = 0.0, demand=None):
    return load_scenario({"name": "z", "periods": 10, "demand": {"r": demand or {"kind": "poisson", "mean": 5}},
                          "sites": [{"name": "r", "lead_time": lead + 1, "holding_cost": 1, "unmet": "lost",
                                     "lost_sales_cost": p, "fixed_order_cost": fixed}]})


@pytest.mark.parametrize(("lead", "p"), [(0, 4), (1, 4), (2, 9), (3, 19), (4, 9)])
def test_device_value_iteration_equals_the_numpy_dp(lead, p):
    model = single_site_model(_lost_sales(lead, p), "the exact DP")
    cpu = solve(model)
    dev = solve(model, rvi=jax_relative_value_iteration)
    assert dev.cost == pytest.approx(cpu.cost, abs=1e-9)
    assert dev.iterations == cpu.iterations
    np.testing.assert_array_equal(dev.table, cpu.table)


def test_a_fixed_cost_and_geometric_demand_too():
    model = single_site_model(_lost_sales(2, 9, fixed=10, demand={"kind": "geometric", "mean": 5}), "the exact DP")
    cpu, dev = solve(model), solve(model, rvi=jax_relative_value_iteration)
    assert dev.cost == pytest.approx(cpu.cost, abs=1e-9)
    np.testing.assert_array_equal(dev.table, cpu.table)
    assert dev.checks == cpu.checks


def test_zipkin_published_optimum_on_the_device():
    """Zipkin (2008), Table 3: L 4, p 4, Poisson(5): optimal 4.73 (Echelon 4.7285 on NumPy)."""
    model = single_site_model(_lost_sales(4, 4), "the exact DP")
    assert solve(model, rvi=jax_relative_value_iteration).cost == pytest.approx(4.7285, abs=5e-5)
