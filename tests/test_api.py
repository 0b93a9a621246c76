"""API conformance: PettingZoo, Gymnasium and Stable-Baselines3 checkers on every scenario."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from conftest import SMALL_SCENARIOS
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from echelon import envs

SCENARIOS = SMALL_SCENARIOS


pytestmark = pytest.mark.usefixtures("quiet_warnings")


def test_builtin_scenarios_present():
    assert {"beer_game", "textbook_serial", "distribution", "lost_sales"} <= set(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("observation", ["local", "shared", "global", "pipeline"])
@pytest.mark.parametrize("action", ["discrete", "continuous", "demand_plus", "target"])
def test_parallel_api(scenario, observation, action):
    parallel_api_test(envs.parallel_env(scenario=scenario, observation=observation, action=action), num_cycles=60)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_aec_api_and_seeds(scenario):
    api_test(envs.env(scenario=scenario), num_cycles=60)
    parallel_seed_test(lambda: envs.parallel_env(scenario=scenario))
    seed_test(lambda: envs.env(scenario=scenario))


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("action", ["discrete", "continuous", "demand_plus", "target"])
def test_central_env_checkers(scenario, action):
    env = gymnasium.make("echelon/Central-v0", scenario=scenario, action=action)
    check_env(env.unwrapped)
    sb3_check_env(envs.CentralSupplyChainEnv(scenario=scenario, action=action))


@pytest.mark.parametrize(("env_id", "scenario", "periods", "steps"), [
    ("echelon/Central-v0", "beer_game", None, 36), ("echelon/Central-v0", "beer_game", 20, 20),
    ("echelon/Central-v0", "textbook_serial", None, 100), ("echelon/Hybrid-v0", "distribution", 7, 2),
    ("echelon/Hybrid-v0", "distribution", 8, 2),  # (a step is a review of 4 periods, the last one shorter)
])
def test_the_spec_gives_the_scenarios_episode_length(env_id, scenario, periods, steps):
    """``env.spec.max_episode_steps`` is the episode length of the scenario made (what SB3 and RLlib read), and the
    env truncates there itself: no TimeLimit wrapper is added."""
    env = gymnasium.make(env_id, scenario=scenario, **({"periods": periods} if periods else {}))
    assert env.spec.max_episode_steps == steps
    assert "TimeLimit" not in repr(env)
    env.reset(seed=0)
    for t in range(1, steps + 1):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated and truncated == (t == steps)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("target", ["continuous", "discrete"])
def test_hybrid_env_checker(scenario, target):
    check_env(gymnasium.make("echelon/Hybrid-v0", scenario=scenario, target=target).unwrapped)


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render_modes(mode):
    env = envs.parallel_env(scenario="distribution", render_mode=mode)
    env.reset(seed=0)
    env.step({a: 3 for a in env.agents})
    out = env.render()
    if mode == "ansi":
        assert "north" in out and "period 1/100" in out
    else:
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert (out != 255).any()
    central = envs.CentralSupplyChainEnv(scenario="beer_game", render_mode=mode)
    central.reset(seed=1)
    assert central.render() is not None


def test_episode_length_and_truncation():
    env = envs.parallel_env(scenario="beer_game")
    env.reset(seed=0)
    steps = 0
    while env.agents:
        _, _, terms, truncs, _ = env.step({a: 4 for a in env.agents})
        steps += 1
    assert steps == 36 and all(truncs.values()) and not any(terms.values())


def test_reward_modes():
    actions = {"retailer": 3, "wholesaler": 9, "distributor": 0, "factory": 5}
    out = {}
    for mode in ("decentralized", "cooperative", 0.25):
        env = envs.parallel_env(scenario="beer_game", reward=mode)
        env.reset(seed=3)
        _, rewards, _, _, infos = env.step(actions)
        out[mode] = (rewards, {a: i["cost"] for a, i in infos.items()})
    own = out["decentralized"][1]
    team = sum(own.values())
    for a in actions:
        assert out["decentralized"][0][a] == pytest.approx(-own[a])
        assert out["cooperative"][0][a] == pytest.approx(-team)
        assert out[0.25][0][a] == pytest.approx(-(0.75 * own[a] + 0.25 * team))


def test_demand_plus_orders_incoming_plus_adjustment():
    env = envs.parallel_env(scenario="beer_game", action="demand_plus", max_adjust=2)
    env.reset(seed=0)
    # steady state: every site's incoming order is 4; action 4 means +2 -> orders 6
    env.step({a: 4 for a in env.agents})
    np.testing.assert_allclose(env.sim.state.last_order[0], [6, 6, 6, 6])
    incoming = env.sim.state.incoming[0].copy()  # orders received in period 1
    env.step({a: 0 for a in env.agents})  # action 0 means -2
    np.testing.assert_allclose(env.sim.state.last_order[0], np.maximum(incoming - 2, 0))


def test_target_action_orders_up_to_the_level():
    """beer_game start (board-game timing): the retailer, wholesaler and distributor each hold 12 with an
    order of 4 in transmission (order delay 2: one slot at a period's end) and 4 + 4 in transit (L = 2),
    so IP = 24; the factory's production request takes one week (no slot), so its IP = 12 + 8 = 20.

    Targets 30, 0, 24, 26: the retailer orders 6; the wholesaler's position counts the 6 only after two
    periods of order delay, so with target 0 it orders nothing; the distributor orders 0 and the factory 6.
    """
    env = envs.parallel_env(scenario="beer_game", action="target")
    env.reset(seed=0)
    # targets 0..120: three times the mean demand (8) over lead time, order delay and review (2 + 2 + 1)
    assert env.action_space("retailer").n == 121
    env.step({"retailer": 30, "wholesaler": 0, "distributor": 24, "factory": 26})
    np.testing.assert_array_equal(env.sim.state.last_order[0], [6, 0, 0, 6])


@pytest.mark.parametrize("level", ["local", "shared", "global", "pipeline"])
def test_env_and_learner_observations_share_one_definition(level):
    """The PettingZoo env's observation and the trainer's learner view come from one builder: the learner's
    is the env's divided by the mean demand through the site, with the site's one-hot and the time left."""
    from echelon.agents.learner_view import LearnerView

    env = envs.parallel_env(scenario="distribution", observation=level)
    env.reset(seed=3)
    for _ in range(4):
        env.step({a: 5 for a in env.agents})
    scen = env.scenario
    view = LearnerView(scen, scen.site_names, observation=level)
    learned = view.observe(env.sim.state).reshape(len(scen.sites), -1)
    n = len(scen.sites)
    for i, agent in enumerate(env.possible_agents):
        raw = env._observations()[agent]
        scale = np.array([scen.mean_demand_through(s) for s in scen.site_names], dtype=np.float32)
        own = n * 8 if level == "global" else 8
        feature_scale = np.tile(scale, (8, 1)).T.ravel() if level == "global" else np.full(8, scale[i])
        np.testing.assert_allclose(learned[i, :own], raw[:own] / feature_scale, rtol=1e-6)
        np.testing.assert_array_equal(learned[i, own:own + n], np.eye(n)[i])
        assert learned[i, own + n] == pytest.approx(1 - 4 / scen.periods)
        if level == "pipeline":  # the env shows the same pipeline, unscaled
            np.testing.assert_allclose(learned[i, own + n + 1:], raw[8:] / scale[i], rtol=1e-6)
        assert env.observation_space(agent).contains(raw)


def test_the_env_classes_summary_tables_say_what_the_envs_do():
    """``help()`` on each env class shows PettingZoo's summary table; its beer-game and distribution figures
    are the envs' own."""
    import echelon
    from echelon.envs.hybrid_marl import HybridControlEnv

    par = echelon.envs.parallel.SupplyChainEnv
    shapes = {obs: echelon.parallel_env(scenario="beer_game", observation=obs).observation_space("retailer").shape
              for obs in ("local", "shared", "global", "pipeline")}
    assert shapes == {"local": (8,), "shared": (9,), "global": (36,), "pipeline": (11,)}
    assert "(beer game: 36 and 11)" in par.__doc__ and "``Discrete(33)``" in par.__doc__
    assert str(echelon.parallel_env(scenario="beer_game").action_space("retailer")) == "Discrete(33)"
    central = echelon.CentralSupplyChainEnv(scenario="beer_game")
    assert list(central.action_space.nvec) == [33] * 4 and central.observation_space.shape == (32,)
    assert "(beer game: 4 x 33)" in echelon.CentralSupplyChainEnv.__doc__
    hybrid = echelon.HybridSupplyChainEnv(scenario="beer_game")
    assert hybrid.action_space.shape == (4,) and hybrid.observation_space.shape == (32,)
    marl = HybridControlEnv(scenario="distribution")
    assert marl.possible_agents == ["planner", "north", "south", "east", "west", "dc"]
    assert marl.observation_space("planner").shape == (41,) and marl.observation_space("dc").shape == (9,)
    assert str(marl.action_space("dc")) == "Discrete(5)"
    assert "(distribution: 41, 9)" in HybridControlEnv.__doc__
