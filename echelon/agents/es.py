"""Evolution strategies on the batched core: direct search for a network's weights on the team cost.

The learner of ``algo: es`` (:mod:`training.es`). A population of perturbed copies of one
network's weights theta plays the same episodes side by side in one batched simulator (common random
numbers: every member faces the same demands, so their costs differ only by their weights), and theta
moves along the estimated gradient of the smoothed cost (OpenAI-ES: Salimans, Ho, Chen, Sidor &
Sutskever 2017, "Evolution strategies as a scalable alternative to reinforcement learning";
antithetic pairs theta +- sigma eps_i, centred-rank fitness shaping, Adam steps: :mod:`training.es_optim`).

Why here: a policy that sets a site's base-stock level every period contains the exact optimum of a
serial chain (one constant level per site, Clark & Scarf 1960), and the simulator prices a
population of 32 x 64 episodes in a fraction of a second, so searching the weights directly on the
cost is both unbiased and cheap; gradient-based RL (PPO) must instead learn a value function from
noisy returns.

The network (:class:`Network`): a tanh MLP from the learner view's observation (scaled by the mean
demand through the site, :mod:`agents.learner_view`) to y per site; the action is ``anchor x (1 + y)``,
where the anchor is the site's natural level: the mean demand over the periods a level covers for a
target (:func:`envs.actions.cover_periods`: the base-stock level without safety stock), the mean
demand for an order quantity. The output layer starts at zero, so learning starts from the anchors. Whole-number
action forms round; every action is clipped into its space.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from echelon.agents.learner_view import LearnerView, combined_orders
from echelon.envs.actions import TARGET_FORMS, cover_periods
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import Scenario
from echelon.envs.simulator import Simulator, draw_episode, tile_episode

ES_ACTIONS = (*TARGET_FORMS, "discrete", "continuous")
"""The action forms an ES network can drive (levels or quantities; not demand_plus's adjustments)."""


def anchors(view: LearnerView) -> np.ndarray:
    """Per output, the level ``y = 0`` stands for (module docstring): ``[slots_per_copy]`` or ``[S]`` (joint)."""
    scenario = view.scenario
    form = view.form.name
    periods = cover_periods(scenario, echelon=form == "echelon_target") if form in TARGET_FORMS else None
    out = []
    for name in scenario.site_names if view.joint else view.sites:
        i = scenario.index(name)
        out.append(max(scenario.mean_demand_through(name), 1e-9) * (1.0 if periods is None else periods[i]))
    return np.array(out)


class Network:
    """A tanh MLP ``sizes[0] -> ... -> sizes[-1]`` whose weights are one flat vector theta.

    :meth:`forward` evaluates a population of weight vectors ``[P, d]`` on ``[P, N, sizes[0]]`` inputs at
    once (one batched matmul per layer)."""

    def __init__(self, sizes: list[int]):
        self.sizes = [int(s) for s in sizes]
        self.shapes = [(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=False)]
        self.dim = sum(a * b + b for a, b in self.shapes)

    def init(self, rng: np.random.Generator) -> np.ndarray:
        """Hidden weights N(0, 1 / fan_in), biases 0, the output layer 0 (the anchors to start from)."""
        parts = []
        for k, (a, b) in enumerate(self.shapes):
            last = k == len(self.shapes) - 1
            parts.append(np.zeros(a * b) if last else rng.normal(0.0, 1.0 / np.sqrt(a), a * b))
            parts.append(np.zeros(b))
        return np.concatenate(parts)

    def forward(self, theta: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``theta [P, d]``, ``x [P, N, in]`` -> ``[P, N, out]``."""
        at = 0
        for k, (a, b) in enumerate(self.shapes):
            w = theta[:, at:at + a * b].reshape(-1, a, b)
            at += a * b
            x = np.matmul(x, w) + theta[:, None, at:at + b]
            at += b
            if k < len(self.shapes) - 1:
                x = np.tanh(x)
        return x


class ESModel:
    """A trained ES network as a model of :class:`~agents.learner_view.LearnedGroup`: ``predict`` like SB3's."""

    def __init__(self, view: LearnerView, hidden: list[int], theta: np.ndarray | None = None):
        self.view = view
        self.observation_space = view.observation_space
        self.action_space = view.action_space
        self.hidden = [int(h) for h in hidden]
        outputs = len(view.scenario.sites) if view.joint else 1
        self.network = Network([view.observer.dim, *self.hidden, outputs])
        self.theta = np.zeros(self.network.dim) if theta is None else np.asarray(theta, dtype=np.float64)
        if self.theta.shape != (self.network.dim,):
            raise ConfigError(f"ES weights: expected {self.network.dim} numbers, got {self.theta.size}")
        self.anchor = anchors(view)
        space = view.action_space
        if isinstance(space, spaces.Discrete):
            self.upper = np.full(1, float(space.n - 1))
        elif isinstance(space, spaces.MultiDiscrete):
            self.upper = space.nvec.astype(np.float64) - 1
        else:
            self.upper = np.asarray(space.high, dtype=np.float64).reshape(-1)
        self.integral = not isinstance(space, spaces.Box)
        dim = view.observer.dim
        self.obs_count, self.obs_sum, self.obs_sumsq = 0.0, np.zeros(dim), np.zeros(dim)

    def start_at(self, levels: np.ndarray) -> None:
        """Warm start: the output biases b = S / anchor - 1, so that, with the output weights still zero, the
        network plays the levels ``S`` (one per output) in every state."""
        levels = np.asarray(levels, dtype=np.float64).reshape(-1)
        if levels.shape != self.anchor.shape or levels.size != self.network.sizes[-1]:
            raise ConfigError(f"ES warm start: {levels.size} levels for a network of {self.network.sizes[-1]} "
                              f"outputs over {self.anchor.size} sites")
        self.theta = self.theta.copy()
        self.theta[-levels.size:] = levels / self.anchor - 1.0

    def observe_stats(self, count: float, total: np.ndarray, squares: np.ndarray) -> None:
        """Add observations (their count, sum and sum of squares) to the running statistics."""
        self.obs_count += count
        self.obs_sum = self.obs_sum + total
        self.obs_sumsq = self.obs_sumsq + squares

    def standardise(self, obs: np.ndarray) -> np.ndarray:
        """Observations less their running mean, over their running standard deviation (1 where constant).

        Mania, Guy & Recht (2018)'s state normalisation: the output bias then sets the level at the
        average state, and each weight answers for one feature's deviation from its average."""
        if self.obs_count == 0:
            return obs
        mean = self.obs_sum / self.obs_count
        std = np.sqrt(np.maximum(self.obs_sumsq / self.obs_count - mean * mean, 0.0))
        return (obs - mean) / np.where(std > 1e-6, std, 1.0)

    def actions(self, theta: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Actions ``[P, N, outputs]`` of a population ``theta [P, d]`` on observations ``[P, N, dim]``."""
        y = self.network.forward(theta, self.standardise(obs))
        slots = obs.shape[1]
        if self.view.joint:
            anchor = self.anchor
        else:
            anchor = np.tile(self.anchor, slots // len(self.anchor))[:, None]
        act = np.clip(anchor * (1.0 + y), 0.0, self.upper)
        return np.round(act) if self.integral else act

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """The actions of ``theta`` for a batch of observations (SB3's ``predict`` signature)."""
        obs = np.asarray(obs, dtype=np.float64)
        act = self.actions(self.theta[None, :], obs[None])[0]
        return (act if self.view.joint or isinstance(self.action_space, spaces.Box) else act[:, 0]), None

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, theta=self.theta, hidden=np.array(self.hidden, dtype=np.int64),
                 dim=np.array(self.view.observer.dim), obs_count=np.array(self.obs_count), obs_sum=self.obs_sum,
                 obs_sumsq=self.obs_sumsq)
        return buffer.getvalue()

    @classmethod
    def load(cls, path: Path, view: LearnerView) -> ESModel:
        """An ES model file (``models/<group>.npz``), with one-line errors for a missing or foreign file."""
        if not Path(path).is_file():
            raise ConfigError(f"{path}: model file not found")
        try:
            with np.load(path, allow_pickle=False) as data:
                theta, hidden, dim = data["theta"], data["hidden"].tolist(), int(data["dim"])
                stats = float(data["obs_count"]), data["obs_sum"], data["obs_sumsq"]
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a bad model file
            raise ConfigError(f"{path}: not an ES model file ({exc.__class__.__name__})") from None
        if dim != view.observer.dim:
            raise ConfigError(f"{path}: the model expects observations of {dim} features, this scenario "
                              f"gives {view.observer.dim}")
        model = cls(view, hidden, theta)
        model.observe_stats(*stats)
        return model


@dataclass
class PopulationCost:
    """Mean team cost per period of each member over common episodes: ``cost [P]``, slot-periods simulated,
    and the observations seen (count, sum, sum of squares per feature)."""

    cost: np.ndarray
    timesteps: int
    obs_count: float
    obs_sum: np.ndarray
    obs_sumsq: np.ndarray


def population_cost(model: ESModel, thetas: np.ndarray, episodes: int, rng: np.random.Generator,
                    scenario: Scenario, others: Any = None) -> PopulationCost:
    """Every member of ``thetas [P, d]`` plays the same ``episodes`` (drawn from ``rng``) side by side."""
    members = thetas.shape[0]
    view = model.view
    sim = Simulator(scenario, batch=members * episodes)
    one = draw_episode(scenario, sim.params, rng, episodes, sim.periods)
    sim.reset(rng, tile_episode(one, members))
    if others is not None:
        others.reset(members * episodes, rng)
    total = np.zeros(members * episodes)
    dim = view.observer.dim
    obs_sum, obs_sumsq = np.zeros(dim), np.zeros(dim)
    while not sim.done:
        state = sim.state
        obs = view.observe(state).astype(np.float64)
        obs_sum += obs.sum(axis=0)
        obs_sumsq += np.einsum("ij,ij->j", obs, obs)
        act = model.actions(thetas, obs.reshape(members, -1, obs.shape[-1]))
        matrix = view.action_matrix(act.reshape(-1), members * episodes)
        orders = combined_orders([(view, matrix)], others, state, sim.params)
        total += sim.step(orders, validate=False).cost.sum(axis=1)
    per_member = total.reshape(members, episodes).mean(axis=1) / sim.periods
    steps = members * episodes * view.slots_per_copy * sim.periods
    return PopulationCost(per_member, steps, float(steps), obs_sum, obs_sumsq)  # one observation a slot-period
