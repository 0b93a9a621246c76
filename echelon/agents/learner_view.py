"""What a learner sees and does: a model's observations of its sites and its actions as orders.

:class:`LearnerView` turns a batch of core states into the observations of the
sites one model controls, and that model's actions back into orders. Training
(:mod:`training.vec_env`) and evaluation use the same view, so a model sees at
evaluation exactly what it saw in training.

Observations, per slot (float32): :mod:`envs.observations`' learner form, the
one definition the environments use too. Quantities are divided by the mean
demand flowing through the site, so they are O(1) on every network.

* ``local``: the site's 8 features, a one-hot of the site among all sites
  (shared models tell sites apart by it) and the fraction of the horizon left;
* ``shared``: local plus last period's end-customer demand (over its mean);
* ``global``: every site's features, the one-hot and the time left;
* ``pipeline``: local plus the site's pipeline by arrival period (units due in
  1, 2, ... periods): what a lost-sales policy needs beyond the inventory
  position (Zipkin 2008).

A joint view (the central controller) has one slot per copy: every site's
features and the time left; its action is the joint action.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from echelon.agents.policy import Policy
from echelon.envs.actions import ActionForm, make_action_form
from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.observations import OBSERVATION_LEVELS, ObservationSpec, Observer
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario

VIEW_LEVELS = OBSERVATION_LEVELS


class LearnerView:
    """Observations and actions of one model that controls ``sites`` (all, one, or jointly).

    The observation is :mod:`envs.observations`' learner form (scaled, with the site's one-hot and the
    time left; :meth:`ObservationSpec.learner <envs.observations.ObservationSpec.learner>`): one
    definition, shared with the environments.
    """

    def __init__(self, scenario: Scenario, sites: Sequence[str], action: str = "target", observation: str = "local",
                 joint: bool = False, max_order: float | Sequence[float] | None = None, max_adjust: int = 2):
        if observation not in VIEW_LEVELS:
            raise ConfigError(f"observation: must be one of {', '.join(VIEW_LEVELS)} (got {observation!r})")
        names = scenario.site_names
        unknown = [s for s in sites if s not in names]
        if unknown or not sites:
            raise ConfigError(f"sites: unknown site '{unknown[0] if unknown else ''}' (sites: {', '.join(names)})")
        self.scenario = scenario
        self.params = CoreParams.from_scenario(scenario)
        self.sites = tuple(sites)
        self.index = np.array([scenario.index(s) for s in sites])
        self.joint = joint
        self.observation = observation
        # a shared slot space covers every site (the form's uniform spaces); actions are capped per site
        self.form: ActionForm = make_action_form(action, scenario, max_order, max_adjust, uniform=not joint)
        self.observer = Observer(scenario, ObservationSpec.learner(observation), self.sites, joint=joint)
        self.observation_space = spaces.Box(-np.inf, np.inf, (self.observer.dim,), np.float32)
        self.action_space = self.form.joint_space() if joint else self.form.site_space(0)

    @property
    def slots_per_copy(self) -> int:
        return 1 if self.joint else len(self.sites)

    def observe(self, state: State) -> np.ndarray:
        """``[batch * slots_per_copy, dim]`` observations, copy-major (slot = copy * k + site)."""
        obs = self.observer(state)
        return obs if self.joint else obs.reshape(-1, self.observer.dim)

    def action_matrix(self, actions: np.ndarray, batch: int) -> np.ndarray:
        """The ``[batch, S]`` action array of the model's ``actions`` (other sites 0)."""
        out = np.zeros((batch, len(self.scenario.sites)))
        acts = np.asarray(actions, dtype=np.float64)
        if self.joint:
            out[:] = acts.reshape(batch, -1)
        else:
            out[:, self.index] = acts.reshape(batch, len(self.sites))
        return out


class LearnedGroup:
    """A model with its view and observation normaliser."""

    def __init__(self, view: LearnerView, model: Any, normalizer: Any | None):
        self.view = view
        self.model = model
        self.normalizer = normalizer

    def predict(self, obs: np.ndarray) -> np.ndarray:
        """The model's deterministic actions for raw observations (normalised as in training)."""
        if self.normalizer is not None:
            obs = self.normalizer.normalize_obs(obs)
        action, _ = self.model.predict(obs, deterministic=True)
        return action

    def actions(self, state: State) -> np.ndarray:
        return self.view.action_matrix(self.predict(self.view.observe(state)), state.on_hand.shape[0])


def combined_orders(decisions: Sequence[tuple[LearnerView, np.ndarray]], others: Policy | None, state: State,
                    params: CoreParams) -> np.ndarray:
    """Orders of every site: each ``(view, action matrix)`` decides its sites, ``others`` the rest."""
    batch, n = state.on_hand.shape
    fixed = np.full((batch, n), np.nan)
    if others is not None:
        fixed[:] = others.act(state)
    actions = np.zeros((batch, n))
    for view, matrix in decisions:
        cols = np.arange(n) if view.joint else view.index
        actions[:, cols] = matrix[:, cols]
        fixed[:, cols] = np.nan
    form = decisions[0][0].form
    return form.to_orders(actions, state, params, fixed=None if np.isnan(fixed).all() else fixed)
