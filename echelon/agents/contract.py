"""Aligned selfish sites: linear transfer payments that make the team optimum a Nash equilibrium.

Cachon & Zipkin (1999, §6), "Competitive and cooperative inventory policies in
a two-stage supply chain", Management Science 45(7), show that simple linear
transfer payments between the retailer and the supplier, per unit of the
retailer's consumer backorders, of the supplier's backorders to the retailer
and (echelon game) of the retailer's stock, make the team-optimal base-stock
levels a Nash equilibrium: selfish sites then choose what the team would. The
payments move money between sites, so the team's cost is unchanged.

On every internal lane (supplier u, customer c) Echelon's :class:`Contract` has:

* ``backorder[c]``: c pays u per unit of c's consumer backlog. It is set to
  (1 - alpha) p_c, so the customer-facing site bears its whole consumer
  backorder cost p_c again, as the team does;
* ``late[c]``: u pays c per unit u owes c (u's backorders to c), the price of
  the delay u's stock-outs cause downstream;
* ``stock[c]``: u pays c per unit on hand at c (echelon game only: there c's
  level moves stock out of u's warehouse into c's).

Cachon & Zipkin derive their coefficients from first-order conditions of
continuous costs. Levels here are whole units and costs are simulated, so the
coefficients are computed as what those conditions become: every site's own
cost must not fall when it moves its team-optimal level one unit either way,
which is linear in the coefficients. Among the coefficients that satisfy it the
payments maximise the smallest such margin (an exact small linear programme,
solved by enumerating its vertices), with common random numbers throughout.
The local game needs one ``late`` price per supplier; the echelon game a
``late`` and a ``stock`` price per lane.

:func:`align` then checks the claim instead of assuming it: from the selfish
equilibrium without payments, best-response iteration under the payments must
end at the team's levels, where no site gains by a one-unit move on fresh
episodes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from echelon.agents.nash import FEATURES, Game, half_width
from echelon.envs.errors import ConfigError

MOVES = (-8.0, -4.0, -2.0, -1.0, 1.0, 2.0, 4.0, 8.0)  # the moves (units) a site must not gain by
MAX_VERTICES = 400_000  # bound on the linear programme's vertex enumeration
_BACKLOG, _OWED, _ON_HAND = (FEATURES.index(f) for f in ("backlog", "owed", "on_hand"))


@dataclass(frozen=True)
class Contract:
    """Per-period linear transfer payments on each internal lane, ``[S]`` each and indexed by the customer c
    (module docstring); zero on sites with an outside supplier."""

    backorder: np.ndarray  # c pays its supplier, per unit of c's consumer backlog
    late: np.ndarray  # the supplier pays c, per unit it owes c
    stock: np.ndarray  # c pays its supplier, per unit on hand at the supplier

    def weights(self, game: Game) -> np.ndarray:
        """The game's own-cost weights with these payments added (``[F * S, S]``)."""
        weights = game.weights.copy()
        for c in np.flatnonzero(game.supplier >= 0):
            for name, basis in _terms(game, c).items():
                weights += getattr(self, name)[c] * basis
        return weights

    def describe(self, names: tuple[str, ...], supplier: np.ndarray) -> list[str]:
        """One line per payment, in words."""
        lines = []
        for c, u in enumerate(supplier):
            if u < 0:
                continue
            if self.backorder[c]:
                lines.append(f"{names[c]} pays {names[u]} {self.backorder[c]:.3f} per unit of its customer backlog")
            if self.late[c]:
                lines.append(f"{names[u]} pays {names[c]} {self.late[c]:.3f} per unit it owes {names[c]}")
            if self.stock[c]:
                lines.append(f"{names[c]} pays {names[u]} {self.stock[c]:.3f} per unit on hand at {names[u]}")
        return lines


def lane(game: Game, block: int, at: int, payer: int, payee: int) -> np.ndarray:
    """``[F * S, S]`` weights of ``payer`` paying ``payee`` one per unit of feature ``block`` at site ``at``."""
    out = np.zeros((len(FEATURES) * game.n, game.n))
    out[block * game.n + at, payer] += 1.0
    out[block * game.n + at, payee] -= 1.0
    return out


def _terms(game: Game, c: int) -> dict[str, np.ndarray]:
    """The three payments of lane (supplier u, customer c), each per unit of its coefficient."""
    u = game.supplier[c]
    return {"backorder": lane(game, _BACKLOG, c, c, u), "late": lane(game, _OWED, c, u, c),
            "stock": lane(game, _ON_HAND, u, c, u)}


WEAK_TOLERANCE = 1e-9
"""An own-cost gain per period this close to zero, on common random numbers, is no gain: the move changes nothing."""


@dataclass(frozen=True)
class Alignment:
    """The payments, and the check that the selfish equilibrium under them is the team optimum."""

    contract: Contract
    margin: float  # the smallest in-sample own-cost rise of a site's move from its team level, per period
    team_levels: np.ndarray
    selfish_levels: np.ndarray  # equilibrium without payments
    aligned_levels: np.ndarray | None  # equilibrium under the payments, reached from the selfish one (if found)
    converged: bool  # the best-response iteration under the payments stopped (no site moved in a round)
    resolution: np.ndarray  # [S] how close two levels are the same (exact whole units; 2% for continuous demand)
    team_cost: float  # fresh episodes: at the team levels
    selfish_cost: float  # ... at the selfish equilibrium
    aligned_cost: float | None  # ... at the aligned equilibrium
    half_width: float  # 95% CI of selfish_cost
    payments: dict[str, float]  # mean transfer per period at the team levels, "u -> c": u pays c (negative: c pays u)
    deviations: dict[str, tuple[float, float]]  # under the payments at the team levels, fresh episodes
    selfish_deviations: dict[str, tuple[float, float]]  # without payments at the selfish levels, fresh episodes

    @property
    def weak_sites(self) -> list[str]:
        """Sites that lose nothing by moving from the selfish equilibrium: their best one-unit move leaves their
        own cost unchanged on every episode (a gain of zero within :data:`WEAK_TOLERANCE`). Any such site makes
        the equilibrium weak: the site is indifferent, and another level of it is an equilibrium too."""
        return [site for site, (gain, _) in self.selfish_deviations.items() if abs(gain) <= WEAK_TOLERANCE]

    @property
    def unresolved_sites(self) -> list[str]:
        """Sites not weak whose best move's gain is not surely negative: its 95% interval reaches 0 (more
        episodes would tell whether they strictly prefer their level)."""
        return [site for site, (gain, half) in self.selfish_deviations.items()
                if site not in self.weak_sites and gain + half >= 0]

    @property
    def found(self) -> bool:
        """Payments of this form exist that make every move from the team levels cost the mover."""
        return self.margin > 0

    @property
    def reaches_team_optimum(self) -> bool:
        """From the selfish equilibrium, best responses under the payments end at the team levels."""
        return (self.aligned_levels is not None and self.converged
                and bool(np.all(np.abs(self.aligned_levels - self.team_levels) <= self.resolution)))

    @property
    def competition_penalty(self) -> float:
        return self.selfish_cost / self.team_cost

    def as_dict(self, names: tuple[str, ...]) -> dict:
        """Plain JSON-ready values, levels by site name."""
        def by_site(values: np.ndarray | None) -> dict[str, float] | None:
            return None if values is None else dict(zip(names, map(float, values), strict=True))

        return {
            "team_levels": by_site(self.team_levels), "selfish_levels": by_site(self.selfish_levels),
            "aligned_levels": by_site(self.aligned_levels), "team_cost": self.team_cost,
            "selfish_cost": self.selfish_cost, "selfish_cost_ci95": self.half_width,
            "competition_penalty": self.competition_penalty, "aligned_cost": self.aligned_cost,
            "payments_found": self.found, "margin": self.margin, "reaches_team_optimum": self.reaches_team_optimum,
            "prices": {name: by_site(getattr(self.contract, name)) for name in ("backorder", "late", "stock")},
            "mean_payments": self.payments,
            "deviations": {site: {"gain": g, "ci95": h} for site, (g, h) in self.deviations.items()},
            "selfish_deviations": {site: {"gain": g, "ci95": h, "weak": site in self.weak_sites,
                                          "unresolved": site in self.unresolved_sites}
                                   for site, (g, h) in self.selfish_deviations.items()},
            "weak_equilibrium": bool(self.weak_sites),
        }


def align(game: Game, team_levels: np.ndarray | None = None, selfish_levels: np.ndarray | None = None
          ) -> Alignment:
    """The payments of ``game`` and their check (module docstring); the team and selfish levels are found
    unless given."""
    team = game.team_levels() if team_levels is None else np.asarray(team_levels, dtype=np.float64)
    selfish = game.equilibrium(team)[0] if selfish_levels is None else np.asarray(selfish_levels, dtype=np.float64)
    contract, margin = payments_for(game, team)
    weights = contract.weights(game)
    aligned, converged = None, False
    if margin > 0:
        aligned, _, converged = game.equilibrium(selfish, weights)
    costs = game.team_costs(team, selfish, *([] if aligned is None else [aligned]))
    mean = game.features(team[None]).mean(axis=(0, 1))
    names = game.scenario.site_names
    paid = {}
    for c in np.flatnonzero(game.supplier >= 0):  # what the supplier pays the customer, per period
        u = game.supplier[c]
        paid[f"{names[u]} -> {names[c]}"] = float(sum(
            getattr(contract, name)[c] * mean @ basis[:, u] for name, basis in _terms(game, c).items()))
    return Alignment(
        contract=contract, margin=margin, team_levels=team, selfish_levels=selfish, aligned_levels=aligned,
        converged=converged, resolution=np.zeros(game.n) if game.integral else 0.02 * np.maximum(team, 1.0),
        team_cost=float(costs[0].mean()), selfish_cost=float(costs[1].mean()),
        aligned_cost=None if aligned is None else float(costs[2].mean()), half_width=half_width(costs[1]),
        payments=paid, deviations=game.deviations(team, weights), selfish_deviations=game.deviations(selfish),
    )


def payments_for(game: Game, team: np.ndarray) -> tuple[Contract, float]:
    """The prices that maximise the smallest own-cost rise of every site's :data:`MOVES` from ``team``, and
    that margin (per period; > 0: the team levels are an equilibrium under them, in sample)."""
    p = game.search.params.shortage_cost.ravel()
    facing = game.search.params.customer_facing.ravel()
    internal = [c for c in range(game.n) if game.supplier[c] >= 0]
    prices = {"backorder": np.array([(1 - game.share) * p[c] if facing[c] and c in internal else 0.0
                                     for c in range(game.n)]),
              "late": np.zeros(game.n), "stock": np.zeros(game.n)}
    unknowns = _unknowns(game, internal)
    moved = game.neighbours(team, MOVES)
    means = game.features(np.stack([team, *(row for _, row in moved)])).mean(axis=1)  # [1 + K, F * S]
    base = Contract(**prices).weights(game)
    a, g = [], []
    for i, (j, _) in enumerate(moved, start=1):
        diff = means[i] - means[0]
        g.append(diff @ base[:, j])
        a.append([diff @ basis[:, j] for _, basis in unknowns])
    bound = 2.0 * (float(p.max()) + float(game.search.params.holding_cost.sum()))
    try:
        x, margin = max_margin(np.array(a).reshape(len(g), len(unknowns)), np.array(g), bound)
    except ValueError as exc:
        raise ConfigError(f"{game.scenario.name}: {game.tracking} game: {exc}") from None
    for (cells, _), value in zip(unknowns, x, strict=True):
        for name, c in cells:
            prices[name][c] = value
    return Contract(**prices), margin


def _unknowns(game: Game, internal: list[int]) -> list[tuple[list[tuple[str, int]], np.ndarray]]:
    """The free prices: for each, the (payment, lane) cells it sets and its own-cost weights per unit of price."""
    names = ("late",) if game.tracking == "local" else ("late", "stock")
    groups = [[(name, c) for c in internal if game.supplier[c] == u]  # one price per supplier and payment
              for u in sorted({int(game.supplier[c]) for c in internal}) for name in names]
    return [(cells, sum(_terms(game, c)[name] for name, c in cells)) for cells in groups]


def max_margin(a: np.ndarray, g: np.ndarray, bound: float) -> tuple[np.ndarray, float]:
    """``max m`` subject to ``a @ x + g >= m`` (every row) and ``|x_k| <= bound``, and among its solutions
    the one with the smallest payments ``sum |x_k|``: two small linear programmes, each solved exactly by
    enumerating its vertices (the second's include the points where prices are zero).

    Raises ``ValueError`` when the vertices are more than :data:`MAX_VERTICES`.
    """
    rows, n = a.shape
    if n == 0:  # nothing to choose
        return np.zeros(0), float(g.min())
    box = np.vstack([np.eye(n), -np.eye(n)])
    # 1. z = (x, m): a x - m >= -g, |x| <= bound
    lhs = np.vstack([np.hstack([a, -np.ones((rows, 1))]), np.hstack([box, np.zeros((2 * n, 1))])])
    rhs = np.concatenate([-g, -bound * np.ones(2 * n)])
    best = _vertices(lhs, rhs, lhs, rhs)[:, -1].max()
    # 2. x: a x >= best - g, |x| <= bound; vertices also where some x_k = 0
    lhs, rhs = np.vstack([a, box]), np.concatenate([best - g - 1e-9 * (1 + abs(best)), -bound * np.ones(2 * n)])
    points = _vertices(lhs, rhs, np.vstack([lhs, np.eye(n)]), np.concatenate([rhs, np.zeros(n)]))
    pick = points[np.argmin(np.abs(points).sum(axis=1))]
    return pick, float((a @ pick + g).min())


def _vertices(lhs: np.ndarray, rhs: np.ndarray, planes: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The points of ``{z: lhs z >= rhs}`` where ``dim z`` of the hyperplanes ``planes z = levels`` meet."""
    dim = lhs.shape[1]
    if math.comb(len(planes), dim) > MAX_VERTICES:
        raise ValueError(f"aligned payments: too many unknown prices for the exact linear programme "
                         f"({math.comb(len(planes), dim)} vertices to try, at most {MAX_VERTICES})")
    combos = np.array(list(itertools.combinations(range(len(planes)), dim)))
    systems, targets = planes[combos], levels[combos]
    solvable = np.abs(np.linalg.det(systems)) > 1e-12
    z = np.linalg.solve(systems[solvable], targets[solvable][..., None])[..., 0]
    return z[(z @ lhs.T >= rhs - 1e-9 * (1 + np.abs(rhs))).all(axis=1)]
