"""Rollouts of any policy on the batched core, with common random numbers.

:func:`rollout` draws a batch of episodes once from the seed (:class:`Episode`),
and every policy evaluated with that seed faces exactly those demands and lead
times, so differences between policies are paired. A policy's own randomness
comes from a separate stream of the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from echelon.agents.policy import Policy
from echelon.envs.positions import backlog_total
from echelon.envs.scenario import Scenario
from echelon.envs.simulator import Episode, Simulator, sample_episode


@dataclass(frozen=True)
class Trajectory:
    """Everything a batch of episodes did, time-major ``[T, episodes, sites]``."""

    orders: np.ndarray  # orders placed (after capacity)
    demand: np.ndarray  # customer demand
    incoming: np.ndarray  # demand on each site: customer demand + orders that reached it
    sales: np.ndarray  # customer demand served from stock
    on_hand: np.ndarray  # end of period
    backlog: np.ndarray  # end of period: customer backlog + orders owed downstream
    customer_backlog: np.ndarray  # end of period: customer demand waiting (backlog sites)
    lost: np.ndarray  # customer demand or orders lost
    cost: np.ndarray  # per site per period

    @property
    def episode_cost(self) -> np.ndarray:
        """Mean cost per period ``[episodes, sites]``."""
        return self.cost.mean(axis=0)


def common_episodes(scenario: Scenario, episodes: int, seed: int) -> Episode:
    """The episodes every policy run with ``seed`` faces."""
    sim = Simulator(scenario, batch=episodes)
    return sample_episode(scenario, sim.params, np.random.default_rng([seed, 0]), episodes, sim.periods)


def rollout(policy: Policy, scenario: Scenario, episodes: int, seed: int,
            episode: Episode | None = None) -> Trajectory:
    """Run ``policy`` on ``episodes`` common-random-number episodes of ``scenario``."""
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1 (got {episodes})")
    sim = Simulator(scenario, batch=episodes)
    sim.reset(np.random.default_rng([seed, 0]), episode or common_episodes(scenario, episodes, seed))
    policy.reset(episodes, np.random.default_rng([seed, 1]))
    fields = {name: [] for name in Trajectory.__dataclass_fields__}
    while not sim.done:
        flows = sim.step(policy.decide(sim.knowledge()))
        state = sim.state
        fields["orders"].append(flows.orders)
        fields["demand"].append(flows.demand)
        fields["incoming"].append(state.incoming)
        fields["sales"].append(flows.sales)
        fields["on_hand"].append(state.on_hand)
        fields["backlog"].append(backlog_total(state, sim.params))
        fields["customer_backlog"].append(state.backlog)
        fields["lost"].append(flows.lost)
        fields["cost"].append(flows.cost)
    return Trajectory(**{name: np.stack(values) for name, values in fields.items()})
