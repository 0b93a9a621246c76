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
   site's capacity [C]) with no order delay reach the supplier now; an order
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
:func:`sequential_orders`). The two conventions move the same goods at the same
times; they differ in where stock sits at a period's end (in the supplier's
stock, or already in transit) and so in what it costs.

Invariants (tested): units are conserved per site and in total, and
``inventory_position = on_hand - backlog + pipeline``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from echelon.envs.errors import ActionError
from echelon.envs.network import SiteGraph
from echelon.envs.scenario import Scenario

_TINY = 1e-300
_ROUND = 1e-9
# Products over sites use np.dot: on the tiny arrays of a batch-1 env it is a third cheaper than `@`.


Masks = tuple[None | bool | np.ndarray, ...]
"""Per-offset site masks of a pipeline: entry o selects the sites whose inflow is due o periods
from now (None: no site; True: every site; else a ``[1, S]`` 0/1 row)."""


@dataclass(frozen=True, eq=False)
class CoreParams:
    """Arrays compiled once from a :class:`~envs.scenario.Scenario` for :func:`step`.

    Per-site parameters are ``[1, S]`` rows. Sums and gathers over the network (each site's
    supplier, its customers, its supplier's other customers, its subtree) are the operations of
    ``graph`` (:class:`~envs.network.SiteGraph`), linear in the number of sites; the dense
    ``[S, S]`` forms (``feeds``, ``selects``, ``siblings``, ``ahead``, ``subtree``) are built on
    first use, for the policies and metrics that want them and for small networks.

    Timing (:mod:`envs.core`, module docstring): a shipment into site c spends ``lead_offset[c]``
    period ends in transit (L - 1, or L on board-game lanes with an order delay); an order with
    order delay l_o >= 1 spends l_o - 1 period ends in transmission (``pending``) and then joins what
    its supplier owes, at the start of the period (``early_join``, board game) or at its end
    (Clark–Scarf); with l_o = 0 it joins at once.
    """

    names: tuple[str, ...]
    timing: str  # "clark_scarf" or "board_game"
    supplier: np.ndarray  # int [S], -1: outside supplier
    graph: SiteGraph
    outside_stock: np.ndarray  # [S], inf where a site's supplier is the outside one, else 0
    lead_time: np.ndarray  # int [S], fixed lead times (the maximum where random)
    lead_values: tuple[tuple[int, ...], ...]
    lead_probs: tuple[tuple[float, ...], ...]
    random_lead: bool
    lead_offset: np.ndarray  # int [S]: period ends a shipment spends in transit (the maximum where random)
    lead_extra: np.ndarray  # int [1, S]: lead_offset - (L - 1), added to drawn lead times
    lead_slots: int  # R = max lead_offset: slots of the transit pipeline
    lead_masks: Masks  # offsets 0..R
    order_delay: np.ndarray  # int [S]
    delay_slots: int  # D = max l_o - 1: slots of order transmission
    delay_masks: Masks  # offsets 0..D of the sites with l_o >= 1
    any_delay: bool
    instant: np.ndarray  # float [1, S], 1 where l_o = 0
    any_instant: bool
    all_instant: bool
    early_join: bool  # board game: delayed orders join what the supplier owes at the start of the period
    ship_after_arrivals: bool  # board game: suppliers ship from stock that includes this period's receipts
    outside_now: np.ndarray | None  # [1, S]: board game, lanes from outside that can arrive in the period shipped
    capacity: np.ndarray  # [S], inf = uncapacitated
    capacitated: bool
    holding_cost: np.ndarray  # [S] h'
    pipeline_rate: np.ndarray  # [S] holding rate of the site's shipper, 0 if off or outside
    shortage_cost: np.ndarray  # [S] p
    lost: np.ndarray  # float [S], 1 at lost-sales sites
    backlogs: np.ndarray  # float [S], 1 - lost
    any_lost: bool
    supplier_lost: np.ndarray  # float [S], 1 where the site's internal supplier loses unmet orders
    any_supplier_lost: bool
    pipeline_holding: bool  # any pipeline_rate > 0
    order_cost: np.ndarray  # [S] c
    fixed_order_cost: np.ndarray  # [S] K
    ordering_costs: bool  # any c or K > 0
    proportional: bool
    single_customer: bool  # no supplier has two customers (serial chains): no allocation needed
    integral: bool
    customer_facing: np.ndarray  # bool [S]
    initial_inventory: np.ndarray
    initial_pipeline: np.ndarray

    @property
    def n_sites(self) -> int:
        return len(self.names)

    @property
    def feeds(self) -> np.ndarray:
        """``[S, S]``: 1 at (c, s) if internal site s supplies c."""
        return self.graph.feeds

    @property
    def selects(self) -> np.ndarray:
        """``[S, S]``: 1 at (s, c) if s supplies c (picks each customer's supplier's stock)."""
        return self.graph.selects

    @property
    def siblings(self) -> np.ndarray:
        """``[S, S]``: 1 at (c2, c) if c2 and c share a supplier (outside-supplied sites alone)."""
        return self.graph.siblings

    @property
    def ahead(self) -> np.ndarray:
        """``[S, S]``: 1 at (c2, c) if c2 is served before c by the same internal supplier."""
        return self.graph.ahead

    @property
    def subtree(self) -> np.ndarray:
        """``[S, S]``: 1 at (k, j) if k is j or downstream of j (echelon membership)."""
        return self.graph.subtree

    @functools.cached_property
    def instant_feeds(self) -> np.ndarray:
        """The rows of ``feeds`` whose orders reach the supplier at once (no order delay)."""
        return self.feeds * (self.order_delay == 0)[:, None]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> CoreParams:
        sites = scenario.sites
        n = len(sites)
        index = {s.name: i for i, s in enumerate(sites)}
        supplier = np.array([-1 if s.supplier is None else index[s.supplier] for s in sites], dtype=np.int64)
        graph = SiteGraph(supplier, [s.priority for s in sites])
        holding = np.array([s.holding_cost for s in sites])
        rate = np.array([holding[supplier[i]] if supplier[i] >= 0 else 0.0 for i in range(n)])
        lost = np.array([float(s.lost_sales) for s in sites])
        supplier_lost = np.array([lost[supplier[i]] if supplier[i] >= 0 else 0.0 for i in range(n)])
        capacity = np.array([s.capacity for s in sites])
        lead_max = np.array([s.lead_time.max for s in sites])
        lead_min = np.array([min(s.lead_time.values) for s in sites])
        delay = np.array([s.order_delay for s in sites])
        board_game = scenario.timing == "board_game"
        extra = (delay >= 1).astype(int) if board_game else np.zeros(n, dtype=int)
        offset = lead_max - 1 + extra
        lead_slots, delay_slots = int(offset.max()), max(int(delay.max()) - 1, 0)
        outside_now = (supplier < 0) & (delay == 0) & (lead_min == 1)
        return cls(
            names=scenario.site_names,
            timing=scenario.timing,
            supplier=supplier,
            graph=graph,
            outside_stock=_row(np.where(supplier < 0, np.inf, 0.0)),
            lead_time=lead_max,
            lead_values=tuple(s.lead_time.values for s in sites),
            lead_probs=tuple(s.lead_time.probs for s in sites),
            random_lead=any(not s.lead_time.fixed for s in sites),
            lead_offset=offset,
            lead_extra=extra.reshape(1, -1),
            lead_slots=lead_slots,
            lead_masks=_masks(offset, np.ones(n, dtype=bool), lead_slots),
            order_delay=delay,
            delay_slots=delay_slots,
            delay_masks=_masks(delay - 1, delay >= 1, delay_slots),
            any_delay=bool((delay >= 1).any()),
            instant=_row(delay == 0),
            any_instant=bool((delay == 0).any()),
            all_instant=bool((delay == 0).all()),
            early_join=board_game,
            ship_after_arrivals=board_game,
            outside_now=_row(outside_now) if board_game and outside_now.any() else None,
            capacity=_row(capacity),
            capacitated=bool(np.isfinite(capacity).any()),
            holding_cost=_row(holding),
            pipeline_rate=_row(rate * float(scenario.pipeline_holding)),
            shortage_cost=_row(np.array([s.shortage_cost for s in sites])),
            lost=_row(lost),
            backlogs=_row(1.0 - lost),
            any_lost=bool(lost.any()),
            supplier_lost=_row(supplier_lost),
            any_supplier_lost=bool(supplier_lost.any()),
            pipeline_holding=bool((rate * float(scenario.pipeline_holding) > 0).any()),
            order_cost=_row(np.array([s.order_cost for s in sites])),
            fixed_order_cost=_row(np.array([s.fixed_order_cost for s in sites])),
            ordering_costs=any(s.order_cost > 0 or s.fixed_order_cost > 0 for s in sites),
            proportional=scenario.allocation == "proportional",
            single_customer=bool((np.bincount(supplier[supplier >= 0], minlength=n) <= 1).all()),
            integral=all(m.integral for m in scenario.demand.values()),
            customer_facing=np.array([s.name in scenario.demand for s in sites]),
            initial_inventory=np.array([s.initial_inventory for s in sites]),
            initial_pipeline=np.array([s.initial_pipeline for s in sites]),
        )


@functools.lru_cache(maxsize=64)
def _zeros(shape: tuple[int, ...]) -> np.ndarray:
    """A read-only zero array: the flow of a cost or loss a scenario cannot incur."""
    zeros = np.zeros(shape)
    zeros.flags.writeable = False
    return zeros


def _row(values: np.ndarray) -> np.ndarray:
    """A per-site parameter as a ``[1, S]`` row: same-shape arithmetic at batch 1 is cheapest."""
    return np.asarray(values, dtype=np.float64).reshape(1, -1)


def _masks(offset: np.ndarray, active: np.ndarray, slots: int) -> Masks:
    """:data:`Masks` of a pipeline with ``slots`` slots: the active sites by ``offset`` (0..slots)."""
    out: list[None | bool | np.ndarray] = []
    for value in range(slots + 1):
        chosen = (offset == value) & active
        out.append(None if not chosen.any() else True if chosen.all() else _row(chosen))
    return tuple(out)


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


def total(pipe: Pipeline, like: np.ndarray) -> np.ndarray:
    """Units in all slots of a pipeline, ``[B, S]`` (zeros shaped ``like`` if it has no slots).

    With one slot this is the slot itself: read it, never write into it.
    """
    return sum(pipe[1:], pipe[0]) if pipe else np.zeros_like(like)


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
    t = state.period
    q = np.minimum(orders, p.capacity) if p.capacitated else orders.copy()  # the state keeps q

    # 1. orders reach suppliers: at once without order delay, else after it (pending)
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
    else:  # Clark–Scarf: the delayed ones join at the period's end (step 6)
        owed = state.owed + q * p.instant if p.any_instant else state.owed

    # 2 and 3. shipping and arrivals, in the timing's order
    if lead_time is None:
        offset = None
    else:
        offset = lead_time - 1 + p.lead_extra
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

    # 4. customer demand
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

    # 5. costs (terms a scenario cannot incur are skipped, not computed as zeros)
    holding = p.holding_cost * on_hand
    short = backlog + graph.to_suppliers(owed)
    shortage = p.shortage_cost * (short + lost if p.any_lost or p.any_supplier_lost else short)
    cost = holding + shortage
    if p.pipeline_holding:
        pipeline = p.pipeline_rate * total(transit, cost)
        cost += pipeline
    else:
        pipeline = _zeros(cost.shape)
    if p.ordering_costs:
        ordering = p.order_cost * q + p.fixed_order_cost * (q > 0)
        cost += ordering
    else:
        ordering = _zeros(cost.shape)

    # 6. Clark–Scarf: delayed orders due now reach their suppliers at the period's end, after the costs
    if due is not None and not p.early_join:
        owed = owed + due

    next_state = State(
        period=t + 1,
        on_hand=on_hand,
        backlog=backlog,
        owed=owed,
        transit=transit,
        pending=pending,
        last_order=q,
        incoming=demand + graph.to_suppliers(reached),
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


# --------------------------------------------------------------------------- derived quantities

def backlog_total(state: State, params: CoreParams) -> np.ndarray:
    """Backorders of each site [B]: external backlog plus orders it owes its customers."""
    return state.backlog + params.graph.to_suppliers(state.owed)


def inventory_level(state: State, params: CoreParams) -> np.ndarray:
    """Inventory level [IL] = on hand - backlog."""
    return state.on_hand - backlog_total(state, params)


def pipeline(state: State) -> np.ndarray:
    """Ordered, not yet received: in transmission + owed by the supplier + in transit."""
    return total(state.pending, state.owed) + state.owed + total(state.transit, state.owed)


def inventory_position(state: State, params: CoreParams) -> np.ndarray:
    """Installation inventory position [IP] = inventory level + pipeline."""
    return inventory_level(state, params) + pipeline(state)


def echelon_inventory_position(state: State, params: CoreParams) -> np.ndarray:
    """Echelon inventory position [IP^e] of every site (Clark & Scarf 1960).

    Stock on hand and in transit anywhere in the site's subtree (itself and
    everything downstream of it), less external backlog there, plus what the
    site has on order from outside its subtree. Orders and backorders between
    members of the subtree cancel out.
    """
    physical = state.on_hand + total(state.transit, state.on_hand) - state.backlog
    return params.graph.echelon(physical) + state.owed + total(state.pending, state.owed)


def scheduled_arrivals(state: State, params: CoreParams) -> np.ndarray:
    """Units due at each site 1, 2, ..., H periods from now, ``[B, S, H]``, H = max(l_o + L) - 1 (at least 1).

    Stock in transit arrives when its slot comes due. Orders in transmission and
    orders the supplier owes are counted when they would arrive if the supplier
    shipped them as soon as they reach it: exact for sites supplied from outside,
    optimistic where an internal supplier is short. Summed over h it is the
    site's :func:`pipeline`.
    """
    n = params.n_sites
    horizon = max(1, int((params.order_delay + params.lead_time).max()) - 1)
    out = np.zeros((state.batch, n, horizon))
    sites = np.arange(n)
    for j, slot in enumerate(state.transit):  # slot j arrives in j + 1 periods
        out[:, :, min(j, horizon - 1)] += slot
    owed_at = np.clip(params.lead_offset, 0, horizon - 1)  # shipped next period: in 1 + offset periods
    out[:, sites, owed_at] += state.owed
    for j, slot in enumerate(state.pending):  # reaches the supplier in j + 1 periods, arrives L later
        out[:, sites, np.clip(j + params.lead_time, 0, horizon - 1)] += slot
    return out


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


def order_up_to(levels: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Base-stock (order-up-to) rule: q = max(0, S - IP) for levels [S] and positions [IP]."""
    return np.maximum(levels - position, 0.0)


def sequential_orders(
    state: State, params: CoreParams, rule: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Orders ``[B, S]`` of installation policies, decided customers first.

    A site's inventory position [IP] counts the orders its customers place this
    same period where they reach it at once (no order delay), as textbook
    installation policies do. So local base-stock levels S_j = S^e_j - sum of
    the customers' S^e reproduce the echelon base-stock policy on a chain
    (Axsäter 1993). ``rule(sites, position, received)`` gives the orders ``[B, k]`` of the
    ``k`` sites in ``sites`` from their positions and the orders ``received`` from their customers
    this period. Sites decide by height in the tree (those without customers first), so the loop
    runs once per level of the network, not once per site.
    """
    position = inventory_position(state, params)
    orders = np.zeros_like(position)
    placed = orders if not params.capacitated else np.zeros_like(position)  # orders after capacity
    graph = params.graph
    for sites in graph.by_height:
        if graph.dense:  # (tiny networks: the product is cheapest)
            received = np.dot(placed, params.instant_feeds[:, sites])
        else:
            received = graph.to_suppliers(placed * params.instant)[:, sites]
        orders[:, sites] = rule(sites, position[:, sites] - received, received)
        if params.capacitated:
            placed[:, sites] = np.minimum(orders[:, sites], params.capacity[0, sites])
    return orders


def installation_base_stock(
    state: State, params: CoreParams, levels: np.ndarray, fixed: np.ndarray | None = None
) -> np.ndarray:
    """Order up to ``levels`` (``[S]`` or one row per copy ``[B, S]``) on each site's position.

    ``fixed``: ``[B, S]`` orders of sites another policy decides (NaN where the levels decide);
    the sites ordering up to a level see them as their customers' orders.
    """
    levels = np.broadcast_to(levels, state.on_hand.shape)

    def rule(sites: np.ndarray, position: np.ndarray, _: np.ndarray) -> np.ndarray:
        order = np.maximum(levels[:, sites] - position, 0.0)
        return order if fixed is None else np.where(np.isnan(fixed[:, sites]), order, fixed[:, sites])

    return sequential_orders(state, params, rule)
