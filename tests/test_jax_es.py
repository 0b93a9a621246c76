"""An ES population on the device costs what it costs on the NumPy core: the same weights on the same episodes
give the same per-member costs and observation statistics (shared and central models, level and quantity
actions, local, shared and global observations, hidden layers or none)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from echelon.agents.es import ESModel, population_cost
from echelon.agents.jax_es import check_device_view, device_population_cost
from echelon.agents.learner_view import LearnerView
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator, draw_episode

jax.config.update("jax_enable_x64", True)

CASES = [
    ("textbook_serial", "continuous_target", "local", False, []),
    ("textbook_serial", "target", "shared", False, [8]),
    ("distribution", "echelon_target", "local", True, [16]),
    ("beer_game", "discrete", "global", False, []),
    ("lost_sales_capacitated", "continuous", "local", True, [4, 4]),
]


@pytest.mark.parametrize(("name", "action", "observation", "joint", "hidden"), CASES)
def test_device_population_equals_the_numpy_population(name, action, observation, joint, hidden):
    scenario = load_scenario(name)
    view = LearnerView(scenario, scenario.site_names, action, observation, joint=joint)
    model = ESModel(view, hidden)
    rng = np.random.default_rng(1)
    model.theta = model.network.init(rng)
    thetas = model.theta + 0.05 * rng.standard_normal((6, model.network.dim))
    model.observe_stats(100.0, rng.random(view.observer.dim) * 100, rng.random(view.observer.dim) * 1e4 + 1e4)
    cpu = population_cost(model, thetas, 5, np.random.default_rng(9), scenario)
    episode = draw_episode(scenario, Simulator(scenario).params, np.random.default_rng(9), 5, scenario.periods)
    dev = device_population_cost(model, thetas, 5, None, scenario, np.float64, episode.demand, episode.lead_time)
    np.testing.assert_allclose(dev.cost, cpu.cost, rtol=1e-6)
    np.testing.assert_allclose(dev.obs_sum, cpu.obs_sum, rtol=1e-5)
    np.testing.assert_allclose(dev.obs_sumsq, cpu.obs_sumsq, rtol=1e-5)
    assert dev.timesteps == cpu.timesteps


def test_the_device_draws_its_own_episodes_from_the_key():
    scenario = load_scenario("textbook_serial")
    model = ESModel(LearnerView(scenario, scenario.site_names, "continuous_target"), [])
    thetas = np.zeros((4, model.network.dim))
    a = device_population_cost(model, thetas, 8, jax.random.key(0), scenario)
    b = device_population_cost(model, thetas, 8, jax.random.key(0), scenario)
    c = device_population_cost(model, thetas, 8, jax.random.key(1), scenario)
    assert (a.cost == b.cost).all() and (a.cost == a.cost[0]).all() and (a.cost != c.cost).all()


def test_views_the_device_cannot_play_are_one_line():
    scenario = load_scenario("textbook_serial")
    with pytest.raises(ConfigError, match="must control every site"):
        check_device_view(LearnerView(scenario, ["retailer"], "target"))
    with pytest.raises(ConfigError, match="observation pipeline is not on the device"):
        check_device_view(LearnerView(scenario, scenario.site_names, "target", "pipeline"))
