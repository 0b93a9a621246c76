"""The single-site model that exact dynamic programs and the lost-sales heuristics work on.

A site supplied from outside, facing stationary whole-unit customer demand [D],
is the classic periodic-review inventory problem. In Echelon's convention an
order placed at the end of period t is on hand at the start of period t + tau,
where tau = order delay [l_o] + lead time [L] (``periods_ahead``); Zipkin's
lead time is tau - 1 (:data:`envs.scenario.LEAD_TIME_CONVENTIONS`).

The pipeline state of Zipkin (2008, sec. 2), in Echelon's terms, at the end of
period t: ``x = (x_0, ..., x_{m-1})``, m = tau - 1, where x_0 is the stock on
hand at the start of period t + 1 (what is left plus what arrives then) and x_j
what arrives j periods after that. An order z placed now arrives after x_{m-1}.
With tau = 1 (m = 0) the state is the stock left, and the order arrives before
the next period's demand. :func:`pipeline_state` reads x off the core's state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.params import CoreParams
from echelon.envs.positions import scheduled_arrivals
from echelon.envs.scenario import Scenario

_TAIL = 1e-15  # one-period demand is truncated where its upper tail falls below this


@dataclass(frozen=True)
class SiteModel:
    """One site's periodic-review problem (symbols as in Zipkin 2008 and Snyder & Shen ch. 4)."""

    site: str
    index: int  # the site's index in the scenario
    lost_sales: bool
    periods_ahead: int  # tau = l_o + L: an order placed at the end of t is on hand at the start of t + tau
    pmf: np.ndarray  # P(D = k), k = 0, 1, ..., truncated where the tail falls below 1e-15
    holding: float  # [h]
    shortage: float  # [p]: per unit lost, or per unit backlogged per period
    order_cost: float  # [c]
    fixed_cost: float  # [K]
    capacity: float  # most that can be ordered per period (inf: none)

    @property
    def mean(self) -> float:
        return float(np.dot(np.arange(len(self.pmf)), self.pmf))

    @property
    def pipeline_length(self) -> int:
        """m = tau - 1: the entries of the pipeline state (Zipkin's lead time)."""
        return self.periods_ahead - 1

    def demand_over(self, periods: int) -> np.ndarray:
        """The pmf of the total demand of ``periods`` periods (exact convolution, tail trimmed)."""
        out = np.array([1.0])
        for _ in range(periods):
            out = _trim(np.convolve(out, self.pmf))
        return out

    def fractile(self, periods: int, ratio: float) -> int:
        """The newsvendor level of ``periods`` periods' demand: the smallest s with P(D <= s) > ratio.

        Strictly greater, so where two levels tie (P(D <= s) = ratio) the larger is taken.
        """
        cdf = np.cumsum(self.demand_over(periods))
        return int(np.searchsorted(cdf, ratio + 1e-12, side="right"))

    def period_cost(self, stock: np.ndarray) -> np.ndarray:
        """Expected holding and shortage cost of a period that starts with ``stock`` on hand (before demand).

        Lost sales: h E[(y - D)^+] + p E[(D - y)^+] (p per unit lost). Backlog: the same with y the
        inventory level, which may be negative.
        """
        y = np.asarray(stock, dtype=np.float64)[..., None]
        d = np.arange(len(self.pmf))
        return (self.pmf * (self.holding * np.maximum(y - d, 0.0) + self.shortage * np.maximum(d - y, 0.0))).sum(-1)


def _trim(pmf: np.ndarray) -> np.ndarray:
    """Drop the upper tail below 1e-15 and renormalise."""
    keep = np.flatnonzero(np.cumsum(pmf[::-1]) >= _TAIL)
    out = pmf[: len(pmf) - keep[0]] if len(keep) else pmf
    return out / out.sum()


def site_models(scenario: Scenario, purpose: str) -> list[SiteModel]:
    """The single-site model of every site; :class:`ConfigError` naming the site and why if one is not.

    Every site must be supplied from outside (no internal supplier, none supplied by it), face
    stationary whole-unit customer demand, and have a fixed lead time. ``purpose`` names what needs
    it (``the exact DP``, ``policy 'myopic'``) for the message.
    """
    models = []
    if scenario.joint_order_cost and len(scenario.sites) > 1:
        raise ConfigError(f"scenario '{scenario.name}': {purpose} covers independent sites; these share a "
                          f"purchase order's fixed cost (joint_order_cost {scenario.joint_order_cost:g})")
    for i, site in enumerate(scenario.sites):
        def refuse(why: str, name: str = site.name) -> ConfigError:
            return ConfigError(f"scenario '{scenario.name}': {purpose} covers sites supplied from outside that face "
                               f"stationary whole-unit demand; site '{name}' {why}")

        if site.supplier is not None:
            raise refuse(f"is supplied by '{site.supplier}'")
        if scenario.customers(site.name):
            raise refuse(f"supplies {', '.join(scenario.customers(site.name))}")
        model = scenario.demand.get(site.name)
        if model is None:
            raise refuse("faces no customer demand")
        if not hasattr(model, "pmf"):
            raise refuse(f"has non-stationary demand ({type(model).__name__})")
        if not model.integral:
            raise refuse(f"has continuous demand ({type(model).__name__}); use whole-unit demand such as poisson")
        if not site.lead_time.fixed:
            raise refuse("has a random lead time")
        models.append(SiteModel(
            site=site.name, index=i, lost_sales=site.lost_sales,
            periods_ahead=site.order_delay + site.lead_time.max, pmf=_trim(np.asarray(model.pmf(1.0))),
            holding=site.holding_cost, shortage=site.shortage_cost, order_cost=site.order_cost,
            fixed_cost=site.fixed_order_cost + scenario.joint_order_cost, capacity=site.capacity,
        ))
    return models


def single_site_model(scenario: Scenario, purpose: str) -> SiteModel:
    """The model of a one-site scenario (see :func:`site_models`)."""
    if len(scenario.sites) != 1:
        raise ConfigError(f"scenario '{scenario.name}': {purpose} covers one site supplied from outside "
                          f"(this network has {len(scenario.sites)} sites)")
    return site_models(scenario, purpose)[0]


def pipeline_state(state: State, params: CoreParams, model: SiteModel) -> np.ndarray:
    """Zipkin's pipeline state ``[B, max(m, 1)]`` of the model's site, whole units (module docstring)."""
    j = model.index
    arrivals = scheduled_arrivals(state, params)[:, j, : model.pipeline_length]  # [B, m]
    on_hand = state.on_hand[:, j]
    if model.pipeline_length == 0:
        x = on_hand[:, None]
    else:
        x = arrivals.copy()
        x[:, 0] += on_hand
    return np.rint(x).astype(np.int64)


def ceil_sqrt(value: float) -> int:
    """ceil(sqrt(value)) for a bound, at least 1."""
    return max(1, math.ceil(math.sqrt(max(value, 0.0))))
