"""The site operators of the core (envs.network) on a hand-worked tree, dense and sparse alike, and the
simulator on a network large enough for the sparse ones, against the dense products."""

from __future__ import annotations

import numpy as np
import pytest

from echelon.envs.network import SiteGraph

# 0 -> 2, 1 -> 2, 2 -> 4, 3 -> 4; 4 and 5 are supplied from outside (suppliers listed after customers)
SUPPLIER = [2, 2, 4, 4, -1, -1]
X = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])


def graph(dense: bool, priority=(0, 1, 2, 3, 4, 5)) -> SiteGraph:
    g = SiteGraph(np.array(SUPPLIER), list(priority))
    g.dense = dense
    return g


@pytest.mark.parametrize("dense", [True, False])
def test_the_operations_on_a_hand_worked_tree(dense):
    g = graph(dense)
    outside = np.array([[0, 0, 0, 0, np.inf, np.inf]])
    np.testing.assert_array_equal(g.of_supplier(X, outside), [[3, 3, 5, 5, np.inf, np.inf]])
    np.testing.assert_array_equal(g.to_suppliers(X), [[0, 0, 1 + 2, 0, 3 + 4, 0]])
    np.testing.assert_array_equal(g.group_total(X), [[3, 3, 7, 7, 5, 6]])
    np.testing.assert_array_equal(g.before(X), [[0, 1, 0, 3, 0, 0]])  # site 1 waits for site 0, 3 for 2
    np.testing.assert_array_equal(g.echelon(X), [[1, 2, 1 + 2 + 3, 4, 1 + 2 + 3 + 4 + 5, 6]])


@pytest.mark.parametrize("dense", [True, False])
def test_priority_decides_who_is_served_first(dense):
    g = graph(dense, priority=(1, 0, 2, 3, 4, 5))  # site 1 before site 0
    np.testing.assert_array_equal(g.before(X), [[2, 0, 0, 3, 0, 0]])


def test_a_batch_of_copies_is_summed_copy_by_copy():
    g = graph(False)
    x = np.vstack([X[0], 10 * X[0]])
    np.testing.assert_array_equal(g.echelon(x)[1], 10 * g.echelon(X)[0])
    np.testing.assert_array_equal(g.to_suppliers(x)[1], 10 * g.to_suppliers(X)[0])


def _tree(n_dc: int, stores_per_dc: int) -> dict:
    """A plant, ``n_dc`` DCs, ``stores_per_dc`` stores each; Poisson demand at the stores."""
    sites, demand = [], {}
    for d in range(n_dc):
        for k in range(stores_per_dc):
            name = f"store{d}_{k}"
            sites.append({"name": name, "supplier": f"dc{d}", "lead_time": 1 + k % 2, "holding_cost": 2,
                          "backlog_cost": 20, "initial_inventory": 6, "priority": (k * 7) % stores_per_dc})
            demand[name] = {"kind": "poisson", "mean": 3}
    sites += [{"name": f"dc{d}", "supplier": "plant", "lead_time": 2, "holding_cost": 1, "initial_inventory": 30}
              for d in range(n_dc)]
    sites.append({"name": "plant", "lead_time": 3, "holding_cost": 0.5, "initial_inventory": 100})
    return {"name": "tree", "periods": 30, "sites": sites, "demand": demand}


@pytest.mark.parametrize("allocation", ["proportional", "priority"])
def test_the_sparse_operators_run_the_simulator_as_the_dense_products_do(allocation):
    """57 sites (above the dense threshold): the same costs, flows and echelon positions either way."""
    from echelon.envs.positions import echelon_inventory_position
    from echelon.envs.simulator import Simulator

    spec = _tree(n_dc=4, stores_per_dc=13) | {"allocation": allocation}
    runs = []
    for dense in (True, False):
        sim = Simulator(spec, batch=8)
        assert not sim.params.graph.dense
        sim.params.graph.dense = dense
        sim.reset(np.random.default_rng(3))
        rng = np.random.default_rng(5)
        costs, positions = [], []
        while not sim.done:
            flows = sim.step(rng.integers(0, 12, size=(8, sim.n_sites)).astype(float))
            costs.append(flows.cost)
            positions.append(echelon_inventory_position(sim.state, sim.params))
        runs.append((np.array(costs), np.array(positions)))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("policy", [{"policy": "base_stock", "levels": [12.0] * 57},
                                    {"policy": "forecast_base_stock"}])
def test_installation_policies_order_the_same_level_by_level(policy):
    """Sites decide by height (customers first) with the sparse operators as with the dense products,
    on a capacitated 57-site network where the DCs' positions count their stores' orders."""
    from echelon.agents.registry import make_policy
    from echelon.envs.simulator import Simulator

    spec = _tree(n_dc=4, stores_per_dc=13)
    for site in spec["sites"][:20]:
        site["capacity"] = 5
    runs = []
    for dense in (True, False):
        sim = Simulator(spec, batch=4)
        sim.params.graph.dense = dense
        rule = make_policy(policy, sim.scenario)
        rule.reset(4, np.random.default_rng(0))
        sim.reset(np.random.default_rng(1))
        orders = []
        while not sim.done:
            q = rule.act(sim.state)
            orders.append(q)
            sim.step(q)
        runs.append(np.array(orders))
    assert runs[0].sum() > 0
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12, atol=1e-9)


def test_a_bad_blas_thread_count_is_a_one_line_error(monkeypatch):
    from echelon.envs.errors import ConfigError
    from echelon.envs.network import pin_blas

    for text, fragment in (("many", "expected a whole number"), ("-1", "must be >= 0")):
        monkeypatch.setenv("ECHELON_BLAS_THREADS", text)
        pin_blas.cache_clear()
        with pytest.raises(ConfigError, match=fragment):
            pin_blas()
    monkeypatch.setenv("ECHELON_BLAS_THREADS", "0")  # 0 leaves BLAS alone
    pin_blas.cache_clear()
    assert pin_blas() == 0
    pin_blas.cache_clear()
