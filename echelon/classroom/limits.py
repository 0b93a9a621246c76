"""Rates the classroom server allows: socket messages, join attempts per address and new seats per game.

Each limit is a token bucket (Tanenbaum & Wetherall, *Computer Networks*, 5th ed., 5.4.2): it holds at most
``burst`` tokens, refilled at ``rate`` a second; a request takes one token or is refused. Joining is limited
twice, because the join code is the only secret a player needs:

- **per address** (:data:`JOIN_PER_MINUTE` attempts a minute, the same as a burst), counting every
  ``/api/join`` and ``/api/lookup``, refused or not: one student's script cannot try join codes by the
  thousand, nor take a game's seats faster than the teacher can kick them. A class behind one school NAT
  address shares the bucket, so the burst is a class's worth of joins (a page load asks for the code's
  teams once, and a join is one request);
- **per game** (the same number of new seats a minute): a flood from many addresses takes seats no faster.

Behind a reverse proxy on this computer the address is the one the proxy forwards (uvicorn reads
``X-Forwarded-For`` from loopback only). ``echelon classroom --join-limit N`` changes the number, 0 turns
both limits off (a load test joining hundreds of players from one address).
"""

from __future__ import annotations

import time
from collections.abc import Callable

JOIN_PER_MINUTE = 120
"""Join attempts one address may make a minute, and new seats one game may fill a minute (bursts as large)."""
MAX_TRACKED = 10_000
"""Most addresses (or games) whose buckets are kept; beyond, full buckets are forgotten first."""


class Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` at once (it starts full)."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = float(burst), clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def take(self) -> bool:
        """Take a token if there is one."""
        self._refill()
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def refund(self) -> None:
        """Give a token back (a request that turned out not to count)."""
        self.tokens = min(self.burst, self.tokens + 1)

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst

    def wait(self) -> float:
        """Seconds until the next token."""
        self._refill()
        return max(0.0, (1 - self.tokens) / self.rate)


class Buckets:
    """One bucket per key (an address, a game), made on first use; at most :data:`MAX_TRACKED` kept."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self.buckets: dict[str, Bucket] = {}

    def take(self, key: str) -> float | None:
        """None if ``key`` may go on (a token taken), else the seconds to wait. A limit of 0: no limit."""
        if self.per_minute == 0:
            return None
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= MAX_TRACKED:
                self.buckets = {k: b for k, b in self.buckets.items() if not b.full}
            if len(self.buckets) >= MAX_TRACKED:  # every one in use: the oldest made goes
                self.buckets.pop(next(iter(self.buckets)))
            bucket = self.buckets[key] = Bucket(self.per_minute / 60.0, self.per_minute, self.clock)
        return None if bucket.take() else bucket.wait()

    def refund(self, key: str) -> None:
        if key in self.buckets:
            self.buckets[key].refund()

    def forget(self, key: str) -> None:
        self.buckets.pop(key, None)
