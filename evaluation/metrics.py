"""Metrics of a policy's rollout: cost, service, inventory and the bullwhip effect.

All metrics are computed from a :class:`~evaluation.rollout.Trajectory` over
the periods from ``warmup`` on; episode means give the 95% confidence
intervals (normal approximation over independent episodes).

* **cost**: per period, team total and per site.
* **fill rate** (type II service) at customer-facing sites: the fraction of
  customer demand served from stock in the period it arrives (earlier backlog
  is served first); **cycle service level** (type I): the fraction of periods
  with no stockout (Snyder & Shen sec. 4.2).
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

from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario
from echelon.evaluation.rollout import Trajectory

Z95 = 1.959963984540054


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


def echelon_levels(scenario: Scenario) -> list[int]:
    """Echelon of each site: 1 for customer-facing leaves, else 1 + the highest echelon among its customers."""
    level: dict[str, int] = {}
    for site in scenario.sites:  # downstream first
        below = [level[c] for c in scenario.customers(site.name)]
        level[site.name] = 1 + max(below, default=0)
    return [level[s.name] for s in scenario.sites]


def _variance_ratio(orders: np.ndarray, demand: np.ndarray) -> float:
    """Pooled within-episode variance of ``orders`` over that of ``demand`` (``[T, B]`` each)."""
    v_demand = float(demand.var(axis=0, ddof=1).mean())
    v_orders = float(orders.var(axis=0, ddof=1).mean())
    return v_orders / v_demand if v_demand > 0 else float("nan")


def compute_metrics(trajectory: Trajectory, scenario: Scenario, warmup: int = 0) -> Metrics:
    """The metrics of one rollout (module docstring), from period ``warmup`` on."""
    t = trajectory
    periods = t.cost.shape[0]
    if not 0 <= warmup < periods - 1:
        raise ValueError(f"warmup: must be in 0..{periods - 2} for {periods}-period episodes (got {warmup})")
    names = scenario.site_names
    keep = slice(warmup, None)
    cost = t.cost[keep].mean(axis=0)  # [B, S]
    team = cost.sum(axis=1)

    # service at customer-facing sites; earlier customer backlog is served before new demand
    previous = np.concatenate([np.zeros_like(t.customer_backlog[:1]), t.customer_backlog[:-1]])
    filled_now = np.clip(t.sales - previous, 0.0, t.demand)[keep]
    demand = t.demand[keep]
    facing = [i for i, name in enumerate(names) if name in scenario.demand]
    all_demand = demand[:, :, facing].sum()
    fill_total = float(filled_now[:, :, facing].sum() / all_demand) if all_demand > 0 else float("nan")
    fill, cycle = {}, {}
    for i, name in enumerate(names):
        if name in scenario.demand:
            total = demand[:, :, i].sum()
            fill[name] = float(filled_now[:, :, i].sum() / total) if total > 0 else float("nan")
            cycle[name] = float(np.mean(filled_now[:, :, i] >= demand[:, :, i] - 1e-9))

    # bullwhip: orders against the end-customer demand each site ultimately serves
    subtree = CoreParams.from_scenario(scenario).subtree  # (k, j) = 1 if k is j or below it
    through = np.einsum("tbk,kj->tbj", t.demand, subtree)[keep]
    orders = t.orders[keep]
    bullwhip = {name: _variance_ratio(orders[:, :, i], through[:, :, i]) for i, name in enumerate(names)}
    levels = np.array(echelon_levels(scenario))
    echelon = [
        _variance_ratio(orders[:, :, levels == k].sum(axis=2), through[:, :, levels == k].sum(axis=2))
        for k in range(1, int(levels.max()) + 1)
    ]
    return Metrics(
        cost=Estimate.of(team),
        site_cost={name: Estimate.of(cost[:, i]) for i, name in enumerate(names)},
        fill_rate=fill,
        fill_rate_total=fill_total,
        cycle_service=cycle,
        on_hand={name: float(t.on_hand[keep][:, :, i].mean()) for i, name in enumerate(names)},
        backlog={name: float(t.backlog[keep][:, :, i].mean()) for i, name in enumerate(names)},
        bullwhip=bullwhip,
        echelon_bullwhip=echelon,
        episode_cost=team,
    )


def paired_difference(metrics: Metrics, baseline: Metrics) -> Estimate:
    """Team cost per period minus the baseline's, paired episode by episode (same demand)."""
    return Estimate.of(metrics.episode_cost - baseline.episode_cost)
