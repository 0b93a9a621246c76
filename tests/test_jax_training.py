"""``backend: jax, algo: es``: the ES trainer with its population on the device writes the run folder every
trainer writes, reproducibly, resumes exactly, and refuses what the device cannot play in one line."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from echelon.cli import main
from echelon.training.config import load_train_config
from echelon.training.run_folder import start_run
from echelon.training.trainers import make_trainer

jax.config.update("jax_enable_x64", True)


def _config(write_yaml, **changes):
    config = {"name": "esj", "scenario": "textbook_serial", "mode": "shared", "backend": "jax", "algo": "es",
              "action": "continuous_target", "observation": "local", "seed": 0,
              "n_timesteps": 6 * 2 * 4 * 8 * 3 * 100, "eval_freq": 2 * 2 * 4 * 8 * 3 * 100, "eval_episodes": 20,
              "checkpoint_freq": 2 * 2 * 4 * 8 * 3 * 100,
              "hyperparams": {"pairs": 4, "episodes": 8, "sigma": 0.02, "learning_rate": 0.02, "net_arch": []}}
    return write_yaml(config | changes)


def test_a_device_run_is_reproducible_and_evaluates_on_numpy(write_yaml, tmp_path, capsys):
    path = _config(write_yaml)
    assert main(["train", str(path), "--out", str(tmp_path / "a")]) == 0
    assert main(["train", str(path), "--out", str(tmp_path / "b")]) == 0
    a = np.loadtxt(tmp_path / "a" / "eval.csv", delimiter=",", skiprows=1)
    b = np.loadtxt(tmp_path / "b" / "eval.csv", delimiter=",", skiprows=1)
    assert a.shape[0] >= 3 and (a == b).all()
    assert (tmp_path / "a" / "models" / "shared.npz").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "a"), "--episodes", "20", "--out", str(tmp_path / "eval")]) == 0


def test_a_resumed_device_run_continues_exactly(tmp_path):
    """As for the NumPy ES (tests/test_es.py): half a run, resumed, ends at the straight run's weights."""
    def config(**changes):
        raw = {"name": "esj", "scenario": "textbook_serial", "mode": "shared", "backend": "jax", "algo": "es",
               "action": "continuous_target", "observation": "local", "n_timesteps": 8 * 2 * 4 * 4 * 3 * 100,
               "eval_freq": 2 * 4 * 4 * 3 * 100 * 2, "eval_episodes": 8, "checkpoint_freq": 10**9,
               "hyperparams": {"pairs": 4, "episodes": 4, "sigma": 0.01, "learning_rate": 0.05, "net_arch": []}}
        return load_train_config(raw | changes, where="test")

    def train(cfg, out):
        trainer = make_trainer(cfg, out)
        out.mkdir(parents=True)
        start_run(cfg, out)
        trainer.train(cfg.n_timesteps)
        return trainer

    whole = config()
    straight = train(whole, tmp_path / "straight")
    assert type(straight).__name__ == "DeviceESTrainer"
    train(config(n_timesteps=whole.n_timesteps // 2), tmp_path / "halves")
    resumed = make_trainer(config(), tmp_path / "halves", resume=True)
    resumed.config.n_timesteps = whole.n_timesteps
    resumed.train(whole.n_timesteps)
    assert np.array_equal(resumed.model.theta, straight.model.theta)


@pytest.mark.parametrize(("changes", "message"), [
    ({"mode": "single_site", "site": "retailer", "others": "sterman"},
     "backend jax: the ES model must control every site"),
    ({"observation": "pipeline"}, "backend jax: observation pipeline is not on the device yet"),
    ({"algo": "dqn"}, "backend jax trains algo es or ppo (got 'dqn')"),
])
def test_what_the_device_cannot_train_is_one_line(write_yaml, tmp_path, capsys, changes, message):
    assert main(["train", str(_config(write_yaml, **changes)), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_the_device_scoreboard_runs_its_quick_suite(tmp_path):
    """``echelon scoreboard device --quick``: ES and PPO on the device, two seeds each, scored on NumPy."""
    import json

    assert main(["scoreboard", "device", "--quick", "--out", str(tmp_path / "sb")]) == 0
    rows = json.loads((tmp_path / "sb" / "results.json").read_text())
    text = json.dumps(rows)
    assert "es_textbook_jax" in text and "ppo_jax_textbook" in text
