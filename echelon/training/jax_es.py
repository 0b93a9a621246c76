"""``backend: jax, algo: es``: evolution strategies with the population's episodes on the device.

:class:`DeviceESTrainer` is :class:`training.es.ESTrainer` with one change: each iteration's population plays
on JAX's default device (:func:`agents.jax_es.device_population_cost`), its episodes drawn there from a key
the run's generator gives, so the run stays reproducible and resumable exactly as on NumPy. Everything else
(the Adam step, schedules, held-out evaluation on the NumPy core, the run folder, the ``.npz`` network that
``echelon evaluate`` plays) is the NumPy trainer's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from echelon.agents.es import PopulationCost
from echelon.agents.jax_es import check_device_view, device_population_cost
from echelon.envs.jax_core import jax
from echelon.training.config import TrainConfig
from echelon.training.es import ESTrainer


class DeviceESTrainer(ESTrainer):
    """ES whose population runs on the device (module docstring)."""

    tensorboard_folder = "es_jax"

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None, trust_pickles: bool = False):
        super().__init__(config, out, resume, progress, trust_pickles)
        check_device_view(self.view, self.others)

    def population(self, thetas: np.ndarray) -> PopulationCost:
        key = jax.random.key(int(self.rng.integers(2**63)))
        return device_population_cost(self.model, thetas, self.params.episodes, key, self.scenario)
