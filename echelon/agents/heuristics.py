"""The classic replenishment heuristics of inventory theory, for any tree network.

One class per policy; each site decides from its own inventory position or its
own incoming orders (the echelon policy from its echelon position). Symbols
follow Snyder & Shen, *Fundamentals of Supply Chain Theory* (2nd ed.): base-stock
level [S], reorder point [s] or [r], order quantity [Q], inventory position [IP]
(on hand - backorders + pipeline), echelon inventory position [IP^e].

Installation policies decide site by site, customers first, each counting the
orders its customers place that same period (:func:`envs.ordering.sequential_orders`).
"""

from __future__ import annotations

import numpy as np

from echelon.agents.policy import Policy, SiteValues, per_site, site_label
from echelon.envs.actions import default_max_order
from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.ordering import installation_base_stock, order_up_to, sequential_orders
from echelon.envs.positions import echelon_inventory_position, inventory_level, pipeline
from echelon.envs.scenario import Scenario


class BaseStock(Policy):
    """Installation base-stock: each site orders up to [S] on its own [IP].

    q = max(0, S - IP) (Snyder & Shen sec. 4.3). Optimal for one stage with
    backlog and no fixed cost; for a chain, the local levels equivalent to the
    Clark–Scarf echelon levels are optimal too (Axsäter 1993).
    """

    name = "base_stock"

    def __init__(self, scenario: Scenario, *, levels: SiteValues):
        super().__init__(scenario)
        self.levels = per_site(levels, scenario, f"policy '{self.name}': levels")

    def act(self, state: State) -> np.ndarray:
        return installation_base_stock(state, self.params, self.levels)

    def describe(self) -> str:
        return f"{self.name} S={site_label(self.levels)}"


class EchelonBaseStock(Policy):
    """Echelon base-stock: each site orders up to [S^e] on its echelon position [IP^e].

    IP^e counts stock on hand and in transit in the site's whole subtree, less
    customer backorders there, plus its own outstanding orders (Clark & Scarf
    1960). Optimal for serial backlog chains (see :mod:`agents.clark_scarf`).
    """

    name = "echelon_base_stock"

    def __init__(self, scenario: Scenario, *, levels: SiteValues):
        super().__init__(scenario)
        self.levels = per_site(levels, scenario, f"policy '{self.name}': levels")

    def act(self, state: State) -> np.ndarray:
        return order_up_to(self.levels, echelon_inventory_position(state, self.params))

    def describe(self) -> str:
        return f"{self.name} S^e={site_label(self.levels)}"


class MinMax(Policy):
    """(s, S): when IP falls to s or below, order up to S; otherwise order nothing.

    Optimal for one stage with a fixed ordering cost (Scarf 1960).
    """

    name = "s_S"

    def __init__(self, scenario: Scenario, *, s: SiteValues, S: SiteValues):  # noqa: N803 - textbook symbol
        super().__init__(scenario)
        self.s = per_site(s, scenario, f"policy '{self.name}': s")
        self.S = per_site(S, scenario, f"policy '{self.name}': S")
        bad = np.flatnonzero(self.S < self.s)
        if len(bad):
            site = scenario.site_names[bad[0]]
            raise ConfigError(f"policy '{self.name}': site '{site}': S must be >= s "
                             f"(got s={self.s[bad[0]]:g}, S={self.S[bad[0]]:g})")

    def act(self, state: State) -> np.ndarray:
        return sequential_orders(
            state, self.params, lambda j, ip, _: np.where(ip <= self.s[j], self.S[j] - ip, 0.0)
        )

    def describe(self) -> str:
        return f"{self.name} s={site_label(self.s)} S={site_label(self.S)}"


class ReorderPointQuantity(Policy):
    """(r, Q): when IP falls to r or below, order the fewest multiples of Q that lift it above r.

    q = Q * (floor((r - IP) / Q) + 1) if IP <= r, else 0 (Snyder & Shen sec. 5.2,
    periodic review with batch orders).
    """

    name = "r_Q"

    def __init__(self, scenario: Scenario, *, r: SiteValues, Q: SiteValues):  # noqa: N803
        super().__init__(scenario)
        self.r = per_site(r, scenario, f"policy '{self.name}': r")
        self.Q = per_site(Q, scenario, f"policy '{self.name}': Q", minimum=1e-9)

    def act(self, state: State) -> np.ndarray:
        def rule(j: int, ip: np.ndarray, _: np.ndarray) -> np.ndarray:
            batches = np.floor((self.r[j] - ip) / self.Q[j]) + 1.0
            return np.where(ip <= self.r[j], batches * self.Q[j], 0.0)

        return sequential_orders(state, self.params, rule)

    def describe(self) -> str:
        return f"{self.name} r={site_label(self.r)} Q={site_label(self.Q)}"


class CappedBaseStock(Policy):
    """Capped base-stock: order up to [S] on IP, but never more than the cap [r] a period.

    q = min((S - IP)^+, r) (Xin 2021, "Understanding the performance of capped base-stock
    policies in lost-sales inventory models", Operations Research 69(1)): base-stock for small
    gaps, a constant order r for large ones, which lost-sales systems reward.
    """

    name = "capped_base_stock"

    def __init__(self, scenario: Scenario, *, levels: SiteValues, cap: SiteValues):
        super().__init__(scenario)
        self.levels = per_site(levels, scenario, f"policy '{self.name}': levels")
        self.cap = per_site(cap, scenario, f"policy '{self.name}': cap", minimum=0.0)

    def act(self, state: State) -> np.ndarray:
        return sequential_orders(
            state, self.params, lambda j, ip, _: np.minimum(np.maximum(self.levels[j] - ip, 0.0), self.cap[j])
        )

    def describe(self) -> str:
        return f"{self.name} S={site_label(self.levels)} r={site_label(self.cap)}"


class PassThrough(Policy):
    """Order what you were asked: q = last period's incoming demand (customer or orders)."""

    name = "pass_through"

    def act(self, state: State) -> np.ndarray:
        return state.incoming.copy()


class Constant(Policy):
    """A fixed order every period, per site (default: the mean demand through the site)."""

    name = "constant"

    def __init__(self, scenario: Scenario, *, quantity: SiteValues | None = None):
        super().__init__(scenario)
        if quantity is None:
            quantity = [scenario.mean_demand_through(n) for n in scenario.site_names]
        self.quantity = per_site(quantity, scenario, f"policy '{self.name}': quantity", minimum=0.0)

    def act(self, state: State) -> np.ndarray:
        return np.broadcast_to(self.quantity, state.on_hand.shape).copy()

    def describe(self) -> str:
        return f"{self.name} q={site_label(self.quantity)}"


class RandomOrders(Policy):
    """Whole-unit orders drawn uniformly from 0..high per site (default: the env's action bound)."""

    name = "random"

    def __init__(self, scenario: Scenario, *, high: SiteValues | None = None):
        super().__init__(scenario)
        bound = default_max_order(scenario) if high is None else high
        self.high = per_site(bound, scenario, f"policy '{self.name}': high", minimum=0.0, whole=True)
        self._rng = np.random.default_rng(0)

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        self._rng = rng

    def act(self, state: State) -> np.ndarray:
        return self._rng.integers(0, self.high + 1, size=state.on_hand.shape).astype(np.float64)

    def describe(self) -> str:
        return f"{self.name} 0..{site_label(self.high)}"


class Sterman(Policy):
    """Sterman's anchoring-and-adjustment rule: how people play the beer game.

    Sterman (1989), "Modeling managerial behavior: misperceptions of feedback in
    a dynamic decision making experiment", Management Science 35(3), eq. (6)-(10)::

        L^_t = theta L_t + (1 - theta) L^_{t-1}         expected incoming orders
        O_t  = max(0, L^_t + alpha_S (S' - S_t - beta SL_t))

    with S_t the effective inventory (on hand - backorders) and SL_t the supply
    line (ordered, not yet received). The defaults are the mean estimates over
    the 44 subjects of the paper's Table 2: theta = 0.36, alpha_S = 0.26,
    beta = 0.34, S' = 17 cases. beta < 1 is the supply-line underweighting that
    drives the bullwhip effect.
    """

    name = "sterman"

    def __init__(self, scenario: Scenario, *, theta: SiteValues = 0.36, alpha_s: SiteValues = 0.26,
                 beta: SiteValues = 0.34, target: SiteValues = 17.0):
        super().__init__(scenario)
        where = f"policy '{self.name}'"
        self.theta = per_site(theta, scenario, f"{where}: theta", minimum=0.0)
        self.alpha_s = per_site(alpha_s, scenario, f"{where}: alpha_s", minimum=0.0)
        self.beta = per_site(beta, scenario, f"{where}: beta", minimum=0.0)
        self.target = per_site(target, scenario, f"{where}: target")
        if (self.theta > 1).any():
            raise ConfigError(f"{where}: theta is a smoothing weight in [0, 1] (got {self.theta.max():g})")
        self._expected: np.ndarray | None = None

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        self._expected = None

    def act(self, state: State) -> np.ndarray:
        incoming = state.incoming
        if self._expected is None:
            self._expected = incoming.copy()  # anchored on the initial steady flow
        self._expected = self.theta * incoming + (1.0 - self.theta) * self._expected
        stock = inventory_level(state, self.params)
        supply_line = pipeline(state)
        adjust = self.alpha_s * (self.target - stock - self.beta * supply_line)
        return np.maximum(self._expected + adjust, 0.0)

    def describe(self) -> str:
        return f"{self.name} theta={site_label(self.theta)} alpha_S={site_label(self.alpha_s)} " \
               f"beta={site_label(self.beta)} S'={site_label(self.target)}"
