"""``echelon benchmark --backend jax``: the same metrics from episodes simulated on the JAX core. On the beer
game (deterministic demand) every deterministic policy's figures equal the NumPy benchmark's; on random demand
the device's own draws give costs within the two runs' confidence intervals."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import yaml

from echelon.cli import main
from echelon.envs.errors import ConfigError
from echelon.evaluation.benchmark import load_benchmark, run_benchmark
from echelon.evaluation.device import block_size, check_on_device, device_measure

jax.config.update("jax_enable_x64", True)

POLICIES = [{"label": "base", "policy": "base_stock", "levels": 12},
            {"label": "echelon", "policy": "echelon_base_stock", "levels": 25},
            {"label": "ma", "policy": "forecast_base_stock"}, {"label": "sterman", "policy": "sterman"},
            {"label": "pass", "policy": "pass_through"}]


def _config(tmp_path, scenarios, episodes=200):
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump({"name": "b", "scenarios": scenarios, "episodes": episodes, "seed": 3,
                                    "baseline": "base", "policies": POLICIES}))
    return load_benchmark(str(path))


def _on_device(policy, scenario, episodes, seed, warmup):
    return device_measure(policy, scenario, episodes, seed, warmup)


def test_deterministic_demand_gives_the_numpy_figures(tmp_path):
    config = _config(tmp_path, ["beer_game"], episodes=20)
    cpu, dev = run_benchmark(config), run_benchmark(config, measure_on=_on_device)
    for a, b in zip(cpu.rows, dev.rows, strict=True):
        assert a.label == b.label
        assert b.metrics.cost.mean == pytest.approx(a.metrics.cost.mean, rel=1e-12)
        assert b.metrics.fill_rate == pytest.approx(a.metrics.fill_rate, rel=1e-12)
        assert b.metrics.on_hand == pytest.approx(a.metrics.on_hand, rel=1e-12)
        assert b.metrics.bullwhip == pytest.approx(a.metrics.bullwhip, rel=1e-9, nan_ok=True)
        np.testing.assert_allclose(b.sample.cost, a.sample.cost, rtol=1e-12)


@pytest.mark.slow
def test_random_demand_agrees_within_the_confidence_intervals(tmp_path):
    config = _config(tmp_path, ["textbook_serial", "distribution", "lost_sales_capacitated"], episodes=400)
    cpu, dev = run_benchmark(config), run_benchmark(config, measure_on=_on_device)
    for a, b in zip(cpu.rows, dev.rows, strict=True):
        gap = abs(a.metrics.cost.mean - b.metrics.cost.mean)
        assert gap < 1.5 * (a.metrics.cost.half_width + b.metrics.cost.half_width), (a.scenario, a.label, gap)
        # the device's differences are paired as NumPy's are (unpaired ones would be far wider)
        if b.label != "base":
            assert b.vs_baseline.half_width == pytest.approx(a.vs_baseline.half_width, rel=0.25), (b.scenario,
                                                                                                  b.label)


def test_blocks_share_draws_across_policies_and_cover_every_episode(tmp_path, monkeypatch):
    """Runs too large for one block go in blocks; the blocks' episodes add up, and a policy measured twice
    gives the same figures."""
    import echelon.evaluation.device as device

    monkeypatch.setattr(device, "RECORD_BYTES", 30 * 100 * 3 * len(device.FIELDS) * 8)
    config = _config(tmp_path, ["textbook_serial"], episodes=70)
    assert block_size(config.scenarios[0], 70) == 30
    first = run_benchmark(config, measure_on=_on_device)
    again = run_benchmark(config, measure_on=_on_device)
    assert len(first.rows[0].metrics.episode_cost) == 70
    assert [r.metrics.cost.mean for r in first.rows] == [r.metrics.cost.mean for r in again.rows]


def test_a_policy_or_scenario_the_device_cannot_run_is_refused_before_any_work(tmp_path):
    config = _config(tmp_path, ["distribution_informed"])
    with pytest.raises(ConfigError, match="^scenario 'distribution_informed' has an information model"):
        check_on_device([], list(config.scenarios))
    with pytest.raises(ConfigError, match=r"^b.yaml: policies\[0\]: policy 'myopic' has no device form"):
        check_on_device([("b.yaml: policies[0]", {"policy": "myopic"})], [])


def test_the_command_line_runs_on_the_device(tmp_path, capsys):
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump({"name": "b", "scenarios": ["lost_sales"], "episodes": 5, "seed": 0,
                                    "baseline": "base", "policies": POLICIES[:2] + [{"policy": "myopic"}]}))
    assert main(["benchmark", str(path), "--backend", "jax", "--out", str(tmp_path / "out")]) == 2
    assert "policies[2]: policy 'myopic' has no device form" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    path.write_text(yaml.safe_dump({"name": "b", "scenarios": ["beer_game"], "episodes": 5, "seed": 0,
                                    "baseline": "base", "policies": POLICIES[:2]}))
    assert main(["benchmark", str(path), "--backend", "jax", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "results.csv").exists()
