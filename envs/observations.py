"""Observations: what a site (or the controller) sees at the end of a period.

Every site has the same ``F`` local features, in this order:

=====  ======================  ==========================================  ======  =====
index  field                   meaning                                     min     max
=====  ======================  ==========================================  ======  =====
0      on_hand                 stock on hand                               0       inf
1      backlog                 customer backlog + orders owed downstream   0       inf
2      inventory_position      on_hand - backlog + pipeline [IP]           -inf    inf
3      in_transit              shipped to the site, not yet arrived        0       inf
4      on_order                ordered, not yet shipped by the supplier    0       inf
5      incoming                demand on the site last period              0       inf
6      received                units that arrived last period              0       inf
7      last_order              the site's own last order                   0       inf
=====  ======================  ==========================================  ======  =====

Observation levels (``observation=``):

* ``local``: the site's own ``F`` features;
* ``shared``: local plus total end-customer demand of the last period;
* ``global``: every site's features (``S x F``, site order) plus a one-hot of the site.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from envs.core import CoreParams, State, backlog_total

FEATURES = (
    "on_hand", "backlog", "inventory_position", "in_transit", "on_order",
    "incoming", "received", "last_order",
)
N_FEATURES = len(FEATURES)
_IP = FEATURES.index("inventory_position")
OBSERVATION_LEVELS = ("local", "shared", "global")


def site_features(state: State, params: CoreParams) -> np.ndarray:
    """``[B, S, F]`` float32 local features of every site."""
    backlog = backlog_total(state, params)
    in_transit = state.transit.sum(axis=1)
    on_order = state.owed + state.pending.sum(axis=1)
    position = state.on_hand - backlog + in_transit + on_order
    stacked = np.array(
        (state.on_hand, backlog, position, in_transit, on_order,
         state.incoming, state.received, state.last_order),
        dtype=np.float32,
    )
    return stacked.transpose(1, 2, 0)


def _feature_bounds(n: int) -> tuple[np.ndarray, np.ndarray]:
    low = np.zeros((n, N_FEATURES), dtype=np.float32)
    low[:, _IP] = -np.inf
    return low.ravel(), np.full(n * N_FEATURES, np.inf, dtype=np.float32)


def site_observation_space(level: str, n_sites: int) -> spaces.Box:
    """The space of one site's observation at ``level``."""
    low, high = _feature_bounds(1)
    if level == "shared":
        low, high = np.append(low, 0.0), np.append(high, np.inf)
    elif level == "global":
        glow, ghigh = _feature_bounds(n_sites)
        low = np.concatenate([glow, np.zeros(n_sites)])
        high = np.concatenate([ghigh, np.ones(n_sites)])
    return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)


def joint_observation_space(n_sites: int) -> spaces.Box:
    """The controller's observation: every site's features, flattened ``[S * F]``."""
    low, high = _feature_bounds(n_sites)
    return spaces.Box(low, high, dtype=np.float32)


def site_observations(features: np.ndarray, level: str, demand: np.ndarray) -> np.ndarray:
    """Per-site observations ``[B, S, dim]`` at ``level`` from ``[B, S, F]`` features.

    ``demand`` is the last period's customer demand ``[B, S]`` (``State.demand``, for ``shared``).
    """
    if level == "local":
        return features
    batch, n, _ = features.shape
    if level == "shared":
        total = np.broadcast_to(demand.sum(axis=1, dtype=np.float32)[:, None, None], (batch, n, 1))
        return np.concatenate([features, total], axis=2)
    flat = np.broadcast_to(features.reshape(batch, 1, n * N_FEATURES), (batch, n, n * N_FEATURES))
    onehot = np.broadcast_to(np.eye(n, dtype=np.float32), (batch, n, n))
    return np.concatenate([flat, onehot], axis=2)
