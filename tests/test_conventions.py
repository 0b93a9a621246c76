"""What MARL clients expect of an env: PettingZoo's and Gymnasium's conventions, one space for every agent,
clipping, the trainer's view, reward scale, and no env kept alive after use."""

from __future__ import annotations

import gc
import weakref

import gymnasium
import numpy as np
import pytest
from conftest import SMALL_SCENARIOS

from echelon import envs

ACTIONS = ("discrete", "continuous", "demand_plus", "target")


def test_max_cycles_is_the_horizon_and_pettingzoo_checks_it():
    from pettingzoo.test import max_cycles_test

    env = envs.parallel_env(scenario="textbook_serial", max_cycles=7)
    env.reset(seed=0)
    steps = 0
    while env.agents:
        env.step({a: 1 for a in env.agents})
        steps += 1
    assert steps == 7
    env.max_cycles = 3  # parallel_api_test assigns the attribute; the horizon stays
    env.reset(seed=0)
    assert env.sim.periods == 7

    class Module:  # max_cycles_test takes a module with parallel_env and env factories
        parallel_env = staticmethod(envs.parallel_env)
        env = staticmethod(envs.env)

    max_cycles_test(Module)


def test_human_rendering_prints_and_render_ignores_a_mode_argument(capsys):
    env = envs.parallel_env(scenario="beer_game", render_mode="human")
    env.reset(seed=0)
    env.step({a: 4 for a in env.agents})
    out = capsys.readouterr().out
    assert out.count("beer_game  period") == 2 and "period 1/" in out
    assert env.render("rgb_array") is None  # the mode argument is ignored: human prints and returns None
    picture = envs.parallel_env(scenario="beer_game", render_mode="rgb_array")
    picture.reset(seed=0)
    assert picture.render(mode="ansi").ndim == 3
    central = gymnasium.make("echelon/Central-v0", scenario="beer_game", render_mode="human")
    central.reset(seed=0)
    assert "period 0/" in capsys.readouterr().out


@pytest.mark.parametrize("factory", ["parallel", "hybrid", "central"])
def test_reset_infos_have_the_step_infos_keys(factory):
    if factory == "central":
        env = envs.CentralSupplyChainEnv(scenario="distribution")
        _, info = env.reset(seed=1)
        _, _, _, _, step_info = env.step(env.action_space.sample())
        assert set(info) == set(step_info) and info["site_costs"] == dict.fromkeys(env.sim.params.names, 0.0)
        return
    make = envs.parallel_env if factory == "parallel" else envs.hybrid_parallel_env
    env = make(scenario="distribution")
    _, infos = env.reset(seed=1)
    *_, step_infos = env.step({a: env.action_space(a).sample() for a in env.agents})
    assert {a: set(i) for a, i in infos.items()} == {a: set(i) for a, i in step_infos.items()}


@pytest.mark.parametrize("make", [
    lambda: envs.parallel_env(scenario="distribution"), lambda: envs.env(scenario="beer_game"),
    lambda: envs.hybrid_parallel_env(scenario="distribution"),
    lambda: envs.CentralSupplyChainEnv(scenario="distribution"),
])
def test_no_env_survives_del_and_gc(make):
    refs = []
    for _ in range(20):
        env = make()
        env.reset(seed=0)
        spaces_of = env.observation_space
        if callable(spaces_of):
            for agent in env.possible_agents:
                env.observation_space(agent), env.action_space(agent)
        refs.append(weakref.ref(env))
        del env, spaces_of
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


@pytest.mark.parametrize("scenario", SMALL_SCENARIOS)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_agent_has_one_space_by_default(scenario, action):
    env = envs.parallel_env(scenario=scenario, action=action)
    first = env.possible_agents[0]
    assert all(env.action_space(a) == env.action_space(first) for a in env.possible_agents)
    assert all(env.observation_space(a) == env.observation_space(first) for a in env.possible_agents)
    assert env.action_space(env.possible_agents[0]) is env.action_space(env.possible_agents[0])  # built once


def test_uniform_spaces_cap_an_action_at_the_sites_own_bound():
    """distribution, discrete: the default bound is 4 x mean demand through the site: north 24 (mean 6), the
    dc 4 x 29 = 116; every agent's space is Discrete(117), and north's 100 orders 24."""
    env = envs.parallel_env(scenario="distribution")
    assert env.action_space("north") == env.action_space("dc") == gymnasium.spaces.Discrete(117)
    env.reset(seed=0)
    env.step({a: 100 for a in env.agents})
    orders = dict(zip(env.possible_agents, env.sim.state.last_order[0], strict=True))
    assert orders["north"] == 24 and orders["south"] == 32 and orders["dc"] == 100
    own = envs.parallel_env(scenario="distribution", uniform_spaces=False)
    assert own.action_space("north") == gymnasium.spaces.Discrete(25)
    own.reset(seed=0)
    with pytest.raises(envs.ActionError, match="north"):
        own.step({a: 100 for a in own.agents})


def test_clip_actions_pulls_actions_into_their_space():
    env = envs.parallel_env(scenario="textbook_serial", action="continuous", clip_actions=True,
                            uniform_spaces=False)
    env.reset(seed=0)
    high = {a: env.action_space(a).high[0] for a in env.agents}
    env.step({"retailer": np.array([-3.0]), "wholesaler": np.array([1e9]), "factory": np.array([2.5])})
    orders = env.sim.state.last_order[0]
    assert orders.tolist() == [0.0, pytest.approx(high["wholesaler"]), 2.5]
    with pytest.raises(envs.ActionError, match="finite"):
        env.step({"retailer": np.nan, "wholesaler": 1.0, "factory": 1.0})
    strict = envs.parallel_env(scenario="textbook_serial", action="continuous")
    strict.reset(seed=0)
    with pytest.raises(envs.ActionError, match="retailer"):
        strict.step({"retailer": -3.0, "wholesaler": 1.0, "factory": 1.0})
    discrete = envs.parallel_env(scenario="beer_game", clip_actions=True)
    discrete.reset(seed=0)
    discrete.step({"retailer": 2.6, "wholesaler": -1, "distributor": 999, "factory": 4})
    assert discrete.sim.state.last_order[0, :3].tolist()[0] in (3.0,)  # rounded (board game: it is placed now)


def test_learner_view_is_what_the_trainer_sees():
    from echelon.agents.learner_view import LearnerView

    env = envs.parallel_env(scenario="distribution", observation="pipeline", view="learner")
    observations, _ = env.reset(seed=2)
    for _ in range(3):
        observations, *_ = env.step({a: 5 for a in env.agents})
    scen = env.scenario
    view = LearnerView(scen, scen.site_names, observation="pipeline")
    learned = view.observe(env.sim.state).reshape(len(scen.sites), -1)
    for i, agent in enumerate(env.possible_agents):
        np.testing.assert_array_equal(observations[agent], learned[i])
        assert env.observation_space(agent).contains(observations[agent])


def test_reward_scale_auto_divides_by_a_periods_typical_holding_cost():
    """textbook_serial: h' = 7, 4, 2 and mean demand 5 through every site: 35 + 20 + 10 = 65."""
    raw = envs.parallel_env(scenario="textbook_serial")
    scaled = envs.parallel_env(scenario="textbook_serial", reward_scale="auto")
    halved = envs.parallel_env(scenario="textbook_serial", reward_scale=2)
    for env in (raw, scaled, halved):
        env.reset(seed=4)
    actions = {"retailer": 5, "wholesaler": 5, "factory": 5}
    (_, r, *_, i), (_, s, *_, j), (_, h, *_) = (env.step(actions) for env in (raw, scaled, halved))
    assert s["retailer"] == pytest.approx(r["retailer"] / 65) and h["factory"] == pytest.approx(r["factory"] / 2)
    assert i == j  # the costs in infos are never scaled
