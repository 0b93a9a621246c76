"""The exact optimum of a serial backlog system: Clark–Scarf echelon base-stock levels.

Stages j = 1..N run from the customer-facing site (site index 0) up to the one
supplied from outside. With echelon holding costs ``h_j = h'_j - h'_{j+1}``
(local rate less the supplier's; ``h_N = h'_N``), ``H = h'_1`` and the
backorder cost [p] at stage 1, the optimal policy is echelon base-stock, and
its levels [S_j] and cost follow from the recursion of Chen & Zheng (1994), as
Snyder & Shen give it (*Fundamentals of Supply Chain Theory*, 2nd ed., sec. 6.2):

    g^_1(x) = h_1 x + (p + H) x^-
    g_j(y)  = E[ g^_j(y - D_j) ],      D_j = demand over L_j periods
    S_j     = argmin_y g_j(y)
    g^_j(x) = h_j x + g_{j-1}(min(S_{j-1}, x))      (j >= 2)

and the optimal expected cost per period is ``g_N(S_N)``; the equivalent local
(installation) levels are ``S_1`` and ``S_j - S_{j-1}``. One stage is the
newsvendor. Clark & Scarf (1960), "Optimal policies for a multi-echelon
inventory problem", Management Science 6(4).

Where echelon holding costs tie at 0 (equal local rates), g_j is flat above
some level and every level there is optimal: the smallest is taken, and the
levels are made monotone, S_j = min(S_j, S_{j+1}), which changes nothing (an
echelon never holds more than the echelon above it lets in).

The functions g live on a uniform grid: exact for whole-unit demand (Poisson,
uniform: grid step 1), and for normal demand a discretisation whose step is a
small fraction of the standard deviation. Each expectation is one FFT
convolution, so a three-stage chain takes milliseconds.

Conventions are the simulator's (:mod:`envs.core`): an order placed at the end
of period t arrives for period t + L's demand, and stock in transit into a site
is charged at its supplier's holding rate. Where the scenario does not charge
pipeline holding, its long-run expected value (rate x mean demand x (L - 1)
periods in transit at a period's end, by Little's law) is subtracted; per-unit
ordering costs add c x mean demand per stage.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from echelon.agents.levels import Optimum
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import Scenario

_TIE = 1e-9  # relative: values of g this close to its minimum are ties (FFT round-off is about 1e-12)
_NORMAL_GRID = 1 / 100  # grid step for continuous demand, in standard deviations (levels to 0.01 sd)


def grid_step(model: Any) -> float:
    """The grid on which a demand model's distribution is taken (``model.pmf(step)``): whole units, or for
    continuous demand a small fraction of its standard deviation."""
    return 1.0 if model.integral else max(getattr(model, "std", 0.0), 1e-3 * model.mean, 1e-9) * _NORMAL_GRID


def serial_optimum(scenario: Scenario, levels: np.ndarray | None = None) -> Optimum:
    """Clark–Scarf optimum of a serial backlog scenario; :class:`ConfigError` if not covered.

    With ``levels``, the exact expected cost of those echelon levels instead (same result type).
    """
    _check_covered(scenario)
    sites = scenario.sites
    model = scenario.demand[sites[0].name]
    step = grid_step(model)
    local = np.array([s.holding_cost for s in sites])
    echelon_h = local - np.append(local[1:], 0.0)
    levels, cost = clark_scarf(
        echelon_h, sites[0].shortage_cost, [s.lead_time.max for s in sites], model.pmf(step), step, levels
    )
    cost += _constant_costs(scenario, model.mean)
    local_levels = levels - np.append(0.0, levels[:-1])
    method = "newsvendor" if len(sites) == 1 else "clark_scarf"
    return Optimum(method, scenario.site_names, levels, local_levels, float(cost))


def clark_scarf(
    echelon_holding: np.ndarray,
    backorder_cost: float,
    lead_times: list[int],
    pmf: np.ndarray,
    step: float,
    levels: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Optimal echelon levels [S_j] and cost per period of a serial chain (module docstring).

    Args:
        echelon_holding: [h_j], stage 1 (customer-facing) first.
        backorder_cost: [p] per unit backordered per period at stage 1.
        lead_times: [L_j] >= 1.
        pmf: one period's demand on the grid 0, step, 2 step, ...
        step: grid step (1 for whole-unit demand).
        levels: evaluate these echelon levels (rounded to the grid) instead of optimising.
    """
    h = np.asarray(echelon_holding, dtype=np.float64)
    total_h = float(h.sum())
    lead_pmfs = [_power(pmf, L) for L in lead_times]
    span = sum(len(q) - 1 for q in lead_pmfs)  # grid points lost to the convolutions, lowest first
    reach = len(_power(pmf, sum(lead_times))) + 1  # levels never exceed total lead-time demand
    lo = -(span + reach)
    x = np.arange(lo, reach + 1) * step
    index = np.arange(len(x))
    below = (backorder_cost + total_h) * np.maximum(-x, 0.0)  # g_0(min(S_0, x)) := (p + H) x^-
    valid, chosen = 0, []  # g is exact from grid index `valid` up
    g, best = below, 0
    for j, q in enumerate(lead_pmfs):
        g = _expect(h[j] * x + below, q)  # g_j(y) = E[g^_j(y - D_j)]
        valid += len(q) - 1
        if levels is None:  # the smallest minimiser: where echelon holding costs tie at 0, g is flat
            flat = g[valid:]
            best = valid + int(np.flatnonzero(flat <= flat.min() + _TIE * max(1.0, abs(flat.min())))[0])
        else:
            best = int(np.clip(round(levels[j] / step) - lo, valid, len(x) - 1))
        chosen.append(x[best])
        below = g[np.minimum(index, best)]  # g_j(min(S_j, x)), the next stage's induced penalty
    if levels is None:  # an echelon never holds more than the echelon above it lets in: S_j <= S_{j+1}
        for j in range(len(chosen) - 2, -1, -1):
            chosen[j] = min(chosen[j], chosen[j + 1])
    return np.array(chosen), float(g[best])


def _expect(f: np.ndarray, pmf: np.ndarray) -> np.ndarray:
    """E[f(y - D)] on the grid: sum_m pmf[m] f[k - m] (exact for k >= len(pmf) - 1)."""
    n = len(f) + len(pmf) - 1
    size = 1 << (n - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(f, size) * np.fft.rfft(pmf, size), size)[: len(f)]
    return out


def _power(pmf: np.ndarray, times: int) -> np.ndarray:
    """The pmf of the sum of ``times`` independent draws (trimmed of a negligible tail)."""
    out = pmf
    for _ in range(times - 1):
        out = np.convolve(out, pmf)
    cut = np.flatnonzero(np.cumsum(out[::-1]) >= 1e-15)
    return np.maximum(out[: len(out) - cut[0]] if len(cut) else out, 0.0)


def _constant_costs(scenario: Scenario, mean: float) -> float:
    """Policy-independent long-run costs outside the recursion (module docstring)."""
    sites = scenario.sites
    extra = sum(s.order_cost for s in sites) * mean
    if not scenario.pipeline_holding:
        index = scenario.index
        extra -= sum(
            sites[index(s.supplier)].holding_cost * mean * (s.lead_time.max - 1) for s in sites if s.supplier
        )
    return extra


def _check_covered(scenario: Scenario) -> None:
    """Raise a one-line :class:`ConfigError` unless the exact optimum applies."""

    def refuse(why: str) -> ConfigError:
        return ConfigError(
            f"scenario '{scenario.name}': no exact optimum: {why}; "
            "use simulation optimisation instead (echelon optimal picks it when no formula applies)"
        )

    sites = scenario.sites
    hub = next((s.name for s in sites if len(scenario.customers(s.name)) > 1), None)
    if hub is not None:
        raise refuse(f"Clark–Scarf covers serial chains, and '{hub}' supplies several sites (a distribution tree)")
    if not scenario.is_serial():
        raise refuse("only the most downstream site may face customer demand")
    for s in sites:
        if s.lost_sales:
            raise refuse(f"site '{s.name}' has lost sales (Clark–Scarf assumes backlog)")
        if np.isfinite(s.capacity):
            raise refuse(f"site '{s.name}' has a capacity")
        if not s.lead_time.fixed:
            raise refuse(f"site '{s.name}' has a random lead time")
        if s.order_delay:
            raise refuse(f"site '{s.name}' has an order-transmission delay")
        if s is not sites[0] and s.shortage_cost:
            raise refuse(f"site '{s.name}' has a backorder cost (Clark–Scarf charges them at the end customer only)")
        if s.fixed_order_cost:
            raise refuse(f"site '{s.name}' has a fixed ordering cost (base-stock is not optimal)")
    if scenario.joint_order_cost:
        raise refuse("it has a purchase order's fixed cost, joint_order_cost (base-stock is not optimal)")
    if not hasattr(scenario.demand[sites[0].name], "pmf"):
        raise refuse("demand is not stationary (the recursion needs one demand distribution)")
