"""The core's transition under JAX: :func:`envs.core.step`'s five phases, written functionally.

One specification, two implementations. :mod:`envs.core` (NumPy) is the specification and stays
the default; this module is its second implementation, proven equal by tests
(``tests/test_jax_core.py``: every built-in scenario and random Hypothesis scenarios, the same
draws into both, equal costs and states). Why two and not one written against an array namespace:
the NumPy core's speed comes from in-place updates, ``np.add.reduceat`` segment sums, BLAS on tiny
dense products and skipping structurally zero terms; functional updates written for both back ends
made the NumPy step slower, and NumPy's figures are the ones every result so far rests on. JAX needs
the opposite (pure updates, fusion), so each back end gets the form it runs fast in.

Everything that does not vary during an episode comes from the same :class:`~envs.params.CoreParams`
the NumPy core compiles, so the scenario, its fast-path flags and its timing are read in one place;
they are static here (Python values at trace time): a compiled step serves one scenario.

State and flows are named tuples of ``jax.Array`` (pytrees, so ``jit``, ``vmap`` and
``lax.scan`` carry them); their fields mean what :class:`envs.core.State` and
:class:`envs.core.Flows` say. Pipelines are tuples of ``[B, S]`` slots as in the NumPy core.

Precision: arithmetic is in the dtype of the inputs. Tests run in float64 (``jax_enable_x64``); an
accelerator usually runs float32, where costs agree to float32 rounding. Matrix products use
``Precision.HIGHEST``, so GPUs do not round through TF32.

Requires the optional extra ``echelon[jax]``; importing this module without JAX is a one-line
:class:`~envs.errors.ConfigError`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from echelon.envs import core
from echelon.envs.errors import ConfigError
from echelon.envs.network import SiteGraph
from echelon.envs.params import CoreParams, Masks

try:
    import jax
    import jax.numpy as jnp
except ImportError:  # pragma: no cover - exercised where JAX is absent
    raise ConfigError("the JAX back end needs JAX: pip install 'echelon[jax]' (or jax[cuda12] for a GPU)") \
        from None

Array = Any
"""A ``jax.Array`` (or a NumPy array, which JAX takes as a constant)."""

_TINY = core._TINY  # noqa: SLF001 - the same guards as the specification
_ROUND = core._ROUND  # noqa: SLF001
_HIGHEST = jax.lax.Precision.HIGHEST


class JaxState(NamedTuple):
    """:class:`envs.core.State` as a pytree (``period`` a 0-d integer array)."""

    period: Array
    on_hand: Array
    backlog: Array
    owed: Array
    transit: tuple[Array, ...]
    pending: tuple[Array, ...]
    last_order: Array
    incoming: Array
    received: Array
    demand: Array


class JaxFlows(NamedTuple):
    """:class:`envs.core.Flows` as a pytree."""

    orders: Array
    shipped: Array
    received: Array
    demand: Array
    sales: Array
    lost: Array
    cancelled: Array
    holding_cost: Array
    pipeline_cost: Array
    shortage_cost: Array
    ordering_cost: Array
    cost: Array


def to_jax(state: core.State, dtype: Any = None) -> JaxState:
    """A NumPy state as a :class:`JaxState` (on JAX's default device, in ``dtype`` if given)."""
    def arr(x: np.ndarray) -> Array:
        return jnp.asarray(x, dtype=dtype)
    return JaxState(jnp.asarray(state.period), arr(state.on_hand), arr(state.backlog), arr(state.owed),
                    tuple(arr(s) for s in state.transit), tuple(arr(s) for s in state.pending),
                    arr(state.last_order), arr(state.incoming), arr(state.received), arr(state.demand))


def to_numpy(state: JaxState) -> core.State:
    """A :class:`JaxState` back as the NumPy core's state (float64 arrays)."""
    def arr(x: Array) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)
    return core.State(int(state.period), arr(state.on_hand), arr(state.backlog), arr(state.owed),
                      tuple(arr(s) for s in state.transit), tuple(arr(s) for s in state.pending),
                      arr(state.last_order), arr(state.incoming), arr(state.received), arr(state.demand))


def initial_state(params: CoreParams, batch: int, dtype: Any = None) -> JaxState:
    """:func:`envs.core.initial_state` on the device."""
    return to_jax(core.initial_state(params, batch), dtype)


class JaxGraph:
    """:class:`envs.network.SiteGraph`'s operations in JAX, from its index arrays.

    Networks up to ``dense_max`` sites use the dense 0/1 products (one fused matrix product each,
    cheap on an accelerator); larger ones gathers and scatter-adds, O(B x S)."""

    def __init__(self, graph: SiteGraph, dense_max: int = 64) -> None:
        self.graph = graph
        self.dense = graph.n <= dense_max
        supplier = graph.supplier
        self._internal = np.flatnonzero(supplier >= 0)
        self._their_supplier = supplier[self._internal]
        self._gather = np.where(supplier >= 0, supplier, np.arange(graph.n))
        self._internal_row = (supplier >= 0).astype(np.float64).reshape(1, -1)
        self._order, self._starts, self._group_of = graph.service_order

    def _dot(self, x: Array, m: np.ndarray) -> Array:
        return jnp.matmul(x, jnp.asarray(m, dtype=x.dtype), precision=_HIGHEST)

    def of_supplier(self, x: Array, outside: np.ndarray) -> Array:
        """Each site's supplier's value, plus ``outside`` (:meth:`SiteGraph.of_supplier`)."""
        if self.dense:
            return self._dot(x, self.graph.selects) + outside
        return x[:, self._gather] * self._internal_row + outside

    def to_suppliers(self, x: Array) -> Array:
        """Each site's sum over its customers (:meth:`SiteGraph.to_suppliers`)."""
        if self.dense:
            return self._dot(x, self.graph.feeds)
        return jnp.zeros_like(x).at[:, self._their_supplier].add(x[:, self._internal])

    def group_total(self, x: Array) -> Array:
        """Each site's sum over its supplier's customers (:meth:`SiteGraph.group_total`)."""
        if self.dense:
            return self._dot(x, self.graph.siblings)
        sums = self.to_suppliers(x)
        return jnp.where(self._internal_row > 0, sums[:, self._gather], x)

    def before(self, x: Array) -> Array:
        """Each site's sum over the customers its supplier serves before it (:meth:`SiteGraph.before`)."""
        if self.dense:
            return self._dot(x, self.graph.ahead)
        if not self._order.size:
            return jnp.zeros_like(x)
        xs = x[:, self._order]
        done = jnp.cumsum(xs, axis=1) - xs
        return jnp.zeros_like(x).at[:, self._order].set(done - done[:, self._starts][:, self._group_of])

    def echelon(self, x: Array) -> Array:
        """Each site's sum over its subtree (:meth:`SiteGraph.echelon`)."""
        if self.dense:
            return self._dot(x, self.graph.subtree)
        for sites, _, _ in self.graph.levels:  # leaves first, so each customer's sum is complete
            x = x.at[:, self.graph.supplier[sites]].add(x[:, sites])
        return x


def graph_of(params: CoreParams) -> JaxGraph:
    """The JAX graph of compiled parameters, made once per parameters object (dropped with it)."""
    found = _GRAPHS.get(params)
    if found is None:
        found = _GRAPHS[params] = JaxGraph(params.graph)
    return found


_GRAPHS: weakref.WeakKeyDictionary[CoreParams, JaxGraph] = weakref.WeakKeyDictionary()


def allocate(owed: Array, stock: Array, params: CoreParams) -> Array:
    """:func:`envs.core.allocate`."""
    if params.single_customer:
        return jnp.minimum(owed, stock)
    graph = graph_of(params)
    if not params.proportional:
        return _allocate_priority(owed, stock, graph)
    total_owed = graph.group_total(owed)
    ship = owed * jnp.minimum(stock / jnp.maximum(total_owed, _TINY), 1.0)
    if params.integral:
        base = jnp.floor(ship + _ROUND)
        ship = base + _allocate_priority(owed - base, stock - graph.group_total(base), graph)
    return ship


def _allocate_priority(owed: Array, stock: Array, graph: JaxGraph) -> Array:
    return jnp.minimum(jnp.maximum(stock - graph.before(owed), 0.0), owed)


Pipeline = tuple[Array, ...]


def _advance(pipe: Pipeline, inflow: Array, masks: Masks) -> tuple[Array, Pipeline]:
    """:func:`envs.core._advance`: shift a pipeline on, feeding ``inflow`` by the sites' offsets."""
    if masks[-1] is True:
        return (pipe[0], (*pipe[1:], inflow)) if pipe else (inflow, pipe)
    parts = [None if m is None else inflow if m is True else inflow * m for m in masks]
    if not pipe:
        return (jnp.zeros_like(inflow) if parts[0] is None else parts[0]), pipe
    due = pipe[0] if parts[0] is None else pipe[0] + parts[0]
    nxt = []
    for j, fed in enumerate(parts[1:]):
        kept = pipe[j + 1] if j + 1 < len(pipe) else None
        if fed is None:
            nxt.append(jnp.zeros_like(inflow) if kept is None else kept)
        else:
            nxt.append(fed if kept is None else kept + fed)
    return due, tuple(nxt)


def _advance_random(pipe: Pipeline, inflow: Array, offset: Array) -> tuple[Array, Pipeline]:
    """:func:`envs.core._advance_random`."""
    now = jnp.where(offset == 0, inflow, 0.0)
    due = pipe[0] + now if pipe else now
    later = (*pipe[1:], jnp.zeros_like(inflow))
    return due, tuple(slot + jnp.where(offset == k + 1, inflow, 0.0) for k, slot in enumerate(later))


def cut_to_limit(orders: Array, limit: float, by_priority: bool, integral: bool) -> Array:
    """:func:`envs.core.cut_to_limit`."""
    if by_priority:
        return _in_order(orders, limit)
    share = orders * jnp.minimum(limit / jnp.maximum(orders.sum(axis=1, keepdims=True), _TINY), 1.0)
    if not integral:
        return share
    base = jnp.floor(share + _ROUND)
    left = jnp.floor(limit - base.sum(axis=1, keepdims=True) + _ROUND)
    return base + _in_order(orders - base, left)


def _in_order(orders: Array, limit: Any) -> Array:
    return jnp.minimum(jnp.maximum(limit - (jnp.cumsum(orders, axis=1) - orders), 0.0), orders)


def total(pipe: Pipeline, like: Array) -> Array:
    """:func:`envs.core.total`."""
    return sum(pipe[1:], pipe[0]) if pipe else jnp.zeros_like(like)


def placed_orders(orders: Array, params: CoreParams) -> Array:
    """:func:`envs.core.placed_orders`."""
    q = jnp.minimum(orders, params.capacity) if params.capacitated else orders
    for cap in params.shared:
        q = q.at[:, cap.sites].set(cut_to_limit(q[:, cap.sites], cap.limit + cap.overtime, cap.by_priority,
                                                params.integral))
    return q


def _overtime(q: Array, p: CoreParams) -> Array | None:
    """:func:`envs.core._overtime`."""
    overtime = None
    for cap in p.shared:
        if cap.overtime_cost:
            overtime = jnp.zeros_like(q) if overtime is None else overtime
            group = q[:, cap.sites]
            carried = group.sum(axis=1, keepdims=True)
            above = jnp.maximum(carried - cap.limit, 0.0)
            overtime = overtime.at[:, cap.sites].add(cap.overtime_cost * above * group / jnp.maximum(carried, _TINY))
    return overtime


def _reach_suppliers(state: JaxState, q: Array, p: CoreParams) -> tuple:
    """Phase 1 (:func:`envs.core._reach_suppliers`)."""
    if p.any_delay:
        due, pending = _advance(state.pending, q, p.delay_masks)
    else:
        due, pending = None, state.pending
    if p.all_instant:
        reached = q
    else:
        reached = due if not p.any_instant else q * p.instant + due
    if p.early_join or p.all_instant:
        owed = state.owed + reached
    else:
        owed = state.owed + q * p.instant if p.any_instant else state.owed
    return due, pending, reached, owed


def _ship_and_receive(state: JaxState, owed: Array, lead_time: Array | None, p: CoreParams) -> tuple:
    """Phases 2 and 3 (:func:`envs.core._ship_and_receive`)."""
    graph = graph_of(p)
    offset = None if lead_time is None else lead_time - 1 + p.lead_extra
    if p.ship_after_arrivals:
        on_hand = state.on_hand + state.transit[0] if state.transit else state.on_hand
        if p.outside_now is not None:
            now = p.outside_now if offset is None else p.outside_now * (offset == 0)
            on_hand = on_hand + owed * now
    else:
        on_hand = state.on_hand
    stock = graph.of_supplier(on_hand, p.outside_stock)
    ship = allocate(owed, stock, p)
    owed = owed - ship
    on_hand = on_hand - graph.to_suppliers(ship)
    if p.any_supplier_lost:
        cancelled = owed * p.supplier_lost
        owed = owed - cancelled
        lost_orders = graph.to_suppliers(cancelled)
    else:
        cancelled = jnp.zeros_like(owed)
        lost_orders = 0.0
    if offset is None:
        received, transit = _advance(state.transit, ship, p.lead_masks)
    else:
        received, transit = _advance_random(state.transit, ship, offset)
    if not p.ship_after_arrivals:
        on_hand = on_hand + received
    return on_hand, owed, ship, cancelled, lost_orders, received, transit


def _serve_customers(state: JaxState, on_hand: Array, demand: Array, lost_orders: Any, p: CoreParams) -> tuple:
    """Phase 4 (:func:`envs.core._serve_customers`)."""
    need = state.backlog + demand
    sales = jnp.minimum(on_hand, need)
    on_hand = on_hand - sales
    unmet = need - sales
    if p.any_lost:
        return on_hand, sales, unmet * p.lost + lost_orders, unmet * p.backlogs
    return on_hand, sales, jnp.zeros_like(unmet), unmet


def _costs(on_hand: Array, backlog: Array, owed: Array, lost: Array, transit: Pipeline, q: Array,
           overtime: Array | None, p: CoreParams) -> tuple:
    """Phase 5 (:func:`envs.core._costs`)."""
    holding = p.holding_cost * on_hand
    short = backlog + graph_of(p).to_suppliers(owed)
    shortage = p.shortage_cost * (short + lost if p.any_lost or p.any_supplier_lost else short)
    cost = holding + shortage
    pipeline = p.pipeline_rate * total(transit, cost) if p.pipeline_holding else jnp.zeros_like(cost)
    cost = cost + pipeline if p.pipeline_holding else cost
    if p.ordering_costs:
        ordering = p.order_cost * q + p.fixed_order_cost * (q > 0)
        if p.joint_order_cost:
            buys = (q > 0) & p.outside
            ordering = ordering + p.joint_order_cost * buys / jnp.maximum(buys.sum(axis=1, keepdims=True), 1)
        if overtime is not None:
            ordering = ordering + overtime
        cost = cost + ordering
    else:
        ordering = jnp.zeros_like(cost)
    return holding, shortage, pipeline, ordering, cost


def step(state: JaxState, orders: Array, demand: Array, params: CoreParams,
         lead_time: Array | None = None) -> tuple[JaxState, JaxFlows]:
    """One period of every copy: :func:`envs.core.step` under JAX (pure; ``jit`` it with ``params``
    static, e.g. ``jax.jit(step, static_argnames="params")``)."""
    p = params
    q = placed_orders(orders, p)
    due, pending, reached, owed = _reach_suppliers(state, q, p)
    on_hand, owed, ship, cancelled, lost_orders, received, transit = _ship_and_receive(state, owed, lead_time, p)
    on_hand, sales, lost, backlog = _serve_customers(state, on_hand, demand, lost_orders, p)
    holding, shortage, pipeline, ordering, cost = _costs(on_hand, backlog, owed, lost, transit, q,
                                                         _overtime(q, p), p)
    if due is not None and not p.early_join:
        owed = owed + due
    graph = graph_of(p)
    next_state = JaxState(state.period + 1, on_hand, backlog, owed, transit, pending, q,
                          demand + graph.to_suppliers(reached), received, demand)
    flows = JaxFlows(q, ship, received, demand, sales, lost, cancelled, holding, pipeline, shortage, ordering,
                     cost)
    return next_state, flows


# ---------------------------------------------------------------------- positions (envs.positions)
def backlog_total(state: JaxState, params: CoreParams) -> Array:
    """:func:`envs.positions.backlog_total`: external backlog plus the orders a site owes its customers."""
    return state.backlog + graph_of(params).to_suppliers(state.owed)


def inventory_level(state: JaxState, params: CoreParams) -> Array:
    """:func:`envs.positions.inventory_level`: on hand - backlog."""
    return state.on_hand - backlog_total(state, params)


def pipeline(state: JaxState) -> Array:
    """:func:`envs.positions.pipeline`: in transmission + owed by the supplier + in transit."""
    return total(state.pending, state.owed) + state.owed + total(state.transit, state.owed)


def inventory_position(state: JaxState, params: CoreParams) -> Array:
    """:func:`envs.positions.inventory_position`."""
    return inventory_level(state, params) + pipeline(state)


def echelon_inventory_position(state: JaxState, params: CoreParams) -> Array:
    """:func:`envs.positions.echelon_inventory_position` (Clark & Scarf 1960)."""
    physical = state.on_hand + total(state.transit, state.on_hand) - state.backlog
    return graph_of(params).echelon(physical) + state.owed + total(state.pending, state.owed)


def sequential_orders(state: JaxState, params: CoreParams, rule: Callable[[np.ndarray, Array, Array], Array]
                      ) -> Array:
    """:func:`envs.ordering.sequential_orders`: installation policies decide customers first, a site's
    position counting the orders its customers place on it this period (no order delay)."""
    position = inventory_position(state, params)
    orders = jnp.zeros_like(position)
    placed = orders
    graph = graph_of(params)
    for sites in params.graph.by_height:
        received = graph.to_suppliers(placed * params.instant)[:, sites]
        orders = orders.at[:, sites].set(rule(sites, position[:, sites] - received, received))
        placed = jnp.minimum(orders, params.capacity) if params.capacitated else orders
    return orders
