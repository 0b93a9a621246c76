"""Observations: what a role (a site, or one controller of several sites) sees. The one definition.

Every shell (PettingZoo, Gymnasium), the trainer's learner views and policies
build observations here, from a :class:`~envs.core.State` and, where the
scenario's information model gives them, a site's own advance demand signals.

Per-site features, ``F = 8`` of them, in this order:

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

An :class:`ObservationSpec` says what else a role's observation holds, in this
order after the features: a one-hot of the site (``identity``; of its echelon on
networks of more than 64 sites), the fraction
of the horizon left (``time_left``), last period's end-customer demand
(``shared`` level), the site's pipeline by arrival period (``pipeline`` level:
units due in 1, 2, ..., H periods, :func:`envs.positions.scheduled_arrivals`) and
the site's own advance demand signals (extra customer demand known for the next
1..n periods, where the information model gives them). At the ``global`` level
a site sees every site's features, in site order, instead of its own. With
``scaled``, quantities are divided by the mean demand flowing through the site
(customer demand by its mean), so they are O(1) on every network.

A joint observation (one controller for every site) is every site's features,
the time left, the end-customer demand (``shared``), every site's pipeline
(``pipeline``) and every site's signals: one vector per copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from gymnasium import spaces

from echelon.envs.core import State, total
from echelon.envs.errors import ConfigError
from echelon.envs.params import CoreParams
from echelon.envs.positions import backlog_total, scheduled_arrivals
from echelon.envs.scenario import Scenario, echelon_levels

FEATURES = (
    "on_hand", "backlog", "inventory_position", "in_transit", "on_order",
    "incoming", "received", "last_order",
)
N_FEATURES = len(FEATURES)
_IP = FEATURES.index("inventory_position")
OBSERVATION_LEVELS = ("local", "shared", "global", "pipeline")


def site_features(state: State, params: CoreParams) -> np.ndarray:
    """``[B, S, F]`` float32 features of every site (the table above)."""
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


IDENTITY_MAX_SITES = 64
"""Largest network whose observations identify a site by its one-hot; above it, by its echelon."""
FEATURE_MAP_MAX_SITES = 64
"""Largest network observed through :class:`FeatureMap`; its matrix grows as S^2, so larger networks
compute :func:`site_features` directly (linear in S)."""


class FeatureMap:
    """Fast :func:`site_features` on small networks: one matrix product on the packed state.

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


@dataclass(frozen=True)
class ObservationSpec:
    """What an observation holds beyond the features (module docstring)."""

    level: str = "local"  # one of OBSERVATION_LEVELS
    scaled: bool = False  # quantities over the mean demand through the site
    identity: bool = False  # a one-hot of the site
    time_left: bool = False  # the fraction of the horizon left

    def __post_init__(self) -> None:
        if self.level not in OBSERVATION_LEVELS:
            raise ConfigError(f"observation: must be one of {', '.join(OBSERVATION_LEVELS)} (got {self.level!r})")

    @classmethod
    def raw(cls, level: str) -> ObservationSpec:
        """The environments' observation: raw units, a one-hot only where every site's features are shown."""
        return cls(level, identity=level == "global")

    @classmethod
    def learner(cls, level: str) -> ObservationSpec:
        """What Echelon's trainer gives a model: scaled, with the site's one-hot and the time left."""
        return cls(level, scaled=True, identity=True, time_left=True)


class Observer:
    """Observations of one role: per-site slots (``[B, k, dim]``) or one joint vector (``[B, dim]``).

    ``sites``: the sites whose slots it builds (default all); ``signals``: how many periods of advance
    demand signals each site has (0: none, see :mod:`envs.information`).
    """

    def __init__(self, scenario: Scenario, spec: ObservationSpec, sites: tuple[str, ...] | None = None,
                 joint: bool = False, signals: int = 0):
        self.spec, self.joint, self.signals = spec, joint, int(signals)
        self.params = CoreParams.from_scenario(scenario)
        names = scenario.site_names
        self.sites = tuple(names if sites is None else sites)
        position = {name: i for i, name in enumerate(names)}
        self.index = np.array([position[s] for s in self.sites])
        self.n = len(names)
        self.features = FeatureMap(self.params) if self.n <= FEATURE_MAP_MAX_SITES else self._direct
        self.levels = echelon_levels(scenario) if self.n > IDENTITY_MAX_SITES else None
        self.horizon = max(1, int((self.params.order_delay + self.params.lead_time).max()) - 1)
        self.periods = scenario.periods
        scale = np.maximum([scenario.mean_demand_through(s) for s in names], 1e-6) if spec.scaled else np.ones(self.n)
        self.scale = np.asarray(scale, dtype=np.float32)
        self.customer_scale = np.float32(max(sum(m.mean for m in scenario.demand.values()), 1e-6)
                                         if spec.scaled else 1.0)
        self.every_site = bool(np.array_equal(self.index, np.arange(self.n)))
        self.plain = (not spec.scaled and not spec.identity and not spec.time_left and spec.level == "local"
                      and not self.signals and not joint)  # the environments' default: the features alone
        low, high = self._bounds()
        self.space = spaces.Box(low, high, dtype=np.float32)

    @property
    def dim(self) -> int:
        return self.space.shape[0]

    @cached_property
    def onehot(self) -> np.ndarray:
        """Each observed site's identity (built only where observations carry it): its one-hot ``[k, S]``;
        above :data:`IDENTITY_MAX_SITES` sites, the one-hot of its echelon ``[k, E]`` (store, DC, plant),
        as a network of thousands of nodes would make every observation thousands of numbers long."""
        if self.n <= IDENTITY_MAX_SITES:
            return np.eye(self.n, dtype=np.float32)[self.index]
        levels = np.asarray(self.levels) - 1
        return np.eye(int(levels.max()) + 1, dtype=np.float32)[levels[self.index]]

    def _direct(self, state: State) -> np.ndarray:
        return site_features(state, self.params)

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        feature_low = np.zeros(N_FEATURES, dtype=np.float32)
        feature_low[_IP] = -np.inf
        many = self.n if self.joint else 1
        shown = self.n if (self.joint or self.spec.level == "global") else 1
        blocks = [(np.tile(feature_low, shown), np.inf)]
        if self.spec.identity and not self.joint:
            blocks.append((np.zeros(self.onehot.shape[1], dtype=np.float32), 1.0))
        if self.spec.time_left:
            blocks.append((np.zeros(1, dtype=np.float32), 1.0))
        if self.spec.level == "shared":
            blocks.append((np.zeros(1, dtype=np.float32), np.inf))
        if self.spec.level == "pipeline":
            blocks.append((np.zeros(many * self.horizon, dtype=np.float32), np.inf))
        if self.signals:
            blocks.append((np.zeros(many * self.signals, dtype=np.float32), np.inf))
        low = np.concatenate([b for b, _ in blocks])
        high = np.concatenate([np.full(len(b), top, dtype=np.float32) for b, top in blocks])
        return low, high

    def __call__(self, state: State, signals: np.ndarray | None = None) -> np.ndarray:
        """The observations of ``state``; ``signals`` ``[B, S, n]`` advance demand known to each site."""
        feats = self.features(state)  # [B, S, F]
        if self.plain:
            return feats if self.every_site else feats[:, self.index, :]
        if self.spec.scaled:
            feats = feats / self.scale[None, :, None]
        batch = feats.shape[0]
        network = []  # [B, w] blocks every slot shares
        if self.spec.time_left:
            network.append(np.full((batch, 1), 1.0 - state.period / self.periods, dtype=np.float32))
        if self.spec.level == "shared":
            network.append(state.demand.sum(axis=1, keepdims=True, dtype=np.float32) / self.customer_scale)
        sited = []  # [B, S, w] blocks of each site's own
        if self.spec.level == "pipeline":
            sited.append((scheduled_arrivals(state, self.params) / self.scale[None, :, None]).astype(np.float32))
        if self.signals:
            if signals is None:
                raise ValueError("this observation includes advance demand signals: pass them")
            sited.append((signals[:, :, : self.signals] / self.scale[None, :, None]).astype(np.float32))
        if self.joint:
            parts = [feats.reshape(batch, -1), *network, *(b.reshape(batch, -1) for b in sited)]
            return np.concatenate(parts, axis=1)
        k = len(self.sites)
        if self.spec.level == "global":
            parts = [np.broadcast_to(feats.reshape(batch, 1, -1), (batch, k, self.n * N_FEATURES))]
        else:
            parts = [feats[:, self.index, :]]
        if self.spec.identity:
            parts.append(np.broadcast_to(self.onehot, (batch, k, self.onehot.shape[1])))
        if network:
            joined = np.concatenate(network, axis=1)
            parts.append(np.broadcast_to(joined[:, None, :], (batch, k, joined.shape[1])))
        parts += [b[:, self.index, :] for b in sited]
        return np.concatenate(parts, axis=2)
