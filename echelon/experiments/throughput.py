"""Throughput of the batched core and of the PettingZoo parallel env.

Measured by ``echelon speed``; figures are printed, never asserted in tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from echelon.agents.registry import make_policy
from echelon.envs.parallel import SupplyChainEnv
from echelon.envs.scenario import parse_scenario, read_yaml
from echelon.envs.simulator import Simulator
from echelon.experiments.plain_env import PlainBeerGame
from echelon.training.vec_env import make_vec_env


@dataclass(frozen=True)
class Throughput:
    label: str
    batch: int
    steps_per_s: float  # batch steps (periods of every copy) per wall second
    site_steps_per_s: float  # steps x batch x sites per wall second
    steps_per_cpu_s: float = float("nan")  # batch steps per second of this process's CPU time
    site_steps_per_cpu_s: float = float("nan")


@dataclass(frozen=True)
class Rate:
    """Calls per wall second and per CPU second (the process's user + system time, every thread)."""

    wall: float
    cpu: float


def _median_rate(step: Callable[[], None], seconds: float, windows: int = 9) -> Rate:
    """Calls of ``step`` per second of wall time and of CPU time: each the median over ``windows`` equal
    slices of ``seconds``.

    A median is robust to a background process stealing one slice; it is not a best case. CPU time counts
    only this process, so on a busy machine it reads the code's own speed where wall time reads low.
    """
    walls, cpus = [], []
    for _ in range(windows):
        calls = 0
        start, cpu = time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - start) < seconds / windows:
            for _ in range(10):
                step()
            calls += 10
        walls.append(calls / elapsed)
        cpus.append(calls / max(time.process_time() - cpu, 1e-9))
    return Rate(float(np.median(walls)), float(np.median(cpus)))


def _throughput(label: str, batch: int, rate: Rate, per_step: float) -> Throughput:
    """A row: ``per_step`` site-steps per call of the measured step."""
    return Throughput(label, batch, rate.wall, rate.wall * per_step, rate.cpu, rate.cpu * per_step)


def core_throughput(scenario: Any, batch: int, seconds: float, seed: int = 0, label: str | None = None
                    ) -> Throughput:
    """Periods per second of :class:`Simulator` at ``batch`` (episode resets included), each site
    ordering 4 units a period."""
    sim = Simulator(scenario, batch=batch)
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    orders = np.full((batch, sim.n_sites), 4.0)

    def step() -> None:
        if sim.done:
            sim.reset(rng)
        sim.step(orders, validate=False)

    rate = _median_rate(step, seconds)
    return _throughput(label or f"core {scenario}", batch, rate, batch * sim.n_sites)


SCALE_SIZES = (4, 50, 500, 5000)
"""Network sizes of ``echelon speed --scale``."""


def distribution_tree(nodes: int, periods: int = 100) -> dict[str, Any]:
    """A plant, about sqrt(nodes) DCs and stores under them, ``nodes`` sites in all; Poisson(4) demand
    at every store, costs and lead times of a textbook distribution network."""
    dcs = max(1, round((nodes - 1) ** 0.5) - 1)
    stores = nodes - 1 - dcs
    sites: list[dict[str, Any]] = [
        {"name": f"store{i}", "supplier": f"dc{i % dcs}", "lead_time": 1 + i % 2, "holding_cost": 2.0,
         "backlog_cost": 20.0, "initial_inventory": 8} for i in range(stores)]
    sites += [{"name": f"dc{d}", "supplier": "plant", "lead_time": 2, "holding_cost": 1.0, "initial_inventory": 40}
              for d in range(dcs)]
    sites.append({"name": "plant", "lead_time": 3, "holding_cost": 0.5, "initial_inventory": 200})
    return {"name": f"tree{nodes}", "periods": periods, "sites": sites,
            "demand": {f"store{i}": {"kind": "poisson", "mean": 4} for i in range(stores)}}


def scale_throughput(nodes: int, batch: int, seconds: float) -> Throughput:
    """Site-steps per second of the core on a :func:`distribution_tree` of ``nodes`` sites."""
    return core_throughput(distribution_tree(nodes), batch, seconds, label=f"core tree of {nodes:,} sites")


def parallel_env_throughput(scenario: str, seconds: float, seed: int = 0) -> Throughput:
    """``ParallelEnv.step`` calls per second with valid constant actions (resets included)."""
    env = SupplyChainEnv(scenario=scenario)
    env.reset(seed=seed)
    actions = {a: 4 for a in env.possible_agents}

    def step() -> None:
        if not env.agents:
            env.reset()
        env.step(actions)

    rate = _median_rate(step, seconds)
    return _throughput(f"ParallelEnv {scenario}", 1, rate, len(env.possible_agents))


def plain_env_throughput(seconds: float) -> Throughput:
    """``step`` calls per second of :class:`~experiments.plain_env.PlainBeerGame` (the beer game written the
    plain way, one object per site) with the same constant actions as :func:`parallel_env_throughput`:
    the yardstick of what stepping one copy at a time can cost."""
    env = PlainBeerGame.beer_game()
    env.reset()
    actions = dict.fromkeys(env.possible_agents, 4)

    def step() -> None:
        if not env.agents:
            env.reset()
        env.step(actions)

    rate = _median_rate(step, seconds)
    return _throughput("plain dict env beer_game", 1, rate, len(env.possible_agents))


def vec_env_throughput(scenario: str, copies: int, seconds: float, seed: int = 0) -> Throughput:
    """``VecEnv.step`` calls per second of :func:`~training.vec_env.make_vec_env` (shared policy, target
    actions, observation building and resets included): what SB3 sees."""
    venv = make_vec_env(scenario, copies=copies, seed=seed)
    venv.reset()
    actions = np.stack([venv.action_space.sample() for _ in range(venv.num_envs)])

    def step() -> None:
        venv.step(actions)

    rate = _median_rate(step, seconds)
    return _throughput(f"make_vec_env {scenario}", copies, rate, venv.num_envs)


@dataclass(frozen=True)
class ValidationTime:
    sites: int
    read_s: float  # YAML parsing
    check_s: float  # every check of envs.scenario, Scenario built


def validation_time(sites: int) -> ValidationTime:
    """Seconds to read and to validate a YAML serial chain of ``sites`` sites (written to a temp file)."""
    import tempfile
    from pathlib import Path

    import yaml

    chain = [{"name": f"s{i}", "supplier": f"s{i + 1}" if i + 1 < sites else None, "lead_time": 1 + i % 3,
              "holding_cost": 1.0, "backlog_cost": 10.0 if i == 0 else 0.0} for i in range(sites)]
    spec = {"name": f"chain{sites}", "periods": 52, "sites": chain, "demand": {"s0": {"kind": "poisson", "mean": 5}}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        start = time.perf_counter()
        raw = read_yaml(path)
        read = time.perf_counter() - start
        start = time.perf_counter()
        parse_scenario(raw, str(path), path.parent)
        check = time.perf_counter() - start
    return ValidationTime(sites, read, check)


@dataclass(frozen=True)
class EpisodeFootprint:
    """One whole episode of a scenario at a batch, with a heuristic deciding: time and memory."""

    sites: int
    periods: int
    batch: int
    seconds: float
    site_steps_per_s: float
    rss_before_mb: float  # the process's resident memory before the episode (imports, scenario)
    peak_mb: float  # the process's peak resident memory, episode included


def episode_footprint(scenario: Any, batch: int, policy: str = "forecast_base_stock",
                      seed: int = 0) -> EpisodeFootprint:
    """Run one episode of ``scenario`` at ``batch`` copies under ``policy``; peak memory from the OS."""
    import resource

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    sim = Simulator(scenario, batch=batch)
    decide = make_policy(policy, sim.scenario)
    before = rss_mb()
    start = time.perf_counter()
    sim.reset(np.random.default_rng(seed))
    decide.reset(batch, np.random.default_rng([seed, 1]))
    while not sim.done:
        sim.step(decide.decide(sim.knowledge()), validate=False)
    seconds = time.perf_counter() - start
    n = sim.n_sites
    return EpisodeFootprint(n, sim.periods, batch, seconds, n * batch * sim.periods / seconds, before, rss_mb())
