"""Training: the SB3 vector-env adapter, the four modes, determinism, checkpoints, resume and Ctrl-C."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import yaml
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecCheckNan

from echelon.agents.learned import LearnedPolicy
from echelon.agents.learner_view import LearnerView
from echelon.agents.registry import make_policy
from echelon.envs.errors import ConfigError, Interrupted
from echelon.envs.scenario import load_scenario
from echelon.evaluation.rollout import rollout
from echelon.training.config import load_train_config
from echelon.training.run_folder import generations, resume_config, start_run
from echelon.training.train import Trainer
from echelon.training.vec_env import InventoryVecEnv

TINY = {
    "name": "tiny", "scenario": "textbook_serial", "mode": "shared", "algo": "ppo", "copies": 2,
    "n_timesteps": 1200, "seed": 3, "eval_freq": 600, "eval_episodes": 4, "checkpoint_freq": 600,
    "hyperparams": {"n_steps": 100, "batch_size": 100, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}},
}


def tiny(**change):
    return load_train_config({**TINY, **change}, where="test")


def train(tmp_path, name="run", timesteps=None, **change):
    config = tiny(**change)
    out = tmp_path / name
    start_run(config, out)
    trainer = Trainer(config, out)
    trainer.train(timesteps or config.n_timesteps)
    return trainer, out


# --------------------------------------------------------------------------- the adapter

def make_env(copies=3, scenario="textbook_serial", **kwargs):
    scen = load_scenario(scenario).with_periods(5)
    view = LearnerView(scen, scen.site_names, **kwargs)
    return InventoryVecEnv(scen, view, copies, seed=0), scen


def test_adapter_shapes_truncation_and_terminal_observation():
    env, scen = make_env()
    obs = env.reset()
    assert env.num_envs == 3 * 3 and obs.shape == (9, env.observation_space.shape[0])
    assert obs.dtype == np.float32 and env.observation_space.contains(obs[0])
    for period in range(5):
        obs, rewards, dones, infos = env.step(np.array([env.action_space.sample() for _ in range(9)]))
        assert rewards.shape == (9,) and rewards.dtype == np.float32 and (rewards <= 0).all()
        if period < 4:
            assert not dones.any() and infos == [{}] * 9
    assert dones.all()
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"].shape == obs[0].shape
        assert info["episode"]["l"] == 5
    # after the horizon the batch starts again: time left is back to 1
    assert np.allclose(obs[:, -1], 1.0)
    # cooperative: the three sites of a copy share one reward
    assert np.allclose(rewards.reshape(3, 3), rewards.reshape(3, 3)[:, :1])


def test_adapter_seeding_is_deterministic():
    runs = []
    for _ in range(2):
        env, _ = make_env()
        env.seed(7)
        first = env.reset()
        _, rewards, _, _ = env.step(np.full(9, 10))
        runs.append((first, rewards, env.sim.episode.demand.copy()))
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a, b)
    env, _ = make_env()
    env.seed(8)
    env.reset()
    assert not np.array_equal(env.sim.episode.demand, runs[0][2])


@pytest.mark.filterwarnings("ignore:Evaluation environment is not wrapped")
@pytest.mark.parametrize("action", ["target", "discrete", "demand_plus", "continuous"])
def test_adapter_works_with_sb3(action):
    env, _ = make_env(action=action)
    env = VecCheckNan(env, raise_exception=True)
    model = PPO("MlpPolicy", env, n_steps=10, batch_size=30, n_epochs=1, seed=0, device="cpu")
    model.learn(60)
    mean, _ = evaluate_policy(model, env, n_eval_episodes=3)
    assert np.isfinite(mean)


def test_central_env_still_passes_sb3_check_env():
    from echelon import envs

    check_env(envs.CentralSupplyChainEnv(scenario="textbook_serial", action="target"))


# --------------------------------------------------------------------------- training runs

def test_same_seed_same_training(tmp_path):
    a, _ = train(tmp_path, "a")
    b, _ = train(tmp_path, "b")
    assert a.state.history == b.state.history
    for pa, pb in zip(a.groups[0].model.policy.parameters(), b.groups[0].model.policy.parameters(), strict=True):
        assert (pa == pb).all()


def test_evaluations_score_the_model_of_their_count_and_the_last_is_the_final_model(tmp_path):
    """Evaluations wait for the update that used their samples (a rollout is 100 steps x 6 slots = 600
    timesteps): due at 500, 1,000 and 1,500 they score the models trained on 600, 1,200 and 1,800; the last row
    is the final model's score (before, a mid-rollout evaluation scored the previous update's model under a
    later count, and the final model could go unscored)."""
    trainer, out = train(tmp_path, eval_freq=500, n_timesteps=1800)
    rows = trainer.state.history
    assert [r["timesteps"] for r in rows] == [600, 1200, 1800]
    assert trainer.evaluate(trainer.policy())["cost"] == rows[-1]["cost"]
    assert [int(line.split(",")[-2]) for line in (out / "eval.csv").read_text().splitlines()[1:]] == [600, 1200,
                                                                                                      1800]


def test_an_evaluation_due_when_the_models_rotate_is_not_lost(tmp_path):
    """Independent models take turns (one rollout of 200 timesteps each here): an evaluation that falls due in one
    model's last rollout runs after its update, before the next model's rollout, not at the next multiple."""
    trainer, _ = train(tmp_path, mode="independent", eval_freq=300, n_timesteps=1200, rotation_timesteps=200)
    assert [r["timesteps"] for r in trainer.state.history] == [400, 600, 1000, 1200]


def test_run_folder_and_learned_policy(tmp_path):
    trainer, out = train(tmp_path)
    newest = generations(out)[0]
    assert newest.parent == out / "checkpoints"
    for name in ("config.yaml", "models/shared.zip", "models/shared.vecnorm.pkl", "models/shared.policy.npz",
                 f"checkpoints/{newest.name}/state.json", f"checkpoints/{newest.name}/seal.json",
                 f"checkpoints/{newest.name}/shared.zip", "eval.csv", "learning_curve.png"):
        assert (out / name).is_file(), name
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(next((out / "tb").rglob("events.out.tfevents*")).parent))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"inventory/total_cost", "inventory/fill_rate", "inventory/gap_to_best_heuristic",
            "inventory/bullwhip_e3", "train/value_loss"} <= tags, tags
    tags = (out / "eval.csv").read_text().splitlines()[0]
    assert "gap_to_best_heuristic" in tags and "bullwhip_e3" in tags and "fill_rate" in tags
    scen = load_scenario("textbook_serial")
    policy = make_policy({"policy": "learned", "run": str(out)}, scen)
    assert isinstance(policy, LearnedPolicy)
    costs = rollout(policy, scen, 3, seed=0).episode_cost
    assert np.isfinite(costs).all()


def test_resume_continues_the_count_and_the_curve(tmp_path):
    trainer, out = train(tmp_path, timesteps=600)
    assert trainer.total == 600
    config = resume_config(out)
    again = Trainer(config, out, resume=True)
    assert again.total == 600 and again.groups[0].model.num_timesteps == 600
    again.train(1200)
    assert again.total == 1200 and again.groups[0].model.num_timesteps == 1200
    assert [row["timesteps"] for row in again.state.history] == [600, 1200]
    assert [p.name for p in (out / "tb").iterdir()] == ["shared_0"]  # one TensorBoard curve, continued


def test_ctrl_c_leaves_a_loadable_checkpoint(tmp_path, monkeypatch):
    from echelon.training import train as train_module

    config = tiny(n_timesteps=100_000)
    out = tmp_path / "run"
    start_run(config, out)
    trainer = Trainer(config, out)
    steps = {"n": 0}
    original = train_module.CountSteps._on_step

    def interrupt_after_a_while(self):
        steps["n"] += 1
        if steps["n"] == 150:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(train_module.CountSteps, "_on_step", interrupt_after_a_while)
    with pytest.raises(Interrupted, match="--resume"):
        trainer.train(config.n_timesteps)
    resumed = Trainer(resume_config(out), out, resume=True)
    assert resumed.total == trainer.total > 0
    assert resumed.groups[0].model.num_timesteps == trainer.groups[0].model.num_timesteps


def test_corrupt_or_mismatched_models_give_clear_errors(tmp_path):
    _, out = train(tmp_path, timesteps=600)
    scen = load_scenario("textbook_serial")
    (out / "models" / "shared.policy.npz").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="shared.policy.npz: not an Echelon policy file"):
        make_policy({"policy": "learned", "run": str(out)}, scen)
    with pytest.raises(ConfigError, match="trained on sites"):
        make_policy({"policy": "learned", "run": str(out)}, load_scenario("beer_game"))
    with pytest.raises(ConfigError, match="not a training run folder"):
        make_policy({"policy": "learned", "run": str(tmp_path)}, scen)
    (generations(out)[0] / "shared.zip").write_bytes(b"garbage")
    with pytest.raises(ConfigError, match="its files changed since"):
        Trainer(resume_config(out), out, resume=True)
    with pytest.raises(ConfigError, match="not a loadable PPO model"):  # trusted, it is still garbage
        Trainer(resume_config(out), out, resume=True, trust_pickles=True)


def _edit_config(out, **changes):
    config = yaml.safe_load((out / "config.yaml").read_text())
    config.update(changes)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_a_tampered_run_folder_is_refused_with_the_reason(tmp_path):
    """Never a wrong number: evaluate refuses an edited config, missing statistics or another scenario."""
    from echelon.cli import main

    _, out = train(tmp_path, timesteps=600)
    scen = load_scenario("textbook_serial")
    make_policy({"policy": "learned", "run": str(out)}, scen)  # untouched: loads

    other = dataclasses.replace(scen, sites=(dataclasses.replace(scen.sites[0], shortage_cost=99.0),
                                             *scen.sites[1:]))
    with pytest.raises(ConfigError, match="trained on another scenario than 'textbook_serial'"):
        make_policy({"policy": "learned", "run": str(out)}, other)
    make_policy({"policy": "learned", "run": str(out)}, scen.with_periods(20))  # another horizon is fine

    original = (out / "config.yaml").read_text()
    _edit_config(out, action="discrete")
    with pytest.raises(ConfigError, match="config.yaml was edited after training"):
        make_policy({"policy": "learned", "run": str(out)}, scen)
    _edit_config(out, fingerprint=None)
    with pytest.raises(ConfigError, match="no fingerprint"):
        make_policy({"policy": "learned", "run": str(out)}, scen)
    (out / "config.yaml").write_text(original)

    (out / "models" / "shared.policy.npz").unlink()
    with pytest.raises(ConfigError, match="shared.policy.npz: missing: this run folder holds its models only as "
                                          "pickles"):
        make_policy({"policy": "learned", "run": str(out)}, scen)
    assert main(["evaluate", str(out), "--episodes", "5", "--out", str(tmp_path / "eval")]) == 2
    assert not (tmp_path / "eval").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "expected_groups"),
    [
        ({"mode": "central"}, ["central"]),
        ({"mode": "single_site", "site": "wholesaler", "others": "sterman"}, ["wholesaler"]),
        ({"mode": "independent", "rotation_timesteps": 300}, ["retailer", "wholesaler", "factory"]),
        ({"algo": "a2c", "hyperparams": {"n_steps": 5}}, ["shared"]),
        ({"algo": "dqn", "action": "demand_plus", "hyperparams": {"learning_starts": 100, "buffer_size": 1000}},
         ["shared"]),
        ({"algo": "sac", "action": "continuous", "hyperparams": {"learning_starts": 100, "buffer_size": 1000}},
         ["shared"]),
        ({"algo": "td3", "action": "continuous", "hyperparams": {"learning_starts": 100, "buffer_size": 1000}},
         ["shared"]),
        ({"algo": "sac", "action": "continuous_target",
          "hyperparams": {"learning_starts": 100, "buffer_size": 1000}}, ["shared"]),
    ],
)
def test_modes_and_algorithms_train_and_evaluate(tmp_path, change, expected_groups):
    trainer, out = train(tmp_path, **change)
    assert [g.name for g in trainer.groups] == expected_groups
    assert all(g.timesteps > 0 for g in trainer.groups)
    scen = load_scenario("textbook_serial")
    costs = rollout(make_policy({"policy": "learned", "run": str(out)}, scen), scen, 2, seed=0).episode_cost
    assert np.isfinite(costs).all()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"mode": "solo"}, "mode: must be 'shared', 'central'"),
        ({"algo": "ddpg"}, "algo: must be 'ppo', 'a2c'"),
        ({"algo": "dqn", "mode": "central"}, "needs one discrete action"),
        ({"algo": "sac"}, "needs continuous actions"),
        ({"mode": "single_site", "others": "sterman"}, "'site' must name the learning site"),
        ({"mode": "single_site", "site": "factory"}, "needs 'others'"),
        ({"hyperparams": {"n_stepz": 5}}, "PPO has no argument 'n_stepz'"),
        ({"hyperparams": {"learning_rate": "fast"}}, "lin_<number>"),
        ({"copies": 0}, "copies: must be >= 1"),
        ({"scenario": "nope"}, "scenario: unknown scenario"),
        ({"colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_bad_training_configs(change, needle):
    with pytest.raises(ConfigError, match=None) as err:
        tiny(**change)
    assert needle in str(err.value) and str(err.value).startswith("test: ")


@pytest.mark.slow
def test_train_cli_never_overwrites_and_resumes(tmp_path, capsys):
    from echelon.cli import main

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, "n_timesteps": 600}))
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 0
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "run"), "--seed", "4"]) == 2
    assert "do not apply" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "nowhere")]) == 2
    assert "not a training run folder" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "run"), "--timesteps", "1200"]) == 0
    state = yaml.safe_load((generations(tmp_path / "run")[0] / "state.json").read_text())
    assert state["timesteps"] == {"shared": 1200}
    assert main(["evaluate", str(tmp_path / "run"), "--episodes", "3"]) == 0
    assert (tmp_path / "run" / "benchmark" / "report.md").is_file()


@pytest.mark.slow
def test_real_ctrl_c_on_the_command(tmp_path):
    """SIGINT to a running `echelon train`: exit 130, a one-line message, a checkpoint that resumes."""
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump({**TINY, "n_timesteps": 10_000_000}))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "echelon", "train", str(path), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # imports and the reference policy first: minutes on a loaded machine
    while not any((out / "tb").rglob("events.out.tfevents*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not any((out / "tb").rglob("events.out.tfevents*")):
        proc.kill()
        pytest.fail(f"training had not started after 300 s: {proc.communicate()[1][-2000:]}")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=180)  # a checkpoint and the exit: seconds, minutes on a loaded machine
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"still running 180 s after Ctrl-C; checkpoints {[g.name for g in generations(out)]}; "
                    f"stderr: {err[-3000:]}")
    assert proc.returncode == 130, err
    assert "checkpoint saved" in err and "Traceback" not in err
    resumed = Trainer(resume_config(out), out, resume=True)
    assert resumed.total > 0


@pytest.mark.slow
def test_sigkill_at_a_random_moment_loses_at_most_the_checkpoint_interval(tmp_path):
    """kill -9 at a random moment: the newest checkpoint is at most checkpoint_minutes (+ one PPO update
    and a checkpoint's own writing, under a second here) older than the kill, and the run resumes from it."""
    import random
    import signal
    import subprocess
    import sys
    import time

    interval = 0.05  # minutes: 3 s
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump({**TINY, "n_timesteps": 10_000_000, "eval_freq": 10_000_000,
                                    "checkpoint_freq": 10_000_000, "checkpoint_minutes": interval}))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "echelon", "train", str(path), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not generations(out) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert generations(out), "no first checkpoint within 90 s"
    time.sleep(random.Random().uniform(4.0, 10.0))  # noqa: S311 - a random moment, not a secret
    proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    proc.wait(timeout=30)
    gens = generations(out)
    assert 1 <= len(gens) <= 2  # two generations kept
    lost = killed_at - (gens[0] / "state.json").stat().st_mtime
    assert lost <= 60 * interval + 2.0, f"lost {lost:.1f} s of training"
    resumed = Trainer(resume_config(out), out, resume=True)
    assert resumed.generation == gens[0] and resumed.total > 0


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    trainer, out = train(tmp_path)  # checkpoints at 600 and 1200 timesteps
    gens = generations(out)
    assert [g.name for g in gens] == ["000000001200", "000000000600"]
    (gens[0] / "shared.zip").write_bytes(b"garbage")
    resumed = Trainer(resume_config(out), out, resume=True)
    assert resumed.generation == gens[1] and resumed.total == 600
    assert "damaged" in resumed.fallback_note and "000000001200" in resumed.fallback_note
    resumed.train(1200)
    assert resumed.total == 1200 and [g.name for g in generations(out)] == ["000000001200", "000000000600"]


def test_tensorboard_steps_after_a_resume_never_overlap(tmp_path):
    """Events logged after the checkpoint a run resumes from (a killed run's last minutes) are dropped."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out = train(tmp_path)
    gens = generations(out)
    shutil.rmtree(gens[0])  # as if killed between the evaluation at 1200 and its checkpoint
    resumed = Trainer(resume_config(out), out, resume=True)
    assert resumed.total == 600
    steps = []
    for path in (out / "tb").rglob("events.out.tfevents*"):
        events = EventAccumulator(str(path))
        events.Reload()
        steps += [e.step for tag in events.Tags()["scalars"] for e in events.Scalars(tag)]
    assert steps and max(steps) <= 600
    resumed.train(1200)


@pytest.mark.slow
def test_tensorboard_after_a_resume_of_independent_models_stops_at_each_model_s_own_count(tmp_path):
    """Each model group logs its own timesteps (tb/<group>_<n>): each is cut at its own checkpointed count."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, out = train(tmp_path, mode="independent", rotation_timesteps=600, n_timesteps=3600, checkpoint_freq=1800)
    shutil.rmtree(generations(out)[0])
    resumed = Trainer(resume_config(out), out, resume=True)
    counts = resumed.state.timesteps
    assert sum(counts.values()) == 1800 and len(counts) == 3
    for folder in (out / "tb").iterdir():
        events = EventAccumulator(str(folder))
        events.Reload()
        steps = [e.step for tag in events.Tags()["scalars"] for e in events.Scalars(tag)]
        group = folder.name.rsplit("_", 1)[0]
        assert not steps or max(steps) <= counts[group], (folder.name, max(steps), counts[group])


# a retailer with lost sales (L = 4) fed by a capacitated warehouse (L = 2), 5 units in every pipeline slot
TWO_STAGE_LOST_SALES = {
    "name": "two_stage_lost_sales", "periods": 100,
    "sites": [
        {"name": "retailer", "supplier": "warehouse", "unmet": "lost", "lead_time": 4, "holding_cost": 1,
         "lost_sales_cost": 9, "initial_inventory": 10, "initial_pipeline": 5},
        {"name": "warehouse", "lead_time": 2, "capacity": 7, "holding_cost": 0.5, "initial_inventory": 15,
         "initial_pipeline": 5},
    ],
    "demand": {"retailer": {"kind": "poisson", "mean": 5}},
}


def test_pipeline_view_shows_the_slots():
    """Retailer: L = 4, so three transit slots, each holding the initial 5 units (scale: mean 5)."""
    from echelon.envs.simulator import Simulator

    scen = load_scenario(TWO_STAGE_LOST_SALES)
    view = LearnerView(scen, scen.site_names, observation="pipeline")
    sim = Simulator(scen, batch=2)
    obs = view.observe(sim.state)
    assert obs.shape == (4, 8 + 2 + 1 + 3) == (4, view.observation_space.shape[0])
    np.testing.assert_allclose(obs[0, -3:], [1.0, 1.0, 1.0])  # retailer of copy 0
    np.testing.assert_allclose(obs[1, -3:], [1.0, 0.0, 0.0])  # warehouse: L = 2, one slot of 5; padding after


def test_joint_pipeline_view():
    scen = load_scenario(TWO_STAGE_LOST_SALES)
    view = LearnerView(scen, scen.site_names, observation="pipeline", joint=True)
    from echelon.envs.simulator import Simulator

    obs = view.observe(Simulator(scen, batch=2).state)
    assert obs.shape == (2, 2 * 8 + 1 + 2 * 3) == (2, view.observation_space.shape[0])


@pytest.mark.slow
def test_hybrid_mode_trains_planner_and_sites_and_plays_in_the_study(tmp_path, capsys):
    """mode: hybrid builds two models (planner, sites) trained in turns on distribution_informed; the run
    loads as a policy, resumes, and `echelon study` evaluates it in the cell of its information model."""
    from stable_baselines3.common.env_checker import check_env  # noqa: F401 - the envs are VecEnvs

    from echelon.cli import main
    from echelon.training.hybrid import HybridVecEnv

    scen = load_scenario("distribution_informed")
    for role, slots in (("planner", 1), ("sites", 5)):
        env = HybridVecEnv(scen.with_periods(4), role, 2, max_adjust=3)
        obs = env.reset()
        assert obs.shape == (2 * slots, env.observation_space.shape[0])
        for _ in range(4):
            obs, rewards, dones, infos = env.step(np.array([env.action_space.sample() for _ in range(2 * slots)]))
        assert dones.all() and "terminal_observation" in infos[0]
    trainer, out = train(tmp_path, "hyb", timesteps=1200, scenario="distribution_informed", mode="hybrid",
                         max_adjust=3, rotation_timesteps=400)
    assert [g.name for g in trainer.groups] == ["planner", "sites"]
    assert (out / "models" / "planner.zip").is_file() and (out / "models" / "sites.zip").is_file()
    policy = make_policy({"policy": "learned", "run": str(out)}, scen)
    trajectory = rollout(policy, scen, 3, seed=0)
    assert np.isfinite(trajectory.cost).all() and (trajectory.orders >= 0).all()
    resumed = Trainer(resume_config(out), out, resume=True)
    assert resumed.total >= 1200
    study = {"name": "s", "scenarios": ["distribution"], "axes": {"delay": [2], "notice": [1], "lift": [1.0]},
             "advance_demand": {"rate": 0.2, "lift": 1.0}, "episodes": 20, "search_episodes": 10, "periods": 40,
             "warmup": 5, "learned": [str(out)]}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    assert main(["study", str(path), "--out", str(tmp_path / "map")]) == 0
    assert "learned tiny" in (tmp_path / "map" / "report.md").read_text()
    with pytest.raises(ConfigError, match="mode hybrid trains a planner"):
        tiny(scenario="distribution_informed", mode="hybrid", algo="dqn", action="discrete")


def test_ctrl_c_during_a_checkpoint_waits_for_the_files():
    """A SIGINT that lands while a checkpoint is written is held until the block ends, then raised."""
    import os
    import signal

    from echelon.training.run_folder import uninterrupted

    written = []
    before = signal.getsignal(signal.SIGINT)  # the default handler, or SIG_IGN under nohup / a background job
    with pytest.raises(KeyboardInterrupt):
        with uninterrupted():
            os.kill(os.getpid(), signal.SIGINT)
            written.append("model")
            written.append("state")
    assert written == ["model", "state"]
    assert signal.getsignal(signal.SIGINT) is before


def test_checkpoint_folders_get_the_umasks_permissions(tmp_path):
    """A checkpoint generation is a folder renamed into place: 0755 under umask 022, not mkdtemp's 0700."""
    import os
    import stat

    from echelon.envs.files import temporary_folder

    old = os.umask(0o022)
    try:
        folder = temporary_folder(tmp_path, ".gen.")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


class _Evil:
    """A pickle that creates a file when it is loaded (what a crafted run folder could do)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_pickle_in_a_run_folder_never_runs(tmp_path, capsys):
    """Evaluating, benchmarking or playing a run folder loads its pickle-free policy files only; resuming checks
    the machine's seal first. A crafted pickle in place of every model and statistics file runs nowhere."""
    import pickle

    from echelon.cli import main

    _, out = train(tmp_path, timesteps=600)
    marker = tmp_path / "pwned"
    evil = pickle.dumps(_Evil(marker))
    for path in [*(out / "models").glob("*.pkl"), *(out / "models").glob("*.zip"), *out.rglob("checkpoints/*/*.pkl"),
                 *out.rglob("checkpoints/*/*.zip")]:
        path.write_bytes(evil)
    assert main(["evaluate", str(out), "--episodes", "4", "--out", str(tmp_path / "eval")]) == 0
    bench = tmp_path / "b.yaml"
    bench.write_text(yaml.safe_dump({"name": "b", "scenarios": ["textbook_serial"], "episodes": 4, "policies": [
        {"label": "learned", "policy": "learned", "run": str(out)}]}))
    assert main(["benchmark", str(bench), "--out", str(tmp_path / "bench")]) == 0
    assert main(["train", "--resume", str(out)]) == 2
    assert "its files changed since" in capsys.readouterr().err
    (out / "models" / "shared.policy.npz").unlink()  # a folder of pickles only: refused, not loaded
    assert main(["evaluate", str(out), "--episodes", "4", "--out", str(tmp_path / "eval2")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "holds its models only as pickles" in err
    assert not marker.exists()


@pytest.mark.parametrize(("algo", "action", "normalize"), [
    ("ppo", "target", True), ("ppo", "continuous", False), ("a2c", "target", False), ("dqn", "demand_plus", False),
    ("sac", "continuous", True), ("td3", "continuous_target", False)])
def test_the_policy_file_acts_as_the_model_does(tmp_path, algo, action, normalize):
    """Untrained models of every algorithm (random weights, observation statistics from a few steps): the
    policy file, written and read back, gives the framework's deterministic action on the observations of
    real episodes."""
    from echelon.agents.policy_export import from_sb3, load_policy

    hyper = {"learning_starts": 10, "buffer_size": 200} if algo in ("dqn", "sac", "td3") else {}
    config = tiny(algo=algo, action=action, normalize=normalize, hyperparams={
        "policy_kwargs": {"net_arch": [32, 16]}, **hyper, **({"n_steps": 20} if algo in ("ppo", "a2c") else {})})
    start_run(config, tmp_path / "run")
    trainer = Trainer(config, tmp_path / "run")
    (group,) = trainer.groups
    group.model.learn(200)
    path = tmp_path / "p.npz"
    path.write_bytes(from_sb3(group.model, group.venv if normalize else None).to_bytes())
    net = load_policy(path)
    live = group.live()
    scen = load_scenario("textbook_serial")
    obs = np.concatenate([live.view.observe(s) for s in _states(scen, live)])
    theirs = live.predict(obs)
    assert np.allclose(net.predict(obs)[0], theirs, atol=1e-5)


def _states(scen, live):
    from echelon.envs.simulator import Simulator

    sim = Simulator(scen, batch=8)
    sim.reset(np.random.default_rng(1))
    out = []
    policy = make_policy({"policy": "base_stock", "levels": [7, 6, 11]}, scen)
    for _ in range(30):
        out.append(sim.state)
        sim.step(policy.act(sim.state))
    return out


def test_every_built_in_training_config_loads():
    """Each shipped config (configs/training/*.yaml) passes its own checks, the device ones included."""
    from echelon.training.config import TRAINING_DIR

    names = sorted(p.stem for p in TRAINING_DIR.glob("*.yaml"))
    assert {"quickstart", "es_textbook_jax", "ppo_jax_textbook"} <= set(names)
    for name in names:
        assert load_train_config(name).name == name
