"""Throughput of the JAX core beside the NumPy core, whole episodes each (``echelon speed --backend jax``).

Both sides run the same work: one episode of a scenario at a batch, its demand drawn by the back end's
own generator (NumPy's at reset; on the device inside the compiled program), every site ordering 4
units a period (:func:`experiments.throughput.core_throughput`'s load), costs summed. Figures are
printed, never asserted in tests. Each row gives wall time and CPU time (XLA's CPU back end uses
several threads; a quiet machine shows CPU near wall for NumPy), the JAX program's compile time, and
the share of this machine's memory bandwidth the episode's state traffic would take (:func:`bound_share`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from echelon.envs import jax_core
from echelon.envs.jax_core import jax, jnp
from echelon.envs.jax_demand import draw_demand, draw_lead_times
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario, load_scenario
from echelon.envs.simulator import Simulator

ORDER = 4.0
"""Every site's order each period (as in ``echelon speed``'s core rows)."""


@dataclass(frozen=True)
class EpisodeRate:
    """One back end at one batch: median over repeats of whole episodes."""

    backend: str
    scenario: str
    batch: int
    sites: int
    periods: int
    wall_s: float  # one episode, median
    cpu_s: float  # process CPU time of one episode, median
    compile_s: float  # JAX: first call less a later one (tracing and XLA compilation); NumPy: 0
    state_bytes: int  # bytes of state one site-step must read and write (:func:`state_bytes`)

    @property
    def site_steps_per_s(self) -> float:
        return self.batch * self.sites * self.periods / self.wall_s

    @property
    def site_steps_per_cpu_s(self) -> float:
        return self.batch * self.sites * self.periods / self.cpu_s


def state_bytes(params: CoreParams, itemsize: int) -> int:
    """Bytes one site-step must move at least: every ``[B, S]`` state array (on hand, backlog, owed, last
    order, incoming, received, demand, and the transit and order-transmission slots) read once and
    written once, plus the period's demand and orders read once."""
    arrays = 7 + params.lead_slots + params.delay_slots
    return (2 * arrays + 2) * itemsize


def memory_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """This machine's memory bandwidth in bytes/s, measured: the best of ``repeats`` copies of an array of
    ``megabytes`` (a copy reads and writes each byte once)."""
    a = np.ones(megabytes * 2**20 // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - start)
    return 2 * a.nbytes / best


def bound_share(rate: EpisodeRate, bandwidth: float) -> float:
    """The share of ``bandwidth`` the row's state traffic takes: site-steps/s x :func:`state_bytes`."""
    return rate.site_steps_per_s * rate.state_bytes / bandwidth


def _timed(call: Any, repeats: int) -> tuple[float, float, float]:
    """(first call's wall time, median wall and median CPU time of the next ``repeats``)."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        call()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return first, float(np.median(walls)), float(np.median(cpus))


def numpy_episode_rate(scenario: Scenario, batch: int, repeats: int = 3, seed: int = 0) -> EpisodeRate:
    """Whole episodes of the NumPy core at ``batch`` (demand drawn at reset)."""
    sim = Simulator(scenario, batch=batch)
    rng = np.random.default_rng(seed)
    orders = np.full((batch, sim.n_sites), ORDER)

    def episode() -> float:
        sim.reset(rng)
        cost = 0.0
        while not sim.done:
            cost += float(sim.step(orders, validate=False).cost.sum())
        return cost

    _, wall, cpu = _timed(episode, repeats)
    return EpisodeRate("numpy", scenario.name, batch, sim.n_sites, sim.periods, wall, cpu, 0.0,
                       state_bytes(sim.params, 8))


def jax_episode(scenario: Scenario, batch: int, dtype: Any = None) -> Any:
    """A compiled function of a key: one episode of ``scenario`` at ``batch`` on the device, demand and
    random lead times drawn there, every site ordering :data:`ORDER`; returns the total cost."""
    params = CoreParams.from_scenario(scenario)
    periods = scenario.periods
    start = jax_core.initial_state(params, batch, dtype)

    def episode(key: Any) -> Any:
        demand = draw_demand(scenario, params, key, batch, periods, start.on_hand.dtype)
        lead = draw_lead_times(params, jax.random.fold_in(key, 7), batch, periods)
        orders = jnp.full_like(start.on_hand, ORDER)

        def one(state: jax_core.JaxState, inputs: tuple) -> tuple[jax_core.JaxState, Any]:
            d, lt = inputs
            nxt, flows = jax_core.step(state, orders, d, params, lt)
            return nxt, flows.cost.sum()

        _, costs = jax.lax.scan(one, start, (demand, lead))
        return costs.sum()

    return jax.jit(episode)


def jax_episode_rate(scenario: Scenario, batch: int, repeats: int = 3, dtype: Any = None) -> EpisodeRate:
    """Whole episodes of the JAX core at ``batch`` on JAX's default device."""
    run = jax_episode(scenario, batch, dtype)
    keys = iter(jax.random.split(jax.random.key(0), repeats + 1))
    first, wall, cpu = _timed(lambda: run(next(keys)).block_until_ready(), repeats)
    itemsize = jnp.zeros((), dtype).dtype.itemsize
    params = CoreParams.from_scenario(scenario)
    return EpisodeRate("jax", scenario.name, batch, params.n_sites, scenario.periods, wall, cpu,
                       max(first - wall, 0.0), state_bytes(params, itemsize))


def compare(scenario_name: str, batches: list[int], repeats: int = 3, dtype: Any = None,
            numpy: bool = True) -> list[EpisodeRate]:
    """NumPy and JAX rows for each batch, NumPy first (``numpy=False``: JAX only, e.g. on a GPU at batches
    the host cannot hold)."""
    scenario = load_scenario(scenario_name)
    rows = []
    for batch in batches:
        if numpy:
            rows.append(numpy_episode_rate(scenario, batch, repeats))
        rows.append(jax_episode_rate(scenario, batch, repeats, dtype))
    return rows


def device_name() -> str:
    """JAX's default device, in words (``cpu``, ``NVIDIA H200``)."""
    device = jax.devices()[0]
    return getattr(device, "device_kind", device.platform)
