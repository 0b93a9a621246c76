"""The trainer of a config: the one its algorithm's entry names (:data:`training.algorithms.ALGORITHMS`)."""

from __future__ import annotations

from pathlib import Path

from echelon.training.algorithms import algorithm_of
from echelon.training.config import TrainConfig
from echelon.training.run_folder import RunBook


def make_trainer(config: TrainConfig, out: Path, resume: bool = False, trust_pickles: bool = False) -> RunBook:
    """The trainer that learns ``config`` into run folder ``out`` (Stable-Baselines3, RLlib, evolution
    strategies, or any registered algorithm). Every model is built (and may refuse its arguments) here,
    before anything is written. ``trust_pickles``: resume from checkpoints this machine did not seal
    (:mod:`training.seal`)."""
    return algorithm_of(config).trainer_class()(config, out, resume=resume, trust_pickles=trust_pickles)
