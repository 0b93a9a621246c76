"""Metrics of a policy's rollout: cost, service, inventory and the bullwhip effect.

All metrics are computed from a :class:`~evaluation.rollout.Trajectory` over
the periods from ``warmup`` on; episode means give the 95% confidence
intervals (normal approximation over independent episodes).

* **cost**: per period, team total and per site.
* **fill rate** (type II service) at customer-facing sites: the fraction of
  customer demand served from stock in the period it arrives (earlier backlog
  is served first); **cycle service level** (type I): the fraction of periods
  with no stockout (Snyder & Shen sec. 4.2).
* **bottlenecks** (shared capacities): utilisation, the mean of the orders a
  bottleneck carries over its limit, and how often it binds (orders at the limit).
* **bullwhip ratio** of a site: Var(orders it places) / Var(end-customer demand
  in its subtree); of an echelon (all sites at the same distance from the
  customers, 1 = customer-facing): the same for the echelon's summed orders.
  Variances are over time within each episode, pooled over episodes (Chen,
  Drezner, Ryan & Simchi-Levi 2000; Lee, Padmanabhan & Whang 1997).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from echelon.agents.policy import Policy
from echelon.envs.core import Flows, State
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario, echelon_levels
from echelon.envs.simulator import ChunkedEpisode, Episode
from echelon.evaluation.rollout import Block, Trajectory, rows, run
from echelon.stats import Z95


@dataclass(frozen=True)
class Estimate:
    """A mean over episodes with its 95% confidence half-width."""

    mean: float
    half_width: float

    @classmethod
    def of(cls, samples: np.ndarray) -> Estimate:
        samples = np.asarray(samples, dtype=np.float64)
        n = len(samples)
        half = Z95 * float(samples.std(ddof=1)) / math.sqrt(n) if n > 1 else float("nan")
        return cls(float(samples.mean()), half)


@dataclass(frozen=True)
class Metrics:
    """Everything the benchmark reports for one policy on one scenario."""

    cost: Estimate  # team cost per period
    site_cost: dict[str, Estimate]
    fill_rate: dict[str, float]  # customer-facing sites
    fill_rate_total: float  # over all customer demand
    cycle_service: dict[str, float]  # customer-facing sites
    on_hand: dict[str, float]  # mean end-of-period stock on hand
    backlog: dict[str, float]  # mean end-of-period backorders (customer + owed downstream)
    bullwhip: dict[str, float]  # per site
    echelon_bullwhip: list[float]  # echelon 1 (customer-facing), 2, ...
    episode_cost: np.ndarray = field(repr=False)  # [episodes] team cost per period, for paired comparisons
    bottlenecks: dict[str, Bottleneck] = field(default_factory=dict)  # by shared capacity's name
    in_transit: dict[str, float] = field(default_factory=dict)  # mean end-of-period stock shipped to the site, not
    # yet arrived


@dataclass(frozen=True)
class Bottleneck:
    """How a shared capacity was used: mean orders carried over its limit, and the fraction of
    periods it was at its limit (binding: orders were cut to it, or asked exactly that much)."""

    utilisation: float
    binding: float


class _Moments:
    """Per-episode running sums of a ``[B, K]`` series over time, for its within-episode variance.

    Sums are of the series minus its first value (a shift that keeps the one-pass variance exact
    in practice: Chan, Golub & LeVeque 1983)."""

    def __init__(self) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.s = self.ss = 0.0

    def add(self, x: np.ndarray) -> None:
        if self.shift is None:
            self.shift = x.copy()
        d = x - self.shift
        self.s = self.s + d
        self.ss = self.ss + d * d
        self.n += 1

    def variance_sum(self) -> np.ndarray:
        """Sum over episodes of each column's variance over time (ddof 1)."""
        s, ss = np.asarray(self.s, dtype=np.float64), np.asarray(self.ss, dtype=np.float64)
        return ((ss - s * s / self.n) / (self.n - 1)).sum(axis=0)


class MetricsAccumulator:
    """The metrics of a batch of episodes, gathered period by period: nothing of the trajectory is kept,
    so 1,000 episodes of a 4,000-node network cost ``[episodes, sites]`` memory, not ``[T, episodes, sites]``.

    Call :meth:`add` once per period in order (periods before ``warmup`` are skipped); batches of
    episodes run one after another are joined with :meth:`extend`; :meth:`metrics` gives the result.
    """

    def __init__(self, scenario: Scenario, params: CoreParams, warmup: int = 0) -> None:
        self.scenario, self.params, self.warmup = scenario, params, warmup
        self.names = scenario.site_names
        self.facing = np.array([name in scenario.demand for name in self.names])
        self.levels = np.array(echelon_levels(scenario))
        self.level_masks = [self.levels == k for k in range(1, int(self.levels.max()) + 1)]
        self.shared = params.shared
        self._done: list[dict[str, np.ndarray | float]] = []
        self._start()

    def _start(self) -> None:
        self.t = 0
        self.kept = 0
        self.previous_backlog: np.ndarray | float = 0.0
        self.sums: dict[str, np.ndarray | float] = {}
        self.orders, self.through = _Moments(), _Moments()
        self.level_orders, self.level_through = _Moments(), _Moments()

    def _sum(self, key: str, value: np.ndarray | float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value

    def add(self, orders: np.ndarray, demand: np.ndarray, sales: np.ndarray, on_hand: np.ndarray,
            backlog: np.ndarray, customer_backlog: np.ndarray, cost: np.ndarray, in_transit: np.ndarray) -> None:
        """One period, ``[B, S]`` each: orders placed (after capacity), customer demand, sales, end-of-period
        on hand, backlog (customer + owed downstream) and customer backlog, the period's cost, and the
        end-of-period stock in transit to each site."""
        previous, self.previous_backlog = self.previous_backlog, customer_backlog
        self.t += 1
        if self.t <= self.warmup:
            return
        self.kept += 1
        filled = np.clip(sales - previous, 0.0, demand)  # earlier backlog is served before new demand
        self._sum("cost", cost)
        self._sum("filled", filled.sum(axis=0))
        self._sum("demand", demand.sum(axis=0))
        self._sum("served_in_full", (filled >= demand - 1e-9).sum(axis=0))
        self._sum("on_hand", on_hand.sum(axis=0))
        self._sum("in_transit", in_transit.sum(axis=0))
        self._sum("backlog", backlog.sum(axis=0))
        through = self.params.graph.echelon(demand)  # end-customer demand each site ultimately serves
        self.orders.add(orders)
        self.through.add(through)
        self.level_orders.add(np.stack([orders[:, m].sum(axis=1) for m in self.level_masks], axis=1))
        self.level_through.add(np.stack([through[:, m].sum(axis=1) for m in self.level_masks], axis=1))
        if self.shared:
            used = np.stack([orders[:, cap.sites].sum(axis=1) / cap.limit for cap in self.shared], axis=1)
            self._sum("utilisation", used.sum(axis=0))
            self._sum("binding", (used >= 1.0 - 1e-9).sum(axis=0))

    def extend(self) -> None:
        """Close this batch of episodes; later :meth:`add` calls start the next batch's period 0."""
        if self.kept < 2:
            raise ValueError(f"warmup: must leave at least 2 periods (got {self.kept} of {self.t})")
        done = dict(self.sums)
        done["cost"] = np.asarray(self.sums["cost"]) / self.kept  # [B, S] per period
        done["batch"] = float(done["cost"].shape[0])
        done["periods"] = float(self.kept * done["cost"].shape[0])
        for key, moments in (("var_orders", self.orders), ("var_through", self.through),
                             ("var_level_orders", self.level_orders), ("var_level_through", self.level_through)):
            done[key] = moments.variance_sum()
        self._done.append(done)
        self._start()

    def metrics(self) -> Metrics:
        """The metrics over every batch of episodes added (closing the current one)."""
        if self.t:
            self.extend()
        parts = self._done
        cost = np.concatenate([p["cost"] for p in parts])  # [episodes, S]
        total = {k: sum(np.asarray(p[k], dtype=np.float64) for p in parts)
                 for k in parts[0] if k != "cost"}
        team = cost.sum(axis=1)
        names = self.names
        demand, filled = total["demand"], total["filled"]
        all_demand = demand[self.facing].sum()
        ratio = _ratio(total["var_orders"], total["var_through"])
        level_ratio = _ratio(total["var_level_orders"], total["var_level_through"])
        bottlenecks = {}
        if self.shared:
            periods = total["periods"]
            for k, cap in enumerate(self.scenario.capacities):
                bottlenecks[cap.name] = Bottleneck(float(total["utilisation"][k] / periods),
                                                   float(total["binding"][k] / periods))
        return Metrics(
            cost=Estimate.of(team),
            site_cost={name: Estimate.of(cost[:, i]) for i, name in enumerate(names)},
            fill_rate={name: float(filled[i] / demand[i]) if demand[i] > 0 else float("nan")
                       for i, name in enumerate(names) if self.facing[i]},
            fill_rate_total=float(filled[self.facing].sum() / all_demand) if all_demand > 0 else float("nan"),
            cycle_service={name: float(total["served_in_full"][i] / total["periods"])
                           for i, name in enumerate(names) if self.facing[i]},
            on_hand={name: float(total["on_hand"][i] / total["periods"]) for i, name in enumerate(names)},
            in_transit={name: float(total["in_transit"][i] / total["periods"]) for i, name in enumerate(names)},
            backlog={name: float(total["backlog"][i] / total["periods"]) for i, name in enumerate(names)},
            bullwhip={name: float(ratio[i]) for i, name in enumerate(names)},
            echelon_bullwhip=[float(v) for v in level_ratio],
            episode_cost=team,
            bottlenecks=bottlenecks,
        )


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Variance ratios, nan where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def compute_metrics(trajectory: Trajectory, scenario: Scenario, warmup: int = 0) -> Metrics:
    """The metrics of one rollout (module docstring), from period ``warmup`` on."""
    t = trajectory
    periods = t.cost.shape[0]
    if not 0 <= warmup < periods - 1:
        raise ValueError(f"warmup: must be in 0..{periods - 2} for {periods}-period episodes (got {warmup})")
    acc = MetricsAccumulator(scenario, CoreParams.from_scenario(scenario), warmup)
    for k in range(periods):
        acc.add(t.orders[k], t.demand[k], t.sales[k], t.on_hand[k], t.backlog[k], t.customer_backlog[k], t.cost[k],
                t.in_transit[k])
    return acc.metrics()


def measure(policy: Policy, scenario: Scenario, episodes: int, seed: int,
            episode: Episode | ChunkedEpisode | list[Block] | None = None,
            warmup: int = 0) -> tuple[Metrics, Trajectory]:
    """A policy's metrics over common-random-number episodes (as :func:`~evaluation.rollout.rollout`), gathered
    period by period, and the first episode's trajectory (for plots): memory ``[episodes, sites]``."""
    acc = MetricsAccumulator(scenario, CoreParams.from_scenario(scenario), warmup)
    first: dict[str, list[np.ndarray]] = {name: [] for name in Trajectory.__dataclass_fields__}

    def observe(flows: Flows, state: State, params: CoreParams) -> None:
        period = rows(flows, state, params)
        acc.add(*(period[k] for k in ("orders", "demand", "sales", "on_hand", "backlog", "customer_backlog", "cost",
                                      "in_transit")))
        if not trajectory:
            for name, value in period.items():
                first[name].append(value[:1].copy())  # (a view would keep the whole batch alive)

    def end_block() -> None:
        acc.extend()
        if not trajectory:
            trajectory.append(Trajectory(**{name: np.stack(values) for name, values in first.items()}))

    trajectory: list[Trajectory] = []
    run(policy, scenario, episodes, seed, episode, observe, end_block)
    return acc.metrics(), trajectory[0]


def paired_difference(metrics: Metrics, baseline: Metrics) -> Estimate:
    """Team cost per period minus the baseline's, paired episode by episode (same demand)."""
    return Estimate.of(metrics.episode_cost - baseline.episode_cost)
