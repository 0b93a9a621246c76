"""An SB3 ``VecEnv`` over the batched core: no per-copy Python environments, no SuperSuit.

``copies`` copies of a scenario step in lockstep in one :class:`~envs.simulator.Simulator`.
A model that controls several sites with one shared policy gets one slot per
(copy, site) (slot = copy x sites + site); a joint model (the central
controller) one slot per copy. Sites the model does not control are ordered for
by ``others`` (a heuristic) and ``peers`` (other models, in independent
training).

Episodes end together at the horizon: every slot is then truncated, never
terminated (``infos[i]["TimeLimit.truncated"] = True`` with the
``terminal_observation``, as SB3 expects for bootstrapping), the batch is reset
with new episodes from the adapter's generator, and the returned observation is
the new episode's first. ``seed(s)`` (called by ``PPO(seed=s)``) reseeds that
generator at the next reset, so training is deterministic for a seed.

Rewards are minus the period's cost divided by ``cost_scale`` (sum over sites of
h' x mean demand through the site), so they are O(1): cooperative (team cost),
decentralized (own cost) or a mix ``(1 - w) own + w team``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from echelon.agents.learner_view import LearnedGroup, LearnerView, combined_orders
from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.envs.errors import ConfigError
from echelon.envs.rewards import cost_scale, mixed_cost, reward_weight
from echelon.envs.scenario import Scenario, load_scenario
from echelon.envs.simulator import Simulator
from echelon.training.config import group_layout, load_train_config

if TYPE_CHECKING:
    from echelon.training.config import TrainConfig


class BatchVecEnv(VecEnv):
    """What every batched SB3 adapter shares: ``copies`` of a scenario in one simulator, seeding, rewards'
    scale, truncation at the horizon with ``terminal_observation``, and the VecEnv bookkeeping.

    A subclass says what its slots see (:meth:`_observe`), what happens at an episode's start
    (:meth:`_begin`) and how its actions run a period (:meth:`_advance`, returning the slots' rewards
    and each copy's team cost).
    """

    def __init__(self, scenario: Scenario, copies: int, slots_per_copy: int, observation_space: Any,
                 action_space: Any, seed: int = 0):
        if copies < 1:
            raise ValueError(f"copies: must be >= 1 (got {copies})")
        self.scenario = scenario
        self.copies = copies
        self.sim = Simulator(scenario, batch=copies)
        self.scale = cost_scale(scenario)
        self._rng = np.random.default_rng(seed)
        self._actions: np.ndarray | None = None
        self.render_mode = None
        super().__init__(copies * slots_per_copy, observation_space, action_space)
        self._returns = np.zeros(self.num_envs)
        self._team_cost = np.zeros(copies)

    state_fields: tuple[str, ...] = ("sim", "_rng", "_returns", "_team_cost")
    """The attributes that change as the env runs: what :meth:`snapshot` keeps (a subclass adds its own)."""

    def snapshot(self) -> dict[str, Any]:
        """The env where it stands, mid-episode (for an exact resume: :mod:`training.exact_resume`); to be
        pickled or copied before the env steps on."""
        return {name: getattr(self, name) for name in self.state_fields}

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Stand where :meth:`snapshot` stood."""
        for name in self.state_fields:
            setattr(self, name, snapshot[name])

    def _begin(self) -> None:
        """Reset whatever lives beside the simulator at an episode's start."""

    def _observe(self) -> np.ndarray:
        raise NotImplementedError

    def _advance(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run one period with the slots' ``actions``; returns (rewards ``[num_envs]``, team cost ``[copies]``)."""
        raise NotImplementedError

    # --------------------------------------------------------------------------- VecEnv API
    def reset(self) -> np.ndarray:
        if self._seeds[0] is not None:
            self._rng = np.random.default_rng(self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        return self._start()

    def _start(self) -> np.ndarray:
        self.sim.reset(self._rng)
        self._begin()
        self._returns[:] = 0.0
        self._team_cost[:] = 0.0
        return self._observe()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        rewards, team = self._advance(self._actions)
        rewards = rewards.astype(np.float32)
        self._team_cost += team
        self._returns += rewards
        obs = self._observe()
        if not self.sim.done:
            return obs, rewards, np.zeros(self.num_envs, dtype=bool), [{} for _ in range(self.num_envs)]
        per_copy = self._team_cost / self.sim.periods
        k = self.num_envs // self.copies
        infos = [
            {
                "TimeLimit.truncated": True,
                "terminal_observation": obs[i],
                "episode": {"r": float(self._returns[i]), "l": self.sim.periods, "cost": float(per_copy[i // k])},
            }
            for i in range(self.num_envs)
        ]
        return self._start(), rewards, np.ones(self.num_envs, dtype=bool), infos

    def close(self) -> None:
        """Nothing to release."""

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs


class InventoryVecEnv(BatchVecEnv):
    """The batched core as an SB3 vector env for one model (module docstring)."""

    state_fields = (*BatchVecEnv.state_fields, "others")  # the other sites' policies remember their episode

    def __init__(self, scenario: Scenario, view: LearnerView, copies: int, team_weight: float = 1.0,
                 others: Policy | None = None, peers: Sequence[LearnedGroup] = (), seed: int = 0):
        self.view = view
        self.team_weight = team_weight
        self.others = others
        self.peers = list(peers)
        super().__init__(scenario, copies, view.slots_per_copy, view.observation_space, view.action_space, seed)

    def _begin(self) -> None:
        if self.others is not None:
            self.others.reset(self.copies, self._rng)

    def _observe(self) -> np.ndarray:
        return self.view.observe(self.sim.state)

    def _advance(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        state = self.sim.state
        decisions = [(self.view, self.view.action_matrix(actions, self.copies))]
        decisions += [(peer.view, peer.actions(state)) for peer in self.peers]
        orders = combined_orders(decisions, self.others, state, self.sim.params)
        cost = self.sim.step(orders, validate=False).cost  # [copies, sites]
        team = cost.sum(axis=1)
        if self.view.joint:
            return -team / self.scale, team
        own = cost[:, self.view.index]
        mixed = mixed_cost(own, team[:, None], self.team_weight)
        return (-mixed / self.scale).reshape(-1), team


def learner_vec_env(config: TrainConfig, scenario: Scenario, group: Mapping[str, Any], seed: int) -> InventoryVecEnv:
    """The vector env of one model group of a training config (:func:`~training.config.group_layout`)."""
    view = LearnerView(scenario, group["sites"], config.action, config.observation, joint=group["joint"],
                       max_order=config.max_order, max_adjust=config.max_adjust)
    others = make_policy(config.others, scenario) if config.others is not None else None  # its own memory
    return InventoryVecEnv(scenario, view, config.copies, reward_weight(config.reward), others, seed=seed)


VEC_ENV_MODES = ("shared", "central", "single_site")


def make_vec_env(scenario: str | Path | Mapping[str, Any] | Scenario, copies: int = 16, *, mode: str = "shared",
                 action: str = "target", observation: str = "local", reward: str | float = "cooperative",
                 site: str | None = None, others: Any = None, max_order: Any = None, max_adjust: int = 2,
                 seed: int = 0) -> InventoryVecEnv:
    """The fast Stable-Baselines3 ``VecEnv`` of a scenario: the way to train on Echelon with SB3.

    ``copies`` copies of the scenario step in lockstep in one batched simulator (no per-copy Python
    envs, no SuperSuit). ``mode`` says what the model controls, as in ``echelon train``:

    - ``shared``: every site with one shared policy; one slot per (copy, site), so
      ``num_envs = copies x sites``, slot = copy x sites + site;
    - ``central``: every site jointly (one slot per copy, a joint action);
    - ``single_site``: ``site`` only, while ``others`` (a policy spec such as ``"sterman"`` or
      ``{"policy": "base_stock", "levels": "optimal"}``) orders for the rest.

    Observations are the learner view (``observation``: local | shared | global | pipeline; scaled,
    with the site's one-hot and the time left), actions the ``action`` form (target | discrete |
    demand_plus | continuous) with one space for every site, capped per site inside. The reward is
    minus the period's cost over the scenario's cost scale (:func:`~envs.rewards.cost_scale`):
    the team's (``reward: cooperative``), the site's own (``decentralized``) or a weight on the team.
    Every episode ends at the horizon by truncation (``TimeLimit.truncated`` and
    ``terminal_observation`` in the infos); ``PPO(seed=s)`` reseeds the episodes, so runs repeat.

    >>> from stable_baselines3 import PPO
    >>> venv = make_vec_env("textbook_serial", copies=16, seed=0)
    >>> model = PPO("MlpPolicy", venv, seed=0).learn(100_000)

    Bad arguments raise :class:`~envs.errors.ConfigError` with a one-line reason.
    """
    if mode not in VEC_ENV_MODES:
        raise ConfigError(f"make_vec_env: mode must be one of {', '.join(VEC_ENV_MODES)} (got {mode!r}); "
                          "independent and hybrid runs train several models: use echelon train")
    config = load_train_config({"name": "make_vec_env", "scenario": scenario, "mode": mode, "action": action,
                                "observation": observation, "reward": reward, "copies": copies, "seed": seed,
                                "site": site, "others": others, "max_order": max_order, "max_adjust": max_adjust},
                               where="make_vec_env")
    scen = load_scenario(scenario)
    return learner_vec_env(config, scen, group_layout(config, scen)[0], seed)
