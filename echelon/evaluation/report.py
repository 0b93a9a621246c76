"""Benchmark output: ``results.csv``, ``results.json`` and a Markdown ``report.md`` for planners.

The CSV is tidy: one line per scenario, policy and site, plus a ``(team)``
line with the totals, so it pivots in a spreadsheet. The report states, per
scenario, which policy is cheapest and by how much (paired on the same demand),
with service, inventory and bullwhip beside the cost.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from echelon.envs.scenario import Scenario
from echelon.evaluation.benchmark import BenchmarkResult, Row
from echelon.evaluation.metrics import Estimate, echelon_levels

CSV_COLUMNS = (
    "scenario", "label", "policy", "site", "echelon", "cost_per_period", "cost_ci95", "fill_rate",
    "cycle_service_level", "avg_on_hand", "avg_backlog", "bullwhip_ratio", "vs_baseline", "vs_baseline_ci95",
    "gap_to_optimum",
)


def _num(value: float | None, digits: int = 6) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return round(float(value), digits)


def results_csv(result: BenchmarkResult) -> str:
    """The tidy CSV: a line per scenario, policy and site, plus the team."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    scenarios = {s.name: s for s in result.config.scenarios}
    for row in result.rows:
        m = row.metrics
        scen = scenarios[row.scenario]
        writer.writerow([
            row.scenario, row.label, row.policy, "(team)", "", _num(m.cost.mean), _num(m.cost.half_width),
            _num(m.fill_rate_total), "", _num(sum(m.on_hand.values())), _num(sum(m.backlog.values())),
            _num(m.echelon_bullwhip[-1]), _num(row.vs_baseline.mean), _num(row.vs_baseline.half_width),
            _num(row.gap_to_optimum),
        ])
        for site, level in zip(scen.site_names, echelon_levels(scen), strict=True):
            writer.writerow([
                row.scenario, row.label, row.policy, site, level, _num(m.site_cost[site].mean),
                _num(m.site_cost[site].half_width), _num(m.fill_rate.get(site)), _num(m.cycle_service.get(site)),
                _num(m.on_hand[site]), _num(m.backlog[site]), _num(m.bullwhip[site]), "", "", "",
            ])
    return out.getvalue()


def results_json(result: BenchmarkResult) -> str:
    """Everything in the run, as JSON (no NaN: missing values are null)."""
    cfg = result.config
    doc = {
        "name": cfg.name,
        "description": cfg.description,
        "episodes": cfg.episodes,
        "seed": cfg.seed,
        "warmup": cfg.warmup,
        "baseline": cfg.baseline,
        "optimal_cost": result.optimum,
        "results": [_row_json(r) for r in result.rows],
    }
    return json.dumps(doc, indent=2, allow_nan=False, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _row_json(row: Row) -> dict[str, Any]:
    m = row.metrics

    def clean(x: float | None) -> float | None:
        return None if x is None or math.isnan(x) else x

    return {
        "scenario": row.scenario,
        "label": row.label,
        "policy": row.policy,
        "cost": {"mean": m.cost.mean, "ci95": m.cost.half_width},
        "site_cost": {s: {"mean": e.mean, "ci95": clean(e.half_width)} for s, e in m.site_cost.items()},
        "vs_baseline": {"mean": row.vs_baseline.mean, "ci95": clean(row.vs_baseline.half_width)},
        "gap_to_optimum": row.gap_to_optimum,
        "fill_rate": {s: clean(v) for s, v in m.fill_rate.items()},
        "fill_rate_total": clean(m.fill_rate_total),
        "cycle_service_level": m.cycle_service,
        "avg_on_hand": m.on_hand,
        "avg_backlog": m.backlog,
        "bullwhip": {s: clean(v) for s, v in m.bullwhip.items()},
        "echelon_bullwhip": [clean(v) for v in m.echelon_bullwhip],
        "bottlenecks": {name: {"utilisation": b.utilisation, "binding": b.binding}
                        for name, b in m.bottlenecks.items()},
    }


def _pct(x: float) -> str:
    return f"{x:+.1%}"


def _ratio(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


def report_markdown(result: BenchmarkResult, plots: dict[str, list[str]]) -> str:
    """The planner-facing report; ``plots`` maps a scenario (or ``""`` for all) to image file names."""
    cfg = result.config
    lines = [f"# Benchmark: {cfg.name}", ""]
    if cfg.description:
        lines += [cfg.description, ""]
    lines += [
        f"Each policy ran **{cfg.episodes} episodes** per scenario (seed {cfg.seed}), every policy on the "
        "**same customer demand** (common random numbers), so the differences below are paired and their "
        "confidence intervals are narrow. Costs are per period, summed over the sites (holding, pipeline, "
        "backorder or lost-sale, ordering)"
        + (f", from period {cfg.warmup} on." if cfg.warmup else ".")
        + " 95% confidence intervals over episodes.",
        "",
    ]
    for name in plots.get("", []):
        lines += [f"![{name}]({name})", ""]
    for scen in cfg.scenarios:
        rows = [r for r in result.rows if r.scenario == scen.name]
        lines += [f"## {scen.name}", ""]
        if scen.description:
            lines += [scen.description.strip(), ""]
        lines += _summary(scen.name, rows, cfg.baseline, result.optimum.get(scen.name))
        levels = max(echelon_levels(scen))
        header = ["policy", "cost / period", f"vs {cfg.baseline}", "fill rate", "on hand", "backorders"]
        header += [f"bullwhip E{k}" for k in range(1, levels + 1)]
        if scen.name in result.optimum:
            header.append("vs exact optimum")
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in sorted(rows, key=lambda r: r.metrics.cost.mean):
            m = r.metrics
            cells = [
                f"**{r.label}**<br><sub>{r.policy}</sub>",
                f"{m.cost.mean:.2f} ± {m.cost.half_width:.2f}",
                "baseline" if r.label == cfg.baseline else
                f"{r.vs_baseline.mean:+.2f} ± {r.vs_baseline.half_width:.2f}",
                "n/a" if math.isnan(m.fill_rate_total) else f"{m.fill_rate_total:.1%}",
                f"{sum(m.on_hand.values()):.1f}",
                f"{sum(m.backlog.values()):.1f}",
                *(_ratio(v) for v in m.echelon_bullwhip),
            ]
            if scen.name in result.optimum:
                cells.append(_pct(r.gap_to_optimum))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines += _bottlenecks(scen, rows) + _by_product(scen, rows)
        for name in plots.get(scen.name, []):
            lines += [f"![{name}]({name})", ""]
    lines += [
        "## How to read this",
        "",
        "- **fill rate**: share of customer demand served from stock in the period it arrives.",
        "- **on hand / backorders**: average units per period over all sites (backorders include orders a "
        "supplier owes its customers).",
        "- **bullwhip Ek**: variance of the orders placed by echelon k (1 = the sites facing customers) over "
        "the variance of the customer demand they serve; 1 means orders are as smooth as demand, above 1 "
        "they amplify it.",
        "- **bottlenecks**: utilisation is the mean of the orders a shared capacity carries over its limit; "
        "it binds in a period when those orders are at the limit (they were cut to it).",
        "- **vs exact optimum**: the simulated cost against the exact long-run optimal cost C* (Clark–Scarf on "
        "serial backlog chains, "
        "dynamic programming on one-site problems); the episodes' start-up periods can put even the "
        "optimal policy slightly off it.",
        "",
    ]
    return "\n".join(lines)


def _bottlenecks(scen: Scenario, rows: list[Row]) -> list[str]:
    """A table of each shared capacity's utilisation and how often it binds, per policy."""
    if not scen.capacities:
        return []
    names = [c.name for c in scen.capacities]
    header = ["policy", *(f"{n}: utilisation / binds" for n in names)]
    lines = ["Bottlenecks (shared capacities):", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in sorted(rows, key=lambda r: r.metrics.cost.mean):
        b = r.metrics.bottlenecks
        lines.append("| " + " | ".join([r.label, *(f"{b[n].utilisation:.1%} / {b[n].binding:.1%}" for n in names)])
                     + " |")
    return [*lines, ""]


def _by_product(scen: Scenario, rows: list[Row]) -> list[str]:
    """Cost per period by product (summed over the sites that stock it), per policy."""
    if not scen.products:
        return []
    of = [scen.node(i)[1] for i in range(len(scen.sites))]
    shown = scen.products[:20]
    header = ["policy", *shown] + (["..."] if len(scen.products) > len(shown) else [])
    lines = ["Cost per period by product:", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in sorted(rows, key=lambda r: r.metrics.cost.mean):
        cost = dict.fromkeys(scen.products, 0.0)
        for name, product in zip(scen.site_names, of, strict=True):
            cost[product] += r.metrics.site_cost[name].mean
        cells = [r.label, *(f"{cost[p]:.2f}" for p in shown)] + (["..."] if len(header) > len(shown) + 1 else [])
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _summary(scenario: str, rows: list[Row], baseline: str, optimum: float | None) -> list[str]:
    """Plain-language findings for one scenario."""
    ranked = sorted(rows, key=lambda r: r.metrics.cost.mean)
    best = ranked[0]
    text = [f"**{best.label}** is cheapest at {best.metrics.cost.mean:.2f} per period"]
    if optimum is not None:
        text[0] += f" ({_pct(best.gap_to_optimum)} against the exact optimum {optimum:.2f})"
    text[0] += "."
    for r in ranked[1:]:
        diff = Estimate.of(r.metrics.episode_cost - best.metrics.episode_cost)
        if diff.mean - diff.half_width <= 0:
            text.append(f"{r.label} does as well: the paired difference, {diff.mean:+.2f} ± {diff.half_width:.2f}, "
                        "is within the noise.")
        else:
            ratio = r.metrics.cost.mean / best.metrics.cost.mean
            more = f"{ratio:.1f} times as much" if ratio >= 2 else f"{ratio - 1.0:.1%} more"
            text.append(f"{r.label} costs {more} ({r.metrics.cost.mean:.2f}).")
    fills = [(r.metrics.fill_rate_total, r.label) for r in rows if not math.isnan(r.metrics.fill_rate_total)]
    if fills:
        hi, lo = max(fills), min(fills)
        text.append(f"Service: fill rate from {lo[0]:.1%} ({lo[1]}) to {hi[0]:.1%} ({hi[1]}).")
    stock = sorted((sum(r.metrics.on_hand.values()), r.label) for r in rows)
    text.append(f"Inventory held: {stock[0][0]:.1f} units on average ({stock[0][1]}) to "
                f"{stock[-1][0]:.1f} ({stock[-1][1]}).")
    top = [(r.metrics.echelon_bullwhip[-1], r.label) for r in rows if not math.isnan(r.metrics.echelon_bullwhip[-1])]
    if top and len(rows[0].metrics.echelon_bullwhip) > 1:
        hi = max(top)
        lo = min(top)
        text.append(f"Bullwhip at the top echelon: {lo[0]:.2f} ({lo[1]}) to {hi[0]:.2f} ({hi[1]}).")
    return [" ".join(text), ""]
