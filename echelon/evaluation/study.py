"""``echelon study centralization``: where does each control structure win? A map over the seeds' factors.

The config (:mod:`evaluation.study_config`) names the networks and the axes. In
every cell (one value per axis) of every network, each structure of
:mod:`agents.control` is set at its best under its own information (levels
searched for the team from two starts and checked by a second method,
:mod:`agents.tuning`; selfish sites at their Nash equilibrium,
:mod:`agents.nash`), then all run on the same episodes. A cell names a winner
only when it is cheaper than every other structure beyond the 95% interval of
the paired difference and by at least :data:`PRACTICAL`; otherwise the cell is
a tie between the cheapest and every structure not surely worse than it.
The report, map and recommendation are :mod:`evaluation.study_report`'s; the
"buying power" row (a purchase order's fixed cost, consolidated by a centre) is
:mod:`evaluation.buying_power`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from echelon.agents.control import Centralized, Local
from echelon.agents.nash import nash_levels
from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.agents.run_record import read_run_config
from echelon.agents.tuning import Tuned, standard_levels, tune_centralized, tune_hybrid, tune_local
from echelon.envs.information import CentralView, LocalSkill
from echelon.envs.scenario import Scenario, load_scenario
from echelon.envs.simulator import ChunkedEpisode, Episode
from echelon.evaluation.metrics import Estimate, Metrics, measure, paired_difference
from echelon.evaluation.rollout import common_episodes
from echelon.evaluation.study_config import StudyConfig, cell_points, cell_scenario

STRUCTURES = ("centralized", "hybrid", "decentralized", "decentralized selfish", "naive")
"""The control structures every cell compares (module docstring of :mod:`agents.control`)."""
TUNED = ("centralized", "decentralized", "hybrid")
"""The structures tuned for the team with a second method's check (:mod:`agents.tuning`)."""
SHORT = {"centralized": "central", "hybrid": "hybrid", "decentralized": "local",
         "decentralized selfish": "selfish", "naive": "naive", "learned": "learned"}
PRACTICAL = 0.005  # a saving under this share of the runner-up's cost is reported as a tie, however sure
CATEGORIES = (*STRUCTURES, "learned", "tie", "tie, sites decide")  # the map's colours (Cell.category)
NASH_MAX_SITES = 12
"""Largest network whose selfish equilibrium the study searches (best responses site by site take minutes
beyond; ``echelon nash`` computes it for any network)."""
NASH_EPISODES_MIN = 20
"""The selfish equilibrium is searched on half the search's episodes, at least this many (best-response
iteration simulates every site's grid of levels in turn: the study's slowest search)."""
STANDARD = "centralized, standard safety stock"
"""The centralized planner at one 95% cycle-service target everywhere (:func:`agents.tuning.standard_levels`)."""


@dataclass(frozen=True)
class Evidence:
    """How a structure's levels were found, and a second method's answer on the same episodes."""

    method: str
    check_method: str = ""
    check: Estimate | None = None  # the second method's cost per period on the cell's episodes
    difference: Estimate | None = None  # paired: the second method's cost less the study's
    exact: float | None = None  # theory's optimal cost per period, where it applies

    def agrees(self, cost: float) -> bool:
        """Whether the second method is no cheaper than the study's figure beyond the 95% interval and
        :data:`PRACTICAL`."""
        if self.difference is None:
            return True
        d = self.difference
        return d.mean + d.half_width >= 0 or -d.mean < PRACTICAL * cost


@dataclass
class Cell:
    """One network at one point of the axes: every structure's metrics, the leaders, the evidence."""

    scenario: str
    point: dict[str, Any]  # the cell's value of every axis (evaluation.study_config.AXES)
    metrics: dict[str, Metrics]  # per structure, on the same episodes
    described: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    demand_cv: float = float("nan")  # measured coefficient of variation of customer demand, extra demand included
    extra: dict[str, Metrics] = field(default_factory=dict)  # policies measured beside the structures (claims)
    band: tuple[float, ...] = ()  # the tuned hybrid's band per site (inf: unlimited)

    @property
    def delay(self) -> int:
        return self.point["delay"]

    @property
    def notice(self) -> int:
        return self.point["notice"]

    @property
    def lift(self) -> float:
        return self.point["lift"]

    @property
    def cost(self) -> dict[str, Estimate]:
        """Team cost per period of every structure."""
        return {s: m.cost for s, m in self.metrics.items()}

    def versus(self, structure: str, baseline: str) -> Estimate:
        """Paired difference of team cost per period, ``structure`` less ``baseline``, episode by episode."""
        return Estimate.of(self.metrics[structure].episode_cost - self.metrics[baseline].episode_cost)

    def surely_worse(self, structure: str, than: str) -> bool:
        """Whether ``structure`` costs more than ``than`` beyond the paired 95% interval and by at least
        :data:`PRACTICAL` of the larger cost."""
        gap = self.versus(structure, than)
        return gap.mean - gap.half_width > 0 and gap.mean >= PRACTICAL * self.cost[structure].mean

    @property
    def ranking(self) -> list[str]:
        """Every structure, cheapest first."""
        return sorted(self.metrics, key=lambda s: self.cost[s].mean)

    @property
    def leaders(self) -> tuple[str, ...]:
        """The cheapest structure and every one not surely worse than it (cheapest first)."""
        best, *rest = self.ranking
        return (best, *(s for s in rest if not self.surely_worse(s, best)))

    @property
    def winner(self) -> str | None:
        """The structure surely cheaper than every other (:meth:`surely_worse`); None for a tie."""
        return self.leaders[0] if len(self.leaders) == 1 else None

    @property
    def label(self) -> str:
        """The winner's short name, or the tied ones joined by '=' (in :data:`STRUCTURES` order)."""
        order = {s: i for i, s in enumerate(STRUCTURES)}
        return " = ".join(short(s) for s in sorted(self.leaders, key=lambda s: order.get(s, len(order))))

    @property
    def category(self) -> str:
        """The map's colour: the winner's, ``tie`` where centralized control is among the leaders, else
        ``tie, sites decide`` (the tied structures all let the sites order on their own data)."""
        win = self.winner
        if win is not None:
            return "learned" if win.startswith("learned") else win
        return "tie" if "centralized" in self.leaders else "tie, sites decide"


def short(structure: str) -> str:
    return "learned" if structure.startswith("learned") else SHORT[structure]


def _runs_for(config: StudyConfig, scen: Scenario) -> list[tuple[str, Path]]:
    """The learned runs trained on this cell's network, demand and information model: (label, folder)."""

    out = []
    for run in config.learned:
        trained = load_scenario(read_run_config(run)["scenario"])
        same = (trained.sites == scen.sites and dict(trained.demand) == dict(scen.demand)
                and trained.information == scen.information)
        if same:
            out.append((f"learned {read_run_config(run).get('name', run.name)}", run))
    return out


def demand_cv(scenario: Scenario, episode: Episode | ChunkedEpisode) -> float:
    """The coefficient of variation std/mean of one period's customer demand (extra demand included),
    averaged over the customer-facing sites: how variable the study's lift makes demand."""
    sites = [i for i, name in enumerate(scenario.site_names) if name in scenario.demand]
    reader = episode.start()
    total = squares = 0.0
    for t in range(scenario.periods):  # period by period: a chunked episode is never held whole
        rows = reader.demand_at(t)[:, sites]
        total, squares = total + rows.sum(axis=0), squares + (rows * rows).sum(axis=0)
    n = scenario.periods * len(rows)
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean * mean, 0.0))
    return float(np.mean(std / mean))


def _evidence(tuned: Tuned, chosen: Metrics, check: Metrics | None) -> Evidence:
    if check is None:
        return Evidence(tuned.method, exact=tuned.exact_cost)
    return Evidence(tuned.method, tuned.check_method, check.cost, paired_difference(check, chosen), tuned.exact_cost)


def run_cell(config: StudyConfig, scen: Scenario, point: dict[str, Any], cache: dict[str, Any]) -> Cell:
    """One cell: every structure tuned under the cell's information and run on the same episodes.

    ``cache`` holds what earlier cells tuned: the centralized levels do not depend on the sites' skill, the
    decentralized ones (team and selfish) not on the planner's data, so each is tuned once per scenario
    that differs in what it depends on.
    """
    episodes, seed = config.search_episodes, config.seed
    info = scen.information
    for_central = repr(dataclasses.replace(scen, information=dataclasses.replace(info, local=LocalSkill())))
    for_local = repr(dataclasses.replace(scen, information=dataclasses.replace(info, central=CentralView())))
    central = _cached(cache, "central " + for_central, lambda: tune_centralized(scen, episodes, seed))
    local = _cached(cache, "local " + for_local, lambda: tune_local(scen, episodes, seed, central.policy.levels))
    hybrid = tune_hybrid(scen, central.policy, local.policy, episodes, seed)
    policies: dict[str, Policy] = {
        "centralized": central.policy, "hybrid": hybrid.policy, "decentralized": local.policy,
        "naive": make_policy("forecast_base_stock", scen),
    }
    if len(scen.sites) <= NASH_MAX_SITES:
        selfish = _cached(cache, "selfish " + for_local, lambda: nash_levels(
            scen, knowledge=True, episodes=max(NASH_EPISODES_MIN, episodes // 2), seed=seed,
            team=local.policy.levels).levels.tolist())
        policies["decentralized selfish"] = Local(scen, levels=selfish, knowledge=True)
    for label, run in _runs_for(config, scen):
        policies[label] = make_policy({"policy": "learned", "run": str(run)}, scen, where=f"{config.source}")
    episode = common_episodes(scen, config.episodes, config.seed)

    def measured(policy: Policy) -> Metrics:
        return measure(policy, scen, config.episodes, config.seed, episode, config.warmup)[0]

    metrics = {label: measured(policy) for label, policy in policies.items()}
    evidence = {label: _evidence(tuned, metrics[label], measured(tuned.check) if tuned.check else None)
                for label, tuned in (("centralized", central), ("decentralized", local))}
    standard = measured(Centralized(scen, levels=standard_levels(scen)))
    cell = Cell(scen.name, dict(point), metrics, {label: policy.describe() for label, policy in policies.items()},
                evidence, demand_cv(scen, episode), {STANDARD: standard}, tuple(hybrid.policy.band.tolist()))
    special = better_special(cell)
    evidence["hybrid"] = Evidence(hybrid.method, f"its special cases (band 0: centralized; unlimited: "
                                  f"decentralized), the better being {special}", metrics[special].cost,
                                  paired_difference(metrics[special], metrics["hybrid"]))
    return cell


def _cached(cache: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    if key not in cache:
        cache[key] = make()
    return cache[key]


def better_special(cell: Cell) -> str:
    """The cheaper of the hybrid's two special cases, centralized and decentralized."""
    return min(("centralized", "decentralized"), key=lambda k: cell.cost[k].mean)


def run_study(config: StudyConfig, advance: Callable[[str], None] | None = None) -> list[Cell]:
    """Every cell of every scenario (module docstring); ``advance(message)`` after each cell."""
    cells = []
    for base in config.scenarios:
        cache: dict[str, Any] = {}
        for point in cell_points(config):
            cells.append(run_cell(config, cell_scenario(config, base, point), point, cache))
            if advance:
                advance(f"{base.name}: " + ", ".join(f"{a} {point[a]}" for a in config.varied))
    return cells
