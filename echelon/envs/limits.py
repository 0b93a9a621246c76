"""Bounds on every size a user can set, each with the reason it exists.

A config past a bound is refused up front with a one-line message that states the
limit and why, instead of hanging for hours or dying with a ``MemoryError`` traceback
midway through a run. The figures are generous for real networks (issue 14 plans
thousands of sites); raise a bound here, with its reason, if a real case needs it.
"""

from __future__ import annotations

import os

from echelon.envs.errors import ConfigError

MAX_SITES = 100_000
"""Sites in one scenario: the batched core holds ``[batch, sites]`` arrays; past this, per-site
Python work in building a scenario (seconds per 10,000 sites) dominates."""
MAX_LEAD_TIME = 1_000
"""Periods of a lead time, order delay, information delay or notice: the core keeps one pipeline
slot per period in transit, so a lead time of 10^9 would allocate 10^9 slots."""
MAX_PERIODS = 1_000_000
"""Periods of an episode: an episode's random inputs are drawn up front as ``[periods, batch, sites]``."""
MAX_MAGNITUDE = 1e9
"""Largest cost rate, quantity or demand parameter a scenario may state: a period's team cost sums
rate x units over sites, and an episode's over periods, in float64 (about 16 significant digits);
rates of 10^300 overflow to inf or NaN, and far smaller ones already swamp every other digit."""
MAX_GAME_WEEKS = 10_000
"""Weeks of a game people play (``echelon play``, its saved games): a person types an order a week, and a
replay redraws every week's debrief and chart, so a longer "game" is a simulation (``echelon benchmark``)."""
MAX_BATCH = 1 << 20
"""Copies simulated side by side (``--batches``, ``copies``)."""
MAX_TIMESTEPS = 10**12
"""Timesteps of a training run: at the ~10^4 steps/s of one core, 10^12 is three years."""
MAX_SEED = 2**31 - 1
"""Seeds: SB3 also seeds NumPy's legacy generator, which takes 32 bits (and Echelon adds offsets)."""
MAX_SECONDS = 600.0
"""Seconds per ``echelon speed`` measurement: the figure is a rate, stable after a few seconds."""
MEMORY_ENV = "ECHELON_MAX_MEMORY_GB"
DEFAULT_MEMORY_GB = 8.0
"""Estimated memory of one simulated batch above which a run is refused (``ECHELON_MAX_MEMORY_GB``
raises it on a bigger machine); CI's machine has 24 GiB."""


def memory_limit_bytes() -> float:
    """The memory bound in bytes: ``$ECHELON_MAX_MEMORY_GB`` or 8 GB."""
    text = os.environ.get(MEMORY_ENV)
    if text is None:
        return DEFAULT_MEMORY_GB * 1e9
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{MEMORY_ENV}: expected a number of gigabytes (got {text!r})") from None
    if not value > 0:
        raise ConfigError(f"{MEMORY_ENV}: must be > 0 (got {text!r})")
    return value * 1e9


def batch_bytes(sites: int, batch: int, periods: int, slots: int) -> float:
    """Estimated bytes of a simulated batch: the episode's inputs (demand, lead times, advance demand
    and record noise: up to 4 arrays of ``[periods, batch, sites]`` float64) and the state (about 10
    ``[batch, sites]`` arrays plus one per pipeline ``slot``)."""
    return 8.0 * sites * batch * (4 * periods + 10 + slots)


def check_batch_size(sites: int, batch: int, periods: int, slots: int, what: str) -> None:
    """Refuse a batch whose estimated memory exceeds the limit, saying how much it would need."""
    if batch > MAX_BATCH:
        raise ConfigError(f"{what}: {batch:,} copies is more than the limit of {MAX_BATCH:,} (copies side by side "
                          "in one NumPy batch; run several batches instead)")
    need, limit = batch_bytes(sites, batch, periods, slots), memory_limit_bytes()
    if need > limit:
        raise ConfigError(f"{what}: {batch:,} copies of {sites:,} sites over {periods:,} periods would need about "
                          f"{need / 1e9:,.1f} GB, more than the limit of {limit / 1e9:g} GB (set {MEMORY_ENV} to "
                          "raise it, or use fewer copies or periods)")


WORK_ENV = "ECHELON_MAX_SITE_STEPS"
DEFAULT_MAX_SITE_STEPS = 1e12
"""Site-periods one command may simulate before it is refused (``ECHELON_MAX_SITE_STEPS`` raises it): at
:data:`SITE_STEPS_PER_SECOND` that is more than a day of one core."""
SITE_STEPS_PER_SECOND = 1e7
"""A conservative rate of simulation with a policy deciding (the bare core runs about 3e7 a CPU-second here),
for the estimates printed before long work."""


def check_work(site_steps: float, what: str, knob: str) -> float:
    """Refuse work above the limit with the estimate and the ``knob`` that reduces it; return the estimated
    seconds (callers print the estimate above a minute)."""
    text = os.environ.get(WORK_ENV)
    try:
        limit = float(text) if text is not None else DEFAULT_MAX_SITE_STEPS
    except ValueError:
        raise ConfigError(f"{WORK_ENV}: expected a number of site-periods (got {text!r})") from None
    seconds = site_steps / SITE_STEPS_PER_SECOND
    if site_steps > limit:
        raise ConfigError(f"{what}: about {site_steps:.3g} site-periods to simulate (about {_duration(seconds)} at "
                          f"{SITE_STEPS_PER_SECOND:.0e} a second), more than the limit of {limit:.3g} (set {WORK_ENV} "
                          f"to raise it, or use {knob})")
    return seconds


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.0f} s"


def estimate_words(seconds: float) -> str:
    """An estimate for a progress line, e.g. ``about 12.5 minutes of work``."""
    return f"about {_duration(seconds)} of work (estimated)"
