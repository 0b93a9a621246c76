"""A trained RLlib module as a model with SB3's ``predict``, so learned policies play it like any other.

``echelon train`` with ``backend: rllib`` saves each module (``RLModule.save_to_path``) as
``models/<group>.rlmodule``; :func:`load_rllib_model` reads it back (torch only: no Ray cluster
is started) and :class:`RLlibModel` maps learner-view observations to the module's deterministic
actions (the mode of its action distribution: the most likely order for a discrete form, the mean
for a continuous one).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from echelon.envs.errors import ConfigError

RLLIB_HINT = "backend rllib needs Ray RLlib: pip install 'echelon[rllib]'"


def quiet_ray() -> None:
    """Keep Ray's and RLlib's notices (new API stack, deprecations, GPU monitoring) out of Echelon's output."""
    for name in ("ray", "ray.rllib", "ray.tune"):
        logging.getLogger(name).setLevel(logging.ERROR)


class RLlibModel:
    """An RLlib ``RLModule`` with ``predict(obs, deterministic=True) -> (actions, None)``."""

    def __init__(self, module: Any):
        self.module = module
        self.observation_space = module.observation_space
        self.action_space = module.action_space

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> tuple[np.ndarray, None]:
        import torch

        with torch.no_grad():
            out = self.module.forward_inference({"obs": torch.as_tensor(np.asarray(obs), dtype=torch.float32)})
            dist = self.module.get_inference_action_dist_cls().from_logits(out["action_dist_inputs"])
            action = (dist.to_deterministic() if deterministic else dist).sample()
        return action.cpu().numpy(), None


def load_rllib_model(path: Path) -> RLlibModel:
    """Load a module saved by the RLlib backend, with one-line errors for a missing or foreign folder."""
    if not Path(path).is_dir():
        raise ConfigError(f"{path}: model folder not found")
    try:
        from ray.rllib.core.rl_module.rl_module import RLModule
    except ImportError:
        raise ConfigError(f"{path}: {RLLIB_HINT}") from None
    quiet_ray()
    try:
        module = RLModule.from_checkpoint(str(Path(path).resolve()))
    except Exception as exc:  # noqa: BLE001 - any failure to restore means a bad folder
        raise ConfigError(f"{path}: not a loadable RLlib module ({exc.__class__.__name__}: {exc})") from None
    module.eval()
    return RLlibModel(module)
