"""How ``echelon train`` learns: every (backend, algorithm) pair, one table (:data:`ALGORITHMS`).

An entry says what a config of that algorithm may hold (its ``hyperparams`` model and a check of the
rest), who trains it (a :class:`~training.run_folder.RunBook` subclass) and what it writes (each
group's model file, and VecNormalize statistics beside it or not). The trainer is named as
``"module:Class"`` and imported when a run starts, so this table sits below the trainers.

Adding an algorithm is one entry (:func:`register`) and one module holding its trainer; the test
suite's random-search trainer (``tests/random_search.py``) is an example.

Backends: ``sb3`` (the default: this process; Stable-Baselines3's algorithms and Echelon's own
evolution strategies), ``jax`` (evolution strategies and PPO on JAX's default device) and ``rllib``
(Ray RLlib).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from echelon.agents.es import ES_ACTIONS
from echelon.envs.actions import ACTION_FORMS
from echelon.envs.errors import ConfigError
from echelon.training.hyperparams import (
    A2CParams,
    DQNParams,
    ESParams,
    JaxPPOParams,
    PPOParams,
    RLlibPPOParams,
    SACParams,
    TD3Params,
    check_hyperparams,
)
from echelon.training.modes import MODES
from echelon.training.rllib_config import validate_rllib

if TYPE_CHECKING:  # (training.config imports this module)
    from echelon.training.config import TrainConfig


@dataclass(frozen=True)
class Algorithm:
    """One way to learn a config's models."""

    backend: str
    algo: str
    hyperparams: type[BaseModel]
    """The declared ``hyperparams`` (:mod:`training.hyperparams`)."""
    trainer: str | type
    """The trainer: a :class:`~training.run_folder.RunBook` subclass, or ``"module:Class"``."""
    model_file: str
    """The suffix of each group's model file in ``models/`` (``.zip``, ``.npz``, ``.rlmodule``); every
    trainer also writes the pickle-free ``<group>.policy.npz`` or an ``.npz`` network that evaluation plays."""
    check: Callable[[TrainConfig, str], None]
    """The checks of a config of this algorithm beyond the common ones (modes, actions, hyperparams)."""
    normalizer: bool = False
    """VecNormalize statistics beside each model (``models/<group>.vecnorm.pkl``)."""
    normalize_default: bool = False
    """What ``normalize: null`` means."""
    summary: str = ""

    def trainer_class(self) -> type:
        """The trainer, imported if named."""
        if not isinstance(self.trainer, str):
            return self.trainer
        module, _, name = self.trainer.partition(":")
        return getattr(importlib.import_module(module), name)


ALGORITHMS: dict[tuple[str, str], Algorithm] = {}
"""Every (backend, algo) pair ``echelon train`` knows, in the order the messages list them."""


def register(algorithm: Algorithm) -> Algorithm:
    """Add (or replace) an entry of :data:`ALGORITHMS`."""
    ALGORITHMS[(algorithm.backend, algorithm.algo)] = algorithm
    return algorithm


def one_of(names: list[str]) -> str:
    """``'a', 'b' or 'c'``: the choices a message lists."""
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def algo_names() -> list[str]:
    return list(dict.fromkeys(a for _, a in ALGORITHMS))


def backend_names() -> list[str]:
    return list(dict.fromkeys(b for b, _ in ALGORITHMS))


def known_algo(value: str) -> str:
    """A config's ``algo``: a name some backend trains."""
    if value not in algo_names():
        raise ValueError(f"must be {one_of(algo_names())}")
    return value


def known_backend(value: str) -> str:
    if value not in backend_names():
        raise ValueError(f"must be {one_of(backend_names())}")
    return value


def known_mode(value: str) -> str:
    if value not in MODES:
        raise ValueError(f"must be {one_of(list(MODES))}")
    return value


def algorithm_of(config: TrainConfig, src: str = "training config") -> Algorithm:
    """The entry of a config's backend and algo; a pair no backend trains is one line."""
    found = ALGORITHMS.get((config.backend, config.algo))
    if found is None:
        trained = [a for b, a in ALGORITHMS if b == config.backend]
        raise ConfigError(f"{src}: backend {config.backend} trains algo {' or '.join(trained)} "
                          f"(got {config.algo!r})")
    return found


# --------------------------------------------------------------------------- the checks of each family

DISCRETE_ONLY = ("dqn",)
CONTINUOUS_ONLY = ("sac", "td3")
ES_MODES = ("shared", "central", "single_site")
ES_WARM_STARTS = {("central", "echelon_target"), ("single_site", "target"), ("single_site", "continuous_target")}
"""(mode, action) pairs whose reference policy's levels an ES network can start at (``warm_start: reference``)."""


def check_sb3(config: TrainConfig, src: str) -> None:
    """A Stable-Baselines3 algorithm: its action space fits the action form and the mode."""
    continuous = not ACTION_FORMS[config.action].integral  # a Box space: continuous, continuous_target
    if config.algo in DISCRETE_ONLY and (continuous or MODES[config.mode].joint):
        raise ConfigError(f"{src}: algo '{config.algo}' needs one discrete action per slot: use a discrete action "
                          "form and a per-site mode (not central)")
    if config.algo in CONTINUOUS_ONLY and not continuous:
        raise ConfigError(f"{src}: algo '{config.algo}' needs continuous actions: set action: continuous "
                          "or continuous_target")
    if config.mode == "hybrid" and config.algo not in ("ppo", "a2c"):
        raise ConfigError(f"{src}: mode hybrid trains a planner (continuous targets) and sites (discrete "
                          f"adjustments): use algo ppo or a2c (got {config.algo!r})")
    config.hyperparams = check_hyperparams(config.algo, algorithm_of(config).hyperparams, config.hyperparams, src)


def check_es(config: TrainConfig, src: str) -> None:
    """``algo: es`` (and any learner of :mod:`agents.es`'s networks): one model (shared, central or
    single_site), a level or quantity action, raw observations."""
    algo = config.algo
    if config.mode not in ES_MODES:
        raise ConfigError(f"{src}: algo {algo} trains one model: mode must be one of {', '.join(ES_MODES)} "
                          f"(got {config.mode!r})")
    if config.action not in ES_ACTIONS:
        raise ConfigError(f"{src}: algo {algo} sets levels or quantities: action must be one of "
                          f"{', '.join(ES_ACTIONS)} (got {config.action!r})")
    if config.normalize:
        raise ConfigError(f"{src}: algo {algo} reads the scaled observations as they are: normalize must be false")
    config.hyperparams = check_hyperparams(algo, algorithm_of(config).hyperparams, config.hyperparams, src)
    if config.hyperparams.get("warm_start") == "reference" and (config.mode, config.action) not in ES_WARM_STARTS:
        raise ConfigError(f"{src}: hyperparams: warm_start: reference starts at base-stock levels, so it needs mode "
                          f"central with action echelon_target, or single_site with action target or "
                          f"continuous_target (got {config.mode}, {config.action})")


JAX_ES_MODES = ("shared", "central")


def check_jax(config: TrainConfig, src: str) -> None:
    """``backend: jax`` (ES and PPO, both learning the ES network): :func:`check_es`, and what the device plays
    (:func:`agents.jax_es.check_device_view`): one model over every site, no pipeline observation."""
    check_es(config, src)
    if config.mode not in JAX_ES_MODES or config.others is not None:
        raise ConfigError(f"{src}: backend jax: the ES model must control every site: mode shared or central, no "
                          f"others (got mode {config.mode})")
    if config.observation == "pipeline":
        raise ConfigError(f"{src}: backend jax: observation pipeline is not on the device yet (use local, shared "
                          "or global)")
    if config.algo == "ppo" and config.reward != "cooperative":
        raise ConfigError(f"{src}: backend jax: algo ppo learns the team's cost: reward must be cooperative "
                          f"(got {config.reward!r})")


def _sb3(algo: str, params: type[BaseModel], summary: str) -> Algorithm:
    return Algorithm("sb3", algo, params, "echelon.training.train:Trainer", ".zip", check_sb3, normalizer=True,
                     normalize_default=True, summary=summary)


for _entry in (
    _sb3("ppo", PPOParams, "Stable-Baselines3 PPO (Schulman et al. 2017)"),
    _sb3("a2c", A2CParams, "Stable-Baselines3 A2C (Mnih et al. 2016)"),
    _sb3("dqn", DQNParams, "Stable-Baselines3 DQN (Mnih et al. 2015): discrete actions"),
    _sb3("sac", SACParams, "Stable-Baselines3 SAC (Haarnoja et al. 2018): continuous actions"),
    _sb3("td3", TD3Params, "Stable-Baselines3 TD3 (Fujimoto et al. 2018): continuous actions"),
    Algorithm("sb3", "es", ESParams, "echelon.training.es:ESTrainer", ".npz", check_es,
              summary="evolution strategies on the batched core (Salimans et al. 2017)"),
    Algorithm("jax", "es", ESParams, "echelon.training.jax_es:DeviceESTrainer", ".npz", check_jax,
              summary="evolution strategies with the population on the JAX device (needs echelon[jax])"),
    Algorithm("jax", "ppo", JaxPPOParams, "echelon.training.jax_ppo:DevicePPOTrainer", ".npz", check_jax,
              summary="PPO with environment and learner in one compiled program on the JAX device"),
    Algorithm("rllib", "ppo", RLlibPPOParams, "echelon.training.rllib:RLlibTrainer", ".rlmodule", validate_rllib,
              summary="Ray RLlib PPO, shared or independent modules"),
):
    register(_entry)

