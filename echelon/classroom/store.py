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
    status TEXT NOT NULL, created REAL NOT NULL, archived INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS seats (
    token TEXT PRIMARY KEY, game TEXT NOT NULL, team INTEGER NOT NULL, site TEXT NOT NULL,
    name TEXT NOT NULL, joined REAL NOT NULL, auto INTEGER NOT NULL DEFAULT 0, UNIQUE (game, team, site));
CREATE TABLE IF NOT EXISTS players (token TEXT PRIMARY KEY, game TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clients (
    game TEXT NOT NULL, client TEXT NOT NULL, token TEXT NOT NULL, PRIMARY KEY (game, client));
CREATE TABLE IF NOT EXISTS orders (
    game TEXT NOT NULL, team INTEGER NOT NULL, week INTEGER NOT NULL, site TEXT NOT NULL,
    quantity INTEGER NOT NULL, source TEXT NOT NULL, at REAL NOT NULL, seat TEXT,
    PRIMARY KEY (game, team, week, site));
"""
"""Tables: ``server`` (the teacher's token), ``games`` (settings as JSON; status lobby, running, paused or
over; ``archived`` when the teacher filed it away), ``seats`` (a player's unguessable token and seat;
``auto`` when the teacher handed it to the bot), ``players`` (every seat token's name, kept when the seat
is freed: the debrief credits each week to who ordered it), ``clients`` (the seat a browser took in a
game, so that joining twice from it returns the same seat), ``orders`` (every order placed, by a player
(``seat``: their token), by the seat's bot, or by the bot when the week timed out)."""

ADDED = {"seats": ("auto", "INTEGER NOT NULL DEFAULT 0"), "orders": ("seat", "TEXT"),
         "games": ("archived", "INTEGER NOT NULL DEFAULT 0")}
"""Columns added since the first classroom files: a file without them gets them when opened for writing
(and is read as if they held their defaults when opened read-only)."""


@dataclass(frozen=True)
class OrderRow:
    team: int
    week: int
    site: str
    quantity: int
    source: str  # 'player', 'bot' (an empty seat) or 'timeout' (a seated player who did not order in time)
    seat: str | None = None  # the token of the player who ordered ('player' rows of files from before: None)


class Store:
    """The SQLite file; every write is one committed transaction."""

    def __init__(self, path: str | Path, read_only: bool = False):
        """Open (or create) the file; ``read_only`` opens an existing one without writing to it.

        Raises :class:`~echelon.envs.errors.ConfigError` if the file is not a classroom database."""
        self.path = str(path)
        where = Path(path)
        if read_only and not where.is_file():
            raise ConfigError(f"{path}: no such classroom database")
        ours = {"server", "games", "seats", "orders"}  # (players and clients came later)
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
                for table, (column, kind) in ADDED.items():
                    if column not in self._columns(table):
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                self.db.execute("INSERT OR IGNORE INTO players SELECT token, game, name FROM seats")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{path}: not a classroom database ({exc})") from None

    def close(self) -> None:
        self.db.close()

    def _columns(self, table: str) -> set[str]:
        return {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}

    def _has(self, table: str) -> bool:
        return self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() \
            is not None

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

    def set_settings(self, game_id: str, settings: dict[str, Any]) -> None:
        self._write("UPDATE games SET settings = ? WHERE id = ?", (json.dumps(settings), game_id))

    def set_archived(self, game_id: str, archived: bool) -> None:
        self._write("UPDATE games SET archived = ? WHERE id = ?", (int(archived), game_id))

    def games(self) -> list[tuple[str, str, dict[str, Any], str, float, bool]]:
        """Every game: (id, join code, settings, status, created (Unix time), archived), oldest first."""
        archived = "archived" if "archived" in self._columns("games") else "0"
        rows = self.db.execute(f"SELECT id, code, settings, status, created, {archived} FROM games "
                               "ORDER BY created").fetchall()
        return [(r[0], r[1], json.loads(r[2]), r[3], r[4], bool(r[5])) for r in rows]

    def delete_game(self, game_id: str) -> None:
        """Delete a game and everything of it (one transaction)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            for table in ("orders", "seats", "players", "clients"):
                if self._has(table):
                    self.db.execute(f"DELETE FROM {table} WHERE game = ?", (game_id,))  # noqa: S608 - our names
            self.db.execute("DELETE FROM games WHERE id = ?", (game_id,))

    # ------------------------------------------------------------------ seats
    def add_seat(self, token: str, game_id: str, team: int, site: str, name: str, client: str | None = None) -> None:
        """A new seat, and the browser that took it (one transaction: a seat is never stored without it)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT INTO seats (token, game, team, site, name, joined) VALUES (?, ?, ?, ?, ?, ?)",
                            (token, game_id, team, site, name, time.time()))
            self.db.execute("INSERT INTO players (token, game, name) VALUES (?, ?, ?)", (token, game_id, name))
            if client is not None:
                self.db.execute("INSERT INTO clients (game, client, token) VALUES (?, ?, ?)", (game_id, client, token))

    def free_seat(self, token: str) -> None:
        """Delete a seat (the teacher freed it) and the browser's claim on it; its orders stay."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM seats WHERE token = ?", (token,))
            self.db.execute("DELETE FROM clients WHERE token = ?", (token,))

    def rename_seat(self, token: str, name: str) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE seats SET name = ? WHERE token = ?", (name, token))
            self.db.execute("UPDATE players SET name = ? WHERE token = ?", (name, token))

    def move_seat(self, token: str, team: int, site: str) -> None:
        self._write("UPDATE seats SET team = ?, site = ? WHERE token = ?", (team, site, token))

    def set_auto(self, token: str, auto: bool) -> None:
        """Hand a seat to the bot (``auto``) or give it back to its player."""
        self._write("UPDATE seats SET auto = ? WHERE token = ?", (int(auto), token))

    def clients(self, game_id: str) -> dict[str, str]:
        """The seats browsers took in a game: client id -> seat token (none in a file from before clients)."""
        if not self._has("clients"):
            return {}
        return dict(self.db.execute("SELECT client, token FROM clients WHERE game = ?", (game_id,)).fetchall())

    def seats(self, game_id: str) -> list[tuple[str, int, str, str, bool]]:
        """A game's seats: (token, team, site, name, handed to the bot)."""
        auto = "auto" if "auto" in self._columns("seats") else "0"
        return [(r[0], r[1], r[2], r[3], bool(r[4])) for r in self.db.execute(
            f"SELECT token, team, site, name, {auto} FROM seats WHERE game = ? ORDER BY joined", (game_id,))]

    def players(self, game_id: str) -> dict[str, str]:
        """The name of every seat token the game has had, freed seats included."""
        if not self._has("players"):
            return {}
        return dict(self.db.execute("SELECT token, name FROM players WHERE game = ?", (game_id,)).fetchall())

    # ------------------------------------------------------------------ orders
    def add_orders(self, game_id: str, rows: list[OrderRow]) -> None:
        """Commit orders (one transaction); a second order for a seat and week raises IntegrityError."""
        now = time.time()
        self._write("INSERT INTO orders (game, team, week, site, quantity, source, at, seat) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    *[(game_id, r.team, r.week, r.site, r.quantity, r.source, now, r.seat) for r in rows])

    def orders(self, game_id: str) -> list[OrderRow]:
        """A game's orders by team, week and placing time."""
        seat = "seat" if "seat" in self._columns("orders") else "NULL"
        rows = self.db.execute(f"SELECT team, week, site, quantity, source, {seat} FROM orders WHERE game = ? "
                               "ORDER BY team, week, at, rowid", (game_id,))
        return [OrderRow(*r) for r in rows]
