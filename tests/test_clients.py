"""Every MARL client out of the box: each one runs on every built-in scenario with every action form.

PettingZoo's own checkers (api, parallel api, seeds, max_cycles, render) run here on every
scenario and action form, in both views; Gymnasium's and SB3's ``check_env`` (on the central
env) and the parallel api under every observation level run in ``test_api.py``. Then the clients
that need one space for every agent: Tianshou's ``PettingZooEnv`` collector (a shared policy), TorchRL's
``PettingZooWrapper`` with one shared group, RLlib's ``ParallelPettingZooEnv`` (sampling with a
shared module and with a module per site), SB3 through :func:`echelon.make_vec_env`. The third-party
clients are optional extras (``echelon[rllib]``, ``echelon[clients]``); ``.ci/run`` installs them.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SMALL_SCENARIOS

import echelon
from echelon.envs.actions import ACTION_FORMS

SCENARIOS = SMALL_SCENARIOS
CASES = [(s, a) for s in SCENARIOS for a in ACTION_FORMS]


pytestmark = pytest.mark.usefixtures("quiet_warnings")


@pytest.mark.parametrize(("scenario", "action"), CASES)
@pytest.mark.parametrize("view", ["raw", "learner"])
def test_pettingzoo_checkers(scenario, action, view):
    from functools import partial

    from pettingzoo.test import (
        api_test,
        max_cycles_test,
        parallel_api_test,
        parallel_seed_test,
        render_test,
        seed_test,
    )

    options = {"scenario": scenario, "action": action, "view": view, "reward_scale": "auto"}
    api_test(echelon.env(**options), num_cycles=30)
    parallel_api_test(echelon.parallel_env(**options), num_cycles=30)
    seed_test(partial(echelon.env, **options, periods=8), num_cycles=8)
    parallel_seed_test(partial(echelon.parallel_env, **options, periods=8), num_cycles=8)
    render_test(partial(echelon.env, **options, periods=3))

    class Module:  # max_cycles_test takes a module with env and parallel_env factories
        env = partial(echelon.env, **options)
        parallel_env = partial(echelon.parallel_env, **options)

    max_cycles_test(Module)


@pytest.mark.slow
@pytest.mark.parametrize(("scenario", "action"), CASES)
def test_tianshou_collects_with_one_shared_policy(scenario, action):
    pytest.importorskip("tianshou")
    from tianshou.algorithm.algorithm_base import RandomActionPolicy
    from tianshou.algorithm.multiagent.marl import MultiAgentPolicy
    from tianshou.data import Collector, VectorReplayBuffer
    from tianshou.env import DummyVectorEnv, PettingZooEnv

    def make():
        return PettingZooEnv(echelon.env(scenario=scenario, action=action, view="learner", reward_scale="auto",
                                         periods=12))

    probe = make()
    shared = RandomActionPolicy(probe.action_space)
    # Tianshou 2.0.1's MultiAgentPolicy reads obs_next while collecting when observations carry no
    # action mask (Box action spaces: marl.py, forward): there one policy plays every agent's turn.
    import gymnasium

    discrete = isinstance(probe.action_space, gymnasium.spaces.Discrete)
    policy = MultiAgentPolicy({agent: shared for agent in probe.agents}) if discrete else shared
    collector = Collector(policy, DummyVectorEnv([make, make]), VectorReplayBuffer(2_000, 2))
    stats = collector.collect(n_episode=2, reset_before_collect=True)
    sites = len(probe.agents)
    assert stats.n_collected_episodes == 2
    assert stats.n_collected_steps == 2 * 12 * sites
    assert set(collector.buffer.obs.agent_id[: 12 * sites]) == set(probe.agents)
    assert np.all(collector.buffer.rew <= 0)


@pytest.mark.slow
@pytest.mark.parametrize(("scenario", "action"), CASES)
def test_torchrl_runs_one_shared_group(scenario, action):
    pytest.importorskip("torchrl")
    from torchrl.envs.libs.pettingzoo import PettingZooWrapper
    from torchrl.envs.utils import MarlGroupMapType

    env = PettingZooWrapper(echelon.parallel_env(scenario=scenario, action=action, view="learner",
                                                 reward_scale="auto", periods=12),
                            group_map=MarlGroupMapType.ALL_IN_ONE_GROUP, use_mask=False,
                            categorical_actions=True, seed=0)
    sites = len(echelon.load_scenario(scenario).sites)
    assert list(env.group_map) == ["agents"] and len(env.group_map["agents"]) == sites
    td = env.rollout(12)
    assert td["next", "agents", "reward"].shape == (12, sites, 1)
    cost = td["next", "agents", "info", "cost"]  # the per-site cost survives: reset and step infos agree
    assert cost.shape == (12, sites) and bool((cost >= 0).all())
    assert bool(td["next", "truncated"][-1].all())


@pytest.mark.slow
@pytest.mark.parametrize(("scenario", "action"), CASES)
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per_site"])
def test_rllib_samples_with_shared_and_per_site_modules(scenario, action, shared):
    pytest.importorskip("ray.rllib")
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
    from ray.tune.registry import register_env

    from echelon.training.modes import module_name
    from echelon.training.rllib import ENV_NAME, _ppo_config_class, make_rllib_env

    register_env(ENV_NAME, make_rllib_env)

    env_config = {"scenario": scenario, "action": action, "view": "learner", "reward_scale": "auto",
                  "clip_actions": True, "periods": 12}
    agents = list(echelon.load_scenario(scenario).site_names)
    modules = ["shared"] if shared else [module_name(a) for a in agents]
    config = (_ppo_config_class()()
              .environment(ENV_NAME, env_config=env_config)
              .multi_agent(policies=set(modules),
                           policy_mapping_fn=(lambda aid, *a, **k: "shared") if shared
                           else (lambda aid, *a, **k: module_name(aid)))
              .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: RLModuleSpec() for m in modules}))
              .env_runners(num_envs_per_env_runner=1))
    runner = MultiAgentEnvRunner(config=config)
    episodes = runner.sample(num_episodes=1, random_actions=False)
    assert len(episodes) == 1 and episodes[0].env_steps() == 12
    assert set(episodes[0].agent_ids) == set(agents)
    assert episodes[0].is_truncated
    runner.stop()


@pytest.mark.parametrize(("scenario", "action"), CASES)
def test_sb3_vec_env_of_every_scenario_and_action(scenario, action):
    from stable_baselines3.common.vec_env.base_vec_env import VecEnv

    venv = echelon.make_vec_env(scenario, copies=2, action=action, seed=0)
    assert isinstance(venv, VecEnv)
    sites = len(echelon.load_scenario(scenario).sites)
    obs = venv.reset()
    assert obs.shape == (2 * sites, venv.observation_space.shape[0])
    actions = np.stack([venv.action_space.sample() for _ in range(venv.num_envs)])
    obs, rewards, dones, infos = venv.step(actions)
    assert rewards.shape == (2 * sites,) and np.all(rewards <= 0) and not dones.any()


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    from echelon.agents.rllib_model import quiet_ray

    quiet_ray()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rllib_trains_shared_and_per_site_modules_one_iteration(scenario, local_ray):
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.tune.registry import register_env

    from echelon.training.modes import module_name
    from echelon.training.rllib import ENV_NAME, _ppo_config_class, make_rllib_env

    register_env(ENV_NAME, make_rllib_env)
    env_config = {"scenario": scenario, "action": "target", "view": "learner", "reward_scale": "auto",
                  "clip_actions": True, "periods": 10}
    agents = list(echelon.load_scenario(scenario).site_names)
    per_site = [module_name(a) for a in agents]
    for modules, mapping in ((["shared"], lambda aid, *a, **k: "shared"),
                             (per_site, lambda aid, *a, **k: module_name(aid))):
        algo = (_ppo_config_class()()
                .environment(ENV_NAME, env_config=env_config)
                .multi_agent(policies=modules, policy_mapping_fn=mapping)
                .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={m: RLModuleSpec() for m in modules}))
                .env_runners(num_env_runners=0, num_envs_per_env_runner=2)
                .training(train_batch_size_per_learner=40, minibatch_size=20, num_epochs=1)
                .build_algo())
        result = algo.train()
        sampled = result["env_runners"]["num_agent_steps_sampled"]
        assert sum(sampled.values()) >= 40 * len(agents)
        assert set(result["learners"]) >= set(modules)
        algo.stop()
