"""The information model: what each role may know, and its views over the core's state history.

A scenario's ``information`` block (validated in :mod:`envs.scenario`)::

    information:
      advance_demand:        # local knowledge at every customer-facing site
        notice: 2            # the site learns of extra demand this many periods ahead
        rate: 0.2            # the chance a period carries extra demand (a promotion, a firm customer order)
        lift: 1.0            # its size: Poisson with mean lift x the site's mean demand
      central:               # what the central planner sees
        delay: 2             # its data are this many periods old
        record_error: 0.1    # relative error of the on-hand stock it sees (std of a normal factor)
        review_period: 4     # it re-plans every this many periods

Extra demand is part of the customer demand the core serves; it is drawn at
reset from the seeded generator with the rest of the episode, and a site knows
its own extra demand of the next ``notice`` periods, no other site's. The
planner sees the network as it was ``delay`` periods ago, with each site's
on-hand stock recorded as on hand x max(0, 1 + record_error x Z), Z standard
normal (drawn at reset too), plus the orders it has itself placed since; news
of extra demand reaches it ``delay`` periods after the site, so it knows the
next ``notice - delay`` periods' only. The
core stays one step: these are views over the states it produced
(:class:`Knowledge`).

Advance demand information as in Gallego & Özer (2001), "Integrating
replenishment decisions with advance demand information", Management Science
47(10); record inaccuracy as in DeHoratius & Raman (2008), "Inventory record
inaccuracy", Management Science 54(4).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the scenario (which the core reads) holds the model: no import of the core at run time
    from echelon.envs.core import State


@dataclass(frozen=True)
class AdvanceDemand:
    """Local knowledge: extra demand each customer-facing site learns ``notice`` periods ahead."""

    notice: int  # periods ahead a site learns of it (0: it comes as a surprise)
    rate: float  # chance that a period carries extra demand, per site
    lift: float  # its size: Poisson with mean lift x the site's mean demand


@dataclass(frozen=True)
class CentralView:
    """What the central planner sees, and how often it re-plans."""

    delay: int = 0  # periods its data lag behind
    record_error: float = 0.0  # relative std of the recorded on-hand stock
    review_period: int = 1  # it re-plans every so many periods


@dataclass(frozen=True)
class Information:
    """A scenario's information model; the default is full, instant information and no advance knowledge."""

    advance_demand: AdvanceDemand | None = None
    central: CentralView = field(default_factory=CentralView)

    @property
    def notice(self) -> int:
        """Periods of advance demand a site sees (0: none)."""
        return self.advance_demand.notice if self.advance_demand else 0

    @property
    def trivial(self) -> bool:
        return self.advance_demand is None and self.central == CentralView()


def draw_extra_demand(model: AdvanceDemand, means: np.ndarray, facing: np.ndarray, rng: np.random.Generator,
                      periods: int, batch: int) -> np.ndarray:
    """``[T, B, S]`` extra demand: a period carries some with chance ``rate``, Poisson(lift x mean) units."""
    shape = (periods, batch, len(means))
    happens = rng.random(shape) < model.rate
    size = rng.poisson(np.broadcast_to(model.lift * means, shape))
    return (happens * size * facing).astype(np.float64)


@dataclass(frozen=True)
class Knowledge:
    """What each role may know at the end of a period, for a batch of episodes.

    ``state`` is the true state (a site reads only its own column of it); ``signals[:, j, h]`` the
    extra demand site j knows will come in period t + 1 + h (its own row only); ``planner`` what
    the central planner sees: the state ``planner_age`` periods old, on hand with record error;
    ``planner_signals`` the announcements that have reached the planner: each one ``delay`` periods
    after the site heard it, so it knows the extra demand of t + 1 .. t + notice - delay only.
    """

    state: State
    planner: State
    planner_age: int
    signals: np.ndarray | None  # [B, S, notice]
    planner_signals: np.ndarray | None = None  # [B, S, notice], zero beyond notice - delay

    @property
    def period(self) -> int:
        return self.state.period


class History:
    """The states of the last ``delay + 1`` periods and the episode's information draws."""

    def __init__(self, info: Information, integral: bool):
        self.info = info
        self.integral = integral
        self.states: deque[State] = deque(maxlen=info.central.delay + 1)
        self.extra: np.ndarray | None = None  # [T, B, S]
        self.noise: np.ndarray | None = None  # [T, B, S] standard normal record errors

    def reset(self, state: State, extra: np.ndarray | None, noise: np.ndarray | None) -> None:
        self.states.clear()
        self.states.append(state)
        self.extra, self.noise = extra, noise

    def push(self, state: State) -> None:
        self.states.append(state)

    def knowledge(self) -> Knowledge:
        state = self.states[-1]
        planner = self.states[0]  # delay periods old, or the start of the episode
        if self.noise is not None and self.info.central.record_error > 0:
            factor = np.maximum(1.0 + self.info.central.record_error * self.noise[planner.period], 0.0)
            seen = planner.on_hand * factor
            planner = replace(planner, on_hand=np.rint(seen) if self.integral else seen)
        signals = self._signals(state.period)
        planner_signals = None
        if signals is not None:
            known = self.info.notice - self.info.central.delay
            planner_signals = signals * (np.arange(signals.shape[2]) < known) if known > 0 else None
        return Knowledge(state, planner, state.period - planner.period, signals, planner_signals)

    def _signals(self, period: int) -> np.ndarray | None:
        notice = self.info.notice
        if not notice or self.extra is None:
            return None
        ahead = self.extra[period:period + notice]  # extra demand of periods period + 1 .. period + notice
        if len(ahead) < notice:
            pad = np.zeros((notice - len(ahead), *self.extra.shape[1:]))
            ahead = np.concatenate([ahead, pad])
        return ahead.transpose(1, 2, 0)
