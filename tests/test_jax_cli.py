"""The command line's ``--backend jax``: speed figures, searches and the DP on the device, each checked against
the NumPy command's answer; misuse is one line and exit 2."""

from __future__ import annotations

import json

import jax
import pytest

from echelon.cli import main

jax.config.update("jax_enable_x64", True)


def test_speed_prints_both_back_ends_with_cpu_time_and_compile_time(capsys):
    assert main(["speed", "--backend", "jax", "--scenario", "textbook_serial", "--batches", "8,64"]) == 0
    out = capsys.readouterr().out
    for word in ("numpy", "jax", "CPU s", "compile s", "of bw", "memory bandwidth"):
        assert word in out
    assert out.count("│   numpy │") == 2 and out.count("│     jax │") == 2


def test_optimal_dp_on_the_device_gives_the_numpy_optimum(capsys):
    assert main(["optimal", "lost_sales", "--method", "dp", "--json"]) == 0
    cpu = json.loads(capsys.readouterr().out)
    assert main(["optimal", "lost_sales", "--method", "dp", "--json", "--backend", "jax"]) == 0
    dev = json.loads(capsys.readouterr().out)
    assert dev["expected_cost"] == pytest.approx(cpu["expected_cost"], abs=1e-9)
    assert [(p["policy"], p["parameters"]) for p in dev["policies"]] == [(p["policy"], p["parameters"])
                                                                          for p in cpu["policies"]]
    for a, b in zip(dev["policies"], cpu["policies"], strict=True):
        assert a["expected_cost"] == pytest.approx(b["expected_cost"], abs=1e-9)


@pytest.mark.slow
def test_optimal_search_on_the_device_finds_the_numpy_levels(capsys):
    """The same compass search on the device's own episodes lands on the same levels for distribution."""
    assert main(["optimal", "distribution", "--method", "simulation", "--json"]) == 0
    cpu = json.loads(capsys.readouterr().out)
    assert main(["optimal", "distribution", "--method", "simulation", "--json", "--backend", "jax"]) == 0
    dev = json.loads(capsys.readouterr().out)
    assert dev["echelon_levels"] == cpu["echelon_levels"]
    assert abs(dev["expected_cost"] - cpu["expected_cost"]) < 2 * (dev["ci95_half_width"] + cpu["ci95_half_width"])


def test_the_optimum_alone(capsys):
    assert main(["optimal", "lost_sales", "--method", "dp", "--json", "--backend", "jax", "--optimum-only"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["policy"] for p in out["policies"]] == ["optimal (DP)"]
    assert out["expected_cost"] == pytest.approx(6.8359, abs=5e-5)


def test_the_dp_refuses_float32_in_one_line(capsys):
    assert main(["optimal", "lost_sales", "--method", "dp", "--backend", "jax", "--dtype", "float32"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs float64" in err
