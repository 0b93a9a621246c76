"""Selfish sites aligned by linear transfer payments (Cachon & Zipkin 1999, agents.contract)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from echelon.agents.contract import align, max_margin
from echelon.agents.nash import Game, nash_levels
from echelon.cli import main
from echelon.envs.scenario import load_scenario


def test_max_margin_solves_hand_worked_programmes():
    """max m with x >= m and 2 - x >= m: x = 1, m = 1. Two prices, max min(x1 + x2, x1 - x2 + 1, 3 - 2 x1):
    for any x1 the best x2 makes the first two equal, x2 = 1/2; then x1 + 1/2 = 3 - 2 x1 gives x1 = 5/6 and
    m = 4/3."""
    x, m = max_margin(np.array([[1.0], [-1.0]]), np.array([0.0, 2.0]), bound=10.0)
    assert x == pytest.approx([1.0]) and m == pytest.approx(1.0)
    x, m = max_margin(np.array([[1.0, 1.0], [1.0, -1.0], [-2.0, 0.0]]), np.array([0.0, 1.0, 3.0]), bound=10.0)
    assert x == pytest.approx([5 / 6, 1 / 2]) and m == pytest.approx(4 / 3)
    # a price the constraints do not bound sits at the smallest payment: zero
    x, m = max_margin(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([0.0, 2.0]), bound=10.0)
    assert x == pytest.approx([1.0, 0.0]) and m == pytest.approx(1.0)


def test_payments_move_money_between_sites_and_never_change_the_team_cost():
    """Budget balance: under any prices the sites' own costs add up to the team's cost, period by period."""
    from echelon.agents.contract import Contract

    scen = load_scenario("distribution")
    game = Game(scen, "echelon", share=0.3, episodes=20, seed=3)
    rng = np.random.default_rng(0)
    contract = Contract(*(rng.uniform(-5, 5, game.n) * (game.supplier >= 0) for _ in range(3)))
    levels = np.array([[17.0, 23, 15, 28, 171], [10, 10, 10, 10, 40]])
    own = game.own(levels, contract.weights(game))
    np.testing.assert_allclose(own.sum(axis=2), game.search.per_episode(levels), rtol=1e-12)
    assert not np.allclose(own, game.own(levels))  # the payments do move money


def test_a_larger_supplier_share_of_backorders_makes_the_selfish_supplier_hold_more():
    """Cachon & Zipkin (1999): the supplier's selfish level rises with its share 1 - alpha of the consumer
    backorder cost; with alpha = 1 it holds nothing locally."""
    scen = load_scenario("two_stage")
    levels = [nash_levels(scen, share=share, episodes=120, seed=2).levels[1] for share in (1.0, 0.7, 0.3)]
    assert levels[0] == 0 and levels[0] < levels[1] < levels[2]


@pytest.mark.parametrize("tracking", ["local", "echelon"])
@pytest.mark.parametrize("share", [1.0, 0.5])
def test_payments_make_the_team_optimum_the_selfish_equilibrium(tracking, share):
    """In both of Cachon & Zipkin's games: the selfish equilibrium differs from the team optimum; under the
    computed linear payments best responses from the selfish equilibrium end at the team levels, where no
    site gains by moving one unit (fresh episodes, beyond the 95% interval)."""
    game = Game(load_scenario("two_stage"), tracking, share, episodes=150, seed=4)
    result = align(game)
    assert not np.array_equal(result.selfish_levels, result.team_levels)
    assert result.competition_penalty > 1
    assert result.found and result.reaches_team_optimum
    assert result.aligned_cost == pytest.approx(result.team_cost)
    for site, (gain, half) in result.deviations.items():
        assert gain <= half, site
    if share < 1:  # the retailer takes its supplier's share of the consumer backorder cost back
        assert result.contract.backorder[0] == pytest.approx((1 - share) * 10)


@pytest.mark.slow
def test_aligned_payments_on_a_distribution_network():
    """The local game on the distribution network: one price per unit the DC owes a store aligns all five."""
    game = Game(load_scenario("distribution"), "local", 1.0, episodes=60, seed=5)
    result = align(game)
    assert result.found and result.reaches_team_optimum
    late = result.contract.late[game.supplier >= 0]
    assert np.all(late == late[0]) and late[0] > 0


@pytest.mark.parametrize("argv, needle", [
    (["nash", "two_stage", "--share", "1.5"], "--share: must be in [0, 1]"),
    (["nash", "two_stage", "--tracking", "installation"], "--tracking: invalid choice"),
    (["nash", "nowhere"], "unknown scenario 'nowhere'"),
    (["nash", "two_stage", "--episodes", "1"], "--episodes: must be >= 2"),
])
def test_nash_command_bad_input(argv, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and needle in err


def test_nash_command_prints_the_penalty_and_the_payments(capsys):
    assert main(["nash", "two_stage", "--share", "0.5", "--episodes", "100"]) == 0
    out = capsys.readouterr().out
    assert "competition penalty" in out and "retailer pays supplier 5.000 per unit of its customer backlog" in out
    assert "end at the team optimum" in out


def test_a_weak_selfish_equilibrium_is_reported_as_weak(capsys):
    """The echelon game with the retailer bearing all its backorder cost: at the selfish levels (7, 7) the
    supplier's level caps the chain, so the retailer's own level changes nothing: a one-unit move gains it
    exactly 0 on every episode. The equilibrium is weak, and the command says so beside the convention."""
    assert main(["nash", "two_stage", "--tracking", "echelon", "--share", "1", "--episodes", "100", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["selfish_levels"] == {"retailer": 7.0, "supplier": 7.0}
    assert result["weak_equilibrium"] and result["selfish_deviations"]["retailer"] == {
        "gain": 0.0, "ci95": 0.0, "weak": True, "unresolved": False}
    assert result["selfish_deviations"]["supplier"]["gain"] < 0 and not result["selfish_deviations"]["supplier"]["weak"]
    assert main(["nash", "two_stage", "--tracking", "echelon", "--share", "1", "--episodes", "100"]) == 0
    out = capsys.readouterr().out
    assert "the selfish equilibrium is weak: retailer is indifferent" in out and "convention: each site" in out
