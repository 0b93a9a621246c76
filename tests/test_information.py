"""The information model: each role sees exactly what it may know, and the structures built on it.

Hand-worked cases, and leak checks: no site sees another site's advance demand; the planner's view at
period t is the true state of t - delay; observations do not share memory across agents; the central
env's infos do not show the current state when the planner's data lag.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from echelon import envs
from echelon.agents.control import Centralized
from echelon.agents.nash import nash_levels
from echelon.cli import main
from echelon.envs.errors import ConfigError
from echelon.envs.information import AdvanceDemand, CentralView, Information
from echelon.envs.observations import ObservationSpec, Observer
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator


def with_info(name: str, notice: int = 0, delay: int = 0, error: float = 0.0, review: int = 1):
    base = load_scenario(name)
    info = Information(AdvanceDemand(notice, 0.3, 1.0) if notice else None, CentralView(delay, error, review))
    return dataclasses.replace(base, information=info)


@pytest.mark.parametrize(("block", "needle"), [
    ({"advance_demand": {"notice": -1, "rate": 0.2, "lift": 1}}, "advance_demand: key 'notice' must be >= 0 (got -1)"),
    ({"advance_demand": {"notice": 1, "rate": 2, "lift": 1}}, "advance_demand: key 'rate' must be at most 1 (got 2)"),
    ({"advance_demand": {"notice": 1, "rate": 0.2, "lift": "big"}},
     "advance_demand: key 'lift' must be a number (got 'big')"),
    ({"advance_demand": {"notice": 1, "rate": 0.2}}, "missing key 'lift'"),
    ({"central": {"delay": -1}}, "central: key 'delay' must be >= 0 (got -1)"),
    ({"central": {"review_period": 0}}, "central: key 'review_period' must be >= 1 (got 0)"),
    ({"central": {"record_error": -0.1}}, "central: key 'record_error' must be >= 0 (got -0.1)"),
    ({"central": {"lag": 2}}, "unknown key 'lag'"),
    ({"local": {"skill": 1.5}}, "local: key 'skill' must be at most 1 (got 1.5)"),
    ({"local": {"skil": 0.5}}, "unknown key 'skil'"),
    ({"planner": {}}, "unknown key 'planner'"),
    ("lots", "key 'information' must be a mapping (got 'lots')"),
])
def test_bad_information_blocks_are_one_line_errors(block, needle, tmp_path, capsys):
    spec = {"periods": 10, "information": block,
            "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 2}],
            "demand": {"shop": {"kind": "poisson", "mean": 3}}}
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_scenario(spec)
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["show", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "information" in err


def drawn(scenario, seed: int):
    """The episode 3 copies of ``scenario`` draw at reset from ``seed``."""
    sim = Simulator(scenario, batch=3)
    sim.reset(np.random.default_rng(seed))
    return sim.episode


def test_advance_demand_is_drawn_with_the_episode_and_is_part_of_demand():
    runs = [drawn(with_info("distribution", notice=2), 5) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].extra, runs[1].extra)
    extra = runs[0].extra
    assert extra[:, :, -1].sum() == 0  # the DC faces no customers
    assert extra.sum() > 0 and (runs[0].demand >= extra).all()


def test_sites_see_their_own_advance_demand_and_no_one_elses():
    scen = with_info("distribution", notice=2)
    env = envs.parallel_env(scenario=scen, observation="local")
    observations, _ = env.reset(seed=11)
    extra = env.sim.episode.extra[:, 0, :]  # [T, S]
    for t in range(6):
        for i, agent in enumerate(env.possible_agents):
            seen = observations[agent][8:]
            np.testing.assert_array_equal(seen, extra[t:t + 2, i])  # its own extra demand of t + 1, t + 2
        assert not np.shares_memory(observations["north"], observations["south"])
        observations, *_ = env.step({a: 5 for a in env.agents})
    # another site's signal never shows: the DC (no customers) sees zeros while the warehouses get news
    assert extra[:, :4].sum() > 0


def test_the_planner_sees_the_state_delay_periods_ago():
    scen = with_info("textbook_serial", delay=2)
    central = envs.CentralSupplyChainEnv(scenario=scen, action="continuous")
    obs, _ = central.reset(seed=4)
    truth = Simulator(scen)
    truth.reset(np.random.default_rng(0), central.sim.episode)
    observer = Observer(scen, ObservationSpec.raw("local"), joint=True)
    states = [truth.state]
    for t in range(8):
        np.testing.assert_array_equal(obs, observer(states[max(t - 2, 0)])[0])
        orders = np.array([5.0, 5.0, 5.0])
        obs, _, _, _, info = central.step(orders)
        truth.step(orders[None, :])
        states.append(truth.state)
        assert "site_costs" not in info  # per-site costs would show today's state
    plain = envs.CentralSupplyChainEnv(scenario="textbook_serial", action="continuous")
    plain.reset(seed=4)
    assert "site_costs" in plain.step(np.array([5.0, 5.0, 5.0]))[4]


def test_record_error_on_the_planners_on_hand():
    scen = with_info("distribution", delay=1, error=0.2)
    sim = Simulator(scen, batch=2)
    sim.reset(np.random.default_rng(2))
    sim.step(np.full((2, 5), 4.0))
    sim.step(np.full((2, 5), 4.0))
    seen = sim.knowledge().planner
    before = sim.history.states[0]  # the state of period 1
    factor = np.maximum(1 + 0.2 * sim.episode.record_noise[1], 0)
    np.testing.assert_array_equal(seen.on_hand, np.rint(before.on_hand * factor))
    np.testing.assert_array_equal(seen.backlog, before.backlog)


def test_centralized_planner_counts_its_own_orders_by_hand():
    """One site, L = 1, demand 5 every period, 10 on hand, level 10, data 2 periods old.

    End of period 0: it sees period 0 (position 10), orders 0. End of 1: still period 0 (10) and its own
    order 0 since: orders 0. End of 2: the same: 0. End of 3: period 1 (position 5) plus its orders since
    (0, 0): orders 5. From then on it replaces demand, 5 a period. The inventory level: 5, 0, -5 in
    periods 1-3, then each period receives 5 and loses 5: -5. Its view is always two periods' demand
    (10) behind, so level 10 leaves it 5 short for good: with data that old, the level must cover the
    delay as well as the lead time (what the level search finds).
    """
    scen = load_scenario({
        "periods": 8, "information": {"central": {"delay": 2}},
        "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 3, "initial_inventory": 10}],
        "demand": {"shop": {"kind": "step", "before": 5, "after": 5, "at": 0}},
    })
    sim = Simulator(scen)
    policy = Centralized(scen, levels=[10])
    sim.reset(np.random.default_rng(0))
    policy.reset(1, np.random.default_rng(0))
    orders, on_hand = [], []
    for _ in range(6):
        q = policy.decide(sim.knowledge())
        orders.append(float(q[0, 0]))
        sim.step(q)
        on_hand.append(float(sim.state.on_hand[0, 0] - sim.state.backlog[0, 0]))
    assert orders == [0, 0, 0, 5, 5, 5]
    assert on_hand == [5, 0, -5, -5, -5, -5]


def test_the_planner_uses_the_news_that_covers_its_blind_window():
    """One site, L = 1, base demand 5 every period, level 20 (covering 2 + 1 periods of demand and 5 spare),
    data 2 periods old, extra demand known 3 periods ahead: 6 units in period 3 (index 2), nothing else.

    The planner hears of period 3's extra at the end of period 2 (the site heard at the end of period
    0, when its view is period 0's: 2 periods late), and it counts it from its view's period on: the blind
    window (periods 1-2, demand it has not seen yet) and the 1 period an order covers. End of period 2:
    it sees period 0 (position 20 after ordering 0; orders since 0, 0), known extra in periods 1..3 is
    6, so it orders 20 + 6 - 20 = 6: the extra demand is replaced before its view even shows it. Ignoring
    the blind window (counting only periods after its decision) it would order 0 then.
    """
    from echelon.envs.simulator import Episode

    scen = load_scenario({
        "periods": 6, "information": {"central": {"delay": 2},
                                      "advance_demand": {"notice": 3, "rate": 0.5, "lift": 1.0}},
        "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 3, "initial_inventory": 20}],
        "demand": {"shop": {"kind": "step", "before": 5, "after": 5, "at": 0}},
    })
    extra = np.zeros((6, 1, 1))
    extra[2] = 6.0
    episode = Episode(np.full((6, 1, 1), 5.0) + extra, None, extra, None)
    sim = Simulator(scen)
    sim.reset(np.random.default_rng(0), episode)
    policy = Centralized(scen, levels=[20])
    policy.reset(1, np.random.default_rng(0))
    orders, heard = [], []
    for _ in range(4):
        knowledge = sim.knowledge()
        heard.append(knowledge.planner_signals[0, 0].tolist())
        q = policy.decide(knowledge)
        orders.append(float(q[0, 0]))
        sim.step(q)
    assert heard == [[0, 0, 0], [0, 0, 0], [0, 0, 6], [0, 6, 0]]  # views of periods 0, 0, 0, 1
    # end of 0, 1: nothing heard, it sees period 0 (20) -> 0; end of 2: 20 + 6 - 20 -> 6; end of 3: it sees
    # period 1 (on hand 15 + nothing in transit) plus its orders since (0, 6) = 21, knows 6 in periods
    # 2..4 -> 20 + 6 - 21 = 5
    assert orders == [0, 0, 6, 5]


def test_a_sites_skill_by_hand(first_orders):
    """One site, L = 2, demand 5 every period, 10 on hand, level 15, skill 0.5: it counts half its stock on
    order and its target errs by (1 - 0.5) x 5 x Z. Z = 0, 0.6, -1.0 in periods 0, 1, 2.

    End of 0: nothing on order, target 15, position 10: orders 5. End of 1: 5 on hand, 5 on order
    (position 10), target 15 + 0.5 x 5 + 2.5 x 0.6 = 19: orders 9. End of 2: the 5 arrived and 5 sold,
    9 on order (position 14), target 15 + 4.5 - 2.5 = 17: orders 3. At skill 1 it orders 5 every period.
    """
    from echelon.agents.control import Local
    from echelon.envs.simulator import Episode

    spec = {"periods": 4, "information": {"local": {"skill": 0.5}},
            "sites": [{"name": "shop", "lead_time": 2, "holding_cost": 1, "backlog_cost": 3,
                       "initial_inventory": 10}],
            "demand": {"shop": {"kind": "step", "before": 5, "after": 5, "at": 0}}}
    errors = np.array([0.0, 0.6, -1.0, 0.0]).reshape(4, 1, 1)
    episode = Episode(np.full((4, 1, 1), 5.0), None, None, None, errors)

    def orders(scen) -> list[float]:
        return first_orders(Local(scen, levels=[15]), scen, 3, episode)

    assert orders(load_scenario(spec)) == [5, 9, 3]
    assert orders(load_scenario({**spec, "information": {}})) == [5, 5, 5]


def test_the_sites_errors_are_drawn_with_the_episode():
    """Same seed, same errors; skill 1 draws none (the demand stream is unchanged by the model)."""
    skilled = load_scenario({**_one_shop(), "information": {"local": {"skill": 0.6}}})
    runs = [drawn(skilled, 8) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].local_error, runs[1].local_error)
    assert runs[0].local_error.shape == (10, 3, 1)
    plain = drawn(load_scenario(_one_shop()), 8)
    assert plain.local_error is None
    np.testing.assert_array_equal(plain.demand, runs[0].demand)


def _one_shop() -> dict:
    return {"periods": 10, "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 2}],
            "demand": {"shop": {"kind": "poisson", "mean": 3}}}


def test_selfish_sites_hold_the_wrong_stock():
    """Cachon & Zipkin (1999): when the retailer bears all of the customers' backorder cost (their alpha = 1)
    the supplier's own cost has no shortage term, so at the equilibrium it holds less than the team would
    want and the retailer more; the team pays a competition penalty > 1, and no site gains by moving one
    unit either way (beyond simulation error)."""
    scen = load_scenario({
        "periods": 60, "pipeline_holding": True,
        "sites": [{"name": "retailer", "supplier": "supplier", "lead_time": 1, "holding_cost": 2, "backlog_cost": 10},
                  {"name": "supplier", "lead_time": 2, "holding_cost": 1}],
        "demand": {"retailer": {"kind": "poisson", "mean": 5}},
    })
    eq = nash_levels(scen, knowledge=False, episodes=150, seed=1)
    assert eq.levels[1] < eq.team_levels[1] and eq.levels[0] > eq.team_levels[0]
    assert eq.competition_penalty > 1.0
    for site, (gain, half) in eq.deviations.items():
        assert gain <= half, site


def hybrid_scenario():
    return with_info("distribution", notice=2, delay=2, review=3)


def test_hybrid_control_env_passes_the_pettingzoo_tests():
    from pettingzoo.test import parallel_api_test, parallel_seed_test

    parallel_api_test(envs.hybrid_parallel_env(scenario=hybrid_scenario(), max_adjust=3), num_cycles=40)
    parallel_seed_test(lambda: envs.hybrid_parallel_env(scenario=hybrid_scenario()))


def test_hybrid_control_env_roles_and_equivalence():
    """The planner sees the network two periods old and no site's costs; a site sees its own signals and
    target; and planner targets + site adjustments cost what the core's installation rule costs."""
    from echelon.envs.ordering import installation_base_stock

    scen = hybrid_scenario()
    env = envs.hybrid_parallel_env(scenario=scen, max_adjust=3)
    obs, _ = env.reset(seed=9)
    truth = Simulator(scen)
    truth.reset(np.random.default_rng(0), env.sim.episode)
    observer = Observer(scen, ObservationSpec.raw("local"), joint=True)
    states, total, expected = [truth.state], 0.0, 0.0
    targets = np.array([20.0, 25.0, 18.0, 30.0, 80.0])
    for t in range(9):
        np.testing.assert_array_equal(obs["planner"][:40], observer(states[max(t - 2, 0)])[0])
        assert obs["planner"][-1] == (-t) % 3
        extra = env.sim.episode.extra[t:t + 2, 0, 0]
        np.testing.assert_array_equal(obs["north"][8:10], extra)
        actions = {"planner": targets} | {s: 4 for s in env.sites}  # each site: +1 on the target
        obs, rewards, _, _, infos = env.step(actions)
        assert infos["planner"] == {}
        total -= rewards["planner"]
        expected += truth.step(installation_base_stock(truth.state, truth.params, targets[None] + 1)).cost.sum()
        states.append(truth.state)
    assert total == pytest.approx(expected)
    with pytest.raises(envs.ActionError, match="action of 'north': must be a whole number in 0..6"):
        env.step({"planner": targets} | {s: 9 for s in env.sites})
