"""The benchmark heuristics as device policies for the JAX core (:mod:`envs.jax_core`).

:func:`device_policy` turns a NumPy policy (:mod:`agents.heuristics`, :mod:`agents.forecast`) into a
:class:`DevicePolicy` with the same parameters and the same decisions (``tests/test_jax_policies.py``
plays both on the same draws): installation and echelon base-stock, capped base-stock, (s, S), (r, Q),
moving-average order-up-to, constant orders, pass-through and Sterman's anchoring-and-adjustment rule;
random orders too, from the device's own stream. A device policy is pure: ``init`` gives its memory (a
pytree; ``()`` for the memoryless) from the first state and a key, ``act`` the orders and the next memory,
so a whole episode is one ``lax.scan`` (:func:`rollout`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from echelon.agents.forecast import ForecastBaseStock
from echelon.agents.heuristics import (
    BaseStock,
    CappedBaseStock,
    Constant,
    EchelonBaseStock,
    MinMax,
    PassThrough,
    RandomOrders,
    ReorderPointQuantity,
    Sterman,
)
from echelon.agents.policy import Policy
from echelon.envs import jax_core
from echelon.envs.errors import ConfigError
from echelon.envs.jax_core import Array, JaxState, jax, jnp
from echelon.envs.params import CoreParams


@dataclass(frozen=True, eq=False)
class DevicePolicy:
    """A pure policy for the JAX core: ``init(state, key) -> memory``, ``act(memory, state) -> (memory, orders)``
    (``key``: the policy's own random stream, for those that draw)."""

    name: str
    init: Callable[[JaxState, Array], Any]
    act: Callable[[Any, JaxState], tuple[Any, Array]]


def _stateless(name: str, decide: Callable[[JaxState], Array]) -> DevicePolicy:
    return DevicePolicy(name, lambda _s, _k: (), lambda memory, state: (memory, decide(state)))


def _base_stock(p: BaseStock, params: CoreParams) -> DevicePolicy:
    levels = p.levels.reshape(1, -1)
    return _stateless(p.name, lambda s: jax_core.sequential_orders(
        s, params, lambda j, ip, _: jnp.maximum(levels[:, j] - ip, 0.0)))


def _echelon_base_stock(p: EchelonBaseStock, params: CoreParams) -> DevicePolicy:
    levels = p.levels.reshape(1, -1)
    return _stateless(p.name, lambda s: jnp.maximum(levels - jax_core.echelon_inventory_position(s, params), 0.0))


def _capped(p: CappedBaseStock, params: CoreParams) -> DevicePolicy:
    levels, cap = p.levels.reshape(1, -1), p.cap.reshape(1, -1)
    return _stateless(p.name, lambda s: jax_core.sequential_orders(
        s, params, lambda j, ip, _: jnp.minimum(jnp.maximum(levels[:, j] - ip, 0.0), cap[:, j])))


def _min_max(p: MinMax, params: CoreParams) -> DevicePolicy:
    small, big = p.s.reshape(1, -1), p.S.reshape(1, -1)
    return _stateless(p.name, lambda s: jax_core.sequential_orders(
        s, params, lambda j, ip, _: jnp.where(ip <= small[:, j], big[:, j] - ip, 0.0)))


def _r_q(p: ReorderPointQuantity, params: CoreParams) -> DevicePolicy:
    r, size = p.r.reshape(1, -1), p.Q.reshape(1, -1)

    def rule(j: np.ndarray, ip: Array, _: Array) -> Array:
        batches = jnp.floor((r[:, j] - ip) / size[:, j]) + 1.0
        return jnp.where(ip <= r[:, j], batches * size[:, j], 0.0)

    return _stateless(p.name, lambda s: jax_core.sequential_orders(s, params, rule))


def _constant(p: Constant, params: CoreParams) -> DevicePolicy:
    quantity = p.quantity.reshape(1, -1)
    return _stateless(p.name, lambda s: jnp.broadcast_to(quantity, s.on_hand.shape).astype(s.on_hand.dtype))


def _pass_through(p: PassThrough, params: CoreParams) -> DevicePolicy:
    return _stateless(p.name, lambda s: s.incoming)


def _sterman(p: Sterman, params: CoreParams) -> DevicePolicy:
    theta, alpha, beta, target = (v.reshape(1, -1) for v in (p.theta, p.alpha_s, p.beta, p.target))

    def act(expected: Array, s: JaxState) -> tuple[Array, Array]:
        expected = theta * s.incoming + (1.0 - theta) * expected
        stock = jax_core.inventory_level(s, params)
        adjust = alpha * (target - stock - beta * jax_core.pipeline(s))
        return expected, jnp.maximum(expected + adjust, 0.0)

    return DevicePolicy(p.name, lambda s, _: s.incoming, act)


def _forecast(p: ForecastBaseStock, params: CoreParams) -> DevicePolicy:
    """Moving-average order-up-to; memory: the last ``window - 1`` signals ``[window - 1, B, S]``."""
    z, cover, instant = p.z.reshape(1, -1), p.cover.reshape(1, -1), p._instant.reshape(1, -1)  # noqa: SLF001
    graph = jax_core.graph_of(params)

    def signal(s: JaxState, received: Array, customer: Array, j: Any = slice(None)) -> Array:
        if p.signal == "customer":
            return customer[:, j]
        return jnp.where(instant[:, j], s.demand[:, j] + received, s.incoming[:, j])

    def act(history: Array, s: JaxState) -> tuple[Array, Array]:
        customer = graph.echelon(s.demand)

        def rule(j: np.ndarray, position: Array, received: Array) -> Array:
            window = jnp.concatenate([history[:, :, j], signal(s, received, customer, j)[None]])
            level = window.mean(axis=0) * cover[:, j] + z[:, j] * window.std(axis=0, ddof=1) * np.sqrt(cover[:, j])
            return jnp.maximum(level - position, 0.0)

        orders = jax_core.sequential_orders(s, params, rule)
        placed = jnp.minimum(orders, params.capacity) if params.capacitated else orders
        current = signal(s, graph.to_suppliers(placed * params.instant), customer)
        return jnp.concatenate([history[1:], current[None]]), orders

    return DevicePolicy(p.name, lambda s, _: jnp.broadcast_to(s.incoming, (p.window - 1, *s.incoming.shape)), act)


def _random(p: RandomOrders, params: CoreParams) -> DevicePolicy:
    """Whole-unit orders uniform on 0..high; memory: the policy's key (its own stream, not NumPy's)."""
    high = p.high.reshape(1, -1)

    def act(key: Array, s: JaxState) -> tuple[Array, Array]:
        key, now = jax.random.split(key)
        u = jax.random.uniform(now, s.on_hand.shape, s.on_hand.dtype)
        return key, jnp.floor(u * (high + 1.0))

    return DevicePolicy(p.name, lambda _, key: key, act)


CONVERTERS: dict[type[Policy], Callable[[Any, CoreParams], DevicePolicy]] = {
    BaseStock: _base_stock, EchelonBaseStock: _echelon_base_stock, CappedBaseStock: _capped, MinMax: _min_max,
    ReorderPointQuantity: _r_q, ForecastBaseStock: _forecast, Constant: _constant, PassThrough: _pass_through,
    Sterman: _sterman, RandomOrders: _random,
}
"""The policies that run on the device, by NumPy class."""


def device_policy(policy: Policy) -> DevicePolicy:
    """The device form of a NumPy policy; :class:`ConfigError` for one that has none."""
    convert = CONVERTERS.get(type(policy))
    if convert is None:
        names = ", ".join(cls.name for cls in CONVERTERS)
        raise ConfigError(f"policy '{policy.name}' has no device form on the JAX back end (device policies: {names})")
    if not policy.scenario.information.trivial:
        raise ConfigError(f"policy '{policy.name}': scenario '{policy.scenario.name}' has an information model; "
                          "the JAX back end runs full, instant information only")
    return convert(policy, policy.params)


def team_cost(flows: jax_core.JaxFlows, state: JaxState) -> Array:
    """A period's cost per copy ``[B]``, summed over sites (:func:`rollout`'s default record)."""
    return flows.cost.sum(axis=1)


def rollout(params: CoreParams, policy: DevicePolicy, state: JaxState, demand: Array, lead_time: Array | None = None,
            record: Callable[[jax_core.JaxFlows, JaxState], Any] = team_cost, key: Array | None = None
            ) -> tuple[JaxState, Any]:
    """Play ``demand`` (``[T, B, S]``) from ``state`` with a device policy as one ``lax.scan``; returns the
    final state and ``record(flows, next_state)`` of each period stacked on a leading ``T`` axis (by default
    the cost per period and copy, ``[T, B]``). ``jax.jit(rollout, static_argnames=("params", "policy",
    "record"))`` compiles the whole episode. ``key``: the policy's own random stream (default ``key(0)``)."""
    def one(carry: tuple, inputs: tuple) -> tuple[tuple, Any]:
        s, memory = carry
        d, lead = inputs
        memory, orders = policy.act(memory, s)
        nxt, flows = jax_core.step(s, orders, d, params, lead)
        return (nxt, memory), record(flows, nxt)

    key = jax.random.key(0) if key is None else key
    (final, _), records = jax.lax.scan(one, (state, policy.init(state, key)), (demand, lead_time))
    return final, records
