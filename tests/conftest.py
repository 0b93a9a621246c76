"""Fixtures shared by the test modules."""

from __future__ import annotations

import warnings

import pytest


@pytest.fixture
def quiet_warnings():
    """Silence warnings third-party checkers raise about Echelon's (deliberately) unbounded Box spaces."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _small_scenarios() -> list[str]:
    from echelon.envs.scenario import available_scenarios

    return [name for name in available_scenarios() if name not in LARGE_SCENARIOS]


LARGE_SCENARIOS = ("planner_network",)
"""Built-in scenarios too big for tests that run every scenario through every shell and client
(thousands of agents); tests/test_large.py covers them."""
SMALL_SCENARIOS = _small_scenarios()
