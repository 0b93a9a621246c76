"""Hybrid control's one rule: what the planner and the sites see, and how their actions become orders.

Every ``review_period`` periods the planner sets each site's order-up-to target
from its view (:mod:`envs.information`: the network ``delay`` periods ago, the
news of extra demand that has reached it, the periods until its next review);
every period each site adjusts its target by an action a in 0..2m (an
adjustment of a - m units) from its own view (its features now, its advance
demand, its current target) and orders up to the result on its real-time
inventory position, customers first (:func:`envs.ordering.installation_base_stock`).

Used by the PettingZoo env (:class:`envs.hybrid_marl.HybridControlEnv`, raw
units) and by the trainer (scaled, with the site's one-hot and the time left),
so a model trained on it plays the same game.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from echelon.envs.actions import default_max_target
from echelon.envs.errors import ActionError
from echelon.envs.information import Knowledge
from echelon.envs.observations import ObservationSpec, Observer
from echelon.envs.ordering import installation_base_stock
from echelon.envs.scenario import Scenario


class HybridRule:
    """The planner's and the sites' observations and the orders their actions make (module docstring)."""

    def __init__(self, scenario: Scenario, max_adjust: int = 2, max_target: np.ndarray | None = None,
                 learner: bool = False):
        if not isinstance(max_adjust, int) or isinstance(max_adjust, bool) or max_adjust < 0:
            raise ValueError(f"max_adjust: must be a whole number >= 0 (got {max_adjust!r})")
        self.scenario = scenario
        self.learner = learner
        self.max_adjust = max_adjust
        self.review = scenario.information.central.review_period
        self.max_target = np.asarray(default_max_target(scenario) if max_target is None else max_target, float)
        notice = scenario.information.notice
        spec = ObservationSpec.learner("local") if learner else ObservationSpec.raw("local")
        self.sites = Observer(scenario, spec, signals=notice)
        self.planner = Observer(scenario, ObservationSpec(spec.level, scaled=spec.scaled, time_left=spec.time_left),
                                joint=True, signals=notice)  # the news of its view's period
        self.params = self.sites.params
        self.target_scale = self.sites.scale  # the site's target, in the units of its features
        self.targets = np.zeros((1, len(scenario.sites)))

    # ----------------------------------------------------------------------------------- spaces
    def planner_space(self) -> spaces.Box:
        base = self.planner.space
        return spaces.Box(np.append(base.low, 0.0).astype(np.float32), np.append(base.high, np.inf).astype(np.float32),
                          dtype=np.float32)

    def site_space(self) -> spaces.Box:
        base = self.sites.space
        return spaces.Box(np.append(base.low, 0.0).astype(np.float32), np.append(base.high, np.inf).astype(np.float32),
                          dtype=np.float32)

    def planner_action_space(self) -> spaces.Box:
        """Raw targets in [0, max_target]; the learner's are in [-1, 1] (:meth:`targets_from`)."""
        if self.learner:
            return spaces.Box(-1.0, 1.0, (len(self.max_target),), dtype=np.float32)
        return spaces.Box(0.0, self.max_target.astype(np.float32), dtype=np.float32)

    def targets_from(self, action: np.ndarray) -> np.ndarray:
        """The targets ``[B, S]`` an action means: itself (raw), or (a + 1) / 2 x max_target (learner),
        so that a policy that starts near 0 starts at half the bound."""
        action = np.asarray(action, dtype=np.float64).reshape(-1, len(self.max_target))
        if not self.learner:
            return action
        return (np.clip(action, -1.0, 1.0) + 1.0) / 2.0 * self.max_target

    def site_action_space(self) -> spaces.Discrete:
        return spaces.Discrete(2 * self.max_adjust + 1)

    # ----------------------------------------------------------------------------------- views
    def reset(self, batch: int) -> None:
        """Before the first review the targets are a third of their bound."""
        self.targets = np.broadcast_to(self.max_target / 3.0, (batch, len(self.max_target))).copy()

    def observe_planner(self, knowledge: Knowledge) -> np.ndarray:
        """``[B, dim]``: the planner's view and the periods until its next review."""
        seen = self.planner(knowledge.planner, knowledge.planner_signals)
        until = np.full((seen.shape[0], 1), float((-knowledge.period) % self.review), dtype=np.float32)
        return np.concatenate([seen, until], axis=1)

    def observe_sites(self, knowledge: Knowledge) -> np.ndarray:
        """``[B, S, dim]``: each site's view and its current target."""
        seen = self.sites(knowledge.state, knowledge.signals)
        target = (self.targets / self.target_scale).astype(np.float32)[:, :, None]
        return np.concatenate([seen, target], axis=2)

    # ----------------------------------------------------------------------------------- orders
    def review_now(self, knowledge: Knowledge) -> bool:
        return knowledge.period % self.review == 0

    def set_targets(self, targets: np.ndarray) -> None:
        """The planner's ``[B, S]`` targets (used at a review); out of range is an ActionError."""
        targets = np.asarray(targets, dtype=np.float64)
        top = self.max_target * (1 + 1e-6)
        if not np.isfinite(targets).all() or (targets < 0).any() or (targets > top).any():
            bad = int(np.argwhere(~((targets >= 0) & (targets <= top)))[0][-1])
            raise ActionError(f"action of 'planner': target of '{self.scenario.site_names[bad]}' must be in "
                              f"[0, {self.max_target[bad]:g}] (got {targets.reshape(-1, len(top))[0, bad]!r})")
        self.targets = targets

    def orders(self, knowledge: Knowledge, adjustments: np.ndarray) -> np.ndarray:
        """Orders ``[B, S]`` from the sites' actions ``[B, S]`` in 0..2m."""
        adjust = np.asarray(adjustments, dtype=np.float64) - self.max_adjust
        return installation_base_stock(knowledge.state, self.params, np.maximum(self.targets + adjust, 0.0))
