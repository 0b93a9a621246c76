"""Write a benchmark's run folder in one atomic step (results, report, plots)."""

from __future__ import annotations

from pathlib import Path

from echelon.envs.files import atomic_dir, write_atomic
from echelon.evaluation.benchmark import BenchmarkResult
from echelon.evaluation.plots import bullwhip_plot, cost_plot, trajectory_plot
from echelon.evaluation.report import report_markdown, results_csv, results_json


def write_benchmark(result: BenchmarkResult, out: Path) -> list[Path]:
    """Create ``out`` (it must not exist) with results.csv/json, report.md and the PNG plots.

    The folder appears complete or not at all: it is filled under a temporary name first.
    """
    scenarios = [s.name for s in result.config.scenarios]
    plots = {"": ["cost.png", "bullwhip.png"]} | {name: [f"trajectory_{name}.png"] for name in scenarios}
    files: dict[str, bytes | str] = {
        "results.csv": results_csv(result),
        "results.json": results_json(result),
        "report.md": report_markdown(result, plots),
        "cost.png": cost_plot(result),
        "bullwhip.png": bullwhip_plot(result),
    }
    for name in scenarios:
        files[f"trajectory_{name}.png"] = trajectory_plot(result, name)
    with atomic_dir(out) as tmp:
        for name, data in files.items():
            write_atomic(tmp / name, data)
    return [out / name for name in files]
