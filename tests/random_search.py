"""An example of adding a training algorithm: pure random search (Rastrigin 1963; Mania, Guy & Recht 2018,
"Simple random search of static linear policies is competitive for reinforcement learning") on the weights
of :mod:`agents.es`'s network. This module and one :func:`training.algorithms.register` call are all it
takes (``tests/test_algorithms.py``); ``echelon train``, ``evaluate`` and the run folder then work as for
the built-in algorithms.

Each iteration plays the current weights theta and ``candidates`` perturbations theta + sigma eps_i on the
same ``episodes`` fresh episodes (common random numbers) and keeps the cheapest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from echelon.agents.es import ESModel, population_cost
from echelon.agents.learned import GroupPolicy
from echelon.agents.learner_view import LearnedGroup, LearnerView
from echelon.envs.files import write_atomic
from echelon.training.algorithms import Algorithm, check_es, register
from echelon.training.config import TrainConfig
from echelon.training.run_folder import RunBook


class RandomSearchParams(BaseModel):
    """``hyperparams`` of ``algo: random_search``."""

    model_config = ConfigDict(extra="forbid")

    candidates: int = Field(8, ge=1, le=1024)
    episodes: int = Field(8, ge=1, le=1024)
    sigma: float = Field(0.1, gt=0.0)
    net_arch: list[int] = []
    warm_start: str = "none"


class RandomSearchTrainer(RunBook):
    """Keeps the cheapest of theta and its perturbations, each iteration."""

    tensorboard_folder = "random_search"

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None, trust_pickles: bool = False):
        super().__init__(config, out, resume, progress, trust_pickles)
        self.params = RandomSearchParams.model_validate(config.hyperparams)
        (self.spec,) = self.layout
        self.view = LearnerView(self.scenario, self.spec["sites"], config.action, config.observation,
                                joint=self.spec["joint"], max_order=config.max_order)
        self.model = ESModel(self.view, self.params.net_arch)
        self.rng = np.random.default_rng([config.seed, 11])
        self.model.theta = self.model.network.init(self.rng)
        self.timesteps = 0
        if resume:
            self.resume_from(self._restore)
            self.timesteps = self.total_of(self.state)

    @property
    def total(self) -> int:
        return self.timesteps

    def _restore(self, checkpoint: Path) -> None:
        self.model = ESModel.load(checkpoint / f"{self.spec['name']}.npz", self.view)
        self.rng.bit_generator.state = json.loads((checkpoint / "rng.json").read_text())

    def save_models(self, folder: Path) -> None:
        write_atomic(folder / f"{self.spec['name']}.npz", self.model.to_bytes())

    def checkpoint(self) -> None:
        def fill(folder: Path) -> None:
            self.save_models(folder)
            write_atomic(folder / "rng.json", json.dumps(self.rng.bit_generator.state))

        self.write_checkpoint(fill, {self.spec["name"]: self.total})

    def policy(self) -> GroupPolicy:
        return GroupPolicy(self.scenario, [LearnedGroup(self.view, self.model, None)], None, label=self.config.name)

    def iterate(self) -> None:
        p, theta = self.params, self.model.theta
        noise = self.rng.standard_normal((p.candidates, theta.size))
        thetas = np.concatenate([theta[None], theta + p.sigma * noise])
        result = population_cost(self.model, thetas, p.episodes, self.rng, self.scenario, None)
        self.model.theta = thetas[int(np.argmin(result.cost))].copy()
        self.model.observe_stats(result.obs_count, result.obs_sum, result.obs_sumsq)
        self.timesteps += result.timesteps
        self.writer.add_scalar("random_search/best_cost", float(result.cost.min()), self.total)


RANDOM_SEARCH = Algorithm("sb3", "random_search", RandomSearchParams, RandomSearchTrainer, ".npz", check_es,
                          summary="pure random search on a network's weights (the test suite's example)")
"""The registry entry (``register(RANDOM_SEARCH)`` adds it)."""


def add() -> Algorithm:
    """Register the example algorithm."""
    return register(RANDOM_SEARCH)
