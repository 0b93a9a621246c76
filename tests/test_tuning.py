"""Every control structure at its best (agents.tuning) and the hybrid that contains the others.

Hand-worked orders of the hybrid; the theory check of the delayed planner (Clark–Scarf with a longer
lead time, priced by ``echelon optimal`` on a chain written out by hand); the hybrid's special cases
cost exactly what the structures they stand for cost; and a cell where the tuned hybrid is strictly
cheaper than both.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from echelon.agents.control import Centralized, Hybrid, Local
from echelon.agents.tuning import band_patterns, tune_centralized, tune_hybrid, tune_local
from echelon.cli import main
from echelon.envs.information import AdvanceDemand, CentralView, Information
from echelon.envs.scenario import load_scenario
from echelon.evaluation.metrics import Estimate
from echelon.evaluation.rollout import rollout


def with_info(name: str, delay: int, notice: int = 0, lift: float = 0.0):
    advance = AdvanceDemand(notice, 0.2, lift) if lift else None
    return dataclasses.replace(load_scenario(name), information=Information(advance, CentralView(delay, 0.0, 1)))


def test_the_hybrid_by_hand(first_orders):
    """One site, L = 1, demand 5 every period, 10 on hand, data 2 periods old; the centre's echelon level
    10, the site's own level 8, band 2.

    End of period 0: both plan 0 (position 10). End of 1: the centre still sees period 0 (10, its plans
    since 0): 0; the site sees 5 and wants 3, moves the plan by at most 2: 2. End of 2: the centre 0 again,
    the site (2 on hand) wants 6: 2. End of 3: the centre sees period 1 (5) plus its plans since (0, 0):
    5; the site (backlog 1) wants 9, the most it may order is 5 + 2: 7. End of 4: the centre sees period 2
    (2) plus its plans (0, 5): 3; the site (1 on hand) wants 7: 3 + 2 = 5.
    """
    scen = load_scenario({
        "periods": 6, "information": {"central": {"delay": 2}},
        "sites": [{"name": "shop", "lead_time": 1, "holding_cost": 1, "backlog_cost": 3, "initial_inventory": 10}],
        "demand": {"shop": {"kind": "step", "before": 5, "after": 5, "at": 0}},
    })

    def orders(policy) -> list[float]:
        return first_orders(policy, scen, 5)

    assert orders(Hybrid(scen, levels=[10], local_levels=[8], band=2)) == [0, 2, 2, 7, 5]
    assert orders(Hybrid(scen, levels=[10], local_levels=[8], band=0)) == orders(Centralized(scen, levels=[10]))
    assert orders(Hybrid(scen, levels=[10], local_levels=[8], band="inf")) == orders(Local(scen, levels=[8]))


def test_the_hybrids_special_cases_are_the_other_structures():
    """Band 0 everywhere costs what centralized control costs, an unlimited band what decentralized costs,
    episode by episode, on a network with stale data and local news."""
    scen = with_info("distribution", delay=2, notice=3, lift=1.0)
    central, local = [31, 41, 27, 51, 240], [17, 23, 15, 28, 100]

    def cost(policy) -> np.ndarray:
        return rollout(policy, scen, 40, 3).cost.sum(axis=(0, 2))

    np.testing.assert_array_equal(cost(Hybrid(scen, levels=central, local_levels=local, band=0)),
                                  cost(Centralized(scen, levels=central)))
    np.testing.assert_array_equal(cost(Hybrid(scen, levels=central, local_levels=local, band=float("inf"))),
                                  cost(Local(scen, levels=local)))
    mixed = cost(Hybrid(scen, levels=central, local_levels=local, band=[np.inf] * 4 + [0]))
    assert not np.array_equal(mixed, cost(Local(scen, levels=local)))


def test_band_patterns_hold_both_special_cases():
    """Per echelon: 0, 1 x mean demand through the site, or unlimited; 3 x 3 on the distribution network
    (stores, DC), 27 on the three-stage chain."""
    bands = band_patterns(load_scenario("distribution"))
    assert bands.shape == (9, 5)
    assert (bands == 0).all(axis=1).any() and np.isinf(bands).all(axis=1).any()
    # one row has the stores at 1 x their mean demand (6, 8, 5, 10) and the DC at 0
    assert any(np.array_equal(row, [6, 8, 5, 10, 0]) for row in bands)
    assert band_patterns(load_scenario("textbook_serial")).shape == (27, 3)


@pytest.mark.slow
@pytest.mark.parametrize("delay", [1, 2, 4])
def test_the_delayed_planner_is_clark_scarf_with_a_longer_lead_time(delay, tmp_path, capsys):
    """Snyder & Shen's chain (retailer L1 = 1) with the planner's data d periods old: its tuned cost equals
    the Clark–Scarf optimum of the same chain with retailer lead time 1 + d, priced by ``echelon optimal``
    on a file written out here, less the d extra periods of pipeline holding that chain pays at the
    wholesaler's rate (4 x mean 5 x d). The exact levels simulated agree within the 95% interval; the
    searched ones within it and 0.5%."""
    spec = yaml.safe_load(open(load_scenario("textbook_serial").source))
    spec["sites"][0]["lead_time"] = 1 + delay
    spec["name"] = "longer"
    path = tmp_path / "longer.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["optimal", str(path), "--json"]) == 0
    exact = json.loads(capsys.readouterr().out)
    expected = exact["expected_cost"] - 4 * 5 * delay
    scen = with_info("textbook_serial", delay).with_periods(200)
    tuned = tune_centralized(scen, 200, 0)
    assert tuned.exact_cost == pytest.approx(expected, rel=1e-9)

    def measured(policy) -> Estimate:
        return Estimate.of(rollout(policy, scen, 1000, 7).cost.sum(axis=2)[40:].mean(axis=0))

    at_exact = measured(Centralized(scen, levels=exact["echelon_levels"]))
    assert abs(at_exact.mean - expected) < at_exact.half_width
    searched = measured(tuned.policy)
    assert abs(searched.mean - expected) < searched.half_width + 0.005 * expected


@pytest.mark.slow
def test_a_cell_where_the_tuned_hybrid_is_strictly_cheaper():
    """Snyder & Shen's chain, the planner's data 1 period old, the retailer's extra demand (twice its mean,
    in a fifth of the periods) known 3 periods ahead. Decentralized: the upstream sites never hear the
    news. Centralized: the news reaches the planner, but the retailer's position it sees is stale. The
    tuned hybrid lets the retailer order on its own real-time position (unlimited band) and has the
    upstream sites follow the centre's plan (band 0): cheaper than both, the paired 95% interval
    excluding zero."""
    scen = with_info("textbook_serial", delay=1, notice=3, lift=2.0)
    central = tune_centralized(scen, 200, 0).policy
    local = tune_local(scen, 200, 0, central.levels).policy
    hybrid = tune_hybrid(scen, central, local, 200, 0).policy
    assert np.isinf(hybrid.band[0]) and (hybrid.band[1:] == 0).all()

    def cost(policy) -> np.ndarray:
        return rollout(policy, scen, 300, 11).cost.sum(axis=2)[20:].mean(axis=0)

    h = cost(hybrid)
    for other in (central, local):
        gap = Estimate.of(cost(other) - h)
        assert gap.mean - gap.half_width > 0.005 * h.mean()


def test_the_standard_safety_stock_by_hand():
    """One 95% cycle-service target everywhere on Snyder & Shen's chain (normal(5, 1) demand, lead times 1, 1,
    2): the retailer's echelon covers 1 period, 5 + 1.645 x 1 = 6.645; the wholesaler's 2 periods,
    10 + 1.645 x sqrt(2) = 12.326; the factory's 4, 20 + 1.645 x 2 = 23.290. With the planner's data 2
    periods old each covers 2 more: 15 + 1.645 x sqrt(3) = 17.849 at the retailer. On Poisson demand the
    variance is the mean: the distribution network's north store (mean 6, L 2) 12 + 1.645 x sqrt(12) = 17.70,
    rounded to 18."""
    from echelon.agents.tuning import standard_levels

    np.testing.assert_allclose(standard_levels(load_scenario("textbook_serial")), [6.645, 12.326, 23.290], atol=2e-3)
    assert standard_levels(with_info("textbook_serial", delay=2))[0] == pytest.approx(17.849, abs=2e-3)
    assert standard_levels(load_scenario("distribution"))[0] == 18


@pytest.mark.slow
def test_a_large_network_is_searched_coarse_then_fine():
    """Above 12 sites (a planner's own network: here 20 sites and a bottleneck) the levels are searched as one
    safety factor per echelon first, then freely from there; the coarse search is the second method, and
    the kept levels are the cheaper of the two on fresh episodes."""
    from echelon.agents.tuning import FREE_STARTS_MAX_SITES
    from echelon.evaluation.rollout import rollout

    scen = load_scenario(Path(__file__).resolve().parent.parent / "echelon" / "configs" / "data" / "my_network.yaml")
    scen = scen.with_periods(40)
    assert len(scen.sites) > FREE_STARTS_MAX_SITES
    tuned = tune_centralized(scen, 30, 0)
    assert tuned.method.startswith("one safety factor per echelon, then a free compass search")
    assert tuned.check_method in ("one safety factor per echelon", "the free search")

    def cost(policy) -> float:
        return float(rollout(policy, scen, 60, 9).cost.sum(axis=2)[10:].mean())

    assert cost(tuned.policy) <= cost(tuned.check) * 1.005


def test_theory_is_the_check_only_where_it_applies():
    """Clark–Scarf prices real-time decentralized control on the chain only for sites that follow their rule
    exactly, and the delayed planner only with exact records, every-period reviews and no advance news."""
    from echelon.agents.tuning import exact_centralized, exact_local
    from echelon.envs.information import LocalSkill

    chain = with_info("textbook_serial", delay=1)
    assert exact_local(chain) is not None and exact_centralized(chain) is not None
    clumsy = dataclasses.replace(chain, information=dataclasses.replace(chain.information, local=LocalSkill(0.7)))
    assert exact_local(clumsy) is None and exact_centralized(clumsy) is not None  # the planner's orders are exact
    noisy = dataclasses.replace(chain, information=dataclasses.replace(
        chain.information, central=CentralView(1, 0.1, 1)))
    assert exact_centralized(noisy) is None
    assert exact_centralized(with_info("textbook_serial", delay=1, notice=2, lift=1.0)) is None
    assert exact_local(load_scenario("distribution")) is None
