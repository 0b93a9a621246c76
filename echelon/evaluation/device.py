"""Policy metrics from episodes simulated on the JAX core (``echelon benchmark --backend jax``).

The device simulates; the host keeps the books. Each block of episodes is one compiled program: demand and
random lead times drawn on the device from the seed (:mod:`envs.jax_demand`), the policy's device form
(:mod:`agents.jax_policies`) and the core as one ``lax.scan`` that records, period by period, what the
metrics need. The records come back to the host and go through the same
:class:`~evaluation.metrics.MetricsAccumulator` the NumPy benchmark uses, so every metric means what it
means there.

Common random numbers: block k of a run with seed ``s`` draws from ``fold_in(key(s), k)``, the same for
every policy, so paired differences are paired (a random policy's own stream is ``fold_in(block key,
11)``). The draws are the device generator's, not NumPy's: a device benchmark's figures agree with the
NumPy benchmark's to within their confidence intervals, not digit for digit
(``tests/test_device_benchmark.py`` checks both).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from echelon.agents.jax_policies import CONVERTERS, device_policy, rollout
from echelon.agents.policy import Policy
from echelon.agents.registry import POLICIES
from echelon.envs import jax_core
from echelon.envs.errors import ConfigError
from echelon.envs.jax_core import jax, jnp
from echelon.envs.jax_demand import draw_demand, draw_lead_times, draw_model
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario
from echelon.evaluation.metrics import Metrics, MetricsAccumulator
from echelon.evaluation.rollout import Trajectory

RECORD_BYTES = 2**30
"""Most bytes of per-period records one block of episodes brings back to the host."""
FIELDS = tuple(Trajectory.__dataclass_fields__)
"""What a period records: a :class:`~evaluation.rollout.Trajectory`'s fields (:func:`evaluation.rollout.rows`)."""
ADDED = ("orders", "demand", "sales", "on_hand", "backlog", "customer_backlog", "cost", "in_transit")
"""The fields :meth:`MetricsAccumulator.add` takes, in its order."""


def block_size(scenario: Scenario, episodes: int, itemsize: int = 8) -> int:
    """Episodes per block: all of them, or as many as keep a block's records within :data:`RECORD_BYTES`."""
    per_episode = scenario.periods * len(scenario.sites) * len(FIELDS) * itemsize
    return max(1, min(episodes, RECORD_BYTES // per_episode))


def _records(params: CoreParams) -> Any:
    def record(flows: jax_core.JaxFlows, state: jax_core.JaxState) -> dict[str, Any]:
        got = {"orders": flows.orders, "demand": flows.demand, "incoming": state.incoming, "sales": flows.sales,
               "on_hand": state.on_hand, "backlog": jax_core.backlog_total(state, params),
               "customer_backlog": state.backlog, "lost": flows.lost, "cost": flows.cost,
               "in_transit": jax_core.total(state.transit, state.on_hand)}
        return {name: got[name] for name in FIELDS}

    return record


def device_blocks(scenario: Scenario, episodes: int, seed: int) -> tuple[int, list[int], Any]:
    """(block size, the episodes of each block, the run's key): the common random numbers of a device run."""
    size = block_size(scenario, episodes)
    sizes = [min(size, episodes - first) for first in range(0, episodes, size)]
    return size, sizes, jax.random.key(seed)


def device_measure(policy: Policy, scenario: Scenario, episodes: int, seed: int, warmup: int = 0,
                   dtype: Any = None) -> tuple[Metrics, Trajectory]:
    """A policy's metrics over ``episodes`` device episodes (as :func:`evaluation.metrics.measure`), and the
    first episode's trajectory. Every policy measured with ``seed`` faces the same draws."""
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1 (got {episodes})")
    params = CoreParams.from_scenario(scenario)
    device = device_policy(policy)
    size, sizes, key = device_blocks(scenario, episodes, seed)
    start = jax_core.initial_state(params, size, dtype)
    record = _records(params)

    @jax.jit
    def block(k: Any) -> Any:
        demand = draw_demand(scenario, params, k, size, scenario.periods, start.on_hand.dtype)
        lead = draw_lead_times(params, jax.random.fold_in(k, 7), size, scenario.periods)
        return rollout(params, device, start, demand, lead, record, jax.random.fold_in(k, 11))[1]

    acc = MetricsAccumulator(scenario, params, warmup)
    first = None
    for k, n in enumerate(sizes):
        got = block(jax.random.fold_in(key, k))
        records = {name: np.asarray(r, dtype=np.float64)[:, :n] for name, r in got.items()}
        for t in range(scenario.periods):
            acc.add(*(records[name][t] for name in ADDED))
        acc.extend()
        if first is None:
            first = Trajectory(**{name: r[:, :1].copy() for name, r in records.items()})
    return acc.metrics(), first


def as_dtype(name: str | None) -> Any:
    """``float64`` (turning on JAX's 64-bit mode) or ``float32``; None: float64 on a CPU, else float32."""
    name = name or ("float64" if jax.default_backend() == "cpu" else "float32")
    if name == "float64":
        jax.config.update("jax_enable_x64", True)
    return jnp.dtype(name)


def check_on_device(specs: list[tuple[str, Any]], scenarios: list[Scenario]) -> None:
    """Refuse, before any work, a run with a policy that has no device form or a scenario the device cannot
    draw (``specs``: (where, policy spec) pairs); one :class:`ConfigError` line naming it."""
    names = ", ".join(cls.name for cls in CONVERTERS)
    for where, spec in specs:
        name = spec if isinstance(spec, str) else spec.get("policy")
        if POLICIES.get(name) not in CONVERTERS:
            raise ConfigError(f"{where}: policy '{name}' has no device form on the JAX back end (device policies: "
                              f"{names}); run it without --backend jax")
    for scenario in scenarios:
        if not scenario.information.trivial:
            raise ConfigError(f"scenario '{scenario.name}' has an information model; the JAX back end runs full, "
                              "instant information only")
        for model in scenario.demand.values():
            draw_model(model, jax.random.key(0), 1, 1, jnp.float32)  # raises for a kind it cannot draw
