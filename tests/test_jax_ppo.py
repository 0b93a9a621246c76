"""``backend: jax, algo: ppo``: PPO with environment and learner in one compiled program. Its pieces against
hand-worked numbers (GAE, the Gaussian's log density), and the run: it learns, repeats, resumes exactly, and
writes an ES network that ``echelon evaluate`` plays on NumPy."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from echelon.cli import main
from echelon.training.config import load_train_config
from echelon.training.jax_ppo import _gae, _log_prob
from echelon.training.run_folder import start_run
from echelon.training.trainers import make_trainer

jax.config.update("jax_enable_x64", True)


def test_gae_by_hand():
    """Rewards 1, 2, 3, values 0.5, 1, 1.5, gamma = lambda = 0.5, the episode ending after period 3:
    deltas 1 + 0.5 - 0.5 = 1, 2 + 0.75 - 1 = 1.75, 3 + 0 - 1.5 = 1.5; advantages A3 = 1.5,
    A2 = 1.75 + 0.25 x 1.5 = 2.125, A1 = 1 + 0.25 x 2.125 = 1.53125."""
    reward = jnp.array([[1.0], [2.0], [3.0]])
    value = jnp.array([[0.5], [1.0], [1.5]])
    advantage, target = _gae(reward, value, 0.5, 0.5)
    np.testing.assert_allclose(np.asarray(advantage)[:, 0], [1.53125, 2.125, 1.5])
    np.testing.assert_allclose(np.asarray(target)[:, 0], [2.03125, 3.125, 3.0])


def test_log_density_of_the_gaussian():
    u, y, log_std = jnp.array([[1.0, 0.0]]), jnp.array([[0.5, 0.0]]), jnp.array([0.0, math.log(2.0)])
    expected = (-0.5 * 0.25 - 0.5 * math.log(2 * math.pi)) + (-math.log(2.0) - 0.5 * math.log(2 * math.pi))
    assert float(_log_prob(u, y, log_std)[0]) == expected


def _raw(**changes):
    raw = {"name": "ppoj", "scenario": "textbook_serial", "mode": "shared", "backend": "jax", "algo": "ppo",
           "action": "continuous_target", "observation": "local", "seed": 0, "n_timesteps": 8 * 16 * 3 * 100,
           "eval_freq": 2 * 16 * 3 * 100, "eval_episodes": 20, "checkpoint_freq": 10**9,
           "hyperparams": {"episodes": 16, "learning_rate": 0.003, "vf_arch": [16]}}
    return raw | changes


def _train(raw, out):
    config = load_train_config(raw, where="test")
    trainer = make_trainer(config, out)
    out.mkdir(parents=True)
    start_run(config, out)
    trainer.train(config.n_timesteps)
    return trainer


def test_a_short_run_learns_and_repeats(tmp_path):
    a = _train(_raw(), tmp_path / "a")
    b = _train(_raw(), tmp_path / "b")
    costs = [h["cost"] for h in a.state.history]
    assert costs[-1] < costs[0]  # 8 iterations of 16 episodes already lower the held-out cost
    assert np.array_equal(a.model.theta, b.model.theta) and np.array_equal(a.critic, b.critic)


def test_a_resumed_run_ends_where_the_straight_one_does(tmp_path):
    whole = _raw(checkpoint_freq=4 * 16 * 3 * 100)
    straight = _train(whole, tmp_path / "straight")
    _train(_raw(checkpoint_freq=4 * 16 * 3 * 100, n_timesteps=4 * 16 * 3 * 100), tmp_path / "halves")
    resumed = make_trainer(load_train_config(whole, where="test"), tmp_path / "halves", resume=True)
    resumed.config.n_timesteps = straight.config.n_timesteps
    resumed.train(straight.config.n_timesteps)
    assert np.array_equal(resumed.model.theta, straight.model.theta)
    assert np.array_equal(resumed.critic, straight.critic) and np.array_equal(resumed.log_std, straight.log_std)


def test_the_command_line_trains_and_evaluates_on_numpy(write_yaml, tmp_path, capsys):
    path = write_yaml(_raw(n_timesteps=2 * 16 * 3 * 100))
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "models" / "shared.npz").is_file()
    assert main(["evaluate", str(tmp_path / "run"), "--episodes", "20", "--out", str(tmp_path / "eval")]) == 0
    assert main(["train", str(write_yaml(_raw(hyperparams={"gamma": 2}))), "--out", str(tmp_path / "x")]) == 2
    assert "hyperparams: gamma: must be at most 1" in capsys.readouterr().err
    assert main(["train", str(write_yaml(_raw(reward="decentralized"))), "--out", str(tmp_path / "x")]) == 2
    assert "algo ppo learns the team's cost: reward must be cooperative" in capsys.readouterr().err
