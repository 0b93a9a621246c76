"""Selfish sites: the Nash equilibrium of base-stock levels (Cachon & Zipkin 1999).

Each site sets its own base-stock level [S_j] to minimise its own expected cost
per period given the other sites' levels. A Nash equilibrium is a level vector
where no site gains by moving its own. Cachon & Zipkin (1999), "Competitive and
cooperative inventory policies in a two-stage supply chain", Management Science
45(7), show such equilibria exist for base-stock games and are generally not
team-optimal: the ratio of the team's cost at equilibrium to the team optimum
is the *competition penalty*. Their two games differ in what a site tracks:

* ``local``: each site orders up to its level on its own (installation)
  inventory position;
* ``echelon``: each site orders up to its level on its echelon inventory
  position (its stock plus everything downstream of it).

A site's own cost is what the scenario charges it (holding, pipeline, the
backorders it owes, ordering), except that the consumer backorder cost p of a
customer-facing site with an internal supplier is split as in Cachon & Zipkin:
the site bears the share ``share`` (their alpha) and its supplier the rest.
:class:`~agents.contract.Contract` adds linear transfer payments between the
two ends of each lane.

Found here by best-response iteration (Gauss–Seidel, customers first) on common
random numbers: for each site in turn, its own cost is simulated for a grid of
its levels, others fixed, and it moves to the best (of equally good levels,
the nearest to its own); repeated until no site moves. The check afterwards
moves each site one unit either way and reports its own-cost change with a
95% interval on fresh episodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from echelon.agents.control import Local
from echelon.agents.search import LevelEvaluator, LevelRule, search_levels
from echelon.envs.core import Flows, State
from echelon.envs.scenario import Scenario
from echelon.stats import half_width

TRACKING = ("local", "echelon")
FEATURES = ("cost", "backlog", "owed", "on_hand")
"""Per-period quantities a site's own cost is linear in, ``[S]`` each: the scenario's site cost, the
site's customer backlog, what its supplier owes it (the supplier's backorders to it), its stock on hand."""


@dataclass(frozen=True)
class Equilibrium:
    """Selfish levels, what they cost, and how far they are from the team's."""

    levels: np.ndarray  # [S_j] at the equilibrium
    team_levels: np.ndarray  # the team-optimal levels of the same rule
    team_cost: float  # team cost per period at the equilibrium (fresh episodes)
    team_optimum: float  # team cost per period at the team levels (same episodes)
    half_width: float  # 95% CI of team_cost
    rounds: int
    deviations: dict[str, tuple[float, float]]  # site -> (best own-cost gain from moving one unit, its 95% CI)

    @property
    def competition_penalty(self) -> float:
        """Team cost at the equilibrium over the team optimum (Cachon & Zipkin 1999)."""
        return self.team_cost / self.team_optimum


class Game:
    """The base-stock game of one scenario: its rule, the sites' own costs, best responses (module docstring).

    Args:
        tracking: ``local`` or ``echelon`` (Cachon & Zipkin's two games).
        share: the customer-facing site's share alpha of its consumer backorder cost, in [0, 1].
        knowledge: local levels that use the site's advance demand information (local game only).
        episodes, seed: the common episodes of the search; the check uses ``seed + 1``.
    """

    def __init__(self, scenario: Scenario, tracking: str = "local", share: float = 1.0, knowledge: bool = False,
                 episodes: int = 200, seed: int = 0):
        if tracking not in TRACKING:
            raise ValueError(f"tracking: must be one of {', '.join(TRACKING)} (got {tracking!r})")
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share: must be in [0, 1] (got {share})")
        if knowledge and tracking == "echelon":
            raise ValueError("knowledge: advance demand is used by the local game only")
        self.scenario, self.tracking, self.share = scenario, tracking, float(share)
        self.kind = "installation" if tracking == "local" else "echelon"
        self.rule: LevelRule | str = Local.rule(scenario, knowledge=knowledge) if tracking == "local" else "echelon"
        self.episodes, self.seed = episodes, seed
        self.search = LevelEvaluator(scenario, self.rule, episodes, seed)
        self.check = LevelEvaluator(scenario, self.rule, episodes, seed + 1)
        params = self.search.params
        self.n = params.n_sites
        self.supplier = np.asarray(params.supplier)
        self.integral = all(m.integral for m in scenario.demand.values())
        self.unit = 1.0 if self.integral else 0.01 * sum(m.mean for m in scenario.demand.values())
        self.weights = self._base_weights(params.shortage_cost.ravel(), params.customer_facing.ravel())

    def _base_weights(self, p: np.ndarray, facing: np.ndarray) -> np.ndarray:
        """``[F * S, S]``: own cost of each site = per-period features @ weights (module docstring)."""
        n = self.n
        weights = np.zeros((len(FEATURES) * n, n))
        weights[:n] = np.eye(n)
        for c in range(n):
            u = self.supplier[c]
            if facing[c] and u >= 0:  # the supplier bears 1 - alpha of the consumer backorder cost
                weights[n + c, c] -= (1.0 - self.share) * p[c]
                weights[n + c, u] += (1.0 - self.share) * p[c]
        return weights

    @staticmethod
    def measure(flows: Flows, state: State) -> np.ndarray:
        """The :data:`FEATURES` of one period, ``[copies, F * S]``."""
        return np.concatenate([flows.cost, state.backlog, state.owed, state.on_hand], axis=1)

    def features(self, levels: np.ndarray, fresh: bool = False) -> np.ndarray:
        """Per-period means of the features, ``[K, episodes, F * S]``, for ``[K, S]`` level vectors."""
        return (self.check if fresh else self.search).measured(levels, self.measure)

    def team_levels(self) -> np.ndarray:
        """The levels of this game's rule that minimise the team's cost (:func:`agents.search.search_levels`)."""
        return search_levels(self.scenario, kind=self.kind, episodes=self.episodes, seed=self.seed,
                             rule=None if isinstance(self.rule, str) else self.rule).levels

    def own(self, levels: np.ndarray, weights: np.ndarray | None = None, fresh: bool = False) -> np.ndarray:
        """Each site's own cost per period ``[K, episodes, S]`` under ``weights`` (default: no payments)."""
        return self.features(levels, fresh) @ (self.weights if weights is None else weights)

    def equilibrium(self, start: np.ndarray, weights: np.ndarray | None = None, max_rounds: int = 12
                    ) -> tuple[np.ndarray, int, bool]:
        """Best-response iteration from ``start`` (module docstring): the last levels, the rounds, and whether
        they are an equilibrium (a round in which no site moved)."""
        levels = np.asarray(start, dtype=np.float64).copy()
        for rounds in range(1, max_rounds + 1):
            moved = False
            for j in range(self.n):
                best = self._best_response(levels, j, weights)
                if abs(best - levels[j]) > 1e-9:
                    levels[j], moved = best, True
            if not moved:
                return levels, rounds, True
        return levels, max_rounds, False

    def _best_response(self, levels: np.ndarray, site: int, weights: np.ndarray | None) -> float:
        """Site ``site``'s best level given the others: a grid around its level, refined to one unit."""
        here, lowest = levels[site], self.lowest(levels, site)
        step = max(1.0, round(max(here, 4.0) / 8)) if self.integral else max(here, 1.0) / 8
        smallest = 1.0 if self.integral else 0.01 * max(here, 1.0)
        while True:
            grid = np.unique(np.maximum(here + step * np.arange(-6, 7), lowest))
            candidates = np.repeat(levels[None, :], len(grid), axis=0)
            candidates[:, site] = grid
            own = self.own(candidates, weights)[:, :, site].mean(axis=1)
            tied = np.flatnonzero(own <= own.min() + 1e-9 * (1.0 + abs(own.min())))
            here = float(grid[tied[np.argmin(np.abs(grid[tied] - here))]])  # an indifferent site stays nearest
            if step <= smallest:
                return here
            step = max(smallest, math.floor(step / 3) if self.integral else step / 3)

    def lowest(self, levels: np.ndarray, site: int) -> float:
        """The lowest level ``site`` may choose: zero, and in the echelon game its customers' echelon levels
        (below them a supplier would stop shipping altogether, Cachon & Zipkin's supplier never withholds)."""
        below = levels[self.supplier == site]
        return float(below.max()) if self.tracking == "echelon" and below.size else 0.0

    def neighbours(self, levels: np.ndarray, moves: tuple[float, ...] = (-1.0, 1.0)) -> list[tuple[int, np.ndarray]]:
        """The level vectors with one site's level moved by each of ``moves`` units (moves below its
        :meth:`lowest` left out): ``(site, levels)`` pairs."""
        out = []
        for j in range(self.n):
            for move in moves:
                if levels[j] + move * self.unit >= self.lowest(levels, j):
                    row = np.asarray(levels, dtype=np.float64).copy()
                    row[j] += move * self.unit
                    out.append((j, row))
        return out

    def deviations(self, levels: np.ndarray, weights: np.ndarray | None = None) -> dict[str, tuple[float, float]]:
        """For each site, on fresh episodes: the most its own cost falls by moving its level one unit either way,
        with a 95% CI."""
        moved = self.neighbours(levels)
        own = self.own(np.stack([levels, *(row for _, row in moved)]), weights, fresh=True)
        gains: dict[int, list[np.ndarray]] = {}
        for i, (j, _) in enumerate(moved, start=1):
            gains.setdefault(j, []).append(own[0, :, j] - own[i, :, j])
        out = {}
        for j, name in enumerate(self.scenario.site_names):
            best = max(gains[j], key=lambda g: g.mean())
            out[name] = (float(best.mean()), half_width(best))
        return out

    def team_costs(self, *levels: np.ndarray) -> np.ndarray:
        """Team cost per period ``[K, episodes]`` of each level vector, on fresh episodes."""
        return self.check.per_episode(np.stack(levels))


def nash_levels(scenario: Scenario, knowledge: bool = False, episodes: int = 200, seed: int = 0,
                max_rounds: int = 12, tracking: str = "local", share: float = 1.0,
                team: np.ndarray | None = None) -> Equilibrium:
    """The selfish equilibrium of base-stock levels, started from the team's (module docstring); ``team``: the
    team's levels of the game's rule where already searched (else searched here)."""
    game = Game(scenario, tracking, share, knowledge, episodes, seed)
    team = game.team_levels() if team is None else np.asarray(team, dtype=np.float64)
    levels, rounds, _ = game.equilibrium(team, max_rounds=max_rounds)
    costs = game.team_costs(levels, team)
    return Equilibrium(
        levels=levels, team_levels=team, team_cost=float(costs[0].mean()), team_optimum=float(costs[1].mean()),
        half_width=half_width(costs[0]), rounds=rounds, deviations=game.deviations(levels),
    )
