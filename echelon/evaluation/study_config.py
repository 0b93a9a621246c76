"""A centralization study's config: the networks, the axes of the map, and each cell's scenario.

A study config (YAML, ``configs/studies/``)::

    name: centralization
    scenarios: [textbook_serial, distribution, three_echelon]   # network complexity
    axes:                        # every combination is one cell (one list: one value)
      delay: [0, 1, 3]           # periods the central planner's data lag behind
      skill: [1.0, 0.7, 0.4]     # how well the sites carry out their own rules (envs.information)
      demand_cv: [null, 1.0]     # customers' demand CV (null: the scenario's own; else negative binomial)
      notice: [0]                # periods ahead sites learn of extra demand
      lift: [0]                  # extra demand, x the site's mean demand (0: none)
      record_error: [0.0]        # relative error of the planner's on-hand records
      review_period: [1]         # the planner re-plans every so many periods
    map: {x: skill, y: delay}    # the axes inside each panel; panels: scenarios x the other axes
    advance_demand: {rate: 0.2}  # how often a period carries extra demand
    purchase_order_cost: 40      # K per purchase order to the outside supplier ("buying power")
    episodes: 300                # per structure and cell, common random numbers
    search_episodes: 200         # per candidate while levels are searched
    periods: 100
    warmup: 20
    seed: 0
    ray: {address: auto}         # optional: the cells as Ray tasks on a cluster (same numbers)

The seeds' three factors are its axes: network complexity (the scenarios),
demand variability (``demand_cv``, ``lift``) and planning maturity (central
data quality: ``delay``, ``record_error``, ``review_period``; local decision
quality: ``skill``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from echelon.agents.run_record import read_run_config
from echelon.envs.demand import NegativeBinomial
from echelon.envs.errors import ConfigError
from echelon.envs.information import AdvanceDemand, CentralView, Information, LocalSkill
from echelon.envs.limits import MAX_BATCH, MAX_LEAD_TIME, MAX_MAGNITUDE, MAX_PERIODS, MAX_SEED
from echelon.envs.scenario import Scenario, load_scenario, read_yaml, resolve_yaml
from echelon.envs.validation import FileName, Float, Int, check_address, parse_model

STUDY_DIR = Path(__file__).resolve().parent.parent / "configs" / "studies"
AXES = ("delay", "skill", "demand_cv", "notice", "lift", "record_error", "review_period")
"""Every axis of a study, in the order cells are run (the inner ones last)."""
Axis = Literal["delay", "skill", "demand_cv", "notice", "lift", "record_error", "review_period"]
MAX_CELLS = 2_000
"""Most cells a study may have (scenarios x every combination of its axes): each is minutes of search."""

Lag = Annotated[Int, Field(ge=0, le=MAX_LEAD_TIME)]
Size = Annotated[Float, Field(ge=0.0, le=MAX_MAGNITUDE)]
Values = Annotated[list[Any], Field(min_length=1, max_length=50)]


class StudyAxes(BaseModel):
    """The map's axes: every combination is one cell."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    delay: Annotated[list[Lag], Field(min_length=1, max_length=50)] = [0, 1, 2, 4]
    """Periods the central planner's data lag behind."""
    skill: Annotated[list[Annotated[Float, Field(ge=0.0, le=1.0)]], Field(min_length=1, max_length=50)] = [1.0]
    """How well the sites carry out their own ordering rules (1: exactly; envs.information)."""
    demand_cv: Annotated[list[Annotated[Float, Field(gt=0.0, le=100.0)] | None],
                         Field(min_length=1, max_length=50)] = [None]
    """Customer demand's coefficient of variation (null: each scenario's own; a number: negative binomial
    demand of the same mean, which needs a CV above the Poisson's 1/sqrt(mean))."""
    notice: Annotated[list[Lag], Field(min_length=1, max_length=50)] = [0]
    """Periods ahead sites learn of extra demand (0: it comes as a surprise)."""
    lift: Annotated[list[Size], Field(min_length=1, max_length=50)] | None = None
    """Extra demand, as a multiple of the site's mean demand (default: advance_demand's lift where some
    notice is above 0, else none)."""
    record_error: Annotated[list[Size], Field(min_length=1, max_length=50)] = [0.0]
    """Standard deviation of the planner's record errors, as a multiple of mean demand."""
    review_period: Annotated[list[Annotated[Int, Field(ge=1, le=MAX_PERIODS)]],
                             Field(min_length=1, max_length=50)] = [1]
    """Periods between the central planner's reviews."""


class MapSpec(BaseModel):
    """Which two axes each panel of the map shows (panels: one column per scenario, one row per combination
    of the other axes)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    x: Axis | None = None
    """The panels' horizontal axis (default: the first of skill, notice, demand_cv, lift, record_error,
    review_period with more than one value)."""
    y: Axis = "delay"
    """The panels' vertical axis."""


class AdvanceDemandSpec(BaseModel):
    """The extra demand sites may learn of ahead of time."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    rate: Annotated[Float, Field(ge=0.0, le=1.0)] = 0.2
    """Chance that a period carries extra demand."""
    lift: Size = 1.0
    """Extra demand, Poisson with this multiple of the site's mean demand (the lift axis's default)."""


class RayPlace(BaseModel):
    """``ray:`` of a study: the cluster its cells run on (:mod:`evaluation.on_ray`)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    address: Annotated[str, Field(min_length=1, strict=True)]
    """'auto' (the cluster this machine belongs to), 'host:port' or 'ray://host:10001'; every node needs
    Echelon installed, and the study's files (YAML scenarios, learned runs) at the same paths."""


class StudyFile(BaseModel):
    """A study config file, declared once (module docstring)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: FileName | None = None
    """The study's name (default: the file's stem)."""
    description: Annotated[str, Field(strict=True)] = ""
    """What the study asks, printed in its report."""
    scenarios: Annotated[list[Annotated[str, Field(min_length=1, strict=True)]], Field(min_length=1)] = [
        "distribution", "textbook_serial"]
    """Built-in scenario names or YAML paths: the network-complexity axis."""
    axes: StudyAxes = StudyAxes()
    """The map's axes (module docstring)."""
    map: MapSpec = MapSpec()
    """The two axes inside each panel of the map."""
    advance_demand: AdvanceDemandSpec = AdvanceDemandSpec()
    """rate and lift of the extra demand."""
    purchase_order_cost: Annotated[Float, Field(gt=0.0, le=MAX_MAGNITUDE)] | None = None
    """K: the fixed cost of one purchase order to the outside supplier, for the "buying power" row (null: not
    measured): sites ordering separately pay it per order each, the centre once for a consolidated order
    (evaluation.buying_power)."""
    learned: list[Annotated[str, Field(strict=True)]] = []
    """Trained run folders (relative to this file), each evaluated in the cells of its scenario."""
    episodes: Annotated[Int, Field(ge=2, le=MAX_BATCH)] = 300
    """Episodes per structure and cell (at least 2, for a confidence interval)."""
    search_episodes: Annotated[Int, Field(ge=2, le=MAX_BATCH)] = 200
    """Episodes per candidate when searching each structure's best levels."""
    periods: Annotated[Int, Field(ge=2, le=MAX_PERIODS)] = 100
    """Periods per episode."""
    warmup: Annotated[Int, Field(ge=0, le=MAX_PERIODS)] = 20
    """Periods at an episode's start left out of the costs."""
    seed: Annotated[Int, Field(ge=0, le=MAX_SEED)] = 0
    """The episodes' seed."""
    ray: RayPlace | None = None
    """Run the cells as Ray tasks on a cluster (``echelon study --ray ADDRESS`` does too); null: here."""


@dataclass(frozen=True)
class StudyConfig:
    """A validated study config (module docstring)."""

    name: str
    description: str
    scenarios: tuple[Scenario, ...]
    axes: dict[str, tuple[Any, ...]]  # every axis of AXES, its values
    x: str  # the map's axes
    y: str
    rate: float
    purchase_order_cost: float | None  # K of the buying-power row (evaluation.buying_power)
    learned: tuple[Path, ...]  # trained run folders, each evaluated in the cells of its scenario and information
    episodes: int
    search_episodes: int
    periods: int
    warmup: int
    seed: int
    source: str
    ray_address: str | None = None  # the cells as Ray tasks on this cluster (None: here)

    @property
    def delays(self) -> tuple[int, ...]:
        return self.axes["delay"]

    @property
    def varied(self) -> list[str]:
        """The axes with more than one value."""
        return [a for a in AXES if len(self.axes[a]) > 1]

    def quick(self) -> StudyConfig:
        """The map's corners in about a minute: the map's two axes at their first and last values, every other
        axis at its first, fewer and shorter episodes (for CI and a first look)."""
        axes = {a: tuple(dict.fromkeys((v[0], v[-1]))) if a in (self.x, self.y) else v[:1]
                for a, v in self.axes.items()}
        periods = min(self.periods, 60)
        return dataclasses.replace(
            self, axes=axes, episodes=min(self.episodes, 100), search_episodes=min(self.search_episodes, 50),
            periods=periods, warmup=min(self.warmup, 10),
            scenarios=tuple(s.with_periods(periods) for s in self.scenarios))


def load_study(name_or_path: str | Path, scenarios: list[str] | None = None) -> StudyConfig:
    """Read and validate a study config; one :class:`ConfigError` line per problem, naming file and key.

    ``scenarios``: the networks to map instead of the config's (``--scenario``), each with its own demand
    (the demand-variability axis is left out).
    """
    path = resolve_yaml(name_or_path, STUDY_DIR, "study")
    src = str(path)
    spec = parse_model(StudyFile, read_yaml(path), src)
    if spec.warmup >= spec.periods - 1:
        raise ConfigError(f"{src}: 'warmup' {spec.warmup} leaves too few of the {spec.periods} periods")
    if spec.ray is not None:
        check_address(spec.ray.address, f"{src}: ray: address")
    loaded = _scenarios(scenarios, spec, src)
    values = _axis_values(spec, own_network=bool(scenarios), src=src)
    for scen in loaded:
        for cv in values["demand_cv"]:
            if cv is not None:
                _check_cv(scen, cv, f"{src}: axes.demand_cv")
    varied = [a for a in AXES if len(values[a]) > 1]
    x = spec.map.x or next((a for a in varied if a != spec.map.y), next(a for a in AXES if a != spec.map.y))
    if x == spec.map.y:
        raise ConfigError(f"{src}: map: x and y are both '{x}'")
    cells = len(loaded) * math.prod(len(v) for v in values.values())
    if cells > MAX_CELLS:
        raise ConfigError(f"{src}: axes: {cells:,} cells (scenarios x every combination of the axes) is more than "
                          f"{MAX_CELLS:,}; each takes seconds to minutes of search: give fewer values")
    return StudyConfig(
        name=spec.name or path.stem, description=spec.description.strip(), scenarios=tuple(loaded), axes=values,
        x=x, y=spec.map.y, rate=spec.advance_demand.rate, purchase_order_cost=spec.purchase_order_cost,
        learned=_learned_runs(spec.learned, src, path),
        episodes=spec.episodes, search_episodes=spec.search_episodes, periods=spec.periods, warmup=spec.warmup,
        seed=spec.seed, source=src, ray_address=spec.ray.address if spec.ray is not None else None,
    )


def _scenarios(names: list[str] | None, spec: StudyFile, src: str) -> list[Scenario]:
    """The networks mapped (``--scenario`` names, else the config's), at the study's horizon."""
    loaded = []
    for i, name in enumerate(names or spec.scenarios):
        where = f"--scenario {name}" if names else f"{src}: scenarios[{i}]"
        if not name.strip():
            raise ConfigError("--scenario: give a built-in scenario's name or a YAML path (got an empty one)")
        try:
            loaded.append(load_scenario(name).with_periods(spec.periods))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return loaded


def _axis_values(spec: StudyFile, own_network: bool, src: str) -> dict[str, tuple[Any, ...]]:
    """Each axis's values, none given twice; a planner's own network keeps its own demand (no demand axis)."""
    axes = spec.axes
    lifts = axes.lift if axes.lift is not None else (
        [spec.advance_demand.lift] if any(n > 0 for n in axes.notice) else [0.0])
    values: dict[str, tuple[Any, ...]] = {
        "delay": tuple(axes.delay), "skill": tuple(axes.skill),
        "demand_cv": (None,) if own_network else tuple(axes.demand_cv),
        "notice": tuple(axes.notice), "lift": tuple(float(v) for v in lifts),
        "record_error": tuple(axes.record_error), "review_period": tuple(axes.review_period)}
    for axis, vals in values.items():
        if len(set(vals)) != len(vals):
            raise ConfigError(f"{src}: axes.{axis}: a value is given twice ({list(vals)})")
    return values


def _check_cv(scenario: Scenario, cv: float, where: str) -> None:
    """A demand CV every customer-facing site of ``scenario`` can take (negative binomial: above the Poisson's)."""
    for site, model in scenario.demand.items():
        if cv * cv * model.mean <= 1.0 + 1e-9:
            raise ConfigError(f"{where}: {cv:g} is not above the Poisson CV 1/sqrt(mean) = "
                              f"{1 / math.sqrt(model.mean):.3g} of '{site}' in scenario '{scenario.name}' "
                              f"(negative binomial demand needs more variability than Poisson)")


def _learned_runs(raw: Any, src: str, path: Path) -> tuple[Path, ...]:
    """The ``learned`` run folders (relative to the study file), each checked to be a run folder now."""

    runs = []
    for i, name in enumerate(raw):
        run = Path(name) if Path(name).is_absolute() or Path(name).exists() else path.parent / name
        try:
            read_run_config(run)
        except ConfigError as exc:
            raise ConfigError(f"{src}: learned[{i}]: {exc}") from None
        runs.append(run)
    return tuple(runs)


def cell_points(config: StudyConfig) -> list[dict[str, Any]]:
    """The axis values of every cell of one scenario, in :data:`AXES` order (the last varies fastest, except
    that delay, which only the central structures depend on, is innermost); with no extra demand (lift 0)
    there is nothing to know ahead, so only the first notice is run."""
    outer = [a for a in AXES if a != "delay"]
    points = []
    for combo in itertools.product(*(config.axes[a] for a in outer)):
        point = dict(zip(outer, combo, strict=True))
        if point["lift"] == 0 and point["notice"] != config.axes["notice"][0]:
            continue
        points += [{"delay": d, **point} for d in config.axes["delay"]]
    return points


def study_cell_count(config: StudyConfig) -> int:
    """How many cells a study evaluates."""
    return len(config.scenarios) * len(cell_points(config))


SEARCH_CANDIDATES = 300
"""About how many candidates a cell's searches evaluate (three structures' compass searches from two starts,
the hybrid's bands, the selfish equilibrium), for the work estimate."""


def study_site_steps(config: StudyConfig) -> float:
    """An estimate of the site-periods a study simulates: per cell, the searches' candidates on the search
    episodes and every structure on the cell's episodes."""
    per_cell = config.search_episodes * SEARCH_CANDIDATES + config.episodes * 10
    return float(sum(len(s.sites) * s.periods for s in config.scenarios) * len(cell_points(config)) * per_cell)


def cell_scenario(config: StudyConfig, scenario: Scenario, point: dict[str, Any]) -> Scenario:
    """The scenario at one cell: its information model (the extra demand is drawn even when nobody knows of
    it ahead: notice 0 means a surprise) and its customers' demand variability."""
    lift = point["lift"]
    advance = AdvanceDemand(point["notice"], config.rate, lift) if lift > 0 else None
    central = CentralView(point["delay"], point["record_error"], point["review_period"])
    info = Information(advance, central, LocalSkill(point["skill"]))
    demand = scenario.demand
    if point["demand_cv"] is not None:
        demand = {site: NegativeBinomial(model.mean, point["demand_cv"]) for site, model in demand.items()}
    return dataclasses.replace(scenario, information=info, demand=demand)
