"""Sums and gathers over a supply tree's sites, in time linear in the number of sites.

The core needs five operations on ``[B, S]`` arrays (B copies, S sites, sites listed downstream
first so every supplier comes after its customers):

- :meth:`SiteGraph.of_supplier`: each site's value of its supplier (``x[:, supplier[c]]``);
- :meth:`SiteGraph.to_suppliers`: each site's sum over its customers (what it ships, is owed, ...);
- :meth:`SiteGraph.group_total`: each site's sum over its supplier's customers, itself included;
- :meth:`SiteGraph.before`: each site's sum over the customers its supplier serves before it
  (priority, then index);
- :meth:`SiteGraph.echelon`: each site's sum over its subtree, itself and everything downstream
  (the echelon quantities of Clark & Scarf 1960).

As dense ``[S, S]`` 0/1 matrices these are O(S^2) per period and call BLAS, which starts threads
of its own above a size (on two busy cores a 65-site network ran up to 50x slower). Here they are
gathers, ``np.add.reduceat`` segment sums over customers sorted by supplier, and one cumulative sum:
O(B x S) work and no BLAS. Networks of at most :data:`DENSE_MAX` sites keep the dense products,
which are cheapest on tiny arrays and give the exact sums of earlier releases bit for bit; for
them BLAS is held to one thread (:func:`pin_blas`, with threadpoolctl, which works whatever was
imported first; ``ECHELON_BLAS_THREADS=N`` sets another number, ``0`` leaves BLAS alone).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache, cached_property

import numpy as np

from echelon.envs.errors import ConfigError

DENSE_MAX = 16
"""Largest network that uses dense products (cheaper below this size, and bit-identical to before)."""


BLAS_THREADS_ENV = "ECHELON_BLAS_THREADS"


@cache
def pin_blas() -> int:
    """Hold NumPy's BLAS to one thread (or ``$ECHELON_BLAS_THREADS``; 0: leave it) for this process, once.

    The dense products are on ``[B, 16]`` arrays at most: threads cost more than they save there, and
    on a busy machine they made the core up to 50x slower. Returns the number set (0: untouched)."""
    text = os.environ.get(BLAS_THREADS_ENV, "1")
    try:
        threads = int(text)
    except ValueError:
        raise ConfigError(f"{BLAS_THREADS_ENV}: expected a whole number of threads (got {text!r})") from None
    if threads < 0:
        raise ConfigError(f"{BLAS_THREADS_ENV}: must be >= 0 (got {text!r})")
    if threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")
    return threads


class SiteGraph:
    """The supply tree of a scenario as index arrays (module docstring)."""

    def __init__(self, supplier: np.ndarray, priority: Sequence[int]) -> None:
        supplier = np.asarray(supplier, dtype=np.int64)
        n = len(supplier)
        self.n = n
        self.supplier = supplier
        self.dense = n <= DENSE_MAX
        if self.dense:
            pin_blas()
        internal = np.flatnonzero(supplier >= 0)
        rank = np.asarray(priority, dtype=np.int64)
        # customers of each internal supplier, consecutive, in service order (priority, then index)
        order = internal[np.lexsort((internal, rank[internal], supplier[internal]))]
        grouped = supplier[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if order.size else np.zeros(0, np.int64)
        self._order = order
        self._starts = starts
        self._group_supplier = grouped[starts] if order.size else np.zeros(0, np.int64)
        counts = np.diff(np.r_[starts, order.size])
        self._group_of = np.repeat(np.arange(len(starts)), counts)  # of each entry of _order
        self._gather = np.where(supplier >= 0, supplier, np.arange(n))  # outside-supplied sites: themselves
        self._outside = np.flatnonzero(supplier < 0)
        self._levels = self._height_levels()

    def _height_levels(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Sites with an internal supplier by height (0: no customers), each level sorted by supplier:
        (sites, segment starts, their suppliers), for :meth:`echelon`."""
        height = np.zeros(self.n, dtype=np.int64)
        for c in range(self.n):  # customers come before their suppliers, so a site's height is final here
            s = self.supplier[c]
            if s >= 0 and height[c] + 1 > height[s]:
                height[s] = height[c] + 1
        self.by_height = [np.flatnonzero(height == h) for h in range(int(height.max()) + 1 if self.n else 0)]
        """Every site by height (0: no customers), lowest first: a site's customers are all in earlier groups."""
        levels = []
        for h in range(int(height.max()) + 1 if self.n else 0):
            sites = np.flatnonzero((height == h) & (self.supplier >= 0))
            if not sites.size:
                continue
            sites = sites[np.argsort(self.supplier[sites], kind="stable")]
            sup = self.supplier[sites]
            starts = np.flatnonzero(np.r_[True, sup[1:] != sup[:-1]])
            levels.append((sites, starts, sup[starts]))
        return levels

    @property
    def service_order(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sites with an internal supplier grouped by supplier, each group in service order (priority,
        then index): (sites, each group's first position, each site's group), for other back ends."""
        return self._order, self._starts, self._group_of

    @property
    def levels(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The sites with an internal supplier by height, leaves first: (sites sorted by supplier, segment
        starts, their suppliers), the order in which :meth:`echelon` sums subtrees."""
        return self._levels

    # ------------------------------------------------------------------ dense forms (small networks, tests)
    @cached_property
    def feeds(self) -> np.ndarray:
        """``[S, S]``: 1 at (c, s) if internal site s supplies c."""
        m = np.zeros((self.n, self.n))
        internal = np.flatnonzero(self.supplier >= 0)
        m[internal, self.supplier[internal]] = 1.0
        return m

    @cached_property
    def siblings(self) -> np.ndarray:
        """``[S, S]``: 1 at (c2, c) if c2 and c share an internal supplier; an outside-supplied site alone."""
        m = self.feeds @ self.feeds.T
        m[self._outside, self._outside] = 1.0
        return m

    @cached_property
    def ahead(self) -> np.ndarray:
        """``[S, S]``: 1 at (c2, c) if the same internal supplier serves c2 before c."""
        m = np.zeros((self.n, self.n))
        for g in range(len(self._starts)):
            members = self._order[self._group_of == g]  # in service order
            for i, c in enumerate(members):
                m[members[:i], c] = 1.0
        return m

    @cached_property
    def selects(self) -> np.ndarray:
        """``[S, S]``: 1 at (s, c) if internal site s supplies c (``feeds`` transposed, contiguous)."""
        return np.ascontiguousarray(self.feeds.T)

    @cached_property
    def subtree(self) -> np.ndarray:
        """``[S, S]``: 1 at (k, j) if k is j or downstream of j (echelon membership)."""
        m = np.zeros((self.n, self.n))
        k = np.arange(self.n)
        m[k, k] = 1.0
        up = self.supplier.copy()
        while (up >= 0).any():
            has = up >= 0
            m[k[has], up[has]] = 1.0
            up = np.where(has, self.supplier[np.maximum(up, 0)], -1)
        return m

    # ------------------------------------------------------------------ the operations
    def of_supplier(self, x: np.ndarray, outside: np.ndarray) -> np.ndarray:
        """Each site's supplier's value; ``outside`` (a ``[1, S]`` row, 0 at internal lanes) is added,
        so a site supplied from outside gets ``x`` of itself + ``outside`` (inf: unlimited stock)."""
        if self.dense:
            return np.dot(x, self.selects) + outside
        return x[:, self._gather] * self._internal_row + outside

    @cached_property
    def _internal_row(self) -> np.ndarray:
        return (self.supplier >= 0).astype(np.float64).reshape(1, -1)

    def to_suppliers(self, x: np.ndarray) -> np.ndarray:
        """Each site's sum of ``x`` over its customers (0 for a site with none)."""
        if self.dense:
            return np.dot(x, self.feeds)
        out = np.zeros_like(x)
        if self._order.size:
            out[:, self._group_supplier] = np.add.reduceat(x[:, self._order], self._starts, axis=1)
        return out

    def group_total(self, x: np.ndarray) -> np.ndarray:
        """Each site's sum of ``x`` over its supplier's customers (itself only if supplied from outside)."""
        if self.dense:
            return np.dot(x, self.siblings)
        out = x.copy()
        if self._order.size:
            sums = np.add.reduceat(x[:, self._order], self._starts, axis=1)
            out[:, self._order] = sums[:, self._group_of]
        return out

    def before(self, x: np.ndarray) -> np.ndarray:
        """Each site's sum of ``x`` over the customers its supplier serves before it (0 if first)."""
        if self.dense:
            return np.dot(x, self.ahead)
        out = np.zeros_like(x)
        if self._order.size:
            xs = x[:, self._order]
            done = np.cumsum(xs, axis=1) - xs  # served before, counting from the first group
            out[:, self._order] = done - done[:, self._starts][:, self._group_of]
        return out

    def echelon(self, x: np.ndarray) -> np.ndarray:
        """Each site's sum of ``x`` over its subtree: itself and every site downstream of it."""
        if self.dense:
            return x @ self.subtree
        out = np.array(x, dtype=np.float64, copy=True)
        for sites, starts, suppliers in self._levels:  # leaves first, so each customer's sum is complete
            out[:, suppliers] += np.add.reduceat(out[:, sites], starts, axis=1)
        return out

    def customers(self, site: int, among: np.ndarray | None = None) -> np.ndarray:
        """Indices of ``site``'s customers (``among``: only those where the boolean ``[S]`` mask is set)."""
        found = np.flatnonzero(self.supplier == site)
        return found if among is None else found[among[found]]
