"""An ES population's episodes on the device (``backend: jax, algo: es``).

:func:`device_population_cost` is :func:`agents.es.population_cost` as one compiled program: every
member of the population plays the same episodes side by side on the JAX core, observing through the
same learner view (:mod:`envs.observations`' learner form, rebuilt here from the observer's own scales
and one-hots) and acting through the same network and action form. ``tests/test_jax_es.py`` plays both
on the same draws. What it covers: a model controlling every site (``shared`` or ``central`` mode, no
``others``), observations ``local``, ``shared`` or ``global`` (no pipeline or advance demand), and the
level and quantity action forms ES drives.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from echelon.agents.es import ESModel, PopulationCost
from echelon.agents.learner_view import LearnerView
from echelon.envs import jax_core
from echelon.envs.errors import ConfigError
from echelon.envs.jax_core import Array, JaxState, jax, jnp
from echelon.envs.jax_demand import draw_demand, draw_lead_times
from echelon.envs.scenario import Scenario


def check_device_view(view: LearnerView, others: Any = None) -> None:
    """Refuse, in one line, a learner view the device population cannot play (module docstring)."""
    if others is not None or len(view.sites) != len(view.scenario.sites):
        raise ConfigError("backend jax: the ES model must control every site (mode shared or central, no others)")
    if view.observation == "pipeline":
        raise ConfigError("backend jax: observation pipeline is not on the device yet (use local, shared or global)")
    if not view.scenario.information.trivial:
        raise ConfigError(f"backend jax: scenario '{view.scenario.name}' has an information model; the JAX back "
                          "end runs full, instant information only")
    if view.form.name == "demand_plus":
        raise ConfigError("backend jax: action demand_plus is not an ES action")


def features(state: JaxState, params: Any) -> Array:
    """:func:`envs.observations.site_features` on the device, ``[B, S, 8]`` in float32 as there."""
    backlog = jax_core.backlog_total(state, params)
    in_transit = jax_core.total(state.transit, state.on_hand)
    on_order = state.owed + jax_core.total(state.pending, state.owed)
    position = state.on_hand - backlog + in_transit + on_order
    return jnp.stack((state.on_hand, backlog, position, in_transit, on_order, state.incoming, state.received,
                      state.last_order), axis=-1).astype(jnp.float32)


def observe(view: LearnerView, state: JaxState) -> Array:
    """:meth:`LearnerView.observe` on the device: ``[B * slots, dim]`` (copy-major) or ``[B, dim]`` (joint)."""
    ob = view.observer
    feats = features(state, view.params)
    feats = feats / ob.scale[None, :, None] if ob.spec.scaled else feats
    batch = feats.shape[0]
    network = []
    if ob.spec.time_left:
        network.append(jnp.full((batch, 1), 1.0 - state.period / ob.periods, jnp.float32))
    if ob.spec.level == "shared":
        network.append(state.demand.sum(axis=1, keepdims=True).astype(jnp.float32) / ob.customer_scale)
    if ob.joint:
        return jnp.concatenate([feats.reshape(batch, -1), *network], axis=1)
    k = len(ob.sites)
    if ob.spec.level == "global":
        parts = [jnp.broadcast_to(feats.reshape(batch, 1, -1), (batch, k, feats.shape[1] * feats.shape[2]))]
    else:
        parts = [feats[:, ob.index, :]]
    if ob.spec.identity:
        parts.append(jnp.broadcast_to(ob.onehot, (batch, k, ob.onehot.shape[1])))
    if network:
        joined = jnp.concatenate(network, axis=1)
        parts.append(jnp.broadcast_to(joined[:, None, :], (batch, k, joined.shape[1])))
    return jnp.concatenate(parts, axis=2).reshape(-1, ob.dim)


def standardisation(model: ESModel) -> tuple[np.ndarray, np.ndarray]:
    """(mean, 1 / std) of :meth:`ESModel.standardise` from the model's running statistics (0 and 1 before any)."""
    dim = model.view.observer.dim
    if model.obs_count == 0:
        return np.zeros(dim), np.ones(dim)
    mean = model.obs_sum / model.obs_count
    std = np.sqrt(np.maximum(model.obs_sumsq / model.obs_count - mean * mean, 0.0))
    return mean, 1.0 / np.where(std > 1e-6, std, 1.0)


def mlp(shapes: list[tuple[int, int]], theta: Array, x: Array) -> Array:
    """:meth:`agents.es.Network.forward` on the device: a tanh MLP of layer ``shapes`` whose weights are each row
    of ``theta [P, d]``, on ``x [P, N, in]``."""
    at = 0
    for k, (a, b) in enumerate(shapes):
        w = theta[:, at:at + a * b].reshape(-1, a, b)
        at += a * b
        x = jnp.matmul(x, w, precision=jax.lax.Precision.HIGHEST) + theta[:, None, at:at + b]
        at += b
        if k < len(shapes) - 1:
            x = jnp.tanh(x)
    return x


def to_actions(model: ESModel, y: Array) -> Array:
    """:meth:`ESModel.actions` from the network's outputs ``y [P, N, outputs]``: ``anchor x (1 + y)``, clipped
    into the action space, rounded for whole-number forms."""
    slots = y.shape[1]
    anchor = model.anchor if model.view.joint else np.tile(model.anchor, slots // len(model.anchor))[:, None]
    act = jnp.clip(anchor * (1.0 + y), 0.0, model.upper)
    return jnp.round(act) if model.integral else act


def _actions(model: ESModel, theta: Array, obs: Array, mean: Array, inv_std: Array) -> Array:
    """:meth:`ESModel.actions`: ``[P, N, outputs]`` for ``theta [P, d]`` and ``obs [P, N, dim]``."""
    return to_actions(model, mlp(model.network.shapes, theta, (obs - mean) * inv_std))


def device_orders(view: LearnerView, actions: Array, state: JaxState) -> Array:
    """The action form's orders (:meth:`ActionForm.to_orders` without the checks the network's clipping makes
    unnecessary): levels on the installation or echelon position, or quantities."""
    form, params = view.form, view.params
    if form.uniform:
        actions = jnp.minimum(actions, form._upper())  # noqa: SLF001 - the form's own bound
    if form.name in ("target", "continuous_target"):
        levels = jnp.minimum(actions, form.max_order) if form.name == "continuous_target" else actions
        return jax_core.sequential_orders(state, params, lambda j, ip, _: jnp.maximum(levels[:, j] - ip, 0.0))
    if form.name == "echelon_target":
        return jnp.maximum(actions - jax_core.echelon_inventory_position(state, params), 0.0)
    return actions


def device_population_cost(model: ESModel, thetas: np.ndarray, episodes: int, key: Any, scenario: Scenario,
                           dtype: Any = None, demand: Any = None, lead_time: Any = None) -> PopulationCost:
    """Every member of ``thetas [P, d]`` plays the same ``episodes`` side by side on the device: drawn there from
    ``key``, or the given ``demand`` (and ``lead_time``) ``[T, episodes, S]`` (common random numbers with NumPy).
    The program is compiled once per model shape, population and episode count; weights and statistics are
    its arguments."""
    view = model.view
    check_device_view(view)
    dtype = jnp.dtype(dtype or jnp.zeros(()).dtype)
    members = thetas.shape[0]
    program = _program(model, members, episodes, dtype, demand is None)
    mean, inv_std = standardisation(model)
    inputs = (key,) if demand is None else (jnp.asarray(demand, dtype),
                                            None if lead_time is None else jnp.asarray(lead_time))
    total, obs_sum, obs_sq = program(jnp.asarray(thetas, dtype), jnp.asarray(mean, dtype),
                                     jnp.asarray(inv_std, dtype), *inputs)
    per_member = np.asarray(total, dtype=np.float64).reshape(members, episodes).mean(axis=1) / scenario.periods
    steps = members * episodes * view.slots_per_copy * scenario.periods
    return PopulationCost(per_member, steps, float(steps), np.asarray(obs_sum, np.float64),
                          np.asarray(obs_sq, np.float64))


def _program(model: ESModel, members: int, episodes: int, dtype: Any, draws: bool) -> Any:
    """The compiled population rollout (cached by the model's shape and the sizes)."""
    view = model.view
    key = (tuple(model.network.sizes), members, episodes, str(dtype), draws)
    found = _PROGRAMS.setdefault(view, {}).get(key)
    if found is not None:
        return found
    params, scenario = view.params, view.scenario
    periods, dim = scenario.periods, view.observer.dim
    start = jax_core.initial_state(params, members * episodes, dtype)

    def rollout(theta: Array, mean: Array, inv_std: Array, demand: Array, lead_time: Array | None) -> tuple:
        demand = jnp.tile(demand, (1, members, 1))
        lead_time = None if lead_time is None else jnp.tile(lead_time, (1, members, 1))

        def one(carry: tuple, inputs: tuple) -> tuple[tuple, None]:
            state, total, obs_sum, obs_sq = carry
            d, lt = inputs
            obs = observe(view, state)
            act = _actions(model, theta, obs.reshape(members, -1, dim).astype(dtype), mean, inv_std)
            orders = device_orders(view, act.reshape(members * episodes, -1), state)
            nxt, flows = jax_core.step(state, orders, d, params, lt)
            obs = obs.astype(dtype)
            return (nxt, total + flows.cost.sum(axis=1), obs_sum + obs.sum(axis=0),
                    obs_sq + (obs * obs).sum(axis=0)), None

        zero = (start, jnp.zeros(members * episodes, dtype), jnp.zeros(dim, dtype), jnp.zeros(dim, dtype))
        (_, total, obs_sum, obs_sq), _ = jax.lax.scan(one, zero, (demand, lead_time))
        return total, obs_sum, obs_sq

    if draws:
        def program(theta: Array, mean: Array, inv_std: Array, k: Array) -> tuple:
            demand = draw_demand(scenario, params, k, episodes, periods, dtype)
            return rollout(theta, mean, inv_std, demand, draw_lead_times(params, jax.random.fold_in(k, 7),
                                                                        episodes, periods))
    else:
        program = rollout
    compiled = jax.jit(program)
    _PROGRAMS[view][key] = compiled
    return compiled


_PROGRAMS: weakref.WeakKeyDictionary[LearnerView, dict[tuple, Any]] = weakref.WeakKeyDictionary()
"""Compiled population rollouts by learner view (dropped with it) and sizes."""
