"""Base-stock level search with the candidates simulated on the JAX core (``--backend jax``).

:class:`DeviceLevelEvaluator` is :class:`agents.search.LevelEvaluator` on the device: every candidate level
vector on the same episodes (drawn on the device from the seed, :mod:`envs.jax_demand`), candidates side by
side in one compiled ``lax.scan``. :func:`agents.search.search_levels` uses it inside
:func:`agents.search.evaluating_with` (``echelon optimal --method simulation --backend jax``, and the
``levels: optimal`` of ``echelon benchmark --backend jax``); rules other than plain echelon or installation
base-stock stay on the NumPy evaluator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from echelon.agents.search import LevelEvaluator, LevelRule
from echelon.envs import jax_core
from echelon.envs.jax_core import Array, JaxState, jax, jnp
from echelon.envs.jax_demand import draw_demand, draw_lead_times
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario


class DeviceLevelEvaluator:
    """Mean cost per period of many level vectors of echelon or installation base-stock, on the device.

    The same interface as :class:`~agents.search.LevelEvaluator` (``__call__``, ``per_episode``,
    ``evaluations``, ``params``); the episodes are the device's draws from ``key(seed)``."""

    def __init__(self, scenario: Scenario, kind: str, episodes: int, seed: int, dtype: Any = None) -> None:
        if kind not in ("echelon", "installation"):
            raise ValueError(f"kind: must be echelon or installation (got {kind!r})")
        if episodes < 1:
            raise ValueError(f"episodes: must be >= 1 (got {episodes})")
        self.scenario, self.kind, self.episodes = scenario, kind, episodes
        self.params = CoreParams.from_scenario(scenario)
        self.key = jax.random.key(seed)
        self.dtype = dtype or jnp.zeros(()).dtype
        self.evaluations = 0
        self._run = jax.jit(self._costs, static_argnames=("site",))

    def _orders(self, levels: Array, s: JaxState) -> Array:
        if self.kind == "echelon":
            return jnp.maximum(levels - jax_core.echelon_inventory_position(s, self.params), 0.0)
        return jax_core.sequential_orders(s, self.params, lambda j, ip, _: jnp.maximum(levels[:, j] - ip, 0.0))

    def _costs(self, levels: Array, site: int | None) -> Array:
        """Cost per period ``[K, episodes]`` of ``[K, S]`` levels (candidate-major copies, as the NumPy evaluator)."""
        k, e, p, periods = levels.shape[0], self.episodes, self.params, self.scenario.periods
        demand = jnp.tile(draw_demand(self.scenario, p, self.key, e, periods, self.dtype), (1, k, 1))
        lead = draw_lead_times(p, jax.random.fold_in(self.key, 7), e, periods)
        lead = None if lead is None else jnp.tile(lead, (1, k, 1))
        rows = jnp.repeat(levels.astype(self.dtype), e, axis=0)
        start = jax_core.initial_state(p, k * e, self.dtype)

        def one(s: JaxState, inputs: tuple) -> tuple[JaxState, Array]:
            d, lt = inputs
            nxt, flows = jax_core.step(s, self._orders(rows, s), d, p, lt)
            return nxt, flows.cost.sum(axis=1) if site is None else flows.cost[:, site]

        _, costs = jax.lax.scan(one, start, (demand, lead))
        return (costs.sum(axis=0) / periods).reshape(k, e)

    def per_episode(self, levels: np.ndarray, site: int | None = None) -> np.ndarray:
        """Cost per period ``[K, episodes]`` of each of the ``[K, S]`` level vectors: the team's, or ``site``'s own."""
        levels = np.atleast_2d(np.asarray(levels, dtype=np.float64))
        self.evaluations += len(levels)
        return np.asarray(self._run(jnp.asarray(levels), site), dtype=np.float64)

    def __call__(self, levels: np.ndarray) -> np.ndarray:
        """Mean cost per period ``[K]`` of ``[K, S]`` level vectors."""
        return self.per_episode(levels).mean(axis=1)


def device_evaluator(dtype: Any = None) -> Any:
    """An evaluator factory for :func:`agents.search.evaluating_with`: the device for plain echelon and
    installation base-stock, NumPy's :class:`~agents.search.LevelEvaluator` for other rules."""
    def make(scenario: Scenario, kind: str | LevelRule, episodes: int, seed: int) -> Any:
        if isinstance(kind, str):
            return DeviceLevelEvaluator(scenario, kind, episodes, seed, dtype)
        return LevelEvaluator(scenario, kind, episodes, seed)

    return make
