"""A planner's demand history: a long-format CSV, one row per period, site (and product).

Format (a header row, columns in any order, more columns ignored)::

    date,site,product,quantity        or        period,site,quantity
    2025-01-06,store_017,sku_3,12                0,store_017,12

- ``period``: whole numbers >= 0; or ``date``: ISO dates (``YYYY-MM-DD``), mapped to periods by
  the most common gap between consecutive distinct dates in the file (1 day: daily periods, 7
  days: weekly; on a tie the shorter), the first date being period 0; every date must be a whole
  number of periods after the first, else the row is refused by line (one misdated row of a weekly
  file would otherwise make it daily, six zero days to every sale).
- ``site``: the customer-facing site the demand is for; ``product``: optional (one product per
  site today); ``quantity``: a number >= 0.
- A series missing a period had no sales then: its quantity is 0 (sales extracts usually omit
  zero rows). A (period, site, product) given twice is an error naming both lines.

Every bad row is a one-line :class:`~envs.errors.ConfigError` naming the file, the line and the
column. A series is used in a scenario with ``demand: {store_017: {kind: history, path: F}}``:
replayed as recorded, or fitted (:func:`fit`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from echelon.envs.errors import ConfigError
from echelon.envs.files import read_csv_rows
from echelon.envs.limits import MAX_MAGNITUDE, MAX_PERIODS

REQUIRED = ("site", "quantity")
POISSON_DISPERSION = 1.2
"""Variance-to-mean ratio up to which a series is fitted as Poisson (its own ratio is 1)."""


@dataclass(frozen=True)
class History:
    """Every series of a demand-history file, each ``[periods]`` from period 0 of the file."""

    source: str
    series: Mapping[tuple[str, str], np.ndarray]  # (site, product) -> quantities; product "" when none
    period_days: int | None  # 1 daily, 7 weekly, None when the file gives periods

    def get(self, site: str, product: str | None, where: str) -> np.ndarray:
        """The series of ``site`` (and ``product``); a one-line error if the file has none."""
        keys = [k for k in self.series if k[0] == site and (product is None or k[1] == product)]
        if not keys:
            sites = sorted({k[0] for k in self.series})
            shown = ", ".join(sites[:10]) + (", ..." if len(sites) > 10 else "")
            what = f"site '{site}'" + (f" and product '{product}'" if product is not None else "")
            raise ConfigError(f"{where}: {self.source} has no rows for {what} (sites: {shown})")
        if len(keys) > 1:
            raise ConfigError(f"{where}: {self.source} has {len(keys)} products for site '{site}' "
                              f"({', '.join(k[1] for k in keys)}): name one with 'product'")
        return self.series[keys[0]]


def read_history(path: Path) -> History:
    """Read and check a demand-history CSV (module docstring)."""
    path = Path(path)
    rows = read_csv_rows(path, "the demand history")
    time_col, col = _columns([h.strip().lower() for h in rows[0]], path)
    records = _records(rows, time_col, col, path)
    periods, days = _periods([r[1] for r in records], time_col, path, [r[0] for r in records])
    horizon = int(periods.max()) + 1
    if horizon > MAX_PERIODS:
        raise ConfigError(f"{path}: the history spans {horizon:,} periods, more than the limit of {MAX_PERIODS:,}")
    series: dict[tuple[str, str], np.ndarray] = {}
    seen: dict[tuple[int, str, str], int] = {}
    for (line, _, site, product, quantity), period in zip(records, periods.tolist(), strict=True):
        key = (period, site, product)
        if key in seen:
            raise ConfigError(f"{path}: line {line}: period {period}, site '{site}'"
                              f"{f', product {product!r}' if product else ''} is also on line {seen[key]}")
        seen[key] = line
        values = series.setdefault((site, product), np.zeros(horizon))
        values[period] = quantity
    return History(str(path), series, days)


def _columns(header: list[str], path: Path) -> tuple[str, dict[str, int]]:
    """The time column (``period`` or ``date``) and the index of each column used, from the header row."""
    for name in REQUIRED:
        if name not in header:
            raise ConfigError(f"{path}: line 1: no column '{name}' (columns: {', '.join(header)}; "
                              "needed: period or date, site, quantity, and optionally product)")
    if ("period" in header) == ("date" in header):
        raise ConfigError(f"{path}: line 1: give one of the columns 'period' and 'date' (columns: {', '.join(header)})")
    time_col = "period" if "period" in header else "date"
    return time_col, {name: header.index(name) for name in (time_col, "site", "quantity", "product") if name in header}


def _records(rows: list[list[str]], time_col: str, col: dict[str, int],
             path: Path) -> list[tuple[int, Any, str, str, float]]:
    """Each data row as (line, time, site, product, quantity), blank rows skipped; at least one."""
    records: list[tuple[int, Any, str, str, float]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        cells = {}
        for name, i in col.items():
            if i >= len(row):
                raise ConfigError(f"{path}: line {line}: column '{name}' is missing")
            cells[name] = row[i].strip()
        if not cells["site"]:
            raise ConfigError(f"{path}: line {line}: column 'site' is empty")
        records.append((line, _time(cells[time_col], time_col, path, line), cells["site"],
                        cells.get("product", ""), _quantity(cells["quantity"], path, line)))
    if not records:
        raise ConfigError(f"{path}: the demand history has no data rows")
    return records


def _time(text: str, column: str, path: Path, line: int) -> int | dt.date:
    if column == "period":
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{path}: line {line}: column 'period': not a whole number ({text!r})") from None
        if value < 0:
            raise ConfigError(f"{path}: line {line}: column 'period': must be >= 0 (got {value})")
        return value
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{path}: line {line}: column 'date': not an ISO date YYYY-MM-DD ({text!r})") from None


def _quantity(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{path}: line {line}: column 'quantity': not a number ({text!r})") from None
    if not math.isfinite(value) or value < 0 or value > MAX_MAGNITUDE:
        raise ConfigError(f"{path}: line {line}: column 'quantity': must be a finite number in "
                          f"[0, {MAX_MAGNITUDE:g}] (got {text!r})")
    return value


def _periods(times: list[Any], column: str, path: Path, lines: list[int]) -> tuple[np.ndarray, int | None]:
    """Periods from 0: the period column as given, or dates by the file's most common gap between dates."""
    if column == "period":
        values = np.array(times, dtype=np.int64)
        return values - values.min(), None
    ordinals = np.array([d.toordinal() for d in times], dtype=np.int64)
    distinct = np.unique(ordinals)
    step = 1
    if len(distinct) > 1:
        gaps, counts = np.unique(np.diff(distinct), return_counts=True)
        step = int(gaps[np.argmax(counts)])  # np.unique sorts: on a tie, argmax takes the shorter gap
    offsets = ordinals - distinct[0]
    off_grid = np.flatnonzero(offsets % step)
    if off_grid.size:
        i = int(off_grid[np.argmin(ordinals[off_grid])])
        share = float(np.mean(np.diff(distinct) == step))
        raise ConfigError(f"{path}: line {lines[i]}: column 'date': {times[i]} is not a whole number of "
                          f"{step}-day periods after {dt.date.fromordinal(int(distinct[0]))} (the file's "
                          f"dates are {step} days apart in {share:.0%} of its gaps): a misdated row, or "
                          "irregular dates (give a 'period' column instead)")
    return offsets // step, step


@dataclass(frozen=True)
class Fit:
    """The demand model a series is fitted to, and the moments it was fitted from."""

    kind: str  # "poisson" or "normal"
    mean: float
    std: float
    dispersion: float  # variance / mean

    def spec(self) -> dict[str, Any]:
        """The scenario's ``demand:`` entry of the fitted model."""
        if self.kind == "poisson":
            return {"kind": "poisson", "mean": round(self.mean, 6)}
        return {"kind": "normal", "mean": round(self.mean, 6), "std": round(self.std, 6)}


def fit(values: np.ndarray, where: str) -> Fit:
    """The method of moments: Poisson(mean) when the variance is at most :data:`POISSON_DISPERSION`
    times the mean (a Poisson's variance equals its mean), else Normal(mean, std), truncated at 0 as
    every Echelon normal demand is. Needs two periods and a mean > 0."""
    if len(values) < 2:
        raise ConfigError(f"{where}: a fit needs at least 2 periods of history (got {len(values)})")
    mean, std = float(values.mean()), float(values.std(ddof=1))
    if mean <= 0:
        raise ConfigError(f"{where}: the series has no demand (mean 0); replay it instead of fitting")
    dispersion = std**2 / mean
    return Fit("poisson" if dispersion <= POISSON_DISPERSION else "normal", mean, std, dispersion)


def sample_history(seed: int = 0, stores: int = 8, weeks: int = 104) -> str:
    """A made-up weekly sales extract in the format above: ``stores`` stores of one product over
    ``weeks`` weeks from 2024-01-01, each with its own level, a yearly season and occasional
    promotions (Poisson noise), zero weeks omitted as sales extracts do. Generated, not downloaded:
    ``echelon history --sample FILE`` writes it; the same seed gives the same file."""
    rng = np.random.default_rng(seed)
    start = dt.date(2024, 1, 1)
    codes = sorted(rng.choice(np.arange(1, 200), size=stores, replace=False).tolist())
    lines = ["date,site,product,quantity"]
    for code in codes:
        level = float(rng.uniform(2.0, 14.0))
        phase = float(rng.uniform(0.0, 2 * math.pi))
        for week in range(weeks):
            mean = level * (1.0 + 0.3 * math.sin(2 * math.pi * week / 52 + phase))
            if rng.random() < 0.05:  # a promotion doubles the week's demand
                mean *= 2.0
            quantity = int(rng.poisson(mean))
            if quantity:
                lines.append(f"{start + dt.timedelta(weeks=week)},store_{code:03d},sku_1,{quantity}")
    return "\n".join(lines) + "\n"
