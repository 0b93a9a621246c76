"""The batched simulation core: one pure function advances every copy one period.

State is a handful of NumPy arrays with a leading batch axis ``[batch, sites]``
(pipelines are tuples of ``[batch, sites]`` slots); site index 0 is the most
downstream site. :func:`step` knows nothing of Gymnasium, PettingZoo or agents;
every shell calls it.

One period, in order. The scenario's ``timing`` picks one of two conventions,
parameters of this one step function, never a second step:

``clark_scarf`` (the default; Snyder & Shen, *Fundamentals of Supply Chain
Theory*, ch. 6, as stockpyl simulates it; what the exact serial recursion assumes):

1. **Orders.** The orders placed at the end of the previous period (cut to the
   site's capacity [C], then to the limits of the bottlenecks it shares with other
   sites, :func:`cut_to_limit`) with no order delay reach the supplier now; an order
   with order delay [l_o] >= 1 reaches it at the end of period t + l_o (after
   that period's costs), in time for the supplier's decision then.
2. **Shipping.** Every supplier ships what it can of what it owes, from the
   on-hand stock it had at the end of the previous period, so every unit spends
   one period end in its supplier's stock. A supplier short of stock for several
   customers allocates by the scenario's rule (proportional, or priority). The
   outside supplier of a top site ships everything.
3. **Arrivals.** Shipments due join on-hand stock: a shipment of period t into a
   site with lead time [L] arrives in step 3 of period t + L - 1.
4. **Demand.** Customer demand at customer-facing sites is served from on-hand
   stock together with earlier backlog; the rest is backlogged, or lost at
   lost-sales sites. (A lost-sales site that supplies others also drops the
   orders it cannot ship: its customers see them cancelled.)
5. **Costs** (charged per site, at the end of the period): holding [h'] x on
   hand; pipeline holding (if on) at the shipping site's rate x units in transit
   into the site; shortage [p] x (external backlog + orders owed to customers) at
   backlog sites, or [p] x units lost at lost-sales sites; ordering [c] x
   quantity + [K] if an order was placed.

``board_game`` (Sterman 1989; the code of Oroojlooyjadid et al. 2022): each
period a site receives, then fills orders from stock that includes this
period's receipts, then decides. An order with order delay l_o >= 1 (required
on internal lanes) joins what its supplier owes in step 1 of period t + l_o and
is filled in that period; steps 3 (arrivals) then 2 (shipping); a shipment of
period t arrives L periods later, in step 3 of period t + L. An outside
supplier ships as under ``clark_scarf`` when there is no order delay.

Under both, an order placed at the end of period t with order delay l_o and
lead time L, filled at once, is on hand at the start of period t + l_o + L, in
time for that period's demand; and it enters its supplier's decision exactly
l_o periods after it was placed (with l_o = 0, in the same period:
:func:`envs.ordering.sequential_orders`). The two conventions move the same goods at the same
times; they differ in where stock sits at a period's end (in the supplier's
stock, or already in transit) and so in what it costs.

Invariants (tested): units are conserved per site and in total, and
``inventory_position = on_hand - backlog + pipeline``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from echelon.envs.errors import ActionError
from echelon.envs.network import SiteGraph
from echelon.envs.params import CoreParams, Masks

_TINY = 1e-300
_ROUND = 1e-9


@functools.lru_cache(maxsize=64)
def _zeros(shape: tuple[int, ...]) -> np.ndarray:
    """A read-only zero array: the flow of a cost or loss a scenario cannot incur."""
    zeros = np.zeros(shape)
    zeros.flags.writeable = False
    return zeros


@dataclass(slots=True, eq=False)
class State:
    """End-of-period state of a batch of copies of one network.

    All quantities are units of stock, ``[batch, sites]`` unless noted. The
    pipelines are shift registers over periods, tuples of ``[batch, sites]``
    slots: slot k of ``transit`` holds the units that arrive at each site k + 1
    periods from now (k = 0: in the next period); likewise ``pending`` for
    orders in transmission and the period they reach the supplier. Treat a
    State as immutable: consecutive states share arrays.
    """

    period: int  # periods completed
    on_hand: np.ndarray  # physical stock at the site
    backlog: np.ndarray  # external customer demand not yet served (backlog sites)
    owed: np.ndarray  # ordered by the site, reached its supplier, not yet shipped
    transit: tuple[np.ndarray, ...]  # R slots: shipped to the site, by arrival period
    pending: tuple[np.ndarray, ...]  # D slots: orders in transmission, by period of receipt
    last_order: np.ndarray  # the order the site placed last (after capacity)
    incoming: np.ndarray  # demand on the site last period: customer demand + orders received
    received: np.ndarray  # units that arrived at the site last period
    demand: np.ndarray  # customer demand at the site last period

    @property
    def batch(self) -> int:
        return self.on_hand.shape[0]


@dataclass(slots=True, eq=False)
class Flows:
    """What happened in one period, ``[batch, sites]`` each (read-only where structurally zero)."""

    orders: np.ndarray  # orders placed (after capacity)
    shipped: np.ndarray  # units shipped to the site by its supplier
    received: np.ndarray  # units arriving at the site
    demand: np.ndarray  # external customer demand
    sales: np.ndarray  # customer demand (incl. earlier backlog) served from stock
    lost: np.ndarray  # customer demand or customer orders lost (lost-sales sites)
    cancelled: np.ndarray  # the site's orders its lost-sales supplier could not fill and dropped
    holding_cost: np.ndarray
    pipeline_cost: np.ndarray
    shortage_cost: np.ndarray
    ordering_cost: np.ndarray
    cost: np.ndarray  # total of the four above


def initial_state(params: CoreParams, batch: int) -> State:
    """The state at the start of an episode, ``batch`` identical copies.

    ``initial_pipeline`` x is the steady flow of x units per period on the lane
    into each site: x units in every transit slot a shipment occupies at a
    period's end, in every order-transmission slot, and (Clark–Scarf, order
    delay >= 1) the x units that reached the supplier at the end of period 0.
    """
    flow = params.initial_pipeline
    transit = (np.arange(params.lead_slots)[:, None] < params.lead_offset) * flow
    pending = (np.arange(params.delay_slots)[:, None] < params.order_delay - 1) * flow
    late = (params.order_delay >= 1) & (not params.early_join)
    zeros = np.zeros_like(flow)
    return State(
        period=0,
        on_hand=_copies(params.initial_inventory, batch),
        backlog=_copies(zeros, batch),
        owed=_copies(flow * late, batch),
        transit=tuple(_copies(slot, batch) for slot in transit),
        pending=tuple(_copies(slot, batch) for slot in pending),
        last_order=_copies(flow, batch),
        incoming=_copies(flow, batch),
        received=_copies(flow, batch),
        demand=_copies(flow * params.customer_facing, batch),
    )


def _copies(values: np.ndarray, batch: int) -> np.ndarray:
    """``batch`` stacked copies of ``values`` (a new array)."""
    out = np.empty((batch, *values.shape))
    out[...] = values
    return out


def allocate(owed: np.ndarray, stock: np.ndarray, params: CoreParams) -> np.ndarray:
    """Units each customer is shipped, ``[B, S]`` indexed by customer.

    ``stock[:, c]`` is the on-hand stock of c's supplier (inf for the outside one).
    A supplier with one customer ships min(owed, stock). Priority: customers are
    served in rank order, each in full while stock lasts. Proportional: each
    customer gets owed x min(1, stock / total owed to its supplier); in integral
    scenarios shares are rounded down and the units left go out in priority
    order, so shipments stay whole.
    """
    if params.single_customer:
        return np.minimum(owed, stock)
    graph = params.graph
    if not params.proportional:
        return _allocate_priority(owed, stock, graph)
    total = graph.group_total(owed)
    ship = owed * np.minimum(stock / np.maximum(total, _TINY), 1.0)
    if params.integral:
        base = np.floor(ship + _ROUND)
        rest = owed - base
        ship = base + _allocate_priority(rest, stock - graph.group_total(base), graph)
    return ship


def _allocate_priority(owed: np.ndarray, stock: np.ndarray, graph: SiteGraph) -> np.ndarray:
    return np.minimum(np.maximum(stock - graph.before(owed), 0.0), owed)


Pipeline = tuple[np.ndarray, ...]


def _advance(pipe: Pipeline, inflow: np.ndarray, masks: Masks) -> tuple[np.ndarray, Pipeline]:
    """Shift a pipeline one period on and feed it; returns (due now, next pipeline).

    ``pipe[k]`` is due k + 1 periods from now. ``inflow`` at the sites of
    ``masks[o]`` is due o periods from now: at once for o = 0, else it joins slot
    o - 1 of the next pipeline; sites in no mask feed nothing. Shifting a tuple of
    slots costs no array copy.
    """
    if masks[-1] is True:  # every site alike, at the longest offset: the common case
        return (pipe[0], (*pipe[1:], inflow)) if pipe else (inflow, pipe)
    parts = [None if m is None else inflow if m is True else inflow * m for m in masks]
    if not pipe:
        return (_zeros(inflow.shape) if parts[0] is None else parts[0]), pipe
    due = pipe[0] if parts[0] is None else pipe[0] + parts[0]
    nxt = []
    for j, fed in enumerate(parts[1:]):
        kept = pipe[j + 1] if j + 1 < len(pipe) else None
        if fed is None:
            nxt.append(_zeros(inflow.shape) if kept is None else kept)
        else:
            nxt.append(fed if kept is None else kept + fed)
    return due, tuple(nxt)


def _advance_random(pipe: Pipeline, inflow: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, Pipeline]:
    """:func:`_advance` with a per-shipment offset ``[B, S]`` (random lead times)."""
    now = np.where(offset == 0, inflow, 0.0)
    due = pipe[0] + now if pipe else now
    later = (*pipe[1:], _zeros(inflow.shape))
    return due, tuple(slot + np.where(offset == k + 1, inflow, 0.0) for k, slot in enumerate(later))


def cut_to_limit(orders: np.ndarray, limit: float, by_priority: bool, integral: bool) -> np.ndarray:
    """Orders ``[B, k]`` of the sites sharing a bottleneck, cut so that each copy's total is at most
    ``limit``. By priority: in column order, each in full while the limit lasts. Proportional: each
    times min(1, limit / total); in integral scenarios the shares are rounded down and the whole units
    left go out by priority, so orders stay whole."""
    if by_priority:
        return _in_order(orders, limit)
    share = orders * np.minimum(limit / np.maximum(orders.sum(axis=1, keepdims=True), _TINY), 1.0)
    if not integral:
        return share
    base = np.floor(share + _ROUND)
    left = np.floor(limit - base.sum(axis=1, keepdims=True) + _ROUND)
    return base + _in_order(orders - base, left)


def _in_order(orders: np.ndarray, limit: float | np.ndarray) -> np.ndarray:
    """Each column in full, in column order, while ``limit`` (a number or ``[B, 1]``) lasts."""
    return np.minimum(np.maximum(limit - (np.cumsum(orders, axis=1) - orders), 0.0), orders)


def total(pipe: Pipeline, like: np.ndarray) -> np.ndarray:
    """Units in all slots of a pipeline, ``[B, S]`` (zeros shaped ``like`` if it has no slots).

    With one slot this is the slot itself: read it, never write into it.
    """
    return sum(pipe[1:], pipe[0]) if pipe else np.zeros_like(like)


def placed_orders(orders: np.ndarray, params: CoreParams) -> np.ndarray:
    """The orders ``[B, S]`` as placed: cut to each site's capacity [C], then to the limits (and overtime) of
    the bottlenecks it shares (step 1 of :func:`step`; a new array)."""
    p = params
    q = np.minimum(orders, p.capacity) if p.capacitated else orders.copy()
    for cap in p.shared:
        q[:, cap.sites] = cut_to_limit(q[:, cap.sites], cap.limit + cap.overtime, cap.by_priority, p.integral)
    return q


def _overtime(q: np.ndarray, p: CoreParams) -> np.ndarray | None:
    """The overtime cost ``[B, S]`` of bottlenecks carrying more than their limit (None if none has a cost),
    split among the sites sharing each in proportion to their orders."""
    overtime = None
    for cap in p.shared:
        if cap.overtime_cost:
            overtime = np.zeros_like(q) if overtime is None else overtime
            group = q[:, cap.sites]
            carried = group.sum(axis=1, keepdims=True)
            above = np.maximum(carried - cap.limit, 0.0)
            overtime[:, cap.sites] += cap.overtime_cost * above * group / np.maximum(carried, _TINY)
    return overtime


def _reach_suppliers(state: State, q: np.ndarray, p: CoreParams) -> tuple:
    """Phase 1: orders reach suppliers, at once without order delay, else after it (pending).

    Returns (due, pending, reached, owed): the delayed orders due now (None without delays), the next
    pending pipeline, the orders that reach their suppliers this period and what suppliers owe before
    shipping."""
    if p.any_delay:
        due, pending = _advance(state.pending, q, p.delay_masks)
    else:
        due, pending = None, state.pending
    if p.all_instant:
        reached = q  # orders that reach their suppliers this period (for their decisions at its end)
    else:
        reached = due if not p.any_instant else q * p.instant + due
    if p.early_join or p.all_instant:
        owed = state.owed + reached
    else:  # Clark–Scarf: the delayed ones join at the period's end (phase 5)
        owed = state.owed + q * p.instant if p.any_instant else state.owed
    return due, pending, reached, owed


def _ship_and_receive(state: State, owed: np.ndarray, lead_time: np.ndarray | None, p: CoreParams) -> tuple:
    """Phases 2 and 3: suppliers ship what they can, shipments travel, arrivals are received, in the
    timing's order.

    Returns (on_hand, owed, ship, cancelled, lost_orders, received, transit)."""
    offset = None if lead_time is None else lead_time - 1 + p.lead_extra
    if p.ship_after_arrivals:  # board game: receive first, ship from stock that includes the receipts
        on_hand = state.on_hand + state.transit[0] if state.transit else state.on_hand
        if p.outside_now is not None:  # an outside lane whose shipment arrives in the period it is shipped
            now = p.outside_now if offset is None else p.outside_now * (offset == 0)
            on_hand = on_hand + owed * now  # the outside supplier ships all it owes
    else:  # Clark–Scarf: ship from the stock of the previous period's end
        on_hand = state.on_hand
    graph = p.graph
    stock = graph.of_supplier(on_hand, p.outside_stock)
    ship = allocate(owed, stock, p)
    owed = owed - ship
    on_hand = on_hand - graph.to_suppliers(ship)
    if p.any_supplier_lost:
        cancelled = owed * p.supplier_lost
        owed = owed - cancelled
        lost_orders = graph.to_suppliers(cancelled)
    else:
        cancelled = _zeros(owed.shape)
        lost_orders = 0.0
    if offset is None:
        received, transit = _advance(state.transit, ship, p.lead_masks)
    else:
        received, transit = _advance_random(state.transit, ship, offset)
    if not p.ship_after_arrivals:  # (board game: already on hand)
        on_hand = on_hand + received
    return on_hand, owed, ship, cancelled, lost_orders, received, transit


def _serve_customers(state: State, on_hand: np.ndarray, demand: np.ndarray, lost_orders: np.ndarray | float,
                     p: CoreParams) -> tuple:
    """Phase 4: customer demand (and the backlog) is served from stock; the rest is lost or backlogged.

    Returns (on_hand, sales, lost, backlog)."""
    need = state.backlog + demand
    sales = np.minimum(on_hand, need)
    on_hand = on_hand - sales
    unmet = need - sales
    if p.any_lost:
        lost = unmet * p.lost + lost_orders
        backlog = unmet * p.backlogs
    else:
        lost = _zeros(unmet.shape)
        backlog = unmet
    return on_hand, sales, lost, backlog


def _costs(on_hand: np.ndarray, backlog: np.ndarray, owed: np.ndarray, lost: np.ndarray, transit: Pipeline,
           q: np.ndarray, overtime: np.ndarray | None, p: CoreParams) -> tuple:
    """Phase 5: the period's costs; terms a scenario cannot incur are skipped, not computed as zeros.

    Returns (holding, shortage, pipeline, ordering, cost)."""
    holding = p.holding_cost * on_hand
    short = backlog + p.graph.to_suppliers(owed)
    shortage = p.shortage_cost * (short + lost if p.any_lost or p.any_supplier_lost else short)
    cost = holding + shortage
    if p.pipeline_holding:
        pipeline = p.pipeline_rate * total(transit, cost)
        cost += pipeline
    else:
        pipeline = _zeros(cost.shape)
    if p.ordering_costs:
        ordering = p.order_cost * q + p.fixed_order_cost * (q > 0)
        if p.joint_order_cost:  # one purchase order for all outside buyers, split equally among them
            buys = (q > 0) & p.outside
            ordering = ordering + p.joint_order_cost * buys / np.maximum(buys.sum(axis=1, keepdims=True), 1)
        if overtime is not None:
            ordering += overtime
        cost += ordering
    else:
        ordering = _zeros(cost.shape)
    return holding, shortage, pipeline, ordering, cost


def step(
    state: State,
    orders: np.ndarray,
    demand: np.ndarray,
    params: CoreParams,
    lead_time: np.ndarray | None = None,
) -> tuple[State, Flows]:
    """Advance every copy one period, in the scenario's timing. Pure: ``state`` is not modified.

    Args:
        state: end-of-previous-period state.
        orders: ``[B, S]`` order quantities placed at the end of the previous
            period (finite, >= 0; shells validate, see :func:`check_orders`).
        demand: ``[B, S]`` customer demand this period (0 at sites with none).
        params: the compiled network.
        lead_time: ``[B, S]`` lead time of this period's shipments where lead
            times are random; ``None`` uses the fixed ones.

    Returns:
        The end-of-period state and the period's :class:`Flows` (incl. costs).
    """
    p = params
    q = placed_orders(orders, p)  # 1. the orders as placed (the state keeps q), reaching their suppliers
    due, pending, reached, owed = _reach_suppliers(state, q, p)
    shipped = _ship_and_receive(state, owed, lead_time, p)  # 2 and 3. shipping and arrivals
    on_hand, owed, ship, cancelled, lost_orders, received, transit = shipped
    on_hand, sales, lost, backlog = _serve_customers(state, on_hand, demand, lost_orders, p)  # 4. demand
    holding, shortage, pipeline, ordering, cost = _costs(on_hand, backlog, owed, lost, transit, q,
                                                         _overtime(q, p), p)  # 5. costs
    # Clark–Scarf: delayed orders due now reach their suppliers at the period's end, after the costs
    if due is not None and not p.early_join:
        owed = owed + due

    next_state = State(
        period=state.period + 1,
        on_hand=on_hand,
        backlog=backlog,
        owed=owed,
        transit=transit,
        pending=pending,
        last_order=q,
        incoming=demand + p.graph.to_suppliers(reached),
        received=received,
        demand=demand,
    )
    flows = Flows(
        orders=q, shipped=ship, received=received, demand=demand, sales=sales, lost=lost,
        cancelled=cancelled,
        holding_cost=holding, pipeline_cost=pipeline, shortage_cost=shortage,
        ordering_cost=ordering, cost=cost,
    )
    return next_state, flows


def check_orders(orders: np.ndarray, shape: tuple[int, ...], where: str = "orders") -> np.ndarray:
    """Validate order quantities: right shape, finite, >= 0. Returns a float64 array."""
    try:
        arr = np.asarray(orders, dtype=np.float64)
    except (TypeError, ValueError):
        raise ActionError(f"{where}: not numeric ({orders!r})") from None
    if arr.shape != shape:
        raise ActionError(f"{where}: expected shape {shape}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ActionError(f"{where}: must be finite (got NaN or inf)")
    if (arr < 0).any():
        raise ActionError(f"{where}: order quantities must be >= 0 (got {arr.min():g})")
    return arr
