"""Policies by name, as configs give them: ``{policy: base_stock, levels: [9, 6, 11]}``.

:data:`POLICIES` maps each name to its class; :func:`make_policy` checks the
parameters against the class's keyword arguments and reports a bad name or
parameter in one line. ``levels: optimal`` (base-stock policies) resolves to
the scenario's optimal levels (:mod:`agents.optimal`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from agents.forecast import ForecastBaseStock
from agents.heuristics import (
    BaseStock,
    CappedBaseStock,
    Constant,
    EchelonBaseStock,
    MinMax,
    PassThrough,
    RandomOrders,
    ReorderPointQuantity,
    Sterman,
)
from agents.learned import LearnedPolicy
from agents.lost_sales import Myopic, VectorBaseStock
from agents.optimal_dp import OptimalDP
from agents.policy import Policy
from envs.errors import ConfigError
from envs.scenario import Scenario

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (BaseStock, EchelonBaseStock, MinMax, ReorderPointQuantity, PassThrough, Constant, RandomOrders,
                Sterman, ForecastBaseStock, CappedBaseStock, VectorBaseStock, Myopic, OptimalDP, LearnedPolicy)
}

PolicySpec = str | Mapping[str, Any]
"""A policy name, or a mapping with key ``policy`` (the name) and its parameters."""


def policy_parameters(cls: type[Policy]) -> dict[str, bool]:
    """Parameter names of a policy class, each mapped to whether it is required."""
    params = inspect.signature(cls.__init__).parameters
    return {
        name: p.default is inspect.Parameter.empty
        for name, p in params.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def make_policy(spec: PolicySpec, scenario: Scenario, where: str = "") -> Policy:
    """Build the policy ``spec`` names for ``scenario``; :class:`ConfigError` names what is wrong.

    Example:
        >>> make_policy({"policy": "echelon_base_stock", "levels": [6.5, 12, 22.7]}, load_scenario("textbook_serial"))
    """
    at = f"{where}: " if where else ""
    if isinstance(spec, str):
        spec = {"policy": spec}
    if not isinstance(spec, Mapping) or "policy" not in spec:
        raise ConfigError(f"{at}a policy is a name or a mapping with key 'policy' (got {spec!r})")
    name = spec["policy"]
    if name not in POLICIES:
        raise ConfigError(f"{at}unknown policy {name!r} (known: {', '.join(POLICIES)})")
    cls = POLICIES[name]
    accepted = policy_parameters(cls)
    given = {k: v for k, v in spec.items() if k != "policy"}
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        listed = ", ".join(accepted) or "none"
        raise ConfigError(f"{at}policy '{name}' has no parameter '{unknown[0]}' (parameters: {listed})")
    missing = [k for k, required in accepted.items() if required and k not in given]
    if missing:
        raise ConfigError(f"{at}policy '{name}' needs parameter '{missing[0]}'")
    if given.get("levels") == "optimal":
        given["levels"] = optimal_levels_for(cls, scenario)
    try:
        return cls(scenario, **given)
    except ConfigError as exc:
        raise ConfigError(f"{at}{exc}") from None


def optimal_levels_for(cls: type[Policy], scenario: Scenario) -> list[float]:
    """``levels: optimal``: exact or simulation-optimised levels of the policy's kind."""
    from agents.optimal import optimal_levels
    from agents.search import search_levels

    if cls is EchelonBaseStock:
        return optimal_levels(scenario).echelon_levels.tolist()
    if cls is BaseStock:
        try:  # the equivalent local levels, exact on serial chains (agents.heuristics)
            return optimal_levels(scenario, method="exact").local_levels.tolist()
        except ConfigError:
            return search_levels(scenario, kind="installation").levels.tolist()
    raise ConfigError(f"policy '{cls.name}': 'levels: optimal' applies to base-stock policies only")
