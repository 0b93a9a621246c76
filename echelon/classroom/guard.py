"""Connections the classroom server holds: idle and slow ones closed, none able to lock players out.

uvicorn alone keeps a connection that never sends its request open for ever, so a few hundred idle or
dribbling sockets (a slowloris) could take every file descriptor and lock every player out. Here each
connection goes through :class:`ConnectionGuard`:

- a new connection must send its whole request head within :data:`HEAD_SECONDS`, else it is closed (a
  connection kept alive after a response is uvicorn's: closed after its keep-alive timeout);
- one address holds at most ``per_client`` connections (:data:`PER_CLIENT`); at the cap a new one
  closes that address's oldest connection still waiting for its request, or is itself refused;
- all together at most ``total`` (the descriptor limit less :data:`RESERVE`); at the cap a new one
  closes the oldest connection anywhere still waiting for its request, or is itself refused. An idle
  socket can never keep a player's out: the player's connection takes its place.

The per-address cap is not applied to loopback addresses: a reverse proxy on this computer
(``--public-url``) brings every client from there, as does a load test (``echelon speed --classroom``);
the total cap still holds for them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 10.0
"""Seconds a new connection has to send its request line and headers."""
PER_CLIENT = 100
"""Open connections one address may hold (a class behind one NAT address: two or three per phone)."""
RESERVE = 96
"""Descriptors kept free of connections: the database, files, and a burst of accepts (the listen backlog)."""
BACKLOG = 64
"""The listen backlog (asyncio accepts up to this many connections at once, before any is guarded)."""


def raise_descriptor_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (at most 65,536); returns the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted if soft == resource.RLIM_INFINITY else soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        return soft
    return wanted


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConnectionGuard:
    """The open connections, by address, in the order they came (module docstring)."""

    def __init__(self, total: int, per_client: int = PER_CLIENT, head_seconds: float = HEAD_SECONDS) -> None:
        self.total, self.per_client, self.head_seconds = max(total, 8), per_client, head_seconds
        self.open: dict[Any, GuardedH11] = {}  # transport -> its first protocol, oldest first
        self.closed_idle = self.refused = 0

    def _sweep(self) -> None:
        for transport in [t for t in self.open if t.is_closing()]:
            del self.open[transport]

    def _evict(self, host: str | None) -> bool:
        """Close the oldest connection (of ``host``, or anyone's) still waiting for its request."""
        for transport, protocol in self.open.items():
            if (host is None or protocol.host == host) and protocol.waiting:
                transport.close()
                del self.open[transport]
                self.closed_idle += 1
                return True
        return False

    def admit(self, protocol: GuardedH11) -> bool:
        """Take a new connection in (closing an idle one to make room), or refuse it (False)."""
        self._sweep()
        host = protocol.host
        if host is not None and not _loopback(host):
            mine = sum(1 for p in self.open.values() if p.host == host)
            if mine >= self.per_client and not self._evict(host):
                self.refused += 1
                return False
        if len(self.open) >= self.total and not self._evict(None):
            self.refused += 1
            return False
        self.open[protocol.transport] = protocol
        return True

    def deadline(self, protocol: GuardedH11) -> None:
        """Close ``protocol``'s connection if it has not sent its request head by now."""
        if protocol.waiting and not protocol.transport.is_closing():
            protocol.transport.close()
            self.closed_idle += 1


class GuardedH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with every connection admitted by the class's :attr:`guard`."""

    guard: ConnectionGuard

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.admit(self):
            transport.close()
            return
        self.loop.call_later(self.guard.head_seconds, self.guard.deadline, self)

    @property
    def host(self) -> str | None:
        return self.client[0] if self.client else None

    @property
    def waiting(self) -> bool:
        """No request head received yet (not upgraded to a websocket, no request started)."""
        return self.cycle is None and self.transport.get_protocol() is self


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11]:
    """The protocol class for ``uvicorn.run(http=...)``, bound to ``guard``."""
    return type("ClassroomHTTP", (GuardedH11,), {"guard": guard})
