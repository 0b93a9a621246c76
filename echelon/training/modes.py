"""What one model controls: the modes of ``echelon train``, one table (:data:`MODES`).

Each mode lays out the run's model groups: a name (the files ``models/<name>.*``), the sites the
group's model orders for, and whether it takes one joint action for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from echelon.envs.scenario import Scenario

Layout = list[tuple[str, list[str], bool]]
"""Model groups: (name, sites, joint)."""


def module_name(site: str) -> str:
    """A model group's name for one site: its name with a product node's '/' as '__', so it names a file
    (``models/store__cola.zip``) and an RLlib module (whose ids may not hold '/')."""
    return site.replace("/", "__")


@dataclass(frozen=True)
class Mode:
    """One way to assign sites to models."""

    name: str
    summary: str
    groups: Callable[[Any, Scenario], Layout]
    """The model groups of a config (its ``site`` for single_site) on a scenario."""
    joint: bool = False
    """Its one model takes one joint action for every site (no per-site action slots)."""


MODES: dict[str, Mode] = {m.name: m for m in (
    Mode("shared", "one policy for every site (parameter sharing)",
         lambda config, scen: [("shared", list(scen.site_names), False)]),
    Mode("central", "one controller orders for all sites jointly",
         lambda config, scen: [("central", list(scen.site_names), True)], joint=True),
    Mode("single_site", "one site learns among fixed other policies",
         lambda config, scen: [(module_name(config.site), [config.site], False)]),
    Mode("independent", "a model per site",
         lambda config, scen: [(module_name(n), [n], False) for n in scen.site_names]),
    Mode("hybrid", "a central planner sets targets, the sites adjust them",
         lambda config, scen: [("planner", list(scen.site_names), True), ("sites", list(scen.site_names), False)]),
)}
