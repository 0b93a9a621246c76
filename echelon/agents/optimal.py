"""The best base-stock levels of a scenario: exact where theory has them, else searched.

:func:`optimal_levels` returns the Clark–Scarf optimum (:mod:`agents.clark_scarf`)
for serial backlog chains with stationary demand, the newsvendor for one stage,
and simulation-optimised echelon levels (:mod:`agents.search`) for everything
else. This is what ``echelon optimal`` prints and what ``levels: optimal`` in a
policy config resolves to.
"""

from __future__ import annotations

import numpy as np

from echelon.agents.clark_scarf import serial_optimum
from echelon.agents.levels import Optimum
from echelon.agents.optimal_dp import solution_for
from echelon.agents.search import search_levels
from echelon.agents.single_site import single_site_model
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import Scenario


def optimal_levels(scenario: Scenario, method: str = "auto", episodes: int | None = None, seed: int = 0,
                   local: bool = True) -> Optimum:
    """Optimal (or simulation-optimised) base-stock levels of ``scenario``.

    ``method``: ``auto`` (exact where it applies, else simulation), ``exact``
    (a :class:`ConfigError` explains why not, where it does not apply) or
    ``simulation``; ``episodes`` per candidate of a search (default
    :func:`~agents.search.search_episodes`); ``local=False`` skips the separate search of local
    levels (they are then NaN where no exact method gives them). Exact methods give the local levels equivalent to the
    echelon levels (S^e_j - S^e_{j-1}, Axsäter 1993); simulation searches the
    local (installation) levels on their own, because off a serial chain, or
    with order delays and transients, that conversion is not equivalent.
    """
    if method not in ("auto", "exact", "simulation"):
        raise ConfigError(f"method: must be auto, exact or simulation (got {method!r})")
    if method != "simulation":
        try:
            return serial_optimum(scenario)
        except ConfigError:
            if method == "exact":
                raise
    found = search_levels(scenario, kind="echelon", episodes=episodes, seed=seed)
    if not local:  # (only the echelon levels wanted)
        return Optimum("simulation", scenario.site_names, found.levels, found.levels * np.nan, found.expected_cost,
                       found.half_width, None)
    searched = search_levels(scenario, kind="installation", episodes=episodes, seed=seed)
    return Optimum(
        "simulation", scenario.site_names, found.levels, searched.levels, found.expected_cost, found.half_width,
        searched.expected_cost,
    )


def known_optimum(scenario: Scenario) -> tuple[float, str] | None:
    """The exact long-run optimal cost per period where theory gives one, with its method; else None.

    Clark–Scarf on serial backlog chains (:mod:`agents.clark_scarf`), the DP on one-site scenarios
    it can solve (:mod:`agents.dp`).
    """
    try:
        return serial_optimum(scenario).expected_cost, "Clark–Scarf"
    except ConfigError:
        pass
    if len(scenario.sites) != 1:
        return None

    try:
        return solution_for(single_site_model(scenario, "the exact DP")).cost, "dynamic programming"
    except ConfigError:
        return None
