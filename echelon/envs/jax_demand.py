"""Customer demand and random lead times drawn on the device, for the JAX core (:mod:`envs.jax_core`).

The same distributions as :mod:`envs.demand` (and :func:`envs.simulator.sample_episode`'s lead times),
drawn with JAX's counter-based generator from one ``jax.random`` key, so an accelerator does not wait
for the host to draw ``[T, B, S]`` arrays. The draws are not NumPy's numbers: runs compared on common
random numbers across back ends pass the NumPy draws in instead (``rollout(..., demand, lead_time)``);
``tests/test_jax_demand.py`` checks each model's mean and variance against its definition.

Supported: Poisson, negative binomial, geometric and empirical (by inversion of the distribution
function), normal (censored at 0), discrete uniform, seasonal Poisson, step change (deterministic or
Poisson) and replayed series (from row 0, or a uniform random start per episode).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from echelon.envs.demand import (
    Empirical,
    Geometric,
    NegativeBinomial,
    Normal,
    Poisson,
    Replay,
    Seasonal,
    StepChange,
    Uniform,
)
from echelon.envs.errors import ConfigError
from echelon.envs.jax_core import Array, jax, jnp
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario
from echelon.envs.simulator import same_model_groups


def _poisson(key: Array, rate: Any, shape: tuple[int, ...], dtype: Any) -> Array:
    return jax.random.poisson(key, jnp.broadcast_to(jnp.asarray(rate, dtype), shape), shape).astype(dtype)


def _by_inversion(model: Any, key: Array, shape: tuple[int, ...], dtype: Any) -> Array:
    """Whole-unit draws by inversion of the model's distribution function, one uniform each (as the NumPy
    Poisson draws; JAX's own Poisson sampler loops and was 7x slower here). Mass beyond the distribution
    function's last entry (below 1e-15) is never drawn."""
    cdf = np.cumsum(model.pmf(1.0))
    cdf = jnp.asarray(cdf[: int(np.searchsorted(cdf, 1.0 - 1e-15)) + 1], dtype)
    u = jax.random.uniform(key, shape, dtype)
    return jnp.minimum(jnp.searchsorted(cdf, u, side="right"), len(cdf) - 1).astype(dtype)


def draw_model(model: Any, key: Array, periods: int, batch: int, dtype: Any) -> Array:
    """``[periods, batch]`` draws of one demand model (time-major, as the core consumes them)."""
    shape = (periods, batch)
    if isinstance(model, Poisson | NegativeBinomial | Geometric | Empirical):
        return _by_inversion(model, key, shape, dtype)
    if isinstance(model, Normal):
        return jnp.maximum(model.mean + model.std * jax.random.normal(key, shape, dtype), 0.0)
    if isinstance(model, Uniform):
        return jax.random.randint(key, shape, model.low, model.high + 1).astype(dtype)
    if isinstance(model, Seasonal):
        return _poisson(key, model.means(periods)[:, None], shape, dtype)
    if isinstance(model, StepChange):
        level = jnp.broadcast_to(jnp.where(jnp.arange(periods) < model.at, model.before, model.after)[:, None],
                                 shape).astype(dtype)
        return _poisson(key, level, shape, dtype) if model.noise == "poisson" else level
    if isinstance(model, Replay):
        n = len(model.values)
        if periods > n:
            raise ConfigError(f"{model.source}: has {n} rows, fewer than the {periods} periods asked")
        first = (jax.random.randint(key, (batch,), 0, n - periods + 1) if model.random_start and n > periods
                 else jnp.zeros(batch, jnp.int32))
        return jnp.asarray(model.values, dtype)[jnp.arange(periods)[:, None] + first[None, :]]
    raise ConfigError(f"demand model {type(model).__name__} has no device sampler on the JAX back end")


def draw_demand(scenario: Scenario, params: CoreParams, key: Array, batch: int, periods: int,
                dtype: Any = None) -> Array:
    """Customer demand ``[periods, batch, sites]`` of a scenario (0 at sites without). Sites with equal models
    are drawn together (:func:`envs.simulator.same_model_groups`; the planner network's 3,750 customer nodes
    are 20 draws, not 3,750), group g from ``fold_in(key, g)``."""
    if not scenario.information.trivial:
        raise ConfigError(f"scenario '{scenario.name}' has an information model; the JAX back end runs full, "
                          "instant information only")
    dtype = dtype or jnp.zeros(()).dtype
    demand = jnp.zeros((periods, batch, params.n_sites), dtype)
    for g, (model, sites) in enumerate(same_model_groups(scenario, params.names)):
        drawn = draw_model(model, jax.random.fold_in(key, g), periods, batch * len(sites), dtype)
        demand = demand.at[:, :, sites].set(drawn.reshape(periods, batch, len(sites)))
    return demand


def draw_lead_times(params: CoreParams, key: Array, batch: int, periods: int) -> Array | None:
    """Random lead times ``[periods, batch, sites]`` (None where every lead time is fixed): each site's drawn
    from its values with its probabilities (a fixed site's one value)."""
    if not params.random_lead:
        return None
    columns = []
    for i, (values, probs) in enumerate(zip(params.lead_values, params.lead_probs, strict=True)):
        k = jax.random.fold_in(key, 1_000_003 + i)
        columns.append(jax.random.choice(k, jnp.asarray(values), (periods, batch), p=jnp.asarray(probs)))
    return jnp.stack(columns, axis=-1)
