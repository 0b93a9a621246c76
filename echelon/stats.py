"""The statistics every floor uses, defined once: the normal quantile of a two-sided 95% interval and the
half-width of a mean's interval. The package's foundation: it imports nothing of Echelon."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054
"""z_{0.975}, the standard normal quantile of a two-sided 95% confidence interval."""


def half_width(samples: np.ndarray) -> float:
    """The 95% confidence half-width of the mean of ``samples``: z_{0.975} s / sqrt(n) (nan for n < 2)."""
    n = len(samples)
    return Z95 * float(np.std(samples, ddof=1)) / math.sqrt(n) if n > 1 else float("nan")
