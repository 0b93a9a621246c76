"""The beer game written the plain way: one Python object per site, lists, no batch axis.

What a researcher would write in an afternoon as a PettingZoo-style parallel env (dict of actions in,
dicts of observations, rewards, terminations, truncations and infos out) for Sterman's beer game as
``beer_game`` plays it (board-game timing: each week a site receives, fills what it owes from stock
that includes the receipts, then orders; order slips take ``order_delay`` weeks to reach the supplier,
shipments ``lead_time`` weeks; backorders are filled first-come; the factory's supplier is unlimited).

It is the yardstick of ``echelon speed``: the ratio of :class:`~echelon.envs.parallel.SupplyChainEnv`'s
steps per second to this env's says what Echelon's generality (any network, batches, information
models) costs a user who steps one copy at a time. It is also a second, independent implementation of
the beer game's dynamics: a test checks that it charges every site the cost Echelon's core charges for
the same orders, week by week.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np


class PlainSite:
    """One site's books: stock, what it owes downstream, what is on its way in."""

    __slots__ = ("on_hand", "backlog", "owed", "pending", "transit", "last_order", "incoming", "received",
                 "holding", "shortage", "delay", "lead")

    def __init__(self, spec: dict[str, Any]):
        self.holding, self.shortage = float(spec["holding_cost"]), float(spec["backlog_cost"])
        self.delay, self.lead = int(spec["order_delay"]), int(spec["lead_time"])
        flow, stock = float(spec["initial_pipeline"]), float(spec["initial_inventory"])
        self.on_hand, self.backlog, self.owed = stock, 0.0, 0.0  # owed: what this site's supplier owes it
        self.pending: deque[float] = deque([flow] * (self.delay - 1))  # order slips in the mail, oldest first
        self.transit: deque[float] = deque([flow] * self.lead)  # shipments on the road, next arrival first
        self.last_order = self.incoming = self.received = flow


class PlainBeerGame:
    """Sterman's beer game for one team, as a plain parallel env (agents: the site names)."""

    def __init__(self, sites: list[dict[str, Any]], demand: list[float], periods: int):
        self.specs, self.demand, self.periods = sites, demand, periods
        self.possible_agents = [s["name"] for s in sites]
        self.agents: list[str] = []
        self.sites: list[PlainSite] = []
        self.week = 0

    @classmethod
    def beer_game(cls, periods: int = 36) -> PlainBeerGame:
        """Sterman (1989), as the built-in ``beer_game`` scenario states it: four sites, mail delay 2 (the
        factory's production request 1), shipping 2, holding 0.5 and backlog 1.0 a case a week, 12 cases on
        hand and 4 in every delay slot; customers buy 4 a week, then 8 from week 5."""
        names = ["retailer", "wholesaler", "distributor", "factory"]
        sites = [{"name": n, "order_delay": 1 if n == "factory" else 2, "lead_time": 2, "holding_cost": 0.5,
                  "backlog_cost": 1.0, "initial_inventory": 12, "initial_pipeline": 4} for n in names]
        return cls(sites, [4.0 if t < 4 else 8.0 for t in range(periods)], periods)

    def reset(self, seed: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        self.sites = [PlainSite(spec) for spec in self.specs]
        self.week = 0
        self.agents = list(self.possible_agents)
        return self._observations(), {a: {"cost": 0.0} for a in self.agents}

    def _observations(self) -> dict[str, np.ndarray]:
        out = {}
        for name, s in zip(self.possible_agents, self.sites, strict=True):
            transit, mail = sum(s.transit), sum(s.pending) + s.owed
            position = s.on_hand - s.backlog + transit + mail
            out[name] = np.array([s.on_hand, s.backlog, position, transit, mail, s.incoming, s.received,
                                  s.last_order], dtype=np.float32)
        return out

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        sites, week = self.sites, self.week
        demand = self.demand[week]
        reached = []
        for s, name in zip(sites, self.possible_agents, strict=True):  # 1. order slips reach the suppliers
            q = float(actions[name])
            s.last_order = q
            if s.delay == 0 or s.delay == 1:
                arrived = q
            else:
                s.pending.append(q)
                arrived = s.pending.popleft()
            s.owed += arrived
            reached.append(arrived)
        for s in sites:  # 3. this week's shipments arrive
            s.received = s.transit.popleft()
            s.on_hand += s.received
        for i, s in enumerate(sites):  # 2. each supplier ships what it can of what it owes (the factory's: all)
            if i + 1 < len(sites):
                supplier = sites[i + 1]
                ship = min(s.owed, supplier.on_hand)
                supplier.on_hand -= ship
            else:
                ship = s.owed
            s.owed -= ship
            s.transit.append(ship)
        retailer = sites[0]  # 4. customers buy from the retailer; what it cannot sell is backordered
        need = retailer.backlog + demand
        sold = min(retailer.on_hand, need)
        retailer.on_hand -= sold
        retailer.backlog = need - sold
        costs = []
        for i, s in enumerate(sites):  # 5. costs: stock on hand, and what is owed to customers downstream
            owed_down = sites[i - 1].owed if i > 0 else 0.0
            costs.append(s.holding * s.on_hand + s.shortage * (s.backlog + owed_down))
            s.incoming = (demand if i == 0 else 0.0) + (reached[i - 1] if i > 0 else 0.0)
        self.week += 1
        team = sum(costs)
        agents = self.possible_agents
        done = self.week >= self.periods
        rewards = dict.fromkeys(agents, -team)
        infos = {a: {"cost": c} for a, c in zip(agents, costs, strict=True)}
        observations = self._observations()
        if done:
            self.agents = []
        return observations, rewards, dict.fromkeys(agents, False), dict.fromkeys(agents, done), infos
