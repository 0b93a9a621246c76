"""The benchmark heuristics as device policies for the JAX core (:mod:`envs.jax_core`).

:func:`device_policy` turns a NumPy policy (:mod:`agents.heuristics`) into a :class:`DevicePolicy`
with the same parameters and the same decisions (``tests/test_jax_policies.py`` plays both on the
same draws): installation and echelon base-stock, capped base-stock, (s, S), (r, Q), constant orders,
pass-through and Sterman's anchoring-and-adjustment rule. A device policy is pure: ``init`` gives its
memory (a pytree; ``()`` for the memoryless) from the first state, ``act`` the orders and the next
memory, so a whole episode is one ``lax.scan`` (:func:`rollout`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from echelon.agents.heuristics import (
    BaseStock,
    CappedBaseStock,
    Constant,
    EchelonBaseStock,
    MinMax,
    PassThrough,
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
    """A pure policy for the JAX core: ``init(state) -> memory``, ``act(memory, state) -> (memory, orders)``."""

    name: str
    init: Callable[[JaxState], Any]
    act: Callable[[Any, JaxState], tuple[Any, Array]]


def _stateless(name: str, decide: Callable[[JaxState], Array]) -> DevicePolicy:
    return DevicePolicy(name, lambda _: (), lambda memory, state: (memory, decide(state)))


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

    return DevicePolicy(p.name, lambda s: s.incoming, act)


CONVERTERS: dict[type[Policy], Callable[[Any, CoreParams], DevicePolicy]] = {
    BaseStock: _base_stock, EchelonBaseStock: _echelon_base_stock, CappedBaseStock: _capped, MinMax: _min_max,
    ReorderPointQuantity: _r_q, Constant: _constant, PassThrough: _pass_through, Sterman: _sterman,
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


def rollout(params: CoreParams, policy: DevicePolicy, state: JaxState, demand: Array,
            lead_time: Array | None = None) -> tuple[JaxState, Array]:
    """Play ``demand`` (``[T, B, S]``) from ``state`` with a device policy as one ``lax.scan``; returns the
    final state and the cost per period and copy ``[T, B]``. ``jax.jit(rollout, static_argnames=("params",
    "policy"))`` compiles the whole episode."""
    def one(carry: tuple, inputs: tuple) -> tuple[tuple, Array]:
        s, memory = carry
        d, lead = inputs
        memory, orders = policy.act(memory, s)
        nxt, flows = jax_core.step(s, orders, d, params, lead)
        return (nxt, memory), flows.cost.sum(axis=1)

    (final, _), costs = jax.lax.scan(one, (state, policy.init(state)), (demand, lead_time))
    return final, costs
