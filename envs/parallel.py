"""PettingZoo shells: one agent per site, acting simultaneously (or turn by turn).

## Description

Every site of a supply network is an agent that orders stock each period.
Agents are the site names (``retailer``, ``wholesaler``, ...); the agent order is
the site order, most downstream first. A period runs as :mod:`envs.core`
describes: orders reach suppliers, suppliers ship, shipments arrive, customer
demand is served, costs are charged.

## Action Space

Per agent, by ``action=`` (see :mod:`envs.actions`): ``discrete`` order
quantity ``Discrete(max_order + 1)`` (default), ``continuous``
``Box(0, max_order, (1,))``, or ``demand_plus`` ``Discrete(2 m + 1)``: order the
incoming order plus ``a - m``.

## Observation Space

``Box`` of float32, by ``observation=`` (:mod:`envs.observations`, the one
definition every shell and the trainer use): ``local``, the site's 8 features
(on hand, backlog, inventory position, in transit, on order, incoming order,
received, last order); ``shared``, plus last period's end-customer demand;
``global``, every site's features (``8 S``) plus a one-hot of the site;
``pipeline``, local plus the site's pipeline by arrival period (units due in
1, 2, ..., H periods). Where the scenario's information model gives sites
advance demand (:mod:`envs.information`), each site's observation ends with
its own known extra demand of the next ``notice`` periods, never another's.

## Rewards

The negative of a period's cost. ``reward="decentralized"``: each site's own
cost; ``"cooperative"``: the team cost (sum over sites), the same for all; a
number w in [0, 1]: ``-((1 - w) own + w team)``.

## Starting State

The scenario's initial inventory and steady pipeline flow. Randomness (demand,
random lead times) comes from the Generator seeded in ``reset(seed=...)``.

## Episode End

Truncation after the scenario's ``periods`` (the horizon); there is no
terminal state. After that, ``agents`` is empty.

## Arguments

>>> import envs
>>> env = envs.parallel_env(scenario="beer_game", reward="cooperative", observation="local")
>>> observations, infos = env.reset(seed=0)

## References

Sterman (1989), "Modeling managerial behavior: misperceptions of feedback in a
dynamic decision making experiment", Management Science 35(3).
Snyder & Shen, *Fundamentals of Supply Chain Theory*, ch. 6.

## Version History

* v0: initial release.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils import parallel_to_aec
from pettingzoo.utils.env import AECEnv

from envs.errors import ActionError
from envs.observations import OBSERVATION_LEVELS, ObservationSpec, Observer
from envs.render import RENDER_MODES
from envs.scenario import Scenario
from envs.shell import SimulatorShell

REWARD_MODES = {"decentralized": 0.0, "cooperative": 1.0}


def reward_weight(reward: str | float) -> float:
    """Weight w on the team cost: 0 decentralized, 1 cooperative, or a number in [0, 1]."""
    if isinstance(reward, str):
        if reward not in REWARD_MODES:
            raise ValueError(f"reward: must be 'decentralized', 'cooperative' or a number in [0, 1] (got {reward!r})")
        return REWARD_MODES[reward]
    if isinstance(reward, bool) or not isinstance(reward, int | float) or not 0.0 <= reward <= 1.0:
        raise ValueError(f"reward: a mix weight must be a number in [0, 1] (got {reward!r})")
    return float(reward)


class SupplyChainEnv(SimulatorShell, ParallelEnv):
    """PettingZoo ``ParallelEnv`` over the batched core (batch 1); see the module docstring."""

    metadata = {"name": "echelon_v0", "render_modes": list(RENDER_MODES), "is_parallelizable": True}

    def __init__(
        self,
        scenario: Scenario | str = "beer_game",
        reward: str | float = "cooperative",
        observation: str = "local",
        action: str = "discrete",
        periods: int | None = None,
        max_order: float | Sequence[float] | None = None,
        max_adjust: int = 2,
        render_mode: str | None = None,
    ):
        if observation not in OBSERVATION_LEVELS:
            raise ValueError(f"observation: must be one of {', '.join(OBSERVATION_LEVELS)} (got {observation!r})")
        self._init_shell(scenario, periods, action, max_order, max_adjust, render_mode)
        self.team_weight = reward_weight(reward)
        self.observation_level = observation
        self.metadata = {**self.metadata, "name": f"{self.scenario.name}_v0"}
        self.possible_agents = list(self.scenario.site_names)
        self.agents: list[str] = []
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._agent_set = set(self.possible_agents)
        self.observer = Observer(self.scenario, ObservationSpec.raw(observation),
                                 signals=self.scenario.information.notice)
        self.state_space = self.joint_observer.space

    @functools.cache  # noqa: B019 - spaces are fixed per instance
    def observation_space(self, agent: str) -> spaces.Space:
        self._check_agent(agent)
        return self.observer.space

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Space:
        return self.action_form.site_space(self._check_agent(agent))

    def _check_agent(self, agent: str) -> int:
        if agent not in self._index:
            raise ActionError(f"unknown agent {agent!r} (agents: {', '.join(self.possible_agents)})")
        return self._index[agent]

    def reset(
        self, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        self.sim.reset(self._reseed(seed))
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {} for a in self.agents}

    def _observations(self) -> dict[str, np.ndarray]:
        signals = self.sim.knowledge().signals if self.observer.signals else None
        rows = self.observer(self.sim.state, signals)[0]
        # each agent gets its own array: no view onto another agent's row
        return {agent: row.copy() for agent, row in zip(self.possible_agents, rows, strict=True)}

    def state(self) -> np.ndarray:
        """The global state: every site's features, flattened (``state_space``)."""
        return self.joint_observer(self.sim.state)[0]

    def _action_values(self, actions: Mapping[str, Any]) -> list:
        """One action per site, in site order; a missing or unknown agent is an ActionError."""
        if type(actions) is not dict and not isinstance(actions, Mapping):  # the `is dict` test is the fast path
            raise ActionError(f"actions: expected a dict of agent -> action (got {type(actions).__name__})")
        try:
            values = [actions[a] for a in self.possible_agents]
        except KeyError as missing:
            raise ActionError(f"no action for agent {missing.args[0]!r}: every live agent acts each period") from None
        if len(actions) != len(values):
            unknown = sorted(set(actions) - self._agent_set)
            raise ActionError(f"unknown agent {unknown[0]!r} (agents: {', '.join(self.possible_agents)})")
        return values

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]]:
        if not self.agents:
            raise ActionError("step() after the episode ended: call reset()")
        orders = self.action_form.site_orders(self._action_values(actions), self.sim.state, self.sim.params)
        flows = self.sim.step(orders, validate=False)
        own = flows.cost[0].tolist()
        agents = self.possible_agents
        w = self.team_weight
        team = sum(own)
        if w == 1.0:  # cooperative, the default: one reward for all
            rewards = dict.fromkeys(agents, -team)
        else:
            rewards = {a: -((1.0 - w) * c + w * team) for a, c in zip(agents, own, strict=True)}
        infos = {a: {"cost": c} for a, c in zip(agents, own, strict=True)}
        observations = self._observations()
        done = self.sim.done
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, done)
        if done:
            self.agents = []
        return observations, rewards, terminations, truncations, infos


def parallel_env(**kwargs: Any) -> SupplyChainEnv:
    """The PettingZoo parallel env; keyword arguments as :class:`SupplyChainEnv`."""
    return SupplyChainEnv(**kwargs)


def env(**kwargs: Any) -> AECEnv:
    """The PettingZoo AEC (turn-by-turn) env, via ``parallel_to_aec``.

    Sites act in site order (most downstream first); the period runs once all
    live agents have acted.
    """
    return parallel_to_aec(SupplyChainEnv(**kwargs))


# PettingZoo's api_test exercises raw_env as well
raw_env = SupplyChainEnv
