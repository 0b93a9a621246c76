"""A class game's setup, chosen in the teacher's page: costs, delays, stock and demand over a built-in game.

The teacher picks a game (the beer game, the DQN paper's, a YAML file on the server) and may change, for
every site at once or site by site, the holding and backlog costs, the shipping lead time, the order
delay and the opening stock, and the customer demand (Sterman's step, the DQN paper's uniform, a list
typed week by week, or any other demand kind a scenario file takes). The result is the game's scenario
file with those fields replaced, checked by the very declarations that check a scenario file on the
command line (:func:`echelon.envs.scenario.parse_scenario`), so a wrong value gets the same one-line
message, naming the field and the site, prefixed ``setup:``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from echelon.envs.errors import ConfigError
from echelon.envs.scenario import Scenario, parse_scenario, read_yaml, resolve_scenario_path

SITE_FIELDS = ("holding_cost", "backlog_cost", "lead_time", "order_delay", "initial_inventory")
"""The site fields a setup may change (one value for every site, or one per site)."""


class Setup(BaseModel):
    """What the teacher changed from the game's own file; the values are checked by the scenario's
    declarations (:mod:`echelon.envs.scenario_schema`), not here."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    holding_cost: Any = None
    """h: cost per unit on hand per week, one number for every site or a list with one per site."""
    backlog_cost: Any = None
    """b: cost per unit owed per week (every site, or one per site)."""
    lead_time: Any = None
    """L: weeks a shipment travels (the factory's: production), every site or one per site."""
    order_delay: Any = None
    """Weeks an order takes to reach the supplier (every site, or one per site)."""
    initial_inventory: Any = None
    """Units on hand when the game starts (every site, or one per site)."""
    demand: Any = None
    """Customer demand: ``{kind: step, before: 4, after: 8, at: 4}``, ``{kind: uniform, low: 0, high: 2}``,
    ``{kind: sequence, values: [4, 4, 8, ...]}`` (one per week), or any demand kind of a scenario file."""


def scenario_of(base: str, weeks: int, setup: Setup | None) -> str | Scenario:
    """The scenario a class game plays: ``base`` itself, or its file with the setup's changes (validated;
    a :class:`ConfigError` line prefixed ``setup:`` when a value is wrong; relative paths in the file stay
    relative to its folder)."""
    if setup is None or not setup.model_dump(exclude_none=True):
        return base
    path = resolve_scenario_path(base)
    raw = copy.deepcopy(read_yaml(path))
    sites = raw.get("sites") if isinstance(raw, Mapping) else None
    if not isinstance(sites, list) or not all(isinstance(s, Mapping) and "name" in s for s in sites):
        raise ConfigError(f"setup: {base} does not list its sites one by one; change its file instead")
    names = [str(s["name"]) for s in sites]
    for field in SITE_FIELDS:
        value = getattr(setup, field)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value] * len(sites)
        if len(values) != len(sites):
            raise ConfigError(f"setup: {field}: give one value for every site or one per site ({len(sites)}: "
                              f"{', '.join(names)}; got {len(values)})")
        for site, v in zip(sites, values, strict=True):
            site[field] = v
    if setup.demand is not None:
        raw["demand"] = {site: setup.demand for site in raw.get("demand") or {names[0]: None}}
    raw["periods"] = weeks
    return parse_scenario(raw, "setup", path.parent, default_name=path.stem)
