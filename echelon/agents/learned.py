"""Trained models as :class:`~agents.policy.Policy` objects.

:class:`LearnedPolicy` loads a run folder written by ``echelon train`` from data only (SB3 and RLlib
models through their pickle-free policy files, :mod:`agents.policy_export`, and the networks of
``algo: es``, :mod:`agents.es`); :class:`GroupPolicy` plays models that each decide their sites
through a :class:`~agents.learner_view.LearnerView`; :class:`HybridLearned` plays a trained planner
and trained sites together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from echelon.agents.es import ESModel
from echelon.agents.learner_view import LearnedGroup, LearnerView, combined_orders
from echelon.agents.policy import Policy
from echelon.agents.policy_export import load_policy, policy_path
from echelon.agents.run_record import check_fingerprint, check_run_record, read_run_config
from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.hybrid_rule import HybridRule
from echelon.envs.information import Knowledge
from echelon.envs.scenario import Scenario
from echelon.envs.validation import shown


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

    implied = ("others",)

    @classmethod
    def implied_specs(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """The run's ``others`` (the policy of the sites it did not train, ``mode: single_site``)."""
        run = given["run"]
        if not isinstance(run, str | Path) or not str(run).strip():
            raise ConfigError(f"policy 'learned': run must be the path of a run folder (got {run!r})")
        others = read_run_config(Path(run)).get("others")
        return {} if others is None else {"others": others}

    def __init__(self, scenario: Scenario, *, run: str, others: Policy | None = None):
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
        if (config.get("others") is None) != (others is None):
            raise ConfigError(f"{self.run}: the run was trained {'beside' if others is None else 'without'} a "
                              "policy for the other sites (its config's 'others'); build it with make_policy")
        super().__init__(scenario, groups, others, label=label)

    def _load(self, group: dict[str, Any], config: dict[str, Any], view: LearnerView | None) -> LearnedGroup:
        """A group's model from data only: ES's ``.npz``, or the pickle-free policy file written beside an SB3
        or RLlib model (:mod:`agents.policy_export`); the pickles themselves are never loaded here."""
        if Path(group["model"]).suffix == ".npz":  # a network of Echelon's own (agents.es), data already
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
