"""What a Stable-Baselines3 checkpoint needs beyond SB3's own files for a resumed run to continue exactly.

SB3's ``save`` keeps the networks, the optimiser, the step count and the last observation, and
``VecNormalize``'s pickle keeps the observation and return statistics; a run resumed from those alone
still differs from the uninterrupted one, because it loses:

- the random generators that decide the future: torch's (the policy's action samples), NumPy's global
  one (the rollout buffer's minibatch order), Python's, all re-seeded from the start seed when SB3
  loads a model;
- the environment in the middle of its episodes: the simulator's state, its episode's random inputs
  and the env's generator for the next episodes (a loaded model restarts the env otherwise);
- ``VecNormalize``'s running discounted returns, which its pickle drops;
- where the trainer stood: whose turn it is (rotating models) and the step count the ``learn`` call in
  progress runs to (its learning-rate and clip-range schedules' progress).

:func:`capture` gathers these into ``exact.pkl`` beside the models, :func:`restore` puts them back.
A checkpoint of an on-policy learner (PPO, A2C) is taken between a policy update and the next rollout,
where nothing else is in flight, so the resumed run is bit-identical to the uninterrupted one; Ctrl-C
waits for that point (:func:`stop_between_updates`). Off-policy learners (DQN, SAC, TD3) continue
without their replay buffer, which is not saved: not exactly.

The file is a pickle, covered by the checkpoint's seal like SB3's own pickles (:mod:`training.seal`).
"""

from __future__ import annotations

import pickle
import random
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecNormalize

if TYPE_CHECKING:
    from echelon.training.train import Trainer

FILE = "exact.pkl"


def capture(trainer: Trainer) -> bytes:
    """Everything beyond SB3's files that decides ``trainer``'s future, as bytes for :data:`FILE`."""
    groups = {}
    for g in trainer.groups:
        returns = g.venv.returns.copy() if isinstance(g.venv, VecNormalize) else None
        groups[g.name] = {"env": g.env.snapshot(), "returns": returns}
    state = {
        "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
        "turn": trainer.turn, "learn_until": trainer.learn_until, "evaluation_due": trainer.evaluation_due,
        "groups": groups,
    }
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def restore(trainer: Trainer, data: bytes) -> None:
    """Put back what :func:`capture` saved (after the models are loaded: loading re-seeds the generators)."""
    state = pickle.loads(data)  # noqa: S301 - a sealed checkpoint of this machine (training.seal)
    for g in trainer.groups:
        saved = state["groups"][g.name]
        g.env.restore(saved["env"])
        if saved["returns"] is not None and isinstance(g.venv, VecNormalize):
            g.venv.returns = saved["returns"]
    trainer.turn, trainer.learn_until = state["turn"], state["learn_until"]
    trainer.evaluation_due = state["evaluation_due"]
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])
    random.setstate(state["rng"]["python"])


@contextmanager
def stop_between_updates(trainer: Trainer) -> Iterator[None]:
    """While training: the first Ctrl-C asks ``trainer`` to stop at the next point between a policy update
    and the next rollout (where a checkpoint is exact: :attr:`Trainer.stop_requested`); a second one stops
    at once. Outside the main thread (where no signal handler can be set) Ctrl-C stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def asked(signum: int, frame: Any) -> None:
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.stop_requested = True
        print("echelon: stopping after this update, with a checkpoint (Ctrl-C again to stop at once)",
              file=sys.stderr)

    previous = signal.signal(signal.SIGINT, asked)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
