"""Hybrid control as a multi-agent environment: a central planner and the sites, each on its own information.

## Description

Agents are ``planner`` and one agent per site. Every ``review_period`` periods
(the scenario's ``information.central.review_period``) the planner sets every
site's order-up-to target; every period each site adjusts its target by a
bounded amount and orders up to the result on its real-time inventory
position, customers first (:func:`envs.ordering.installation_base_stock`). Between
reviews the planner's action is not used (its observation says how many
periods remain until the next review). The core is the one of every shell.

## Action Space

``planner``: ``Box(0, max_target, (S,))`` float32, the targets in site order
(default bound: 3 x mean demand through the site x (L + l_o + 1)).
A site: ``Discrete(2 m + 1)``: a means an adjustment of a - m units (``max_adjust`` m).

## Observation Space

``planner``: every site's 8 features as the planner sees them (the network
``delay`` periods ago, on-hand records with error; :mod:`envs.information`),
the announcements of extra demand that have reached it (if the scenario has
advance demand), and the periods until its next review. A site: its own 8
features now, its own advance demand signals, and its current target.
Nothing of another site's signals, nor of the current state in the planner's
view or infos.

## Rewards

The negative period cost: the planner always gets the team's; a site its own,
the team's, or a mix (``reward`` and ``reward_scale`` as :class:`envs.parallel.SupplyChainEnv`).
A site's ``infos`` hold its own unscaled ``cost`` (0 at reset); the planner's
are empty, at reset as at every step.

## Starting State, Episode End

As the parallel env: the scenario's initial state; truncated at the horizon.

## Arguments

>>> import envs
>>> env = envs.hybrid_parallel_env(scenario="distribution", reward="cooperative", max_adjust=3)

## Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv

from echelon.envs.actions import default_max_target
from echelon.envs.central import joint_action
from echelon.envs.errors import ActionError
from echelon.envs.hybrid_rule import HybridRule
from echelon.envs.render import RENDER_MODES
from echelon.envs.rewards import mixed_cost, reward_weight
from echelon.envs.scenario import Scenario, load_scenario
from echelon.envs.shell import AgentSpaces, SimulatorShell, horizon

PLANNER = "planner"


class HybridControlEnv(AgentSpaces, SimulatorShell, ParallelEnv):
    """PettingZoo ``ParallelEnv``: a planner sets targets and the sites adjust them to local demand.

    ============================  ==================================================================
    Import                        ``echelon.hybrid_parallel_env(scenario="distribution")``
    Actions                       planner: continuous targets; sites: an adjustment in
                                  ``-max_adjust..max_adjust`` to their target
    Parallel API                  yes
    Agents                        ``planner`` and the scenario's sites (distribution: north, south,
                                  east, west, dc)
    Action shape                  planner ``Box(0, max_target, (sites,))``; a site
                                  ``Discrete(2 max_adjust + 1)``
    Observation shape             planner ``(8 x sites + 1,)``; a site ``(9,)`` (distribution: 41, 9)
    Rewards                       planner: minus the team cost; a site: minus the mix ``reward`` of its
                                  own and the team's
    ============================  ==================================================================

    Keyword arguments: ``scenario``, ``reward``, ``max_adjust``, ``max_target``, ``periods``,
    ``render_mode``, ``max_cycles``, ``reward_scale`` (module docstring).
    """

    metadata = {"name": "echelon_hybrid_v0", "render_modes": list(RENDER_MODES), "is_parallelizable": True}

    def __init__(
        self,
        scenario: Scenario | str = "distribution",
        reward: str | float = "cooperative",
        max_adjust: int = 2,
        max_target: float | Sequence[float] | None = None,
        periods: int | None = None,
        render_mode: str | None = None,
        max_cycles: int | None = None,
        reward_scale: float | str | None = None,
    ):
        scen = load_scenario(scenario)
        self._init_shell(scen, horizon(periods, max_cycles), "continuous", max_target if max_target is not None else
                         default_max_target(scen), 2, render_mode, reward_scale=reward_scale)
        self.rule = HybridRule(self.scenario, max_adjust, self.action_form.max_order)
        self.team_weight = reward_weight(reward)
        self.metadata = {**self.metadata, "name": f"{self.scenario.name}_hybrid_v0"}
        self.sites = list(self.scenario.site_names)
        self.possible_agents = [PLANNER, *self.sites]
        self.agents: list[str] = []
        self.observation_spaces = {PLANNER: self.rule.planner_space()} | dict.fromkeys(self.sites,
                                                                                       self.rule.site_space())
        self.action_spaces = {PLANNER: self.rule.planner_action_space()} | dict.fromkeys(
            self.sites, self.rule.site_action_space())

    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        self.sim.reset(self._reseed(seed))
        self.rule.reset(1)
        self.agents = list(self.possible_agents)
        self._shown()
        return self._observations(), {PLANNER: {}} | {s: {"cost": 0.0} for s in self.sites}

    def _observations(self) -> dict[str, np.ndarray]:
        knowledge = self.sim.knowledge()
        sites = self.rule.observe_sites(knowledge)[0]
        planner = {PLANNER: self.rule.observe_planner(knowledge)[0]}
        return planner | {s: sites[i].copy() for i, s in enumerate(self.sites)}

    def step(self, actions: Mapping[str, Any]
             ) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]]:
        if not self.agents:
            if self.sim.episode is None:
                raise ActionError("step() before reset(): call reset() first")
            raise ActionError("step() after the episode ended: call reset()")
        if not isinstance(actions, Mapping):
            raise ActionError(f"actions: expected a dict of agent -> action (got {type(actions).__name__})")
        missing = [a for a in self.agents if a not in actions]
        if missing:
            raise ActionError(f"no action for agent {missing[0]!r}: every live agent acts each period")
        unknown = sorted(set(actions) - set(self.possible_agents))
        if unknown:
            raise ActionError(f"unknown agent {unknown[0]!r} (agents: {', '.join(self.possible_agents)})")
        knowledge = self.sim.knowledge()
        if self.rule.review_now(knowledge):
            self.rule.set_targets(joint_action(actions[PLANNER], len(self.sites)))
        adjust = np.array([[self._adjustment(s, actions[s]) for s in self.sites]])
        cost = self.sim.step(self.rule.orders(knowledge, adjust), validate=False).cost[0]
        team = float(cost.sum())
        w, scale = self.team_weight, self.reward_scale
        rewards = {PLANNER: -team / scale} | {s: -mixed_cost(c, team, w) / scale
                                              for s, c in zip(self.sites, cost, strict=True)}
        infos = {PLANNER: {}} | {s: {"cost": float(c)} for s, c in zip(self.sites, cost, strict=True)}
        observations = self._observations()
        done = self.sim.done
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, done)
        if done:
            self.agents = []
        self._shown()
        return observations, rewards, terminations, truncations, infos

    def _adjustment(self, site: str, action: Any) -> int:
        """A site's action in 0..2m; anything else is an ActionError naming the site."""
        top = 2 * self.rule.max_adjust
        try:
            value = float(np.asarray(action).reshape(()))
        except (TypeError, ValueError):
            value = float("nan")
        if isinstance(action, bool | str) or not (0 <= value <= top and value.is_integer()):
            raise ActionError(f"action of {site!r}: must be a whole number in 0..{top} (got {action!r})")
        return int(value)


def hybrid_parallel_env(**kwargs: Any) -> HybridControlEnv:
    """The hybrid-control PettingZoo parallel env; keyword arguments as :class:`HybridControlEnv`."""
    return HybridControlEnv(**kwargs)
