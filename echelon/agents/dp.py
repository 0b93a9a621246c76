"""Exact optimal policies of small single-site problems: average-cost dynamic programming.

Two models of one site supplied from outside (:mod:`agents.single_site`), each
solved by relative value iteration (Puterman 1994, sec. 8.5.5) until the bounds
of Odoni (1969), ``min_x (TV - V)(x) <= g* <= max_x (TV - V)(x)``, agree to
1e-10 relative: the optimal long-run cost per period g* is exact to that
precision, and the policy comes back as a table the simulator plays
(:class:`agents.lost_sales.OptimalDP`).

* **Lost sales** with a lead time (Karlin & Scarf 1958; Zipkin 2008): the state
  is the pipeline x = (x_0, ..., x_{m-1}) (:mod:`agents.single_site`), the
  decision the order z, and

      V(x) = C(x_0) + min_z { c z + K [z > 0] + E V((x_0 - D)^+ + x_1, x_2, ..., x_{m-1}, z) } - g

  with C(y) = h E(y - D)^+ + p E(D - y)^+. State bounds: with K = 0 the optimal
  order never exceeds the standard vector base-stock order (Morton 1971), so
  z <= s_m, the one-period newsvendor level, and x_0 + ... + x_{m-1} + z <= s_0,
  the newsvendor level of m + 1 periods, both at the ratio (p - c) / (p - c + h)
  (a unit ordered is a unit sold: c lowers the lost-sale penalty). With K > 0
  the bounds are widened by an EOQ batch, sqrt(2 K E[D] / h), and checked: the
  problem is solved again with wider bounds and must give the same cost.
* **Backlog with a fixed ordering cost** (Scarf 1960; Zheng & Federgruen 1991):
  the state is the inventory position x; ordering up to y costs K [y > x] +
  c (y - x) and charges G(y) = h E(y - D_tau)^+ + b E(D_tau - y)^+, the cost
  of the period the order arrives in. Optimal levels lie where G <= min G + K
  (Zheng & Federgruen 1991, bounds on s and S). G is convex and a straight
  line beyond the support of the lead-time demand (slope -b below it, h above),
  so the band's ends are found from those lines whatever K is, and checked; the
  grid runs from one period's demand below the band to a margin above it, and
  the S found must lie strictly inside the grid (else the margin is doubled and
  the problem solved again). The optimal policy comes out as (s, S).

A problem whose state space would not fit in memory is refused with its size.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from echelon.agents.single_site import SiteModel, ceil_sqrt, single_site_model
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import Scenario

MAX_CELLS = 20_000_000
"""Largest work array the DP may use (float64 values: about 160 MB)."""
TOLERANCE = 1e-10
MAX_ITERATIONS = 100_000

Rule = Callable[[np.ndarray], np.ndarray]
"""An order rule on pipeline states: ``[N, max(m, 1)]`` whole units in, ``[N]`` orders out."""


@dataclass
class DPSolution:
    """The optimal policy and cost of one site, with how it was found."""

    model: SiteModel
    cost: float  # optimal long-run cost per period [g*]
    half_width: float  # half the gap between Odoni's bounds on g*
    table: np.ndarray  # optimal orders: lost sales indexed by the pipeline state; backlog by position - offset
    offset: int  # backlog: the inventory position of table[0]
    bounds: dict[str, int]  # the state bounds used, by name
    states: int  # states in the bounded region
    iterations: int
    seconds: float
    reorder: tuple[int, int] | None = None  # (s, S) where the backlog policy has that form
    checks: list[str] = field(default_factory=list)  # how the bounds were checked

    def orders(self, x: np.ndarray) -> np.ndarray:
        """Optimal orders ``[N]`` for pipeline states ``[N, max(m, 1)]`` (lost sales) or positions ``[N]``.

        States outside the solved region (only an initial state the policy would never create leads
        there) are clipped to it.
        """
        if not self.model.lost_sales:
            index = np.clip(np.rint(np.asarray(x)).astype(np.int64) - self.offset, 0, len(self.table) - 1)
            return self.table[index]
        x = np.asarray(x, dtype=np.int64)
        index = tuple(np.clip(x[:, i], 0, self.table.shape[i] - 1) for i in range(x.shape[1]))
        return self.table[index]

    def describe(self) -> str:
        if self.reorder is not None:
            return f"optimal (DP): (s, S) = ({self.reorder[0]}, {self.reorder[1]})"
        return f"optimal (DP): a table over {self.states:,} states"


def solve(scenario: Scenario | SiteModel, max_cells: int = MAX_CELLS, rvi: RVI | None = None) -> DPSolution:
    """The exact optimum of a one-site scenario; :class:`ConfigError` says why where the DP does not apply.
    ``rvi``: the lost-sales iteration (default :func:`relative_value_iteration`; on the device
    :func:`agents.jax_dp.jax_relative_value_iteration`)."""
    model = scenario if isinstance(scenario, SiteModel) else single_site_model(scenario, "the exact DP")
    if model.lost_sales:
        return _solve_lost_sales(model, max_cells, rvi or relative_value_iteration)
    return _solve_backlog(model, max_cells)


# --------------------------------------------------------------------------- lost sales

def newsvendor_ratio(model: SiteModel) -> float:
    """(p - c) / (p - c + h): the lost-sales newsvendor ratio, a unit ordered being a unit sold."""
    under = max(model.shortage - model.order_cost, 0.0)
    return under / (under + model.holding) if under + model.holding > 0 else 0.0


def standard_levels(model: SiteModel) -> np.ndarray:
    """Morton's (1971) standard vector base-stock levels s_l, l = 0..m: the newsvendor level of m - l + 1 periods."""
    m = model.pipeline_length
    return np.array([model.fractile(m - k + 1, newsvendor_ratio(model)) for k in range(m + 1)])


def _lost_sales_bounds(model: SiteModel, widen: int) -> dict[str, int]:
    levels = standard_levels(model)
    batch = ceil_sqrt(2 * model.fixed_cost * model.mean / max(model.holding, 1e-9)) if model.fixed_cost else 0
    total = int(levels[0]) + batch + widen
    order = min(int(levels[-1]) + batch + widen, int(min(model.capacity, total)))
    return {"stock on hand": total, "order": order, "stock on hand + pipeline": total}


def _lost_sales_cells(model: SiteModel, bounds: dict[str, int]) -> int:
    m = model.pipeline_length
    y, q = bounds["stock on hand + pipeline"] + 1, bounds["order"] + 1
    return y * q**m if m else y * q


def _solve_lost_sales(model: SiteModel, max_cells: int, rvi: RVI) -> DPSolution:
    start = time.perf_counter()
    bounds = _lost_sales_bounds(model, 0)
    _refuse_if_too_large(model, bounds, max_cells)
    solution = _lost_sales_rvi(model, bounds, rvi)
    if model.fixed_cost > 0:  # the bounds are not a theorem here: widen them until the cost stands still
        widen = max(2, bounds["order"] // 2)
        for _ in range(4):
            wider = _lost_sales_bounds(model, widen)
            if _lost_sales_cells(model, wider) > max_cells:
                solution.checks.append(f"wider bounds (+{widen}) would exceed the size limit: not checked")
                break
            check = _lost_sales_rvi(model, wider, rvi)
            if abs(check.cost - solution.cost) <= 10 * TOLERANCE * max(1.0, abs(solution.cost)):
                solution.checks.append(f"widening every bound by {widen} leaves the cost unchanged")
                break
            solution, widen = check, 2 * widen
        else:
            raise ConfigError(f"the exact DP of site '{model.site}': the cost kept changing as the state bounds "
                              f"grew (fixed cost {model.fixed_cost:g}); no bound could be certified")
    else:
        solution.checks.append("bounds from Morton (1971): the optimal order is at most the standard vector "
                               "base-stock order")
    solution.seconds = time.perf_counter() - start
    return solution


def _refuse_if_too_large(model: SiteModel, bounds: dict[str, int], max_cells: int) -> None:
    cells = _lost_sales_cells(model, bounds)
    if cells > max_cells:
        m = model.pipeline_length
        raise ConfigError(
            f"scenario site '{model.site}': the exact DP is too large: {cells:.3g} values "
            f"({m} pipeline entries of 0..{bounds['order']} and stock 0..{bounds['stock on hand']}, "
            f"about {cells * 8 / 1e9:.1f} GB); the limit is {max_cells:.3g} (about {max_cells * 8 / 1e6:.0f} MB): "
            f"shorten the lead time, or use simulation (echelon optimal --method simulation)"
        )


def leftover_matrix(top: int, pmf: np.ndarray) -> np.ndarray:
    """pi[y, k] = P((y - D)^+ = k) for y, k = 0..top."""
    pi = np.zeros((top + 1, top + 1))
    tail = np.concatenate([np.cumsum(pmf[::-1])[::-1], [0.0]])  # tail[d] = P(D >= d)
    for y in range(top + 1):
        d = np.arange(min(y, len(pmf) - 1) + 1)
        pi[y, y - d] += pmf[d]
        pi[y, 0] += tail[y + 1] if y + 1 < len(tail) else 0.0
    return pi


@dataclass(frozen=True, eq=False)
class LostSalesArrays:
    """The lost-sales Bellman operator's arrays (module docstring), for :func:`relative_value_iteration` or
    another back end's (:func:`agents.jax_dp.jax_relative_value_iteration`).

    The state is (x_0, ..., x_{m-1}) of shape ``shape`` (stock on hand + arrivals, then the pipeline), the
    decision z in 0..zmax."""

    m: int  # pipeline length
    top: int  # bound on stock on hand + pipeline
    shape: tuple[int, ...]
    pi: np.ndarray  # [y, k]: P((y - D)^+ = k)
    period: np.ndarray  # [y]: C(y)
    total: np.ndarray  # [shape]: the state's stock on hand + pipeline
    ordering: np.ndarray  # [z]: c z + K [z > 0]
    region: np.ndarray  # [shape] bool: states within the bound
    shift: np.ndarray  # [k, x_1 or z]: min(k + x_1, top), the next period's first entry

    @functools.cached_property
    def penalty(self) -> np.ndarray:
        """``[shape, z]``: the ordering cost, inf where the order would pass the bound (as large as the problem:
        built on first use; the device builds it inside its program instead)."""
        z = np.arange(len(self.ordering))
        return np.where((self.total[..., None] + z <= self.top) | (z == 0), self.ordering, np.inf)


def lost_sales_arrays(model: SiteModel, bounds: dict[str, int]) -> LostSalesArrays:
    """The arrays of the lost-sales DP within ``bounds``."""
    m = model.pipeline_length
    top, zmax = bounds["stock on hand + pipeline"], bounds["order"]
    y_size, q_size = top + 1, zmax + 1
    z = np.arange(q_size)
    ordering = model.order_cost * z + model.fixed_cost * (z > 0)
    if m == 0:  # the state is the stock left; the order arrives before the next demand
        shape: tuple[int, ...] = (y_size,)
        total = np.arange(y_size)
    else:
        shape = (y_size,) + (q_size,) * (m - 1)
        total = sum(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"))
    return LostSalesArrays(
        m, top, shape, leftover_matrix(top, model.pmf), model.period_cost(np.arange(y_size)), total, ordering,
        total <= top,
        np.minimum(np.arange(y_size)[:, None] + np.arange(q_size)[None, :], top))


RVI = Callable[[LostSalesArrays], tuple[float, float, np.ndarray, int]]
"""A relative value iteration of the lost-sales DP: (lower bound, upper bound on g*, optimal order table,
iterations)."""


def relative_value_iteration(a: LostSalesArrays) -> tuple[float, float, np.ndarray, int]:
    """The lost-sales DP by relative value iteration until Odoni's bounds agree (module docstring), in NumPy."""
    value = np.zeros(a.shape)
    for iteration in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is reported after the loop
        q_values = _q_values(a, value)
        best = q_values.min(axis=-1)
        updated = best if a.m == 0 else best + a.period.reshape((-1,) + (1,) * (a.m - 1))
        diff = (updated - value)[a.region]
        low, high = float(diff.min()), float(diff.max())
        value = updated - updated.flat[0]
        if high - low <= TOLERANCE * max(1.0, abs(high)):
            break
    else:
        raise ConfigError(f"the exact DP did not converge in {MAX_ITERATIONS} iterations")
    return low, high, np.argmin(q_values, axis=-1), iteration


def _q_values(a: LostSalesArrays, value: np.ndarray) -> np.ndarray:
    """Each state's cost-to-go of each order z, ``[shape, z]``."""
    if a.m == 0:  # post-decision stock w = y + z: C(w) + E V((w - D)^+)
        after = a.period + a.pi @ value  # [w]
        return after[np.minimum(a.total[:, None] + np.arange(len(a.ordering)), a.top)] + a.penalty
    if a.m == 1:
        return a.pi @ value[a.shift] + a.penalty  # [x_0, z]
    return np.tensordot(a.pi, value[a.shift], axes=(1, 0)) + a.penalty  # [k, x_1, ..., z]


def _lost_sales_rvi(model: SiteModel, bounds: dict[str, int], rvi: RVI = relative_value_iteration) -> DPSolution:
    arrays = lost_sales_arrays(model, bounds)
    try:
        low, high, table, iterations = rvi(arrays)
    except ConfigError:
        raise ConfigError(f"the exact DP of site '{model.site}' did not converge in {MAX_ITERATIONS} iterations") \
            from None
    return DPSolution(model, (low + high) / 2, (high - low) / 2, table, 0, bounds, int(arrays.region.sum()),
                      iterations, 0.0)


# --------------------------------------------------------------------------- backlog with fixed cost

def _solve_backlog(model: SiteModel, max_cells: int) -> DPSolution:
    start = time.perf_counter()
    if np.isfinite(model.capacity):
        raise ConfigError(f"site '{model.site}': the exact DP covers backlog systems without a capacity "
                          f"(a capacity makes the order-up-to band unbounded below)")
    if model.holding <= 0 or model.shortage <= 0:
        raise ConfigError(f"site '{model.site}': the exact DP of a backlog site needs holding and backlog costs "
                          f"above 0 (else the order-up-to band is unbounded)")
    lead = model.demand_over(model.periods_ahead)
    d_max = len(model.pmf) - 1
    y_lo, y_hi = band_limits(model, lead)
    margin = d_max + 1
    while True:  # the grid runs a margin past the band, and the returned S must lie strictly inside it
        solution = _backlog_rvi(model, lead, y_lo - 1, y_hi + margin, max_cells)
        if solution.reorder is None or solution.reorder[1] < y_hi + margin:
            break
        margin *= 2  # (not reached where the band is right: S <= its top, Zheng & Federgruen 1991)
    solution.checks.append(
        f"the optimal levels lie where G(y) <= min G + K (Zheng & Federgruen 1991): y in {y_lo}..{y_hi}, found "
        f"from G's straight lines beyond the demand's support and checked at both ends; the grid runs "
        f"{margin} past it and S lies strictly inside")
    solution.seconds = time.perf_counter() - start
    return solution


def band_limits(model: SiteModel, lead: np.ndarray) -> tuple[int, int]:
    """The band {y : G(y) <= min G + K} of a backlog site, whole: (lowest, highest) y in it.

    G is convex, with its minimum on the support of the lead-time demand D_tau, {0, .., n - 1}; beyond it G
    is a straight line: G(y) = b (E D_tau - y) for y <= 0 and h (y - E D_tau) for y >= n - 1. So the band
    ends at most (min G + K) / b below E D_tau and (min G + K) / h above it; both ends are checked.
    """
    n, mean = len(lead), float(np.dot(np.arange(len(lead)), lead))
    support = _backlog_cost(model, lead, np.arange(n))
    top = float(support.min()) + model.fixed_cost + 1e-12
    lowest = min(0, math.floor(mean - top / model.shortage) - 1)
    highest = max(n - 1, math.ceil(mean + top / model.holding) + 1)
    ys = np.arange(lowest, highest + 1)
    inside = ys[_backlog_cost(model, lead, ys) <= top]
    if inside[0] == lowest or inside[-1] == highest:  # never: the straight lines bound it
        raise AssertionError(f"site '{model.site}': the band {inside[0]}..{inside[-1]} reaches its grid's end")
    return int(inside[0]), int(inside[-1])


def _backlog_rvi(model: SiteModel, lead: np.ndarray, y_lo: int, y_hi: int, max_cells: int) -> DPSolution:
    """Relative value iteration on positions from ``y_lo`` - (largest demand) to ``y_hi``; orders are forced
    below ``y_lo`` (where no optimal level lies) and levels above ``y_hi`` are not offered."""
    d_max = len(model.pmf) - 1
    x_lo = y_lo - d_max
    cells = (y_hi - x_lo + 1) * (d_max + 1)
    if cells > max_cells:
        raise ConfigError(f"site '{model.site}': the exact DP is too large: {cells:.3g} values for positions "
                          f"{x_lo}..{y_hi}; the limit is {max_cells:.3g}")
    x = np.arange(x_lo, y_hi + 1)
    g_x = _backlog_cost(model, lead, x)
    must_order = x < y_lo
    value = np.zeros(len(x))
    pmf = model.pmf
    below = np.arange(len(x))[:, None] - np.arange(d_max + 1)[None, :]  # index of y - d
    reachable = x >= y_lo  # W is only needed (and only defined on the grid) from y_lo up
    below = np.clip(below, 0, len(x) - 1)
    for iteration in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is reported after the loop
        # W(y) = G(y) + E V(y - D), for y >= y_lo (then y - D >= x_lo)
        w = np.where(reachable, g_x + value[below] @ pmf, np.inf)
        # ordering up to some y > x: K + c (y - x) + W(y); the best y above each x by a suffix minimum
        shifted = w + model.order_cost * x
        suffix = np.minimum.accumulate(shifted[::-1])[::-1]  # min over y >= x
        above = np.append(suffix[1:], np.inf)  # min over y > x
        order_value = model.fixed_cost + above - model.order_cost * x
        stay = np.where(must_order, np.inf, w)
        updated = np.minimum(stay, order_value)
        diff = updated - value
        low, high = float(diff.min()), float(diff.max())
        value = updated - updated[0]
        if high - low <= TOLERANCE * max(1.0, abs(high)):
            break
    else:
        raise ConfigError(f"the exact DP of site '{model.site}' did not converge in {MAX_ITERATIONS} iterations")
    target = np.array([x[i] if stay[i] <= order_value[i] else
                       x[i + 1 + int(np.argmin(shifted[i + 1:]))] for i in range(len(x))])
    table = (target - x).astype(np.int64)
    return DPSolution(model, (low + high) / 2, (high - low) / 2, table, x_lo,
                      {"lowest position": x_lo, "highest position": y_hi}, len(x), iteration, 0.0,
                      reorder=_reorder_point(x, target))


def _backlog_cost(model: SiteModel, lead: np.ndarray, y: np.ndarray) -> np.ndarray:
    """G(y) = h E(y - D_tau)^+ + b E(D_tau - y)^+, the expected cost of the period an order up to y arrives in."""
    d = np.arange(len(lead))
    y = np.asarray(y, dtype=np.float64)[:, None]
    return (lead * (model.holding * np.maximum(y - d, 0.0) + model.shortage * np.maximum(d - y, 0.0))).sum(axis=1)


def _reorder_point(x: np.ndarray, target: np.ndarray) -> tuple[int, int] | None:
    """(s, S) if the policy orders up to one S exactly at the positions x <= s, else None."""
    ordering = target > x
    if not ordering.any() or ordering.all():
        return None
    s = int(x[ordering].max())
    levels = np.unique(target[ordering])
    if len(levels) != 1 or not ordering[x <= s].all():
        return None
    return s, int(levels[0])


# --------------------------------------------------------------------------- exact cost of any rule

@dataclass(frozen=True)
class Evaluation:
    """The exact long-run cost per period of a rule, and the chain it was computed on."""

    cost: float
    half_width: float
    states: int


def evaluate(model: SiteModel, rule: Rule, start: np.ndarray | None = None, max_states: int = 2_000_000
             ) -> Evaluation:
    """The long-run cost per period of ``rule`` on a lost-sales site, exactly (Odoni's bounds, 1e-10).

    The states the rule reaches from ``start`` (default: nothing anywhere) are enumerated, and the
    average cost of that Markov chain found by value iteration, made aperiodic by a lazy step
    (which leaves the average cost unchanged) where plain iteration does not settle.
    """
    if not model.lost_sales:
        raise ConfigError(f"site '{model.site}': exact evaluation of a rule covers lost-sales sites")
    width = max(model.pipeline_length, 1)
    start = np.zeros(width, dtype=np.int64) if start is None else np.asarray(start, dtype=np.int64)
    top = len(model.pmf) - 1
    states = _reachable(model, rule, start, top, max_states)
    rows, cols, probs, cost = _chain(model, rule, states, top)
    n = len(states)
    value = np.zeros(n)
    lazy = 0.0
    for iteration in range(1, MAX_ITERATIONS + 1):
        moved = np.bincount(rows, weights=probs * value[cols], minlength=n)
        updated = cost + (1 - lazy) * moved + lazy * value
        diff = updated - value
        low, high = float(diff.min()), float(diff.max())
        value = updated - updated[0]
        if high - low <= TOLERANCE * max(1.0, abs(high)):
            return Evaluation((low + high) / 2, (high - low) / 2, n)
        if iteration == 2000:
            lazy = 0.5
    raise ConfigError(f"site '{model.site}': the exact evaluation did not converge")


def successors(model: SiteModel, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(parent index, next pipeline state, probability) for every demand outcome of states ``x`` ordering
    ``z`` (lost sales)."""
    parents, nexts, probs, _ = _successors(model, x, z)
    return parents, nexts, probs


def _successors(model: SiteModel, x: np.ndarray, z: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(parent index, next state, probability, stock on hand in the period) for every demand outcome."""
    m = model.pipeline_length
    stock = x[:, 0] + (z if m == 0 else 0)  # on hand during the next period
    pmf = model.pmf
    tail = np.concatenate([np.cumsum(pmf[::-1])[::-1], [0.0]])  # tail[d] = P(D >= d)
    parents, nexts, probs = [], [], []
    for k in range(0, int(stock.max()) + 1):  # k = (stock - D)^+: P(D = stock - k), or P(D >= stock) for k = 0
        left = stock - k
        if k:
            p = np.where((left >= 0) & (left < len(pmf)), pmf[np.clip(left, 0, len(pmf) - 1)], 0.0)
        else:
            p = tail[np.minimum(stock, len(tail) - 1)]
        keep = np.flatnonzero(p > 0)
        if not len(keep):
            continue
        if m == 0:
            nxt = np.full((len(keep), 1), k)
        elif m == 1:
            nxt = (k + z[keep])[:, None]
        else:
            nxt = np.column_stack([k + x[keep, 1], x[keep, 2:], z[keep]])
        parents.append(keep)
        nexts.append(nxt)
        probs.append(p[keep])
    return np.concatenate(parents), np.concatenate(nexts), np.concatenate(probs), stock


def state_keys(states: np.ndarray) -> np.ndarray:
    """One int64 key per state row (mixed radix), for lookups."""
    bits = 62 // states.shape[1]
    if (states >= (1 << bits)).any():
        raise ConfigError(f"exact evaluation: a state entry exceeds {(1 << bits) - 1}; too large to index")
    return (states << (bits * np.arange(states.shape[1]))).sum(axis=1)


def _orders(model: SiteModel, rule: Rule, states: np.ndarray) -> np.ndarray:
    z = np.maximum(np.asarray(rule(states), dtype=np.int64), 0)
    return np.minimum(z, int(model.capacity)) if np.isfinite(model.capacity) else z


def _reachable(model: SiteModel, rule: Rule, start: np.ndarray, top: int, max_states: int) -> np.ndarray:
    known = start[None, :]
    known_keys = state_keys(known)
    frontier = known
    while len(frontier):
        _, nxt, _, _ = _successors(model, frontier, _orders(model, rule, frontier))
        keys, first = np.unique(state_keys(nxt), return_index=True)
        nxt = nxt[first]
        new = ~np.isin(keys, known_keys)
        frontier = nxt[new]
        known = np.concatenate([known, frontier])
        known_keys = np.concatenate([known_keys, keys[new]])
        if len(known) > max_states:
            raise ConfigError(f"site '{model.site}': the rule reaches more than {max_states:,} states; "
                              f"too many to evaluate exactly")
    order = np.argsort(known_keys)
    return known[order]


def _chain(model: SiteModel, rule: Rule, states: np.ndarray, top: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    z = _orders(model, rule, states)
    parents, nxt, probs, stock = _successors(model, states, z)
    keys = state_keys(states)
    cols = np.searchsorted(keys, state_keys(nxt))
    cost = model.period_cost(np.arange(int(stock.max()) + 1))[stock] + model.order_cost * z + model.fixed_cost * (z > 0)
    return parents, cols, probs, cost
