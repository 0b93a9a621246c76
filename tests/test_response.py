"""One site's best base-stock response to fixed co-players (agents.response): the reference of a
single-site learner."""

from __future__ import annotations

import numpy as np
import pytest

from echelon.agents.registry import make_policy
from echelon.agents.response import SiteBaseStock, best_site_response
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.evaluation.rollout import rollout

# a store (lead time 2, so tau = 2: an order placed at the end of period t is on hand at the start of
# t + 2 and must cover the demand of t + 1 and t + 2) fed by a DC; demand is 4 every period
STORE_AND_DC = {"periods": 30, "demand": {"store": {"kind": "uniform", "low": 4, "high": 4}}, "sites": [
    {"name": "store", "supplier": "dc", "lead_time": 2, "holding_cost": 1, "backlog_cost": 9},
    {"name": "dc", "supplier": None, "lead_time": 1, "holding_cost": 0.5}]}


@pytest.mark.parametrize(("scenario", "levels"), [("textbook_serial", [9, 6, 11]), ("beer_game_dqn", [8, 8, 0, 0])])
def test_a_site_at_its_co_players_level_plays_exactly_as_they_do(scenario, levels):
    """Base-stock at site k with the level the base-stock co-players would give it is that team."""
    scen = load_scenario(scenario)
    team = make_policy({"policy": "base_stock", "levels": levels}, scen)
    for k in range(len(levels)):
        mixed = SiteBaseStock(scen, k, levels[k], make_policy({"policy": "base_stock", "levels": levels}, scen))
        a, b = rollout(team, scen, 5, seed=3), rollout(mixed, scen, 5, seed=3)
        np.testing.assert_array_equal(a.cost, b.cost)


def test_with_a_dc_that_always_has_stock_the_store_covers_its_lead_time_demand():
    """Deterministic demand 4 and tau = 2: S = 2 x 4 = 8 leaves nothing on hand and nothing owed at the
    end of every period once started; a unit less is a unit owed (p = 9), a unit more a unit held (h = 1)."""
    scen = load_scenario(STORE_AND_DC)
    dc = make_policy({"policy": "base_stock", "levels": [0, 20]}, scen)
    best = best_site_response(scen, 0, dc, episodes=2)
    assert best.level == 8
    cost = {s: rollout(SiteBaseStock(scen, 0, s, dc), scen, 2, seed=0).cost.sum(axis=2).mean() for s in (7, 8, 9)}
    assert cost[8] < cost[7] and cost[8] < cost[9]


@pytest.mark.parametrize(("site", "published"), list(enumerate([8, 8, 0, 0])))
def test_among_the_dqn_papers_base_stock_players_each_site_answers_with_its_published_level(site, published):
    """Oroojlooyjadid et al. (2022) play their basic beer game with base-stock co-players at (8, 8, 0, 0),
    the optimal levels: no site lowers the team's cost by moving its own level (tests/test_optimal.py
    derives the levels from Clark–Scarf)."""
    scen = load_scenario("beer_game_dqn")
    others = make_policy({"policy": "base_stock", "levels": [8, 8, 0, 0]}, scen)
    assert best_site_response(scen, site, others).level == published


def test_against_sterman_players_base_stock_answers_their_bullwhip():
    """Among Sterman's anchoring-and-adjustment players (the classic beer game) the wholesaler's best
    base-stock level costs the team far less than a fourth Sterman player, and less than any level a
    unit either side of it on the same episodes."""
    scen = load_scenario("beer_game")
    sterman = make_policy("sterman", scen)
    best = best_site_response(scen, 1, sterman)
    team = rollout(sterman, scen, 2, seed=0).cost.sum(axis=2).mean()

    def cost(level: float) -> float:
        return rollout(SiteBaseStock(scen, 1, level, sterman), scen, 2, seed=0).cost.sum(axis=2).mean()

    assert cost(best.level) < 0.5 * team
    assert cost(best.level) <= min(cost(best.level - 1), cost(best.level + 1))


def test_the_registry_names_a_site_and_its_co_players():
    """``{policy: site_base_stock, level: optimal}`` is the best response; a level given is played as given."""
    scen = load_scenario("beer_game_dqn")
    spec = {"policy": "site_base_stock", "site": "distributor",
            "others": {"policy": "base_stock", "levels": [8, 8, 0, 0]}}
    assert make_policy({**spec, "level": "optimal"}, scen).level == 0
    given = make_policy({**spec, "level": 5}, scen)
    assert (given.site, given.level) == (2, 5)


@pytest.mark.parametrize(("change", "message"), [
    ({"site": "brewery"}, "b.yaml: policy 'site_base_stock': site must be one of retailer, wholesaler"),
    ({"site": "brewery", "level": "optimal"}, "b.yaml: policy 'site_base_stock': site must be one of"),
    ({"level": -1}, "level must be a number >= 0 or 'optimal' \\(got -1\\)"),
    ({"level": "high"}, "level must be a number >= 0 or 'optimal' \\(got 'high'\\)"),
    ({"others": "psychic"}, "policy 'site_base_stock': others: unknown policy 'psychic'"),
])
def test_a_bad_site_base_stock_spec_is_one_line(change, message):
    scen = load_scenario("beer_game")
    spec = {"policy": "site_base_stock", "site": "wholesaler", "level": 40, "others": "sterman", **change}
    with pytest.raises(ConfigError, match=message):
        make_policy(spec, scen, where="b.yaml")


def test_a_single_site_run_is_benchmarked_against_its_best_response(tmp_path):
    """``echelon evaluate`` on a single-site run lists the site's best base-stock response among the same
    co-players and measures every policy against it."""
    from echelon.evaluation.benchmark import learned_benchmark
    from echelon.training.config import load_train_config
    from echelon.training.run_folder import start_run
    from echelon.training.trainers import make_trainer

    config = load_train_config("es_beer_game_dqn")
    config.site, config.n_timesteps, config.eval_freq = "wholesaler", 2 * 2 * 16 * 16 * 100, 2 * 16 * 16 * 100
    trainer = make_trainer(config, tmp_path / "run")
    (tmp_path / "run").mkdir()
    start_run(config, tmp_path / "run")
    trainer.train(config.n_timesteps)
    bench = learned_benchmark(tmp_path / "run", episodes=4)
    assert bench.baseline == "best response at wholesaler"
    entry = next(p for p in bench.policies if p.label == bench.baseline)
    assert make_policy(entry.spec, load_scenario("beer_game_dqn")).level == 8
