"""``echelon study centralization``: where does each control structure win? A map over the information model.

A study config (YAML, ``configs/studies/``)::

    name: centralization
    scenarios: [distribution, textbook_serial]
    axes:
      delay: [0, 1, 2, 4]      # periods the central planner's data lag behind
      notice: [0, 1, 3]        # periods ahead sites learn of extra demand
      lift: [0.5, 2.0]         # how big extra demand is, as a multiple of the site's mean demand
    advance_demand: {rate: 0.2}   # how often a period carries extra demand
    record_error: 0.0          # relative error of the planner's on-hand records
    review_period: 1           # the planner re-plans every so many periods
    hybrid_max_adjust: 1.0     # a hybrid site's adjustment, at most this x mean demand through it
    episodes: 300              # per structure and cell, common random numbers
    search_episodes: 100       # per candidate while levels are searched
    periods: 100
    warmup: 20
    seed: 0

In every cell (one value per axis) of every scenario, each structure of
:mod:`agents.control` is set at its best under its own information (levels
searched for the team; selfish sites at their Nash equilibrium,
:mod:`agents.nash`), then all run on the same episodes. The winner is the
cheapest; its margin over the centralized structure is a paired difference
with a 95% interval.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.envs.errors import ConfigError
from echelon.envs.files import Output
from echelon.envs.information import AdvanceDemand, CentralView, Information
from echelon.envs.limits import MAX_BATCH, MAX_LEAD_TIME, MAX_MAGNITUDE, MAX_PERIODS, MAX_SEED
from echelon.envs.scenario import Scenario, load_scenario, read_yaml, resolve_yaml
from echelon.envs.simulator import ChunkedEpisode, Episode
from echelon.envs.validation import Float, Int, parse_model
from echelon.evaluation.metrics import Estimate
from echelon.evaluation.rollout import common_episodes, rollout

STUDY_DIR = Path(__file__).resolve().parent.parent / "configs" / "studies"
STRUCTURES = ("centralized", "hybrid", "decentralized", "decentralized selfish", "naive")
"""The control structures every cell compares (module docstring of :mod:`agents.control`)."""
SHORT = {"centralized": "central", "hybrid": "hybrid", "decentralized": "local",
         "decentralized selfish": "selfish", "naive": "naive", "learned": "learned"}
PRACTICAL = 0.005  # a saving under this share of centralized's cost is reported as a tie, however sure
CATEGORIES = (*STRUCTURES, "learned")  # the map's colours: learned runs share one

@dataclass(frozen=True)
class StudyConfig:
    """A validated study config (module docstring)."""

    name: str
    description: str
    scenarios: tuple[Scenario, ...]
    delays: tuple[int, ...]
    notices: tuple[int, ...]
    lifts: tuple[float, ...]
    rate: float
    record_error: float
    review_period: int
    hybrid_max_adjust: float
    learned: tuple[Path, ...]  # trained run folders, each evaluated in the cells of its scenario and information
    episodes: int
    search_episodes: int
    warmup: int
    seed: int
    source: str


@dataclass
class Cell:
    """One scenario at one delay and notice: every structure's cost, and the winner."""

    scenario: str
    delay: int
    notice: int
    lift: float
    cost: dict[str, Estimate]  # team cost per period
    versus_central: dict[str, Estimate]  # paired: structure - centralized
    described: dict[str, str] = field(default_factory=dict)
    demand_cv: float = float("nan")  # coefficient of variation of customer demand, extra demand included

    def ties_central(self, structure: str) -> bool:
        """Whether ``structure`` is not clearly cheaper than centralized: its paired saving is inside the
        95% interval or below :data:`PRACTICAL` of centralized's cost."""
        gap = self.versus_central[structure]
        return gap.mean + gap.half_width >= 0 or -gap.mean < PRACTICAL * self.cost["centralized"].mean

    @property
    def winner(self) -> str:
        """The cheapest structure where it is clearly cheaper than centralized (:meth:`ties_central`); else
        centralized."""
        best = min(self.cost, key=lambda s: self.cost[s].mean)
        return "centralized" if self.ties_central(best) else best


Lag = Annotated[Int, Field(ge=0, le=MAX_LEAD_TIME)]
Size = Annotated[Float, Field(ge=0.0, le=MAX_MAGNITUDE)]


class StudyAxes(BaseModel):
    """The map's axes: every combination is one cell."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    delay: Annotated[list[Lag], Field(min_length=1)] = [0, 1, 2, 4]
    """Periods the central planner's data lag behind."""
    notice: Annotated[list[Lag], Field(min_length=1)] = [0, 1, 3]
    """Periods ahead sites learn of extra demand (0: it comes as a surprise)."""
    lift: Annotated[list[Size], Field(min_length=1)] | None = None
    """Extra demand, as a multiple of the site's mean demand (default: advance_demand's lift)."""


class AdvanceDemandSpec(BaseModel):
    """The extra demand sites may learn of ahead of time."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    rate: Annotated[Float, Field(ge=0.0, le=1.0)] = 0.2
    """Chance that a period carries extra demand."""
    lift: Size = 1.0
    """Extra demand, Poisson with this multiple of the site's mean demand."""


class StudyFile(BaseModel):
    """A study config file, declared once (module docstring)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: Annotated[str, Field(strict=True)] | None = None
    """The study's name (default: the file's stem)."""
    description: Annotated[str, Field(strict=True)] = ""
    """What the study asks, printed in its report."""
    scenarios: Annotated[list[Annotated[str, Field(min_length=1, strict=True)]], Field(min_length=1)] = [
        "distribution", "textbook_serial"]
    """Built-in scenario names or YAML paths."""
    axes: StudyAxes = StudyAxes()
    """delay, notice and lift: the map's axes."""
    advance_demand: AdvanceDemandSpec = AdvanceDemandSpec()
    """rate and lift of the extra demand."""
    record_error: Size = 0.0
    """Standard deviation of the planner's record errors, as a multiple of mean demand."""
    review_period: Annotated[Int, Field(ge=1, le=MAX_PERIODS)] = 1
    """Periods between the central planner's reviews."""
    hybrid_max_adjust: Size = 1.0
    """The largest move a hybrid site makes to the central target, as a multiple of its mean demand."""
    learned: list[Annotated[str, Field(strict=True)]] = []
    """Trained run folders (relative to this file), each evaluated in the cells of its scenario."""
    episodes: Annotated[Int, Field(ge=2, le=MAX_BATCH)] = 300
    """Episodes per structure and cell (at least 2, for a confidence interval)."""
    search_episodes: Annotated[Int, Field(ge=2, le=MAX_BATCH)] = 100
    """Episodes per candidate when searching each structure's best levels."""
    periods: Annotated[Int, Field(ge=2, le=MAX_PERIODS)] = 100
    """Periods per episode."""
    warmup: Annotated[Int, Field(ge=0, le=MAX_PERIODS)] = 20
    """Periods at an episode's start left out of the costs."""
    seed: Annotated[Int, Field(ge=0, le=MAX_SEED)] = 0
    """The episodes' seed."""


def load_study(name_or_path: str | Path) -> StudyConfig:
    """Read and validate a study config; one :class:`ConfigError` line per problem, naming file and key."""
    path = resolve_yaml(name_or_path, STUDY_DIR, "study")
    src = str(path)
    spec = parse_model(StudyFile, read_yaml(path), src)
    if spec.warmup >= spec.periods - 1:
        raise ConfigError(f"{src}: 'warmup' {spec.warmup} leaves too few of the {spec.periods} periods")
    scenarios = []
    for i, name in enumerate(spec.scenarios):
        try:
            scenarios.append(load_scenario(name).with_periods(spec.periods))
        except ConfigError as exc:
            raise ConfigError(f"{src}: scenarios[{i}]: {exc}") from None
    lifts = spec.axes.lift if spec.axes.lift is not None else [spec.advance_demand.lift]
    return StudyConfig(
        name=spec.name or path.stem, description=spec.description.strip(), scenarios=tuple(scenarios),
        delays=tuple(spec.axes.delay), notices=tuple(spec.axes.notice), lifts=tuple(float(v) for v in lifts),
        rate=spec.advance_demand.rate, record_error=spec.record_error, review_period=spec.review_period,
        hybrid_max_adjust=spec.hybrid_max_adjust, learned=_learned_runs(spec.learned, src, path),
        episodes=spec.episodes, search_episodes=spec.search_episodes, warmup=spec.warmup, seed=spec.seed, source=src,
    )


def _learned_runs(raw: Any, src: str, path: Path) -> tuple[Path, ...]:
    """The ``learned`` run folders (relative to the study file), each checked to be a run folder now."""
    from echelon.agents.learned import read_run_config

    runs = []
    for i, name in enumerate(raw):
        run = Path(name) if Path(name).is_absolute() or Path(name).exists() else path.parent / name
        try:
            read_run_config(run)
        except ConfigError as exc:
            raise ConfigError(f"{src}: learned[{i}]: {exc}") from None
        runs.append(run)
    return tuple(runs)


def _runs_for(config: StudyConfig, scen: Scenario) -> list[tuple[str, Path]]:
    """The learned runs trained on this cell's network and information model: (label, folder)."""
    from echelon.agents.learned import read_run_config

    out = []
    for run in config.learned:
        trained = load_scenario(read_run_config(run)["scenario"])
        same = (trained.sites == scen.sites and dict(trained.demand) == dict(scen.demand)
                and trained.information == scen.information)
        if same:
            out.append((f"learned {read_run_config(run).get('name', run.name)}", run))
    return out


def cell_scenario(config: StudyConfig, scenario: Scenario, delay: int, notice: int, lift: float) -> Scenario:
    """The scenario with the cell's information model (the extra demand is drawn even when nobody knows of it
    ahead: notice 0 means a surprise)."""
    advance = AdvanceDemand(notice, config.rate, lift) if lift > 0 else None
    central = CentralView(delay, config.record_error, config.review_period)
    return dataclasses.replace(scenario, information=Information(advance, central))


def build_structure(label: str, config: StudyConfig, scen: Scenario, levels: list[float] | None = None) -> Policy:
    """A control structure at its best under the cell's information (levels searched unless given)."""
    from echelon.agents.control import Centralized, Hybrid, Local
    from echelon.agents.nash import nash_levels
    from echelon.agents.search import search_levels

    episodes, seed = config.search_episodes, config.seed
    if label == "naive":
        return make_policy("forecast_base_stock", scen)
    if label == "decentralized selfish":
        if levels is None:
            levels = nash_levels(scen, knowledge=True, episodes=episodes, seed=seed).levels.tolist()
        return Local(scen, levels=levels, knowledge=True)
    adjust = [config.hybrid_max_adjust * scen.mean_demand_through(s) for s in scen.site_names]
    cls, options = {"centralized": (Centralized, {}), "hybrid": (Hybrid, {"max_adjust": adjust}),
                    "decentralized": (Local, {"knowledge": True})}[label]
    if levels is None:
        rule = cls.rule(scen, **options)
        levels = search_levels(scen, kind=cls.kind, episodes=episodes, seed=seed, rule=rule).levels.tolist()
    return cls(scen, levels=levels, **options)


def cell_axes(config: StudyConfig) -> list[tuple[float, int, int]]:
    """The (lift, notice, delay) of every cell of one scenario; with no extra demand (lift 0) there is
    nothing to know ahead, so only the first notice is run."""
    return [(lift, notice, delay) for lift in config.lifts for notice in config.notices for delay in config.delays
            if lift > 0 or notice == config.notices[0]]


def study_cell_count(config: StudyConfig) -> int:
    """How many cells :func:`run_study` evaluates."""
    return len(config.scenarios) * len(cell_axes(config))


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


def run_study(config: StudyConfig, advance: Callable[[str], None] | None = None) -> list[Cell]:
    """Every cell of every scenario (module docstring); ``advance(message)`` after each cell.

    Only the centralized structure's levels depend on the planner's delay; the others are searched
    once per notice and reused down the delay axis.
    """
    cells = []
    for base in config.scenarios:
        found: dict[tuple[str, int, float], list[float]] = {}
        for lift, notice, delay in cell_axes(config):
            scen = cell_scenario(config, base, delay, notice, lift)
            episode = common_episodes(scen, config.episodes, config.seed)
            per_episode, described = {}, {}
            for label in STRUCTURES:
                policy = build_structure(label, config, scen, found.get((label, notice, lift)))
                if label not in ("centralized", "naive"):
                    found[(label, notice, lift)] = np.asarray(policy.levels).tolist()
                trajectory = rollout(policy, scen, config.episodes, config.seed, episode)
                per_episode[label] = trajectory.cost.sum(axis=2)[config.warmup:].mean(axis=0)
                described[label] = policy.describe()
            for label, run in _runs_for(config, scen):
                policy = make_policy({"policy": "learned", "run": str(run)}, scen, where=f"{config.source}")
                trajectory = rollout(policy, scen, config.episodes, config.seed, episode)
                per_episode[label] = trajectory.cost.sum(axis=2)[config.warmup:].mean(axis=0)
                described[label] = policy.describe()
            central = per_episode["centralized"]
            cells.append(Cell(
                base.name, delay, notice, lift, {k: Estimate.of(v) for k, v in per_episode.items()},
                {k: Estimate.of(v - central) for k, v in per_episode.items()}, described,
                demand_cv(scen, episode),
            ))
            if advance:
                advance(f"{base.name}: delay {delay}, notice {notice}, lift {lift:g}")
    return cells


# --------------------------------------------------------------------------- output

def sentence(cell: Cell) -> str:
    """The cell in plain words: who wins, by how much against centralized control."""
    size = f"extra demand of {cell.lift:g} x mean" if cell.lift else "no extra demand"
    size += f" (demand CV {cell.demand_cv:.2f})"
    where = (f"{size}, with {cell.delay} period{'s' if cell.delay != 1 else ''} of central data delay and "
             + (f"the extra demand known {cell.notice} period{'s' if cell.notice != 1 else ''} ahead locally"
                if cell.notice else "no local advance knowledge"))
    win = cell.winner
    central = cell.cost["centralized"].mean
    if win == "centralized":
        tie = [s for s, d in cell.versus_central.items()
               if s != "centralized" and (d.mean - d.half_width <= 0 or d.mean < PRACTICAL * central)]
        tied = f" (as good within the 95% interval or {PRACTICAL:.1%}: {', '.join(tie)})" if tie else ""
        return f"{cell.scenario}, {where}: centralized control is best, {central:.2f} per period{tied}."
    gain = -cell.versus_central[win].mean / central
    half = cell.versus_central[win].half_width / central
    return (f"{cell.scenario}, {where}: {win} beats centralized by {gain:.1%} ± {half:.1%} "
            f"({cell.cost[win].mean:.2f} against {central:.2f} per period).")


def results_rows(cells: list[Cell]) -> list[dict[str, Any]]:
    return [
        {"scenario": c.scenario, "delay": c.delay, "notice": c.notice, "lift": c.lift,
         "demand_cv": round(c.demand_cv, 4), "structure": s,
         "cost": c.cost[s].mean, "ci95": c.cost[s].half_width,
         "versus_centralized": c.versus_central[s].mean, "versus_centralized_ci95": c.versus_central[s].half_width,
         "winner": c.winner == s, "policy": c.described.get(s, "")}
        for c in cells for s in c.cost
    ]


def heatmap_png(config: StudyConfig, cells: list[Cell]) -> bytes:
    """One panel per scenario: the winner of every (delay, notice) cell and its margin over centralized."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    colors = {"centralized": "#4c72b0", "hybrid": "#55a868", "decentralized": "#dd8452",
              "decentralized selfish": "#c44e52", "naive": "#8172b3"}
    panels = [(s.name, lf) for lf in config.lifts for s in config.scenarios]
    cols = len(config.scenarios)
    fig = Figure(figsize=(4.6 * cols, 3.8 * len(config.lifts)), layout="constrained")
    axes = fig.subplots(len(config.lifts), cols, squeeze=False).ravel()
    colors["learned"] = "#937860"
    cmap = ListedColormap([colors[s] for s in CATEGORIES])
    for ax, (name, lift) in zip(axes, panels, strict=True):
        grid = np.full((len(config.delays), len(config.notices)), np.nan)
        for c in cells:
            if c.scenario != name or c.lift != lift:
                continue
            i, j = config.delays.index(c.delay), config.notices.index(c.notice)
            category = "learned" if c.winner.startswith("learned") else c.winner
            grid[i, j] = CATEGORIES.index(category)
            d = c.versus_central[c.winner]
            short = SHORT[category]
            label = short if c.winner == "centralized" else f"{short}\n{-d.mean / c.cost['centralized'].mean:+.0%}"
            ax.text(j, i, label, ha="center", va="center", fontsize=7, color="white")
        ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(CATEGORIES) - 0.5, origin="lower", aspect="auto")
        ax.set_xticks(range(len(config.notices)), [str(n) for n in config.notices])
        ax.set_yticks(range(len(config.delays)), [str(d) for d in config.delays])
        ax.set_xlabel("periods of local advance demand notice")
        ax.set_ylabel("periods of central data delay")
        if np.isnan(grid).any():
            ax.text((len(config.notices) - 1) / 2 + 0.5, (len(config.delays) - 1) / 2,
                    "not run:\nnothing to know ahead", ha="center", va="center", fontsize=8, color="grey")
        size = f"extra demand {lift:g} x mean" if lift else "no extra demand"
        cv = next(c.demand_cv for c in cells if c.scenario == name and c.lift == lift)
        ax.set_title(f"{name}, {size} (demand CV {cv:.2f}):\nthe cheapest structure (saving vs centralized)",
                     fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def report_markdown(config: StudyConfig, cells: list[Cell]) -> str:
    lines = [f"# {config.name}: who should decide replenishment?", ""]
    if config.description:
        lines += [config.description, ""]
    lines += [
        f"Every cell runs {len(STRUCTURES)} control structures on the same {config.episodes} episodes of "
        f"{config.scenarios[0].periods} periods (the first {config.warmup} left out). Axes: the central "
        f"planner's data delay ({', '.join(map(str, config.delays))} periods) and how far ahead sites learn of "
        f"extra demand ({', '.join(map(str, config.notices))} periods; a period carries extra demand with "
        f"chance {config.rate:g}, Poisson with mean {' or '.join(f'{lf:g}' for lf in config.lifts)} x mean demand; "
        f"with notice 0 it comes as a surprise; the extra demand also makes demand more variable: its coefficient "
        f"of variation is given with every panel and cell). The planner re-plans every "
        f"{config.review_period} period(s); its on-hand records err by {config.record_error:.0%}. A hybrid site "
        f"adjusts the central target by at most {config.hybrid_max_adjust:g} x its mean demand. A structure "
        f"wins a cell only when it is cheaper than centralized beyond the 95% interval of the paired difference "
        f"and by at least {PRACTICAL:.1%}; a smaller saving is a tie, and ties go to centralized.",
        "",
        "![the map](map.png)", "",
        "## In plain words", "",
        *[f"- {sentence(c)}" for c in cells], "",
        "## The cost of selfishness", "",
        "The competition penalty (Cachon & Zipkin 1999): the team's cost when every site sets its own level for "
        "its own cost, over its cost when the levels are set for the team (same information, same episodes).", "",
        *[f"- {c.scenario}, extra demand {c.lift:g} x mean, notice {c.notice}: "
          f"{c.cost['decentralized selfish'].mean / c.cost['decentralized'].mean:.3f}"
          for c in cells if c.delay == config.delays[0]], "",
        "## Every cell", "",
        "| scenario | lift | delay | notice | " + " | ".join(STRUCTURES) + " | winner |",
        "|---|---|---|---|" + "---|" * len(STRUCTURES) + "---|",
    ]
    for c in cells:
        costs = " | ".join(f"{c.cost[s].mean:.2f} ± {c.cost[s].half_width:.2f}" for s in STRUCTURES)
        lines.append(f"| {c.scenario} | {c.lift:g} | {c.delay} | {c.notice} | {costs} | {c.winner} |")
    learned = [(c, s) for c in cells for s in c.cost if s.startswith("learned")]
    if learned:
        lines += ["", "## Learned structures", "",
                  "Trained runs (`learned:` in the study config), each in the cells of the network and information "
                  "model it was trained on, on the same episodes:", ""]
        lines += [f"- {c.scenario}, lift {c.lift:g}, delay {c.delay}, notice {c.notice}: {s} {c.cost[s].mean:.2f} ± "
                  f"{c.cost[s].half_width:.2f} per period ({c.versus_central[s].mean:+.2f} ± "
                  f"{c.versus_central[s].half_width:.2f} against centralized; the best heuristic there: "
                  f"{min(STRUCTURES, key=lambda k: c.cost[k].mean)} {min(c.cost[k].mean for k in STRUCTURES):.2f})"
                  for c, s in learned]
    lines += [
        "", "## The structures", "",
        "- **centralized**: one planner orders for every site, echelon base-stock on its delayed, noisy view "
        "plus its own recent orders; levels searched for the team under that view.",
        "- **hybrid**: the centre sets every site's target (team-optimal local levels); each site orders up to "
        "it every period on its real-time position, adjusted by the extra demand it knows of, within a bound.",
        "- **decentralized**: each site orders on its own real-time position with all it knows locally; levels "
        "set for the team (local decisions aligned with the team's cost: `echelon nash SCENARIO` computes the "
        "linear transfer payments of Cachon & Zipkin 1999 under which selfish sites choose exactly these levels).",
        "- **decentralized selfish**: the same, but every site sets its own level for its own cost: the Nash "
        "equilibrium (Cachon & Zipkin 1999).",
        "- **naive**: each site orders up to a moving-average forecast of the orders it receives.",
        "",
    ]
    return "\n".join(lines)


def write_study(config: StudyConfig, cells: list[Cell], out: Output | Path) -> list[Path]:
    """The study's run folder, all at once: results.csv/json, report.md, map.png."""
    out = out if isinstance(out, Output) else Output(Path(out))
    rows = results_rows(cells)
    header = list(rows[0])
    csv = "\n".join([",".join(header)] + [",".join(_csv(r[k]) for k in header) for r in rows]) + "\n"
    files = {"results.csv": csv, "results.json": json.dumps(rows, indent=1),
             "report.md": report_markdown(config, cells), "map.png": heatmap_png(config, cells)}
    final = out.write_folder(files)
    return [final / n for n in files]


def _csv(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    return f'"{text}"' if "," in text else text


def resolve_study_path(name_or_path: str | Path) -> Path:
    return resolve_yaml(name_or_path, STUDY_DIR, "study")
