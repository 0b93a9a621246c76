"""Chunked draws: demand and random lead times drawn a few periods at a time equal one draw over the horizon."""

from __future__ import annotations

import numpy as np
import pytest

from echelon.envs import simulator as simulator_module
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import ChunkedEpisode, Simulator

MODELS = [
    {"kind": "poisson", "mean": 4},
    {"kind": "negative_binomial", "mean": 4, "cv": 0.9},
    {"kind": "geometric", "mean": 4},
    {"kind": "empirical", "probs": [0.1, 0.2, 0.4, 0.3]},
    {"kind": "normal", "mean": 5, "std": 2},
    {"kind": "uniform", "low": 0, "high": 8},
    {"kind": "seasonal", "base": 5, "amplitude": 3, "cycle": 7},
    {"kind": "step", "before": 4, "after": 8, "at": 5, "noise": "poisson"},
    {"kind": "step", "before": 4, "after": 8, "at": 5},
]


def _spec(model: dict, periods: int = 23) -> dict:
    return {
        "periods": periods,
        "sites": [
            {"name": "a", "supplier": "dc", "lead_time": {"values": [1, 2, 3], "probs": [0.2, 0.5, 0.3]},
             "holding_cost": 1, "backlog_cost": 5},
            {"name": "b", "supplier": "dc", "lead_time": 2, "holding_cost": 1, "backlog_cost": 5},
            {"name": "dc", "lead_time": 2, "holding_cost": 0.5},
        ],
        "demand": {"a": model, "b": {"kind": "poisson", "mean": 3}},
    }


def _read(recipe: ChunkedEpisode, periods: int) -> tuple[np.ndarray, np.ndarray]:
    reader = recipe.start()
    demand, lead = [], []
    for t in range(periods):  # read forward, as the simulator does
        demand.append(reader.demand_at(t).copy())
        lead.append(reader.lead_at(t).copy())
    demand, lead = np.stack(demand), np.stack(lead)
    assert reader.demand.shape[0] <= recipe.chunk  # never more than a chunk held
    return demand, lead


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m["kind"] + ("-noisy" if "noise" in m else ""))
@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_any_chunk_size_gives_the_numbers_of_one_draw(model, chunk):
    scen = load_scenario(_spec(model))
    params = Simulator(scen, batch=5).params
    whole = ChunkedEpisode(scen, params, np.random.default_rng(42), 5, scen.periods, chunk=scen.periods)
    parts = ChunkedEpisode(scen, params, np.random.default_rng(42), 5, scen.periods, chunk=chunk)
    d1, l1 = _read(whole, scen.periods)
    d2, l2 = _read(parts, scen.periods)
    np.testing.assert_array_equal(d1, d2)
    np.testing.assert_array_equal(l1, l2)
    assert (d1[:, :, 2] == 0).all() and set(np.unique(l1[:, :, 0])) <= {1, 2, 3}
    again, _ = _read(ChunkedEpisode(scen, params, np.random.default_rng(42), 5, scen.periods, chunk=chunk),
                     scen.periods)
    np.testing.assert_array_equal(again, d2)  # same seed, same numbers


def test_a_replayed_history_with_random_starts_chunks_the_same(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("demand\n" + "\n".join(str(v) for v in range(40)) + "\n")
    model = {"kind": "csv", "path": str(path), "column": "demand", "random_start": True}
    scen = load_scenario(_spec(model, periods=10))
    params = Simulator(scen, batch=6).params
    d1, _ = _read(ChunkedEpisode(scen, params, np.random.default_rng(1), 6, 10, chunk=10), 10)
    d2, _ = _read(ChunkedEpisode(scen, params, np.random.default_rng(1), 6, 10, chunk=4), 10)
    np.testing.assert_array_equal(d1, d2)
    starts = d1[0, :, 0]
    np.testing.assert_array_equal(d1[:, :, 0], starts[None, :] + np.arange(10)[:, None])  # consecutive rows


def test_a_run_too_big_to_draw_at_once_is_chunked_and_costs_the_same_whatever_the_chunk(monkeypatch):
    scen = load_scenario(_spec(MODELS[0], periods=30))
    monkeypatch.setattr(simulator_module, "DRAW_AT_ONCE_BYTES", 8.0 * 3 * 4 * 10)  # 10 periods of 4 copies
    costs = []
    for chunk_bytes in (8.0 * 3 * 4 * 2, 8.0 * 3 * 4 * 7):  # chunks of 2 and of 7 periods
        monkeypatch.setattr(simulator_module, "CHUNK_BYTES", chunk_bytes)
        sim = Simulator(scen, batch=4)
        sim.reset(np.random.default_rng(9))
        assert isinstance(sim.episode, ChunkedEpisode)
        total = 0.0
        orders = np.random.default_rng(2)
        while not sim.done:
            total += sim.step(orders.integers(0, 9, size=(4, 3)).astype(float)).cost.sum()
        costs.append(total)
    assert costs[0] == costs[1]
    monkeypatch.setattr(simulator_module, "DRAW_AT_ONCE_BYTES", 256e6)
    sim = Simulator(scen, batch=4)
    sim.reset(np.random.default_rng(9))
    assert not isinstance(sim.episode, ChunkedEpisode)  # small runs keep the draw at once (numbers unchanged)


def test_chunked_poisson_draws_have_the_poisson_distribution():
    """Inversion sampling: over 400,000 draws of Poisson(4), mean and variance 4 (standard errors
    0.003 and 0.015) and P(D = 0) = e^-4 = 0.0183 (standard error 0.0002)."""
    from echelon.envs.demand import Poisson

    draws = Poisson(4.0).draw(np.random.default_rng(5), 4000, 0, 100, None)
    assert draws.shape == (100, 4000)
    assert abs(draws.mean() - 4.0) < 0.015 and abs(draws.var() - 4.0) < 0.08
    assert abs((draws == 0).mean() - np.exp(-4.0)) < 0.001
    assert (draws == np.round(draws)).all() and draws.min() >= 0
