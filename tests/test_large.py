"""The built-in planner network (1 plant, 5 DCs, 200 stores, 20 products, 2 bottlenecks, a year)."""

from __future__ import annotations

import numpy as np

from echelon.envs.generated import planner_network_yaml
from echelon.envs.scenario import SCENARIO_DIR, load_scenario


def test_the_committed_file_is_the_generators_output():
    assert (SCENARIO_DIR / "planner_network.yaml").read_text(encoding="utf-8") == planner_network_yaml()


def test_its_size_and_bottlenecks_are_as_documented():
    scen = load_scenario("planner_network")
    sites = {scen.node(i)[0] for i in range(len(scen.sites))}
    assert len(sites) == 206 and len(scen.products) == 20 and scen.periods == 365
    # 200 stores x 15 products + 150 stores x 5, the DCs' 5 x 15 + 3 x 5, the plant's 20
    assert len(scen.sites) == 3000 + 750 + 75 + 15 + 20
    assert [c.name for c in scen.capacities] == ["production-line", "dc-1-dock"]
    assert len(scen.capacities[0].sites) == 20 and len(scen.capacities[1].sites) == 20
    # production line: 110% of mean daily demand (product k sells 6 x 0.85^(k-1) per store)
    means = [round(6.0 * 0.85**k, 2) for k in range(20)]
    total = sum(m * 200 for m in means[:15]) + sum(m * 150 for m in means[15:])
    assert scen.capacities[0].limit == round(1.1 * total)


def test_a_heuristic_runs_on_it_with_bottleneck_figures():
    from echelon.agents.registry import make_policy
    from echelon.evaluation.metrics import measure

    scen = load_scenario("planner_network").with_periods(30)
    m, first = measure(make_policy("forecast_base_stock", scen), scen, 3, 0)
    assert np.isfinite(m.cost.mean) and set(m.bottlenecks) == {"production-line", "dc-1-dock"}
    assert all(0 < b.utilisation <= 1 + 1e-9 for b in m.bottlenecks.values())
