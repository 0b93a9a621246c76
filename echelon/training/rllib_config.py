"""The checks and defaults of ``backend: rllib`` that need neither Ray nor the trainer (:mod:`training.rllib`):
what :func:`training.config.validate` calls for an RLlib config."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from echelon.envs.errors import ConfigError
from echelon.envs.validation import check_address
from echelon.training.hyperparams import RaySettings, RLlibPPOParams, check_model

if TYPE_CHECKING:  # (training.config imports this module)
    from echelon.training.config import TrainConfig

RLLIB_MODES = ("shared", "independent")
ACTIVATION_NAMES = {"tanh": "tanh", "relu": "relu", "elu": "elu", "leaky_relu": "LeakyReLU"}
DEFAULTS = {
    "lambda_": 0.95,  # RLlib's default 1.0 (plain Monte Carlo returns) learns slowly over 100-period horizons
    "vf_clip_param": math.inf,  # value targets are tens of cost-scale units; RLlib's 10 would clip them
    # measured on rllib_independent_textbook, seeds 0-2, 1.2M agent steps, `echelon evaluate` on 1,000 episodes
    # (best base-stock 47.78): 6400 periods per iteration (64 envs x 100) in minibatches of 800, 6 epochs:
    # 49.59, 50.34, 48.98 in 1.2-1.3 CPU-min (15,500 agent-steps per CPU-s, `echelon speed --rllib`); the
    # former 1600 / 200 / 10 epochs: 50.49, 48.52, 50.52 in 3.8-4.2 CPU-min; 1600-sized minibatches and 4
    # epochs: 24,700 agent-steps per CPU-s but 49.59, 52.88, 50.53
    "train_batch_size_per_learner": 6_400,
    "minibatch_size": 800,
    "num_epochs": 6,
}


def validate_rllib(config: TrainConfig, src: str) -> None:
    """The checks of ``backend: rllib`` (:func:`training.config.validate` did the common ones)."""
    if config.mode not in RLLIB_MODES:
        raise ConfigError(f"{src}: backend rllib trains mode shared or independent (got {config.mode!r}); "
                          "use backend sb3 for the others")
    if config.normalize:
        raise ConfigError(f"{src}: backend rllib does not normalise (the learner view is already scaled and "
                          "rewards are divided by the scenario's cost scale): set normalize: false or leave it out")
    config.ray = check_model(RaySettings, config.ray, src, "ray")
    config.hyperparams = check_model(RLlibPPOParams, config.hyperparams, src, "hyperparams")
    hyper = DEFAULTS | config.hyperparams
    if hyper["minibatch_size"] > hyper["train_batch_size_per_learner"]:
        raise ConfigError(f"{src}: hyperparams: minibatch_size ({hyper['minibatch_size']}) must be at most "
                          f"train_batch_size_per_learner ({hyper['train_batch_size_per_learner']}), the agent steps "
                          "each iteration samples")
    address = config.ray.get("address")
    if address is not None:
        check_address(address, f"{src}: ray: address")


