"""A trained RLlib module as a model with SB3's ``predict``, so learned policies play it like any other.

``echelon train`` with ``backend: rllib`` plays its live modules through :class:`RLlibModel`, which
maps learner-view observations to a module's deterministic actions (the mode of its action
distribution: the most likely order for a discrete form, the mean for a continuous one). It saves each
module (``RLModule.save_to_path``) as ``models/<group>.rlmodule`` for resuming, and its policy as a
pickle-free ``models/<group>.policy.npz`` (:mod:`agents.policy_export`), which is what evaluation loads.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

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
