"""A centralization study's outputs: each cell in words, the map, the recommendation, the report and files."""

from __future__ import annotations

import io
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from echelon.envs.files import Output
from echelon.evaluation.buying_power import BuyingPower, buying_power_csv, buying_power_lines
from echelon.evaluation.metrics import Estimate, Metrics, paired_difference
from echelon.evaluation.study import (
    CATEGORIES,
    NASH_MAX_SITES,
    PRACTICAL,
    STANDARD,
    STRUCTURES,
    TUNED,
    Cell,
    better_special,
    short,
)
from echelon.evaluation.study_config import AXES, StudyConfig

COLORS = {"centralized": "#4c72b0", "hybrid": "#55a868", "decentralized": "#dd8452",
          "decentralized selfish": "#c44e52", "naive": "#8172b3", "learned": "#937860", "tie": "#8c8c8c",
          "tie, sites decide": "#b5835a"}
AXIS_TITLES = {"delay": "periods of central data delay", "skill": "the sites' skill (1: exact)",
               "demand_cv": "customer demand's CV (blank: the scenario's own)",
               "notice": "periods of local advance demand notice", "lift": "extra demand, x mean",
               "record_error": "the planner's record error", "review_period": "periods between the planner's reviews"}


DEFAULTS = {"delay": 0, "skill": 1.0, "demand_cv": None, "notice": 0, "lift": 0.0, "record_error": 0.0,
            "review_period": 1}
"""Each axis's value where a study does not vary it (the value that is not mentioned in words)."""


SELFISH = "decentralized selfish"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def axis_words(axis: str, value: Any) -> str:
    """One axis value in words."""
    if axis == "delay":
        return f"central data {_plural(value, 'period')} old"
    if axis == "skill":
        return "sites that follow their rules exactly" if value == 1 else f"sites of skill {value:g}"
    if axis == "demand_cv":
        return "the scenario's own demand" if value is None else f"demand CV {value:g}"
    if axis == "notice":
        return f"extra demand known {_plural(value, 'period')} ahead locally" if value else "no local notice"
    if axis == "lift":
        return f"extra demand of {value:g} x mean" if value else "no extra demand"
    if axis == "record_error":
        return f"records that err by {value:.0%}" if value else "exact records"
    return f"a review every {_plural(value, 'period')}"


def where(cell: Cell, axes: list[str] | None = None) -> str:
    """The cell's conditions in words: the measured demand CV, the delay, and every axis that is varied or off
    its default (``axes``: only these)."""
    point = {**DEFAULTS, **cell.point}
    shown = axes if axes is not None else [a for a in AXES if a == "delay" or point[a] != DEFAULTS[a]]
    if point["lift"] == 0 and "notice" in shown:
        shown = [a for a in shown if a != "notice"]
    words = [axis_words(a, point[a]) for a in shown if a != "demand_cv"]
    return f"demand CV {cell.demand_cv:.2f}, " + ", ".join(words)


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
    """Units held at a period's end, on hand and in transit between sites, summed over the network (mean)."""
    return float(sum(metrics.on_hand.values()) + sum(metrics.in_transit.values()))


def _signed(estimate: Estimate) -> str:
    return f"{estimate.mean:+.2f} ± {estimate.half_width:.2f}"


def _saving(cell: Cell, structure: str) -> str:
    """``structure``'s saving against centralized control, in percent with its 95% interval."""
    gap, cost = cell.versus(structure, "centralized"), cell.cost["centralized"].mean
    return f"{-gap.mean / cost:.1%} ± {gap.half_width / cost:.1%}"


# --------------------------------------------------------------------------- recommendation

def _groups(config: StudyConfig, cells: list[Cell]) -> dict[tuple, list[Cell]]:
    """Cells by scenario and every axis but delay, each group's cells in delay order."""
    groups: dict[tuple, list[Cell]] = {}
    for c in cells:
        key = (c.scenario, *(c.point[a] for a in AXES if a != "delay"))
        groups.setdefault(key, []).append(c)
    return {k: sorted(v, key=lambda c: c.delay) for k, v in groups.items()}


def _best_other(cell: Cell) -> str:
    """The cheapest structure other than centralized control; decentralized where the hybrid only ties with it
    (its best is then to let every site run itself)."""
    best = next(s for s in cell.ranking if s != "centralized")
    if best == "hybrid" and cell.winner is None and "decentralized" in cell.leaders:
        return "decentralized"
    return best


def recommendation(config: StudyConfig, cells: list[Cell]) -> list[str]:
    """Plain-words advice per network and maturity: whether to centralize, and the data delay at which the
    answer changes (the map's cells read along the delay axis)."""
    lines = []
    others = [a for a in config.varied if a != "delay"]
    for key, group in _groups(config, cells).items():
        scenario = key[0]
        conditions = ", ".join(axis_words(a, group[0].point[a]) for a in others)
        head = f"**{scenario}**" + (f", {conditions}" if conditions else "")
        central_ok = [c for c in group if "centralized" in c.leaders]
        if len(central_ok) == len(group):
            last = group[-1]
            lines.append(f"{head}: centralize. Centralized control is best or tied at every data delay mapped "
                         f"(up to {_plural(last.delay, 'period')}: {last.cost['centralized'].mean:.2f} per period "
                         f"against decentralized {last.cost['decentralized'].mean:.2f}).")
            continue
        beyond = [c for c in group if "centralized" not in c.leaders]
        first = beyond[0]
        savings = "; ".join(f"{_saving(c, _best_other(c))} with data {_plural(c.delay, 'period')} old"
                            + ("" if _best_other(c) == _best_other(first) else f" ({_best_other(c)})")
                            for c in beyond)
        who = _who(first, _best_other(first))
        if not central_ok or central_ok[0].delay > first.delay:
            lines.append(f"{head}: do not centralize: even with data {_plural(first.delay, 'period')} old, let "
                         f"{who} decide; against centralized control it saves {savings}.")
            continue
        fresh = max(c.delay for c in central_ok if c.delay < first.delay)
        lines.append(f"{head}: centralize if your planning data are at most {_plural(fresh, 'period')} old; "
                     f"otherwise let {who} decide: against centralized control it saves {savings}.")
    return lines


def _who(cell: Cell, structure: str) -> str:
    if structure == "hybrid":
        return f"the hybrid ({_hybrid_split(cell)})"
    if structure == "decentralized":
        return "the sites (decentralized, levels set for the team)"
    return structure


def _hybrid_split(cell: Cell) -> str:
    """Which sites follow the centre's plan (band 0), which run themselves (unlimited), which move the plan
    within a band."""
    names = list(cell.metrics["hybrid"].site_cost)
    bands = cell.band
    if not bands or len(bands) != len(names):
        return cell.described.get("hybrid", "hybrid")
    if all(b == 0 for b in bands):
        return "every site follows the centre's plan"
    if all(math.isinf(b) for b in bands):
        return "every site runs itself"
    follow = [n for n, b in zip(names, bands, strict=True) if b == 0]
    own = [n for n, b in zip(names, bands, strict=True) if math.isinf(b)]
    parts = []
    if follow:
        parts.append(f"{_list(follow)} ordered by the centre")
    if own:
        parts.append(f"{_list(own)} on their own data")
    within = [(n, b) for n, b in zip(names, bands, strict=True) if 0 < b < math.inf]
    if within:
        parts.append(f"{_list([f'{n} within {b:g}' for n, b in within])} of the centre's plan")
    return "; ".join(parts)


def _list(names: list[str], most: int = 6) -> str:
    """Names joined by commas, the rest counted beyond ``most``."""
    return ", ".join(names) if len(names) <= most else f"{', '.join(names[:most])} and {len(names) - most} more"


# --------------------------------------------------------------------------- files

def results_rows(cells: list[Cell]) -> list[dict[str, Any]]:
    rows = []
    for c in cells:
        for s, m in c.metrics.items():
            central, best = c.versus(s, "centralized"), c.versus(s, c.ranking[0])
            ev = c.evidence.get(s)
            rows.append({
                "scenario": c.scenario, **c.point, "measured_demand_cv": round(c.demand_cv, 4), "structure": s,
                "cost": m.cost.mean, "ci95": m.cost.half_width,
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


def _panel(ax: Any, config: StudyConfig, cells: list[Cell], scen: Any, fixed: dict[str, Any], cmap: Any) -> None:
    """One panel of the map: the cells of ``scen`` at the ``fixed`` values of the axes not drawn."""
    x, y = config.x, config.y
    xs, ys = config.axes[x], config.axes[y]
    grid = np.full((len(ys), len(xs)), np.nan)
    mine = [c for c in cells if c.scenario == scen.name and all(c.point[a] == v for a, v in fixed.items())]
    for c in mine:
        i, j = ys.index(c.point[y]), xs.index(c.point[x])
        grid[i, j] = CATEGORIES.index(c.category)
        if c.winner is None:
            label = c.label.replace(" = ", " =\n")
        else:
            runner = c.ranking[1]
            label = f"{short(c.winner)}\n{c.versus(c.winner, runner).mean / c.cost[runner].mean:+.1%}"
        ax.text(j, i, label, ha="center", va="center", fontsize=7, color="white")
    ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(CATEGORIES) - 0.5, origin="lower", aspect="auto")
    ax.set_xticks(range(len(xs)), ["own" if v is None else f"{v:g}" for v in xs])
    ax.set_yticks(range(len(ys)), ["own" if v is None else f"{v:g}" for v in ys])
    ax.set_xlabel(AXIS_TITLES[x], fontsize=8)
    ax.set_ylabel(AXIS_TITLES[y], fontsize=8)
    if np.isnan(grid).any():
        ax.text((len(xs) - 1) / 2, (len(ys) - 1) / 2, "blank: not run\n(nothing to know ahead)",
                ha="center", va="center", fontsize=7, color="grey")
    cv = [c.demand_cv for c in mine]
    title = ", ".join([scen.name, *(axis_words(a, v) for a, v in fixed.items())])
    ax.set_title(f"{title}\n(measured demand CV {min(cv):.2f}-{max(cv):.2f})" if cv else title, fontsize=8)


def heatmap_png(config: StudyConfig, cells: list[Cell]) -> bytes:
    """One panel per scenario (columns) and combination of the other varied axes (rows): the winner of every
    (x, y) cell and its margin over the runner-up, or the tie (the tied structures named)."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    x, y = config.x, config.y
    rows_axes = [a for a in config.varied if a not in (x, y)]
    row_values = list(itertools.product(*(config.axes[a] for a in rows_axes)))
    xs, ys = config.axes[x], config.axes[y]
    cols = len(config.scenarios)
    fig = Figure(figsize=(1.3 + 1.25 * len(xs) * cols + 0.8 * cols, 1.2 + 0.95 * len(ys) * len(row_values)),
                 layout="constrained")
    axes = fig.subplots(len(row_values), cols, squeeze=False)
    cmap = ListedColormap([COLORS[s] for s in CATEGORIES])
    for r, values in enumerate(row_values):
        for k, scen in enumerate(config.scenarios):
            _panel(axes[r, k], config, cells, scen, dict(zip(rows_axes, values, strict=True)), cmap)
    shown = {c.category for c in cells}
    fig.legend(handles=[Patch(color=COLORS[k], label=k) for k in CATEGORIES if k in shown],
               loc="outside lower center", ncols=4, fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _axes_text(config: StudyConfig) -> str:
    parts = []
    for a in AXES:
        values = ", ".join("the scenario's own" if v is None else f"{v:g}" for v in config.axes[a])
        parts.append(f"{AXIS_TITLES[a].split(' (')[0]}: {values}")
    return "; ".join(parts)


def _hybrid_section(cells: list[Cell]) -> list[str]:
    """Where the tuned hybrid is strictly better, and why."""
    lines: list[str] = []
    hybrid_wins = [c for c in cells if c.winner == "hybrid"]
    lines += ["## Where the hybrid is strictly better", ""]
    if hybrid_wins:
        lines += [
            "In these cells the tuned hybrid is cheaper than both centralized and decentralized control beyond "
            "the paired 95% interval. The mechanism is in its bands: sites with band 0 order what the centre "
            "plans from its global view (the whole network's stock, the news it has received, which upstream "
            "sites never see on their own, and orders free of the sites' own errors), sites with an unlimited "
            "band order on their own real-time position and news (which the centre sees only `delay` periods "
            "late).", "",
            *[f"- {c.scenario}, {where(c)}: hybrid {c.cost['hybrid'].mean:.2f}, centralized "
              f"{c.cost['centralized'].mean:.2f}, decentralized {c.cost['decentralized'].mean:.2f} per period "
              f"(hybrid less the better of the two: {_signed(c.versus('hybrid', better_special(c)))}); "
              f"{_hybrid_split(c)}" for c in hybrid_wins], ""]
    else:
        lines += ["None in this map: the tuned hybrid ties with the better of its special cases in every cell.", ""]
    return lines


def _evidence_section(cells: list[Cell], varied: list[str]) -> list[str]:
    """Each tuned structure's figure beside the second method's."""
    lines: list[str] = []
    head = "| scenario | " + " | ".join(varied) + " |"
    rule = "|---|" + "---|" * len(varied)
    lines += [
        "## The search's evidence", "",
        "Each tuned structure's figure beside the second method's on the same episodes (paired difference: "
        "the second method less the study's; agreement means the second method is not cheaper beyond the "
        f"interval and {PRACTICAL:.1%}).", "",
        head + " structure | study | how found | second method | its cost | difference | exact | agrees |",
        rule + "---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        at = " | ".join(_value(c.point[a]) for a in varied)
        for s in TUNED:
            ev = c.evidence[s]
            check = f"{ev.check.mean:.2f}" if ev.check else "-"
            diff = _signed(ev.difference) if ev.difference else "-"
            exact = f"{ev.exact:.2f}" if ev.exact is not None else "-"
            lines.append(f"| {c.scenario} | {at} | {s} | {c.cost[s].mean:.2f} ± {c.cost[s].half_width:.2f} | "
                         f"{ev.method} | {ev.check_method or '-'} | {check} | {diff} | {exact} | "
                         f"{'yes' if ev.agrees(c.cost[s].mean) else 'NO'} |")
    return lines


def _cells_section(config: StudyConfig, cells: list[Cell], varied: list[str]) -> list[str]:
    """The cost of selfishness, and every cell's figures."""
    lines: list[str] = []
    head = "| scenario | " + " | ".join(varied) + " |"
    rule = "|---|" + "---|" * len(varied)
    first = config.delays[0]
    lines += [
        "", "## The cost of selfishness", "",
        "The competition penalty (Cachon & Zipkin 1999): the team's cost when every site sets its own level for "
        "its own cost, over its cost when the levels are set for the team (same information, same episodes).", "",
        *[f"- {c.scenario}, {where(c, [a for a in varied if a != 'delay'])}: "
          + (f"{c.cost[SELFISH].mean / c.cost['decentralized'].mean:.3f}" if SELFISH in c.cost else
             f"not run (more than {NASH_MAX_SITES} sites: `echelon nash` computes it)")
          for c in cells if c.delay == first], "",
        "## Every cell", "",
        "Team cost per period ± 95% interval; stock is the network's mean stock on hand and in transit, fill the "
        "customers' "
        "fill rate, bullwhip the most upstream echelon's ratio of order variance to demand variance.", "",
        head + " " + " | ".join(STRUCTURES) + " | result |",
        rule + "---|" * len(STRUCTURES) + "---|",
    ]
    for c in cells:
        costs = " | ".join(
            f"{c.cost[s].mean:.2f} ± {c.cost[s].half_width:.2f} (stock {stock_held(c.metrics[s]):.0f}, fill "
            f"{c.metrics[s].fill_rate_total:.1%}, bullwhip {c.metrics[s].echelon_bullwhip[-1]:.2f})"
            if s in c.metrics else "not run" for s in STRUCTURES)
        lines.append(f"| {c.scenario} | {' | '.join(_value(c.point[a]) for a in varied)} | {costs} | {c.label} |")
    return lines


def _learned_section(cells: list[Cell]) -> list[str]:
    """Trained runs in the cells they were trained for."""
    lines: list[str] = []
    learned = [(c, s) for c in cells for s in c.cost if s.startswith("learned")]
    if learned:
        lines += ["", "## Learned structures", "",
                  "Trained runs (`learned:` in the study config), each in the cells of the network and information "
                  "model it was trained on, on the same episodes:", ""]
        lines += [f"- {c.scenario}, {where(c)}: {s} {c.cost[s].mean:.2f} ± {c.cost[s].half_width:.2f} per period "
                  f"({_signed(c.versus(s, 'centralized'))} against centralized; the best heuristic there: "
                  f"{min(STRUCTURES, key=lambda k: c.cost[k].mean)} {min(c.cost[k].mean for k in STRUCTURES):.2f})"
                  for c, s in learned]
    return lines


def _structures_section() -> list[str]:
    """What each control structure is."""
    lines: list[str] = []
    lines += [
        "", "## The structures", "",
        "- **centralized**: one planner orders for every site, echelon base-stock on its delayed, noisy view "
        "plus its own orders since and the news it has received; levels searched for the team under that view.",
        "- **hybrid**: the centre plans every site's order as the centralized planner does; each site orders on "
        "its real-time position and news with its own level, but moves the centre's order by at most its band "
        "(tuned per echelon: 0, 1 x mean demand, or unlimited).",
        "- **decentralized**: each site orders on its own real-time position with all it knows locally, as well "
        "as its skill lets it; levels set for the team (local decisions aligned with the team's cost: `echelon "
        "nash SCENARIO` computes the linear transfer payments of Cachon & Zipkin 1999 under which selfish sites "
        "choose exactly these levels).",
        "- **decentralized selfish**: the same, but every site sets its own level for its own cost: the Nash "
        "equilibrium (Cachon & Zipkin 1999).",
        "- **naive**: each site orders up to a moving-average forecast of the orders it receives.",
        "",
    ]
    return lines


def report_markdown(config: StudyConfig, cells: list[Cell], buying: list[BuyingPower] | None = None) -> str:
    """The study's report: how it was run, the map, the recommendation, every cell in words, the claims
    (``buying``: the buying-power rows, :mod:`evaluation.buying_power`)."""
    varied = config.varied
    lines = [f"# {config.name}: who should decide replenishment?", ""]
    if config.description:
        lines += [config.description, ""]
    lines += [
        f"Every cell runs {len(STRUCTURES)} control structures on the same {config.episodes} episodes of "
        f"{config.periods} periods (the first {config.warmup} left out), on "
        f"{', '.join(s.name for s in config.scenarios)}. Axes ({_axes_text(config)}); extra demand, where there "
        f"is some, comes in a period with chance {config.rate:g}, Poisson around its multiple of mean demand.",
        "",
        "**Every structure at its best under its own information.** Each structure's levels are searched for the "
        f"team's cost on common random numbers ({config.search_episodes} episodes per candidate, compass search "
        "from two starts with whole-echelon moves, the cheaper kept on fresh episodes), and a second method checks "
        "the result on the cell's episodes: on serial chains the exact optimum where theory gives it (the "
        "centralized planner with data d periods old is the Clark–Scarf chain whose customer-facing lead time is "
        "L1 + d; real-time decentralized control with team levels is the Clark–Scarf chain itself), elsewhere the "
        "other start. The planner uses everything it has received, including the sites' news that covers its "
        "blind window. The hybrid's band and both sets of its levels are tuned together, from its special cases: "
        "band 0 is centralized, an unlimited band decentralized.",
        "",
        f"**Winners only where the difference is real.** A structure wins a cell only when it is cheaper than "
        f"every other beyond the 95% interval of the paired difference and by at least {PRACTICAL:.1%}; "
        "otherwise the cell is a tie between the cheapest and every structure not surely worse than it, named "
        "on the map (`hybrid = local`): grey where centralized control is among them, brown where every tied "
        "structure lets the sites order on their own data.",
        "",
        "![the map](map.png)", "",
        "## Recommendation", "",
        *[f"- {line}" for line in recommendation(config, cells)], "",
        "## In plain words", "",
        *[f"- {sentence(c)}" for c in cells], "",
    ]
    lines += _claims(config, cells, buying or [])
    lines += _hybrid_section(cells)
    lines += _evidence_section(cells, varied)
    lines += _cells_section(config, cells, varied)
    lines += _learned_section(cells)
    lines += _structures_section()
    return "\n".join(lines)


def _value(value: Any) -> str:
    return "own" if value is None else f"{value:g}"


def _claims(config: StudyConfig, cells: list[Cell], buying: list[BuyingPower]) -> list[str]:
    """The claims planners hear, measured over the map's cells."""
    lines = ["## What planners hear, measured", ""]
    for scen in config.scenarios:
        mine = [c for c in cells if c.scenario == scen.name]
        ran = [s for s in STRUCTURES if all(s in c.metrics for c in mine)]
        stock = {s: float(np.mean([stock_held(c.metrics[s]) for c in mine])) for s in ran}
        bullwhip = {s: float(np.mean([c.metrics[s].echelon_bullwhip[-1] for c in mine])) for s in ran}
        standard = [c for c in mine if STANDARD in c.extra]
        if standard:
            extra = [(c.extra[STANDARD].cost.mean - c.cost["centralized"].mean) / c.cost["centralized"].mean
                     for c in standard]
            first = standard[0]
            gap = paired_difference(first.extra[STANDARD], first.metrics["centralized"])
            cost = first.cost["centralized"].mean
            lines.append(
                f"- **{scen.name}**: \"centralization standardizes safety stock\": one 95% cycle-service target "
                f"at every echelon (the planner's textbook rule) costs {np.mean(extra):+.1%} on average against the "
                f"centralized levels tuned for the team (from {min(extra):+.1%} to {max(extra):+.1%} over "
                f"{len(standard)} cells; {gap.mean / cost:+.1%} ± {gap.half_width / cost:.1%} at "
                f"{where(first)}), holding {stock_held(first.extra[STANDARD]):.1f} units against "
                f"{stock_held(first.metrics['centralized']):.1f} there.")
        selfish = ""
        if SELFISH in ran:
            more = [c for c in mine if stock_held(c.metrics[SELFISH]) > stock_held(c.metrics["centralized"])]
            selfish = (f"selfish sites hold {stock[SELFISH]:.1f} units on average against centralized "
                       f"{stock['centralized']:.1f} (more in {len(more)} of {len(mine)} cells), ")
        else:
            selfish = f"centralized control holds {stock['centralized']:.1f} units on average, "
        lines.append(
            f"- **{scen.name}**, over its {len(mine)} cells: \"decentralization holds more stock\" (on hand and "
            f"in transit, network total): {selfish}sites with team levels "
            f"{stock['decentralized']:.1f}, the hybrid {stock['hybrid']:.1f}, the naive rule {stock['naive']:.1f}. "
            f"\"The bullwhip effect\": the top echelon's order variance over demand variance is "
            f"{bullwhip['naive']:.2f} under the naive rule, {bullwhip['decentralized']:.2f} decentralized, "
            f"{bullwhip['centralized']:.2f} centralized.")
    return lines + buying_power_lines(config, buying) + [""]


def write_study(config: StudyConfig, cells: list[Cell], out: Output | Path,
                buying: list[BuyingPower] | None = None) -> list[Path]:
    """The study's run folder, all at once: results.csv/json, report.md, map.png, and buying_power.csv where
    ``buying`` has rows."""
    out = out if isinstance(out, Output) else Output(Path(out))
    rows = results_rows(cells)
    header = list(rows[0])
    csv = "\n".join([",".join(header)] + [",".join(_csv(r[k]) for k in header) for r in rows]) + "\n"
    files = {"results.csv": csv, "results.json": json.dumps(rows, indent=1),
             "report.md": report_markdown(config, cells, buying), "map.png": heatmap_png(config, cells)}
    if buying:
        files["buying_power.csv"] = buying_power_csv(buying)
    final = out.write_folder(files)
    return [final / n for n in files]


def _csv(value: Any) -> str:
    text = f"{value:.6g}" if isinstance(value, float) else "" if value is None else str(value)
    return f'"{text}"' if "," in text else text
