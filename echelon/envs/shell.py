"""What every API shell shares: the simulator, the action form, seeding, reward scale and rendering.

A shell converts actions in, calls :meth:`Simulator.step`, and builds
observations and rewards out; this base holds the parts that are the same for
PettingZoo and Gymnasium shells so none of them re-implements them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from echelon.envs.actions import ActionForm, make_action_form
from echelon.envs.errors import ActionError
from echelon.envs.observations import ObservationSpec, Observer
from echelon.envs.render import RENDER_MODES, render_ansi, render_rgb
from echelon.envs.rewards import reward_scale_of
from echelon.envs.scenario import Scenario
from echelon.envs.simulator import Simulator


def horizon(periods: int | None, max_cycles: int | None) -> int | None:
    """The episode length from ``periods`` or PettingZoo's name for it, ``max_cycles`` (not both, unless equal)."""
    if max_cycles is None:
        return periods
    if periods is not None and periods != max_cycles:
        raise ValueError(f"periods ({periods}) and max_cycles ({max_cycles}) both set and different: give one")
    return max_cycles


class AgentSpaces:
    """PettingZoo's per-agent space lookups, from dictionaries a shell builds once (the same objects every
    call, and no cache holding the env alive); an unknown agent is a one-line :class:`ActionError`."""

    possible_agents: list[str]
    observation_spaces: dict[str, spaces.Space]
    action_spaces: dict[str, spaces.Space]

    def observation_space(self, agent: str) -> spaces.Space:
        self._check_agent(agent)
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        self._check_agent(agent)
        return self.action_spaces[agent]

    def _check_agent(self, agent: str) -> None:
        if agent not in self.action_spaces:
            raise ActionError(f"unknown agent {agent!r} (agents: {', '.join(self.possible_agents)})")


class SimulatorShell:
    """Owns one :class:`Simulator` (batch 1 unless said), an action form and the random generator."""

    def _init_shell(
        self,
        scenario: Scenario | str,
        periods: int | None,
        action: str,
        max_order: float | Sequence[float] | None,
        max_adjust: int,
        render_mode: str | None,
        batch: int = 1,
        reward_scale: float | str | None = None,
        **form: Any,
    ) -> None:
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode: must be one of {', '.join(RENDER_MODES)} or None (got {render_mode!r})")
        self.sim = Simulator(scenario, batch=batch, periods=periods)
        self.scenario = self.sim.scenario
        self.action_form: ActionForm = make_action_form(action, self.scenario, max_order, max_adjust, **form)
        self.joint_observer = Observer(self.scenario, ObservationSpec.raw("local"), joint=True)
        self.render_mode = render_mode
        self.reward_scale = reward_scale_of(reward_scale, self.scenario)
        self._rng: np.random.Generator | None = None

    def _reseed(self, seed: int | None) -> np.random.Generator:
        """A fresh Generator for ``seed``; with ``None``, keep the current one (or draw entropy)."""
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        return self._rng

    def render(self, *_: Any, **__: Any) -> str | np.ndarray | None:
        """The frame of the ``render_mode`` given at construction; a mode argument (RLlib passes one) is
        ignored. ``human`` prints the text frame and returns None."""
        if self.render_mode == "ansi":
            return render_ansi(self.sim)
        if self.render_mode == "rgb_array":
            return render_rgb(self.sim)
        if self.render_mode == "human":
            print(render_ansi(self.sim), end="")
        return None

    def _shown(self) -> None:
        """After every reset and step: ``human`` mode prints the frame (Gymnasium's convention)."""
        if self.render_mode == "human":
            print(render_ansi(self.sim), end="")

    def close(self) -> None:
        """Nothing to release."""
