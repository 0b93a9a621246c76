"""A study's cells or a benchmark's pairs as Ray tasks: ``echelon study NAME --ray ADDRESS`` (or
``ray: {address: ...}`` in a study's config) and ``echelon benchmark NAME --ray ADDRESS``.

A study's cells are cut, per base scenario, into runs of consecutive cells, one Ray task per run (about one
per CPU of the cluster); a task runs its cells exactly as :func:`evaluation.study.run_study` would, with its
own cache of tuned levels. A benchmark's tasks are its (scenario, policy) pairs, each measured on the
benchmark's common episodes, drawn in the task from the seed (the same episodes). The driver puts the
results back in order. Every cell and pair is a deterministic function of the config (its seeds, its
episodes), so the numbers are those of a run here, whatever the cluster (tested on a two-node local
cluster); only work a cell shares with the cells before it (the centralized levels do not depend on the
sites' skill, for instance) may be done once per task instead of once per scenario.

The cluster's nodes need Echelon installed (``pip install 'echelon[rllib]'`` brings Ray) and the run's files
at the same paths; ``auto`` joins the cluster this machine belongs to.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

from echelon.envs.errors import ConfigError
from echelon.evaluation.benchmark import BenchmarkConfig, BenchmarkResult, Measured, assemble, measure_pair
from echelon.evaluation.study import Cell, run_cell
from echelon.evaluation.study_config import StudyConfig, cell_points, cell_scenario

RAY_HINT = "--ray: Ray is not installed; pip install 'echelon[rllib]' (it brings Ray) on every node"


@contextlib.contextmanager
def joined(address: str) -> Iterator[Any]:
    """Ray, joined to the cluster at ``address`` for the block (left after it, if this joined it)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(RAY_HINT) from None
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"--ray: cannot join the Ray cluster at {address} ({str(exc).splitlines()[0]})") \
                from None
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _gather(ray: Any, futures: list[Any], done_one: Callable[[Any], None]) -> dict[Any, Any]:
    """Every future's value, calling ``done_one(future)`` as each comes back."""
    values: dict[Any, Any] = {}
    pending = list(futures)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for future in ready:
            values[future] = ray.get(future)
            done_one(future)
    return values


def cells_of(config: StudyConfig, base: int, points: list[dict[str, Any]]) -> list[Cell]:
    """The cells of ``points`` of the config's ``base``-th scenario, in order, sharing one cache (a task)."""
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
    once per cell, as its task comes back."""
    with joined(address) as ray:
        task = ray.remote(num_cpus=1)(cells_of)
        points = cell_points(config)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        jobs = [(base, chunk, task.remote(config, base, chunk))
                for base in range(len(config.scenarios)) for chunk in runs(points, cpus)]
        told = {future: (config.scenarios[base].name, chunk) for base, chunk, future in jobs}

        def done_one(future: Any) -> None:
            name, chunk = told[future]
            for point in chunk if advance else ():
                advance(f"{name}: " + ", ".join(f"{a} {point[a]}" for a in config.varied))

        values = _gather(ray, [future for _, _, future in jobs], done_one)
        return [cell for _, _, future in jobs for cell in values[future]]


def run_benchmark_on_ray(config: BenchmarkConfig, address: str, advance: Callable[[str], None] | None = None
                         ) -> BenchmarkResult:
    """Every (scenario, policy) pair of the benchmark as a Ray task on the cluster at ``address`` (module
    docstring); ``advance(message)`` as each comes back."""
    with joined(address) as ray:
        task = ray.remote(num_cpus=1)(measure_pair)
        jobs = {(s, i): task.remote(config, s, i) for s in range(len(config.scenarios))
                for i in range(len(config.policies))}
        told = {future: f"{config.scenarios[s].name}: {config.policies[i].label}" for (s, i), future in jobs.items()}
        values = _gather(ray, list(jobs.values()), lambda future: advance(told[future]) if advance else None)
        measured: dict[tuple[int, int], Measured] = {key: values[future] for key, future in jobs.items()}
        return assemble(config, measured)
