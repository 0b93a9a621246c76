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
``Box(0, max_order, (1,))``, ``demand_plus`` ``Discrete(2 m + 1)``: order the
incoming order plus ``a - m``, or ``target`` ``Discrete(max_target + 1)``: order
up to a base-stock level. With ``uniform_spaces=True`` (the default) every
agent has the same space, the widest of the sites', and an action beyond a
site's own bound is capped to it, so shared-policy clients (RLlib, Tianshou,
TorchRL, SuperSuit) work on every network; ``uniform_spaces=False`` gives each
site its own bounds. An action outside its space raises
:class:`~envs.errors.ActionError`, or with ``clip_actions=True`` is clipped
into it.

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
``view="learner"`` gives exactly what Echelon's own trainer gives its models:
the same level, scaled by the mean demand through the site, with the site's
one-hot and the fraction of the horizon left
(:meth:`~envs.observations.ObservationSpec.learner`); ``view="raw"`` (default)
raw units.

## Rewards

The negative of a period's cost. ``reward="decentralized"``: each site's own
cost; ``"cooperative"``: the team cost (sum over sites), the same for all; a
number w in [0, 1]: ``-((1 - w) own + w team)``. ``reward_scale``: ``"auto"``
divides rewards by a typical period's holding cost (:func:`envs.rewards.cost_scale`,
what Echelon's trainer uses), a number by that number. ``infos[agent]["cost"]``
is the site's own unscaled cost, at reset (0) as at every step.

## Starting State

The scenario's initial inventory and steady pipeline flow. Randomness (demand,
random lead times) comes from the Generator seeded in ``reset(seed=...)``.

## Episode End

Truncation after the scenario's ``periods`` (the horizon; ``periods=`` or
PettingZoo's ``max_cycles=`` sets it); there is no terminal state. After
that, ``agents`` is empty.

## Rendering

``render_mode``: ``ansi`` (a text table), ``rgb_array`` (a picture) or
``human`` (the text table printed after every reset and step). ``render()``
ignores a mode argument.

## Arguments

>>> import envs
>>> env = envs.parallel_env(scenario="beer_game", reward="cooperative", observation="local", view="learner",
...                         reward_scale="auto")
>>> observations, infos = env.reset(seed=0)

## References

Sterman (1989), "Modeling managerial behavior: misperceptions of feedback in a
dynamic decision making experiment", Management Science 35(3).
Snyder & Shen, *Fundamentals of Supply Chain Theory*, ch. 6.

## Version History

* v0: initial release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv
from pettingzoo.utils import parallel_to_aec
from pettingzoo.utils.env import AECEnv

from echelon.envs.errors import ActionError
from echelon.envs.observations import OBSERVATION_LEVELS, ObservationSpec, Observer
from echelon.envs.render import RENDER_MODES
from echelon.envs.rewards import mixed_cost, reward_weight
from echelon.envs.scenario import Scenario
from echelon.envs.shell import AgentSpaces, SimulatorShell, horizon

VIEWS = {"raw": ObservationSpec.raw, "learner": ObservationSpec.learner}


class SupplyChainEnv(AgentSpaces, SimulatorShell, ParallelEnv):
    """PettingZoo ``ParallelEnv`` over the batched core (batch 1): every site an agent ordering each period.

    ============================  ==================================================================
    Import                        ``echelon.parallel_env(scenario="beer_game")``; AEC: ``echelon.env()``
    Actions                       discrete by default (order 0..max_order); ``action=`` target,
                                  continuous_target, demand_plus or continuous (:mod:`envs.actions`)
    Parallel API                  yes (``is_parallelizable``); AEC through ``parallel_to_aec``
    Manual control                no (``echelon play`` is the terminal game)
    Agents                        the scenario's sites, most downstream first (beer game: retailer,
                                  wholesaler, distributor, factory)
    Action shape                  ``Discrete(max_order + 1)`` per agent (beer game: ``Discrete(33)``)
    Observation shape             ``(8,)`` local, ``(9,)`` shared; global (every site's features) and
                                  pipeline (local plus the pipeline by arrival) grow with the network
                                  (beer game: 36 and 11)
    Observation values            raw quantities, or scaled with ``view="learner"``
    Rewards                       minus the team cost (cooperative), the site's own (decentralized) or
                                  a mix ``reward=w``; divided by ``reward_scale``
    ============================  ==================================================================

    Keyword arguments: ``scenario`` (a built-in name, a YAML path or a :class:`Scenario`), ``reward``,
    ``observation``, ``action``, ``periods``, ``max_order``, ``max_adjust``, ``render_mode``
    (``ansi``, ``human``, ``rgb_array``), ``max_cycles``, ``view``, ``uniform_spaces``, ``clip_actions``,
    ``reward_scale``. The module docstring gives each in full.
    """

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
        max_cycles: int | None = None,
        view: str = "raw",
        uniform_spaces: bool = True,
        clip_actions: bool = False,
        reward_scale: float | str | None = None,
    ):
        if observation not in OBSERVATION_LEVELS:
            raise ValueError(f"observation: must be one of {', '.join(OBSERVATION_LEVELS)} (got {observation!r})")
        if view not in VIEWS:
            raise ValueError(f"view: must be one of {', '.join(VIEWS)} (got {view!r})")
        self._init_shell(scenario, horizon(periods, max_cycles), action, max_order, max_adjust, render_mode,
                         reward_scale=reward_scale, uniform=uniform_spaces, clip=clip_actions)
        self.team_weight = reward_weight(reward)
        self.observation_level, self.view = observation, view
        self.metadata = {**self.metadata, "name": f"{self.scenario.name}_v0"}
        self.possible_agents = list(self.scenario.site_names)
        self.agents: list[str] = []
        self._agent_set = set(self.possible_agents)
        self.observer = Observer(self.scenario, VIEWS[view](observation), signals=self.scenario.information.notice)
        self.state_space = self.joint_observer.space
        self.observation_spaces = dict.fromkeys(self.possible_agents, self.observer.space)
        self.action_spaces = {a: self.action_form.site_space(i) for i, a in enumerate(self.possible_agents)}

    def reset(
        self, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        self.sim.reset(self._reseed(seed))
        self.agents = list(self.possible_agents)
        self._shown()
        return self._observations(), {a: {"cost": 0.0} for a in self.agents}

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
            if self.sim.episode is None:
                raise ActionError("step() before reset(): call reset() first")
            raise ActionError("step() after the episode ended: call reset()")
        orders = self.action_form.site_orders(self._action_values(actions), self.sim.state, self.sim.params)
        flows = self.sim.step(orders, validate=False)
        own = flows.cost[0].tolist()
        agents = self.possible_agents
        w, scale = self.team_weight, self.reward_scale
        team = sum(own)
        if w == 1.0:  # cooperative, the default: one reward for all
            rewards = dict.fromkeys(agents, -team / scale)
        else:
            rewards = {a: -mixed_cost(c, team, w) / scale for a, c in zip(agents, own, strict=True)}
        infos = {a: {"cost": c} for a, c in zip(agents, own, strict=True)}
        observations = self._observations()
        done = self.sim.done
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, done)
        if done:
            self.agents = []
        self._shown()
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
