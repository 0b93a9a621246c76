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
      local:                 # how well the sites carry out their own ordering rules
        skill: 0.7           # 1: exactly; below 1: supply-line underweighting and order errors

Extra demand is part of the customer demand the core serves; it is drawn at
reset from the seeded generator with the rest of the episode, and a site knows
its own extra demand of the next ``notice`` periods, no other site's. The
planner sees the network as it was ``delay`` periods ago, with each site's
on-hand stock recorded as on hand x max(0, 1 + record_error x Z), Z standard
normal (drawn at reset too), plus the orders it has itself placed since; news
of extra demand reaches it ``delay`` periods after the site, with the rest of
the sites' data: at the end of period t it knows what the sites knew at the
end of t - delay, the extra demand of periods t - delay + 1 .. t - delay +
notice. The first ``delay`` of those periods are its blind window: demand that
has happened but that its stale view does not show yet; the rest (``notice -
delay`` periods, if any) lie ahead. A planner that uses its news uses both.
The core stays one step: these are views over the states it produced
(:class:`Knowledge`).

Local decision quality (planning maturity at the sites): a site of ``skill``
k < 1 counts only k of its stock on order in its position (it under-weights
its supply line, the bias Sterman 1989 measured in the beer game: about 0.34)
and its order-up-to target errs by (1 - k) x its mean demand x Z, Z standard
normal drawn with the episode (so every policy faces the same errors). Rules
that execute locally (:mod:`agents.control`'s ``Local`` and the hybrid's sites)
apply it; the central planner's orders are not subject to it.

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
class LocalSkill:
    """How well the sites carry out their own ordering rules (module docstring)."""

    skill: float = 1.0  # 1: exactly; 0: no weight on the supply line and errors of one mean demand

    @property
    def supply_line_weight(self) -> float:
        """[beta]: the share of its stock on order a site counts."""
        return self.skill

    @property
    def error(self) -> float:
        """Standard deviation of a site's target error, as a multiple of its mean demand."""
        return 1.0 - self.skill


@dataclass(frozen=True)
class Information:
    """A scenario's information model; the default is full, instant information and no advance knowledge."""

    advance_demand: AdvanceDemand | None = None
    central: CentralView = field(default_factory=CentralView)
    local: LocalSkill = field(default_factory=LocalSkill)

    @property
    def notice(self) -> int:
        """Periods of advance demand a site sees (0: none)."""
        return self.advance_demand.notice if self.advance_demand else 0

    @property
    def trivial(self) -> bool:
        return self.advance_demand is None and self.central == CentralView() and self.local == LocalSkill()

    def __repr__(self) -> str:  # (the local skill at its default left out: version-1 run fingerprints hold)
        local = f", local={self.local!r}" if self.local != LocalSkill() else ""
        return f"Information(advance_demand={self.advance_demand!r}, central={self.central!r}{local})"


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
    ``planner_signals[:, j, h]`` the announcements that have reached the planner with that state: the
    extra demand site j knew at the end of period t - planner_age would come in period
    t - planner_age + 1 + h (its first ``planner_age`` entries are periods the planner's view does not
    show yet); zeros before the first announcements reach it (t < delay), None without advance demand.
    ``local_error`` the standard normal errors of the sites' targets this period (None at skill 1).
    """

    state: State
    planner: State
    planner_age: int
    signals: np.ndarray | None  # [B, S, notice]
    planner_signals: np.ndarray | None = None  # [B, S, notice], as of the planner's view
    local_error: np.ndarray | None = None  # [B, S] standard normal errors of the sites' targets this period

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
        self.local_error: np.ndarray | None = None  # [T, B, S] standard normal errors of the sites' targets

    def reset(self, state: State, extra: np.ndarray | None, noise: np.ndarray | None,
              local_error: np.ndarray | None = None) -> None:
        self.states.clear()
        self.states.append(state)
        self.extra, self.noise, self.local_error = extra, noise, local_error

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
        planner_signals = self._signals(planner.period)
        if planner_signals is not None and state.period < self.info.central.delay:
            planner_signals = np.zeros_like(planner_signals)  # the news of period 0 reaches it at period delay
        local = None if self.local_error is None else self.local_error[min(state.period, len(self.local_error) - 1)]
        return Knowledge(state, planner, state.period - planner.period, signals, planner_signals, local)

    def _signals(self, period: int) -> np.ndarray | None:
        notice = self.info.notice
        if not notice or self.extra is None:
            return None
        ahead = self.extra[period:period + notice]  # extra demand of periods period + 1 .. period + notice
        if len(ahead) < notice:
            pad = np.zeros((notice - len(ahead), *self.extra.shape[1:]))
            ahead = np.concatenate([ahead, pad])
        return ahead.transpose(1, 2, 0)
