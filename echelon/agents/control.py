"""Control structures: who decides replenishment, each at its best under its own information.

The scenario's information model (:mod:`envs.information`) says what each role
may know; these policies use exactly that (:meth:`Policy.decide`):

* :class:`Centralized` (``central``): one planner orders for every site, echelon
  base-stock (Clark & Scarf 1960) on its view: the network as it was ``delay``
  periods ago, on-hand stock recorded with error, plus the orders it has placed
  since (its own decisions it knows at once, as placed: cut to capacities and
  bottlenecks). It re-plans every
  ``review_period`` periods and orders nothing in between: the periodic-review
  (R, S) form of base-stock (Snyder & Shen, sec. 4.6). News of extra demand
  reaches it ``delay`` periods after the sites, with the state it sees; it
  raises each echelon's level by the extra demand it knows of in the
  echelon's customers within the periods from its view to the end of the
  echelon's cover: the blind window (demand that has happened since its view)
  and the periods the echelon's order covers. With delay d its position is
  the true echelon position plus the blind window's demand, so it runs the
  chain as if the customer-facing lead time were L_1 + d.
* :class:`Local` (``local``): every site orders up to its own level [S_j] on its
  real-time inventory position, customers first (:func:`envs.ordering.sequential_orders`),
  as well as the sites' skill lets it (:class:`~envs.information.LocalSkill`: below 1, a site
  leaves part of its stock on order out of its position and its target errs);
  with ``knowledge: true`` a site raises its target by the extra demand it knows
  is coming within the periods its order covers (order delay + lead time): the
  base-stock form that is optimal with advance demand information (Gallego &
  Özer 2001). Levels set for the team, or each site's own (:mod:`agents.nash`).
* :class:`Hybrid` (``hybrid``): the centre plans every review from its global
  view exactly as :class:`Centralized` does (echelon levels [S^e], the news it
  has received, the whole network's stock as of ``delay`` periods ago) and
  sends each site its planned order; each site executes every period on its
  real-time local position and what it knows locally (its own level [s_j] and
  advance demand, as :class:`Local`), and may move the centre's order by at
  most its band [b_j] units: q_j = clip(q_j^local, q_j^central - b_j,
  q_j^central + b_j), customers first, so a supplier sees its customers' actual
  orders. Band 0 everywhere is :class:`Centralized`; an unlimited band
  everywhere is :class:`Local` (the centre's plan no longer binds); a band of 0
  upstream and unlimited at the stores is the classic split in which the centre
  runs the upstream echelons on its global view while the stores run
  themselves. The centre counts the orders it planned since its view (it learns
  the sites' actual orders with the rest of their data, ``delay`` periods late).

Every class takes ``levels`` per site, or ``optimal``: levels searched for the
team under the structure's own information (:mod:`agents.tuning`).

Lot sizing, where orders carry a fixed cost (a site's ``fixed_order_cost``, the
scenario's ``joint_order_cost``): :class:`Centralized` and :class:`Local` take
``reorder`` per site, the smallest order a site places ((s, S) with
s = S - reorder, Scarf 1960); :class:`Centralized` also takes ``joint``: the
sites that buy from outside order together, all up to their levels, once their
gaps total at least ``joint`` (the (Q, S) joint-replenishment policy, Renberg &
Planche 1967), which is how a centre consolidates purchase orders
(:mod:`agents.purchasing`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from echelon.agents.policy import Policy, SiteValues, per_site, site_label
from echelon.envs.core import State, placed_orders
from echelon.envs.errors import ConfigError
from echelon.envs.information import Knowledge
from echelon.envs.ordering import installation_base_stock, order_up_to
from echelon.envs.params import CoreParams
from echelon.envs.positions import echelon_inventory_position, pipeline
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

    def __init__(self, scenario: Scenario, *, levels: SiteValues | np.ndarray,
                 reorder: SiteValues | np.ndarray = 0.0, joint: float | np.ndarray | None = None):
        super().__init__(scenario, levels=levels)
        self.reorder = _minimum_orders(reorder, scenario, self.name)
        self.joint = _joint_trigger(joint, self.name)
        self.review = scenario.information.central.review_period
        self._placed: deque[np.ndarray] = deque(maxlen=max(scenario.information.central.delay, 1))
        self._cover = echelon_cover(self.params)

    def _known(self, knowledge: Knowledge) -> np.ndarray | float:
        """``[B, S]``: extra demand the planner knows of in each echelon's customers, from its view's period
        to the end of the echelon's cover (the blind window of ``planner_age`` periods, then the cover)."""
        signals = knowledge.planner_signals
        if signals is None:
            return 0.0
        cumulative = np.cumsum(signals, axis=2)  # [B, c, h]: extra of periods v + 1 .. v + 1 + h, v its view's
        horizon = signals.shape[2]
        known = np.zeros_like(knowledge.state.on_hand)
        for j in range(self.params.n_sites):
            members = np.flatnonzero(self.params.subtree[:, j])
            reach = np.minimum(self._cover[members, j] + knowledge.planner_age, horizon) - 1
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
            orders = self._lot_sized(order_up_to(self.levels + self._known(knowledge), position))
        self._placed.append(placed_orders(orders, self.params))  # as the core will place them (capacities)
        return orders

    def _lot_sized(self, orders: np.ndarray) -> np.ndarray:
        """The orders as the lot-sizing options place them: none below a site's ``reorder`` quantity
        ((s, S) on the echelon position, s = S - reorder); with ``joint``, the sites buying from outside
        order together, all up to their levels, once their gaps total at least ``joint`` (the (Q, S)
        joint-replenishment policy, Renberg & Planche 1967; Pantumsinchai 1992), else none of them."""
        if self.reorder is not None:
            orders = np.where(orders >= self.reorder, orders, 0.0)
        if self.joint is not None:
            outside = self.params.outside
            short = (orders * outside).sum(axis=1, keepdims=True) < self.joint
            orders = np.where(outside & short, 0.0, orders)
        return orders

    def describe(self) -> str:
        if self.levels.ndim != 1:
            return self.name
        return f"{self.name} S^e={site_label(self.levels)}{_lot_label(self.reorder, self.joint)}"


class Local(_LevelPolicy):
    """Every site orders up to its own level on its real-time position, with what it knows (module docstring)."""

    name = "local"

    def __init__(self, scenario: Scenario, *, levels: SiteValues | np.ndarray, knowledge: bool = True,
                 reorder: SiteValues | np.ndarray = 0.0):
        super().__init__(scenario, levels=levels)
        if not isinstance(knowledge, bool):
            raise ConfigError(f"policy '{self.name}': knowledge must be true or false (got {knowledge!r})")
        self.knowledge = knowledge
        self.reorder = _minimum_orders(reorder, scenario, self.name)
        self._mean_demand = np.array([scenario.mean_demand_through(s) for s in scenario.site_names])

    def _adjustment(self, knowledge: Knowledge) -> np.ndarray:
        return known_extra(knowledge, self.params) if self.knowledge else 0.0

    def target(self, knowledge: Knowledge) -> np.ndarray:
        """``[B, S]`` order-up-to targets on the real-time position: the levels, the news the sites know,
        and the sites' skill (:class:`~envs.information.LocalSkill`): the part of the stock on order they
        leave out, and their errors."""
        target = self.levels + self._adjustment(knowledge)
        skill = self.scenario.information.local
        if skill.skill < 1:
            on_order = pipeline(knowledge.state)
            target = target + (1.0 - skill.supply_line_weight) * on_order
            if knowledge.local_error is not None:
                target = target + skill.error * self._mean_demand * knowledge.local_error
            target = np.maximum(np.rint(target) if self.params.integral else target, 0.0)
        return target

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        return installation_base_stock(knowledge.state, self.params, self.target(knowledge), minimum=self.reorder)

    def describe(self) -> str:
        levels = f" S={site_label(self.levels)}{_lot_label(self.reorder)}" if self.levels.ndim == 1 else ""
        return f"{self.name}{levels}{' + advance demand' if self.knowledge else ''}"


class Hybrid(_LevelPolicy):
    """The centre plans every site's order; each site executes it on its real-time position, moving it by
    at most its band (module docstring).

    ``levels``: the centre's echelon levels [S^e] (as :class:`Centralized`); ``local_levels``: the sites'
    own levels [s_j] (as :class:`Local`); ``band``: per site, ``inf`` for an unlimited one. Level rows
    ``[B, 2 S]`` (the search's candidates) hold both: echelon levels first.
    """

    name = "hybrid"
    kind = "echelon"

    def __init__(self, scenario: Scenario, *, levels: SiteValues | np.ndarray,
                 local_levels: SiteValues | np.ndarray | None = None, band: SiteValues | np.ndarray = 0.0):
        n = len(scenario.sites)
        if isinstance(levels, np.ndarray) and levels.ndim == 2 and local_levels is None:
            levels, local_levels = levels[:, :n], levels[:, n:]
        if local_levels is None:
            raise ConfigError(f"policy '{self.name}': local_levels: give the sites' own levels (or 'optimal')")
        super().__init__(scenario, levels=levels)
        self.central = Centralized(scenario, levels=self.levels)
        self.local = Local(scenario, levels=local_levels, knowledge=True)
        if isinstance(band, np.ndarray) and band.ndim == 2:
            self.band = band
        else:
            self.band = per_site(_finite_or_inf(band), scenario, f"policy '{self.name}': band", minimum=0.0,
                                 infinite=True)

    @classmethod
    def rule(cls, scenario: Scenario, **options: Any):
        """Level rows ``[B, 2 S]`` (echelon levels, then local levels) at the given band."""
        return lambda params, rows: cls(scenario, levels=rows, **options)

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        self.central.reset(batch, rng)

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        planned = self.central.decide(knowledge)  # the centre also counts these as its orders since
        bounds = (planned - self.band, planned + self.band)
        return installation_base_stock(knowledge.state, self.params, self.local.target(knowledge), bounds=bounds)

    def describe(self) -> str:
        if self.levels.ndim != 1:
            return self.name
        return (f"{self.name} S^e={site_label(self.levels)} s={site_label(self.local.levels)} "
                f"band={site_label(self.band)}")


def _minimum_orders(value: SiteValues | np.ndarray, scenario: Scenario, name: str) -> np.ndarray | None:
    """A ``reorder`` option (per site, or rows ``[B, S]`` of the search's candidates); None where all 0."""
    if isinstance(value, np.ndarray) and value.ndim == 2:
        rows = value
    else:
        rows = per_site(value, scenario, f"policy '{name}': reorder", minimum=0.0)
    return rows if rows.any() else None


def _joint_trigger(value: Any, name: str) -> float | np.ndarray | None:
    """A ``joint`` option: None (the sites buying from outside order separately), a number >= 0, or a
    column ``[B, 1]`` of the search's candidates."""
    if value is None or isinstance(value, np.ndarray) and value.ndim == 2:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"policy '{name}': joint: must be a number >= 0, the smallest total order that "
                          f"triggers one purchase order (got {value!r})")
    return float(value)


def _lot_label(reorder: np.ndarray | None, joint: float | np.ndarray | None = None) -> str:
    """The lot-sizing options as :meth:`Policy.describe` shows them (empty where there are none)."""
    text = f" reorder={site_label(reorder)}" if reorder is not None and reorder.ndim == 1 else ""
    return text + (f" joint={joint:g}" if isinstance(joint, float) else "")


def _finite_or_inf(value: Any) -> Any:
    """A band given as ``inf`` (or 'unlimited') in a config, as a float."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "unlimited"):
        return math.inf
    if isinstance(value, Mapping):
        return {k: _finite_or_inf(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_inf(v) for v in value]
    return value


STRUCTURES: dict[str, type[_LevelPolicy]] = {cls.name: cls for cls in (Centralized, Local, Hybrid)}
