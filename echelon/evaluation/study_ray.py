"""A study's cells as Ray tasks: ``echelon study NAME --ray ADDRESS`` (or ``ray: {address: ...}`` in its config).

Each base scenario's cells are cut into runs of consecutive cells, one Ray task per run (about one per CPU of
the cluster); a task runs its cells exactly as :func:`evaluation.study.run_study` would, with its own cache
of tuned levels, and the driver puts the cells back in the study's order. Every cell is a deterministic
function of the config (its seeds, its episodes), so the numbers are those of a study run here, whatever
the cluster (tested on a two-node local cluster); only the tuning a cell shares with the cells before it
(the centralized levels do not depend on the sites' skill, for instance) may be done once per task instead
of once per scenario.

The cluster's nodes need Echelon installed (``pip install 'echelon[rllib]'`` brings Ray) and the study's
files at the same paths; ``auto`` joins the cluster this machine belongs to.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from typing import Any

from echelon.envs.errors import ConfigError
from echelon.evaluation.study import Cell, run_cell
from echelon.evaluation.study_config import StudyConfig, cell_points, cell_scenario

RAY_HINT = "--ray: Ray is not installed; pip install 'echelon[rllib]' (it brings Ray) on every node"


def cells_of(config: StudyConfig, base: int, points: list[dict[str, Any]]) -> list[Cell]:
    """The cells of ``points`` of the config's ``base``-th scenario, in order, sharing one cache (a task)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cache: dict[str, Any] = {}
    scenario = config.scenarios[base]
    return [run_cell(config, cell_scenario(config, scenario, point), point, cache) for point in points]


def runs(points: list[dict[str, Any]], tasks: int) -> list[list[dict[str, Any]]]:
    """``points`` cut into at most ``tasks`` runs of consecutive points, as even as can be."""
    size = max(1, math.ceil(len(points) / max(1, tasks)))
    return [points[i:i + size] for i in range(0, len(points), size)]


def run_study_on_ray(config: StudyConfig, address: str, advance: Callable[[str], None] | None = None
                     ) -> list[Cell]:
    """Every cell of the study, on the Ray cluster at ``address`` (module docstring); ``advance(message)``
    after each cell's task is back (once per cell)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(RAY_HINT) from None
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"--ray: cannot join the Ray cluster at {address} ({str(exc).splitlines()[0]})") \
                from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        task = ray.remote(num_cpus=1)(cells_of)
        points = cell_points(config)
        jobs = []  # (base, run, future), in the study's order
        for base in range(len(config.scenarios)):
            for chunk in runs(points, cpus):
                jobs.append((base, chunk, task.remote(config, base, chunk)))
        done: dict[Any, list[Cell]] = {}
        pending = [future for _, _, future in jobs]
        names = {future: (config.scenarios[base].name, chunk) for base, chunk, future in jobs}
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for future in ready:
                done[future] = ray.get(future)
                if advance is not None:
                    name, chunk = names[future]
                    for point in chunk:
                        advance(f"{name}: " + ", ".join(f"{a} {point[a]}" for a in config.varied))
        return [cell for _, _, future in jobs for cell in done[future]]
    finally:
        if started:
            ray.shutdown()
