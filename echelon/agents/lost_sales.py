"""The heuristics the lost-sales literature compares, as order rules and as policies.

Each rule maps pipeline states x (:mod:`agents.single_site`) to orders z; the
same rule is played in the simulator (a :class:`~agents.policy.Policy`) and
priced exactly by :func:`agents.dp.evaluate`. References:

* base-stock: order up to S on the inventory position x_0 + ... + x_{m-1}
  (the optimal policy of the backlog model; Karlin & Scarf 1958 for lost sales);
* standard vector base-stock (Morton 1971; Zipkin 2008, eq. 5):
  z = min over l = 0..m of (s_l - x_l - ... - x_{m-1})^+, with s_l the backlog
  newsvendor level of the m - l + 1 periods the order shares with x_l..x_{m-1};
* capped base-stock (Xin 2021, "Understanding the performance of capped
  base-stock policies in lost-sales inventory models", Operations Research 69(1)):
  z = min((S - x_0 - ... - x_{m-1})^+, r);
* constant order (Reiman 2004; Goldberg et al. 2016): z = r every period;
* myopic (Zipkin 2008, sec. 4): the z that minimises c z plus the expected cost
  of the period the order arrives in, given the current pipeline;
* Myopic-2 (Zipkin 2008): the same plus the expected myopic cost of the next
  decision, taken on the state this period's demand leads to (a two-period
  look-ahead);
* better vector base-stock (Zipkin 2008): vector base-stock with its levels
  searched for the least exact cost.
"""

from __future__ import annotations

import math

import numpy as np

from echelon.agents.dp import Rule, evaluate, leftover_matrix, newsvendor_ratio, standard_levels, state_keys, successors
from echelon.agents.policy import Policy
from echelon.agents.single_site import SiteModel, pipeline_state, site_models
from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import Scenario

# --------------------------------------------------------------------------- rules on pipeline states


def base_stock_rule(level: float) -> Rule:
    """Order up to S on the position: z = (S - sum x)^+."""
    return lambda x: np.maximum(level - x.sum(axis=1), 0)


def vector_base_stock_rule(levels: np.ndarray) -> Rule:
    """Morton's vector base-stock: z = min_l (s_l - x_l - ... - x_{m-1})^+, levels s_0..s_m."""
    levels = np.asarray(levels)

    def rule(x: np.ndarray) -> np.ndarray:
        if len(levels) == 1:  # no pipeline: the state is the stock left
            return np.maximum(levels[0] - x[:, 0], 0)
        later = np.cumsum(x[:, ::-1], axis=1)[:, ::-1]  # later[:, l] = x_l + ... + x_{m-1}
        partial = np.concatenate([later, np.zeros((len(x), 1), dtype=x.dtype)], axis=1)
        return np.maximum((levels[None, :] - partial).min(axis=1), 0)

    return rule


def capped_base_stock_rule(level: float, cap: float) -> Rule:
    """Xin's capped base-stock: z = min((S - sum x)^+, r)."""
    return lambda x: np.minimum(np.maximum(level - x.sum(axis=1), 0), cap)


def constant_rule(quantity: float) -> Rule:
    """The same order every period."""
    return lambda x: np.full(len(x), quantity)


def myopic_costs(model: SiteModel, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``[N, Z]``: c z + E[C(r + z)] for pipeline states ``x`` ``[N, max(m, 1)]`` and orders ``z``, r the stock
    left just before z arrives (the expected cost of the period an order arrives in, plus its price)."""
    m = model.pipeline_length
    top = int(x.sum(axis=1).max()) if m else int(x[:, 0].max())
    leftover = leftover_matrix(top, model.pmf)  # [y, k] = P((y - D)^+ = k)
    dist = np.zeros((len(x), top + 1))
    dist[np.arange(len(x)), x[:, 0]] = 1.0
    for j in range(1, m + 1):  # periods t + 1 .. t + m: demand, then the next arrival
        dist = dist @ leftover
        if j < m:
            dist = _shift_rows(dist, x[:, j])
    cost = model.period_cost(np.arange(top + 1)[:, None] + z[None, :]) + model.order_cost * z  # [r, z]
    return dist @ cost


def myopic_rule(model: SiteModel) -> Rule:
    """Zipkin's myopic policy: minimise c z + E[C(r + z)], r the stock left just before z arrives."""
    z = np.arange(int(standard_levels(model)[-1]) + 1)  # with nothing left, the one-period newsvendor level
    return lambda x: np.argmin(myopic_costs(model, x, z), axis=1)


def myopic2_rule(model: SiteModel) -> Rule:
    """Zipkin's (2008) Myopic-2: the two-period look-ahead. Minimise the cost of the period the order
    arrives in plus the expected myopic cost of the next decision,
    c z + E[C(r + z)] + E_D[min_z' (c z' + E[C(r' + z')])], the next decision taken on the state the
    period's demand D leads to (:func:`agents.dp.successors`)."""
    one = np.arange(int(standard_levels(model)[-1]) + 1)
    two = np.arange(model.fractile(2, newsvendor_ratio(model)) + 1)  # it orders for two periods at most

    def rule(x: np.ndarray) -> np.ndarray:
        n = len(x)
        value = myopic_costs(model, x, two)  # [N, Z]
        moves = [successors(model, x, np.full(n, z, dtype=np.int64)) for z in two]
        states = np.concatenate([nxt for _, nxt, _ in moves])
        _, first, inverse = np.unique(state_keys(states), return_index=True, return_inverse=True)
        following = myopic_costs(model, states[first], one).min(axis=1)[inverse]
        start = 0
        for z, (parents, nxt, probs) in zip(two, moves, strict=True):
            ahead = following[start:start + len(nxt)]
            value[:, z] += np.bincount(parents, weights=probs * ahead, minlength=n)
            start += len(nxt)
        return np.argmin(value, axis=1)

    return rule


def _shift_rows(dist: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Row n moved right by by[n] (an arrival of by[n] units), within the same width."""
    width = dist.shape[1]
    source = np.arange(width)[None, :] - by[:, None]
    return np.where(source >= 0, np.take_along_axis(dist, np.clip(source, 0, width - 1), axis=1), 0.0)


# --------------------------------------------------------------------------- best parameters, priced exactly

def best_base_stock(model: SiteModel) -> tuple[int, float]:
    """The best base-stock level and its exact cost.

    The cost of a base-stock policy in a lost-sales system is convex in S (Janakiraman & Roundy 2004),
    so the search walks down from the standard (backlog) level while the cost falls.
    """
    return _descend(lambda s: evaluate(model, base_stock_rule(s), _at_level(model, s)).cost,
                    int(standard_levels(model)[0]))


def best_capped_base_stock(model: SiteModel) -> tuple[tuple[int, int], float]:
    """The best (S, r) of a capped base-stock policy and its exact cost: for each cap r around the mean,
    the best S (convex in S for a fixed r), then the best r."""
    results = {}
    mean = model.mean
    for cap in range(max(1, int(mean)), int(standard_levels(model)[-1]) + 1):
        level, cost = _descend(lambda s, r=cap: evaluate(model, capped_base_stock_rule(s, r),
                                                          _at_level(model, s)).cost,
                               int(standard_levels(model)[0]))
        results[(level, cap)] = cost
        if len(results) > 1 and cost > min(results.values()) + 1e-12:
            break
    best = min(results, key=results.get)
    return best, results[best]


def best_vector_base_stock(model: SiteModel) -> tuple[np.ndarray, float]:
    """Zipkin's (2008) better vector base-stock: the levels s_0..s_m of a vector base-stock policy searched for
    the least exact cost (coordinate descent by one unit from the standard levels, every candidate priced by
    :func:`agents.dp.evaluate`), and that cost. A local search: a vector base-stock policy whose middle levels
    never bind is a capped base-stock policy (Xin 2021), so the two searches land on the same cost where the
    best policy of the class is capped."""
    levels = standard_levels(model).astype(np.int64)
    priced: dict[tuple[int, ...], float] = {}  # (the descent tries the way back of every step it takes)

    def cost_of(trial: np.ndarray) -> float:  # from the position at s_0, all on hand: few transient states
        key = tuple(int(v) for v in trial)
        if key not in priced:
            priced[key] = evaluate(model, vector_base_stock_rule(trial), _at_level(model, key[0])).cost
        return priced[key]

    best = cost_of(levels)
    improved = True
    while improved:
        improved = False
        for i in range(len(levels)):
            for step in (-1, 1):
                trial = levels.copy()
                trial[i] += step
                if trial[i] < 0:
                    continue
                cost = cost_of(trial)
                if cost < best - 1e-12:
                    levels, best, improved = trial, cost, True
    return levels, best


def constant_order_cost(model: SiteModel, quantity: int) -> float:
    """The exact long-run cost of ordering ``quantity`` every period (below mean demand).

    The pipeline then holds ``quantity`` in every slot and only the stock on hand moves:
    y' = (y - D)^+ + r, a reflected random walk whose stationary law is solved for on 0..top, with top
    raised until the mass there is below 1e-12.
    """
    if quantity >= model.mean:
        raise ConfigError(f"site '{model.site}': a constant order of {quantity} is not below mean demand "
                          f"{model.mean:g}: the stock grows without bound")
    top = 4 * (quantity + len(model.pmf))
    while top <= 4096:
        leftover = leftover_matrix(top, model.pmf)
        step = np.zeros((top + 1, top + 1))
        for k in range(top + 1):  # y -> k + r, capped at top
            step[:, min(k + quantity, top)] += leftover[:, k]
        system = step.T - np.eye(top + 1)
        system[-1] = 1.0  # replace one balance equation by: the law sums to 1
        rhs = np.zeros(top + 1)
        rhs[-1] = 1.0
        law = np.linalg.solve(system, rhs)
        if law[-1] < 1e-12:
            return float(law @ model.period_cost(np.arange(top + 1)) + model.order_cost * quantity)
        top *= 2
    raise ConfigError(f"site '{model.site}': a constant order of {quantity} lets the stock grow too far to price")


def best_constant_order(model: SiteModel) -> tuple[int, float]:
    """The best whole constant order below mean demand (above it the stock grows without bound) and its cost."""
    costs = {r: constant_order_cost(model, r) for r in range(1, int(math.ceil(model.mean)))}
    if not costs:
        raise ConfigError(f"site '{model.site}': no whole constant order below mean demand {model.mean:g}")
    best = min(costs, key=costs.get)
    return best, costs[best]


def _descend(cost_of, start: int) -> tuple[int, float]:
    """Minimise a convex function of a whole number from ``start``: the first local minimum is global."""
    here = cost_of(start)
    for direction in (-1, 1):
        level, cost = start, here
        while level + direction >= 0:
            nxt = cost_of(level + direction)
            if nxt >= cost - 1e-12:
                break
            level, cost = level + direction, nxt
        if level != start:
            return level, cost
    return start, here


def _at_level(model: SiteModel, level: int) -> np.ndarray:
    """A start state with the position at the level, all on hand."""
    x = np.zeros(max(model.pipeline_length, 1), dtype=np.int64)
    x[0] = level
    return x


# --------------------------------------------------------------------------- policies

class _PipelinePolicy(Policy):
    """A rule per site, each site supplied from outside and facing stationary whole-unit demand."""

    def __init__(self, scenario: Scenario):
        super().__init__(scenario)
        self.models = site_models(scenario, f"policy '{self.name}'")
        self.rules: list[Rule] = []

    def act(self, state: State) -> np.ndarray:
        orders = np.zeros_like(state.on_hand)
        for model, rule in zip(self.models, self.rules, strict=True):
            orders[:, model.index] = rule(pipeline_state(state, self.params, model))
        return orders


class VectorBaseStock(_PipelinePolicy):
    """Standard vector base-stock (Morton 1971; Zipkin 2008): module docstring.

    ``levels``: ``standard`` (the backlog newsvendor levels, per site), ``better`` (Zipkin's better vector
    base-stock: the levels searched for the least exact cost, per site, :func:`best_vector_base_stock`) or,
    for one site, the m + 1 levels s_0..s_m.
    """

    name = "vector_base_stock"

    def __init__(self, scenario: Scenario, *, levels: str | list[float] = "standard"):
        super().__init__(scenario)
        if levels == "standard":
            self.levels = [standard_levels(m) for m in self.models]
        elif levels == "better":
            self.levels = [best_vector_base_stock(m)[0] for m in self.models]
        else:
            want = self.models[0].pipeline_length + 1
            if len(self.models) != 1 or not isinstance(levels, list) or len(levels) != want or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                    for v in levels):
                raise ConfigError(f"policy '{self.name}': levels must be 'standard', 'better' or, for one site, "
                                  f"{want} numbers >= 0, s_0..s_m (got {levels!r})")
            self.levels = [np.array(levels, dtype=np.float64)]
        self.rules = [vector_base_stock_rule(lv) for lv in self.levels]

    def describe(self) -> str:
        return f"{self.name} s={'/'.join(str(int(v)) for v in self.levels[0])}"


class Myopic(_PipelinePolicy):
    """Zipkin's (2008) myopic policy: module docstring."""

    name = "myopic"

    def __init__(self, scenario: Scenario):
        super().__init__(scenario)
        self.rules = [myopic_rule(m) for m in self.models]


class Myopic2(_PipelinePolicy):
    """Zipkin's (2008) Myopic-2, the two-period look-ahead: module docstring."""

    name = "myopic2"

    def __init__(self, scenario: Scenario):
        super().__init__(scenario)
        self.rules = [myopic2_rule(m) for m in self.models]


def literature_table(model: SiteModel, optimal_cost: float) -> list[tuple[str, str, float]]:
    """(policy, parameters, exact long-run cost) of every heuristic above on a lost-sales site, best first.

    ``optimal_cost`` is the DP's, listed first as the reference.
    """
    levels = standard_levels(model)
    (capped_level, cap), capped_cost = best_capped_base_stock(model)
    level, level_cost = best_base_stock(model)
    constant, constant_cost = best_constant_order(model)
    better, better_cost = best_vector_base_stock(model)
    rows = [
        ("optimal (DP)", "", optimal_cost),
        ("capped base-stock (Xin 2021), best", f"S={capped_level}, r={cap}", capped_cost),
        ("better vector base-stock (Zipkin 2008)", "s=" + "/".join(str(int(v)) for v in better), better_cost),
        ("myopic (Zipkin 2008)", "", evaluate(model, myopic_rule(model)).cost),
        ("Myopic-2 (Zipkin 2008)", "", evaluate(model, myopic2_rule(model)).cost),
        ("base-stock, best", f"S={level}", level_cost),
        ("standard vector base-stock (Morton 1971)", "s=" + "/".join(str(int(v)) for v in levels),
         evaluate(model, vector_base_stock_rule(levels)).cost),
        ("base-stock at the backlog level", f"S={int(levels[0])}",
         evaluate(model, base_stock_rule(int(levels[0])), _at_level(model, int(levels[0]))).cost),
        ("constant order (Reiman 2004), best", f"r={constant}", constant_cost),
    ]
    return rows[:1] + sorted(rows[1:], key=lambda r: r[2])
