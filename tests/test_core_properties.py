"""Invariants of the core over random networks, orders and demand (Hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echelon.envs.core import initial_state, step
from echelon.envs.params import CoreParams
from echelon.envs.positions import inventory_position
from echelon.envs.scenario import available_scenarios, load_scenario
from echelon.envs.simulator import Simulator

TOL = 1e-7


@st.composite
def networks(draw):
    """A random tree listed downstream first: each site's supplier comes later in the list."""
    n = draw(st.integers(1, 5))
    timing = draw(st.sampled_from(["clark_scarf", "board_game"]))
    sites = []
    for i in range(n):
        supplier = None if i == n - 1 else f"s{draw(st.integers(i + 1, n - 1))}"
        lead = draw(st.one_of(
            st.integers(1, 3),
            st.just({"values": [1, 2, 3], "probs": [0.3, 0.3, 0.4]}),
        ))
        site = {
            "name": f"s{i}", "supplier": supplier, "lead_time": lead,
            "order_delay": draw(st.integers(1 if timing == "board_game" and supplier else 0, 2)),
            "holding_cost": draw(st.floats(0, 5)),
            "initial_inventory": draw(st.integers(0, 20)),
            "initial_pipeline": draw(st.integers(0, 5)),
        }
        if draw(st.booleans()):
            site["unmet"] = "lost"
            site["lost_sales_cost"] = draw(st.floats(0, 10))
        else:
            site["backlog_cost"] = draw(st.floats(0, 10))
        if draw(st.booleans()):
            site["capacity"] = draw(st.integers(1, 15))
        sites.append(site)
    # sites that supply nobody face demand; others may too
    supplying = {s["supplier"] for s in sites if s["supplier"]}
    demand = {}
    for s in sites:
        if s["name"] not in supplying or draw(st.booleans()):
            demand[s["name"]] = draw(st.sampled_from([
                {"kind": "poisson", "mean": 4}, {"kind": "normal", "mean": 5, "std": 2},
                {"kind": "uniform", "low": 0, "high": 8},
            ]))
    capacities = []
    for k in range(draw(st.integers(0, 2))):  # bottlenecks over random groups of sites, maybe overlapping
        members = draw(st.lists(st.sampled_from([s["name"] for s in sites]), min_size=1, max_size=n, unique=True))
        capacities.append({"name": f"cap{k}", "sites": members, "limit": draw(st.integers(1, 20)),
                           "rule": draw(st.sampled_from(["proportional", "priority"]))})
        if draw(st.booleans()):
            capacities[-1] |= {"overtime": draw(st.integers(1, 5)), "overtime_cost": draw(st.floats(0, 3))}
    spec = {
        "periods": 30, "sites": sites, "demand": demand, "timing": timing,
        "allocation": draw(st.sampled_from(["proportional", "priority"])),
        "pipeline_holding": draw(st.booleans()), "capacities": capacities,
    }
    if draw(st.booleans()):  # products: every (site, product) a node; capacities over sites cover all products
        spec["products"] = [{"name": "p0"}]
        for k in range(1, draw(st.integers(1, 3))):
            stocked = set(draw(st.lists(st.sampled_from([s["name"] for s in sites]), min_size=1, unique=True)))
            for s in sites:  # a site's supplier stocks what it stocks (sites are listed downstream first)
                if s["name"] in stocked and s["supplier"]:
                    stocked.add(s["supplier"])
            spec["products"].append({"name": f"p{k}", "sites": sorted(stocked),
                                     "cost_scale": draw(st.sampled_from([0.5, 1.0, 2.0])),
                                     "demand": {"kind": "poisson", "mean": draw(st.integers(1, 6))}})
    return spec


def totals(state):
    return state.on_hand + sum(state.transit)


@settings(max_examples=60, deadline=None)
@given(spec=networks(), seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 4))
def test_units_conserved_and_nonnegative(spec, seed, batch):
    sim = Simulator(load_scenario(spec), batch=batch)
    p = sim.params
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    outside = p.supplier < 0
    for _ in range(sim.periods):
        before = sim.state
        orders = rng.integers(0, 12, size=(batch, p.n_sites)).astype(float)
        f = sim.step(orders)
        after = sim.state
        shipped_out = f.shipped @ p.feeds  # what each site shipped to its customers
        # per site: start + received = end + shipped to customers + sold
        np.testing.assert_allclose(
            before.on_hand + f.received, after.on_hand + shipped_out + f.sales, atol=TOL
        )
        # whole system: stock on hand and in transit changes by outside inflow - sales
        inflow = (f.shipped * outside).sum(axis=1)
        np.testing.assert_allclose(
            totals(before).sum(axis=1) + inflow, totals(after).sum(axis=1) + f.sales.sum(axis=1), atol=TOL
        )
        for name in ("on_hand", "backlog", "owed", "transit", "pending"):
            assert (np.asarray(getattr(after, name)) >= -TOL).all(), name
        for name in ("sales", "lost", "shipped", "received", "cost"):
            assert (getattr(f, name) >= -TOL).all(), name
        assert (after.backlog[:, p.lost[0] > 0] == 0).all()
        # what a supplier ships never exceeds what it had (board game: including this period's receipts)
        available = before.on_hand + (f.received if p.ship_after_arrivals else 0.0)
        assert (shipped_out <= available + TOL).all()
        # orders never exceed a site's own capacity or a bottleneck's limit, nor what was asked
        assert (f.orders <= np.minimum(orders, p.capacity) + TOL).all()
        for cap in p.shared:
            assert (f.orders[:, cap.sites].sum(axis=1) <= cap.limit + cap.overtime + TOL).all()


@settings(max_examples=60, deadline=None)
@given(spec=networks(), seed=st.integers(0, 2**32 - 1))
def test_inventory_position_recursion(spec, seed):
    """IP' = IP + q - incoming (+ lost, - cancelled): the position moves only by flows (Zipkin 2000, 3.2).

    The recursion is checked against the flows the step reports, never against the position's own
    definition; the position's level itself is hand-worked in ``test_api`` (beer game start: 24 and 20).
    """
    sim = Simulator(load_scenario(spec), batch=2)
    p = sim.params
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    for _ in range(sim.periods):
        before = inventory_position(sim.state, p)
        f = sim.step(rng.integers(0, 12, size=(2, p.n_sites)).astype(float))
        s = sim.state
        ip = inventory_position(s, p)
        # the inventory position rises by the order and falls by the demand on the site;
        # units a site (or its supplier) loses leave its position too
        np.testing.assert_allclose(
            ip, before + f.orders - s.incoming + f.lost * p.lost - f.cancelled, atol=1e-6
        )
        # only a lost-sales supplier cancels, and what it cancels counts in its lost units
        assert (f.cancelled[:, p.supplier_lost[0] == 0] == 0).all()
        assert (f.cancelled @ p.feeds <= f.lost * p.lost + TOL).all()


@settings(max_examples=25, deadline=None)
@given(spec=networks(), seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_trajectory(spec, seed):
    runs = []
    for _ in range(2):
        sim = Simulator(load_scenario(spec), batch=3)
        rng = np.random.default_rng(seed)
        sim.reset(rng)
        costs = []
        while not sim.done:
            orders = rng.integers(0, 10, size=(3, sim.n_sites)).astype(float)
            costs.append(sim.step(orders).cost)
        runs.append(np.array(costs))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_pure_step_does_not_touch_its_input():
    p = CoreParams.from_scenario(load_scenario("beer_game"))
    s = initial_state(p, 2)
    copies = {k: np.array(getattr(s, k)) for k in ("on_hand", "backlog", "owed", "transit", "pending")}
    step(s, np.full((2, 4), 9.0), np.full((2, 4), 3.0), p)
    for k, v in copies.items():
        np.testing.assert_array_equal(np.array(getattr(s, k)), v)


@settings(max_examples=30, deadline=None)
@given(spec=networks(), seed=st.integers(0, 2**32 - 1))
def test_fast_feature_map_equals_definitions(spec, seed):
    from echelon.envs.observations import FeatureMap, site_features

    sim = Simulator(load_scenario(spec), batch=3)
    rng = np.random.default_rng(seed)
    sim.reset(rng)
    fast = FeatureMap(sim.params)
    for _ in range(10):
        sim.step(rng.integers(0, 12, size=(3, sim.n_sites)).astype(float))
        np.testing.assert_allclose(fast(sim.state), site_features(sim.state, sim.params), rtol=1e-6, atol=1e-4)


GENERAL = {"capacitated": True, "any_lost": True, "any_supplier_lost": True, "pipeline_holding": True,
           "ordering_costs": True, "single_customer": False}
"""Fast-path flags of :class:`~envs.params.CoreParams` and the value that sends the core down its general path
(the general path with a capacity of inf, zero loss rates, zero pipeline rates and costs, or one customer per
supplier computes the same quantities the fast path skips)."""


@settings(max_examples=40, deadline=None)
@given(spec=networks(), seed=st.integers(0, 2**32 - 1),
       flags=st.sets(st.sampled_from(sorted(GENERAL)), min_size=1))
def test_every_fast_path_equals_the_general_path(spec, seed, flags):
    """Each fast path (a flag the scenario sets because a feature is absent) gives the states and flows the
    general path gives, on the same draws and orders, any set of flags forced at once."""
    import dataclasses

    scen = load_scenario(spec)
    runs = []
    for forced in (False, True):
        sim = Simulator(scen, batch=3)
        if forced:
            sim.params = dataclasses.replace(sim.params, **{f: GENERAL[f] for f in flags})
        rng = np.random.default_rng(seed)
        sim.reset(rng)
        trace = []
        while not sim.done:
            flows = sim.step(rng.integers(0, 12, size=(3, sim.n_sites)).astype(float))
            trace.append((sim.state.on_hand, sim.state.backlog, sum(sim.state.transit), flows.cost, flows.lost,
                          flows.cancelled, flows.orders))
        runs.append(trace)
    for fast, general in zip(*runs, strict=True):
        for a, b in zip(fast, general, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_the_fast_path_test_sees_a_wrong_fast_path():
    """A fast path that skipped a cost the scenario has would be caught: forcing ``ordering_costs`` off on a
    scenario with an order cost changes the costs."""
    import dataclasses

    spec = {"periods": 5, "sites": [{"name": "a", "lead_time": 1, "holding_cost": 1, "order_cost": 2.0,
                                     "backlog_cost": 1}],
            "demand": {"a": {"kind": "poisson", "mean": 4}}}
    costs = []
    for skip in (False, True):
        sim = Simulator(load_scenario(spec), batch=2)
        if skip:
            sim.params = dataclasses.replace(sim.params, ordering_costs=False)
        sim.reset(np.random.default_rng(0))
        costs.append(sum(sim.step(np.full((2, 1), 4.0)).cost.sum() for _ in range(5)))
    assert costs[0] != costs[1]


def test_a_scenario_is_compiled_once_and_its_parameters_cannot_be_written():
    import gc

    import pytest

    scen = load_scenario("beer_game")
    first = CoreParams.from_scenario(scen)
    assert CoreParams.from_scenario(scen) is first
    assert CoreParams.from_scenario(load_scenario("beer_game")) is not first  # another object, compiled anew
    with pytest.raises(ValueError, match="read-only"):
        first.holding_cost[0, 0] = 9.0
    from echelon.envs import params as params_module

    key = id(scen)
    del scen, first
    gc.collect()
    assert key not in params_module._COMPILED  # dropped with its scenario


@pytest.mark.parametrize("name", available_scenarios())
def test_rows_tiled_to_the_batch_give_the_same_numbers(name):
    """``CoreParams.for_batch`` (the per-site rows tiled to ``[batch, S]``, a faster step) changes no flow or
    state of any built-in scenario, bit for bit."""
    from echelon.envs import core
    from echelon.envs.params import CoreParams

    scenario = load_scenario(name).with_periods(6)
    params = CoreParams.from_scenario(scenario)
    tiled = params.for_batch(3)
    assert tiled is not params or 3 * params.n_sites > 2**19
    sim = Simulator(scenario, batch=3)
    sim.reset(np.random.default_rng(1))
    rng = np.random.default_rng(2)
    a = b = core.initial_state(params, 3)
    for t in range(6):
        orders = rng.integers(0, 9, size=(3, params.n_sites)).astype(float)
        lead = sim.episode.lead[t] if getattr(sim.episode, "lead", None) is not None else None
        a, fa = core.step(a, orders, sim.episode.demand[t], params, lead)
        b, fb = core.step(b, orders, sim.episode.demand[t], tiled, lead)
        for field in ("cost", "shipped", "received", "sales", "lost", "orders"):
            assert np.array_equal(getattr(fa, field), getattr(fb, field)), (name, t, field)
        assert np.array_equal(a.on_hand, b.on_hand) and np.array_equal(a.backlog, b.backlog)
