"""Throughput of the batched core and of the PettingZoo parallel env.

Measured by ``echelon speed``; figures are printed, never asserted in tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from envs.parallel import SupplyChainEnv
from envs.simulator import Simulator


@dataclass(frozen=True)
class Throughput:
    label: str
    batch: int
    steps_per_s: float  # batch steps (periods of every copy) per second
    site_steps_per_s: float  # steps x batch x sites per second


def core_throughput(scenario: str, batch: int, seconds: float, seed: int = 0) -> Throughput:
    """Periods per second of :class:`Simulator` at ``batch`` (episode resets included)."""
    sim = Simulator(scenario, batch=batch)
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    orders = np.full((batch, sim.n_sites), 4.0)
    steps = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(10):
            if sim.done:
                sim.reset(rng)
            sim.step(orders, validate=False)
        steps += 10
    return Throughput(f"core {scenario}", batch, steps / elapsed, steps * batch * sim.n_sites / elapsed)


def parallel_env_throughput(scenario: str, seconds: float, seed: int = 0) -> Throughput:
    """``ParallelEnv.step`` calls per second with valid constant actions (resets included)."""
    env = SupplyChainEnv(scenario=scenario)
    env.reset(seed=seed)
    actions = {a: 4 for a in env.possible_agents}
    steps = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(10):
            if not env.agents:
                env.reset()
            env.step(actions)
        steps += 10
    n = len(env.possible_agents)
    return Throughput(f"ParallelEnv {scenario}", 1, steps / elapsed, steps * n / elapsed)
