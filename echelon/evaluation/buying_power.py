"""The study's "buying power" row: what consolidating purchase orders to the outside supplier is worth.

Measured on every study network in which two or more sites (nodes) buy from
outside, at the map's first cell, with the study's ``purchase_order_cost`` K
per purchase order: the three policies of :mod:`agents.purchasing` (sites
ordering separately; the planner ordering separately; the planner placing one
consolidated order), each searched for the team under the cost it faces, run on
the same episodes. The paired differences split the buying-power figure into
what the centre's information is worth (planner, separate orders, against the
sites) and what consolidation is worth (planner, one order, against planner,
separate orders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from echelon.agents.policy import Policy
from echelon.agents.purchasing import STRUCTURES, outside_buyers, tune_purchasing
from echelon.agents.tuning import tune_centralized, tune_local
from echelon.envs.core import State
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario
from echelon.envs.simulator import ChunkedEpisode, Episode, Flows
from echelon.evaluation.metrics import Estimate, Metrics, measure
from echelon.evaluation.rollout import common_episodes, run
from echelon.evaluation.study_config import StudyConfig, cell_points, cell_scenario

SEPARATE, CENTRAL_SEPARATE, CONSOLIDATED = STRUCTURES


@dataclass
class BuyingPower:
    """One network's buying-power row: the three policies' metrics on the same episodes, and the evidence."""

    scenario: str
    point: dict[str, Any]  # the cell it was measured at
    cost: float  # K per purchase order
    buyers: tuple[str, ...]  # the nodes that buy from outside
    metrics: dict[str, Metrics] = field(default_factory=dict)
    described: dict[str, str] = field(default_factory=dict)
    orders: dict[str, float] = field(default_factory=dict)  # purchase orders per period
    check: dict[str, Estimate] = field(default_factory=dict)  # the second method's cost per period

    def saving(self, structure: str, baseline: str) -> Estimate:
        """Paired difference of team cost per period, ``baseline`` less ``structure`` (positive: a saving)."""
        return Estimate.of(self.metrics[baseline].episode_cost - self.metrics[structure].episode_cost)


def purchase_orders(policy: Policy, scenario: Scenario, episodes: int, seed: int,
                    episode: Episode | ChunkedEpisode, warmup: int, joint: bool) -> float:
    """Mean purchase orders to the outside supplier per period after ``warmup``: one per ordering buyer, or
    one for all of them (``joint``)."""
    counts: list[np.ndarray] = []

    def observe(flows: Flows, state: State, params: CoreParams) -> None:
        if state.period > warmup:
            buys = (flows.orders > 0) & params.outside
            counts.append(buys.any(axis=1) if joint else buys.sum(axis=1))

    run(policy, scenario, episodes, seed, episode, observe)
    return float(np.mean(counts))


def measured_networks(config: StudyConfig) -> list[Scenario]:
    """The study's networks the row is measured on: with a purchase order cost, those of two or more outside
    buyers."""
    if not config.purchase_order_cost:
        return []
    return [s for s in config.scenarios if len(outside_buyers(s)) >= 2]


def measure_buying_power(config: StudyConfig, base: Scenario) -> BuyingPower:
    """The row on ``base`` (one of :func:`measured_networks`) at the map's first cell."""
    cost = float(config.purchase_order_cost or 0.0)
    buyers = outside_buyers(base)
    point = cell_points(config)[0]
    scen = cell_scenario(config, base, point)
    episodes, seed = config.search_episodes, config.seed
    central = tune_centralized(scen, episodes, seed).policy.levels
    local = tune_local(scen, episodes, seed, central).policy.levels
    row = BuyingPower(base.name, dict(point), cost, tuple(base.sites[i].name for i in buyers))
    for structure in STRUCTURES:
        tuned = tune_purchasing(scen, structure, local if structure == SEPARATE else central, cost, episodes, seed)
        faced = tuned.policy.scenario
        episode = common_episodes(faced, config.episodes, seed)
        row.metrics[structure] = measure(tuned.policy, faced, config.episodes, seed, episode, config.warmup)[0]
        row.check[structure] = measure(tuned.check, faced, config.episodes, seed, episode, config.warmup)[0].cost
        row.described[structure] = tuned.policy.describe()
        row.orders[structure] = purchase_orders(tuned.policy, faced, config.episodes, seed, episode,
                                                config.warmup, structure == CONSOLIDATED)
    return row


def buying_power_lines(config: StudyConfig, rows: list[BuyingPower]) -> list[str]:
    """The report's buying-power paragraph: one line per network."""
    if not config.purchase_order_cost:
        return ["- \"Buying power\" is not measured: give the study a `purchase_order_cost` (the fixed cost of one "
                "purchase order to the outside supplier) to measure it."]
    lines = []
    measured = {r.scenario: r for r in rows}
    for scen in config.scenarios:
        row = measured.get(scen.name)
        if row is None:
            only = ", ".join(scen.sites[i].name for i in outside_buyers(scen))
            lines.append(f"- **{scen.name}**: \"buying power\": only {only} buys from outside: nothing to "
                         "consolidate.")
            continue
        cost = {s: row.metrics[s].cost for s in STRUCTURES}
        base = cost[SEPARATE].mean
        total, consolidation = row.saving(CONSOLIDATED, SEPARATE), row.saving(CONSOLIDATED, CENTRAL_SEPARATE)
        information = row.saving(CENTRAL_SEPARATE, SEPARATE)
        checks = "; ".join(f"{s} {row.check[s].mean:.2f}" for s in STRUCTURES)
        lines.append(
            f"- **{scen.name}**: \"centralization buys better\" (one purchase order to the outside supplier costs "
            f"{row.cost:g}; {len(row.buyers)} nodes buy from outside: {', '.join(row.buyers)}): the centre's "
            f"consolidated orders cost {cost[CONSOLIDATED].mean:.2f} ± {cost[CONSOLIDATED].half_width:.2f} a period "
            f"against {base:.2f} ± {cost[SEPARATE].half_width:.2f} with the sites ordering separately, a saving of "
            f"{total.mean / base:.1%} ± {total.half_width / base:.1%} (paired), of which consolidation "
            f"{consolidation.mean / base:.1%} ± {consolidation.half_width / base:.1%} (against the planner ordering "
            f"separately: {cost[CENTRAL_SEPARATE].mean:.2f}) and the planner's information "
            f"{information.mean / base:.1%} ± {information.half_width / base:.1%}. Purchase orders a period: "
            f"{row.orders[SEPARATE]:.2f} separate, {row.orders[CONSOLIDATED]:.2f} consolidated. Each policy's "
            f"levels and lot sizes searched for the team under the cost it faces (the other start's figures: "
            f"{checks}).")
    return lines


def buying_power_csv(rows: list[BuyingPower]) -> str:
    """One line per network and policy: cost, its half-width, purchase orders a period, the second method."""
    out = ["scenario,policy,purchase_order_cost,cost,half_width,purchase_orders,check_cost,described"]
    for r in rows:
        for s in STRUCTURES:
            m = r.metrics[s].cost
            out.append(f"{r.scenario},\"{s}\",{r.cost:g},{m.mean:.6g},{m.half_width:.6g},{r.orders[s]:.6g},"
                       f"{r.check[s].mean:.6g},\"{r.described[s]}\"")
    return "\n".join(out) + "\n"
