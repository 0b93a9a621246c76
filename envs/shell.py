"""What every API shell shares: the simulator, the action form, seeding and rendering.

A shell converts actions in, calls :meth:`Simulator.step`, and builds
observations and rewards out; this base holds the parts that are the same for
PettingZoo and Gymnasium shells so none of them re-implements them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from envs.actions import ActionForm, make_action_form
from envs.observations import ObservationSpec, Observer
from envs.render import RENDER_MODES, render_ansi, render_rgb
from envs.scenario import Scenario
from envs.simulator import Simulator


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
    ) -> None:
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"render_mode: must be one of {', '.join(RENDER_MODES)} or None (got {render_mode!r})")
        self.sim = Simulator(scenario, batch=batch, periods=periods)
        self.scenario = self.sim.scenario
        self.action_form: ActionForm = make_action_form(action, self.scenario, max_order, max_adjust)
        self.joint_observer = Observer(self.scenario, ObservationSpec.raw("local"), joint=True)
        self.render_mode = render_mode
        self._rng: np.random.Generator | None = None

    def _reseed(self, seed: int | None) -> np.random.Generator:
        """A fresh Generator for ``seed``; with ``None``, keep the current one (or draw entropy)."""
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        return self._rng

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "ansi":
            return render_ansi(self.sim)
        if self.render_mode == "rgb_array":
            return render_rgb(self.sim)
        return None

    def close(self) -> None:
        """Nothing to release."""
