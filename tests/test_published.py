"""Published beer games reproduced exactly: Sterman (1989) and Oroojlooyjadid et al. (2022).

Expected numbers are worked by hand from the sources' rules, or come from an
independent re-implementation of the source's own code (the DQN beer game's
``clBeergame.next``/``handelAction`` event order), never from Echelon's core.
"""

from __future__ import annotations

import numpy as np
import pytest

from echelon.agents.registry import make_policy
from echelon.envs.simulator import Episode, Simulator

# --------------------------------------------------------------------------- Sterman (1989)

# Everyone passes orders through (orders what came in). Worked by hand from Sterman's rules:
# each week a site receives the shipment of two weeks ago, fills the order mailed two weeks ago
# (one week for the factory's production request) from stock including the receipt, then orders.
# Week: on hand (retailer, wholesaler, distributor, factory), retailer's backlog, what each
# site's supplier owes it at the week's end.
STERMAN_PASS_THROUGH = {
    5: ([8, 12, 12, 12], 0, [0, 0, 0, 0]),   # customers order 8: the retailer sells 8 of 16
    6: ([4, 12, 12, 12], 0, [0, 0, 0, 0]),   # it receives 4 (ordered in week 3), sells 8
    7: ([0, 8, 12, 12], 0, [0, 0, 0, 0]),    # the wholesaler fills the retailer's week-5 order of 8
    8: ([0, 4, 12, 12], 4, [0, 0, 0, 0]),    # 4 in, 8 wanted: the first backlog
    9: ([0, 0, 8, 12], 4, [0, 0, 0, 0]),     # 8 in, 4 + 8 wanted; the wholesaler runs dry
    10: ([0, 0, 4, 12], 4, [4, 0, 0, 0]),    # the wholesaler ships 4 of the 8 it owes
    11: ([0, 0, 0, 8], 4, [4, 0, 0, 0]),
    12: ([0, 0, 0, 4], 8, [4, 4, 0, 0]),     # the shortage reaches the distributor
}


def test_sterman_pass_through_equilibrium_then_the_step():
    sim = Simulator("beer_game")
    policy = make_policy("pass_through", sim.scenario)
    sim.reset(np.random.default_rng(0))
    policy.reset(1, np.random.default_rng(0))
    for week in range(1, 13):
        orders = policy.act(sim.state)
        flows = sim.step(orders)
        s = sim.state
        if week <= 4:  # equilibrium: 12 everywhere, orders of 4, 12 x 0.50 = 6 a week each
            np.testing.assert_array_equal(s.on_hand[0], [12, 12, 12, 12])
            np.testing.assert_array_equal(orders[0], [4, 4, 4, 4])
            np.testing.assert_array_equal(flows.cost[0], [6, 6, 6, 6])
        else:
            on_hand, backlog, owed = STERMAN_PASS_THROUGH[week]
            np.testing.assert_array_equal(s.on_hand[0], on_hand, err_msg=f"week {week}")
            assert s.backlog[0, 0] == backlog, week
            np.testing.assert_array_equal(s.owed[0], owed, err_msg=f"week {week}")
    # week 12's costs: retailer 8 backlogged x 1.00; the wholesaler owes the retailer 4 and the distributor
    # owes the wholesaler 4, x 1.00 each; the factory holds 4 x 0.50
    np.testing.assert_array_equal(flows.cost[0], [8, 4, 4, 2])


# --------------------------------------------------------------------------- Oroojlooyjadid et al. (2022)

LEAD_ITEM = (2, 2, 2, 4)  # their config after fix_lead_time_manufacturer(): receipts of the manufacturer in 4
LEAD_ORDER = (2, 2, 2, 0)
HOLDING = (2.0, 2.0, 2.0, 2.0)
BACKORDER = (2.0, 0.0, 0.0, 0.0)


def dqn_reference(demand: np.ndarray, decide) -> tuple[np.ndarray, np.ndarray]:
    """The DQN beer game's period, re-implemented from OptMLGroup/DeepBeerInventory-RL (clBeergame.py).

    Per period t: the retailer's arriving order is the customer demand; every agent decides
    (``handelAction``); the manufacturer's order is scheduled to arrive after 4; then from the
    manufacturer down (``next``): receive, ship min(stock + receipt, backorders + arriving
    order) with the receiving delay, subtract the arriving order from IL, charge
    c_h IL^+ + c_p IL^-. ``decide(t, IL, OO, AO_t)`` returns the four orders.
    Returns the costs and inventory levels, ``[T, 4]`` each.
    """
    horizon = len(demand)
    il, oo = np.zeros(4), np.zeros(4)
    arriving_shipment = np.zeros((4, horizon + 10))
    arriving_order = np.zeros((4, horizon + 10))
    costs, levels = [], []
    for t in range(horizon):
        arriving_order[0, t] += demand[t]
        orders = decide(t, il.copy(), oo.copy(), arriving_order[:, t].copy())
        for k in range(4):
            oo[k] += orders[k]
            if k < 3:
                arriving_order[k + 1, t + LEAD_ORDER[k]] += orders[k]
        arriving_shipment[3, t + LEAD_ITEM[3]] += orders[3]
        cost = np.zeros(4)
        for k in (3, 2, 1, 0):
            stock, backorder = max(0.0, il[k]), max(0.0, -il[k])
            il[k] += arriving_shipment[k, t]
            oo[k] -= arriving_shipment[k, t]
            ship = min(stock + arriving_shipment[k, t], backorder + arriving_order[k, t])
            if k > 0:
                arriving_shipment[k - 1, t + LEAD_ITEM[k - 1]] += ship
            il[k] -= arriving_order[k, t]
            cost[k] = BACKORDER[k] * max(0.0, -il[k]) + HOLDING[k] * max(0.0, il[k])
        costs.append(cost)
        levels.append(il.copy())
    return np.array(costs), np.array(levels)


def run_echelon(demand: np.ndarray, decide) -> tuple[np.ndarray, np.ndarray]:
    """The same game in Echelon: their period t is Echelon's period t + 1.

    Their agents decide before receiving, but with every order delay >= 1 a period's decisions
    cannot touch that period's receipts or fills, so deciding after them (at the end of Echelon's
    period t + 1) gives the same orders; before their period 0 nothing was ordered.
    ``decide(t, state)`` returns their period-t orders ``[1, 4]`` from Echelon's state.
    """
    horizon = len(demand)
    sim = Simulator("beer_game_dqn", periods=horizon)
    sim.reset(np.random.default_rng(0), Episode(demand.reshape(-1, 1, 1) * np.array([1.0, 0, 0, 0]), None))
    costs, levels = [], []
    for t in range(horizon):
        orders = np.zeros((1, 4)) if t == 0 else decide(t - 1, sim.state)
        flows = sim.step(orders)
        costs.append(flows.cost[0])
        levels.append(sim.state.on_hand[0] - sim.state.backlog[0] - sim.state.owed[0] @ sim.params.feeds)
    return np.array(costs), np.array(levels)


def test_dqn_beer_game_matches_the_reference_code_order_by_order():
    rng = np.random.default_rng(11)
    demand = rng.integers(0, 3, size=60).astype(float)
    plan = rng.integers(0, 5, size=(60, 4)).astype(float)
    ref_costs, ref_levels = dqn_reference(demand, lambda t, il, oo, ao: plan[t])
    costs, levels = run_echelon(demand, lambda t, state: plan[t][None, :])
    np.testing.assert_array_equal(levels, ref_levels)
    np.testing.assert_array_equal(costs, ref_costs)


def test_dqn_base_stock_8_8_0_0_matches_the_reference_code():
    """Their base-stock player orders max(0, S - (IL + OO - AO_t)); Echelon's base_stock is the same rule."""
    levels = np.array([8.0, 8.0, 0.0, 0.0])
    demand = np.random.default_rng(3).integers(0, 3, size=80).astype(float)
    ref_costs, _ = dqn_reference(demand, lambda t, il, oo, ao: np.maximum(levels - (il + oo - ao), 0.0))
    policy = make_policy({"policy": "base_stock", "levels": levels.tolist()}, Simulator("beer_game_dqn").scenario)
    costs, _ = run_echelon(demand, lambda t, state: policy.act(state))
    np.testing.assert_array_equal(costs, ref_costs)


def newsvendor_cost(levels: int, periods: int, holding: float, backorder: float) -> float:
    """h E[(S - D_T)^+] + b E[(D_T - S)^+] for D_T the sum of T draws uniform on {0, 1, 2}, exactly."""
    pmf = np.array([1.0])
    for _ in range(periods):
        pmf = np.convolve(pmf, np.full(3, 1 / 3))
    d = np.arange(len(pmf))
    return float((pmf * (holding * np.maximum(levels - d, 0) + backorder * np.maximum(d - levels, 0))).sum())


@pytest.mark.slow
@pytest.mark.parametrize("levels", [[16, 0, 0, 0], [8, 8, 0, 0]])
def test_dqn_steady_state_is_one_newsvendor_over_16_periods(levels):
    """With the upstream levels 0 the upstream sites pass orders on and hold nothing, so the chain is one
    newsvendor over its total lead time T = 4 lanes x (order delay 2 + shipping 2) = 16 periods: an order
    placed at the end of period t is on hand in period t + 16 and must cover demand t + 1 .. t + 16. With
    h = b = 2 the best level is the median of D_16, 16, and the cost 2 E|D_16 - 16| = 5.1919 per period.
    Their published levels (8, 8, 0, 0) keep 8 at the wholesaler instead and cost the same."""
    expected = newsvendor_cost(16, 16, 2.0, 2.0)
    assert expected == pytest.approx(5.19193, abs=1e-5)
    episodes, warmup = 2000, 30  # the first 16 periods fill the empty chain
    sim = Simulator("beer_game_dqn", batch=episodes)
    policy = make_policy({"policy": "base_stock", "levels": levels}, sim.scenario)
    rng = np.random.default_rng(2024)
    sim.reset(rng)
    policy.reset(episodes, rng)
    per_episode = np.zeros(episodes)
    upstream = 0.0
    while not sim.done:
        flows = sim.step(policy.act(sim.state))
        if sim.period > warmup:
            per_episode += flows.cost.sum(axis=1)
            upstream += flows.cost[:, 2:].sum()
    per_episode /= sim.periods - warmup
    half = 1.96 * per_episode.std(ddof=1) / np.sqrt(episodes)
    assert abs(per_episode.mean() - expected) < half
    assert upstream == 0.0  # the distributor and the manufacturer never hold stock
