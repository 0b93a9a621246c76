"""The trainer of a config: Stable-Baselines3, RLlib or evolution strategies (one place decides)."""

from __future__ import annotations

from pathlib import Path

from echelon.training.config import TrainConfig
from echelon.training.es import ESTrainer
from echelon.training.rllib import RLlibTrainer
from echelon.training.run_folder import RunBook
from echelon.training.train import Trainer


def make_trainer(config: TrainConfig, out: Path, resume: bool = False, trust_pickles: bool = False) -> RunBook:
    """The trainer that learns ``config`` into run folder ``out``: RLlib for ``backend: rllib``, ES for
    ``algo: es``, Stable-Baselines3 otherwise. Every model is built (and may refuse its arguments) here,
    before anything is written. ``trust_pickles``: resume from checkpoints this machine did not seal
    (:mod:`training.seal`)."""
    if config.backend == "rllib":
        return RLlibTrainer(config, out, resume=resume, trust_pickles=trust_pickles)
    if config.algo == "es":
        return ESTrainer(config, out, resume=resume, trust_pickles=trust_pickles)

    return Trainer(config, out, resume=resume, trust_pickles=trust_pickles)
