"""RLlib's sampler on the batched core gives RLlib what its own runner on the PettingZoo env would: the same
observations, rewards and episode ends for the same draws and actions, on every built-in scenario, and
episodes RLlib's PPO learns from."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from echelon.envs.parallel import parallel_env
from echelon.envs.scenario import available_scenarios, load_scenario
from echelon.training.config import load_train_config

pytest.importorskip("ray.rllib")


def runner_for(scenario_name: str, mode: str = "independent", copies: int = 1, reward: str | float = "cooperative"):
    from echelon.training.config import group_layout
    from echelon.training.rllib import algorithm_config
    from echelon.training.rllib_runner import CoreEnvRunner

    config = load_train_config("rllib_independent_textbook")
    config.scenario, config.mode, config.reward = scenario_name, mode, reward
    config.ray = {**config.ray, "num_envs_per_env_runner": copies}
    scenario = load_scenario(scenario_name)
    layout = group_layout(config, scenario)
    algo_config = algorithm_config(config, scenario, layout)
    assert algo_config.env_runner_cls is CoreEnvRunner
    return CoreEnvRunner(config=algo_config), algo_config


def test_continuous_actions_keep_rllibs_own_runner_and_advance_signals_are_refused(tmp_path):
    from echelon.envs.errors import ConfigError
    from echelon.training.rllib import RLlibTrainer, algorithm_config, core_sampler
    from echelon.training.run_folder import start_run

    config = load_train_config("rllib_independent_textbook")
    assert core_sampler(config, load_scenario("textbook_serial"))
    informed = load_train_config({"name": "inf", "scenario": "distribution_informed", "backend": "rllib",
                                  "mode": "shared", "n_timesteps": 1000})
    start_run(informed, tmp_path / "run")
    with pytest.raises(ConfigError, match="cannot train on 'distribution_informed': its sites get advance demand"):
        RLlibTrainer(informed, tmp_path / "run")  # (before: a traceback at the first evaluation)
    config.action = "continuous"
    scenario = load_scenario("textbook_serial")
    assert not core_sampler(config, scenario)
    layout = [{"name": n, "sites": [n]} for n in scenario.site_names]
    assert algorithm_config(config, scenario, layout).env_runner_cls is None


@pytest.mark.parametrize("name", [n for n in available_scenarios() if not load_scenario(n).information.notice
                                  and len(load_scenario(n).sites) <= 20])  # (RLlib books 3,860 agents per step)
def test_the_core_runner_sees_and_earns_what_the_pettingzoo_env_gives(name):
    """One copy: the runner's episode replayed action by action in the PettingZoo env RLlib's own runner
    steps (the same env config, the same generator state): equal observations, rewards and truncation."""
    runner, algo_config = runner_for(name, reward=0.5 if name == "two_stage" else "cooperative")
    try:
        for _ in range(2):  # two episodes drawn one after the other from the runner's generator
            rng = copy.deepcopy(runner.vec._rng)
            episode = runner.sample(num_episodes=1, explore=True)[0]
            env = parallel_env(**algo_config.env_config)
            env._rng = rng
            obs, _ = env.reset()
            sites = env.possible_agents
            for site in sites:
                np.testing.assert_array_equal(episode.get_observations(0)[site], obs[site])
            periods = len(episode)
            assert periods == runner.periods
            for t in range(periods):
                actions = {s: int(episode.get_actions(t)[s]) for s in sites}
                obs, rewards, terminations, truncations, _ = env.step(actions)
                got = episode.get_rewards(t)
                for s in sites:
                    assert got[s] == pytest.approx(rewards[s], rel=1e-6, abs=1e-9), (name, t, s)
                    np.testing.assert_allclose(episode.get_observations(t + 1)[s], obs[s], rtol=1e-6)
                assert not any(terminations.values())
                assert all(truncations.values()) == (t == periods - 1)
            assert episode.is_truncated and not episode.is_terminated
    finally:
        runner.stop()


def test_modules_act_on_their_own_sites_and_logp_is_the_samples():
    """Shared: one module plays every site; the stored log-probability is the sampled action's under the
    stored logits (what PPO's ratio needs); episodes count every agent step."""
    import torch

    runner, _ = runner_for("textbook_serial", mode="shared", copies=4)
    try:
        episodes = runner.sample(num_timesteps=4 * runner.periods)
        assert len(episodes) == 4 and all(e.is_done for e in episodes)
        assert len(episodes) == 4 and {e.module_for(a) for e in episodes for a in e.agent_ids} == {"shared"}
        e = episodes[0]
        logits = e.get_extra_model_outputs("action_dist_inputs", indices=slice(0, 5))["retailer"]
        logp = e.get_extra_model_outputs("action_logp", indices=slice(0, 5))["retailer"]
        actions = e.get_actions(indices=slice(0, 5))["retailer"]
        expected = torch.log_softmax(torch.as_tensor(logits), -1)[np.arange(5), torch.as_tensor(actions)]
        np.testing.assert_allclose(logp, expected.numpy(), rtol=1e-5)
        assert sum(e.agent_steps() for e in episodes) == 4 * 3 * runner.periods
        metrics = runner.get_metrics()
        assert metrics["num_env_steps_sampled"] == 4 * runner.periods
        assert "episode_return_mean" in metrics
    finally:
        runner.stop()


def test_a_batch_of_steps_is_honoured_and_episodes_go_on_in_the_next_call():
    """250 steps of 4 copies: 63 periods each, chunks that are not done; the next call goes on from period 63
    with the same episodes (ids, the last observation); an episode's end starts a new one."""
    runner, _ = runner_for("textbook_serial", copies=4)
    try:
        first = runner.sample(num_timesteps=250)
        assert [len(e) for e in first] == [63] * 4 and not any(e.is_done for e in first)
        second = runner.sample(num_timesteps=4 * 50)  # 37 periods to the end of the episodes, 13 of new ones
        assert [len(e) for e in second] == [37] * 4 + [13] * 4
        assert [e.id_ for e in second[:4]] == [e.id_ for e in first]
        assert all(e.env_t_started == 63 and e.is_truncated for e in second[:4])
        assert all(e.env_t_started == 0 and not e.is_done for e in second[4:])
        for a, b in zip(first, second[:4], strict=True):
            np.testing.assert_array_equal(a.get_observations(-1)["retailer"], b.get_observations(0)["retailer"])
        metrics = runner.get_metrics()
        assert metrics["num_episodes"] == 4 and metrics["episode_len_mean"] == runner.periods
    finally:
        runner.stop()


@pytest.mark.slow
def test_echelon_speed_rllib_times_both_samplers_on_the_same_settings(tmp_path, capsys):
    import yaml

    from echelon.cli import main

    tiny = {"name": "tiny", "scenario": "textbook_serial", "backend": "rllib", "mode": "shared",
            "n_timesteps": 3000, "hyperparams": {"train_batch_size_per_learner": 400, "minibatch_size": 200,
                                                 "num_epochs": 1, "policy_kwargs": {"net_arch": [8]}},
            "ray": {"num_envs_per_env_runner": 4, "num_cpus": 2}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    assert main(["speed", "--rllib", str(tmp_path / "tiny.yaml")]) == 0
    out = capsys.readouterr().out
    for sampler in ("RLlib's own runner", "batched core"):
        line = next(x for x in out.splitlines() if x.strip().startswith(sampler))
        assert "(3,600 agent steps;" in line  # 3 timed iterations x 400 periods x 3 sites
    assert "x per CPU second" in out
