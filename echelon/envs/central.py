"""Gymnasium shell for one central controller that orders for every site.

## Description

One agent sees the whole network and places every site's order each period
(centralized control). Same core, same period as the PettingZoo shells.

## Action Space

The joint action over sites (site order, most downstream first), by ``action=``:
``discrete`` ``MultiDiscrete(max_order + 1)`` (default), ``continuous``
``Box(0, max_order, (S,))``, or ``demand_plus`` ``MultiDiscrete(2 m + 1)``.

## Observation Space

``Box`` of float32, every site's 8 features (:mod:`envs.observations`) flattened
site-major: index ``8 i + f`` is feature f of site i. Under the scenario's
information model (:mod:`envs.information`) it is the central planner's view:
the network ``delay`` periods ago, on-hand stock with record errors; then
``info`` leaves out the per-site costs, which would show the current state.

## Rewards

The negative team cost of the period (sum over sites), divided by
``reward_scale`` if given (``"auto"`` or a number, :mod:`envs.rewards`).
``info["site_costs"]`` holds each site's unscaled cost and ``info["orders"]``
the orders placed (zeros at reset). ``clip_actions=True`` clips an action
outside its space into it instead of raising.

## Starting State

The scenario's initial inventory and pipeline; randomness from ``self.np_random``
seeded by ``reset(seed=...)``.

## Episode End

Truncated after the scenario's ``periods``; never terminated.

## Arguments

>>> import gymnasium, envs
>>> env = gymnasium.make("echelon/Central-v0", scenario="textbook_serial", action="continuous")

## Version History

* v0: initial release.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec

from echelon.envs.errors import ActionError
from echelon.envs.render import RENDER_MODES
from echelon.envs.scenario import Scenario
from echelon.envs.shell import SimulatorShell


def joint_action(action: Any, n_sites: int) -> np.ndarray:
    """A controller's action as a ``[1, S]`` float array; a wrong shape raises ActionError."""
    try:
        arr = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError):
        raise ActionError(f"action: expected {n_sites} numbers, one per site (got {action!r})") from None
    if arr.shape != (n_sites,):
        raise ActionError(f"action: expected shape ({n_sites},), one number per site (got {arr.shape})")
    return arr[None, :]


class ControllerEnv(SimulatorShell, gym.Env):
    """A Gymnasium env with one controller that sees every site (central and hybrid)."""

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    @property
    def spec(self) -> EnvSpec | None:
        """Gymnasium's record of how the env was made, with ``max_episode_steps`` the scenario's horizon: an
        episode's length depends on the scenario chosen at ``make`` time, so it cannot be fixed at
        registration; the env ends its episodes itself (truncated), so no ``TimeLimit`` is added."""
        return self.__dict__.get("_spec")

    @spec.setter
    def spec(self, value: EnvSpec | None) -> None:
        if value is not None and value.max_episode_steps is None:
            value = dataclasses.replace(value, max_episode_steps=self.episode_steps)
        self.__dict__["_spec"] = value

    @property
    def episode_steps(self) -> int:
        """Steps of an episode: one per period."""
        return self.sim.periods

    def _init_controller(self) -> None:
        self.observation_space = self.joint_observer.space
        self.action_space = self.action_form.joint_space()

    def _observation(self) -> np.ndarray:
        """What the central planner sees: the network ``delay`` periods ago, with record errors."""
        return self.joint_observer(self.sim.knowledge().planner)[0]

    def _info(self, info: dict) -> dict:
        """Per-site costs show the current state: only where the planner's view is not delayed."""
        if self.scenario.information.central.delay or self.scenario.information.central.record_error:
            info.pop("site_costs", None)
        return info

    def _decision(self, action: Any) -> np.ndarray:
        """The validated ``[1, S]`` quantities of a joint action (orders, or targets)."""
        return self.action_form.to_orders(joint_action(action, self.sim.n_sites), self.sim.state, self.sim.params)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.sim.reset(self.np_random)
        self._shown()
        return self._observation(), self._info(self._reset_info())

    def _reset_info(self) -> dict:
        """The step's info keys with zeros: clients that read keys at reset find them there too."""
        return {"site_costs": self._site_costs(np.zeros(self.sim.n_sites)), "orders": np.zeros(self.sim.n_sites)}

    def _site_costs(self, cost: np.ndarray) -> dict[str, float]:
        return dict(zip(self.sim.params.names, cost.tolist(), strict=True))


class CentralSupplyChainEnv(ControllerEnv):
    """Gymnasium ``Env``: one controller orders for every site at once (the centralized planner).

    ============================  ==================================================================
    Import                        ``gymnasium.make("echelon/Central-v0", scenario="beer_game")`` or
                                  ``echelon.CentralSupplyChainEnv(scenario=...)``
    Actions                       joint: one order per site; discrete by default
    Agents                        one (the controller)
    Action shape                  ``MultiDiscrete([max_order + 1] x sites)`` (beer game: 4 x 33)
    Observation shape             ``(8 x sites,)``: every site's local features (beer game: 32)
    Rewards                       minus the team cost, divided by ``reward_scale``
    ============================  ==================================================================

    Keyword arguments: ``scenario``, ``action``, ``periods``, ``max_order``, ``max_adjust``,
    ``render_mode``, ``clip_actions``, ``reward_scale`` (module docstring).
    """

    def __init__(
        self,
        scenario: Scenario | str = "beer_game",
        action: str = "discrete",
        periods: int | None = None,
        max_order: float | Sequence[float] | None = None,
        max_adjust: int = 2,
        render_mode: str | None = None,
        clip_actions: bool = False,
        reward_scale: float | str | None = None,
    ):
        self._init_shell(scenario, periods, action, max_order, max_adjust, render_mode, reward_scale=reward_scale,
                         clip=clip_actions)
        self._init_controller()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        orders = self._decision(action)
        cost = self.sim.step(orders, validate=False).cost[0]
        info = self._info({"site_costs": self._site_costs(cost), "orders": orders[0]})
        self._shown()
        return self._observation(), -float(cost.sum()) / self.reward_scale, False, self.sim.done, info
