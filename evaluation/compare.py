"""The optimum against the classic heuristics on common random numbers (``echelon optimal --compare``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.heuristics import BaseStock, Constant, EchelonBaseStock, PassThrough, RandomOrders, Sterman
from agents.optimal import Optimum
from agents.policy import Policy
from envs.scenario import Scenario
from evaluation.rollout import common_episodes, rollout


@dataclass(frozen=True)
class CostRow:
    label: str
    mean: float  # team cost per period, mean over episodes
    half_width: float  # 95% CI half-width
    gap: float  # relative to the first policy, paired on the same episodes


def compare_policies(policies: list[Policy], scenario: Scenario, episodes: int, seed: int) -> list[CostRow]:
    """Team cost per period of each policy on the same episodes; ``gap`` is relative to the first."""
    episode = common_episodes(scenario, episodes, seed)
    costs = [rollout(p, scenario, episodes, seed, episode).episode_cost.sum(axis=1) for p in policies]
    base = costs[0].mean()
    rows = []
    for policy, c in zip(policies, costs, strict=True):
        half = 1.96 * float(np.std(c, ddof=1)) / math.sqrt(len(c)) if len(c) > 1 else 0.0
        rows.append(CostRow(policy.describe(), float(c.mean()), half, float(c.mean() / base - 1.0)))
    return rows


def compare_with_heuristics(scenario: Scenario, best: Optimum, episodes: int, seed: int) -> list[CostRow]:
    """The optimal echelon levels, their local equivalent, and the default heuristics."""
    policies: list[Policy] = [
        EchelonBaseStock(scenario, levels=best.echelon_levels),
        BaseStock(scenario, levels=best.local_levels),
        Constant(scenario),
        PassThrough(scenario),
        Sterman(scenario),
        RandomOrders(scenario),
    ]
    return compare_policies(policies, scenario, episodes, seed)
