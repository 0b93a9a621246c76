"""The result type of every way to find base-stock levels: exact (Clark–Scarf, newsvendor) or searched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Optimum:
    """Levels per site (site order) and their expected cost per period."""

    method: str  # "clark_scarf", "newsvendor" or "simulation"
    sites: tuple[str, ...]
    echelon_levels: np.ndarray  # [S^e_j]
    local_levels: np.ndarray  # [S_j] installation levels (see optimal_levels)
    expected_cost: float  # of the echelon levels: long run (exact) or per period of the scenario's episodes
    half_width: float = 0.0  # 95% confidence half-width (0 for the exact methods)
    local_cost: float | None = None  # of the local levels, where they are searched separately

    def as_dict(self) -> dict:
        """The JSON form ``echelon optimal --json`` prints."""
        out = {
            "method": self.method,
            "echelon_levels": _by_site(self.sites, self.echelon_levels),
            "local_levels": _by_site(self.sites, self.local_levels),
            "expected_cost": self.expected_cost,
            "ci95_half_width": self.half_width,
        }
        if self.local_cost is not None:
            out["local_levels_cost"] = self.local_cost
        return out


def _by_site(sites: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return {s: round(float(v), 9) for s, v in zip(sites, values, strict=True)}
