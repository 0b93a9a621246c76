"""A batch of episodes of one scenario: the core's state, clock and random inputs.

:class:`Simulator` is the one stateful object every shell (PettingZoo,
Gymnasium, the SB3 vector env, evaluation rollouts) wraps. It owns no rules of
its own: a period is :func:`envs.core.step`.

All randomness of an episode (customer demand, random lead times) is drawn at
:meth:`Simulator.reset` from the Generator passed in, so the same seed gives the
same episode and policies compared on one seed face the same demand (common
random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from echelon.envs.core import Flows, State, check_orders, initial_state, step
from echelon.envs.errors import ActionError
from echelon.envs.information import History, Knowledge, draw_extra_demand
from echelon.envs.limits import check_batch_size
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario, load_scenario


@dataclass(frozen=True, eq=False)
class Episode:
    """Exogenous random inputs of a batch of episodes, time-major."""

    demand: np.ndarray  # [T, B, S] customer demand (extra demand included), 0 at sites with none
    lead_time: np.ndarray | None  # [T, B, S] shipment lead times where random, else None
    extra: np.ndarray | None = None  # [T, B, S] the part of demand sites learn ahead (advance demand)
    record_noise: np.ndarray | None = None  # [T + 1, B, S] standard normal errors of the planner's records


def sample_episode(
    scenario: Scenario, params: CoreParams, rng: np.random.Generator, batch: int, periods: int
) -> Episode:
    """Draw an episode's demand (site by site, in index order) and random lead times."""
    demand = np.zeros((periods, batch, params.n_sites))
    for i, name in enumerate(params.names):
        model = scenario.demand.get(name)
        if model is not None:
            demand[:, :, i] = model.sample(rng, batch, periods).T
    lead = None
    if params.random_lead:
        lead = np.empty((periods, batch, params.n_sites), dtype=np.int64)
        for i, (values, probs) in enumerate(zip(params.lead_values, params.lead_probs, strict=True)):
            lead[:, :, i] = rng.choice(np.asarray(values), size=(periods, batch), p=np.asarray(probs))
    info = scenario.information
    extra = noise = None
    if info.advance_demand is not None:
        means = np.array([scenario.demand[n].mean if n in scenario.demand else 0.0 for n in params.names])
        extra = draw_extra_demand(info.advance_demand, means, params.customer_facing, rng, periods, batch)
        demand = demand + extra
    if info.central.record_error > 0:
        noise = rng.standard_normal((periods + 1, batch, params.n_sites))
    return Episode(demand, lead, extra, noise)


def tile_episode(episode: Episode, times: int) -> Episode:
    """The episode repeated ``times`` times along the batch: copy i * B + j is copy j of block i."""
    def tile(array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None else np.tile(array, (1, times, 1))

    return Episode(tile(episode.demand), tile(episode.lead_time), tile(episode.extra), tile(episode.record_noise))


def _read_only(state: State) -> State:
    """Freeze a state's arrays, so a shared state cannot be changed by mistake."""
    for name in State.__slots__:
        value = getattr(state, name)
        for array in value if isinstance(value, tuple) else (value,):
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
    return state


class Simulator:
    """``batch`` copies of a scenario stepping in lockstep over ``periods`` periods.

    Example:
        >>> sim = Simulator("beer_game", batch=64)
        >>> state = sim.reset(np.random.default_rng(0))
        >>> flows = sim.step(np.full((64, 4), 4.0))
    """

    def __init__(self, scenario: Scenario | str, batch: int = 1, periods: int | None = None):
        scen = load_scenario(scenario)
        if periods is not None:
            scen = scen.with_periods(periods)
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise ValueError(f"batch must be a whole number >= 1 (got {batch!r})")
        self.scenario = scen
        self.params = CoreParams.from_scenario(scen)
        check_batch_size(self.params.n_sites, batch, scen.periods, self.params.lead_slots + self.params.delay_slots,
                         f"{scen.source}: simulating")
        self.batch = batch
        self.periods = scen.periods
        self._start = _read_only(initial_state(self.params, batch))
        self.state: State = self._start
        self.episode: Episode | None = None
        self.history = History(scen.information, self.params.integral) if not scen.information.trivial else None
        self._order_shape = (batch, self.params.n_sites)

    @property
    def n_sites(self) -> int:
        return self.params.n_sites

    @property
    def period(self) -> int:
        """Periods completed in the current episode."""
        return self.state.period

    @property
    def done(self) -> bool:
        return self.period >= self.periods

    def reset(self, rng: np.random.Generator, episode: Episode | None = None) -> State:
        """Start new episodes, drawing their random inputs from ``rng`` (or using ``episode``)."""
        self.episode = episode or sample_episode(self.scenario, self.params, rng, self.batch, self.periods)
        self.state = self._start  # step() never writes into a state: every episode can share it
        if self.history is not None:
            self.history.reset(self.state, self.episode.extra, self.episode.record_noise)
        return self.state

    def knowledge(self) -> Knowledge:
        """What each role may know now (:mod:`envs.information`); full and instant without an information model."""
        if self.history is None:
            return Knowledge(self.state, self.state, 0, None)
        return self.history.knowledge()

    def check_running(self) -> None:
        """Raise :class:`~envs.errors.ActionError` unless a period can be run now."""
        if self.episode is None:
            raise ActionError("step() before reset(): call reset() first")
        if self.state.period >= self.periods:
            raise ActionError(f"the episode ended after {self.periods} periods: call reset()")

    def step(self, orders: np.ndarray, validate: bool = True) -> Flows:
        """Place ``orders`` ``[batch, sites]`` and run one period.

        Raises :class:`~envs.errors.ActionError` (state unchanged) for a bad
        order array or a step after the episode ended.
        """
        if self.episode is None or self.state.period >= self.periods:
            self.check_running()
        if validate:
            orders = check_orders(orders, self._order_shape)
        t = self.state.period
        lead = None if self.episode.lead_time is None else self.episode.lead_time[t]
        self.state, flows = step(self.state, orders, self.episode.demand[t], self.params, lead)
        if self.history is not None:
            self.history.push(self.state)
        return flows
