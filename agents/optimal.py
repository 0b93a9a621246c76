"""The best base-stock levels of a scenario: exact where theory has them, else searched.

:func:`optimal_levels` returns the Clark–Scarf optimum (:mod:`agents.clark_scarf`)
for serial backlog chains with stationary demand, the newsvendor for one stage,
and simulation-optimised echelon levels (:mod:`agents.search`) for everything
else. This is what ``echelon optimal`` prints and what ``levels: optimal`` in a
policy config resolves to.
"""

from __future__ import annotations

from agents.clark_scarf import serial_optimum
from agents.levels import Optimum
from agents.search import search_levels
from envs.errors import ConfigError
from envs.scenario import Scenario


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
            return serial_optimum(scenario)
        except ConfigError:
            if method == "exact":
                raise
    found = search_levels(scenario, kind="echelon", episodes=episodes, seed=seed)
    local = search_levels(scenario, kind="installation", episodes=episodes, seed=seed)
    return Optimum(
        "simulation", scenario.site_names, found.levels, local.levels, found.expected_cost, found.half_width,
        local.expected_cost,
    )
