"""``echelon train``: four ways to learn, with evaluation, checkpoints, resume and Ctrl-C.

A run folder holds::

    config.yaml            the resolved config, the model groups and the site names
    models/<group>.zip     the best model by evaluation cost (what ``LearnedPolicy`` loads),
    models/<group>.vecnorm.pkl   ... and its normalisation statistics
    checkpoints/           the latest state: models, statistics, state.json (timesteps, history)
    tb/                    TensorBoard: SB3's scalars and inventory/ (cost, fill rate, bullwhip, gap)
    eval.csv, learning_curve.png

Modes (``mode:``): ``shared`` (one policy for every site, a slot per copy and
site), ``central`` (one controller, joint action), ``single_site`` (one learner,
the other sites follow ``others``), ``independent`` (a model per site, trained
in turns of ``rotation_timesteps`` while the others act with their current
models), ``hybrid`` (a planner model setting targets on its view and a sites
model adjusting them, trained in turns: :mod:`training.hybrid`). Every model is
evaluated on the same held-out episodes, against the best base-stock policy on
those episodes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from echelon.agents.learned import (
    GroupPolicy,
    HybridLearned,
    LearnedGroup,
    LearnerView,
    algorithm_class,
    load_model,
    read_run_config,
)
from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.envs.errors import ConfigError, Interrupted
from echelon.envs.files import write_atomic
from echelon.envs.rewards import reward_weight
from echelon.envs.scenario import load_scenario
from echelon.evaluation.metrics import compute_metrics
from echelon.evaluation.rollout import common_episodes, rollout
from echelon.training.config import TrainConfig, algorithm_kwargs, group_layout, load_train_config
from echelon.training.hybrid import HybridVecEnv
from echelon.training.vec_env import BatchVecEnv, learner_vec_env

EVAL_SEED_OFFSET = 10_000


@dataclass
class Group:
    """One model, its environment and its share of the timesteps."""

    name: str
    view: LearnerView | None  # None for the hybrid roles, whose env holds the rule
    env: BatchVecEnv
    venv: VecEnv
    model: Any
    timesteps: int = 0

    def live(self) -> LearnedGroup:
        normalizer = self.venv if isinstance(self.venv, VecNormalize) else None
        return LearnedGroup(self.view, self.model, normalizer)


@dataclass
class RunState:
    """What a checkpoint records besides the models."""

    timesteps: dict[str, int] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    best_cost: float = math.inf
    reference_cost: float = math.nan


class Trainer:
    """Builds the groups of a config and trains them (module docstring)."""

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None):
        import torch

        torch.set_num_threads(1)
        self.config, self.out, self.progress = config, Path(out), progress
        self.scenario = load_scenario(config.scenario)
        self.layout = group_layout(config, self.scenario)
        self.others = make_policy(config.others, self.scenario) if config.others is not None else None
        self.state = RunState()
        if resume:
            self.state = self._read_state()
        self.groups = [self._build(i, spec, resume) for i, spec in enumerate(self.layout)]
        if config.mode == "independent":
            for g in self.groups:
                g.env.peers = [h.live() for h in self.groups if h is not g]
        if config.mode == "hybrid":  # each role learns while the other acts with its current model
            planner, sites = self.groups
            team = self._hybrid_policy()
            planner.env.peer = team.site_adjustments
            sites.env.peer = team.planner_targets
        self.eval_episode = common_episodes(self.scenario, config.eval_episodes, config.seed + EVAL_SEED_OFFSET)
        if math.isnan(self.state.reference_cost):
            best = make_policy({"policy": "echelon_base_stock", "levels": "optimal"}, self.scenario)
            self.state.reference_cost = self._evaluate(best)["cost"]

    # --------------------------------------------------------------------------- building
    def _hybrid_policy(self) -> HybridLearned:
        planner, sites = (g.live() for g in self.groups)
        return HybridLearned(self.scenario, planner, sites, self.config.max_adjust, label=f"learned {self.config.name}")

    def _build(self, i: int, spec: dict[str, Any], resume: bool) -> Group:
        cfg = self.config
        if cfg.mode == "hybrid":
            view = None
            env = HybridVecEnv(self.scenario, spec["name"], cfg.copies, cfg.max_adjust, reward_weight(cfg.reward),
                               seed=cfg.seed + i)
        else:
            env = learner_vec_env(cfg, self.scenario, spec, seed=cfg.seed + i)
            view = env.view
        cls = algorithm_class(cfg.algo)
        if resume:
            venv: VecEnv = env
            if cfg.normalize:
                stats = self.out / "checkpoints" / f"{spec['name']}.vecnorm.pkl"
                try:
                    venv = VecNormalize.load(str(stats), env)
                except Exception as exc:  # noqa: BLE001 - missing or corrupt pickle
                    raise ConfigError(f"{stats}: cannot load the normalisation statistics "
                                      f"({exc.__class__.__name__})") from None
            model = load_model(self.out / "checkpoints" / f"{spec['name']}.zip", cfg.algo)
            if model.observation_space.shape != env.observation_space.shape:
                raise ConfigError(f"{self.out}: checkpoint of '{spec['name']}' does not match the config")
            model.set_env(venv)
            model.tensorboard_log = str(self.out / "tb")
        else:
            venv = VecNormalize(env, gamma=cfg.hyperparams.get("gamma", 0.99)) if cfg.normalize else env
            model = cls("MlpPolicy", venv, seed=cfg.seed + i, tensorboard_log=str(self.out / "tb"), verbose=0,
                        device="cpu", **algorithm_kwargs(cfg))
        return Group(spec["name"], view, env, venv, model, self.state.timesteps.get(spec["name"], 0))

    # --------------------------------------------------------------------------- evaluation and files
    def _evaluate(self, policy: Policy) -> dict[str, float]:
        cfg = self.config
        trajectory = rollout(policy, self.scenario, cfg.eval_episodes, cfg.seed + EVAL_SEED_OFFSET,
                             self.eval_episode)
        m = compute_metrics(trajectory, self.scenario)
        row = {"cost": m.cost.mean, "cost_ci95": m.cost.half_width, "fill_rate": m.fill_rate_total}
        row |= {f"bullwhip_e{k + 1}": v for k, v in enumerate(m.echelon_bullwhip)}
        return row

    def evaluate_now(self, logger: Any) -> dict[str, float]:
        """Evaluate the current models on the held-out episodes, log ``inventory/`` scalars, keep the best."""
        for g in self.groups:
            if isinstance(g.venv, VecNormalize):
                g.venv.training = False
        policy = self._hybrid_policy() if self.config.mode == "hybrid" else GroupPolicy(
            self.scenario, [g.live() for g in self.groups], self.others)
        row = self._evaluate(policy)
        for g in self.groups:
            if isinstance(g.venv, VecNormalize):
                g.venv.training = True
        row["timesteps"] = self.total
        row["gap_to_best_heuristic"] = row["cost"] / self.state.reference_cost - 1.0
        for key, value in row.items():
            if key != "timesteps" and not (isinstance(value, float) and math.isnan(value)):
                logger.record(f"inventory/{'total_cost' if key == 'cost' else key}", value)
        self.state.history.append(row)
        if row["cost"] < self.state.best_cost:
            self.state.best_cost = row["cost"]
            self._save_models(self.out / "models")
        return row

    def _save_models(self, folder: Path) -> None:
        for g in self.groups:
            buffer = io.BytesIO()
            g.model.save(buffer)
            write_atomic(folder / f"{g.name}.zip", buffer.getvalue())
            if isinstance(g.venv, VecNormalize):
                write_atomic(folder / f"{g.name}.vecnorm.pkl", pickle.dumps(g.venv))

    def checkpoint(self) -> None:
        """Save every model, its statistics and the run state; each file appears whole or not at all."""
        self._save_models(self.out / "checkpoints")
        self.state.timesteps = {g.name: g.timesteps for g in self.groups}
        state = {"timesteps": self.state.timesteps, "history": self.state.history,
                 "best_cost": self.state.best_cost, "reference_cost": self.state.reference_cost}
        write_atomic(self.out / "checkpoints" / "state.json", json.dumps(state, indent=1, allow_nan=True))
        self.write_curve()

    def _read_state(self) -> RunState:
        path = self.out / "checkpoints" / "state.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: no readable checkpoint to resume from ({exc.__class__.__name__})") from None
        return RunState(data["timesteps"], data["history"], data["best_cost"], data["reference_cost"])

    def write_curve(self) -> None:
        """Write ``eval.csv`` and ``learning_curve.png`` from the evaluation history."""
        from echelon.evaluation.plots import learning_curve_plot

        rows = self.state.history
        if not rows:
            return
        keys = list(dict.fromkeys(k for row in rows for k in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(self.out / "eval.csv", buffer.getvalue())
        write_atomic(self.out / "learning_curve.png",
                     learning_curve_plot(rows, self.state.reference_cost, self.config.name))

    # --------------------------------------------------------------------------- training
    @property
    def total(self) -> int:
        """Timesteps trained so far, all models together."""
        return sum(g.timesteps for g in self.groups)

    def train(self, n_timesteps: int) -> dict[str, float]:
        """Train until ``n_timesteps`` in all (resumed runs continue their count); returns the last evaluation."""
        cfg = self.config
        turn = 0
        try:
            while self.total < n_timesteps:
                group = self.groups[turn % len(self.groups)]
                chunk = n_timesteps - self.total
                if cfg.mode in ("independent", "hybrid"):
                    chunk = min(chunk, cfg.rotation_timesteps)
                callback = _Callback(self, group)
                group.model.learn(chunk, callback=callback, reset_num_timesteps=False, tb_log_name=group.name,
                                  progress_bar=False)
                turn += 1
        except KeyboardInterrupt:
            self.checkpoint()
            raise Interrupted(f"interrupted at {self.total} timesteps: checkpoint saved in "
                              f"{self.out / 'checkpoints'}; continue with --resume {self.out}") from None
        last = self.state.history[-1] if self.state.history else {}
        if last.get("timesteps") != self.total:
            last = self.evaluate_now(self.groups[0].model.logger)
            self.groups[0].model.logger.dump(self.total)
        self.checkpoint()
        return last


class _Callback(BaseCallback):
    """Counts timesteps, evaluates every ``eval_freq`` and checkpoints every ``checkpoint_freq``."""

    def __init__(self, trainer: Trainer, group: Group):
        super().__init__()
        self.trainer, self.group = trainer, group
        self._last = 0

    def _on_training_start(self) -> None:
        self._last = self.model.num_timesteps

    def _on_step(self) -> bool:
        t, cfg = self.trainer, self.trainer.config
        before = t.total
        self.group.timesteps += self.model.num_timesteps - self._last
        self._last = self.model.num_timesteps
        after = t.total
        if after // cfg.eval_freq > before // cfg.eval_freq:
            t.evaluate_now(self.model.logger)
        if after // cfg.checkpoint_freq > before // cfg.checkpoint_freq:
            t.checkpoint()
        if t.progress is not None:
            t.progress(after, 0)
        return True


def start_run(config: TrainConfig, out: Path) -> None:
    """Create a run folder with the resolved config (the folder must not exist yet)."""
    if out.exists():
        raise FileExistsError(f"{out}: already exists; choose another --out (or --resume {out})")
    scenario = load_scenario(config.scenario)
    resolved = config.as_dict() | {"groups": group_layout(config, scenario),
                                   "site_names": list(scenario.site_names)}
    write_atomic(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))


def resume_config(out: Path) -> TrainConfig:
    """The config a run folder was started with."""
    raw = read_run_config(out)
    raw = {k: v for k, v in raw.items() if k not in ("groups", "site_names")}
    return load_train_config(raw, where=str(Path(out) / "config.yaml"))
