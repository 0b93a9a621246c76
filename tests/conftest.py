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


@pytest.fixture
def base_scenario():
    """A valid two-site serial scenario as a mapping, a fresh copy per test (the catalogue's base)."""
    import copy

    from catalogue import SCENARIO

    return copy.deepcopy(SCENARIO)


@pytest.fixture
def tiny_training():
    """A valid training config that trains in seconds (PPO on textbook_serial, 600 timesteps), fresh per test."""
    import copy

    from catalogue import TRAINING

    return copy.deepcopy(TRAINING)


@pytest.fixture
def write_yaml(tmp_path):
    """``write_yaml(data, name="x.yaml")``: ``data`` (a mapping, or text as it is) written into the test's folder;
    returns the path."""
    import yaml

    def write(data, name: str = "x.yaml"):
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
        return path

    return write
