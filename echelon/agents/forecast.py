"""Order-up-to with a moving-average forecast: the policy that shows the bullwhip effect.

Each site forecasts the demand it must cover from the last ``window`` periods
of a signal and orders up to

    S_t = mu^_t C + z sigma^_t sqrt(C),    q_t = max(0, S_t - IP_t),

with C = L + l_o the periods an order must cover, mu^ and sigma^ the moving
mean and standard deviation of the signal, and z the site's safety factor.
With ``signal: incoming`` a site forecasts the orders it receives (every site
on its own: the decentralized case); with ``signal: customer`` it forecasts the
end-customer demand in its subtree (information sharing). Chen, Drezner, Ryan
& Simchi-Levi (2000), "Quantifying the bullwhip effect in a simple supply
chain", Management Science 46(3): with the incoming signal the variance of
orders grows at every stage upstream; sharing customer demand reduces it.

By default ``z`` comes from the site's own costs, the newsvendor ratio
p / (p + h') (Snyder & Shen sec. 4.3), floored at 1/2: a site with no backorder
cost of its own holds its expected lead-time demand and no safety stock.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from echelon.agents.policy import Policy, SiteValues, per_site, site_label
from echelon.envs.core import State
from echelon.envs.errors import ConfigError
from echelon.envs.ordering import sequential_orders
from echelon.envs.scenario import Scenario

SIGNALS = ("incoming", "customer")


class ForecastBaseStock(Policy):
    """Moving-average order-up-to (module docstring)."""

    name = "forecast_base_stock"

    def __init__(self, scenario: Scenario, *, window: int = 4, signal: str = "incoming",
                 z: SiteValues | None = None):
        super().__init__(scenario)
        where = f"policy '{self.name}'"
        if isinstance(window, bool) or not isinstance(window, int) or window < 2:
            raise ConfigError(f"{where}: window must be a whole number of periods >= 2 (got {window!r})")
        if signal not in SIGNALS:
            raise ConfigError(f"{where}: signal must be one of {', '.join(SIGNALS)} (got {signal!r})")
        self.window = window
        self.signal = signal
        if z is None:
            ratio = [max(0.5, s.shortage_cost / (s.shortage_cost + s.holding_cost)) if s.shortage_cost else 0.5
                     for s in scenario.sites]
            z = [NormalDist().inv_cdf(min(r, 1 - 1e-9)) for r in ratio]
        self.z = per_site(z, scenario, f"{where}: z")
        self.cover = np.array([s.lead_time.mean + s.order_delay for s in scenario.sites])
        delayed = {s.supplier for s in scenario.sites if s.order_delay and s.supplier}
        self._instant = np.array([s.name not in delayed for s in scenario.sites])  # every customer's order at once
        self._history: list[np.ndarray] = []

    def reset(self, batch: int, rng: np.random.Generator) -> None:
        self._history = []

    def act(self, state: State) -> np.ndarray:
        if not self._history:  # start from the steady flow of the initial state
            self._history = [state.incoming] * (self.window - 1)
        history = np.stack(self._history)  # [p - 1, B, S], oldest first
        customer = self.params.graph.echelon(state.demand)  # end-customer demand in each site's subtree
        current = np.empty_like(state.on_hand)

        def rule(j: np.ndarray, position: np.ndarray, received: np.ndarray) -> np.ndarray:
            # what the site saw this period: its customer demand plus the orders its customers placed on it
            # (those just placed where they arrive at once, else those that arrived), or, sharing
            # information, the end-customer demand it ultimately serves
            if self.signal == "customer":
                current[:, j] = customer[:, j]
            else:
                current[:, j] = np.where(self._instant[j], state.demand[:, j] + received, state.incoming[:, j])
            window = np.concatenate([history[:, :, j], current[None, :, j]])
            mean, std = window.mean(axis=0), window.std(axis=0, ddof=1)
            level = mean * self.cover[j] + self.z[j] * std * np.sqrt(self.cover[j])
            return np.maximum(level - position, 0.0)

        orders = sequential_orders(state, self.params, rule)
        self._history = [*self._history[1:], current]
        return orders

    def describe(self) -> str:
        return f"{self.name} {self.signal} p={self.window} z={site_label(np.round(self.z, 2))}"
