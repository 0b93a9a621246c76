"""Policies by name, as configs give them: ``{policy: base_stock, levels: [9, 6, 11]}``.

:data:`POLICIES` maps each name to its class; :func:`make_policy` checks the
parameters against the class's keyword arguments and reports a bad name or
parameter in one line. A parameter given as ``optimal`` resolves to the best
value (:func:`optimal_parameters`): ``levels: optimal`` for base-stock policies,
``{levels: optimal, cap: optimal}`` for capped base-stock, ``quantity: optimal``
for constant orders.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from echelon.agents.control import STRUCTURES, Hybrid, Local
from echelon.agents.forecast import ForecastBaseStock
from echelon.agents.heuristics import (
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
from echelon.agents.learned import LearnedPolicy
from echelon.agents.lost_sales import (
    Myopic,
    Myopic2,
    VectorBaseStock,
    best_base_stock,
    best_capped_base_stock,
    best_constant_order,
)
from echelon.agents.nash import nash_levels
from echelon.agents.optimal import optimal_levels
from echelon.agents.optimal_dp import OptimalDP
from echelon.agents.policy import Policy
from echelon.agents.response import SiteResponse, best_site_response
from echelon.agents.search import search_levels
from echelon.agents.single_site import SiteModel, single_site_model
from echelon.agents.tuning import best_hybrid
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import Scenario

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (BaseStock, EchelonBaseStock, MinMax, ReorderPointQuantity, PassThrough, Constant, RandomOrders,
                Sterman, ForecastBaseStock, CappedBaseStock, VectorBaseStock, Myopic, Myopic2, OptimalDP,
                *STRUCTURES.values(), LearnedPolicy, SiteResponse)
}

OPTIMAL = "optimal"
"""A parameter value that asks for the best parameter (:func:`optimal_parameters`)."""
SELFISH = "selfish"
"""``levels: selfish`` (policy ``local``): every site's own best level given the others (:mod:`agents.nash`)."""

PolicySpec = str | Mapping[str, Any]
"""A policy name, or a mapping with key ``policy`` (the name) and its parameters."""


def policy_parameters(cls: type[Policy]) -> dict[str, bool]:
    """Parameter names of a policy class, each mapped to whether it is required."""
    params = inspect.signature(cls.__init__).parameters
    return {
        name: p.default is inspect.Parameter.empty
        for name, p in params.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in cls.implied
    }


def make_policy(spec: PolicySpec, scenario: Scenario, where: str = "") -> Policy:
    """Build the policy ``spec`` names for ``scenario``; :class:`ConfigError` names what is wrong.

    Example:
        >>> make_policy({"policy": "echelon_base_stock", "levels": [6.5, 12, 22.7]}, load_scenario("textbook_serial"))
    """
    at = f"{where}: " if where else ""
    cls, given = _checked_spec(spec, at)
    name = cls.name
    try:
        nested = {k: given[k] for k in cls.nested if k in given} | cls.implied_specs(given)
    except ConfigError as exc:
        raise ConfigError(f"{at}{exc}") from None
    for key, inner in nested.items():  # policies made of policies get them built, never build them themselves
        given[key] = make_policy(inner, scenario, where=f"{at}policy '{name}': {key}")
    wanted = [k for k, v in given.items() if v == OPTIMAL]
    if wanted:
        given.update(optimal_parameters(cls, scenario, wanted, at, given))
    if given.get("levels") == SELFISH:
        if cls is not Local:
            raise ConfigError(f"{at}policy '{name}': 'levels: selfish' applies to policy 'local'")
        given["levels"] = nash_levels(scenario, knowledge=given.get("knowledge", True)).levels.tolist()
    try:
        return cls(scenario, **given)
    except ConfigError as exc:
        raise ConfigError(f"{at}{exc}") from None


def _checked_spec(spec: PolicySpec, at: str) -> tuple[type[Policy], dict[str, Any]]:
    """The class a spec names and its parameters, each one the class takes and none it needs missing."""
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
    return cls, given


def optimal_parameters(cls: type[Policy], scenario: Scenario, names: list[str], at: str = "",
                       given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Parameters given as ``optimal``: exact where theory or the DP prices them, else simulation-optimised.

    Base-stock levels: Clark–Scarf on serial backlog chains (echelon levels, or the equivalent local
    levels), the exactly priced best level on a one-site lost-sales scenario, else a simulation search.
    Capped base-stock (``levels`` and ``cap``) and constant orders (``quantity``): exactly priced on
    one-site lost-sales scenarios.
    """
    where = f"{at}policy '{cls.name}'"
    given = given or {}
    for solve in (_structure_parameters, _base_stock_parameters, _priced_parameters):
        found = solve(cls, scenario, names, at, given)
        if found is not None:
            return found
    raise ConfigError(f"{where}: 'optimal' applies to base-stock levels, a capped base-stock policy's levels "
                      f"and cap together, a constant quantity and a site's base-stock level among others "
                      f"(got it for {', '.join(names)})")


def _structure_parameters(cls: type[Policy], scenario: Scenario, names: list[str], at: str,
                          given: Mapping[str, Any]) -> dict[str, Any] | None:
    """A control structure's levels, searched for the team under its own information (the hybrid's levels,
    local levels and band tuned together)."""
    if cls is Hybrid and set(names) <= {"levels", "local_levels", "band"}:  # all three tuned together
        if set(names) != {"levels", "local_levels", "band"}:
            raise ConfigError(f"{at}policy '{cls.name}': levels, local_levels and band are tuned together: give "
                              f"all three as 'optimal', or numbers for all three")
        tuned = best_hybrid(scenario).policy
        return {"levels": tuned.levels.tolist(), "local_levels": tuned.local.levels.tolist(),
                "band": tuned.band.tolist()}
    if cls in STRUCTURES.values() and names == ["levels"]:
        options = {k: v for k, v in given.items() if k != "levels"}
        rule = cls.rule(scenario, **options)
        return {"levels": search_levels(scenario, kind=cls.kind, rule=rule).levels.tolist()}
    return None


def _base_stock_parameters(cls: type[Policy], scenario: Scenario, names: list[str], at: str,
                           given: Mapping[str, Any]) -> dict[str, Any] | None:
    """Base-stock levels: Clark–Scarf, the exactly priced one-site lost-sales level, a search, or a site's
    best response to the others."""
    if cls is EchelonBaseStock and names == ["levels"]:
        return {"levels": optimal_levels(scenario, local=False).echelon_levels.tolist()}
    if cls is BaseStock and names == ["levels"]:
        try:  # the equivalent local levels, exact on serial chains (agents.heuristics)
            return {"levels": optimal_levels(scenario, method="exact").local_levels.tolist()}
        except ConfigError:
            pass
        if _lost_sales_site(scenario) is not None:
            return {"levels": [float(best_base_stock(_lost_sales_site(scenario))[0])]}
        return {"levels": search_levels(scenario, kind="installation").levels.tolist()}
    if cls is SiteResponse and names == ["level"]:
        try:  # checks the site and the others' policy
            placed = SiteResponse(scenario, **{**dict(given), "level": 0.0})
        except ConfigError as exc:
            raise ConfigError(f"{at}{exc}") from None
        return {"level": best_site_response(scenario, placed.site, placed.others).level.item()}
    return None


def _priced_parameters(cls: type[Policy], scenario: Scenario, names: list[str], at: str,
                       given: Mapping[str, Any]) -> dict[str, Any] | None:
    """A capped base-stock policy's level and cap, and a constant order, priced exactly on one-site lost sales."""
    where = f"{at}policy '{cls.name}'"
    if cls is CappedBaseStock and sorted(names) == ["cap", "levels"]:
        (level, cap), _ = best_capped_base_stock(_needs_lost_sales_site(scenario, where))
        return {"levels": float(level), "cap": float(cap)}
    if cls is Constant and names == ["quantity"]:
        return {"quantity": float(best_constant_order(_needs_lost_sales_site(scenario, where))[0])}
    return None


def _lost_sales_site(scenario: Scenario) -> SiteModel | None:
    """The model of a one-site lost-sales scenario, else None."""
    try:
        model = single_site_model(scenario, "exact pricing")
    except ConfigError:
        return None
    return model if model.lost_sales else None


def _needs_lost_sales_site(scenario: Scenario, where: str) -> SiteModel:
    model = _lost_sales_site(scenario)
    if model is None:
        raise ConfigError(f"{where}: 'optimal' parameters are priced exactly on one-site lost-sales scenarios "
                          f"('{scenario.name}' is not one)")
    return model
