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
    episodes: 300              # per structure and cell, common random numbers
    search_episodes: 200       # per candidate while levels are searched
    periods: 100
    warmup: 20
    seed: 0

In every cell (one value per axis) of every scenario, each structure of
:mod:`agents.control` is set at its best under its own information (levels
searched for the team from two starts and checked by a second method,
:mod:`agents.tuning`; selfish sites at their Nash equilibrium,
:mod:`agents.nash`), then all run on the same episodes. A cell names a winner
only when it is cheaper than every other structure beyond the 95% interval of
the paired difference and by at least :data:`PRACTICAL`; otherwise the cell is
a tie between the cheapest and every structure not surely worse than it.
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

from echelon.agents.control import Local
from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.agents.tuning import Tuned, tune_centralized, tune_hybrid, tune_local
from echelon.envs.errors import ConfigError
from echelon.envs.files import Output
from echelon.envs.information import AdvanceDemand, CentralView, Information
from echelon.envs.limits import MAX_BATCH, MAX_LEAD_TIME, MAX_MAGNITUDE, MAX_PERIODS, MAX_SEED
from echelon.envs.scenario import Scenario, load_scenario, read_yaml, resolve_yaml
from echelon.envs.simulator import ChunkedEpisode, Episode
from echelon.envs.validation import Float, Int, parse_model
from echelon.evaluation.metrics import Estimate, Metrics, measure, paired_difference
from echelon.evaluation.rollout import common_episodes

STUDY_DIR = Path(__file__).resolve().parent.parent / "configs" / "studies"
STRUCTURES = ("centralized", "hybrid", "decentralized", "decentralized selfish", "naive")
"""The control structures every cell compares (module docstring of :mod:`agents.control`)."""
TUNED = ("centralized", "decentralized", "hybrid")
"""The structures tuned for the team with a second method's check (:mod:`agents.tuning`)."""
SHORT = {"centralized": "central", "hybrid": "hybrid", "decentralized": "local",
         "decentralized selfish": "selfish", "naive": "naive", "learned": "learned"}
PRACTICAL = 0.005  # a saving under this share of the runner-up's cost is reported as a tie, however sure
CATEGORIES = (*STRUCTURES, "learned", "tie", "tie, sites decide")  # the map's colours (Cell.category)


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
    learned: tuple[Path, ...]  # trained run folders, each evaluated in the cells of its scenario and information
    episodes: int
    search_episodes: int
    warmup: int
    seed: int
    source: str


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
    """One scenario at one delay, notice and lift: every structure's metrics, the leaders, the evidence."""

    scenario: str
    delay: int
    notice: int
    lift: float
    metrics: dict[str, Metrics]  # per structure, on the same episodes
    described: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    demand_cv: float = float("nan")  # coefficient of variation of customer demand, extra demand included

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
        return " = ".join(_short(s) for s in sorted(self.leaders, key=lambda s: order.get(s, len(order))))

    @property
    def category(self) -> str:
        """The map's colour: the winner's, ``tie`` where centralized control is among the leaders, else
        ``tie, sites decide`` (the tied structures all let the sites order on their own data)."""
        win = self.winner
        if win is not None:
            return "learned" if win.startswith("learned") else win
        return "tie" if "centralized" in self.leaders else "tie, sites decide"


def _short(structure: str) -> str:
    return "learned" if structure.startswith("learned") else SHORT[structure]


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
        learned=_learned_runs(spec.learned, src, path),
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


def _evidence(tuned: Tuned, chosen: Metrics, check: Metrics | None) -> Evidence:
    if check is None:
        return Evidence(tuned.method, exact=tuned.exact_cost)
    return Evidence(tuned.method, tuned.check_method, check.cost, paired_difference(check, chosen), tuned.exact_cost)


def run_cell(config: StudyConfig, scen: Scenario, local: Tuned | None = None,
             selfish: list[float] | None = None) -> tuple[Cell, Tuned, list[float]]:
    """One cell: every structure tuned under the cell's information and run on the same episodes.

    ``local`` and ``selfish``: the decentralized structures' levels when already found for the cell's
    notice and lift (they do not depend on the planner's data). Returns the cell and those two.
    """
    from echelon.agents.nash import nash_levels

    episodes, seed = config.search_episodes, config.seed
    central = tune_centralized(scen, episodes, seed)
    local = local or tune_local(scen, episodes, seed, central.policy.levels)
    hybrid = tune_hybrid(scen, central.policy, local.policy, episodes, seed)
    if selfish is None:
        selfish = nash_levels(scen, knowledge=True, episodes=episodes, seed=seed).levels.tolist()
    policies: dict[str, Policy] = {
        "centralized": central.policy, "hybrid": hybrid.policy, "decentralized": local.policy,
        "decentralized selfish": Local(scen, levels=selfish, knowledge=True),
        "naive": make_policy("forecast_base_stock", scen),
    }
    for label, run in _runs_for(config, scen):
        policies[label] = make_policy({"policy": "learned", "run": str(run)}, scen, where=f"{config.source}")
    episode = common_episodes(scen, config.episodes, config.seed)

    def measured(policy: Policy) -> Metrics:
        return measure(policy, scen, config.episodes, config.seed, episode, config.warmup)[0]

    metrics = {label: measured(policy) for label, policy in policies.items()}
    evidence = {label: _evidence(tuned, metrics[label], measured(tuned.check) if tuned.check else None)
                for label, tuned in (("centralized", central), ("decentralized", local))}
    info = scen.information
    lift = info.advance_demand.lift if info.advance_demand else 0.0
    cell = Cell(scen.name, info.central.delay, info.notice, lift, metrics,
                {label: policy.describe() for label, policy in policies.items()}, evidence, demand_cv(scen, episode))
    special = _better_special(cell)
    evidence["hybrid"] = Evidence(hybrid.method, f"its special cases (band 0: centralized; unlimited: "
                                  f"decentralized), the better being {special}", metrics[special].cost,
                                  paired_difference(metrics[special], metrics["hybrid"]))
    return cell, local, selfish


def run_study(config: StudyConfig, advance: Callable[[str], None] | None = None) -> list[Cell]:
    """Every cell of every scenario (module docstring); ``advance(message)`` after each cell.

    Only the centralized and hybrid structures depend on the planner's data; the decentralized ones
    are tuned once per notice and lift and reused down the delay axis.
    """
    cells = []
    for base in config.scenarios:
        found: dict[tuple[int, float], tuple[Tuned, list[float]]] = {}
        for lift, notice, delay in cell_axes(config):
            scen = cell_scenario(config, base, delay, notice, lift)
            cell, local, selfish = run_cell(config, scen, *found.get((notice, lift), (None, None)))
            cell.notice, cell.lift = notice, lift  # (the axes' values, also where nothing is known ahead)
            found[(notice, lift)] = (local, selfish)
            cells.append(cell)
            if advance:
                advance(f"{base.name}: delay {delay}, notice {notice}, lift {lift:g}")
    return cells


# --------------------------------------------------------------------------- output

def where(cell: Cell) -> str:
    """The cell's conditions in words."""
    size = f"extra demand of {cell.lift:g} x mean" if cell.lift else "no extra demand"
    size += f" (demand CV {cell.demand_cv:.2f})"
    return (f"{size}, with {cell.delay} period{'s' if cell.delay != 1 else ''} of central data delay and "
            + (f"the extra demand known {cell.notice} period{'s' if cell.notice != 1 else ''} ahead locally"
               if cell.notice else "no local advance knowledge"))


def sentence(cell: Cell) -> str:
    """The cell in plain words: the winner and its margin over the runner-up, or the tie."""
    best, runner = cell.ranking[:2]
    if cell.winner is None:
        tied = cell.leaders
        return (f"{cell.scenario}, {where(cell)}: a tie between {' and '.join(tied)} "
                f"({', '.join(f'{cell.cost[s].mean:.2f}' for s in tied)} per period: no difference beyond the "
                f"paired 95% interval and {PRACTICAL:.1%}).")
    gap = cell.versus(runner, best)
    cost = cell.cost[runner].mean
    central = "" if "centralized" in (best, runner) else (
        f"; {-cell.versus(best, 'centralized').mean / cell.cost['centralized'].mean:.1%} below centralized")
    return (f"{cell.scenario}, {where(cell)}: {best} wins, {gap.mean / cost:.1%} ± {gap.half_width / cost:.1%} below "
            f"the runner-up, {runner} ({cell.cost[best].mean:.2f} against {cost:.2f} per period{central}).")


def stock_held(metrics: Metrics) -> float:
    """Units on hand at a period's end, summed over the network (mean)."""
    return float(sum(metrics.on_hand.values()))


def results_rows(cells: list[Cell]) -> list[dict[str, Any]]:
    rows = []
    for c in cells:
        for s, m in c.metrics.items():
            central, best = c.versus(s, "centralized"), c.versus(s, c.ranking[0])
            ev = c.evidence.get(s)
            rows.append({
                "scenario": c.scenario, "delay": c.delay, "notice": c.notice, "lift": c.lift,
                "demand_cv": round(c.demand_cv, 4), "structure": s, "cost": m.cost.mean, "ci95": m.cost.half_width,
                "versus_centralized": central.mean, "versus_centralized_ci95": central.half_width,
                "versus_best": best.mean, "versus_best_ci95": best.half_width,
                "winner": c.winner == s, "tied": c.winner is None and s in c.leaders, "cell": c.label,
                "stock_on_hand": stock_held(m), "fill_rate": m.fill_rate_total,
                "bullwhip_top": m.echelon_bullwhip[-1],
                "check_method": ev.check_method if ev else "",
                "check_cost": ev.check.mean if ev and ev.check else float("nan"),
                "check_difference": ev.difference.mean if ev and ev.difference else float("nan"),
                "check_difference_ci95": ev.difference.half_width if ev and ev.difference else float("nan"),
                "exact_cost": ev.exact if ev and ev.exact is not None else float("nan"),
                "policy": c.described.get(s, ""),
            })
    return rows


COLORS = {"centralized": "#4c72b0", "hybrid": "#55a868", "decentralized": "#dd8452",
          "decentralized selfish": "#c44e52", "naive": "#8172b3", "learned": "#937860", "tie": "#8c8c8c",
          "tie, sites decide": "#b5835a"}


def heatmap_png(config: StudyConfig, cells: list[Cell]) -> bytes:
    """One panel per scenario and lift: the winner of every (delay, notice) cell and its margin over the
    runner-up, or the tie (grey, the tied structures named)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    panels = [(s.name, lf) for lf in config.lifts for s in config.scenarios]
    cols = len(config.scenarios)
    fig = Figure(figsize=(4.6 * cols, 3.8 * len(config.lifts)), layout="constrained")
    axes = fig.subplots(len(config.lifts), cols, squeeze=False).ravel()
    cmap = ListedColormap([COLORS[s] for s in CATEGORIES])
    for ax, (name, lift) in zip(axes, panels, strict=True):
        grid = np.full((len(config.delays), len(config.notices)), np.nan)
        for c in cells:
            if c.scenario != name or c.lift != lift:
                continue
            i, j = config.delays.index(c.delay), config.notices.index(c.notice)
            win = c.winner
            grid[i, j] = CATEGORIES.index(c.category)
            if win is None:
                label = c.label.replace(" = ", " =\n")
            else:
                runner = c.ranking[1]
                label = f"{_short(win)}\n{c.versus(win, runner).mean / c.cost[runner].mean:+.1%}"
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
        ax.set_title(f"{name}, {size} (demand CV {cv:.2f}):\nthe winner (cost vs runner-up) or the tie",
                     fontsize=9)
    fig.legend(handles=[Patch(color=COLORS[k], label=k) for k in CATEGORIES if k in {c.category for c in cells}],
               loc="outside lower center", ncols=4, fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _hybrid_split(cell: Cell) -> str:
    """Which sites follow the centre's plan, which run themselves, which adjust it within a band."""
    text = cell.described["hybrid"]
    band = text.split("band=")[-1]
    return f"`{text}` (bands per site in site order: {band})"


def report_markdown(config: StudyConfig, cells: list[Cell]) -> str:
    periods = config.scenarios[0].periods
    lines = [f"# {config.name}: who should decide replenishment?", ""]
    if config.description:
        lines += [config.description, ""]
    lines += [
        f"Every cell runs {len(STRUCTURES)} control structures on the same {config.episodes} episodes of "
        f"{periods} periods (the first {config.warmup} left out). Axes: the central "
        f"planner's data delay ({', '.join(map(str, config.delays))} periods) and how far ahead sites learn of "
        f"extra demand ({', '.join(map(str, config.notices))} periods; a period carries extra demand with "
        f"chance {config.rate:g}, Poisson with mean {' or '.join(f'{lf:g}' for lf in config.lifts)} x mean demand; "
        f"with notice 0 it comes as a surprise; the extra demand also makes demand more variable: its coefficient "
        f"of variation is given with every panel and cell). The planner re-plans every "
        f"{config.review_period} period(s); its on-hand records err by {config.record_error:.0%}.",
        "",
        "**Every structure at its best under its own information.** Each structure's levels are searched for the "
        f"team's cost on common random numbers ({config.search_episodes} episodes per candidate, compass search "
        "from two starts, the cheaper kept on fresh episodes), and a second method checks the result on the "
        "cell's episodes: on serial chains the exact optimum where theory gives it (the centralized planner "
        "with data d periods old is the Clark–Scarf chain whose customer-facing lead time is L1 + d; real-time "
        "decentralized control with team levels is the Clark–Scarf chain itself), elsewhere the other start. "
        "The planner uses everything it has received, including the sites' news that covers its blind window. "
        "The hybrid's band and both sets of its levels are tuned together, from its special cases: band 0 is "
        "centralized, an unlimited band decentralized.",
        "",
        f"**Winners only where the difference is real.** A structure wins a cell only when it is cheaper than "
        f"every other beyond the 95% interval of the paired difference and by at least {PRACTICAL:.1%}; "
        "otherwise the cell is a tie between the cheapest and every structure not surely worse than it, named "
        "on the map (`hybrid = local`): grey where centralized control is among them, brown where every tied "
        "structure lets the sites order on their own data.",
        "",
        "![the map](map.png)", "",
        "## In plain words", "",
        *[f"- {sentence(c)}" for c in cells], "",
    ]
    hybrid_wins = [c for c in cells if c.winner == "hybrid"]
    lines += ["## Where the hybrid is strictly better", ""]
    if hybrid_wins:
        lines += [
            "In these cells the tuned hybrid is cheaper than both centralized and decentralized control beyond "
            "the paired 95% interval. The mechanism is in its bands: sites with band 0 order what the centre "
            "plans from its global view (the whole network's stock and the news of extra demand it has received, "
            "which upstream sites never see on their own), sites with an unlimited band order on their own "
            "real-time position and news (which the centre sees only `delay` periods late).", "",
            *[f"- {c.scenario}, {where(c)}: hybrid {c.cost['hybrid'].mean:.2f}, centralized "
              f"{c.cost['centralized'].mean:.2f}, decentralized {c.cost['decentralized'].mean:.2f} per period "
              f"(hybrid less the better of the two: {_signed(c.versus('hybrid', _better_special(c)))}); "
              f"{_hybrid_split(c)}" for c in hybrid_wins], ""]
    else:
        lines += ["None in this map: the tuned hybrid ties with the better of its special cases in every cell.", ""]
    lines += [
        "## The search's evidence", "",
        "Each tuned structure's figure beside the second method's on the same episodes (paired difference: "
        "the second method less the study's; agreement means the second method is not cheaper beyond the "
        "interval and 0.5%).", "",
        "| scenario | lift | delay | notice | structure | study | how found | second method | its cost | "
        "difference | exact | agrees |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        for s in TUNED:
            ev = c.evidence[s]
            check = f"{ev.check.mean:.2f}" if ev.check else "-"
            diff = _signed(ev.difference) if ev.difference else "-"
            exact = f"{ev.exact:.2f}" if ev.exact is not None else "-"
            lines.append(f"| {c.scenario} | {c.lift:g} | {c.delay} | {c.notice} | {s} | {c.cost[s].mean:.2f} ± "
                         f"{c.cost[s].half_width:.2f} | {ev.method} | {ev.check_method or '-'} | {check} | {diff} "
                         f"| {exact} | {'yes' if ev.agrees(c.cost[s].mean) else 'NO'} |")
    lines += [
        "", "## The cost of selfishness", "",
        "The competition penalty (Cachon & Zipkin 1999): the team's cost when every site sets its own level for "
        "its own cost, over its cost when the levels are set for the team (same information, same episodes).", "",
        *[f"- {c.scenario}, extra demand {c.lift:g} x mean, notice {c.notice}: "
          f"{c.cost['decentralized selfish'].mean / c.cost['decentralized'].mean:.3f}"
          for c in cells if c.delay == config.delays[0]], "",
        "## Every cell", "",
        "Team cost per period ± 95% interval; stock is the network's mean stock on hand, fill the customers' "
        "fill rate, bullwhip the most upstream echelon's ratio of order variance to demand variance.", "",
        "| scenario | lift | delay | notice | " + " | ".join(STRUCTURES) + " | result |",
        "|---|---|---|---|" + "---|" * len(STRUCTURES) + "---|",
    ]
    for c in cells:
        costs = " | ".join(
            f"{c.cost[s].mean:.2f} ± {c.cost[s].half_width:.2f} (stock {stock_held(c.metrics[s]):.0f}, fill "
            f"{c.metrics[s].fill_rate_total:.1%}, bullwhip {c.metrics[s].echelon_bullwhip[-1]:.2f})"
            for s in STRUCTURES)
        lines.append(f"| {c.scenario} | {c.lift:g} | {c.delay} | {c.notice} | {costs} | {c.label} |")
    learned = [(c, s) for c in cells for s in c.cost if s.startswith("learned")]
    if learned:
        lines += ["", "## Learned structures", "",
                  "Trained runs (`learned:` in the study config), each in the cells of the network and information "
                  "model it was trained on, on the same episodes:", ""]
        lines += [f"- {c.scenario}, lift {c.lift:g}, delay {c.delay}, notice {c.notice}: {s} {c.cost[s].mean:.2f} ± "
                  f"{c.cost[s].half_width:.2f} per period ({_signed(c.versus(s, 'centralized'))} against "
                  f"centralized; the best heuristic there: {min(STRUCTURES, key=lambda k: c.cost[k].mean)} "
                  f"{min(c.cost[k].mean for k in STRUCTURES):.2f})" for c, s in learned]
    lines += [
        "", "## The structures", "",
        "- **centralized**: one planner orders for every site, echelon base-stock on its delayed, noisy view "
        "plus its own orders since and the news it has received; levels searched for the team under that view.",
        "- **hybrid**: the centre plans every site's order as the centralized planner does; each site orders on "
        "its real-time position and news with its own level, but moves the centre's order by at most its band "
        "(tuned per echelon: 0, 1 x mean demand, or unlimited).",
        "- **decentralized**: each site orders on its own real-time position with all it knows locally; levels "
        "set for the team (local decisions aligned with the team's cost: `echelon nash SCENARIO` computes the "
        "linear transfer payments of Cachon & Zipkin 1999 under which selfish sites choose exactly these levels).",
        "- **decentralized selfish**: the same, but every site sets its own level for its own cost: the Nash "
        "equilibrium (Cachon & Zipkin 1999).",
        "- **naive**: each site orders up to a moving-average forecast of the orders it receives.",
        "",
    ]
    return "\n".join(lines)


def _signed(estimate: Estimate) -> str:
    return f"{estimate.mean:+.2f} ± {estimate.half_width:.2f}"


def _better_special(cell: Cell) -> str:
    return min(("centralized", "decentralized"), key=lambda k: cell.cost[k].mean)


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
