"""Every control structure at its best under its own information, and the evidence that it is.

A comparison of control structures is fair only if each is tuned as well as the
others (the principle of :mod:`agents.control`): its levels are searched for the
team's cost on common random numbers, and a second method confirms the search.

* **centralized** (:class:`~agents.control.Centralized`): compass search
  (:func:`agents.search.search_levels`, with moves of whole echelons, which
  cross the ridges that shared supply makes) of the echelon levels from two starts
  (the lead-time-demand start, and the same plus the blind window's demand
  d x mean); the cheaper on fresh episodes is kept. Second method, where
  theory is exact (a serial backlog chain, no advance demand, exact records,
  review every period): the Clark–Scarf optimum of the chain whose
  customer-facing lead time is L_1 + d. With data d periods old the planner's
  position is the true echelon position plus the demand of its blind window,
  so each echelon's order covers d more periods of demand: the planner runs the
  longer chain, and its cost is that chain's optimum less the d extra periods
  of pipeline holding (h'_2 x mean x d) the real chain does not pay.
* **decentralized** (:class:`~agents.control.Local`, team levels): compass
  search of the local levels from two starts (lead-time demand, and the local
  levels equivalent to the centralized echelon levels, S_j - sum of its
  customers' S). Second method on serial chains without advance demand and
  with sites that follow their rule exactly: the Clark–Scarf optimum itself (local base-stock with real-time data and
  levels S_j - S_{j-1} is echelon base-stock, Axsäter 1993).
* Networks of more than :data:`FREE_STARTS_MAX_SITES` sites (a planner's own)
  search one safety factor per echelon first, then polish those levels by a
  free search; the coarse search is the second method there.
* **hybrid** (:class:`~agents.control.Hybrid`): starts from the tuned
  centralized and decentralized levels, evaluates a grid of bands per echelon
  (0, mean demand through the site, unlimited), and polishes the levels of the
  best band jointly by compass search (unless the best is a special case,
  whose levels are tuned already). The grid contains band 0 everywhere
  (centralized) and unlimited everywhere (decentralized), so the tuned hybrid
  is never worse than either on the search episodes; the check is those two
  special cases.

:class:`Tuned` carries the policy, how it was found, the second method's policy
and, where theory gives it, the exact optimum, so a report can print the
evidence beside the figure.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from echelon.agents.clark_scarf import grid_step, serial_optimum
from echelon.agents.control import Centralized, Hybrid, Local
from echelon.agents.policy import Policy
from echelon.agents.search import (
    LevelEvaluator,
    SearchResult,
    covered_demand,
    search_episodes,
    search_levels,
    starting_levels,
)
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import LeadTime, Scenario, echelon_levels

Z_95 = 1.6448536269514722
"""The standard normal's 95% quantile: the safety factor of a 95% cycle-service target."""
BAND_GRID = (0.0, 1.0, math.inf)
"""A hybrid site's band, as a multiple of the mean demand through it: the grid searched per echelon."""
FREE_STARTS_MAX_SITES = 12
"""Largest network searched freely from two starts; larger ones search one factor per echelon first."""
POLISH_ROUNDS = 25
"""Most rounds of the free search that polishes a coarse search's levels on a large network."""
MAX_BAND_PATTERNS = 27
"""Most band patterns (one grid value per echelon) evaluated; deeper networks share one band for all."""


@dataclass(frozen=True)
class Tuned:
    """A structure at its best, with the evidence: how it was found and the second method's answer."""

    policy: Policy
    method: str  # how the levels were found
    check: Policy | None = None  # the second method's policy, evaluated beside it
    check_method: str = ""
    exact_cost: float | None = None  # theory's optimal cost per period, where it applies


def exact_centralized(scenario: Scenario) -> tuple[np.ndarray, float] | None:
    """Echelon levels and cost per period of the delayed planner where Clark–Scarf is exact (module
    docstring), else None."""
    info = scenario.information
    central = info.central
    if info.advance_demand is not None or central.record_error or central.review_period != 1:
        return None
    if len(scenario.sites) < 2:
        return None
    first = scenario.sites[0]
    longer = LeadTime((first.lead_time.max + central.delay,))
    chain = dataclasses.replace(scenario, sites=(dataclasses.replace(first, lead_time=longer), *scenario.sites[1:]),
                                information=dataclasses.replace(info, central=dataclasses.replace(central, delay=0)))
    try:
        optimum = serial_optimum(chain)
    except ConfigError:
        return None
    mean = scenario.demand[first.name].mean
    pipeline = scenario.sites[1].holding_cost * mean * central.delay if scenario.pipeline_holding else 0.0
    return optimum.echelon_levels, optimum.expected_cost - pipeline


def exact_local(scenario: Scenario) -> tuple[np.ndarray, float] | None:
    """Team local levels and cost of real-time decentralized control where Clark–Scarf is exact (no advance
    demand, sites that follow their rule exactly), else None."""
    info = scenario.information
    if info.advance_demand is not None or info.local.skill < 1:
        return None
    try:
        optimum = serial_optimum(scenario)
    except ConfigError:
        return None
    return optimum.local_levels, optimum.expected_cost


def demand_variance(model: Any) -> float:
    """Variance of one period's demand of a model: from its distribution where it has one, else its ``std``,
    else Poisson-like (the mean)."""
    if hasattr(model, "pmf"):
        try:
            step = grid_step(model)
            p = model.pmf(step)
            k = np.arange(len(p)) * step
            return float((k * k * p).sum() - (k * p).sum() ** 2)
        except (TypeError, ValueError):
            pass
    std = getattr(model, "std", None)
    return float(std) ** 2 if std is not None else float(model.mean)


def standard_levels(scenario: Scenario, z: float = Z_95) -> np.ndarray:
    """Echelon levels of one service target everywhere, the planner's textbook rule: each echelon covers the
    mean demand of the periods its order covers (its lead times and order delays down to the customers,
    and the planner's data delay) plus z standard deviations of it, demand independent from period to
    period (a 95% cycle-service level per echelon under the normal approximation, z = 1.645; Silver, Pyke &
    Peterson, *Inventory Management and Production Planning and Scheduling*, ch. 7)."""
    delay = scenario.information.central.delay
    names = scenario.site_names
    variance = np.array([sum(demand_variance(scenario.demand[c]) for c in _customers_below(scenario, name))
                         for name in names])
    mean = np.array([scenario.mean_demand_through(n) for n in names])
    cover = covered_demand(scenario, "echelon") / np.maximum(mean, 1e-12) + delay
    levels = mean * cover + z * np.sqrt(variance * cover)
    integral = all(m.integral for m in scenario.demand.values())
    return np.round(levels) if integral else levels


def _customers_below(scenario: Scenario, name: str) -> list[str]:
    """The customer-facing sites in ``name``'s subtree (itself included)."""
    below = [name] if name in scenario.demand else []
    for c in scenario.customers(name):
        below += _customers_below(scenario, c)
    return below


def local_equivalent(scenario: Scenario, echelon: np.ndarray) -> np.ndarray:
    """The local levels s_j = S^e_j - sum of j's customers' S^e (Axsäter 1993; exact on chains)."""
    index = scenario.index
    local = np.array(echelon, dtype=np.float64)
    for j, site in enumerate(scenario.sites):
        if site.supplier is not None:
            local[index(site.supplier)] -= echelon[j]
    return np.maximum(local, 0.0)


def _best_of(scenario: Scenario, kind: str, rule, starts: list[np.ndarray], episodes: int, seed: int
             ) -> tuple[SearchResult, SearchResult, str, str]:
    """Two searches on the same episodes: (best, other, how found, what the other is), by cost on fresh
    episodes. Up to :data:`FREE_STARTS_MAX_SITES` sites: free compass searches from each start; above it a
    search of one safety factor per echelon, then a free search from there with a small first step (the
    coarse search is the second method)."""
    if len(scenario.sites) <= FREE_STARTS_MAX_SITES:
        found = sorted((search_levels(scenario, kind=kind, episodes=episodes, seed=seed, start=s, rule=rule,
                                      together=True) for s in starts), key=lambda r: r.expected_cost)
        return found[0], found[1], f"compass search from 2 starts on {episodes} episodes", "the other start"
    coarse = search_levels(scenario, kind=kind, episodes=episodes, seed=seed, rule=rule, grouped=True)
    integral = all(m.integral for m in scenario.demand.values())
    step = 2.0 if integral else float(np.mean(covered_demand(scenario, kind))) / 8
    fine = search_levels(scenario, kind=kind, episodes=episodes, seed=seed, start=coarse.levels, rule=rule,
                         together=True, step=step, max_rounds=POLISH_ROUNDS)
    best, other = sorted((fine, coarse), key=lambda r: r.expected_cost)
    return (best, other, f"one safety factor per echelon, then a free compass search, on {episodes} episodes",
            "one safety factor per echelon" if other is coarse else "the free search")


def tune_centralized(scenario: Scenario, episodes: int, seed: int) -> Tuned:
    """The central planner's echelon levels for the team (module docstring)."""
    rule = Centralized.rule(scenario)
    delay = scenario.information.central.delay
    start = starting_levels(scenario, "echelon")
    blind = delay * np.array([scenario.mean_demand_through(s) for s in scenario.site_names])
    best, other, method, second = _best_of(scenario, "echelon", rule, [start, start + blind], episodes, seed)
    exact = exact_centralized(scenario)
    if exact is not None:
        return Tuned(Centralized(scenario, levels=best.levels), method,
                     Centralized(scenario, levels=exact[0]), "exact: Clark–Scarf with lead time L1 + delay", exact[1])
    return Tuned(Centralized(scenario, levels=best.levels), method, Centralized(scenario, levels=other.levels), second)


def tune_local(scenario: Scenario, episodes: int, seed: int, echelon: np.ndarray | None = None) -> Tuned:
    """Team local levels of decentralized control with local knowledge (module docstring); ``echelon``:
    echelon levels whose local equivalent is the second start (default: the first start x 1.25)."""
    rule = Local.rule(scenario, knowledge=True)
    start = starting_levels(scenario, "installation")
    other = local_equivalent(scenario, echelon) if echelon is not None else 1.25 * start
    best, found, method, second = _best_of(scenario, "installation", rule, [start, other], episodes, seed)
    exact = exact_local(scenario)
    if exact is not None:
        return Tuned(Local(scenario, levels=best.levels), method, Local(scenario, levels=exact[0]),
                     "exact: Clark–Scarf local levels", exact[1])
    return Tuned(Local(scenario, levels=best.levels), method, Local(scenario, levels=found.levels), second)


def band_patterns(scenario: Scenario) -> np.ndarray:
    """``[K, S]`` bands to try: every grid value per echelon (height), or one for all on deep networks."""
    height = np.array(echelon_levels(scenario)) - 1
    mean = np.array([scenario.mean_demand_through(s) for s in scenario.site_names])
    heights = int(height.max()) + 1
    if len(BAND_GRID) ** heights > MAX_BAND_PATTERNS:
        height, heights = np.zeros_like(height), 1
    grid = np.array(list(itertools.product(BAND_GRID, repeat=heights)))  # [K, heights]
    with np.errstate(invalid="ignore"):  # inf x 0 mean demand: unlimited anyway
        bands = grid[:, height] * mean[None, :]
    return np.where(np.isnan(bands), math.inf, bands)


def tune_hybrid(scenario: Scenario, central: Centralized, local: Local, episodes: int, seed: int) -> Tuned:
    """The hybrid's band and levels, jointly, from the tuned special cases (module docstring)."""
    n = len(scenario.sites)
    levels = np.concatenate([central.levels, local.levels])
    patterns = band_patterns(scenario)
    evaluate = LevelEvaluator(scenario, Hybrid.rule(scenario, band=patterns.repeat(episodes, axis=0)),
                              episodes, seed)
    costs = evaluate(np.repeat(levels[None], len(patterns), axis=0))
    band = patterns[int(np.argmin(costs))]
    method = f"{len(patterns)} band patterns (0, 1 x mean demand, unlimited per echelon) on {episodes} episodes"
    if (band == 0).all() or np.isinf(band).all():  # a special case, whose levels are tuned already
        policy = Hybrid(scenario, levels=central.levels, local_levels=local.levels, band=band)
        return Tuned(policy, method + f", the best a special case (band {band[0]:g} everywhere)")
    integral = all(m.integral for m in scenario.demand.values())
    step = 2.0 if integral else float(np.mean(covered_demand(scenario, "installation"))) / 8
    polished = search_levels(scenario, kind="echelon", episodes=episodes, seed=seed, start=levels,
                             rule=Hybrid.rule(scenario, band=band), step=step, together=True,
                             max_rounds=POLISH_ROUNDS)
    # kept only if cheaper on fresh episodes than both special cases (the search's own could flatter it)
    bands = np.stack([band, np.zeros(n), np.full(n, math.inf)])
    fresh = LevelEvaluator(scenario, Hybrid.rule(scenario, band=bands.repeat(episodes, axis=0)), episodes, seed + 1)
    costs = fresh(np.stack([polished.levels, levels, levels]))
    best = int(np.argmin(costs))
    if best:
        policy = Hybrid(scenario, levels=central.levels, local_levels=local.levels, band=bands[best])
        return Tuned(policy, method + f", then a joint compass search, not kept: band {bands[best][0]:g} "
                     "everywhere (a special case) is cheaper on fresh episodes")
    policy = Hybrid(scenario, levels=polished.levels[:n], local_levels=polished.levels[n:], band=band)
    return Tuned(policy, method + ", then a joint compass search of both sets of levels")


def best_hybrid(scenario: Scenario, episodes: int | None = None, seed: int = 0) -> Tuned:
    """The hybrid at its best (``levels``, ``local_levels`` and ``band`` all ``optimal`` in a config): the
    special cases tuned first, then the band and both sets of levels."""
    episodes = search_episodes(scenario) if episodes is None else episodes
    central = tune_centralized(scenario, episodes, seed).policy
    local = tune_local(scenario, episodes, seed, central.levels).policy
    return tune_hybrid(scenario, central, local, episodes, seed)
