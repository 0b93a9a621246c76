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
