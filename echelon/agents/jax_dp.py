"""The lost-sales dynamic program's value iteration on the device (``echelon optimal --method dp --backend jax``).

:func:`jax_relative_value_iteration` is :func:`agents.dp.relative_value_iteration` as one compiled
``lax.while_loop`` over the same arrays (:func:`agents.dp.lost_sales_arrays`): the same Bellman operator, the
same stopping rule (Odoni's bounds within :data:`agents.dp.TOLERANCE`), so an accelerator can solve instances
with longer lead times than the host's memory and patience allow (Farrington et al. 2023, "Going faster to
see further", do the same for perishable inventory). The NumPy DP stays the reference: tests solve Zipkin's
instances both ways and compare costs and tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from echelon.agents.dp import MAX_ITERATIONS, TOLERANCE, LostSalesArrays
from echelon.envs.errors import ConfigError
from echelon.envs.jax_core import jax, jnp

DEVICE_MAX_CELLS = 2_500_000_000
"""Largest work array on an accelerator: float64, 20 GB a copy, about three held at once (an H200's 139 GB
holds Zipkin's L = 8, 2.37e9 values; an H100 up to L = 7)."""


def _q_values(a: LostSalesArrays, pi: Any, penalty: Any, value: Any) -> Any:
    """:func:`agents.dp._q_values` in JAX (``penalty()`` builds the penalty inside the traced program)."""
    penalty = penalty()
    if a.m == 0:
        after = a.period + pi @ value
        return after[np.minimum(a.total[:, None] + np.arange(len(a.ordering)), a.top)] + penalty
    if a.m == 1:
        return pi @ value[a.shift] + penalty
    return jnp.tensordot(pi, value[a.shift], axes=(1, 0)) + penalty


def jax_relative_value_iteration(a: LostSalesArrays, dtype: Any = None) -> tuple[float, float, np.ndarray, int]:
    """The lost-sales DP by relative value iteration on JAX's default device: (lower, upper bound on g*,
    optimal order table, iterations), as :func:`agents.dp.relative_value_iteration`."""
    dtype = dtype or jnp.zeros(()).dtype
    pi = jnp.asarray(a.pi, dtype)
    z = np.arange(len(a.ordering))
    total = jnp.asarray(a.total)
    # the penalty [shape, z] built inside the program from [shape] and [z], so XLA fuses it into the sum
    # instead of holding an array as large as the problem (on Zipkin's L = 8: 19 GB)
    def penalty() -> Any:
        return jnp.where((total[..., None] + z <= a.top) | (z == 0), jnp.asarray(a.ordering, dtype), jnp.inf)

    period = jnp.asarray(a.period, dtype).reshape((-1,) + (1,) * max(a.m - 1, 0))
    region = jnp.asarray(a.region)

    def update(value: Any) -> tuple[Any, Any, Any]:
        best = _q_values(a, pi, penalty, value).min(axis=-1)
        updated = best if a.m == 0 else best + period
        diff = updated - value
        low = jnp.where(region, diff, jnp.inf).min()
        high = jnp.where(region, diff, -jnp.inf).max()
        return updated - updated.ravel()[0], low, high

    def running(carry: tuple) -> Any:
        _, _, low, high, i = carry
        return (i < MAX_ITERATIONS) & ((i == 0) | (high - low > TOLERANCE * jnp.maximum(1.0, jnp.abs(high))))

    def body(carry: tuple) -> tuple:
        value, _, _, _, i = carry
        updated, low, high = update(value)
        return updated, value, low, high, i + 1

    @jax.jit
    def solve() -> tuple:
        zero = jnp.zeros(a.shape, dtype)
        start = (zero, zero, jnp.asarray(0.0, dtype), jnp.asarray(0.0, dtype), jnp.asarray(0))
        _, before, low, high, i = jax.lax.while_loop(running, body, start)
        return low, high, i, before

    # the table is the last operator's argmin, as in NumPy: of the value before the last update
    low, high, iterations, value = solve()
    iterations = int(iterations)
    if iterations >= MAX_ITERATIONS and float(high - low) > TOLERANCE * max(1.0, abs(float(high))):
        raise ConfigError(f"the exact DP did not converge in {MAX_ITERATIONS} iterations")
    table = jax.jit(lambda v: _q_values(a, pi, penalty, v).argmin(axis=-1))(value)
    return float(low), float(high), np.asarray(table), iterations
