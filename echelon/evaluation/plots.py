"""Benchmark plots (PNG, matplotlib without a display).

* ``cost.png``: team cost per period by policy, with 95% confidence bars, one panel per scenario;
* ``bullwhip.png``: bullwhip ratio by echelon for every policy, one panel per scenario;
* ``trajectory_<scenario>.png``: the orders and the inventory level (on hand - backorders) of every
  site through one sample episode, one row per policy; customer demand is drawn in black.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from echelon.evaluation.benchmark import BenchmarkResult  # noqa: E402


def png_bytes(fig: plt.Figure) -> bytes:
    """A figure as PNG bytes (to write atomically); the figure is closed."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _panels(n: int, width: float = 5.2, height: float = 3.6) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False, layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def cost_plot(result: BenchmarkResult) -> bytes:
    scenarios = [s.name for s in result.config.scenarios]
    fig, axes = _panels(len(scenarios))
    for ax, name in zip(axes, scenarios, strict=True):
        rows = sorted((r for r in result.rows if r.scenario == name), key=lambda r: -r.metrics.cost.mean)
        y = np.arange(len(rows))
        means = [r.metrics.cost.mean for r in rows]
        errors = [r.metrics.cost.half_width for r in rows]
        ax.barh(y, means, xerr=errors, color="#4c72b0", ecolor="black", capsize=3)
        ax.set_yticks(y, [r.label for r in rows])
        if name in result.optimum:
            ax.axvline(result.optimum[name], color="#c44e52", linestyle="--", label="exact optimum (long run)")
            ax.legend(loc="lower right", fontsize=8)
        ax.set_xlabel("team cost per period (95% CI)")
        ax.set_title(name)
    fig.suptitle("Cost by policy (same demand for every policy)")
    return png_bytes(fig)


def bullwhip_plot(result: BenchmarkResult) -> bytes:
    scenarios = [s.name for s in result.config.scenarios]
    fig, axes = _panels(len(scenarios))
    for ax, name in zip(axes, scenarios, strict=True):
        for r in (r for r in result.rows if r.scenario == name):
            ratios = np.array(r.metrics.echelon_bullwhip)
            ax.plot(np.arange(1, len(ratios) + 1), ratios, marker="o", label=r.label)
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("echelon (1 = facing customers)")
        ax.set_ylabel("Var(orders) / Var(customer demand)")
        ax.set_xticks(range(1, 1 + max(len(r.metrics.echelon_bullwhip) for r in result.rows if r.scenario == name)))
        ax.set_title(name)
        ax.legend(fontsize=7)
    fig.suptitle("Bullwhip ratio by echelon (1 = no amplification)")
    return png_bytes(fig)


def trajectory_plot(result: BenchmarkResult, scenario: str) -> bytes:
    rows = [r for r in result.rows if r.scenario == scenario]
    scen = next(s for s in result.config.scenarios if s.name == scenario)
    fig, axes = plt.subplots(len(rows), 2, figsize=(12, 2.6 * len(rows)), squeeze=False, sharex=True,
                             layout="constrained")
    periods = np.arange(1, scen.periods + 1)
    customer = rows[0].sample.demand[:, 0, :].sum(axis=1)
    for (left, right), r in zip(axes, rows, strict=True):
        t = r.sample
        for i, site in enumerate(scen.site_names):
            left.plot(periods, t.orders[:, 0, i], linewidth=1, label=site)
            right.plot(periods, t.on_hand[:, 0, i] - t.backlog[:, 0, i], linewidth=1, label=site)
        left.plot(periods, customer, color="black", linewidth=1.5, label="customer demand")
        right.axhline(0.0, color="grey", linewidth=0.8)
        left.set_ylabel(r.label, fontsize=9)
    axes[0][0].set_title("orders placed")
    axes[0][1].set_title("inventory level (on hand - backorders)")
    axes[0][1].legend(fontsize=7, loc="upper right", ncol=2)
    axes[0][0].legend(fontsize=7, loc="upper right", ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("period")
    fig.suptitle(f"{scenario}: one sample episode (the same demand for every policy)")
    return png_bytes(fig)


def learning_curve_plot(rows: list[dict[str, float]], reference: float, title: str,
                        reference_label: str = "best base-stock policy") -> bytes:
    """Evaluation cost per period against training timesteps, with the reference policy's cost."""
    steps = np.array([r["timesteps"] for r in rows], dtype=float)
    cost = np.array([r["cost"] for r in rows])
    half = np.array([r.get("cost_ci95", 0.0) for r in rows])
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    ax.plot(steps, cost, marker="o", label="learned policy (held-out episodes)")
    ax.fill_between(steps, cost - half, cost + half, alpha=0.2)
    ax.axhline(reference, color="#c44e52", linestyle="--", label=f"{reference_label} ({reference:.2f})")
    ax.axhline(reference * 1.1, color="#c44e52", linestyle=":", linewidth=0.8, label=f"{reference_label} + 10%")
    ax.set_xlabel("training timesteps")
    ax.set_ylabel("team cost per period")
    top = min(float(np.nanmax(cost)), 4 * reference) if np.isfinite(reference) and reference > 0 else None
    if top is not None and top > reference:
        ax.set_ylim(0, top * 1.05)
    ax.legend()
    ax.set_title(f"{title}: learning curve")
    return png_bytes(fig)
