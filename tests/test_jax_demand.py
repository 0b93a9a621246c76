"""Device demand and lead times have the distributions of their NumPy models: each model's mean and variance
from a million device draws against the model's definition (to within 5 standard errors)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from echelon.envs.demand import (
    Empirical,
    Geometric,
    NegativeBinomial,
    Normal,
    Poisson,
    Replay,
    Seasonal,
    StepChange,
    Uniform,
)
from echelon.envs.errors import ConfigError
from echelon.envs.jax_demand import draw_demand, draw_lead_times, draw_model
from echelon.envs.params import CoreParams
from echelon.envs.scenario import load_scenario

jax.config.update("jax_enable_x64", True)

T, B = 100, 10_000


def _moments(model, draws: np.ndarray) -> tuple[float, float]:
    """The mean and variance ``model`` defines (from its pmf, or closed form where it has none)."""
    if isinstance(model, Normal):
        return model.mean, model.std**2
    pmf = model.pmf(1.0)
    k = np.arange(len(pmf))
    mean = float(k @ pmf)
    return mean, float((k - mean) ** 2 @ pmf)


@pytest.mark.parametrize("model", [Poisson(3.5), NegativeBinomial(6.0, 0.8), Geometric(5.0),
                                   Empirical((0.1, 0.0, 0.6, 0.3)), Normal(20.0, 4.0), Uniform(2, 9)],
                         ids=lambda m: type(m).__name__)
def test_stationary_models_have_their_mean_and_variance(model):
    draws = np.asarray(draw_model(model, jax.random.key(0), T, B, np.float64))
    assert draws.shape == (T, B) and (draws >= 0).all()
    mean, var = _moments(model, draws)
    se = np.sqrt(var / draws.size)
    assert abs(draws.mean() - mean) < 5 * se, (draws.mean(), mean)
    assert abs(draws.var() / var - 1) < 0.02, (draws.var(), var)
    if model.integral:
        assert (draws == np.round(draws)).all()


def test_time_varying_models_follow_their_means():
    seasonal = Seasonal(base=10.0, amplitude=6.0, cycle=12)
    draws = np.asarray(draw_model(seasonal, jax.random.key(1), 24, B, np.float64))
    np.testing.assert_allclose(draws.mean(axis=1), seasonal.means(24), atol=5 * np.sqrt(16 / B))
    step = np.asarray(draw_model(StepChange(4.0, 8.0, 4), jax.random.key(2), 10, 3, np.float64))
    assert (step[:4] == 4).all() and (step[4:] == 8).all()
    noisy = np.asarray(draw_model(StepChange(4.0, 8.0, 4, "poisson"), jax.random.key(3), 10, B, np.float64))
    np.testing.assert_allclose(noisy.mean(axis=1), [4] * 4 + [8] * 6, atol=5 * np.sqrt(8 / B))


def test_replay_reads_consecutive_rows():
    values = np.arange(50.0)
    fixed = np.asarray(draw_model(Replay(values), jax.random.key(0), 10, 3, np.float64))
    assert (fixed == np.arange(10.0)[:, None]).all()
    moved = np.asarray(draw_model(Replay(values, random_start=True), jax.random.key(0), 10, 500, np.float64))
    assert (np.diff(moved, axis=0) == 1).all() and moved[0].min() >= 0 and moved[0].max() <= 40
    assert len(np.unique(moved[0])) > 20
    with pytest.raises(ConfigError, match="fewer than the 60 periods"):
        draw_model(Replay(values, source="d.csv"), jax.random.key(0), 60, 1, np.float64)


def test_a_scenario_draws_at_its_customer_facing_sites_only():
    scenario = load_scenario("distribution")
    params = CoreParams.from_scenario(scenario)
    demand = np.asarray(draw_demand(scenario, params, jax.random.key(4), 64, 100))
    assert demand.shape == (100, 64, params.n_sites)
    assert (demand[:, :, ~params.customer_facing] == 0).all()
    for i, name in enumerate(params.names):
        if name in scenario.demand:
            assert abs(demand[:, :, i].mean() - scenario.demand[name].mean) < 0.2


def test_random_lead_times_take_their_values_with_their_probabilities():
    spec = {"periods": 10, "demand": {"a": {"kind": "poisson", "mean": 2}}, "sites": [
        {"name": "a", "lead_time": {"values": [1, 3, 4], "probs": [0.5, 0.3, 0.2]}, "holding_cost": 1,
         "backlog_cost": 2}]}
    params = CoreParams.from_scenario(load_scenario(spec))
    leads = np.asarray(draw_lead_times(params, jax.random.key(5), 20_000, 10))
    shares = [(leads == v).mean() for v in (1, 3, 4)]
    np.testing.assert_allclose(shares, [0.5, 0.3, 0.2], atol=0.005)
    assert draw_lead_times(CoreParams.from_scenario(load_scenario("beer_game")), jax.random.key(0), 2, 2) is None
