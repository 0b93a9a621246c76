"""Customer-demand models [D].

Every model draws a whole episode at once, ``sample(rng, batch, periods) ->
array[batch, periods]``, from an explicit :class:`numpy.random.Generator`, so an
episode's randomness is fixed at reset and policies compared on the same seed see
the same demand (common random numbers).

Models are chosen by ``kind`` in a scenario's ``demand:`` block. The block is read
against its declaration (:mod:`envs.demand_schema`, one pydantic model per kind), and
the :data:`DEMAND_MODELS` registry's builder of the kind checks what spans several
fields and builds the model; a failure is one :class:`envs.errors.ConfigError` line
naming the field.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from echelon.envs.demand_schema import (
    CsvSpec,
    EmpiricalSpec,
    GeometricSpec,
    HistorySpec,
    NegativeBinomialSpec,
    NormalSpec,
    PoissonSpec,
    SeasonalSpec,
    SequenceSpec,
    StepSpec,
    UniformSpec,
    read_demand_spec,
)
from echelon.envs.errors import ConfigError
from echelon.envs.files import read_csv_rows
from echelon.envs.history import fit, read_history
from echelon.envs.limits import MAX_MAGNITUDE


class DemandModel(Protocol):
    """A per-period customer demand process at one customer-facing site."""

    mean: float
    """Long-run mean demand per period [E D]."""
    integral: bool
    """True when every draw is a whole number."""

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        """Draw ``[batch, periods]`` demands (float64, >= 0)."""
        ...

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        """Draw periods ``start .. stop - 1`` time-major, ``[stop - start, batch]``, from the model's own
        stream ``rng``: consecutive calls give the numbers one call over the whole horizon gives (the
        chunked layout, :class:`envs.simulator.ChunkedEpisode`). ``first`` is :meth:`begin`'s."""
        ...

    def begin(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray | None:
        """What an episode fixes at its start in the chunked layout (a replay's first row), else None."""
        ...


class _Stationary:
    """Chunked draws of a model without per-episode state (see :class:`DemandModel`)."""

    def begin(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray | None:
        return None


# Stationary models (Poisson, Normal, Uniform) also give ``pmf(step)``: the
# one-period distribution on the grid 0, step, 2 step, ... that exact optima
# (agents.clark_scarf) need; time-varying models have none.


@dataclass(frozen=True)
class Poisson(_Stationary):
    """Poisson demand with mean [lambda]."""

    mean: float
    integral: bool = True

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        return rng.poisson(self.mean, size=(batch, periods)).astype(np.float64)

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        # by inversion of the distribution function, one uniform per draw: about twice as fast as
        # rng.poisson for the small means of daily demand, and exact to float64's resolution
        cdf = _poisson_cdf(self.mean)
        u = rng.random((stop - start, batch))
        return np.searchsorted(cdf, u, side="right").astype(np.float64)

    def pmf(self, step: float = 1.0) -> np.ndarray:
        """P(D = k) for k = 0, 1, ... up to a tail below 1e-15 (``step`` must be 1)."""
        _whole_step(step, self)
        k = np.arange(int(self.mean + 20 * math.sqrt(self.mean) + 30))
        log_p = k * math.log(self.mean) - self.mean - np.array([math.lgamma(i + 1) for i in k])
        return _trim(np.exp(log_p))


@dataclass(frozen=True)
class NegativeBinomial(_Stationary):
    """Whole-unit demand more variable than Poisson: mean [mu] and coefficient of variation [CV].

    The negative binomial with r = mu^2 / (sigma^2 - mu) successes and success probability
    p = r / (r + mu), sigma = CV mu: the Poisson with a gamma-distributed mean (a mixture over
    customers' buying rates), so sigma^2 > mu, CV > 1 / sqrt(mu) (Nahmias & Olsen, *Production and
    Operations Analysis*, sec. 5; Snyder & Shen sec. 4.3 for its use in base-stock models).
    """

    mean: float
    cv: float
    integral: bool = True

    @property
    def std(self) -> float:
        return self.cv * self.mean

    @property
    def _r_p(self) -> tuple[float, float]:
        variance = self.std**2
        r = self.mean**2 / (variance - self.mean)
        return r, r / (r + self.mean)

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        r, p = self._r_p
        return rng.negative_binomial(r, p, size=(batch, periods)).astype(np.float64)

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        r, p = self._r_p
        return rng.negative_binomial(r, p, size=(stop - start, batch)).astype(np.float64)

    def pmf(self, step: float = 1.0) -> np.ndarray:
        """P(D = k) for k = 0, 1, ... up to a tail below 1e-15 (``step`` must be 1)."""
        _whole_step(step, self)
        r, p = self._r_p
        k = np.arange(int(self.mean + 40 * self.std + 30))
        log_p = (np.array([math.lgamma(i + r) - math.lgamma(i + 1) for i in k]) - math.lgamma(r)
                 + r * math.log(p) + k * math.log1p(-p))
        return _trim(np.exp(log_p))


@dataclass(frozen=True)
class Geometric(_Stationary):
    """Geometric demand on 0, 1, 2, ... with mean [mu]: P(D = k) = (1 - q) q^k, q = mu / (1 + mu), so the
    variance is mu (1 + mu), a CV above 1 (the high-variability case of the lost-sales literature, e.g.
    Zipkin 2008)."""

    mean: float
    integral: bool = True

    @property
    def _q(self) -> float:
        return self.mean / (1.0 + self.mean)

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        return (rng.geometric(1.0 - self._q, size=(batch, periods)) - 1).astype(np.float64)

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        return (rng.geometric(1.0 - self._q, size=(stop - start, batch)) - 1).astype(np.float64)

    def pmf(self, step: float = 1.0) -> np.ndarray:
        """P(D = k) for k = 0, 1, ... up to a tail below 1e-15 (``step`` must be 1)."""
        _whole_step(step, self)
        q = self._q
        k = np.arange(int(math.log(1e-16) / math.log(q)) + 2 if q > 0 else 1)
        return _trim((1.0 - q) * q**k)


@dataclass(frozen=True)
class Empirical(_Stationary):
    """Whole-unit demand with a given distribution: P(D = k) = probs[k], k = 0, 1, ... (from a list, or the
    frequencies of a column of past demands)."""

    probs: tuple[float, ...]
    integral: bool = True

    @property
    def mean(self) -> float:  # type: ignore[override]
        return float(np.dot(np.arange(len(self.probs)), self.probs))

    @functools.cached_property
    def _cdf(self) -> np.ndarray:
        cdf = np.cumsum(self.probs)
        cdf[-1] = 1.0
        return cdf

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        return np.searchsorted(self._cdf, rng.random((batch, periods)), side="right").astype(np.float64)

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        return np.searchsorted(self._cdf, rng.random((stop - start, batch)), side="right").astype(np.float64)

    def pmf(self, step: float = 1.0) -> np.ndarray:
        """P(D = k) for k = 0, 1, ..., the largest with probability above 0 (``step`` must be 1)."""
        _whole_step(step, self)
        return np.array(self.probs)


@dataclass(frozen=True)
class Normal(_Stationary):
    """Normal demand N(mean, std^2), censored at 0 (a negative draw becomes 0).

    With ``mean`` several ``std`` above 0 (the usual textbook case) censoring
    changes nothing measurable; ``mean`` reports the parameter, not the censored mean.
    """

    mean: float
    std: float
    integral: bool = False

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        return np.maximum(rng.normal(self.mean, self.std, size=(batch, periods)), 0.0)

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        return np.maximum(rng.normal(self.mean, self.std, size=(stop - start, batch)), 0.0)

    def pmf(self, step: float) -> np.ndarray:
        """Demand discretised to the grid 0, step, 2 step, ...: P(D rounds to k step).

        Each grid point takes the probability of the interval of width ``step``
        around it (all of ``D < step / 2`` goes to 0, as censoring does).
        """
        top = self.mean + 12 * self.std
        edges = (np.arange(int(top / step) + 2) + 0.5) * step
        cdf = np.array([0.5 * (1 + math.erf((e - self.mean) / (self.std * math.sqrt(2)))) for e in edges])
        return _trim(np.diff(cdf, prepend=0.0))


@dataclass(frozen=True)
class Uniform(_Stationary):
    """Discrete uniform demand on the integers ``low..high`` (both included)."""

    low: int
    high: int
    integral: bool = True

    @property
    def mean(self) -> float:  # type: ignore[override]
        return (self.low + self.high) / 2.0

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        return rng.integers(self.low, self.high + 1, size=(batch, periods)).astype(np.float64)

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        # (rng.integers buffers 32-bit halves within one call, so split calls would differ; a uniform
        # float per draw keeps chunks equal to one call)
        return self.low + np.floor(rng.random((stop - start, batch)) * (self.high - self.low + 1))

    def pmf(self, step: float = 1.0) -> np.ndarray:
        """P(D = k) for k = 0, 1, ..., high (``step`` must be 1)."""
        _whole_step(step, self)
        out = np.zeros(self.high + 1)
        out[self.low:] = 1.0 / (self.high - self.low + 1)
        return out


@dataclass(frozen=True)
class Seasonal(_Stationary):
    """Poisson demand whose mean follows a sine wave.

    mean_t = base + amplitude * sin(2 pi (t + phase) / cycle) for period t = 0, 1, ... of the episode. An
    amplitude above the base would make the rate negative for part of the cycle: refused unless the scenario
    says ``clip: true``, and then the rate is clipped at 0 and the long-run mean is the clipped wave's.
    """

    base: float
    amplitude: float
    cycle: int
    phase: int = 0
    clip: bool = False
    integral: bool = True

    @property
    def mean(self) -> float:  # type: ignore[override]
        """The long-run mean: the base, or the clipped wave's average over a cycle."""
        return self.base if self.amplitude <= self.base else float(np.mean(self.means(self.cycle)))

    def means(self, periods: int) -> np.ndarray:
        t = np.arange(periods) + self.phase
        return np.maximum(self.base + self.amplitude * np.sin(2 * np.pi * t / self.cycle), 0.0)

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        lam = np.broadcast_to(self.means(periods), (batch, periods))
        return rng.poisson(lam).astype(np.float64)

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        lam = np.broadcast_to(self.means(stop)[start:, None], (stop - start, batch))
        return rng.poisson(lam).astype(np.float64)


@dataclass(frozen=True)
class StepChange(_Stationary):
    """Demand that jumps from ``before`` to ``after`` at period ``at`` (0-based).

    Deterministic by default (the classic beer game: 4 cases a week, then 8
    from week 5, i.e. ``at: 4``); ``noise: poisson`` draws Poisson demand with
    that mean instead.
    """

    before: float
    after: float
    at: int
    noise: str = "none"

    @property
    def mean(self) -> float:  # type: ignore[override]
        return self.after

    @property
    def integral(self) -> bool:  # type: ignore[override]
        return self.noise == "poisson" or (
            float(self.before).is_integer() and float(self.after).is_integer()
        )

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        level = np.where(np.arange(periods) < self.at, self.before, self.after)
        level = np.broadcast_to(level, (batch, periods)).astype(np.float64)
        if self.noise == "poisson":
            return rng.poisson(level).astype(np.float64)
        return level.copy()

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        level = np.where(np.arange(start, stop) < self.at, self.before, self.after)
        level = np.broadcast_to(level[:, None], (stop - start, batch)).astype(np.float64)
        return rng.poisson(level).astype(np.float64) if self.noise == "poisson" else level.copy()


@dataclass(frozen=True)
class Replay:
    """Replay of a recorded demand series (a CSV column).

    Each episode reads ``periods`` consecutive values starting at row 0, or, with
    ``random_start``, at an offset drawn uniformly from the rows that leave a full
    episode.
    """

    values: np.ndarray
    random_start: bool = False
    source: str = ""

    @property
    def mean(self) -> float:  # type: ignore[override]
        return float(self.values.mean())

    @property
    def integral(self) -> bool:  # type: ignore[override]
        return bool(np.all(self.values == np.round(self.values)))

    def sample(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        n = len(self.values)
        if periods > n:
            raise ConfigError(f"{self.source}: has {n} rows, fewer than the {periods} periods asked")
        start = self.begin(rng, batch, periods)
        return self.values[start[:, None] + np.arange(periods)[None, :]].astype(np.float64)

    def begin(self, rng: np.random.Generator, batch: int, periods: int) -> np.ndarray:
        """Each episode's first row: 0, or drawn uniformly from those that leave a full episode."""
        n = len(self.values)
        if self.random_start and n > periods:
            return rng.integers(0, n - periods + 1, size=batch)
        return np.zeros(batch, dtype=np.int64)

    def draw(self, rng: np.random.Generator, batch: int, start: int, stop: int,
             first: np.ndarray | None) -> np.ndarray:
        first = np.zeros(batch, dtype=np.int64) if first is None else first
        return self.values[np.arange(start, stop)[:, None] + first[None, :]].astype(np.float64)


@functools.lru_cache(maxsize=256)
def _poisson_cdf(mean: float) -> np.ndarray:
    """P(D <= k) for k = 0, 1, ... up to the last k with P(D = k) > 1e-17, that entry set to exactly 1
    (the tail beyond it is below float64's resolution next to 1)."""
    if mean <= 0:
        return np.array([1.0])
    k = np.arange(int(mean + 40 * math.sqrt(mean) + 60))
    pmf = np.exp(k * math.log(mean) - mean - np.array([math.lgamma(i + 1) for i in k]))
    cdf = np.cumsum(pmf[: int(np.flatnonzero(pmf > 1e-17).max()) + 1])
    cdf[-1] = 1.0
    return cdf


def _whole_step(step: float, model: object) -> None:
    if step != 1:
        raise ValueError(f"{type(model).__name__} demand is whole units: its pmf grid step is 1 (got {step})")


def _trim(probs: np.ndarray, tail: float = 1e-15) -> np.ndarray:
    """Drop the upper tail of a pmf where the remaining mass is below ``tail``."""
    keep = np.flatnonzero(np.cumsum(probs[::-1]) >= tail)
    return probs[: len(probs) - keep[0]] if len(keep) else probs


# --------------------------------------------------------------------------- builders

def _poisson(spec: PoissonSpec, where: str, base_dir: Path) -> Poisson:
    return Poisson(spec.mean)


def _negative_binomial(spec: NegativeBinomialSpec, where: str, base_dir: Path) -> NegativeBinomial:
    mean, cv = spec.mean, spec.cv
    if cv * cv * mean <= 1.0 + 1e-9:
        raise ConfigError(f"{where}: field 'cv' must be above the Poisson's 1/sqrt(mean) = {1 / math.sqrt(mean):.3g} "
                          f"(got {cv!r}; use kind: poisson for that variability)")
    return NegativeBinomial(mean, cv)


def _geometric(spec: GeometricSpec, where: str, base_dir: Path) -> Geometric:
    return Geometric(spec.mean)


MAX_SUPPORT = 100_000
"""Largest demand an empirical distribution may give a probability to (its pmf is held whole)."""


def _empirical(spec: EmpiricalSpec, where: str, base_dir: Path) -> Empirical:
    """``{kind: empirical, probs: [p_0, p_1, ...]}`` or ``{kind: empirical, path: F, column: C}`` (the
    frequencies of the whole-number demands in a CSV column)."""
    if (spec.probs is None) == (spec.path is None):
        raise ConfigError(f"{where}: give 'probs' (P(D = 0), P(D = 1), ...) or 'path' and 'column' (a CSV column "
                          f"of past demands), one of the two")
    if spec.path is not None:
        if not isinstance(spec.path, str) or not isinstance(spec.column, str):
            raise ConfigError(f"{where}: fields 'path' and 'column' must name a CSV file and one of its columns")
        path = Path(spec.path) if Path(spec.path).is_absolute() else base_dir / spec.path
        return frequencies(read_csv_column(path, spec.column), f"{path}: column '{spec.column}'")
    probs = spec.probs
    if not isinstance(probs, list) or not 1 <= len(probs) <= MAX_SUPPORT + 1:
        raise ConfigError(f"{where}: field 'probs' must be a list of 1 to {MAX_SUPPORT + 1:,} probabilities, "
                          f"P(D = 0) first (got {type(probs).__name__})")
    for i, p in enumerate(probs):
        if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p) or p < 0:
            raise ConfigError(f"{where}: field 'probs': entry {i} must be a probability >= 0 (got {p!r})")
    total = math.fsum(probs)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(f"{where}: field 'probs' must sum to 1 (got {total:.6g})")
    last = max(i for i, p in enumerate(probs) if p > 0)
    return Empirical(tuple(float(p) / total for p in probs[:last + 1]))


def frequencies(values: np.ndarray, where: str) -> Empirical:
    """The empirical distribution of past whole-unit demands: P(D = k) = their share equal to k."""
    if not len(values) or not np.all(values == np.round(values)) or values.max() > MAX_SUPPORT:
        raise ConfigError(f"{where}: an empirical distribution needs whole-number demands of at most "
                          f"{MAX_SUPPORT:,}")
    counts = np.bincount(values.astype(np.int64))
    return Empirical(tuple(float(c) for c in counts / counts.sum()))


def _normal(spec: NormalSpec, where: str, base_dir: Path) -> Normal:
    return Normal(spec.mean, spec.std)


def _uniform(spec: UniformSpec, where: str, base_dir: Path) -> Uniform:
    low, high = spec.low, spec.high
    if high < low:
        raise ConfigError(f"{where}: field 'high' must be >= low ({low}) (got {high})")
    return Uniform(low, high)


def _seasonal(spec: SeasonalSpec, where: str, base_dir: Path) -> Seasonal:
    model = Seasonal(base=spec.base, amplitude=spec.amplitude, cycle=spec.cycle, phase=spec.phase, clip=spec.clip)
    if model.amplitude > model.base and not spec.clip:
        clipped = dataclasses.replace(model, clip=True).mean
        raise ConfigError(f"{where}: field 'amplitude' {model.amplitude:g} is above the base {model.base:g}, so the "
                          f"rate would go below 0 for part of the cycle; lower it, or say clip: true to clip the "
                          f"rate at 0 (its mean is then {clipped:.4g})")
    return model


def _step(spec: StepSpec, where: str, base_dir: Path) -> StepChange:
    return StepChange(before=spec.before, after=spec.after, at=spec.at, noise=spec.noise)


def _sequence(spec: SequenceSpec, where: str, base_dir: Path) -> Replay:
    """``{kind: sequence, values: [4, 4, 8, ...]}``: the values replayed, one per period from the first."""
    return Replay(np.asarray(spec.values, dtype=np.float64), False, source="the sequence")


def _csv(spec: CsvSpec, where: str, base_dir: Path) -> Replay:
    path = Path(spec.path)
    if not path.is_absolute():
        path = base_dir / path
    values = read_csv_column(path, spec.column)
    return Replay(values, spec.random_start, source=f"{path} column '{spec.column}'")


def read_csv_column(path: Path, column: str) -> np.ndarray:
    """Read one numeric column of a CSV file with a header row; errors name file, row, column."""
    rows = read_csv_rows(path, "a CSV file")
    header = [h.strip() for h in rows[0]]
    if column not in header:
        raise ConfigError(f"{path}: no column '{column}' (columns: {', '.join(header)})")
    col = header.index(column)
    values = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if col >= len(row):
            raise ConfigError(f"{path}: line {line}: column '{column}' is missing")
        try:
            value = float(row[col])
        except ValueError:
            raise ConfigError(f"{path}: line {line}: column '{column}': not a number ({row[col]!r})") from None
        if not math.isfinite(value) or value < 0 or value > MAX_MAGNITUDE:
            raise ConfigError(f"{path}: line {line}: column '{column}': demand must be a finite number in "
                              f"[0, {MAX_MAGNITUDE:g}] (got {row[col]!r})")
        values.append(value)
    if not values:
        raise ConfigError(f"{path}: column '{column}' has no data rows")
    return np.asarray(values, dtype=np.float64)


def _history(spec: HistorySpec, where: str, base_dir: Path) -> DemandModel:
    """``{kind: history, path: F, site: S, product: P, use: replay | fit | empirical, random_start: bool}``: a
    series of a planner's demand-history file (:mod:`envs.history`), replayed, fitted by moments, or taken as
    its empirical distribution (the share of periods with each whole demand)."""
    path = Path(spec.path) if Path(spec.path).is_absolute() else base_dir / spec.path
    history = _read_history_cached(str(path), *_stamp(path))
    values = history.get(spec.site, spec.product, where)
    if spec.use == "empirical":
        return frequencies(values, f"{where}: site '{spec.site}'")
    if spec.use == "fit":
        fitted = fit(values, where)
        return Poisson(fitted.mean) if fitted.kind == "poisson" else Normal(fitted.mean, fitted.std)
    return Replay(values, spec.random_start, source=f"{path} site '{spec.site}'")


def _stamp(path: Path) -> tuple[int, int]:
    """(modification time, size) of a file, so the cache below rereads a file that changed."""
    try:
        info = path.stat()
    except OSError:
        return (0, -1)
    return (info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=8)
def _read_history_cached(path: str, mtime: int, size: int) -> Any:
    """A history file read once for all the sites a scenario takes from it."""
    return read_history(Path(path))


def demand_summary(model: DemandModel, periods: int) -> str:
    """A demand model in a few words, with its true mean and shape: a step's before and after, a season's range,
    a series' range; and, where the mean over the first ``periods`` periods (an episode) differs from the
    long-run one, that mean too (what ``echelon show`` prints)."""
    if isinstance(model, StepChange):
        noise = " (Poisson around it)" if model.noise == "poisson" else ""
        text = f"step {model.before:g} -> {model.after:g} from period {model.at + 1} (at: {model.at}){noise}"
    elif isinstance(model, Seasonal):
        rates = model.means(model.cycle)
        text = (f"seasonal Poisson, rate {model.base:g} +/- {model.amplitude:g} every {model.cycle} periods "
                f"(min {rates.min():.3g}, max {rates.max():.3g}; mean {model.mean:.3g})")
    elif isinstance(model, Replay):
        v = model.values
        text = f"series of {len(v):,} ({model.source}; mean {v.mean():.3g}, min {v.min():g}, max {v.max():g})"
    elif isinstance(model, NegativeBinomial):
        text = f"negative binomial mean {model.mean:g}, CV {model.cv:g}"
    elif isinstance(model, Normal):
        text = f"normal mean {model.mean:g}, std {model.std:g}"
    elif isinstance(model, Uniform):
        text = f"uniform {model.low}..{model.high} (mean {model.mean:g})"
    elif isinstance(model, Empirical):
        text = f"empirical 0..{len(model.probs) - 1} (mean {model.mean:.3g})"
    else:
        text = f"{type(model).__name__.lower()} mean {model.mean:g}"
    episode = _episode_mean(model, periods)
    if episode is not None and abs(episode - model.mean) > 1e-9 * max(1.0, abs(model.mean)):
        text += f"; mean {episode:.3g} over the {periods} periods of an episode"
    return text


def _episode_mean(model: DemandModel, periods: int) -> float | None:
    """The expected demand per period over the first ``periods`` periods, where it can differ from the mean."""
    if isinstance(model, StepChange):
        return float(np.mean(np.where(np.arange(periods) < model.at, model.before, model.after)))
    if isinstance(model, Seasonal):
        return float(model.means(periods).mean())
    if isinstance(model, Replay) and not model.random_start and len(model.values) >= periods:
        return float(model.values[:periods].mean())
    return None


DemandBuilder = Callable[[Any, str, Path], DemandModel]

DEMAND_MODELS: dict[str, DemandBuilder] = {
    "poisson": _poisson,
    "negative_binomial": _negative_binomial,
    "geometric": _geometric,
    "empirical": _empirical,
    "normal": _normal,
    "uniform": _uniform,
    "seasonal": _seasonal,
    "step": _step,
    "sequence": _sequence,
    "csv": _csv,
    "history": _history,
}


def build_demand(spec: Any, where: str, base_dir: Path, site: str | None = None,
                 product: str | None = None) -> DemandModel:
    """Build a demand model from its scenario spec, e.g. ``{kind: poisson, mean: 5}``."""
    if isinstance(spec, Mapping) and spec.get("kind") == "history" and site is not None:
        own = {"site": site} if product is None else {"site": site, "product": product}
        spec = {**own, **spec}  # a site's (and product's) own series unless the spec names another
    validated = read_demand_spec(spec, where)
    return DEMAND_MODELS[validated.kind](validated, where, base_dir)
