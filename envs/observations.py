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

from envs.core import CoreParams, State, backlog_total, total

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
    in_transit = total(state.transit, state.on_hand)
    on_order = state.owed + total(state.pending, state.owed)
    position = state.on_hand - backlog + in_transit + on_order
    stacked = np.array(
        (state.on_hand, backlog, position, in_transit, on_order,
         state.incoming, state.received, state.last_order),
        dtype=np.float32,
    )
    return stacked.transpose(1, 2, 0)


def _slots(block: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    return tuple(np.split(block, k, axis=1)) if k else ()


class FeatureMap:
    """Fast :func:`site_features`: one matrix product on the packed state.

    Every feature is linear in the state arrays, so the map is a matrix ``W``
    (entries 0 and +-1) with ``features = pack(state) @ W``, computed in float32
    like the observations themselves. ``W`` is not written by hand: it is
    read off :func:`site_features` by probing it with unit states, so the
    definitions above stay the only ones.
    """

    def __init__(self, params: CoreParams):
        n, r, d = params.n_sites, params.lead_slots, params.delay_slots
        width = n * (6 + r + d)
        probe = np.eye(width)
        self.n_sites = n
        self.matrix = site_features(self._unpack(probe, n, r, d), params).reshape(width, -1)  # float32, exact

    @staticmethod
    def _unpack(packed: np.ndarray, n: int, r: int, d: int) -> State:
        b = packed.shape[0]
        cut = np.cumsum([n, n, n, r * n, d * n, n, n])
        on_hand, backlog, owed, transit, pending, incoming, received, last = np.split(packed, cut, axis=1)
        return State(
            period=0, on_hand=on_hand, backlog=backlog, owed=owed, transit=_slots(transit, r),
            pending=_slots(pending, d), last_order=last, incoming=incoming, received=received,
            demand=np.zeros((b, n)),
        )

    def __call__(self, state: State) -> np.ndarray:
        b = state.on_hand.shape[0]
        packed = np.concatenate(
            (state.on_hand, state.backlog, state.owed, *state.transit, *state.pending,
             state.incoming, state.received, state.last_order),
            axis=1,
            dtype=np.float32,
        )
        return np.dot(packed, self.matrix).reshape(b, self.n_sites, N_FEATURES)


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
