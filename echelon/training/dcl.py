"""Approximate policy iteration with simulation rollouts for a lost-sales site, in the spirit of deep
controlled learning (Temizöz, Imdahl, Dijkman, Lamghari-Idrissi & van Jaarsveld 2023, "Deep controlled
learning for inventory control").

The state is Zipkin's pipeline x = (x_0, ..., x_{m-1}) (:mod:`agents.single_site`, m >= 1), the action
the order z. Each iteration:

1. **states**: run the current policy on ``chains`` parallel sites from empty and keep the states of
   the later periods (each distinct state once, weighted by how often it was visited; the
   ``max_states`` most visited where there are more);
2. **rollouts**: for each state and each order z in 0..z_max, estimate
   Q(x, z) = c z + sum over the next ``horizon`` periods of the cost under the current policy, on
   ``paths`` demand paths shared by all orders of a state (common random numbers), with the realised
   period cost h (y - D)^+ + p (D - y)^+ (a simulator, not the model's expectations);
3. **classification**: the order with the lowest estimate is the label; a neural network (an MLP of
   the state scaled by mean demand, softmax over orders) is fitted to the labels by weighted
   cross-entropy, warm-started from the previous iteration.

The first policy is the best base-stock policy. Orders are limited as in the exact DP (Morton's bound
z <= s_m and x_0 + ... + x_{m-1} + z <= s_0), so the network's policy is a table over a finite grid and
:func:`agents.dp.evaluate` prices it exactly: the learned policy's cost is exact, not estimated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from echelon.agents.dp import Rule, evaluate, standard_levels
from echelon.agents.lost_sales import base_stock_rule, best_base_stock
from echelon.agents.single_site import SiteModel
from echelon.envs.errors import ConfigError


@dataclass(frozen=True)
class DCLConfig:
    """Budget and sizes of :func:`train` (defaults: the scoreboard's)."""

    iterations: int = 5
    chains: int = 256  # sites simulated to collect states
    periods: int = 200  # periods each chain runs; states are kept from the second half
    max_states: int = 2000  # the most visited states kept per iteration (each weighted by its visits)
    paths: int = 1024  # demand paths per state (common to its orders)
    horizon: int = 40  # periods of each rollout after the first decision
    hidden: int = 64
    epochs: int = 300
    learning_rate: float = 3e-3
    seed: int = 0


@dataclass
class DCLResult:
    rule: Rule  # the learned policy on pipeline states
    table: np.ndarray  # its order at every state of the grid
    cost: float  # its exact long-run cost per period (agents.dp.evaluate)
    history: list[dict[str, float]] = field(default_factory=list)  # per iteration: states, agreement, cost, s
    seconds: float = 0.0


class Grid:
    """Every pipeline state within the DP's bounds, indexed in mixed radix (x_0 in 0..top, x_j in 0..z_max)."""

    def __init__(self, model: SiteModel):
        if not model.lost_sales or model.pipeline_length < 1 or model.fixed_cost:
            raise ConfigError(f"site '{model.site}': the rollout learner covers lost-sales sites with a lead time "
                              "and no fixed ordering cost")
        levels = standard_levels(model)
        self.m = model.pipeline_length
        self.top, self.zmax = int(levels[0]), int(min(levels[-1], model.capacity, levels[0]))
        self.radix = np.array([self.top + 1] + [self.zmax + 1] * (self.m - 1))
        self.size = int(np.prod(self.radix))

    def index(self, x: np.ndarray) -> np.ndarray:
        x = np.minimum(x, self.radix - 1)  # (a state beyond the bounds is read as the nearest in them)
        out = x[..., 0].astype(np.int64)
        for j in range(1, self.m):
            out = out * self.radix[j] + x[..., j]
        return out

    def states(self) -> np.ndarray:
        """``[size, m]``: the state of each index."""
        return np.stack(np.unravel_index(np.arange(self.size), tuple(self.radix)), axis=1)

    def feasible(self, x: np.ndarray) -> np.ndarray:
        """``[N, z_max + 1]``: orders allowed at each state (the DP's bound on position + order)."""
        return x.sum(axis=1, keepdims=True) + np.arange(self.zmax + 1) <= self.top


def _step(x: np.ndarray, z: np.ndarray, demand: np.ndarray, model: SiteModel) -> tuple[np.ndarray, np.ndarray]:
    """One period: the cost of the period that starts with x_0 on hand, and the next state after order z."""
    left = np.maximum(x[:, 0] - demand, 0)
    cost = model.holding * left + model.shortage * np.maximum(demand - x[:, 0], 0)
    nxt = np.empty_like(x)
    if x.shape[1] == 1:
        nxt[:, 0] = left + z
    else:
        nxt[:, 0] = left + x[:, 1]
        nxt[:, 1:-1] = x[:, 2:]
        nxt[:, -1] = z
    return cost, nxt


def _demand(rng: np.random.Generator, model: SiteModel, shape: tuple[int, ...]) -> np.ndarray:
    cdf = np.cumsum(model.pmf)
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(shape), side="right")


def _visited(table: np.ndarray, grid: Grid, model: SiteModel, cfg: DCLConfig, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """Distinct states the policy visits in the second half of ``periods`` on ``chains`` sites, and counts."""
    x = np.zeros((cfg.chains, grid.m), dtype=np.int64)
    seen = []
    for t in range(cfg.periods):
        z = table[grid.index(x)]
        _, x = _step(x, z, _demand(rng, model, (cfg.chains,)), model)
        if t >= cfg.periods // 2:
            seen.append(grid.index(x))
    keys, counts = np.unique(np.concatenate(seen), return_counts=True)
    if len(keys) > cfg.max_states:  # the rollouts' cost grows with the states: keep the most visited
        top = np.sort(np.argsort(-counts, kind="stable")[:cfg.max_states])
        keys, counts = keys[top], counts[top]
    return keys, counts


def _q_values(keys: np.ndarray, table: np.ndarray, grid: Grid, model: SiteModel, cfg: DCLConfig,
              rng: np.random.Generator) -> np.ndarray:
    """``[states, z_max + 1]``: the rollout estimate of Q(x, z) (inf where z is not allowed)."""
    x0 = grid.states()[keys]
    n, a, k = len(keys), grid.zmax + 1, cfg.paths
    q = np.zeros((n, a))
    block = max(1, 2_000_000 // (a * k))  # states per batch of rollouts
    for lo in range(0, n, block):
        xs = x0[lo:lo + block]
        b = len(xs)
        demand = _demand(rng, model, (cfg.horizon + 1, b, 1, k))  # shared by the orders of a state
        x = np.broadcast_to(xs[:, None, None, :], (b, a, k, grid.m)).reshape(-1, grid.m)
        z = np.broadcast_to(np.arange(a)[None, :, None], (b, a, k)).reshape(-1)
        total = model.order_cost * z.astype(np.float64)
        for t in range(cfg.horizon + 1):
            d = np.broadcast_to(demand[t], (b, a, k)).reshape(-1)
            cost, x = _step(x, z, d, model)
            if t:
                total += cost
            z = table[grid.index(x)]
            total += model.order_cost * z
        q[lo:lo + b] = total.reshape(b, a, k).mean(axis=2)
    return np.where(grid.feasible(x0), q, np.inf)


def train(model: SiteModel, cfg: DCLConfig = DCLConfig()) -> DCLResult:
    """Learn an ordering policy for ``model`` (see the module); its exact cost comes with it."""
    import torch

    start = time.perf_counter()
    grid = Grid(model)
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    states = grid.states()
    allowed = torch.as_tensor(grid.feasible(states))
    inputs = torch.as_tensor(states / max(model.mean, 1e-9), dtype=torch.float32)
    net = torch.nn.Sequential(
        torch.nn.Linear(grid.m, cfg.hidden), torch.nn.Tanh(), torch.nn.Linear(cfg.hidden, cfg.hidden), torch.nn.Tanh(),
        torch.nn.Linear(cfg.hidden, grid.zmax + 1))
    optimiser = torch.optim.Adam(net.parameters(), lr=cfg.learning_rate)
    level, _ = best_base_stock(model)
    table = np.minimum(base_stock_rule(level)(states), grid.zmax).astype(np.int64)
    table = np.where(grid.feasible(states)[np.arange(grid.size), table], table, 0)
    history = []
    for iteration in range(cfg.iterations):
        keys, counts = _visited(table, grid, model, cfg, rng)
        labels = np.argmin(_q_values(keys, table, grid, model, cfg, rng), axis=1)
        weight = torch.as_tensor(counts / counts.sum(), dtype=torch.float32)
        target = torch.as_tensor(labels)
        x_train, mask = inputs[keys], allowed[keys]
        for _ in range(cfg.epochs):
            optimiser.zero_grad()
            logits = net(x_train).masked_fill(~mask, -1e9)
            loss = (torch.nn.functional.cross_entropy(logits, target, reduction="none") * weight).sum()
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            table = net(inputs).masked_fill(~allowed, -1e9).argmax(dim=1).numpy()
        agreement = float((table[keys] == labels) @ (counts / counts.sum()))
        history.append({"iteration": iteration + 1, "states": len(keys), "agreement": agreement,
                        "seconds": time.perf_counter() - start})
    final = table.copy()

    def rule(x: np.ndarray) -> np.ndarray:
        return final[grid.index(np.asarray(x, dtype=np.int64))]

    cost = evaluate(model, rule).cost
    return DCLResult(rule, final, cost, history, time.perf_counter() - start)
