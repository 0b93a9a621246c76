"""Selfish sites: the Nash equilibrium of local base-stock levels (Cachon & Zipkin 1999).

Each site sets its own base-stock level [S_j] to minimise its own expected cost
per period (as the scenario charges it: its holding, the backorders it owes,
its ordering), given the other sites' levels. A Nash equilibrium is a level
vector where no site gains by moving its own. Cachon & Zipkin (1999),
"Competitive and cooperative inventory policies in a two-stage supply chain",
Management Science 45(7), show such equilibria exist for base-stock games and
are generally not team-optimal: the ratio of the team's cost at equilibrium to
the team optimum is the *competition penalty*.

Found here by best-response iteration (Gauss–Seidel, customers first) on common
random numbers: for each site in turn, its own cost is simulated for a grid of
its levels, others fixed, and it moves to the best; repeated until no site
moves. The check afterwards moves each site one unit either way and reports
its own-cost change with a 95% interval on fresh episodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.control import Local
from agents.search import LevelEvaluator, search_levels
from envs.scenario import Scenario


@dataclass(frozen=True)
class Equilibrium:
    """Selfish levels, what they cost, and how far they are from the team's."""

    levels: np.ndarray  # [S_j] at the equilibrium
    team_levels: np.ndarray  # the team-optimal local levels of the same rule
    team_cost: float  # team cost per period at the equilibrium (fresh episodes)
    team_optimum: float  # team cost per period at the team levels (same episodes)
    half_width: float  # 95% CI of team_cost
    rounds: int
    deviations: dict[str, tuple[float, float]]  # site -> (best own-cost gain from moving one unit, its 95% CI)

    @property
    def competition_penalty(self) -> float:
        """Team cost at the equilibrium over the team optimum (Cachon & Zipkin 1999)."""
        return self.team_cost / self.team_optimum


def nash_levels(scenario: Scenario, knowledge: bool = False, episodes: int = 200, seed: int = 0,
                max_rounds: int = 12) -> Equilibrium:
    """The selfish equilibrium of local base-stock levels (with or without advance demand), module docstring."""
    rule = Local.rule(scenario, knowledge=knowledge)
    team = search_levels(scenario, kind="installation", episodes=episodes, seed=seed, rule=rule)
    integral = all(m.integral for m in scenario.demand.values())
    evaluate = LevelEvaluator(scenario, rule, episodes, seed)
    levels = team.levels.copy()
    rounds = 0
    for rounds in range(1, max_rounds + 1):
        moved = False
        for j in range(len(levels)):
            best = _best_response(evaluate, levels, j, integral)
            if abs(best - levels[j]) > 1e-9:
                levels[j], moved = best, True
        if not moved:
            break
    fresh = LevelEvaluator(scenario, rule, episodes, seed + 1)
    costs = fresh.per_episode(np.stack([levels, team.levels]))
    return Equilibrium(
        levels=levels, team_levels=team.levels, team_cost=float(costs[0].mean()),
        team_optimum=float(costs[1].mean()), half_width=_half(costs[0]), rounds=rounds,
        deviations=_deviations(fresh, levels, scenario, 1.0 if integral else 0.01 * _mean(scenario)),
    )


def _best_response(evaluate: LevelEvaluator, levels: np.ndarray, site: int, integral: bool) -> float:
    """Site ``site``'s best level given the others: a grid around its level, refined to one unit."""
    here = levels[site]
    step = max(1.0, round(max(here, 4.0) / 8)) if integral else max(here, 1.0) / 8
    smallest = 1.0 if integral else 0.01 * max(here, 1.0)
    while True:
        grid = np.unique(np.maximum(here + step * np.arange(-6, 7), 0.0))
        candidates = np.repeat(levels[None, :], len(grid), axis=0)
        candidates[:, site] = grid
        own = evaluate.per_episode(candidates, site=site).mean(axis=1)
        here = float(grid[int(np.argmin(own))])
        if step <= smallest:
            return here
        step = max(smallest, math.floor(step / 3) if integral else step / 3)


def _deviations(evaluate: LevelEvaluator, levels: np.ndarray, scenario: Scenario, unit: float
                ) -> dict[str, tuple[float, float]]:
    """For each site: the most its own cost falls by moving its level one unit either way, with a 95% CI."""
    out = {}
    for j, name in enumerate(scenario.site_names):
        rows = np.repeat(levels[None, :], 3, axis=0)
        rows[1, j] = max(levels[j] - unit, 0.0)
        rows[2, j] = levels[j] + unit
        own = evaluate.per_episode(rows, site=j)
        gains = [own[0] - own[i] for i in (1, 2)]
        best = max(gains, key=lambda g: g.mean())
        out[name] = (float(best.mean()), _half(best))
    return out


def _half(samples: np.ndarray) -> float:
    return 1.96 * float(samples.std(ddof=1)) / math.sqrt(len(samples)) if len(samples) > 1 else float("nan")


def _mean(scenario: Scenario) -> float:
    return sum(m.mean for m in scenario.demand.values())
