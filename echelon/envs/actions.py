"""Action forms: how an agent's action becomes an order quantity [q].

One class per form, chosen by name through :data:`ACTION_FORMS`:

======================  =========================  ==================================
form                    space per site             order placed
======================  =========================  ==================================
``discrete``            Discrete(max_order + 1)    q = a
``continuous``          Box(0, max_order, (1,))    q = a
``demand_plus``         Discrete(2 m + 1)          q = max(0, incoming order + a - m)
``target``              Discrete(max_target + 1)   order up to a: q = max(0, a - IP)
``continuous_target``   Box(0, max_target, (1,))   order up to a real level a
``echelon_target``      Discrete(max_target + 1)   order up to a on the echelon position
======================  =========================  ==================================

``demand_plus`` is the "d + x" rule of Oroojlooyjadid et al. (2022, "A deep
Q-network for the beer game"): order what was asked plus an adjustment x in
[-m, m]. ``target`` sets the site's base-stock level every period (executed as
:func:`envs.ordering.installation_base_stock`): a state-dependent base-stock policy,
so the optimum of a serial chain is one constant action per site.
``continuous_target`` is the same with real levels: under continuous demand the
optimal levels are real numbers (Snyder & Shen's Example 6.1: 6.51, 12.02,
22.70), and whole levels can miss them by most of a unit. ``echelon_target``
sets the site's *echelon* base-stock level: q = max(0, a - IP^e), the echelon
position of its whole subtree (Clark & Scarf 1960; executed as
:class:`agents.heuristics.EchelonBaseStock` does), so one constant action per
site is an echelon base-stock policy, optimal for serial chains and the best
heuristic on most networks; a site acting in this form uses what its subtree
holds, the information an echelon policy needs. An action outside its space
raises :class:`~envs.errors.ActionError`.

Two options for clients that need them:

* ``uniform``: every site gets the same space, the widest of the sites' (shared
  policies in RLlib, Tianshou, TorchRL and SuperSuit need one space for all
  agents); an action beyond a site's own bound is capped to it (a discrete
  order or target at the site's ``max_order``, a continuous order at its
  upper bound). Only a site's own spaces differ; the joint (central) spaces
  are unchanged.
* ``clip``: an action outside its space is clipped into it (and a fractional
  one rounded, for the whole-number forms) instead of raising; NaN still
  raises.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from gymnasium import spaces

from echelon.envs.core import State
from echelon.envs.errors import ActionError
from echelon.envs.ordering import installation_base_stock, order_up_to
from echelon.envs.params import CoreParams
from echelon.envs.positions import echelon_inventory_position
from echelon.envs.scenario import Scenario

_BOOLS = (bool, np.bool_)  # True is 1 to Python, but an order of True is a mistake


def cover_periods(scenario: Scenario, echelon: bool = False) -> np.ndarray:
    """Per site, the periods a base-stock level covers: ``L + l_o + 1`` (its longest lead time, its order
    delay and the review period), or with ``echelon`` that plus the longest such chain below it."""
    own = {s.name: s.lead_time.max + s.order_delay + 1 for s in scenario.sites}

    @functools.cache
    def chain(name: str) -> int:
        return own[name] + max((chain(c) for c in scenario.customers(name)), default=0)

    return np.array([float(chain(s.name) if echelon else own[s.name]) for s in scenario.sites])


def default_max_target(scenario: Scenario, echelon: bool = False) -> np.ndarray:
    """3 x mean demand through the site x the periods its level covers (:func:`cover_periods`), >= 1, whole."""
    periods = cover_periods(scenario, echelon)
    return np.array([float(max(1, math.ceil(3 * scenario.mean_demand_through(s.name) * periods[i])))
                     for i, s in enumerate(scenario.sites)])


def default_max_order(scenario: Scenario) -> np.ndarray:
    """Per-site order bound: the site's ``max_order``, else 4 x mean demand through it (>= 1)."""
    out = []
    for s in scenario.sites:
        if s.max_order is not None:
            out.append(float(s.max_order))
        else:
            out.append(float(max(1, math.ceil(4 * scenario.mean_demand_through(s.name)))))
    return np.array(out)


class ActionForm:
    """Maps per-site actions ``[B, S]`` to order quantities ``[B, S]``.

    A form defines :meth:`_check` (validate a batch, raise a one-line
    :class:`~envs.errors.ActionError`) and :meth:`_orders` (convert valid
    actions). :meth:`site_orders` is the batch-1 path of the PettingZoo env: a
    plain-Python test accepts the usual valid values without NumPy calls, and
    anything it does not accept goes through :meth:`to_orders`, whose
    :meth:`_check` has the final word and the error message.
    """

    name: str = ""
    integral: bool = True  # actions are whole numbers

    def __init__(self, names: Sequence[str], max_order: np.ndarray, max_adjust: int = 2, uniform: bool = False,
                 clip: bool = False):
        self.names = tuple(names)
        self.max_order = np.asarray(max_order, dtype=np.float64)
        self.max_adjust = int(max_adjust)
        self.uniform, self.clip = bool(uniform), bool(clip)

    def site_space(self, i: int) -> spaces.Space:
        """Site i's action space: its own (:meth:`_site_space`), or the widest with ``uniform``."""
        return self._site_space(int(np.argmax(self._upper())) if self.uniform else i)

    def _site_space(self, i: int) -> spaces.Space:
        raise NotImplementedError

    def _upper(self) -> np.ndarray:
        """Per-site largest action, ``[S]``."""
        raise NotImplementedError

    def _limits(self) -> np.ndarray:
        """The largest action :meth:`_check` accepts per site: the site's own, or everyone's with ``uniform``."""
        upper = self._upper()
        return np.full_like(upper, upper.max()) if self.uniform else upper

    def _admit(self, actions: np.ndarray) -> np.ndarray:
        """``clip``: actions pulled into their space (whole-number forms rounded); NaN left to :meth:`_check`."""
        if not self.clip:
            return actions
        clipped = np.clip(actions, 0.0, self._limits())
        return np.round(clipped) if self.integral else clipped

    def _cap(self, actions: np.ndarray) -> np.ndarray:
        """``uniform``: a checked action beyond the site's own bound, capped to it."""
        return np.minimum(actions, self._upper()) if self.uniform else actions

    def joint_space(self) -> spaces.Space:
        raise NotImplementedError

    def _check(self, actions: np.ndarray) -> None:
        raise NotImplementedError

    def _orders(self, actions: np.ndarray, state: State, params: CoreParams) -> np.ndarray:
        return actions

    def _accepts(self, values: list) -> bool:
        """Fast test of one action per site (batch 1): True only if :meth:`_check` would pass."""
        return False

    def to_orders(
        self, actions: np.ndarray, state: State, params: CoreParams, fixed: np.ndarray | None = None
    ) -> np.ndarray:
        """Validate ``actions`` (``[B, S]``) and return the orders for ``state``; never mutates anything.

        ``fixed``: orders ``[B, S]`` of the sites another policy controls, NaN where ``actions`` decide
        (their actions there are ignored); the orders of the controlled sites see them.
        """
        if fixed is None:
            actions = self._admit(actions)
            self._check(actions)
            return self._orders(self._cap(actions), state, params)
        free = np.isnan(fixed)
        actions = self._admit(np.where(free, actions, 0.0))
        self._check(actions)
        return self._mixed_orders(self._cap(actions), state, params, fixed, free)

    def _mixed_orders(
        self, actions: np.ndarray, state: State, params: CoreParams, fixed: np.ndarray, free: np.ndarray
    ) -> np.ndarray:
        return np.where(free, self._orders(actions, state, params), fixed)

    def site_orders(self, values: list, state: State, params: CoreParams) -> np.ndarray:
        """Orders ``[1, S]`` from a list of one action per site (number or 1-element array)."""
        try:
            if self._accepts(values):
                row = np.array([values], dtype=np.float64)
                if row.ndim == 2:  # all plain numbers
                    return self._orders(self._cap(row), state, params)
        except (TypeError, ValueError):  # e.g. 1-element arrays: the general path takes them
            pass
        return self.to_orders(self._as_row(values), state, params)

    def _as_row(self, values: list) -> np.ndarray:
        """One float per site from one action per site; refuses text, bools and arrays of more than one."""
        for name, value in zip(self.names, values, strict=True):
            try:
                if isinstance(value, str | bytes | bool | np.bool_) or np.asarray(value).dtype == np.bool_:
                    raise TypeError
                number = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ActionError(f"action of {name!r}: must be a number (got {value!r})") from None
            if number.size != 1:
                raise ActionError(f"action of {name!r}: must be one number (got {value!r})")
        return np.array([np.asarray(v, dtype=np.float64).reshape(()) for v in values])[None, :]

    def _check_finite(self, arr: np.ndarray) -> None:
        if not np.isfinite(arr).all():
            bad = int(np.argwhere(~np.isfinite(arr))[0][-1])
            raise ActionError(f"action of '{self.names[bad]}': must be finite (got NaN or inf)")


class _IntegerForm(ActionForm):
    def _accepts(self, values: list) -> bool:
        # chained comparisons reject NaN and inf; `v % 1 == 0` rejects fractions; a bool is not an order
        for v, u in zip(values, self._upper_values, strict=True):
            if not (0 <= v <= u and v % 1 == 0) or type(v) in _BOOLS:
                return False
        return True

    @functools.cached_property
    def _upper_values(self) -> list[float]:
        return self._limits().tolist()

    def _check(self, actions: np.ndarray) -> None:
        upper = self._limits()
        # one fused test on the fast path (NaN fails every comparison); details only on error
        if (np.floor(actions) == np.minimum(np.maximum(actions, 0.0), upper)).all():
            return
        self._check_finite(actions)
        bad = (actions < 0) | (actions > upper) | (actions != np.floor(actions))
        if bad.any():
            b, i = np.argwhere(bad)[0]
            raise ActionError(
                f"action of '{self.names[i]}': must be a whole number in 0..{int(upper[i])} "
                f"(got {actions[b, i]:g})"
            )


class DiscreteOrder(_IntegerForm):
    """Order quantity chosen from 0, 1, ..., max_order."""

    name = "discrete"

    def _upper(self) -> np.ndarray:
        return self.max_order

    def _site_space(self, i: int) -> spaces.Space:
        return spaces.Discrete(int(self.max_order[i]) + 1)

    def joint_space(self) -> spaces.Space:
        return spaces.MultiDiscrete((self.max_order + 1).astype(np.int64))


class ContinuousOrder(ActionForm):
    """Real order quantity in [0, max_order]."""

    name = "continuous"
    integral = False

    def _upper(self) -> np.ndarray:
        return self.max_order

    def _site_space(self, i: int) -> spaces.Space:
        return spaces.Box(0.0, float(self.max_order[i]), shape=(1,), dtype=np.float32)

    def joint_space(self) -> spaces.Space:
        return spaces.Box(0.0, self.max_order.astype(np.float32), dtype=np.float32)

    def _check(self, actions: np.ndarray) -> None:
        upper = self._limits()
        slack = upper * (1 + 1e-6)  # float32 actions may round just above the bound
        if ((actions >= 0) & (actions <= slack)).all():
            return
        self._check_finite(actions)
        bad = (actions < 0) | (actions > slack)
        if bad.any():
            b, i = np.argwhere(bad)[0]
            raise ActionError(f"action of '{self.names[i]}': must be in [0, {upper[i]:g}] (got {actions[b, i]:g})")

    def _orders(self, actions: np.ndarray, state: State, params: CoreParams) -> np.ndarray:
        return np.minimum(actions, self.max_order)  # float32 rounding just above the bound


class DemandPlus(_IntegerForm):
    """Order the incoming order plus an adjustment in -m..m (action a means x = a - m)."""

    name = "demand_plus"

    def _upper(self) -> np.ndarray:
        return np.full(len(self.names), 2.0 * self.max_adjust)

    def _site_space(self, i: int) -> spaces.Space:
        return spaces.Discrete(2 * self.max_adjust + 1)

    def joint_space(self) -> spaces.Space:
        return spaces.MultiDiscrete(np.full(len(self.names), 2 * self.max_adjust + 1))

    def _orders(self, actions: np.ndarray, state: State, params: CoreParams) -> np.ndarray:
        return np.maximum(state.incoming + actions - self.max_adjust, 0.0)


class TargetLevel(DiscreteOrder):
    """Order up to a base-stock level chosen from 0..max_order each period (``max_order`` bounds the level)."""

    name = "target"

    def _orders(self, actions: np.ndarray, state: State, params: CoreParams) -> np.ndarray:
        return installation_base_stock(state, params, actions)

    def _mixed_orders(
        self, actions: np.ndarray, state: State, params: CoreParams, fixed: np.ndarray, free: np.ndarray
    ) -> np.ndarray:
        return installation_base_stock(state, params, actions, fixed=fixed)


class ContinuousTarget(ContinuousOrder):
    """Order up to a real base-stock level in [0, max_order] each period (``max_order`` bounds the level)."""

    name = "continuous_target"

    def _orders(self, actions: np.ndarray, state: State, params: CoreParams) -> np.ndarray:
        return installation_base_stock(state, params, np.minimum(actions, self.max_order))

    def _mixed_orders(
        self, actions: np.ndarray, state: State, params: CoreParams, fixed: np.ndarray, free: np.ndarray
    ) -> np.ndarray:
        return installation_base_stock(state, params, np.minimum(actions, self.max_order), fixed=fixed)


class EchelonTarget(DiscreteOrder):
    """Order up to an echelon base-stock level chosen from 0..max_order on the echelon position IP^e."""

    name = "echelon_target"

    def _orders(self, actions: np.ndarray, state: State, params: CoreParams) -> np.ndarray:
        return order_up_to(actions, echelon_inventory_position(state, params))


TARGET_FORMS = (TargetLevel.name, ContinuousTarget.name, EchelonTarget.name)
"""The forms whose action is a base-stock level (bounded by ``max_target``), not an order."""

ACTION_FORMS: dict[str, type[ActionForm]] = {
    DiscreteOrder.name: DiscreteOrder,
    ContinuousOrder.name: ContinuousOrder,
    DemandPlus.name: DemandPlus,
    TargetLevel.name: TargetLevel,
    ContinuousTarget.name: ContinuousTarget,
    EchelonTarget.name: EchelonTarget,
}


def make_action_form(
    form: str, scenario: Scenario, max_order: float | Sequence[float] | None = None, max_adjust: int = 2,
    uniform: bool = False, clip: bool = False,
) -> ActionForm:
    """Build the named action form for a scenario (options: module docstring); bad names or bounds raise
    ValueError."""
    if form not in ACTION_FORMS:
        raise ValueError(f"action: must be one of {', '.join(ACTION_FORMS)} (got {form!r})")
    if max_order is None:
        if form in TARGET_FORMS:
            bound = default_max_target(scenario, echelon=form == EchelonTarget.name)
        else:
            bound = default_max_order(scenario)
    else:
        bound = np.broadcast_to(np.asarray(max_order, dtype=np.float64), (len(scenario.sites),)).copy()
        if not np.isfinite(bound).all() or (bound <= 0).any():
            raise ValueError(f"max_order: must be finite and > 0 (got {max_order!r})")
        if ACTION_FORMS[form].integral and (bound != np.floor(bound)).any():
            raise ValueError(f"max_order: must be whole numbers for action={form!r} (got {max_order!r})")
    if not isinstance(max_adjust, int) or isinstance(max_adjust, bool) or max_adjust < 1:
        raise ValueError(f"max_adjust: must be a whole number >= 1 (got {max_adjust!r})")
    return ACTION_FORMS[form](scenario.site_names, bound, max_adjust, uniform=uniform, clip=clip)
