"""Buying power: what a centre's consolidated purchase orders are worth, each structure at its best.

With a fixed cost K per purchase order to the outside supplier, sites that buy
separately pay K each time each of them orders (a site's own
``fixed_order_cost``); a centre that places one purchase order for all of them
pays K once in a period in which any of them orders (the scenario's
``joint_order_cost``: the major setup cost of the joint replenishment problem,
Khouja & Goyal 2008). Three policies, each searched for the team under the cost
it faces:

* **decentralized, separate orders**: every site orders on its real-time
  position (:class:`~agents.control.Local`) with a reorder quantity at each
  outside buyer: (s, S) with s = S - reorder (Scarf 1960);
* **centralized, separate orders**: the planner's echelon base-stock
  (:class:`~agents.control.Centralized`) with the same per-site reorder
  quantities, still paying K per site: what central information alone is worth;
* **centralized, consolidated**: the planner orders for all outside buyers
  together, each up to its level, once their gaps total at least Q (the
  (Q, S) policy of Renberg & Planche 1967, Pantumsinchai 1992), paying K once.

Each search moves the levels and the lot-sizing parameters together (compass
search on common random numbers, :func:`agents.search.search_levels`) from two
starts: no lot-sizing (the structure's tuned base-stock levels), and the same
levels with the economic order quantity sqrt(2 K D / h) as reorder quantity
(for the consolidated order: K, the buyers' total demand and their
demand-weighted holding cost). The cheaper on fresh episodes is kept; the other
start is the second method.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from echelon.agents.control import Centralized, Local
from echelon.agents.policy import Policy
from echelon.agents.search import search_levels
from echelon.agents.tuning import Tuned
from echelon.envs.scenario import Scenario

STRUCTURES = ("decentralized, separate orders", "centralized, separate orders", "centralized, consolidated")
"""The three policies the buying-power row compares (module docstring), in that order."""


def outside_buyers(scenario: Scenario) -> np.ndarray:
    """Indices of the sites without a supplier: those that buy from outside."""
    return np.array([i for i, s in enumerate(scenario.sites) if s.supplier is None], dtype=np.int64)


def separate(scenario: Scenario, cost: float) -> Scenario:
    """``scenario`` with every outside buyer paying ``cost`` per order it places (no consolidation)."""
    sites = tuple(dataclasses.replace(s, fixed_order_cost=s.fixed_order_cost + cost) if s.supplier is None else s
                  for s in scenario.sites)
    return dataclasses.replace(scenario, sites=sites)


def consolidated(scenario: Scenario, cost: float) -> Scenario:
    """``scenario`` with one purchase order of ``cost`` a period for all outside buyers that order."""
    return dataclasses.replace(scenario, joint_order_cost=scenario.joint_order_cost + cost)


def economic_order_quantity(cost: float, demand: float, holding: float) -> float:
    """EOQ = sqrt(2 K D / h) (Harris 1913), the lot-sizing searches' second start."""
    return math.sqrt(2.0 * cost * demand / holding) if holding > 0 else demand


def tune_purchasing(scenario: Scenario, structure: str, levels: np.ndarray, cost: float, episodes: int,
                    seed: int) -> Tuned:
    """``structure`` (one of :data:`STRUCTURES`) at its best on ``scenario`` with purchase orders of ``cost``
    (module docstring). ``levels``: the structure's tuned base-stock levels without the fixed cost (local
    levels for the decentralized, echelon levels for the centralized), the searches' starting levels."""
    if structure not in STRUCTURES:
        raise ValueError(f"structure: one of {', '.join(STRUCTURES)} (got {structure!r})")
    n = len(scenario.sites)
    buyers = outside_buyers(scenario)
    demand = np.array([scenario.mean_demand_through(scenario.sites[i].name) for i in buyers])
    holding = np.array([scenario.sites[i].holding_cost for i in buyers])
    joint = structure == "centralized, consolidated"
    scen = consolidated(scenario, cost) if joint else separate(scenario, cost)
    if joint:
        lots = np.array([economic_order_quantity(cost, float(demand.sum()),
                                                 float((demand * holding).sum() / demand.sum()))])
    else:
        lots = np.array([economic_order_quantity(cost, d, h) for d, h in zip(demand, holding, strict=True)])
    if all(m.integral for m in scenario.demand.values()):
        lots = np.round(lots)

    def policy(rows: np.ndarray) -> Policy:
        top = rows[:, :n]
        if joint:
            return Centralized(scen, levels=top, joint=rows[:, n:n + 1])
        reorder = np.zeros_like(top)
        reorder[:, buyers] = rows[:, n:]
        if structure.startswith("centralized"):
            return Centralized(scen, levels=top, reorder=reorder)
        return Local(scen, levels=top, knowledge=True, reorder=reorder)

    kind = "echelon" if structure.startswith("centralized") else "installation"
    starts = [np.concatenate([levels, np.zeros_like(lots)]), np.concatenate([levels, lots])]
    found = sorted((search_levels(scen, kind=kind, episodes=episodes, seed=seed, start=s,
                                  rule=lambda params, rows: policy(rows), together=True) for s in starts),
                   key=lambda r: r.expected_cost)
    best, other = (policy(r.levels[None]) for r in found)
    return Tuned(_one(best, scen), f"levels and lot sizes by compass search from 2 starts on {episodes} episodes",
                 _one(other, scen), "the other start (no lot-sizing, or the economic order quantity)")


def _one(policy: Policy, scenario: Scenario) -> Policy:
    """A searched policy (one candidate row) as a plain policy with per-site values."""
    if isinstance(policy, Local):
        return Local(scenario, levels=policy.levels[0], knowledge=True,
                     reorder=policy.reorder[0] if policy.reorder is not None else 0.0)
    assert isinstance(policy, Centralized)
    joint = None if policy.joint is None else float(np.asarray(policy.joint).reshape(-1)[0])
    return Centralized(scenario, levels=policy.levels[0],
                       reorder=policy.reorder[0] if policy.reorder is not None else 0.0, joint=joint)
