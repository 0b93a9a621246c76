"""A batch of episodes of one scenario: the core's state, clock and random inputs.

:class:`Simulator` is the one stateful object every shell (PettingZoo,
Gymnasium, the SB3 vector env, evaluation rollouts) wraps. It owns no rules of
its own: a period is :func:`envs.core.step`.

All randomness of an episode (customer demand, random lead times) is fixed at
:meth:`Simulator.reset` by the Generator passed in, so the same seed gives the
same episode and policies compared on one seed face the same demand (common
random numbers). Two layouts:

* **at once** (:func:`sample_episode`): ``[T, B, S]`` arrays drawn at reset, site
  by site from the one generator. Every run whose draw fits in
  :data:`DRAW_AT_ONCE_BYTES` uses it, so the numbers of every scenario so far are
  unchanged.
* **chunked** (:class:`ChunkedEpisode`): for runs whose draw would not fit (a year
  of daily periods on thousands of sites): reset takes one number from the
  generator; the sites with equal demand models share one stream
  (``SeedSequence(that number, spawn_key=(k,))`` for the k-th such group, by first
  site), drawn ``chunk`` periods at a time as the episode advances, time-major
  ``[periods, copies, sites of the group]``; random lead times likewise, per group
  of equal lead-time distributions. Consecutive chunks of a stream give exactly
  what one draw over the horizon gives, so the numbers do not depend on the chunk
  size, and memory does not grow with the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from echelon.envs.core import Flows, State, check_orders, initial_state, step
from echelon.envs.errors import ActionError
from echelon.envs.information import History, Knowledge, draw_extra_demand
from echelon.envs.limits import check_batch_size
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario, load_scenario

DRAW_AT_ONCE_BYTES = 256e6
"""Largest ``[T, B, S]`` float64 demand array drawn at once; larger draws are chunked."""
CHUNK_BYTES = 16e6
"""Size of one chunk of demand, ``[chunk, B, S]`` float64, in the chunked layout: about half a
last-level cache, so a chunk is still in cache when its periods are run. Measured here (32 MB L3,
``echelon speed --scale``, tree of 5,000 sites at batch 256): 3.7e6 site-steps/s with 128 MB chunks,
6.7e6 with 16 MB (50 sites, drawn at once: 7.5e6-8.3e6)."""


@dataclass(frozen=True, eq=False)
class Episode:
    """Exogenous random inputs of a batch of episodes, time-major, drawn at once."""

    demand: np.ndarray  # [T, B, S] customer demand (extra demand included), 0 at sites with none
    lead_time: np.ndarray | None  # [T, B, S] shipment lead times where random, else None
    extra: np.ndarray | None = None  # [T, B, S] the part of demand sites learn ahead (advance demand)
    record_noise: np.ndarray | None = None  # [T + 1, B, S] standard normal errors of the planner's records
    local_error: np.ndarray | None = None  # [T, B, S] standard normal errors of the sites' targets

    def start(self) -> Episode:
        """The inputs period by period (:meth:`demand_at`, :meth:`lead_at`): itself."""
        return self

    def demand_at(self, t: int) -> np.ndarray:
        return self.demand[t]

    def lead_at(self, t: int) -> np.ndarray | None:
        return None if self.lead_time is None else self.lead_time[t]


class ChunkedEpisode:
    """The chunked layout (module docstring): a recipe that can be replayed, so every policy run on it
    faces the same numbers; :meth:`start` gives a reader that draws ``chunk`` periods at a time."""

    def __init__(self, scenario: Scenario, params: CoreParams, rng: np.random.Generator, batch: int,
                 periods: int, chunk: int | None = None) -> None:
        self.scenario, self.params, self.batch, self.periods = scenario, params, batch, periods
        self.entropy = int(rng.integers(2**63))
        self.chunk = chunk or chunk_periods(params.n_sites, batch)
        info = scenario.information
        self.extra = self.record_noise = self.local_error = None
        if not info.trivial:  # (small: drawn whole)
            whole = sample_episode(scenario, params, self._stream(2 * params.n_sites), batch, periods)
            self.extra, self.record_noise, self.local_error = whole.extra, whole.record_noise, whole.local_error

    def _stream(self, k: int) -> np.random.Generator:
        """Stream k: demand group k's (k < S), lead-time group k - S's (S <= k < 2 S)."""
        return np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=(k,)))

    def start(self) -> _ChunkReader:
        return _ChunkReader(self)


class _ChunkReader:
    """One pass over a :class:`ChunkedEpisode`, period by period in order."""

    def __init__(self, recipe: ChunkedEpisode) -> None:
        self.r = recipe
        p, b = recipe.params, recipe.batch
        self.demand_groups = []  # (model, its sites, stream, per-episode start)
        for k, (model, sites) in enumerate(same_model_groups(recipe.scenario, p.names)):
            gen = recipe._stream(k)
            self.demand_groups.append((model, sites, gen, model.begin(gen, b * len(sites), recipe.periods)))
        self.lead_groups = []  # (values, probs, its sites, stream)
        if p.random_lead:
            lanes: dict[tuple, list[int]] = {}
            for i, (v, pr) in enumerate(zip(p.lead_values, p.lead_probs, strict=True)):
                if len(v) > 1:
                    lanes.setdefault((tuple(v), tuple(pr)), []).append(i)
            for k, ((v, pr), sites) in enumerate(lanes.items()):
                self.lead_groups.append((np.asarray(v), np.asarray(pr), np.array(sites), recipe._stream(p.n_sites + k)))
            fixed = [i for i, v in enumerate(p.lead_values) if len(v) == 1]
            self.fixed_lead = (np.array(fixed, dtype=np.int64), np.array([p.lead_values[i][0] for i in fixed]))
        self.begin = self.end = 0
        self.demand = np.zeros((0, b, p.n_sites))
        self.lead: np.ndarray | None = None
        self.extra = recipe.extra

    def _fill(self, t: int) -> None:
        r = self.r
        if t < self.begin:
            raise ValueError("a chunked episode is read forward only: start() it again")
        self.begin, self.end = t, min(t + r.chunk, r.periods)
        n, b = self.end - self.begin, r.batch
        self.demand = np.zeros((n, b, r.params.n_sites))
        for model, sites, gen, first in self.demand_groups:
            k = len(sites)
            self.demand[:, :, sites] = model.draw(gen, b * k, self.begin, self.end, first).reshape(n, b, k)
        if self.extra is not None:
            self.demand += self.extra[self.begin:self.end]
        if self.lead_groups:
            self.lead = np.empty((n, b, r.params.n_sites), dtype=np.int64)
            fixed, values = self.fixed_lead
            self.lead[:, :, fixed] = values
            for lead_values, probs, sites, gen in self.lead_groups:
                draws = gen.choice(lead_values, size=(n, b * len(sites)), p=probs)
                self.lead[:, :, sites] = draws.reshape(n, b, len(sites))

    def demand_at(self, t: int) -> np.ndarray:
        if not self.begin <= t < self.end:
            self._fill(t)
        return self.demand[t - self.begin]

    def lead_at(self, t: int) -> np.ndarray | None:
        if not self.lead_groups:
            return None
        if not self.begin <= t < self.end:
            self._fill(t)
        assert self.lead is not None
        return self.lead[t - self.begin]


def same_model_groups(scenario: Scenario, names: tuple[str, ...]) -> list[tuple[Any, np.ndarray]]:
    """Customer-facing sites grouped by equal demand model (first appearance first), with their indices."""
    groups: dict[Any, list[int]] = {}
    models: dict[Any, Any] = {}
    for i, name in enumerate(names):
        model = scenario.demand.get(name)
        if model is None:
            continue
        try:
            hash(model)
            key = model  # equal frozen models share a group
        except TypeError:
            key = id(model)  # (a model holding an array: its own group)
        models.setdefault(key, model)
        groups.setdefault(key, []).append(i)
    return [(models[key], np.array(sites, dtype=np.int64)) for key, sites in groups.items()]


def chunk_periods(sites: int, batch: int) -> int:
    """Periods per chunk: as many as fit in :data:`CHUNK_BYTES` of demand, at least 1."""
    return max(1, int(CHUNK_BYTES // (8.0 * sites * batch)))


def draws_chunked(sites: int, batch: int, periods: int) -> bool:
    """Whether an episode of this size is drawn in chunks (its demand would not fit in DRAW_AT_ONCE_BYTES)."""
    return 8.0 * sites * batch * periods > DRAW_AT_ONCE_BYTES


def draw_episode(scenario: Scenario, params: CoreParams, rng: np.random.Generator, batch: int,
                 periods: int) -> Episode | ChunkedEpisode:
    """An episode in the layout its size calls for (module docstring)."""
    if draws_chunked(params.n_sites, batch, periods):
        return ChunkedEpisode(scenario, params, rng, batch, periods)
    return sample_episode(scenario, params, rng, batch, periods)


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
    local = None
    if info.local.skill < 1:
        local = rng.standard_normal((periods, batch, params.n_sites))
    return Episode(demand, lead, extra, noise, local)


def tile_episode(episode: Episode | ChunkedEpisode, times: int) -> Episode | TiledEpisode:
    """The episode repeated ``times`` times along the batch: copy i * B + j is copy j of block i
    (a chunked episode is tiled chunk by chunk as it is read)."""
    if isinstance(episode, ChunkedEpisode):
        return TiledEpisode(episode, times)
    return Episode(_tile(episode.demand, times), _tile(episode.lead_time, times), _tile(episode.extra, times),
                   _tile(episode.record_noise, times), _tile(episode.local_error, times))


def _tile(array: np.ndarray | None, times: int) -> np.ndarray | None:
    return None if array is None else np.tile(array, (1, times, 1))


class TiledEpisode:
    """A chunked episode repeated ``times`` times along the batch (:func:`tile_episode`)."""

    def __init__(self, episode: ChunkedEpisode, times: int) -> None:
        self.episode, self.times = episode, times
        self.extra, self.record_noise = _tile(episode.extra, times), _tile(episode.record_noise, times)
        self.local_error = _tile(episode.local_error, times)

    def start(self) -> _TiledReader:
        return _TiledReader(self.episode.start(), self.times)


class _TiledReader:
    def __init__(self, inner: _ChunkReader, times: int) -> None:
        self.inner, self.times = inner, times

    def demand_at(self, t: int) -> np.ndarray:
        return np.tile(self.inner.demand_at(t), (self.times, 1))

    def lead_at(self, t: int) -> np.ndarray | None:
        lead = self.inner.lead_at(t)
        return None if lead is None else np.tile(lead, (self.times, 1))


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
        self._tiled = (self.params, self.params.for_batch(batch))  # (rows tiled: the same numbers, a faster step)
        drawn = scen.periods
        if draws_chunked(self.params.n_sites, batch, scen.periods):
            drawn = min(scen.periods, chunk_periods(self.params.n_sites, batch))
        check_batch_size(self.params.n_sites, batch, drawn, self.params.lead_slots + self.params.delay_slots,
                         f"{scen.source}: simulating")
        self.batch = batch
        self.periods = scen.periods
        self._start = _read_only(initial_state(self.params, batch))
        self.state: State = self._start
        self.episode: Episode | ChunkedEpisode | TiledEpisode | None = None
        self._inputs: Episode | _ChunkReader | _TiledReader | None = None
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

    def reset(self, rng: np.random.Generator, episode: Episode | ChunkedEpisode | TiledEpisode | None = None) -> State:
        """Start new episodes, drawing their random inputs from ``rng`` (or using ``episode``)."""
        self.episode = episode or draw_episode(self.scenario, self.params, rng, self.batch, self.periods)
        self._inputs = self.episode.start()
        self.state = self._start  # step() never writes into a state: every episode can share it
        if self.history is not None:
            self.history.reset(self.state, self.episode.extra, self.episode.record_noise, self.episode.local_error)
        return self.state

    @property
    def inputs(self) -> Episode | _ChunkReader | _TiledReader:
        """The current episode's random inputs period by period (``demand_at(t)``, ``lead_at(t)``): what
        :meth:`step` feeds the core, for other back ends run on the same draws."""
        return self._inputs

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
        inputs = self._inputs
        if self._tiled[0] is not self.params:  # (parameters replaced since: tile them again)
            self._tiled = (self.params, self.params.for_batch(self.batch))
        self.state, flows = step(self.state, orders, inputs.demand_at(t), self._tiled[1], inputs.lead_at(t))
        if self.history is not None:
            self.history.push(self.state)
        return flows
