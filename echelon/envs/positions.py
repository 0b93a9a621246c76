"""Quantities derived from the core's state: backorders, inventory level and position, the echelon
inventory position of Clark & Scarf (1960), and scheduled arrivals. Shapes as in :mod:`envs.params`."""

from __future__ import annotations

import numpy as np

from echelon.envs.core import State, total
from echelon.envs.params import CoreParams


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
