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
those episodes (for ``single_site``, the site's best base-stock response to the others).
"""

from __future__ import annotations

import contextlib
import io
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from echelon.agents.learned import GroupPolicy, HybridLearned, algorithm_class, load_model
from echelon.agents.learner_view import LearnedGroup, LearnerView
from echelon.agents.policy import Policy
from echelon.agents.policy_export import from_sb3
from echelon.agents.registry import make_policy
from echelon.agents.run_record import RunFolder
from echelon.envs.errors import ConfigError, Interrupted
from echelon.envs.files import read_input, write_atomic
from echelon.envs.limits import MEMORY_ENV, memory_limit_bytes
from echelon.envs.rewards import reward_weight
from echelon.envs.scenario import Scenario, load_scenario
from echelon.training import exact_resume
from echelon.training.config import TrainConfig, algorithm_kwargs, group_layout
from echelon.training.hybrid import HybridVecEnv
from echelon.training.run_folder import RunBook, read_state
from echelon.training.vec_env import BatchVecEnv, learner_vec_env


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


def check_learner_memory(config: TrainConfig, scenario: Scenario) -> None:
    """Refuse models whose rollout or replay buffers would not fit, before anything is simulated: float32 rows
    of observation (twice, with the next one), action and a few scalars; ``n_steps`` x slots rows on policy
    (a slot per copy and site a group decides apart, a copy for a joint group), ``buffer_size`` off policy."""
    defaults = {"ppo": 2048, "a2c": 5}
    need = 0.0
    for group in group_layout(config, scenario):
        view = LearnerView(scenario, group["sites"], config.action, config.observation, joint=group["joint"],
                           max_order=config.max_order, max_adjust=config.max_adjust)
        obs = int(np.prod(view.observation_space.shape))
        act = int(np.prod(view.action_space.shape)) or 1
        slots = config.copies * (1 if group["joint"] else len(group["sites"]))
        rows = (int(config.hyperparams.get("n_steps", defaults[config.algo])) * slots if config.algo in defaults
                else int(config.hyperparams.get("buffer_size", 1_000_000)))
        need += 4.0 * rows * (2 * obs + act + 6)
    limit = memory_limit_bytes()
    if need > limit:
        knob = "fewer copies or a smaller n_steps" if config.algo in defaults else "a smaller buffer_size"
        raise ConfigError(f"{config.name}: the {config.algo.upper()} buffers would need about {need / 1e9:,.1f} GB, "
                          f"more than the limit of {limit / 1e9:g} GB (set {MEMORY_ENV} to raise it, or use {knob})")


class Trainer(RunBook):
    """Builds the groups of a config and trains them with Stable-Baselines3 (module docstring)."""

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None, trust_pickles: bool = False):
        if config.mode != "hybrid":
            check_learner_memory(config, load_scenario(config.scenario))
        super().__init__(config, out, resume, progress, trust_pickles)
        self.others = make_policy(config.others, self.scenario) if config.others is not None else None
        self.groups: list[Group] = []
        self._logger: Any = None  # SB3's logger of the model learning now (log_scalar)
        self.stop_requested = False  # Ctrl-C asked to stop at the next point between updates (exact_resume)
        if resume:
            self.resume_from(self._build_groups)
        else:
            self._build_groups(None)

    def _build_groups(self, checkpoint: Path | None) -> None:
        """The models of every group: new ones, or those a ``checkpoint`` folder holds."""
        config = self.config
        exact = checkpoint / exact_resume.FILE if checkpoint is not None else None
        exact = exact if exact is not None and exact.is_file() else None
        self.groups = [self._build(i, spec, checkpoint, exact is not None) for i, spec in enumerate(self.layout)]
        self.span = (0, 0)  # the last step's count before and after it (training.train.CountSteps)
        self.evaluation_due = False  # a multiple of eval_freq passed; evaluated after the next update (EvaluateEvery)
        self.checkpoint_pending = False  # a checkpoint fell due; taken after the next update (CheckpointEvery)
        self.turn = 0  # whose turn it is (rotating models)
        self.learn_until: int | None = None  # the step count the learn() call in progress runs its model to
        if config.mode == "independent":
            for g in self.groups:
                g.env.peers = [h.live() for h in self.groups if h is not g]
        if config.mode == "hybrid":  # each role learns while the other acts with its current model
            planner, sites = self.groups
            team = self._hybrid_policy()
            planner.env.peer = team.site_adjustments
            sites.env.peer = team.planner_targets
        if exact is not None:
            exact_resume.restore(self, read_input(exact, "a checkpoint's resume state"))

    # --------------------------------------------------------------------------- building
    def _hybrid_policy(self) -> HybridLearned:
        planner, sites = (g.live() for g in self.groups)
        return HybridLearned(self.scenario, planner, sites, self.config.max_adjust, label=f"learned {self.config.name}")

    def _build(self, i: int, spec: dict[str, Any], checkpoint: Path | None, exact: bool = False) -> Group:
        cfg = self.config
        if cfg.mode == "hybrid":
            view = None
            env = HybridVecEnv(self.scenario, spec["name"], cfg.copies, cfg.max_adjust, reward_weight(cfg.reward),
                               seed=cfg.seed + i)
        else:
            env = learner_vec_env(cfg, self.scenario, spec, seed=cfg.seed + i)
            view = env.view
        cls = algorithm_class(cfg.algo)
        if checkpoint is not None:
            venv: VecEnv = env
            if cfg.normalize:
                stats = checkpoint / f"{spec['name']}.vecnorm.pkl"
                try:
                    venv = VecNormalize.load(str(stats), env)
                except Exception as exc:  # noqa: BLE001 - missing or corrupt pickle
                    raise ConfigError(f"{stats}: cannot load the normalisation statistics "
                                      f"({exc.__class__.__name__})") from None
            model = load_model(checkpoint / f"{spec['name']}.zip", cfg.algo)
            if model.observation_space.shape != env.observation_space.shape:
                raise ConfigError(f"{self.out}: checkpoint of '{spec['name']}' does not match the config")
            model.set_env(venv, force_reset=not exact)  # exact: the env is restored mid-episode, where it was
            model.tensorboard_log = str(RunFolder(self.out).tensorboard)
        else:
            venv = VecNormalize(env, gamma=cfg.hyperparams.get("gamma", 0.99)) if cfg.normalize else env
            model = cls("MlpPolicy", venv, seed=cfg.seed + i, tensorboard_log=str(RunFolder(self.out).tensorboard),
                        verbose=0, device="cpu", **algorithm_kwargs(cfg))
        return Group(spec["name"], view, env, venv, model,
                     read_state(checkpoint).timesteps.get(spec["name"], 0) if checkpoint is not None else 0)

    def move_to(self, out: Path) -> None:
        super().move_to(out)
        for g in self.groups:
            g.model.tensorboard_log = str(RunFolder(self.out).tensorboard)

    # --------------------------------------------------------------------------- evaluation and files
    def policy(self) -> Policy:
        """The current models (SB3's, with their observation statistics) as one policy."""
        if self.config.mode == "hybrid":
            return self._hybrid_policy()
        return GroupPolicy(self.scenario, [g.live() for g in self.groups], self.others)

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        """Freeze every ``VecNormalize``'s running statistics while evaluating."""
        frozen = [g.venv for g in self.groups if isinstance(g.venv, VecNormalize)]
        for venv in frozen:
            venv.training = False
        try:
            yield
        finally:
            for venv in frozen:
                venv.training = True

    def log_scalar(self, tag: str, value: float) -> None:
        """Record in SB3's logger of the model learning now, so the scalar lands beside SB3's own."""
        self._logger.record(tag, value)

    def save_models(self, folder: Path) -> None:
        for g in self.groups:
            buffer = io.BytesIO()
            g.model.save(buffer)
            write_atomic(folder / f"{g.name}.zip", buffer.getvalue())
            normalizer = g.venv if isinstance(g.venv, VecNormalize) else None
            if normalizer is not None:
                write_atomic(folder / f"{g.name}.vecnorm.pkl", pickle.dumps(g.venv))
            write_atomic(folder / f"{g.name}.policy.npz", from_sb3(g.model, normalizer).to_bytes())
        write_atomic(folder / exact_resume.FILE, exact_resume.capture(self))

    def checkpoint(self) -> None:
        """A new checkpoint generation: every model, its statistics and the run state."""
        self.write_checkpoint(self.save_models, {g.name: g.timesteps for g in self.groups})

    # --------------------------------------------------------------------------- training
    @property
    def total(self) -> int:
        """Timesteps trained so far, all models together."""
        return sum(g.timesteps for g in self.groups)

    def train(self, n_timesteps: int) -> dict[str, float]:
        """Train until ``n_timesteps`` in all (resumed runs continue their count); returns the last evaluation."""
        cfg = self.config
        self.stop_requested = False
        try:
            with exact_resume.stop_between_updates(self):
                while self.total < n_timesteps:
                    group = self.groups[self.turn % len(self.groups)]
                    most = n_timesteps - self.total
                    if cfg.mode in ("independent", "hybrid"):
                        most = min(most, cfg.rotation_timesteps)
                    left = None if self.learn_until is None else self.learn_until - group.model.num_timesteps
                    if left is None or not 0 < left <= most:  # (a resumed learn() call goes on to its own end)
                        self.learn_until = group.model.num_timesteps + most
                    group.model.learn(self.learn_until - group.model.num_timesteps, callback=callbacks(self, group),
                                      reset_num_timesteps=False, tb_log_name=group.name, progress_bar=False)
                    self.learn_until = None
                    self.turn += 1
        except StoppedBetweenUpdates:
            raise Interrupted(f"stopped at {self.total} timesteps: checkpoint saved in {self.out / 'checkpoints'}; "
                              f"continue with --resume {self.out} (exactly as if never stopped)") from None
        except KeyboardInterrupt:
            self.checkpoint()
            raise Interrupted(f"interrupted at {self.total} timesteps: checkpoint saved in "
                              f"{self.out / 'checkpoints'}; continue with --resume {self.out}") from None
        last = self.state.history[-1] if self.state.history else {}
        if last.get("timesteps") != self.total:
            self._logger = self.groups[0].model.logger
            last = self.evaluate_now()
            self._logger.dump(self.total)
        self.evaluation_due = False  # the final model is evaluated: a run continued later does not again
        self.checkpoint()
        return last


class CountSteps(BaseCallback):
    """Adds the model's new timesteps to its group and records the step's span (before, after) in all
    groups together, which the callbacks after it read."""

    def __init__(self, trainer: Trainer, group: Group):
        super().__init__()
        self.trainer, self.group = trainer, group
        self._last = 0

    def _on_training_start(self) -> None:
        self._last = self.model.num_timesteps

    def _on_step(self) -> bool:
        before = self.trainer.total
        self.group.timesteps += self.model.num_timesteps - self._last
        self._last = self.model.num_timesteps
        self.trainer.span = (before, self.trainer.total)
        return True


class _OfTrainer(BaseCallback):
    """A callback that reads and drives its trainer."""

    def __init__(self, trainer: Trainer):
        super().__init__()
        self.trainer = trainer


class EvaluateEvery(_OfTrainer):
    """Evaluates on the held-out episodes once the count has passed a multiple of ``eval_freq``, at the next
    rollout's start: after the update that used the samples, so the row's timesteps are those the evaluated
    model was trained on (an evaluation in the middle of a rollout would score the model of the previous
    update under a later count, and the final evaluation, after the last update, would then jump)."""

    def _on_step(self) -> bool:  # (the flag is the trainer's: it outlives a learn() call, as models rotate)
        (before, after), every = self.trainer.span, self.trainer.config.eval_freq
        self.trainer.evaluation_due |= after // every > before // every
        return True

    def _on_rollout_start(self) -> None:
        if self.trainer.evaluation_due:
            self.trainer.evaluation_due = False
            self.trainer._logger = self.model.logger
            self.trainer.evaluate_now()


class StoppedBetweenUpdates(Exception):
    """Ctrl-C's stop, taken between a policy update and the next rollout, after the checkpoint."""


class CheckpointEvery(_OfTrainer):
    """Checkpoints every ``checkpoint_freq`` timesteps and every ``checkpoint_minutes``: for an on-policy
    learner at the next rollout's start (after the update, with no rollout in flight: exact,
    :mod:`training.exact_resume`), for an off-policy one at once. Stops there when Ctrl-C asked."""

    def _on_step(self) -> bool:
        if self.trainer.checkpoint_due(*self.trainer.span):
            if isinstance(self.model, OnPolicyAlgorithm):
                self.trainer.checkpoint_pending = True
            else:
                self.trainer.checkpoint()
        return True

    def _on_rollout_start(self) -> None:
        if self.trainer.checkpoint_pending or self.trainer.stop_requested:
            self.trainer.checkpoint_pending = False
            self.trainer.checkpoint()
        if self.trainer.stop_requested:
            raise StoppedBetweenUpdates


class ReportProgress(_OfTrainer):
    """Tells the trainer's ``progress`` function (the command line's progress bar) the count."""

    def _on_step(self) -> bool:
        if self.trainer.progress is not None:
            self.trainer.progress(self.trainer.span[1], 0)
        return True


def callbacks(trainer: Trainer, group: Group) -> CallbackList:
    """The callbacks of one ``learn`` call, in the order they run each step."""
    return CallbackList([CountSteps(trainer, group), EvaluateEvery(trainer), CheckpointEvery(trainer),
                         ReportProgress(trainer)])
