"""One site's best base-stock response to co-players who follow another policy.

A learner trained at one site among fixed co-players (``mode: single_site``: the beer-game setting of
Oroojlooyjadid et al. 2022, "A deep Q-network for the beer game", M&SOM 24(1), one agent among
base-stock or Sterman-like human players) is judged against the best its site can do with a base-stock
policy of its own in the same team: the installation level S_k of site k that minimises the *team's*
expected cost per period while every other site keeps its policy. Among base-stock co-players at the
team's optimal levels that is the team optimum (no site gains by moving alone); among Sterman players it
is the base-stock answer to their bullwhip, which the all-base-stock team is not.

Site k orders up to S_k on its inventory position IP_k (stock on hand + on order - backorders), seeing
the co-players' orders of the same period as its customers' orders
(:func:`~envs.ordering.installation_base_stock`). S_k is found by enumeration: every whole level from 0
up past the demand the level must cover is simulated on the same episodes (common random numbers) in one
batch of the core; the grid doubles until its best level is inside it (at most :data:`GROWTHS` times).
"""

from __future__ import annotations

import math

import numpy as np

from echelon.agents.policy import Policy
from echelon.agents.search import LevelEvaluator, covered_demand, search_episodes
from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.information import Knowledge
from echelon.envs.ordering import installation_base_stock
from echelon.envs.scenario import Scenario

GROWTHS = 6
"""How often the enumeration's grid may double before its best level is taken as it is."""


class SiteBaseStock(Policy):
    """Site ``site`` orders up to ``level`` on its inventory position; ``others`` orders for every other site.

    ``level`` is one number, or one per copy of the batch (``[B]``, the enumeration's candidates side
    by side).
    """

    def __init__(self, scenario: Scenario, site: int, level: float | np.ndarray, others: Policy):
        super().__init__(scenario)
        self.site, self.level, self.others = site, np.asarray(level, dtype=np.float64), others

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        self.others.reset(batch, rng)

    def act(self, state: State) -> np.ndarray:
        return self._orders(state, self.others.act(state))

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        return self._orders(knowledge.state, self.others.decide(knowledge))

    def _orders(self, state: State, others: np.ndarray) -> np.ndarray:
        fixed = np.array(others, dtype=np.float64)
        fixed[:, self.site] = np.nan
        levels = np.zeros_like(fixed)
        levels[:, self.site] = self.level
        return installation_base_stock(state, self.params, levels, fixed)

    def describe(self) -> str:
        return f"base_stock S={float(self.level):g} at {self.scenario.sites[self.site].name}, " \
               f"{self.others.describe()} elsewhere"


class SiteResponse(SiteBaseStock):
    """``{policy: site_base_stock, site: wholesaler, level: optimal, others: sterman}``: one named site
    orders up to ``level`` (``optimal``: its best base-stock response, :func:`best_site_response`) while the
    ``others`` policy (any policy spec) orders for the rest."""

    name = "site_base_stock"
    nested = ("others",)

    def __init__(self, scenario: Scenario, *, site: str, level: float, others: Policy):
        if site not in scenario.site_names:
            raise ConfigError(f"policy '{self.name}': site must be one of {', '.join(scenario.site_names)} "
                              f"(got {site!r})")
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 <= level < math.inf:
            raise ConfigError(f"policy '{self.name}': level must be a number >= 0 or 'optimal' (got {level!r})")
        super().__init__(scenario, scenario.index(site), float(level), others)


def best_site_response(scenario: Scenario, site: int, others: Policy, episodes: int | None = None,
                       seed: int = 0) -> SiteBaseStock:
    """The level S_k of site ``site`` with the least team cost per period on ``episodes`` common episodes
    (seed ``seed``; default :func:`~agents.search.search_episodes`), the ``others`` fixed (module docstring).
    Ties go to the smallest level."""
    episodes = search_episodes(scenario) if episodes is None else episodes
    evaluate = LevelEvaluator(
        scenario, lambda _params, levels: SiteBaseStock(scenario, site, levels[:, site], others), episodes, seed)
    need = float(covered_demand(scenario, "installation")[site])
    integral = all(m.integral for m in scenario.demand.values())
    step = 1.0 if integral else max(need, 1.0) / 50
    top = 2 * need + 4 * math.sqrt(max(need, 1.0)) + 10 * step
    for _ in range(GROWTHS + 1):
        grid = np.arange(0.0, top + step / 2, step)
        candidates = np.zeros((len(grid), len(scenario.sites)))
        candidates[:, site] = grid
        best = int(np.argmin(evaluate(candidates)))
        if best < len(grid) - 1:
            break
        top *= 2
    return SiteBaseStock(scenario, site, float(grid[best]), others)
