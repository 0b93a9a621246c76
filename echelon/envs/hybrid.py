"""Gymnasium shell for hybrid control: the centre sets targets, the sites execute.

## Description

Every ``review_period`` (K) periods a central planner sets each site's
installation base-stock level [S_i]; for the next K periods each site orders up
to it on its local inventory position, q_i = max(0, S_i - IP_i), counting the
orders its customers place that period (:func:`envs.ordering.installation_base_stock`).
The planner sees the whole network; the sites react every period on local
information.

## Action Space

The targets, one per site: ``target="continuous"`` ``Box(0, max_target, (S,))``
(default) or ``"discrete"`` ``MultiDiscrete(max_target + 1)``. The default
``max_target`` of a site is 3 x mean demand through it x (L + l_o + 1).

## Observation Space

As the central env: every site's 8 features flattened site-major.

## Rewards

The negative team cost summed over the K periods of a decision.

## Starting State

As the central env.

## Episode End

Truncated when the scenario's horizon is reached (the last decision may cover
fewer than K periods).

## Arguments

>>> import gymnasium, envs
>>> env = gymnasium.make("echelon/Hybrid-v0", scenario="distribution", review_period=4)

## Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from echelon.envs.actions import default_max_target
from echelon.envs.central import ControllerEnv
from echelon.envs.ordering import installation_base_stock
from echelon.envs.scenario import Scenario, load_scenario

TARGET_FORMS = ("continuous", "discrete")


class HybridSupplyChainEnv(ControllerEnv):
    """Gymnasium ``Env``: a central planner sets each site's base-stock target every ``review_period`` periods;
    between reviews the sites order up to their targets from their own, real-time positions.

    ============================  ==================================================================
    Import                        ``gymnasium.make("echelon/Hybrid-v0", scenario="beer_game")`` or
                                  ``echelon.HybridSupplyChainEnv(scenario=...)``
    Actions                       one target per site, continuous by default (``target="discrete"``)
    Agents                        one (the planner)
    Action shape                  ``Box(0, max_target, (sites,))`` (beer game: 4)
    Observation shape             ``(8 x sites,)`` (beer game: 32)
    Rewards                       minus the team cost over the review period's periods
    ============================  ==================================================================

    Keyword arguments: ``scenario``, ``review_period``, ``target``, ``max_target``, ``periods``,
    ``render_mode``, ``reward_scale`` (module docstring).
    """

    def __init__(
        self,
        scenario: Scenario | str = "beer_game",
        review_period: int = 4,
        target: str = "continuous",
        max_target: float | Sequence[float] | None = None,
        periods: int | None = None,
        render_mode: str | None = None,
        reward_scale: float | str | None = None,
    ):
        if not isinstance(review_period, int) or isinstance(review_period, bool) or review_period < 1:
            raise ValueError(f"review_period: must be a whole number >= 1 (got {review_period!r})")
        if target not in TARGET_FORMS:
            raise ValueError(f"target: must be one of {', '.join(TARGET_FORMS)} (got {target!r})")
        scen = load_scenario(scenario)
        bound = default_max_target(scen) if max_target is None else max_target
        self._init_shell(scen, periods, target, bound, 2, render_mode, reward_scale=reward_scale)
        self._init_controller()
        self.review_period = review_period


    @property
    def episode_steps(self) -> int:
        """Steps of an episode: one per review, the last one possibly shorter (ceil(T / K))."""
        return -(-self.sim.periods // self.review_period)
    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        levels = self._decision(action)
        self.sim.check_running()
        cost = np.zeros(self.sim.n_sites)
        periods = 0
        while periods < self.review_period and not self.sim.done:
            orders = installation_base_stock(self.sim.state, self.sim.params, levels)
            cost += self.sim.step(orders, validate=False).cost[0]
            periods += 1
        info = self._info({"site_costs": self._site_costs(cost), "periods": periods})
        self._shown()
        return self._observation(), -float(cost.sum()) / self.reward_scale, False, self.sim.done, info

    def _reset_info(self) -> dict:
        return {"site_costs": self._site_costs(np.zeros(self.sim.n_sites)), "periods": 0}
