"""Learned policies: what a learner sees, and trained models as :class:`~agents.policy.Policy` objects.

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

:class:`LearnedPolicy` loads a run folder written by ``echelon train`` (SB3 and RLlib models, and the
networks of ``algo: es``, :mod:`agents.es`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from echelon.agents.policy import Policy
from echelon.agents.policy_export import load_policy, policy_path
from echelon.envs.actions import ActionForm, make_action_form
from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.hybrid_rule import HybridRule
from echelon.envs.information import Knowledge
from echelon.envs.observations import OBSERVATION_LEVELS, ObservationSpec, Observer
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario, read_yaml
from echelon.envs.validation import shown

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


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The resolved config of a run folder; a clear error if it is not one."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists() or path.is_dir():
        raise ConfigError(f"{run_dir}: not a training run folder (no config.yaml)")
    data = read_yaml(path)
    if not isinstance(data, dict) or "mode" not in data or "groups" not in data:
        raise ConfigError(f"{path}: not a resolved training config (missing 'mode' or 'groups')")
    return data


def check_run_record(run_dir: Path, data: dict[str, Any]) -> None:
    """What evaluating a run folder relies on in its ``config.yaml``: groups with a name, sites and a model path
    inside the folder, and the names of algorithm, action and observation (one line each, never a KeyError)."""
    path = Path(run_dir) / "config.yaml"
    groups = data["groups"]
    if not isinstance(groups, list) or not groups or not all(
            isinstance(g, dict) and isinstance(g.get("name"), str) and isinstance(g.get("model"), str)
            and isinstance(g.get("sites"), list) for g in groups):
        raise ConfigError(f"{path}: 'groups' must list the run's model groups, each with name, sites and model")
    for key in ("algo", "action", "observation"):
        if not isinstance(data.get(key), str):
            raise ConfigError(f"{path}: not a resolved training config ('{key}' must be a name)")
    for g in groups:
        model = Path(g["model"])
        if model.is_absolute() or ".." in model.parts:
            raise ConfigError(f"{path}: group '{g['name']}': model must be a path inside the run folder "
                              f"(got {g['model']!r})")


FINGERPRINTED = ("mode", "backend", "algo", "action", "observation", "normalize", "max_order", "max_adjust", "site",
                 "others", "groups", "site_names")
"""The keys of a run's config that decide what its models see and do (``fingerprint.config`` covers them)."""


def scenario_fingerprint(scenario: Scenario) -> str:
    """A digest of everything a trained model depends on in a scenario: sites, costs, lead times, demand,
    timing. Not its name, text, horizon or information model (a study evaluates runs under other ones)."""
    core = dataclasses.replace(scenario, name="", description="", source="", periods=0, information=None)
    text = repr(core) + (repr(scenario.capacities) if scenario.capacities else "")  # (as before without them)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_fingerprint(config: Mapping[str, Any], scenario: Scenario) -> dict[str, str]:
    """What ``echelon train`` records in a run's ``config.yaml`` and :class:`LearnedPolicy` checks."""
    fields = json.dumps({k: config.get(k) for k in FINGERPRINTED}, sort_keys=True, default=str)
    return {"scenario": scenario_fingerprint(scenario), "config": hashlib.sha256(fields.encode()).hexdigest()[:16]}


def check_fingerprint(run_dir: Path, config: Mapping[str, Any], scenario: Scenario) -> None:
    """Refuse a run folder whose config was edited, or that was trained on another scenario, with the reason."""
    recorded = config.get("fingerprint")
    if not isinstance(recorded, Mapping):
        raise ConfigError(f"{run_dir}: config.yaml has no fingerprint of what the models were trained on "
                          "(an older or hand-made run folder): retrain it")
    now = run_fingerprint(config, scenario)
    if recorded.get("config") != now["config"]:
        raise ConfigError(f"{run_dir}: config.yaml was edited after training (mode, action, observation, "
                          "normalisation or groups differ from what the models were trained with)")
    if recorded.get("scenario") != now["scenario"]:
        raise ConfigError(f"{run_dir}: trained on another scenario than '{scenario.name}' (its sites, costs, lead "
                          "times, demand or timing differ); evaluate it on the scenario it was trained on")


def algorithm_class(algo: str) -> type:
    """The Stable-Baselines3 class of an algorithm name (``ppo``, ``a2c``, ``dqn``, ``sac``, ``td3``)."""
    import stable_baselines3 as sb3

    classes = {"ppo": sb3.PPO, "a2c": sb3.A2C, "dqn": sb3.DQN, "sac": sb3.SAC, "td3": sb3.TD3}
    if algo not in classes:
        raise ConfigError(f"algo: must be one of {', '.join(classes)} (got {algo!r})")
    return classes[algo]


def load_model(path: Path, algo: str) -> Any:
    """Load an SB3 model zip, with one-line errors for a missing, corrupt or foreign file."""
    if not Path(path).is_file():
        raise ConfigError(f"{path}: model file not found")
    try:
        return algorithm_class(algo).load(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - any failure to unpickle/unzip means a bad file
        raise ConfigError(f"{path}: not a loadable {algo.upper()} model ({exc.__class__.__name__}: {exc})") from None


class GroupPolicy(Policy):
    """Models (each deciding its sites) and an optional ``others`` policy for the rest, as one policy."""

    name = "learned"

    def __init__(self, scenario: Scenario, groups: Sequence[LearnedGroup], others: Policy | None = None,
                 label: str = "learned"):
        super().__init__(scenario)
        self.groups, self.others, self.label = list(groups), others, label

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        if self.others is not None:
            self.others.reset(batch, rng)

    def act(self, state: State) -> np.ndarray:
        decisions = [(group.view, group.actions(state)) for group in self.groups]
        return combined_orders(decisions, self.others, state, self.params)

    def describe(self) -> str:
        return f"learned {self.label}"


class HybridLearned(Policy):
    """A trained planner and trained sites playing :class:`envs.hybrid_rule.HybridRule` together."""

    name = "learned"

    def __init__(self, scenario: Scenario, planner: LearnedGroup, sites: LearnedGroup, max_adjust: int,
                 label: str = "learned hybrid"):
        super().__init__(scenario)
        self.rule = HybridRule(scenario, max_adjust, learner=True)
        self.planner, self.sites, self.label = planner, sites, label

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        self.rule.reset(batch)

    def planner_targets(self, knowledge: Knowledge, rule: HybridRule) -> np.ndarray:
        """The planner model's targets ``[B, S]`` (within their bounds) from ``rule``'s view."""
        return rule.targets_from(self.planner.predict(rule.observe_planner(knowledge)))

    def site_adjustments(self, knowledge: Knowledge, rule: HybridRule) -> np.ndarray:
        """The sites model's actions ``[B, S]`` in 0..2m from ``rule``'s view."""
        obs = rule.observe_sites(knowledge)
        batch, n, dim = obs.shape
        return np.asarray(self.sites.predict(obs.reshape(-1, dim))).reshape(batch, n)

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        if self.rule.review_now(knowledge):
            self.rule.set_targets(self.planner_targets(knowledge, self.rule))
        return self.rule.orders(knowledge, self.site_adjustments(knowledge, self.rule))

    def act(self, state: State) -> np.ndarray:
        return self.decide(Knowledge(state, state, 0, None))

    def describe(self) -> str:
        return self.label


class LearnedPolicy(GroupPolicy):
    """A trained run folder as a policy (``{policy: learned, run: runs/my_run}`` in a benchmark)."""

    def __init__(self, scenario: Scenario, *, run: str):
        self.run = Path(run)
        config = read_run_config(self.run)
        check_run_record(self.run, config)
        names = tuple(config.get("site_names", ()))
        if names != scenario.site_names:
            raise ConfigError(f"{self.run}: trained on sites {', '.join(names)}, not on scenario "
                              f"'{scenario.name}' ({', '.join(scenario.site_names)})")
        check_fingerprint(self.run, config, scenario)
        label = shown(config.get("name", self.run.name))  # (a run folder's text: never raw to a terminal)
        self.hybrid: HybridLearned | None = None
        if config["mode"] == "hybrid":
            planner, sites = (self._load(group, config, None) for group in config["groups"])
            self.hybrid = HybridLearned(scenario, planner, sites, config.get("max_adjust", 2), label=f"learned {label}")
            super().__init__(scenario, [], None, label=label)
            return
        groups = []
        for group in config["groups"]:
            view = LearnerView(scenario, group["sites"], config["action"], config["observation"],
                               joint=group.get("joint", False), max_order=config.get("max_order"),
                               max_adjust=config.get("max_adjust", 2))
            groups.append(self._load(group, config, view))
        others = None
        if config.get("others") is not None:
            from echelon.agents.registry import make_policy

            others = make_policy(config["others"], scenario, where=f"{self.run}: others")
        super().__init__(scenario, groups, others, label=label)

    def _load(self, group: dict[str, Any], config: dict[str, Any], view: LearnerView | None) -> LearnedGroup:
        """A group's model from data only: ES's ``.npz``, or the pickle-free policy file written beside an SB3
        or RLlib model (:mod:`agents.policy_export`); the pickles themselves are never loaded here."""
        if config["algo"] == "es" and config.get("backend", "sb3") != "rllib":
            from echelon.agents.es import ESModel

            model = ESModel.load(self.run / group["model"], view)
        else:
            path = policy_path(self.run / group["model"])
            if not path.is_file():
                raise ConfigError(f"{path}: missing: this run folder holds its models only as pickles, which can "
                                  f"run code when loaded, and Echelon evaluates pickle-free policy files only "
                                  f"(written by echelon train since they exist); retrain the run")
            model = load_policy(path)
        if view is not None and model.observation_space.shape != view.observation_space.shape:
            raise ConfigError(f"{self.run / group['model']}: the model expects observations of shape "
                              f"{model.observation_space.shape}, this scenario gives {view.observation_space.shape}")
        if view is not None and getattr(model, "action_space", view.action_space) != view.action_space:
            raise ConfigError(f"{self.run / group['model']}: the model acts in {model.action_space}, this run's "
                              f"action form gives {view.action_space}")
        if config.get("normalize") and group.get("normalizer") and getattr(model, "norm", True) is None:
            raise ConfigError(f"{policy_path(self.run / group['model'])}: holds no observation statistics; the "
                              "model was trained on normalised observations and would see raw ones without them")
        return LearnedGroup(view, model, None)  # (a policy file normalises its observations itself)

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        if self.hybrid is not None:
            self.hybrid.reset(batch, rng)
        else:
            super().reset(batch, rng)

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        return self.hybrid.decide(knowledge) if self.hybrid is not None else self.act(knowledge.state)

    def act(self, state: State) -> np.ndarray:
        return self.hybrid.act(state) if self.hybrid is not None else super().act(state)
