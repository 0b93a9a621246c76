"""A resumed Stable-Baselines3 run continues exactly: after a kill (from its last periodic checkpoint) or a
Ctrl-C (which waits for the next point between updates), every later held-out evaluation and the final
weights are bit-identical to the run that was never stopped -- with a linear learning-rate schedule,
normalised observations and rewards, and models trained in turns."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from echelon.envs.errors import Interrupted
from echelon.training import train as train_module
from echelon.training.config import load_train_config
from echelon.training.run_folder import resume_config, start_run
from echelon.training.train import Trainer

BASE = {
    "name": "exact", "scenario": "textbook_serial", "mode": "shared", "algo": "ppo", "copies": 2,
    "n_timesteps": 2400, "seed": 5, "eval_freq": 300, "eval_episodes": 4, "checkpoint_freq": 500,
    "hyperparams": {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "learning_rate": "lin_0.001",
                    "policy_kwargs": {"net_arch": [16]}},
}
MODES = {
    "shared PPO": {},
    "independent PPO in turns": {"mode": "independent", "rotation_timesteps": 400},
    "hybrid planner and sites": {"mode": "hybrid", "scenario": "distribution_informed", "max_adjust": 3,
                                 "rotation_timesteps": 400},
    "single-site PPO among Sterman players": {"mode": "single_site", "scenario": "beer_game", "site": "wholesaler",
                                              "others": {"policy": "sterman"}},
    "central A2C": {"mode": "central", "algo": "a2c", "hyperparams": {"n_steps": 16,
                                                                      "policy_kwargs": {"net_arch": [16]}}},
}


def config(**change):
    return load_train_config({**BASE, **change}, where="test")


def weights(trainer):
    return {f"{g.name}.{k}": v.clone() for g in trainer.groups for k, v in g.model.policy.state_dict().items()}


def straight(tmp_path, change):
    cfg = config(**change)
    out = tmp_path / "straight"
    start_run(cfg, out)
    trainer = Trainer(cfg, out)
    trainer.train(cfg.n_timesteps)
    return trainer


def resumed(out):
    again = Trainer(resume_config(out), out, resume=True)
    again.train(again.config.n_timesteps)
    return again


def same(a, b):
    assert [r["timesteps"] for r in a.state.history] == [r["timesteps"] for r in b.state.history]
    assert a.state.history == b.state.history  # every held-out evaluation, to the last bit
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


class Killed(Exception):
    """The process dies (nothing of it runs after this)."""


@pytest.mark.slow
@pytest.mark.parametrize("change", MODES.values(), ids=MODES.keys())
def test_killed_after_a_checkpoint_resumes_exactly(tmp_path, monkeypatch, change):
    whole = straight(tmp_path, change)
    cfg = config(**change)
    out = tmp_path / "killed"
    start_run(cfg, out)
    trainer = Trainer(cfg, out)
    calls = {"n": 0}
    real = Trainer.checkpoint

    def checkpoint_then_die(self):
        real(self)
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed

    monkeypatch.setattr(Trainer, "checkpoint", checkpoint_then_die)
    with pytest.raises(Killed):
        trainer.train(cfg.n_timesteps)
    monkeypatch.setattr(Trainer, "checkpoint", real)
    stopped_at = trainer.total
    assert 0 < stopped_at < cfg.n_timesteps
    again = resumed(out)
    assert any(r["timesteps"] > stopped_at for r in again.state.history)
    same(again, whole)


@pytest.mark.slow
def test_ctrl_c_waits_for_the_update_and_resumes_exactly(tmp_path, monkeypatch, capsys):
    whole = straight(tmp_path, {})
    cfg = config()
    out = tmp_path / "stopped"
    start_run(cfg, out)
    trainer = Trainer(cfg, out)
    real = train_module.CountSteps._on_step
    sent = []

    def ctrl_c_in_the_middle_of_a_rollout(self):
        if self.trainer.total >= 1000 and not sent:
            sent.append(self.trainer.total)
            os.kill(os.getpid(), signal.SIGINT)
        return real(self)

    monkeypatch.setattr(train_module.CountSteps, "_on_step", ctrl_c_in_the_middle_of_a_rollout)
    with pytest.raises(Interrupted, match="exactly as if never stopped"):
        trainer.train(cfg.n_timesteps)
    assert "stopping after this update" in capsys.readouterr().err
    assert sent == [1002] and trainer.total == 1152  # the rollout in flight finished: 3 x 384 steps (64 x 2 x 3)
    monkeypatch.setattr(train_module.CountSteps, "_on_step", real)
    same(resumed(out), whole)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_the_resume_state_is_sealed_with_the_checkpoint(tmp_path):
    """exact.pkl is a pickle: a changed one is refused like SB3's own (the seal), never unpickled."""
    from echelon.training.run_folder import generations

    cfg = config(n_timesteps=384, checkpoint_freq=384, eval_freq=384)
    out = tmp_path / "run"
    start_run(cfg, out)
    Trainer(cfg, out).train(cfg.n_timesteps)
    (gen,) = generations(out)[:1]
    assert (gen / "exact.pkl").is_file()
    (gen / "exact.pkl").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    with pytest.raises(Exception, match="no readable checkpoint|not written by this machine"):
        Trainer(resume_config(out), out, resume=True)
