"""Write a benchmark's run folder in one atomic step (results, report, plots)."""

from __future__ import annotations

from pathlib import Path

from echelon.envs.files import Output
from echelon.evaluation.benchmark import BenchmarkResult
from echelon.evaluation.plots import bullwhip_plot, cost_plot, trajectory_plot
from echelon.evaluation.report import report_markdown, results_csv, results_json


def write_benchmark(result: BenchmarkResult, out: Output | Path) -> list[Path]:
    """Create ``out`` (it must not exist) with results.csv/json, report.md and the PNG plots.

    The folder appears complete or not at all: it is filled under a temporary name first.
    """
    out = out if isinstance(out, Output) else Output(Path(out))
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
    final = out.write_folder(files)
    return [final / name for name in files]
