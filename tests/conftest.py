"""Fixtures shared by the test modules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


@pytest.fixture
def quiet_warnings():
    """Silence warnings third-party checkers raise about Echelon's (deliberately) unbounded Box spaces."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture
def first_orders():
    """``first_orders(policy, scenario, periods, episode=None)``: the orders of site 0 in one episode, period by
    period, the policy deciding from what its roles may know (``episode``: inputs written out by hand)."""
    from echelon.envs.simulator import Simulator

    def run(policy, scenario, periods: int, episode=None) -> list[float]:
        sim = Simulator(scenario)
        sim.reset(np.random.default_rng(0), episode)
        policy.reset(1, np.random.default_rng(0))
        placed = []
        for _ in range(periods):
            q = policy.decide(sim.knowledge())
            placed.append(float(q[0, 0]))
            sim.step(q)
        return placed

    return run


def _small_scenarios() -> list[str]:
    from echelon.envs.scenario import available_scenarios

    return [name for name in available_scenarios() if name not in LARGE_SCENARIOS]


LARGE_SCENARIOS = ("planner_network",)
"""Built-in scenarios too big for tests that run every scenario through every shell and client
(thousands of agents); tests/test_large.py covers them."""
SMALL_SCENARIOS = _small_scenarios()
