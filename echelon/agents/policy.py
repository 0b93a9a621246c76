"""The policy interface: a batch of core states in, order quantities for every site out.

Heuristics, exact optima and learned models all implement :class:`Policy`, so
the same rollout code (:mod:`evaluation`) compares them on the same demand.
A policy is built for one scenario (it resolves per-site parameters by site
name once), then, per batch of episodes::

    policy.reset(batch, rng)          # episode memory, random draws
    orders = policy.act(state)        # [batch, sites], >= 0
    orders = policy.decide(knowledge) # the same, from what each role may know (envs.information)

``act`` sees the whole :class:`~envs.core.State`; a policy that should only
use a site's local information (every heuristic here) reads just that site's
column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.information import Knowledge
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario

SiteValues = float | Sequence[float] | Mapping[str, float]
"""A per-site parameter: one number for every site, a list in site order, or ``{site: number}``."""


class Policy:
    """Maps a batch of states to orders ``[batch, sites]``.

    Subclasses set ``name`` (the registry key) and implement :meth:`act`;
    those with memory or randomness also override :meth:`reset`.
    """

    name: ClassVar[str] = ""
    nested: ClassVar[tuple[str, ...]] = ()
    """Parameters that are policies: a spec gives them as policy specs, and the registry
    (:func:`agents.registry.make_policy`) builds them and hands the policies in."""
    implied: ClassVar[tuple[str, ...]] = ()
    """Policy parameters a spec does not give but implies (:meth:`implied_specs`); built likewise."""

    @classmethod
    def implied_specs(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """The policy specs of the :attr:`implied` parameters, read from the ``given`` ones (none here)."""
        return {}

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.params = CoreParams.from_scenario(scenario)

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        """Start a new batch of episodes (clear memory, take the random stream)."""

    def act(self, state: State) -> np.ndarray:
        """Orders ``[batch, sites]`` placed at the end of the period that ``state`` ends."""
        raise NotImplementedError

    def decide(self, knowledge: Knowledge) -> np.ndarray:
        """Orders from what the policy's roles may know (:mod:`envs.information`): by default, the current state.

        Policies that use the central planner's view or the sites' advance demand override this; the
        simulator's :meth:`~envs.simulator.Simulator.knowledge` is what callers pass.
        """
        return self.act(knowledge.state)

    def describe(self) -> str:
        """A short label with the parameters, for tables and reports."""
        return self.name


def per_site(value: Any, scenario: Scenario, where: str, *, minimum: float | None = None,
             whole: bool = False, infinite: bool = False) -> np.ndarray:
    """Resolve a :data:`SiteValues` parameter to a float array in site order (``infinite``: ``inf`` allowed).

    Raises :class:`ConfigError` naming ``where`` (e.g. ``policy 'base_stock': levels``)
    for a wrong count, an unknown or missing site, or a value out of range.
    """
    raw = _site_list(value, scenario.site_names, where)
    return np.array([_site_number(v, name, where, minimum, whole, infinite)
                     for name, v in zip(scenario.site_names, raw, strict=True)])


def _site_list(value: Any, names: tuple[str, ...], where: str) -> list[Any]:
    """A :data:`SiteValues` parameter as one raw value per site, in site order."""
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ConfigError(f"{where}: unknown site '{unknown[0]}' (sites: {', '.join(names)})")
        missing = [n for n in names if n not in value]
        if missing:
            raise ConfigError(f"{where}: no value for site '{missing[0]}' (give every site, or one number)")
        return [value[n] for n in names]
    if isinstance(value, str | bytes) or value is None:
        raise ConfigError(f"{where}: must be a number, a list or a {{site: number}} mapping (got {value!r})")
    if isinstance(value, Sequence) or isinstance(value, np.ndarray):
        raw = list(value)
        if len(raw) != len(names):
            raise ConfigError(f"{where}: expected {len(names)} values, one per site ({', '.join(names)}), "
                              f"got {len(raw)}")
        return raw
    return [value] * len(names)


def _site_number(v: Any, name: str, where: str, minimum: float | None, whole: bool, infinite: bool) -> float:
    """One site's value, checked: a number, finite unless ``infinite``, at least ``minimum``, whole if asked."""
    number = not isinstance(v, bool) and isinstance(v, int | float | np.integer | np.floating)
    if not number or not (math.isfinite(v) or (infinite and v == math.inf)):
        raise ConfigError(f"{where}: site '{name}': must be a {'' if infinite else 'finite '}number (got {v!r})")
    if minimum is not None and v < minimum:
        raise ConfigError(f"{where}: site '{name}': must be >= {minimum:g} (got {v!r})")
    if whole and not float(v).is_integer():
        raise ConfigError(f"{where}: site '{name}': must be a whole number (got {v!r})")
    return float(v)


LABEL_SITES = 12
"""Most per-site values a label lists; a larger network's label lists the first and the range."""


def site_label(values: np.ndarray) -> str:
    """Per-site values for a table: ``6.5/12/22.7``, or ``17`` when every site has the same; beyond
    :data:`LABEL_SITES` sites, the first ones and the range (``6/5/... 3,860 sites, 0 to 11870``)."""
    if len(values) and np.all(values == values[0]):
        return f"{values[0]:g}"
    if len(values) > LABEL_SITES:
        head = "/".join(f"{v:g}" for v in values[:LABEL_SITES // 2])
        return f"{head}/... ({len(values):,} sites, {np.min(values):g} to {np.max(values):g})"
    return "/".join(f"{v:g}" for v in values)
