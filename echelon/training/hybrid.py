"""Training hybrid control: the planner and the sites as two models, each in its own batched SB3 env.

Both envs play :class:`envs.hybrid_rule.HybridRule` in its learner form (scaled
observations). The ``planner`` model has one slot per copy: its observation is
the planner's view, its action the targets (used at a review); the ``sites``
model has one slot per copy and site: its observation the site's view and
target, its action the adjustment. While one model learns, the other acts with
its current policy (its ``peer``); before a peer exists the sites keep the
targets and the planner's targets stay a third of their bound. The planner is
rewarded with the team's cost, a site with its own, the team's or a mix.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from echelon.envs.hybrid_rule import HybridRule
from echelon.envs.information import Knowledge
from echelon.envs.rewards import mixed_cost
from echelon.envs.scenario import Scenario
from echelon.training.vec_env import BatchVecEnv

Peer = Callable[[Knowledge, HybridRule], np.ndarray]
"""The other model's actions ``[copies, sites]`` from the knowledge (and the env's rule, for its view)."""
ROLES = ("planner", "sites")


class HybridVecEnv(BatchVecEnv):
    """One role of hybrid control as an SB3 vector env (module docstring)."""

    state_fields = (*BatchVecEnv.state_fields, "rule")  # the rule holds the planner's current targets

    def __init__(self, scenario: Scenario, role: str, copies: int, max_adjust: int, team_weight: float = 1.0,
                 max_target: np.ndarray | None = None, seed: int = 0):
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)} (got {role!r})")
        self.role = role
        self.rule = HybridRule(scenario, max_adjust, max_target, learner=True)
        self.team_weight = team_weight
        self.peer: Peer | None = None
        n = len(scenario.sites)
        if role == "planner":
            spaces = (1, self.rule.planner_space(), self.rule.planner_action_space())
        else:
            spaces = (n, self.rule.site_space(), self.rule.site_action_space())
        super().__init__(scenario, copies, *spaces, seed=seed)

    def _begin(self) -> None:
        self.rule.reset(self.copies)

    def _observe(self) -> np.ndarray:
        knowledge = self.sim.knowledge()
        if self.role == "planner":
            return self.rule.observe_planner(knowledge)
        obs = self.rule.observe_sites(knowledge)
        return obs.reshape(-1, obs.shape[2])

    def _advance(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        knowledge = self.sim.knowledge()
        n = len(self.scenario.sites)
        if self.role == "planner":
            targets = self.rule.targets_from(actions)
            adjustments = (self.peer(knowledge, self.rule) if self.peer
                           else np.full((self.copies, n), self.rule.max_adjust))
        else:
            adjustments = np.asarray(actions).reshape(self.copies, n)
            targets = self.peer(knowledge, self.rule) if self.peer else None
        if targets is not None and self.rule.review_now(knowledge):
            self.rule.set_targets(targets)
        cost = self.sim.step(self.rule.orders(knowledge, adjustments), validate=False).cost
        team = cost.sum(axis=1)
        if self.role == "planner":
            return -team / self.scale, team
        mixed = mixed_cost(cost, team[:, None], self.team_weight)
        return (-mixed / self.scale).reshape(-1), team
