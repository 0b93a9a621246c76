"""Rollouts of any policy on the batched core, with common random numbers.

:func:`rollout` draws a batch of episodes once from the seed (:class:`Episode`),
and every policy evaluated with that seed faces exactly those demands and lead
times, so differences between policies are paired. A policy's own randomness
comes from a separate stream of the same seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from echelon.agents.policy import Policy
from echelon.envs.core import Flows, State, total
from echelon.envs.params import CoreParams
from echelon.envs.positions import backlog_total
from echelon.envs.scenario import Scenario
from echelon.envs.simulator import ChunkedEpisode, Episode, Simulator, draw_episode


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
    in_transit: np.ndarray  # end of period: units shipped to the site, not yet arrived

    @property
    def episode_cost(self) -> np.ndarray:
        """Mean cost per period ``[episodes, sites]``."""
        return self.cost.mean(axis=0)


BLOCK_SITE_COPIES = 2**20
"""Most episodes x sites simulated side by side: more episodes run in blocks, one after another."""


@dataclass(frozen=True, eq=False)
class Block:
    """Episodes simulated side by side: their inputs and the seed of the policy's own randomness."""

    size: int
    episode: Episode | ChunkedEpisode
    policy_seed: list[int]


def common_episodes(scenario: Scenario, episodes: int, seed: int) -> Episode | ChunkedEpisode:
    """The episodes every policy run with ``seed`` faces (one block)."""
    sim = Simulator(scenario, batch=episodes)
    return draw_episode(scenario, sim.params, np.random.default_rng([seed, 0]), episodes, sim.periods)


def episode_blocks(scenario: Scenario, episodes: int, seed: int) -> list[Block]:
    """The episodes every policy run with ``seed`` faces, in blocks of at most ``BLOCK_SITE_COPIES`` /
    sites episodes: one block (the episodes of :func:`common_episodes`) whenever they fit, so runs of
    every size so far are unchanged; else block k from the seed ``[seed, 0, k]``."""
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1 (got {episodes})")
    per = max(1, BLOCK_SITE_COPIES // len(scenario.sites))
    if episodes <= per:
        return [Block(episodes, common_episodes(scenario, episodes, seed), [seed, 1])]
    blocks = []
    params = Simulator(scenario, batch=per).params  # (also checks a block's memory)
    for k, first in enumerate(range(0, episodes, per)):
        size = min(per, episodes - first)
        episode = draw_episode(scenario, params, np.random.default_rng([seed, 0, k]), size, scenario.periods)
        blocks.append(Block(size, episode, [seed, 1, k]))
    return blocks


def run(policy: Policy, scenario: Scenario, episodes: int, seed: int,
        episode: Episode | ChunkedEpisode | list[Block] | None,
        observe: Callable[[Flows, State, CoreParams], None], end_block: Callable[[], None] | None = None) -> None:
    """Run ``policy`` on ``episodes`` common-random-number episodes, calling ``observe`` after each period
    (and ``end_block`` after each block of episodes simulated side by side)."""
    if episodes < 1:
        raise ValueError(f"episodes: must be >= 1 (got {episodes})")
    if isinstance(episode, list):
        blocks = episode
    elif episode is None:
        blocks = episode_blocks(scenario, episodes, seed)
    else:
        blocks = [Block(episodes, episode, [seed, 1])]
    for block in blocks:
        sim = Simulator(scenario, batch=block.size)
        sim.reset(np.random.default_rng([seed, 0]), block.episode)
        policy.reset(block.size, np.random.default_rng(block.policy_seed))
        while not sim.done:
            flows = sim.step(policy.decide(sim.knowledge()))
            observe(flows, sim.state, sim.params)
        if end_block is not None:
            end_block()


def rows(flows: Flows, state: State, params: CoreParams) -> dict[str, np.ndarray]:
    """One period of a :class:`Trajectory`, ``[B, S]`` per field."""
    return {"orders": flows.orders, "demand": flows.demand, "incoming": state.incoming, "sales": flows.sales,
            "on_hand": state.on_hand, "backlog": backlog_total(state, params), "customer_backlog": state.backlog,
            "lost": flows.lost, "cost": flows.cost, "in_transit": total(state.transit, state.on_hand)}


def rollout(policy: Policy, scenario: Scenario, episodes: int, seed: int,
            episode: Episode | None = None) -> Trajectory:
    """Run ``policy`` on ``episodes`` common-random-number episodes of ``scenario``, keeping everything."""
    fields: dict[str, list[np.ndarray]] = {name: [] for name in Trajectory.__dataclass_fields__}
    done: list[dict[str, np.ndarray]] = []

    def keep(flows: Flows, state: State, params: CoreParams) -> None:
        for name, value in rows(flows, state, params).items():
            fields[name].append(value)

    def close() -> None:
        done.append({name: np.stack(values) for name, values in fields.items()})
        for values in fields.values():
            values.clear()

    run(policy, scenario, episodes, seed, episode, keep, close)
    return Trajectory(**{name: np.concatenate([d[name] for d in done], axis=1) for name in fields})
