"""``algo: es``: evolution strategies on the batched core, with the run folder every trainer keeps.

Each iteration draws ``pairs`` directions eps_i ~ N(0, I), plays the ``2 x pairs`` weight vectors
theta +- sigma eps_i on the same ``episodes`` fresh episodes side by side
(:func:`agents.es.population_cost`), and takes an Adam step along the antithetic, rank-shaped
estimate of the gradient of the cost (Salimans et al. 2017). ``n_timesteps`` counts the slot-periods
the population simulates (2 x pairs x episodes x slots x periods per iteration). Every ``eval_freq``
the current theta plays the held-out episodes; the best is ``models/<group>.npz``. The network reads
observations standardised by running statistics of every state the population visited (ARS's state
normalisation, Mania et al. 2018), stored with its weights.

``warm_start: reference`` starts the network at the run's reference policy instead of the sites'
natural levels (:meth:`agents.es.ESModel.start_at`: the best echelon levels for a central echelon-target
controller, the site's best base-stock response for a single-site learner) and evaluates that start
like any later model, so the model kept is never worse than the best base-stock policy on the held-out
episodes; what learning adds is the state-dependent part.

Every draw comes from one generator seeded by the run's seed, whose state is checkpointed with theta
and Adam's moments: a resumed run continues exactly as the uninterrupted one would have.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from echelon.agents.es import ESModel, PopulationCost, population_cost
from echelon.agents.heuristics import EchelonBaseStock
from echelon.agents.learned import GroupPolicy
from echelon.agents.learner_view import LearnedGroup, LearnerView
from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.agents.response import SiteBaseStock
from echelon.envs.errors import ConfigError
from echelon.envs.files import write_atomic
from echelon.training.config import TrainConfig
from echelon.training.es_optim import Adam, es_gradient
from echelon.training.hyperparams import ESParams, linear_start
from echelon.training.run_folder import RunBook

ES_SEED_STREAM = 7
"""The run's generator is ``default_rng([seed, ES_SEED_STREAM])``, apart from the held-out episodes' seed."""


SIGMA_FLOOR = 0.05
"""A decaying sigma ends at this fraction of its start (0 would leave no perturbation to learn from)."""


def scheduled(value: float | str, progress: float, floor: float) -> float:
    """A hyperparameter ``progress`` (0..1) into the run: a number, or ``lin_<x>`` from x down to ``floor x``."""
    start = linear_start(value)
    return float(value) if start is None else start * max(floor, 1.0 - progress)


def reference_levels(policy: Policy) -> np.ndarray:
    """The levels of a reference policy (:attr:`~training.run_folder.RunBook.reference_policy`) an ES network
    can start at: the best echelon levels, or a single site's best base-stock response level."""
    if isinstance(policy, EchelonBaseStock):
        return policy.levels
    if isinstance(policy, SiteBaseStock):
        return np.array([float(policy.level)])
    raise ConfigError(f"ES warm start: no levels to start at in {policy.describe()}")


class ESTrainer(RunBook):
    """Trains the one model of an ``algo: es`` config (module docstring)."""

    tensorboard_folder = "es"
    hyperparams: type = ESParams
    """The declared hyperparameters (a subclass that learns the same network otherwise declares its own)."""

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None, trust_pickles: bool = False):
        super().__init__(config, out, resume, progress, trust_pickles)
        self.params = self.hyperparams.model_validate(config.hyperparams)
        (self.spec,) = self.layout
        self.view = LearnerView(self.scenario, self.spec["sites"], config.action, config.observation,
                                joint=self.spec["joint"], max_order=config.max_order, max_adjust=config.max_adjust)
        self.others = make_policy(config.others, self.scenario) if config.others is not None else None
        self.model = ESModel(self.view, self.params.net_arch)
        self.rng = np.random.default_rng([config.seed, ES_SEED_STREAM])
        self.model.theta = self.model.network.init(self.rng)
        if self.params.warm_start == "reference" and not resume:
            self.model.start_at(reference_levels(self.reference_policy))
            self.evaluate_at_start = True
        self.adam = Adam(self.model.network.dim, self.lr_at(0.0))
        self.timesteps = 0
        if resume:
            self.resume_from(self._restore)
            self.timesteps = self.total_of(self.state)

    # --------------------------------------------------------------------------- state
    def progress_fraction(self) -> float:
        return min(1.0, self.total / max(self.config.n_timesteps, 1))

    def lr_at(self, progress: float) -> float:
        """The step size when ``progress`` (0..1) of the run is done: constant, or ``lin_<x>`` decaying to 0."""
        return scheduled(self.params.learning_rate, progress, 0.0)

    def sigma_at(self, progress: float) -> float:
        """The perturbations' sigma: constant, or ``lin_<x>`` decaying to x / 20."""
        return scheduled(self.params.sigma, progress, SIGMA_FLOOR)

    @property
    def total(self) -> int:
        """Slot-periods simulated so far, the whole population together."""
        return self.timesteps

    def _restore(self, checkpoint: Path) -> None:
        name = self.spec["name"]
        self.model = ESModel.load(checkpoint / f"{name}.npz", self.view)
        path = checkpoint / f"{name}.es.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                m, v, t, rng = data["m"], data["v"], int(data["t"]), json.loads(str(data["rng"]))
            self.rng.bit_generator.state = rng
        except Exception as exc:  # noqa: BLE001 - missing or damaged optimiser state
            raise ConfigError(f"{path}: cannot load the optimiser state ({exc.__class__.__name__})") from None
        if m.shape != self.model.theta.shape or v.shape != m.shape:
            raise ConfigError(f"{path}: optimiser state of another network")
        self.adam.m, self.adam.v, self.adam.t = m, v, t
        self.load_learner(checkpoint)

    def load_learner(self, checkpoint: Path) -> None:
        """Restore what a subclass's learner keeps beside the network (:meth:`save_learner`); none here."""

    def save_learner(self, folder: Path) -> None:
        """Write what a subclass's learner keeps beside the network into a checkpoint folder; none here."""

    def save_models(self, folder: Path) -> None:
        write_atomic(folder / f"{self.spec['name']}.npz", self.model.to_bytes())

    def checkpoint(self) -> None:
        """theta, Adam's moments and the generator's state, with the run state."""
        def fill(folder: Path) -> None:
            self.save_models(folder)
            buffer = io.BytesIO()
            np.savez(buffer, m=self.adam.m, v=self.adam.v, t=np.array(self.adam.t),
                     rng=np.array(json.dumps(self.rng.bit_generator.state)))
            write_atomic(folder / f"{self.spec['name']}.es.npz", buffer.getvalue())
            self.save_learner(folder)

        self.write_checkpoint(fill, {self.spec["name"]: self.total})

    # --------------------------------------------------------------------------- learning
    def policy(self) -> GroupPolicy:
        """theta as a policy (what evaluation plays)."""
        return GroupPolicy(self.scenario, [LearnedGroup(self.view, self.model, None)], self.others,
                           label=self.config.name)

    def population(self, thetas: np.ndarray) -> PopulationCost:
        """The population's costs on ``episodes`` fresh common episodes (drawn from the run's generator)."""
        return population_cost(self.model, thetas, self.params.episodes, self.rng, self.scenario, self.others)

    def iterate(self) -> None:
        """One ES step: ``2 x pairs`` perturbed networks on common episodes, an Adam step on theta."""
        p, theta = self.params, self.model.theta
        progress = self.progress_fraction()
        sigma, lr = self.sigma_at(progress), self.lr_at(progress)
        noise = self.rng.standard_normal((p.pairs, theta.size))
        thetas = np.concatenate([theta + sigma * noise, theta - sigma * noise])
        result = self.population(thetas)
        grad = es_gradient(noise, result.cost[:p.pairs], result.cost[p.pairs:], sigma)
        self.model.theta = theta + self.adam.step(grad, lr)
        self.model.observe_stats(result.obs_count, result.obs_sum, result.obs_sumsq)
        self.timesteps += result.timesteps
        self.writer.add_scalar("es/population_cost", float(result.cost.mean()), self.total)
        self.writer.add_scalar("es/learning_rate", lr, self.total)
        self.writer.add_scalar("es/sigma", sigma, self.total)
