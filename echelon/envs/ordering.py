"""Ordering rules the heuristics share: order-up-to, and installation policies deciding customers first
(a site's position counts the orders its customers place on it this same period)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from echelon.envs.core import State
from echelon.envs.params import CoreParams
from echelon.envs.positions import inventory_position


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
    state: State, params: CoreParams, levels: np.ndarray, fixed: np.ndarray | None = None,
    bounds: tuple[np.ndarray, np.ndarray] | None = None, minimum: np.ndarray | None = None,
) -> np.ndarray:
    """Order up to ``levels`` (``[S]`` or one row per copy ``[B, S]``) on each site's position.

    ``fixed``: ``[B, S]`` orders of sites another policy decides (NaN where the levels decide);
    the sites ordering up to a level see them as their customers' orders. ``bounds``: ``[B, S]``
    lowest and highest orders (``-inf``/``inf`` for none): each site's order is clipped to them before
    its suppliers see it. ``minimum``: ``[S]`` or ``[B, S]`` smallest order a site places (a smaller gap
    orders nothing): the (s, S) policy with s = S - minimum (Scarf 1960), decided before the suppliers.
    """
    levels = np.broadcast_to(levels, state.on_hand.shape)
    least = None if minimum is None else np.broadcast_to(minimum, state.on_hand.shape)

    def rule(sites: np.ndarray, position: np.ndarray, _: np.ndarray) -> np.ndarray:
        order = np.maximum(levels[:, sites] - position, 0.0)
        if least is not None:
            order = np.where(order >= least[:, sites], order, 0.0)
        if bounds is not None:
            order = np.clip(order, bounds[0][:, sites], bounds[1][:, sites])
        return order if fixed is None else np.where(np.isnan(fixed[:, sites]), order, fixed[:, sites])

    return sequential_orders(state, params, rule)
