"""The arrays the core runs on, compiled once from a :class:`~envs.scenario.Scenario`.

Shapes, once for the whole core: B copies (the batch), S sites (index 0 the most downstream;
every supplier listed after its customers). Per-site parameters are ``[1, S]`` rows (same-shape
arithmetic at batch 1 is cheapest) or ``[S]`` vectors; state arrays are ``[B, S]``; a pipeline is
a tuple of ``[B, S]`` slots, slot k due k + 1 periods from now. Sums over the network go through
``CoreParams.graph`` (:mod:`envs.network`).
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from echelon.envs.network import SiteGraph
from echelon.envs.scenario import Scenario

Masks = tuple[None | bool | np.ndarray, ...]
"""Per-offset site masks of a pipeline: entry o selects the sites whose inflow is due o periods
from now (None: no site; True: every site; else a ``[1, S]`` 0/1 row)."""


class SharedLimit(NamedTuple):
    """A bottleneck compiled: orders of ``sites`` cut to ``limit + overtime`` a period; units above
    ``limit`` cost ``overtime_cost`` each, charged in proportion to the sites' orders."""

    sites: np.ndarray
    limit: float
    by_priority: bool
    overtime: float = 0.0
    overtime_cost: float = 0.0


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
    shared: tuple[SharedLimit, ...]  # bottlenecks, in the scenario's order
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
    joint_order_cost: float  # K_0 per consolidated purchase order of the sites without a supplier
    outside: np.ndarray  # bool [1, S]: the sites without a supplier (they buy from outside)
    ordering_costs: bool  # any c or K > 0, or a bottleneck's overtime cost
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
    def subtree(self) -> np.ndarray:
        """``[S, S]``: 1 at (k, j) if k is j or downstream of j (echelon membership)."""
        return self.graph.subtree

    @functools.cached_property
    def instant_feeds(self) -> np.ndarray:
        """The rows of ``feeds`` whose orders reach the supplier at once (no order delay)."""
        return self.feeds * (self.order_delay == 0)[:, None]

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> CoreParams:
        """The scenario compiled, once: later calls with the same scenario object return the same
        parameters (their arrays are read-only, so sharing them is safe)."""
        cached = _COMPILED.get(id(scenario))
        if cached is not None and cached[0]() is scenario:
            return cached[1]
        supplier = _suppliers(scenario)
        fields = _topology(scenario, supplier) | _timing(scenario, supplier) | _costs(scenario, supplier)
        params = cls(**fields)
        for value in vars(params).values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
        key = id(scenario)
        try:
            ref = weakref.ref(scenario, lambda _: _COMPILED.pop(key, None))
        except TypeError:  # (an object that cannot be referenced weakly is compiled each time)
            return params
        _COMPILED[key] = (ref, params)
        return params

    def for_batch(self, batch: int) -> CoreParams:
        """These parameters with every per-site ``[1, S]`` row (costs, capacities, masks) tiled to
        ``[batch, S]``, for :func:`envs.core.step` at that batch: NumPy multiplies same-shape arrays several
        times faster than it broadcasts a short row down a batch (the core runs 1.5-1.8x faster at batch
        1,024 to 16,384 on the beer game), and the results are identical. Returns ``self`` at batch 1, and
        where the tiles would exceed :data:`TILE_CELLS` cells each (large networks gain little from it)."""
        if batch == 1 or batch * self.n_sites > TILE_CELLS:
            return self
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if _is_row(value):
                changes[f.name] = _tile(value, batch)
            elif f.name in ("lead_masks", "delay_masks") and any(_is_row(m) for m in value):
                changes[f.name] = tuple(_tile(m, batch) if _is_row(m) else m for m in value)
        return dataclasses.replace(self, **changes)


TILE_CELLS = 2**19
"""Largest ``batch x sites`` for which :meth:`CoreParams.for_batch` tiles the rows (4 MB a row)."""


def _is_row(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[0] == 1


def _tile(row: np.ndarray, batch: int) -> np.ndarray:
    tiled = np.ascontiguousarray(np.broadcast_to(row, (batch, row.shape[1])))
    tiled.setflags(write=False)
    return tiled


_COMPILED: dict[int, tuple[weakref.ref, CoreParams]] = {}
"""Compiled parameters by scenario object (dropped when the scenario is)."""


def _suppliers(scenario: Scenario) -> np.ndarray:
    """Each site's supplier index, -1 for the outside supplier."""
    index = {s.name: i for i, s in enumerate(scenario.sites)}
    return np.array([-1 if s.supplier is None else index[s.supplier] for s in scenario.sites], dtype=np.int64)


def _topology(scenario: Scenario, supplier: np.ndarray) -> dict[str, Any]:
    """Layer 1, the network: who supplies whom, capacities and bottlenecks, allocation, customers."""
    sites, n = scenario.sites, len(scenario.sites)
    capacity = np.array([s.capacity for s in sites])
    return dict(
        names=scenario.site_names,
        supplier=supplier,
        graph=SiteGraph(supplier, [s.priority for s in sites]),
        outside_stock=_row(np.where(supplier < 0, np.inf, 0.0)),
        outside=(supplier < 0).reshape(1, -1),
        capacity=_row(capacity),
        capacitated=bool(np.isfinite(capacity).any()),
        shared=tuple(SharedLimit(np.array(c.sites, dtype=np.int64), c.limit, c.rule == "priority", c.overtime,
                                 c.overtime_cost) for c in scenario.capacities),
        proportional=scenario.allocation == "proportional",
        single_customer=bool((np.bincount(supplier[supplier >= 0], minlength=n) <= 1).all()),
        integral=all(m.integral for m in scenario.demand.values()),
        customer_facing=np.array([s.name in scenario.demand for s in sites]),
        initial_inventory=np.array([s.initial_inventory for s in sites]),
        initial_pipeline=np.array([s.initial_pipeline for s in sites]),
    )


def _timing(scenario: Scenario, supplier: np.ndarray) -> dict[str, Any]:
    """Layer 2, time: lead times, order delays, and the timing convention's flags."""
    sites, n = scenario.sites, len(scenario.sites)
    lead_max = np.array([s.lead_time.max for s in sites])
    lead_min = np.array([min(s.lead_time.values) for s in sites])
    delay = np.array([s.order_delay for s in sites])
    board_game = scenario.timing == "board_game"
    extra = (delay >= 1).astype(int) if board_game else np.zeros(n, dtype=int)
    offset = lead_max - 1 + extra
    lead_slots, delay_slots = int(offset.max()), max(int(delay.max()) - 1, 0)
    outside_now = (supplier < 0) & (delay == 0) & (lead_min == 1)
    return dict(
        timing=scenario.timing,
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
    )


def _costs(scenario: Scenario, supplier: np.ndarray) -> dict[str, Any]:
    """Layer 3, costs and unmet demand: h', pipeline rates, p, lost sales, c, K and K_0, with the flags that
    let the core skip the terms a scenario cannot incur (its fast paths)."""
    sites, n = scenario.sites, len(scenario.sites)
    holding = np.array([s.holding_cost for s in sites])
    rate = np.array([holding[supplier[i]] if supplier[i] >= 0 else 0.0 for i in range(n)])
    rate = rate * float(scenario.pipeline_holding)
    lost = np.array([float(s.lost_sales) for s in sites])
    supplier_lost = np.array([lost[supplier[i]] if supplier[i] >= 0 else 0.0 for i in range(n)])
    return dict(
        holding_cost=_row(holding),
        pipeline_rate=_row(rate),
        pipeline_holding=bool((rate > 0).any()),
        shortage_cost=_row(np.array([s.shortage_cost for s in sites])),
        lost=_row(lost),
        backlogs=_row(1.0 - lost),
        any_lost=bool(lost.any()),
        supplier_lost=_row(supplier_lost),
        any_supplier_lost=bool(supplier_lost.any()),
        order_cost=_row(np.array([s.order_cost for s in sites])),
        fixed_order_cost=_row(np.array([s.fixed_order_cost for s in sites])),
        joint_order_cost=float(scenario.joint_order_cost),
        ordering_costs=any(s.order_cost > 0 or s.fixed_order_cost > 0 for s in sites)
        or scenario.joint_order_cost > 0 or any(c.overtime_cost > 0 for c in scenario.capacities),
    )


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


