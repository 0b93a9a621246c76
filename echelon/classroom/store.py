"""The classroom's state on disk: one SQLite file, the log every game is rebuilt from.

Nothing of a game's state is stored but its settings and the orders placed:
the simulation is deterministic given the scenario, the seed and the orders,
so a restarted server replays each team's orders through the env and is
exactly where it was (:meth:`echelon.classroom.session.Classroom.load`). Every
accepted order is committed (``synchronous=FULL``, write-ahead log) before the
player is told it was accepted; the primary key (game, team, week, site)
makes a second order for the same seat and week impossible.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from echelon.envs.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS server (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS games (
    id TEXT PRIMARY KEY, code TEXT UNIQUE NOT NULL, settings TEXT NOT NULL,
    status TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS seats (
    token TEXT PRIMARY KEY, game TEXT NOT NULL, team INTEGER NOT NULL, site TEXT NOT NULL,
    name TEXT NOT NULL, joined REAL NOT NULL, UNIQUE (game, team, site));
CREATE TABLE IF NOT EXISTS clients (
    game TEXT NOT NULL, client TEXT NOT NULL, token TEXT NOT NULL, PRIMARY KEY (game, client));
CREATE TABLE IF NOT EXISTS orders (
    game TEXT NOT NULL, team INTEGER NOT NULL, week INTEGER NOT NULL, site TEXT NOT NULL,
    quantity INTEGER NOT NULL, source TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (game, team, week, site));
"""
"""Tables: ``server`` (the teacher's token), ``games`` (settings as JSON; status lobby, running, paused or
over), ``seats`` (a player's unguessable token and seat), ``clients`` (the seat a browser took in a game, so
that joining twice from it returns the same seat), ``orders`` (every order placed, by a player, by
the seat's bot, or by the bot when the week timed out)."""


@dataclass(frozen=True)
class OrderRow:
    team: int
    week: int
    site: str
    quantity: int
    source: str  # 'player', 'bot' (an empty seat) or 'timeout' (a seated player who did not order in time)


class Store:
    """The SQLite file; every write is one committed transaction."""

    def __init__(self, path: str | Path, read_only: bool = False):
        """Open (or create) the file; ``read_only`` opens an existing one without writing to it.

        Raises :class:`~echelon.envs.errors.ConfigError` if the file is not a classroom database."""
        self.path = str(path)
        where = Path(path)
        if read_only and not where.is_file():
            raise ConfigError(f"{path}: no such classroom database")
        ours = {"server", "games", "seats", "orders"}
        try:
            if read_only:
                self.db = sqlite3.connect(f"{where.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                          check_same_thread=False)
            else:
                # explicit transactions below; one event loop uses the connection, whichever thread runs it
                self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and not ours <= tables or read_only and not tables:  # another program's file: untouched
                self.db.close()
                raise ConfigError(f"{path}: not a classroom database (it has other tables)")
            if not read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
                self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{path}: not a classroom database ({exc})") from None

    def close(self) -> None:
        self.db.close()

    def _write(self, sql: str, *rows: tuple[Any, ...]) -> None:
        with self.db:  # BEGIN ... COMMIT (or ROLLBACK on an error)
            self.db.execute("BEGIN IMMEDIATE")
            for row in rows:
                self.db.execute(sql, row)

    # ------------------------------------------------------------------ server
    def setting(self, key: str, default: str) -> str:
        """A server-wide value, stored the first time it is asked for (the teacher token survives restarts)."""
        row = self.db.execute("SELECT value FROM server WHERE key = ?", (key,)).fetchone()
        if row is None:
            self._write("INSERT INTO server (key, value) VALUES (?, ?)", (key, default))
            return default
        return str(row[0])

    # ------------------------------------------------------------------ games
    def add_game(self, game_id: str, code: str, settings: dict[str, Any]) -> None:
        self._write("INSERT INTO games (id, code, settings, status, created) VALUES (?, ?, ?, 'lobby', ?)",
                    (game_id, code, json.dumps(settings), time.time()))

    def set_status(self, game_id: str, status: str) -> None:
        self._write("UPDATE games SET status = ? WHERE id = ?", (status, game_id))

    def games(self) -> list[tuple[str, str, dict[str, Any], str]]:
        """Every game: (id, join code, settings, status), oldest first."""
        rows = self.db.execute("SELECT id, code, settings, status FROM games ORDER BY created").fetchall()
        return [(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    # ------------------------------------------------------------------ seats
    def add_seat(self, token: str, game_id: str, team: int, site: str, name: str, client: str | None = None) -> None:
        """A new seat, and the browser that took it (one transaction: a seat is never stored without it)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT INTO seats (token, game, team, site, name, joined) VALUES (?, ?, ?, ?, ?, ?)",
                            (token, game_id, team, site, name, time.time()))
            if client is not None:
                self.db.execute("INSERT INTO clients (game, client, token) VALUES (?, ?, ?)", (game_id, client, token))

    def free_seat(self, token: str) -> None:
        """Delete a seat (the teacher freed it) and the browser's claim on it; its orders stay."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM seats WHERE token = ?", (token,))
            self.db.execute("DELETE FROM clients WHERE token = ?", (token,))

    def rename_seat(self, token: str, name: str) -> None:
        self._write("UPDATE seats SET name = ? WHERE token = ?", (name, token))

    def clients(self, game_id: str) -> dict[str, str]:
        """The seats browsers took in a game: client id -> seat token (none in a file from before clients)."""
        known = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'clients'").fetchone()
        if known is None:
            return {}
        return dict(self.db.execute("SELECT client, token FROM clients WHERE game = ?", (game_id,)).fetchall())

    def seats(self, game_id: str) -> list[tuple[str, int, str, str]]:
        """A game's seats: (token, team, site, name)."""
        return [tuple(r) for r in self.db.execute(
            "SELECT token, team, site, name FROM seats WHERE game = ? ORDER BY joined", (game_id,))]

    # ------------------------------------------------------------------ orders
    def add_orders(self, game_id: str, rows: list[OrderRow]) -> None:
        """Commit orders (one transaction); a second order for a seat and week raises IntegrityError."""
        now = time.time()
        self._write("INSERT INTO orders (game, team, week, site, quantity, source, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    *[(game_id, r.team, r.week, r.site, r.quantity, r.source, now) for r in rows])

    def orders(self, game_id: str) -> list[OrderRow]:
        """A game's orders by team, week and placing time."""
        rows = self.db.execute("SELECT team, week, site, quantity, source FROM orders WHERE game = ? "
                               "ORDER BY team, week, at, rowid", (game_id,))
        return [OrderRow(*r) for r in rows]
