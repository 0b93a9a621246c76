"""Control structures: who decides replenishment, each at its best under its own information.

The scenario's information model (:mod:`envs.information`) says what each role
may know; these policies use exactly that (:meth:`Policy.decide`):

* :class:`Centralized` (``central``): one planner orders for every site, echelon
  base-stock (Clark & Scarf 1960) on its view: the network as it was ``delay``
  periods ago, on-hand stock recorded with error, plus the orders it has placed
  since (its own decisions it knows at once). It re-plans every
  ``review_period`` periods and orders nothing in between: the periodic-review
  (R, S) form of base-stock (Snyder & Shen, sec. 4.6). News of extra demand
  reaches it ``delay`` periods after the sites; it raises each echelon's level
  by the extra demand it knows of in the echelon's customers within the
  periods the echelon's order covers.
* :class:`Local` (``local``): every site orders up to its own level [S_j] on its
  real-time inventory position, customers first (:func:`envs.ordering.sequential_orders`);
  with ``knowledge: true`` a site raises its target by the extra demand it knows
  is coming within the periods its order covers (order delay + lead time): the
  base-stock form that is optimal with advance demand information (Gallego &
  Özer 2001). Levels set for the team, or each site's own (:mod:`agents.nash`).
* :class:`Hybrid` (``hybrid``): the centre sets every site's target, the local
  levels equivalent to its echelon levels (Axsäter 1993), at every review; each
  site executes every period on its real-time position and adjusts the target
  by what it knows locally, by at most ``max_adjust`` units.

Every class takes ``levels`` per site, or ``optimal``: levels searched for the
team under the structure's own information (:func:`agents.search.search_levels`
with the structure's rule).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from echelon.agents.policy import Policy, SiteValues, per_site, site_label
from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.information import Knowledge
from echelon.envs.ordering import installation_base_stock, order_up_to
from echelon.envs.params import CoreParams
from echelon.envs.positions import echelon_inventory_position
from echelon.envs.scenario import Scenario


def known_extra(knowledge: Knowledge, params: CoreParams, limit: np.ndarray | None = None) -> np.ndarray:
    """``[B, S]`` extra demand each site knows will come within the periods its order covers (l_o + L).

    ``limit``: cap the sum per site (a bounded local adjustment). Zero without advance demand.
    """
    if knowledge.signals is None:
        return np.zeros_like(knowledge.state.on_hand)
    cover = params.order_delay + params.lead_time  # [S]
    horizon = np.arange(knowledge.signals.shape[2])
    within = horizon[None, :] < cover[:, None]  # [S, notice]
    extra = (knowledge.signals * within[None]).sum(axis=2)
    return extra if limit is None else np.minimum(extra, limit)


class _LevelPolicy(Policy):
    """A policy of per-site levels, built from config values or from per-copy rows (the search's candidates)."""

    kind = "installation"  # the shape of its levels: "echelon" or "installation"

    def __init__(self, scenario: Scenario, *, levels: SiteValues | np.ndarray):
        super().__init__(scenario)
        if isinstance(levels, np.ndarray) and levels.ndim == 2:
            self.levels = levels
        else:
            self.levels = per_site(levels, scenario, f"policy '{self.name}': levels")

    @classmethod
    def rule(cls, scenario: Scenario, **options: Any):
        """A :data:`agents.search.LevelRule` of this structure with these options."""
        return lambda params, rows: cls(scenario, levels=rows, **options)

    def act(self, state: State) -> np.ndarray:
        """From a bare state: full, instant information and no advance demand."""
        return self.decide(Knowledge(state, state, 0, None))


def echelon_cover(params: CoreParams) -> np.ndarray:
    """``[S, S]``: periods an order of echelon j covers for customer site c (l_o + L summed from c up to j).

    Zero where c is not in j's subtree.
    """
    n = params.n_sites
    own = params.order_delay + params.lead_time
    cover = np.zeros((n, n), dtype=np.int64)
    for c in range(n):
        j, total = c, 0
        while j >= 0:
            total += own[j]
            cover[c, j] = total
            j = params.supplier[j]
    return cover


class Centralized(_LevelPolicy):
    """The central planner's echelon base-stock on its delayed, noisy, periodic view (module docstring)."""

    name = "central"
    kind = "echelon"

    def __init__(self, scenario: Scenario, *, levels: SiteValues | np.ndarray):
        super().__init__(scenario, levels=levels)
        self.review = scenario.information.central.review_period
        self._placed: deque[np.ndarray] = deque(maxlen=max(scenario.information.central.delay, 1))
        self._cover = echelon_cover(self.params)

    def _known(self, knowledge: Knowledge) -> np.ndarray | float:
        """``[B, S]``: extra demand the planner knows of in each echelon's customers, within its cover."""
        signals = knowledge.planner_signals
        if signals is None:
            return 0.0
        cumulative = np.cumsum(signals, axis=2)  # [B, c, h]: extra of periods t + 1 .. t + 1 + h
        horizon = signals.shape[2]
        known = np.zeros_like(knowledge.state.on_hand)
        for j in range(self.params.n_sites):
            members = np.flatnonzero(self.params.subtree[:, j])
            reach = np.minimum(self._cover[members, j], horizon) - 1
            known[:, j] = cumulative[:, members, reach].sum(axis=1)
        return known

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        self._placed.clear()

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        if knowledge.period % self.review:
            orders = np.zeros_like(knowledge.state.on_hand)
        else:
            seen = echelon_inventory_position(knowledge.planner, self.params)
            recent = list(self._placed)[len(self._placed) - knowledge.planner_age:] if knowledge.planner_age else []
            position = seen + sum(recent) if recent else seen  # each site's own orders since add to its echelon
            orders = order_up_to(self.levels + self._known(knowledge), position)
        self._placed.append(orders)
        return orders

    def describe(self) -> str:
        return f"{self.name} S^e={site_label(self.levels)}" if self.levels.ndim == 1 else self.name


class Local(_LevelPolicy):
    """Every site orders up to its own level on its real-time position, with what it knows (module docstring)."""

    name = "local"

    def __init__(self, scenario: Scenario, *, levels: SiteValues | np.ndarray, knowledge: bool = True):
        super().__init__(scenario, levels=levels)
        if not isinstance(knowledge, bool):
            raise ConfigError(f"policy '{self.name}': knowledge must be true or false (got {knowledge!r})")
        self.knowledge = knowledge

    def _adjustment(self, knowledge: Knowledge) -> np.ndarray:
        return known_extra(knowledge, self.params) if self.knowledge else 0.0

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        target = self.levels + self._adjustment(knowledge)
        return installation_base_stock(knowledge.state, self.params, target)

    def describe(self) -> str:
        levels = f" S={site_label(self.levels)}" if self.levels.ndim == 1 else ""
        return f"{self.name}{levels}{' + advance demand' if self.knowledge else ''}"


class Hybrid(Local):
    """Central targets each review; sites execute on real-time positions, adjusting by at most ``max_adjust``."""

    name = "hybrid"

    def __init__(self, scenario: Scenario, *, levels: SiteValues | np.ndarray, max_adjust: SiteValues = 0.0):
        super().__init__(scenario, levels=levels, knowledge=True)
        self.max_adjust = per_site(max_adjust, scenario, f"policy '{self.name}': max_adjust", minimum=0.0)
        self.review = scenario.information.central.review_period
        self._targets: np.ndarray | None = None

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        self._targets = None

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        if self._targets is None or knowledge.period % self.review == 0:
            self._targets = np.broadcast_to(self.levels, knowledge.state.on_hand.shape)  # the centre's targets
        adjust = known_extra(knowledge, self.params, limit=self.max_adjust)
        return installation_base_stock(knowledge.state, self.params, self._targets + adjust)

    def describe(self) -> str:
        levels = f" S={site_label(self.levels)}" if self.levels.ndim == 1 else ""
        return f"{self.name}{levels} +- {site_label(self.max_adjust)}"


STRUCTURES: dict[str, type[_LevelPolicy]] = {cls.name: cls for cls in (Centralized, Local, Hybrid)}
