"""Benchmarks: scenarios x policies x episodes, on common random numbers.

A benchmark config (YAML, ``configs/benchmarks/``)::

    name: heuristics
    description: The classic heuristics against the best base-stock levels.
    scenarios: [beer_game, textbook_serial, distribution, lost_sales]
    episodes: 1000          # per policy and scenario, the same for every policy
    seed: 0
    periods: 100            # optional: override every scenario's horizon
    warmup: 0               # optional: periods left out of the metrics
    baseline: optimal       # optional: label the paired differences refer to (default: the first policy)
    policies:
      - {label: optimal, policy: echelon_base_stock, levels: optimal}
      - sterman
      - {policy: constant, quantity: 4}

A policy entry is a name or a mapping with ``policy``, its parameters
(:mod:`agents.registry`) and an optional ``label`` (default: the name).
Within one scenario every policy runs on the same episodes, so differences are
paired (:func:`evaluation.metrics.paired_difference`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from echelon.agents.levels import Optimum
from echelon.agents.optimal import known_optimum
from echelon.agents.policy import Policy
from echelon.agents.registry import OPTIMAL, make_policy
from echelon.agents.run_record import OPTIMAL_SPEC, RunFolder, read_run_config, reference_spec
from echelon.envs.errors import ConfigError
from echelon.envs.limits import MAX_BATCH, MAX_PERIODS, MAX_SEED
from echelon.envs.scenario import Scenario, load_scenario, read_yaml, resolve_yaml
from echelon.envs.validation import FileName, Int, parse_model, shown
from echelon.evaluation.metrics import Estimate, Metrics, measure, paired_difference
from echelon.evaluation.rollout import Trajectory, episode_blocks

BENCHMARK_DIR = Path(__file__).resolve().parent.parent / "configs" / "benchmarks"


class BenchmarkFile(BaseModel):
    """A benchmark config file, declared once (see the module docstring for an example)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: FileName | None = None
    """The benchmark's name (default: the file's stem); results go to results/NAME."""
    description: Annotated[str, Field(strict=True)] = ""
    """What the benchmark compares, printed in its report."""
    scenarios: Annotated[list[Annotated[str, Field(min_length=1, strict=True)]], Field(min_length=1)]
    """Built-in scenario names or YAML paths (relative to this file)."""
    policies: Annotated[list[Annotated[str, Field(strict=True)] | dict[str, Any]], Field(min_length=1)]
    """Policy names, or mappings with 'policy', its parameters and an optional 'label'."""
    episodes: Annotated[Int, Field(ge=2, le=MAX_BATCH)] = 1000
    """Episodes per policy and scenario, the same for every policy (at least 2, for a confidence interval)."""
    seed: Annotated[Int, Field(ge=0, le=MAX_SEED)] = 0
    """The episodes' seed: same seed, same numbers."""
    periods: Annotated[Int, Field(ge=2, le=MAX_PERIODS)] | None = None
    """Override every scenario's horizon."""
    warmup: Annotated[Int, Field(ge=0, le=MAX_PERIODS)] = 0
    """Periods at an episode's start left out of the metrics."""
    baseline: Annotated[str, Field(strict=True)] | None = None
    """The label the paired differences refer to (default: the first policy)."""



@dataclass(frozen=True)
class PolicyEntry:
    """One policy of a benchmark: its label and its spec for :func:`agents.registry.make_policy`."""

    label: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class BenchmarkConfig:
    """A validated benchmark config (see the module docstring)."""

    name: str
    description: str
    scenarios: tuple[Scenario, ...]
    policies: tuple[PolicyEntry, ...]
    episodes: int
    seed: int
    warmup: int
    baseline: str
    source: str


@dataclass
class Row:
    """One policy on one scenario."""

    scenario: str
    label: str
    policy: str  # the policy's own description, with its resolved parameters
    metrics: Metrics
    vs_baseline: Estimate  # paired difference in team cost per period
    gap_to_optimum: float | None  # relative to the exact long-run optimum (Clark–Scarf or the DP), where known
    sample: Trajectory = field(repr=False)  # the first episode, for plots


@dataclass
class BenchmarkResult:
    """Every row of a benchmark run, with the exact optima where theory has them."""

    config: BenchmarkConfig
    rows: list[Row]
    optimum: dict[str, float]  # scenario -> exact long-run optimal cost, where known


def resolve_benchmark_path(name_or_path: str | Path) -> Path:
    """A built-in benchmark name (``heuristics``) or a path to a YAML file."""
    return resolve_yaml(name_or_path, BENCHMARK_DIR, "benchmark")


def load_benchmark(
    name_or_path: str | Path, episodes: int | None = None, seed: int | None = None, periods: int | None = None
) -> BenchmarkConfig:
    """Read and validate a benchmark config; every problem is one :class:`ConfigError` line naming file and field."""
    path = resolve_benchmark_path(name_or_path)
    raw = read_yaml(path)
    src = str(path)
    spec = parse_model(BenchmarkFile, raw, src)
    episodes = spec.episodes if episodes is None else episodes
    seed = spec.seed if seed is None else seed
    warmup = spec.warmup
    periods = spec.periods if periods is None else periods
    scenario_names = spec.scenarios
    scenarios = []
    for i, name in enumerate(scenario_names):
        try:
            scen = load_scenario(name if Path(name).is_absolute() or not name.endswith((".yaml", ".yml"))
                                 else str(path.parent / name))
        except ConfigError as exc:
            raise ConfigError(f"{src}: scenarios[{i}]: {exc}") from None
        scen = scen.with_periods(periods) if periods else scen
        if warmup >= scen.periods - 1:
            raise ConfigError(f"{src}: warmup {warmup} leaves too few of the {scen.periods} periods of '{scen.name}'")
        scenarios.append(scen)
    policies = _policy_entries(spec.policies, src)
    baseline = spec.baseline if spec.baseline is not None else policies[0].label
    if baseline not in {p.label for p in policies}:
        raise ConfigError(f"{src}: baseline {baseline!r} is not a policy label "
                          f"(labels: {', '.join(p.label for p in policies)})")
    # build every policy once now, so a bad parameter fails before any work is done
    for scen in scenarios:
        for i, entry in enumerate(policies):
            if OPTIMAL not in entry.spec.values():  # (best parameters are found when the benchmark runs)
                make_policy(entry.spec, scen, where=f"{src}: policies[{i}] on '{scen.name}'")
    return BenchmarkConfig(
        name=spec.name or path.stem, description=spec.description.strip(),
        scenarios=tuple(scenarios), policies=policies, episodes=episodes, seed=seed, warmup=warmup,
        baseline=baseline, source=src,
    )


def _policy_entries(raw: Any, src: str) -> tuple[PolicyEntry, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{src}: 'policies' must be a non-empty list")
    entries, seen = [], set()
    for i, item in enumerate(raw):
        spec = {"policy": item} if isinstance(item, str) else item
        if not isinstance(spec, Mapping) or "policy" not in spec:
            raise ConfigError(f"{src}: policies[{i}]: expected a policy name or a mapping with key 'policy' "
                              f"(got {item!r})")
        spec = dict(spec)
        label = str(spec.pop("label", spec["policy"]))
        if not label.strip() or not label.isprintable():
            raise ConfigError(f"{src}: policies[{i}]: label must be printable characters, not empty "
                              f"(got '{shown(label)}')")
        if label in seen:
            raise ConfigError(f"{src}: policies[{i}]: duplicate label {label!r} (give each entry its own 'label')")
        seen.add(label)
        entries.append(PolicyEntry(label, spec))
    return tuple(entries)


Measure = Callable[[Policy, Scenario, int, int, int], tuple[Metrics, Trajectory]]
"""``measure(policy, scenario, episodes, seed, warmup)``: a policy's metrics and first trajectory on the
common random numbers of ``seed`` (another back end's, e.g. :func:`evaluation.device.device_measure`)."""


Measured = tuple[Metrics, str, Trajectory]
"""A policy measured on a scenario: its metrics, its description, its first episode (for plots)."""


def run_benchmark(config: BenchmarkConfig, advance: Callable[[str], None] | None = None,
                  measure_on: Measure | None = None) -> BenchmarkResult:
    """Roll out every policy on every scenario; ``advance(message)`` is called after each pair. ``measure_on``:
    measure with another back end than the NumPy core (every policy then runs on it, so pairs stay paired)."""
    measured: dict[tuple[int, int], Measured] = {}
    for s, scen in enumerate(config.scenarios):
        episode = episode_blocks(scen, config.episodes, config.seed) if measure_on is None else None
        for i, entry in enumerate(config.policies):
            measured[(s, i)] = measure_pair(config, s, i, episode, measure_on)
            if advance:
                advance(f"{scen.name}: {entry.label}")
    return assemble(config, measured)


def measure_pair(config: BenchmarkConfig, s: int, i: int, episode: Any = None, measure_on: Measure | None = None
                 ) -> Measured:
    """The ``i``-th policy on the ``s``-th scenario, on the benchmark's common episodes (``episode``: those
    episodes, drawn already; else drawn here from the seed, the same ones)."""
    scen, entry = config.scenarios[s], config.policies[i]
    policy = make_policy(entry.spec, scen, where=f"{config.source}: policies[{i}] on '{scen.name}'")
    if measure_on is not None:
        m, first = measure_on(policy, scen, config.episodes, config.seed, config.warmup)
    else:
        if episode is None:
            episode = episode_blocks(scen, config.episodes, config.seed)
        m, first = measure(policy, scen, config.episodes, config.seed, episode, config.warmup)
    return m, policy.describe(), first


def assemble(config: BenchmarkConfig, measured: dict[tuple[int, int], Measured]) -> BenchmarkResult:
    """The rows, each with its paired difference to the baseline and its gap to the exact optimum, in the
    config's order."""
    rows: list[Row] = []
    optimum: dict[str, float] = {}
    for s, scen in enumerate(config.scenarios):
        known = known_optimum(scen)
        if known is not None:
            optimum[scen.name] = known[0]
        metrics = {entry.label: measured[(s, i)] for i, entry in enumerate(config.policies)}
        base = metrics[config.baseline][0]
        for label, (m, described, sample) in metrics.items():
            best = optimum.get(scen.name)
            gap = None if best is None else m.cost.mean / best - 1.0
            rows.append(Row(scen.name, label, described, m, paired_difference(m, base), gap, sample))
    return BenchmarkResult(config, rows, optimum)


HEURISTICS = tuple(PolicyEntry(name, {"policy": name}) for name in ("forecast_base_stock", "sterman", "pass_through",
                                                                    "random"))
"""The classic heuristics every learned or optimal policy is compared with, at their defaults."""


def optimum_benchmark(scenario: Scenario, best: Optimum, episodes: int, seed: int) -> BenchmarkConfig:
    """The given optimal levels (echelon and local) against the classic heuristics (``echelon optimal --compare``)."""
    policies = (
        PolicyEntry("optimum", {"policy": "echelon_base_stock", "levels": best.echelon_levels.tolist()}),
        PolicyEntry("local levels", {"policy": "base_stock", "levels": best.local_levels.tolist()}),
        *HEURISTICS,
    )
    return BenchmarkConfig(
        name=f"{scenario.name} optimum", description="", scenarios=(scenario,), policies=policies,
        episodes=episodes, seed=seed, warmup=0, baseline="optimum", source=scenario.source,
    )


def learned_benchmark(run: Path, episodes: int = 1000, seed: int = 0) -> BenchmarkConfig:
    """A benchmark of a training run's policy against the heuristics and the best base-stock levels."""
    run = Path(run)
    trained = read_run_config(run)
    scenario = load_scenario(trained["scenario"])
    label = f"learned ({shown(trained.get('name', run.name))})"  # (a run folder's text: never raw to a terminal)
    single = trained.get("mode") == "single_site"
    response = (PolicyEntry(f"best response at {trained.get('site')}", reference_spec(trained)),) if single else ()
    policies = (
        PolicyEntry(label, {"policy": "learned", "run": str(run)}),
        *response,
        PolicyEntry("best echelon", dict(OPTIMAL_SPEC)),
        PolicyEntry("best local", {"policy": "base_stock", "levels": "optimal"}),
        *HEURISTICS,
    )
    make_policy(policies[0].spec, scenario, where=str(run))  # a broken run fails here, before any work
    return BenchmarkConfig(
        name=f"evaluate {run.name}", description=f"The policy trained in {run} against the heuristics and the "
        f"best base-stock levels, on the same demand. Its learning curve: {RunFolder(run).curve}; "
        f"TensorBoard: tensorboard --logdir {RunFolder(run).tensorboard}.", scenarios=(scenario,), policies=policies,
        episodes=episodes, seed=seed, warmup=0, baseline=response[0].label if single else "best echelon",
        source=str(run),
    )
