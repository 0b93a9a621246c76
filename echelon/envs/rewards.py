"""Rewards: a period's costs as an agent's reward, and their scale.

A site's reward is minus a mix of its own cost and the team's: ``w = 0``
(``decentralized``) its own, ``w = 1`` (``cooperative``) the team's,
``-((1 - w) own + w team)`` between. Rewards may be divided by a scale so they
are O(1) on every network: ``reward_scale="auto"`` uses :func:`cost_scale`
(the scale Echelon's own trainer uses), a number divides by that number.
Costs in ``infos`` are never scaled.
"""

from __future__ import annotations

from typing import Any

from echelon.envs.scenario import Scenario

REWARD_MODES = {"decentralized": 0.0, "cooperative": 1.0}


def reward_weight(reward: str | float) -> float:
    """Weight w on the team cost: 0 decentralized, 1 cooperative, or a number in [0, 1]."""
    if isinstance(reward, str):
        if reward not in REWARD_MODES:
            raise ValueError(f"reward: must be 'decentralized', 'cooperative' or a number in [0, 1] (got {reward!r})")
        return REWARD_MODES[reward]
    if isinstance(reward, bool) or not isinstance(reward, int | float) or not 0.0 <= reward <= 1.0:
        raise ValueError(f"reward: a mix weight must be a number in [0, 1] (got {reward!r})")
    return float(reward)


def mixed_cost(own: Any, team: Any, w: float) -> Any:
    """The cost a site's reward is minus: ``(1 - w) own + w team`` (arrays or numbers)."""
    return (1.0 - w) * own + w * team


def cost_scale(scenario: Scenario) -> float:
    """Sum over sites of h' x mean demand through the site (at least 1): a period's typical holding cost."""
    total = sum(s.holding_cost * scenario.mean_demand_through(s.name) for s in scenario.sites)
    return float(max(total, 1.0))


def reward_scale_of(scale: float | str | None, scenario: Scenario) -> float:
    """The divisor of rewards: 1 for ``None``, :func:`cost_scale` for ``"auto"``, else the number (> 0)."""
    if scale is None:
        return 1.0
    if scale == "auto":
        return cost_scale(scenario)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0 or scale == float("inf"):
        raise ValueError(f"reward_scale: must be 'auto', a finite number > 0 or None (got {scale!r})")
    return float(scale)
