"""Simulation optimisation of base-stock levels, for any network.

Where no formula gives the optimum (distribution trees, lost sales, capacities,
order delays, non-stationary demand), the levels are searched with the batched
core. Every candidate is simulated on the same episodes (common random
numbers), so the objective is one deterministic sample-average function of the
levels (sample-average approximation, Kleywegt, Shapiro & Homem-de-Mello 2002)
and comparisons between candidates are paired, not noisy.

The search is a compass (pattern) search (Kolda, Lewis & Torczon 2003): from a
lead-time-demand start, the neighbours ``levels +- step d`` along every site's
axis and along "this site and all its suppliers" are simulated at once, as one
batch of the core; it moves to the best and halves
the step when none improves, down to one unit (whole-unit demand) or a small
fraction of mean demand. The reported cost is re-estimated on fresh episodes,
with a 95% confidence interval, so it is not biased by the search.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np

from echelon.envs.core import Flows, State
from echelon.envs.information import Knowledge
from echelon.envs.ordering import installation_base_stock, order_up_to
from echelon.envs.params import CoreParams
from echelon.envs.positions import echelon_inventory_position
from echelon.envs.scenario import Scenario, echelon_levels
from echelon.envs.simulator import Simulator, draw_episode, tile_episode
from echelon.stats import half_width

LEVEL_KINDS = ("echelon", "installation")
FREE_SEARCH_MAX_SITES = 64
"""Largest network whose levels are searched one by one; above it, one safety factor per echelon."""


@dataclass(frozen=True)
class SearchResult:
    """Levels found by :func:`search_levels` and their out-of-sample cost per period."""

    kind: str  # "echelon" or "installation"
    levels: np.ndarray  # [S] per site, site order
    expected_cost: float  # mean team cost per period on fresh episodes
    half_width: float  # 95% confidence half-width of expected_cost
    evaluations: int  # level vectors simulated during the search


class _EchelonRule:
    """Echelon base-stock with one level row per copy (the search's candidates side by side)."""

    def __init__(self, params: CoreParams, levels: np.ndarray):
        self.params, self.levels = params, levels

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        """No memory."""

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        return order_up_to(self.levels, echelon_inventory_position(knowledge.state, self.params))


class _InstallationRule(_EchelonRule):
    def decide(self, knowledge: Knowledge) -> np.ndarray:
        return installation_base_stock(knowledge.state, self.params, self.levels)


LevelRule = Callable[[CoreParams, np.ndarray], Any]
"""Builds a decision rule from per-copy levels ``[B, S]``: anything with ``reset(batch, rng)`` and
``decide(knowledge)`` (a :class:`~agents.policy.Policy` that takes level rows, or the two above)."""
LEVEL_RULES: dict[str, LevelRule] = {"echelon": _EchelonRule, "installation": _InstallationRule}


class LevelEvaluator:
    """Mean cost per period of many level vectors of one rule on the same episodes.

    ``kind``: ``echelon``, ``installation`` or any :data:`LevelRule`.
    """

    def __init__(self, scenario: Scenario, kind: str | LevelRule, episodes: int, seed: int):
        if isinstance(kind, str) and kind not in LEVEL_RULES:
            raise ValueError(f"kind: must be one of {', '.join(LEVEL_KINDS)} (got {kind!r})")
        if episodes < 1:
            raise ValueError(f"episodes: must be >= 1 (got {episodes})")
        self.scenario = scenario
        self.rule = LEVEL_RULES[kind] if isinstance(kind, str) else kind
        self.episodes = episodes
        probe = Simulator(scenario, batch=episodes)
        self.params = probe.params
        self.episode = draw_episode(scenario, probe.params, np.random.default_rng(seed), episodes, probe.periods)
        self.evaluations = 0

    def per_episode(self, levels: np.ndarray, site: int | None = None) -> np.ndarray:
        """Cost per period ``[K, episodes]`` of each of the ``[K, S]`` level vectors: the team's, or ``site``'s own."""
        if site is None:
            return self.measured(levels, lambda flows, state: flows.cost.sum(axis=1, keepdims=True))[..., 0]
        return self.measured(levels, lambda flows, state: flows.cost[:, site:site + 1])[..., 0]

    def measured(self, levels: np.ndarray, measure: Callable[[Flows, State], np.ndarray]) -> np.ndarray:
        """The per-period mean ``[K, episodes, F]`` of ``measure(flows, state)`` (``[copies, F]`` each period, the
        state at the period's end) under each of the ``[K, S]`` level vectors."""
        levels = np.atleast_2d(levels)
        k, e = len(levels), self.episodes
        sim = Simulator(self.scenario, batch=k * e)
        # candidate-major copies: copy i * e + j is candidate i on episode j
        sim.reset(np.random.default_rng(0), tile_episode(self.episode, k))
        rule = self.rule(sim.params, np.repeat(levels, e, axis=0))
        rule.reset(k * e, np.random.default_rng(0))
        total: np.ndarray | float = 0.0
        while not sim.done:
            flows = sim.step(rule.decide(sim.knowledge()), validate=False)
            total = total + measure(flows, sim.state)
        self.evaluations += k
        return (np.asarray(total) / sim.periods).reshape(k, e, -1)

    def __call__(self, levels: np.ndarray) -> np.ndarray:
        """Mean cost per period ``[K]`` of ``[K, S]`` level vectors."""
        return self.per_episode(levels).mean(axis=1)


EvaluatorFactory = Callable[[Scenario, "str | LevelRule", int, int], Any]
"""Makes an evaluator like :class:`LevelEvaluator` from (scenario, kind or rule, episodes, seed)."""
_EVALUATOR: ContextVar[EvaluatorFactory] = ContextVar("level_evaluator", default=LevelEvaluator)


@contextlib.contextmanager
def evaluating_with(factory: EvaluatorFactory) -> Iterator[None]:
    """Within the block, :func:`search_levels` simulates its candidates with ``factory``'s evaluators (e.g. on
    the device, :func:`agents.jax_search.device_evaluator`) instead of :class:`LevelEvaluator`."""
    token = _EVALUATOR.set(factory)
    try:
        yield
    finally:
        _EVALUATOR.reset(token)


def covered_demand(scenario: Scenario, kind: str) -> np.ndarray:
    """Mean demand over the periods each site's level must cover [m_j].

    An installation level covers the site's lead time plus its order delay; an
    echelon level covers that plus the longest such cover below it.
    """
    cover: dict[str, float] = {}
    for site in scenario.sites:  # downstream first, so customers come before suppliers
        own = site.lead_time.mean + site.order_delay
        below = max((cover[c] for c in scenario.customers(site.name)), default=0.0)
        cover[site.name] = own + (below if kind == "echelon" else 0.0)
    return np.array([scenario.mean_demand_through(s.name) * cover[s.name] for s in scenario.sites])


def starting_levels(scenario: Scenario, kind: str) -> np.ndarray:
    """The search's start: covered demand plus a Poisson-like safety stock, m_j + sqrt(m_j)."""
    need = covered_demand(scenario, kind)
    return need + np.sqrt(np.maximum(need, 1.0))


def _factor_search(scenario: Scenario, need: np.ndarray, integral: bool, common: bool,
                   step: float | None) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray, float, float]:
    """Levels ``S_j = m_j + z sqrt(m_j)`` from one safety factor z (``common``) or one per echelon: the map
    from factors to levels, the start (z = 1), the first step and the smallest."""
    group = np.zeros(len(need), dtype=np.int64) if common else np.array(echelon_levels(scenario)) - 1

    def levels_of(x: np.ndarray) -> np.ndarray:
        raw = need + x[..., group] * np.sqrt(np.maximum(need, 1.0))
        return np.maximum(np.round(raw) if integral else raw, 0.0)

    return levels_of, np.ones(int(group.max()) + 1), 1.0 if step is None else step, 0.01 if common else 0.1


def _free_search(scenario: Scenario, kind: str, integral: bool, start: np.ndarray | None,
                 step: float | None) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray, float, float]:
    """Free levels, one per site: the map (levels >= 0), the start, the first step and the smallest."""
    x = starting_levels(scenario, kind) if start is None else np.asarray(start, dtype=np.float64)
    mean_demand = sum(m.mean for m in scenario.demand.values())
    smallest = 1.0 if integral else max(0.01 * mean_demand, 1e-6)
    step = max(smallest, float(np.max(x)) / 4 if step is None else step)
    if integral:
        x, step = np.round(x), float(max(1, round(step)))
    return (lambda y: np.maximum(y, 0.0)), x, step, smallest


def _compass(cost_of: Callable[[np.ndarray], np.ndarray], x: np.ndarray, directions: np.ndarray, step: float,
             smallest: float, max_rounds: int, whole_steps: bool) -> np.ndarray:
    """Compass search (Kolda, Lewis & Torczon 2003): try x +- step along every direction, move to the best
    improvement, else halve the step (in whole units if ``whole_steps``) until it is ``smallest``."""
    best_cost = float(cost_of(x[None])[0])
    for _ in range(max_rounds):
        candidates = x + np.concatenate([directions, -directions]) * step
        costs = cost_of(candidates)
        i = int(np.argmin(costs))
        if costs[i] < best_cost - 1e-12:
            x, best_cost = candidates[i], float(costs[i])
        elif step > smallest:
            step = max(smallest, math.floor(step / 2) if whole_steps else step / 2)
        else:
            break
    return x


def _echelon_moves(scenario: Scenario, size: int) -> np.ndarray:
    """``[K, size]``: for each echelon of two or more sites, all its sites at once, in each set of levels."""
    height = np.array(echelon_levels(scenario))
    n = len(height)
    rows = []
    for start in range(0, size - size % n, n):
        for k in np.unique(height):
            members = np.flatnonzero(height == k)
            if len(members) > 1:
                row = np.zeros(size)
                row[start + members] = 1.0
                rows.append(row)
    return np.array(rows).reshape(-1, size)


def search_episodes(scenario: Scenario) -> int:
    """Default episodes per candidate: 200, fewer on large networks (at least 8; episodes x sites <= 2^15)."""
    return min(200, max(8, 2**15 // len(scenario.sites)))


def search_levels(
    scenario: Scenario,
    kind: str = "echelon",
    episodes: int | None = None,
    seed: int = 0,
    common: bool = False,
    start: np.ndarray | None = None,
    max_rounds: int = 200,
    rule: LevelRule | None = None,
    step: float | None = None,
    together: bool = False,
    grouped: bool = False,
) -> SearchResult:
    """Best base-stock levels by compass search on common random numbers (module docstring).

    Args:
        scenario: any network.
        kind: ``echelon`` (order up to S on IP^e) or ``installation`` (on IP).
        episodes: episodes every candidate is simulated on (and again, fresh, for the reported cost);
            default :func:`search_episodes`.
        seed: seed of the search episodes; the evaluation episodes use ``seed + 1``.
        common: search one safety factor z shared by every site instead of free levels:
            ``S_j = m_j + z sqrt(m_j)`` with m_j the mean demand a level covers
            (:func:`starting_levels`), i.e. one service target for the whole network. Networks of
            more than ``FREE_SEARCH_MAX_SITES`` sites search one factor per echelon (z_k for the
            sites at height k: stores, DCs, plant), as a free search would simulate 4 S candidates a round.
        start: starting levels (default :func:`starting_levels`).
        max_rounds: bound on search rounds.
        rule: the decision rule the levels are for (default: plain base-stock of ``kind``); ``kind``
            still says whether they are echelon or local levels (where the search starts).
        step: the first step of a free search (default a quarter of the largest starting level): a
            small one polishes levels already near their best.
        together: also move every site of an echelon (all stores, all DCs) together, a direction that
            crosses the ridges shared supply makes (raising one store's level alone takes stock from the
            others); with ``x`` of several level sets (a multiple of the sites), within each set.
        grouped: search one safety factor per echelon, as networks of more than ``FREE_SEARCH_MAX_SITES``
            sites do (a coarse search whose result a free search can polish).
    """
    episodes = search_episodes(scenario) if episodes is None else episodes
    make = _EVALUATOR.get()
    evaluate = make(scenario, rule or kind, episodes, seed)
    integral = all(m.integral for m in scenario.demand.values())
    need = covered_demand(scenario, kind)
    by_factor = common or grouped or len(scenario.sites) > FREE_SEARCH_MAX_SITES
    if by_factor:
        levels_of, x, step, smallest = _factor_search(scenario, need, integral, common, step)
    else:
        levels_of, x, step, smallest = _free_search(scenario, kind, integral, start, step)
    directions = np.eye(len(x))
    if len(x) == len(need):
        # also move a site together with everything upstream of it: for echelon levels that is a move of
        # one local level, for local levels a move of one echelon level; either helps past ridges
        directions = np.unique(np.concatenate([directions, evaluate.params.subtree]), axis=0)
    if together:
        directions = np.unique(np.concatenate([directions, _echelon_moves(scenario, len(x))]), axis=0)
    x = _compass(lambda y: evaluate(levels_of(y)), x, directions, step, smallest, max_rounds,
                 whole_steps=integral and not common)
    levels = levels_of(x)
    fresh = make(scenario, rule or kind, episodes, seed + 1).per_episode(levels[None])[0]
    half = half_width(fresh)
    return SearchResult(kind, levels, float(fresh.mean()), half, evaluate.evaluations)
