"""Evolution strategies (agents.es, training.es) and the level action forms they drive.

Hand-worked numbers for the forms and the estimator, invariants for the trainer: a constant
``echelon_target`` action plays exactly like the echelon base-stock heuristic (an independent
implementation), a short run lowers the cost, the same seed gives the same weights, and a resumed run
ends where the uninterrupted one does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from echelon.agents.es import ESModel, Network
from echelon.agents.learned import LearnedPolicy
from echelon.agents.learner_view import LearnerView, combined_orders
from echelon.agents.registry import make_policy
from echelon.envs.actions import cover_periods, default_max_target, make_action_form
from echelon.envs.errors import ActionError, ConfigError
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator
from echelon.evaluation.rollout import rollout
from echelon.training.config import load_train_config
from echelon.training.es_optim import centred_ranks, es_gradient
from echelon.training.run_folder import start_run
from echelon.training.trainers import make_trainer

TEXTBOOK = load_scenario("textbook_serial")


def small_config(**changes):
    raw = {"name": "es_t", "scenario": "textbook_serial", "mode": "shared", "algo": "es",
           "action": "continuous_target", "observation": "local", "n_timesteps": 8 * 2 * 4 * 4 * 3 * 100,
           "eval_freq": 2 * 4 * 4 * 3 * 100 * 2, "eval_episodes": 8, "checkpoint_freq": 10**9,
           "hyperparams": {"pairs": 4, "episodes": 4, "sigma": 0.01, "learning_rate": 0.05, "net_arch": []}}
    raw.update(changes)
    return load_train_config(raw, where="test")


# --------------------------------------------------------------------------- action forms

def started(scenario=TEXTBOOK) -> Simulator:
    sim = Simulator(scenario, batch=1)
    sim.reset(np.random.default_rng(0))
    return sim


def test_cover_periods_by_hand():
    # textbook_serial: L = 1, 1, 2, no order delays: a level covers L + 1 periods; echelons add those below
    assert cover_periods(TEXTBOOK).tolist() == [2.0, 2.0, 3.0]
    assert cover_periods(TEXTBOOK, echelon=True).tolist() == [2.0, 4.0, 7.0]
    # 3 x mean demand 5 x periods
    assert default_max_target(TEXTBOOK, echelon=True).tolist() == [30.0, 60.0, 105.0]


def test_continuous_target_orders_up_to_a_real_level():
    form, sim = make_action_form("continuous_target", TEXTBOOK), started()
    # start: retailer IP = 7 on hand, wholesaler 6, factory 6 + 5 in its pipeline = 11; a site's position
    # counts the order its customer places this period (envs.ordering.sequential_orders):
    # retailer 9.25 - 7 = 2.25; wholesaler 6.5 - (6 - 2.25) = 2.75; factory 11 - (11 - 2.75) = 2.75
    orders = form.to_orders(np.array([[9.25, 6.5, 11.0]]), sim.state, sim.params)
    assert orders.tolist() == [[2.25, 2.75, 2.75]]
    with pytest.raises(ActionError, match="action of 'retailer': must be in \\[0, 30\\]"):
        form.to_orders(np.array([[31.0, 0.0, 0.0]]), sim.state, sim.params)


def test_echelon_target_orders_up_to_the_echelon_position():
    form, sim = make_action_form("echelon_target", TEXTBOOK), started()
    # echelon positions: retailer 7, wholesaler 7 + 6 = 13, factory 13 + 6 + 5 = 24
    orders = form.to_orders(np.array([[10.0, 13.0, 30.0]]), sim.state, sim.params)
    assert orders.tolist() == [[3.0, 0.0, 6.0]]
    with pytest.raises(ActionError, match="whole number in 0..105"):
        form.to_orders(np.array([[1.0, 1.0, 106.0]]), sim.state, sim.params)


def test_constant_echelon_targets_play_like_the_echelon_heuristic():
    scenario = load_scenario("beer_game")
    heuristic = make_policy({"policy": "echelon_base_stock", "levels": [32, 48, 64, 72]}, scenario)
    view = LearnerView(scenario, scenario.site_names, "echelon_target", "global", joint=True)
    sim = started(scenario)
    total = 0.0
    while not sim.done:
        orders = combined_orders([(view, np.array([[32.0, 48.0, 64.0, 72.0]]))], None, sim.state, sim.params)
        assert np.array_equal(orders, heuristic.act(sim.state))
        total += sim.step(orders).cost.sum()
    assert total / sim.periods == pytest.approx(3.5)  # the best echelon levels' cost (echelon optimal beer_game)


# --------------------------------------------------------------------------- the estimator

def test_network_forward_by_hand():
    net = Network([2, 1])
    theta = np.array([[2.0, -1.0, 0.5]])  # y = 2 x1 - x2 + 0.5
    assert net.forward(theta, np.array([[[1.0, 3.0]]]))[0, 0, 0] == pytest.approx(-0.5)
    hidden = Network([1, 1, 1])
    theta = np.array([[1.0, 0.0, 2.0, 1.0]])  # y = 2 tanh(x) + 1
    assert hidden.forward(theta, np.array([[[0.5]]]))[0, 0, 0] == pytest.approx(2 * np.tanh(0.5) + 1)


def test_centred_ranks():
    assert centred_ranks(np.array([3.0, 1.0, 2.0])).tolist() == [0.5, -0.5, 0.0]


def test_antithetic_estimate_points_uphill():
    rng = np.random.default_rng(0)
    centre, theta, sigma = np.array([1.0, -2.0, 0.5]), np.zeros(3), 0.1
    noise = rng.standard_normal((64, 3))

    def cost(x: np.ndarray) -> np.ndarray:
        return ((x - centre) ** 2).sum(axis=1)

    grad = es_gradient(noise, cost(theta + sigma * noise), cost(theta - sigma * noise), sigma)
    true = 2 * (theta - centre)
    assert grad @ true / (np.linalg.norm(grad) * np.linalg.norm(true)) > 0.9


# --------------------------------------------------------------------------- the trainer

def train(config, out: Path):
    trainer = make_trainer(config, out)
    out.mkdir(parents=True)
    start_run(config, out)
    return trainer, trainer.train(config.n_timesteps)


def test_short_run_learns_and_repeats(tmp_path):
    config = small_config()
    trainer, last = train(config, tmp_path / "a")
    first = trainer.state.history[0]["cost"]
    assert trainer.state.best_cost < first  # cost of the first evaluation, after 2 iterations
    again, _ = train(small_config(), tmp_path / "b")
    assert np.array_equal(again.model.theta, trainer.model.theta)
    # the run folder's best model is a policy like any other
    policy = LearnedPolicy(TEXTBOOK, run=str(tmp_path / "a"))
    cost = rollout(policy, TEXTBOOK, config.eval_episodes, 10_000).cost.sum(axis=2).mean()
    assert cost == pytest.approx(trainer.state.best_cost)


@pytest.mark.slow
def test_the_capacitated_lost_sales_chain_is_learned_ahead_of_base_stock(tmp_path):
    """es_lost_sales_capacitated cut to 100 iterations (a sixth of its budget, under half a CPU-minute):
    on 500 fresh episodes the learned orders cost less than the best echelon base-stock policy, with the
    paired 95% interval below zero (about -2%; the full config: -2.4%)."""
    from echelon.experiments.scoreboard import paired_test

    config = load_train_config("es_lost_sales_capacitated")
    config.n_timesteps = 100 * 2 * 16 * 32 * 2 * 100
    trainer, _ = train(config, tmp_path / "run")
    diff = paired_test(tmp_path / "run", trainer.scenario, trainer.reference_policy, config.seed, 500)
    assert diff.mean + diff.half_width < 0, diff
    assert diff.mean < -0.01 * trainer.state.reference_cost, diff


def test_a_single_site_learner_is_scored_against_its_best_response_to_the_co_players(tmp_path):
    """es_beer_game_dqn: the retailer among the DQN paper's base-stock players (8, 8, 0, 0). Its reference
    is its own best base-stock level among them, the published 8 (tests/test_response.py), so the
    reference cost is that all-base-stock team's on the trainer's held-out episodes; a short run of the
    shipped config, cut to 100 iterations (a third), comes within 2% of it."""
    config = load_train_config("es_beer_game_dqn")
    config.n_timesteps, config.eval_freq = 100 * 2 * 16 * 16 * 100, 50 * 2 * 16 * 16 * 100
    trainer, _ = train(config, tmp_path / "run")
    assert trainer.reference_policy.level == 8
    assert trainer.reference_label == "best base-stock response at retailer"
    team = make_policy({"policy": "base_stock", "levels": [8, 8, 0, 0]}, trainer.scenario)
    assert trainer.state.reference_cost == pytest.approx(trainer.evaluate(team)["cost"])
    assert trainer.state.best_cost < 1.02 * trainer.state.reference_cost


@pytest.mark.parametrize("changes", [
    {"scenario": "beer_game", "mode": "central", "action": "echelon_target"},
    {"scenario": "beer_game_dqn", "mode": "single_site", "site": "wholesaler", "action": "target",
     "others": {"policy": "base_stock", "levels": [8, 8, 0, 0]}},
])
def test_a_warm_start_plays_the_reference_policy_exactly(tmp_path, changes):
    """warm_start: reference sets the output biases to the reference's levels (the best echelon levels; a
    single site's best response) with every weight zero, so before any step the network is that policy
    (whole levels here: a whole-number form rounds real ones)."""
    hyper = {"pairs": 4, "episodes": 4, "sigma": 0.01, "learning_rate": 0.05, "warm_start": "reference"}
    trainer = make_trainer(small_config(**changes, hyperparams=hyper), tmp_path / "run")
    assert trainer.evaluate(trainer.policy())["cost"] == trainer.state.reference_cost
    (tmp_path / "run").mkdir()
    start_run(trainer.config, tmp_path / "run")
    trainer.train(trainer.config.n_timesteps)  # the start is evaluated and kept unless a later model beats it
    assert trainer.state.history[0]["timesteps"] == 0
    assert trainer.state.best_cost <= trainer.state.reference_cost
    cold = make_trainer(small_config(**changes, hyperparams={**hyper, "warm_start": "none"}), tmp_path / "cold")
    assert cold.evaluate(cold.policy())["cost"] != cold.state.reference_cost


def test_resume_ends_where_the_uninterrupted_run_does(tmp_path):
    config = small_config()
    straight, _ = train(config, tmp_path / "straight")
    half = small_config(n_timesteps=config.n_timesteps // 2)
    first, _ = train(half, tmp_path / "halves")
    resumed = make_trainer(small_config(), tmp_path / "halves", resume=True)
    resumed.config.n_timesteps = config.n_timesteps  # the schedules see the whole run, as in the straight one
    resumed.train(config.n_timesteps)
    assert np.array_equal(resumed.model.theta, straight.model.theta)


def test_model_file_checks(tmp_path):
    view = LearnerView(TEXTBOOK, TEXTBOOK.site_names, "continuous_target", "local")
    with pytest.raises(ConfigError, match="model file not found"):
        ESModel.load(tmp_path / "none.npz", view)
    (tmp_path / "bad.npz").write_text("not numpy")
    with pytest.raises(ConfigError, match="not an ES model file"):
        ESModel.load(tmp_path / "bad.npz", view)
    other = LearnerView(TEXTBOOK, TEXTBOOK.site_names, "continuous_target", "shared")
    (tmp_path / "m.npz").write_bytes(ESModel(other, [4]).to_bytes())
    with pytest.raises(ConfigError, match="expects observations of 13 features, this scenario gives 12"):
        ESModel.load(tmp_path / "m.npz", view)


@pytest.mark.parametrize(("changes", "message"), [
    ({"action": "demand_plus"}, "algo es sets levels or quantities: action must be one of"),
    ({"mode": "independent"}, "algo es trains one model: mode must be one of shared, central, single_site"),
    ({"normalize": True}, "algo es reads the scaled observations as they are: normalize must be false"),
    ({"hyperparams": {"sigma": "fast"}}, "hyperparams: sigma: must be a number > 0 or lin_"),
    ({"hyperparams": {"pairs": 0}}, "hyperparams: pairs: must be >= 1"),
    ({"hyperparams": {"n_steps": 10}}, "ES has no argument 'n_steps'"),
    ({"hyperparams": {"net_arch": "big"}}, "hyperparams: net_arch"),
    ({"hyperparams": {"warm_start": "reference"}}, "warm_start: reference starts at base-stock levels, so it needs"),
    ({"hyperparams": {"warm_start": "heuristic"}}, "hyperparams: warm_start"),
])
def test_bad_es_configs(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", "\\(").replace("[", "\\[")):
        small_config(**changes)
