"""The best base-stock levels of a scenario: exact where theory has them, else searched.

:func:`optimal_levels` returns the Clark–Scarf optimum (:mod:`agents.clark_scarf`)
for serial backlog chains with stationary demand, the newsvendor for one stage,
and simulation-optimised echelon levels (:mod:`agents.search`) for everything
else. This is what ``echelon optimal`` prints and what ``levels: optimal`` in a
policy config resolves to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.clark_scarf import serial_optimum
from agents.search import search_levels
from envs.errors import ConfigError
from envs.scenario import Scenario


@dataclass(frozen=True)
class Optimum:
    """Levels per site (site order) and their expected cost per period."""

    method: str  # "clark_scarf", "newsvendor" or "simulation"
    sites: tuple[str, ...]
    echelon_levels: np.ndarray  # [S^e_j]
    local_levels: np.ndarray  # [S_j] installation levels (see optimal_levels)
    expected_cost: float  # of the echelon levels: long run (exact) or per period of the scenario's episodes
    half_width: float = 0.0  # 95% confidence half-width (0 for the exact methods)
    local_cost: float | None = None  # of the local levels, where they are searched separately

    def as_dict(self) -> dict:
        """The JSON form ``echelon optimal --json`` prints."""
        out = {
            "method": self.method,
            "echelon_levels": _by_site(self.sites, self.echelon_levels),
            "local_levels": _by_site(self.sites, self.local_levels),
            "expected_cost": self.expected_cost,
            "ci95_half_width": self.half_width,
        }
        if self.local_cost is not None:
            out["local_levels_cost"] = self.local_cost
        return out


def _by_site(sites: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return {s: round(float(v), 9) for s, v in zip(sites, values, strict=True)}


def optimal_levels(scenario: Scenario, method: str = "auto", episodes: int = 200, seed: int = 0) -> Optimum:
    """Optimal (or simulation-optimised) base-stock levels of ``scenario``.

    ``method``: ``auto`` (exact where it applies, else simulation), ``exact``
    (a :class:`ConfigError` explains why not, where it does not apply) or
    ``simulation``. Exact methods give the local levels equivalent to the
    echelon levels (S^e_j - S^e_{j-1}, Axsäter 1993); simulation searches the
    local (installation) levels on their own, because off a serial chain, or
    with order delays and transients, that conversion is not equivalent.
    """
    if method not in ("auto", "exact", "simulation"):
        raise ConfigError(f"method: must be auto, exact or simulation (got {method!r})")
    if method != "simulation":
        try:
            exact = serial_optimum(scenario)
        except ConfigError:
            if method == "exact":
                raise
        else:
            return Optimum(exact.method, exact.sites, exact.echelon_levels, exact.local_levels, exact.expected_cost)
    found = search_levels(scenario, kind="echelon", episodes=episodes, seed=seed)
    local = search_levels(scenario, kind="installation", episodes=episodes, seed=seed)
    return Optimum(
        "simulation", scenario.site_names, found.levels, local.levels, found.expected_cost, found.half_width,
        local.expected_cost,
    )
