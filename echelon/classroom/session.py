"""A class playing the beer game: games, teams, seats and weeks, with no web in it.

A team that nobody joined is not played.

Each team plays its own :class:`echelon.play.Table` (the PettingZoo AEC env,
the same rules as everything else); every team of a game faces the same
demand (one seed), so teams can be ranked. A week of a team runs when every
seated player has ordered; empty seats are played by the game's bot (Sterman's
rule, base-stock, or a trained run folder), and a seated player who has not
ordered within the teacher's timeout (or when the teacher forces the week) is
played by the bot for that week and can come back the next. The teacher manages seats: kick (free it
for the bot and another student), hand to the bot and give back, move, rename; a team none of whose seats
a student plays waits (the bot alone does not play on) until one does or the teacher forces.

Everything a client sends is checked here and refused with a
:class:`Refused` message that says why, leaving the state unchanged: the
seat comes from an unguessable token, an order must be for the team's open
week, a whole number in range, and one per seat and week. The state lives in
:class:`~echelon.classroom.store.Store`; :meth:`Classroom.load` rebuilds every
game from it by replaying the orders.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from echelon.agents.policy import Policy
from echelon.classroom.setup import Setup, scenario_of
from echelon.classroom.store import OrderRow, Store
from echelon.envs.errors import ConfigError
from echelon.envs.scenario import load_scenario
from echelon.envs.validation import check_model
from echelon.play import Game, Table, optimal_team_costs, others_spec

MAX_NAME = 40
"""Longest player name (characters)."""
MAX_TEAMS = 100
"""Most teams in one game."""
MAX_WEEKS = 520
"""Most weeks in one game (ten years of weekly orders; the beer game is played over 36 to 52): a new game
searches its optimal team's levels over every week, about 3 ms a week."""
MAX_TEAM_SITES = 16
"""Most sites (seats of a team) in a class game's scenario."""
MAX_SEAT_WEEKS = 40_000
"""Most seat-weeks (teams x sites x weeks) in one game, e.g. 100 teams of four playing 100 weeks: a
restarted server replays every team's weeks (about 0.06 ms a seat-week), so any game is rebuilt within a
few seconds."""
UNDO_END = 60.0
"""Seconds during which the teacher can undo *End the game*."""


class Refused(Exception):
    """A client's request that was not carried out; the message says why (state unchanged)."""


class GameSettings(BaseModel):
    """What the teacher chooses when creating a class game."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    scenario: Annotated[str, Field(min_length=1, max_length=500)] = "beer_game"
    """A built-in game (beer_game, beer_game_dqn, ...) or the path of a scenario YAML on the server."""
    teams: Annotated[int, Field(ge=1, le=MAX_TEAMS)] = 1
    """Number of teams; each has one seat per site."""
    weeks: Annotated[int, Field(ge=1, le=MAX_WEEKS)] = 36
    """Weeks to play (teams x sites x weeks at most :data:`MAX_SEAT_WEEKS`)."""
    seed: Annotated[int, Field(ge=0, lt=2**31)] = 0
    """Seed of the customer demand (every team faces the same demand)."""
    customer_demand: bool = False
    """Whether every player also sees last week's end-customer demand (else only the retailer does)."""
    bot: Annotated[str, Field(min_length=1, max_length=500)] = "sterman"
    """Who plays an empty seat, or a seat whose player did not order in time: a policy name (sterman,
    base_stock, pass_through, ...) or a training run folder on the server."""
    timeout: Annotated[float, Field(gt=0, le=86400)] | None = None
    """Seconds a week waits for a seated player before the bot orders in their place (none: wait)."""
    setup: Setup | None = None
    """Costs, delays, opening stock and demand changed from the game's own file (see
    :mod:`echelon.classroom.setup`)."""


def check_settings(raw: Any) -> GameSettings:
    """Validated settings, or :class:`Refused` with a one-line reason."""
    try:
        return GameSettings(**check_model(GameSettings, raw, "game", "game settings"))
    except ConfigError as exc:
        raise Refused(str(exc)) from None


def check_size(settings: GameSettings, sites: int) -> None:
    """Refuse a game beyond :data:`MAX_TEAM_SITES` sites or :data:`MAX_SEAT_WEEKS` seat-weeks."""
    if sites > MAX_TEAM_SITES:
        raise Refused(f"scenario: a class game has at most {MAX_TEAM_SITES} sites, one seat each (this one has "
                      f"{sites})")
    seat_weeks = settings.teams * sites * settings.weeks
    if seat_weeks > MAX_SEAT_WEEKS:
        raise Refused(f"teams x sites x weeks: at most {MAX_SEAT_WEEKS:,} seat-weeks in one game (got "
                      f"{settings.teams} x {sites} x {settings.weeks} = {seat_weeks:,}); fewer teams or weeks")


def check_problem(raw: Any) -> str:
    """Why stored settings are no longer valid settings (one line)."""
    try:
        check_settings(raw)
    except Refused as exc:
        return str(exc)
    return "settings not valid"


def _quiet(_: str) -> None:
    pass


def clean_name(raw: Any) -> str:
    """A player's name: 1 to :data:`MAX_NAME` printable characters, spaces collapsed."""
    if not isinstance(raw, str):
        raise Refused("name: type your name")
    name = " ".join(raw.split())
    if not name:
        raise Refused("name: type your name")
    if len(name) > MAX_NAME:
        raise Refused(f"name: at most {MAX_NAME} characters (got {len(name)})")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise Refused("name: letters, digits, spaces and punctuation only")
    return name


DIGITS = re.compile(r"[0-9]{1,12}")
"""An order typed as text: plain decimal digits only."""
CLIENT = re.compile(r"[A-Za-z0-9_-]{8,64}")
"""A browser's id (the player page makes one per browser and keeps it): what makes joining idempotent."""


def client_id(raw: Any) -> str | None:
    """A join's browser id, or None where the client sent none (refused when malformed)."""
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not CLIENT.fullmatch(raw):
        raise Refused("client: 8 to 64 letters, digits, '-' or '_'")
    return raw


def whole_order(raw: Any, top: int) -> int:
    """An order as typed: a whole number from 0 to ``top``, a JSON number or its text in plain decimal digits
    (not ``1_0``, ``+5``, ``1e3`` or another script's digits, which Python's ``int`` would take)."""
    if isinstance(raw, bool) or raw is None or isinstance(raw, (list, dict)):
        raise Refused(f"order: type a whole number of units, 0 to {top}")
    text = str(raw).strip()
    if isinstance(raw, float):
        value = int(raw) if raw.is_integer() else None
    elif isinstance(raw, int):
        value = raw
    else:
        value = int(text) if DIGITS.fullmatch(text) else None
    if value is None:
        raise Refused(f"order: '{text[:20]}' is not a whole number; type how many units to order, 0 to {top}")
    if not 0 <= value <= top:
        raise Refused(f"order: {value} is out of range; order between 0 and {top} units")
    return value


@dataclass(frozen=True)
class Seat:
    token: str
    game: str
    team: int  # 1-based
    site: str
    name: str
    auto: bool = False  # the teacher handed the seat to the bot (its player stays seated and can get it back)


@dataclass
class Team:
    """One team's table and its open week."""

    number: int
    table: Table
    fresh_optimal: Policy  # the optimal team's policy before the game (the table's own has played along)
    pending: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    """The open week's orders: site -> (order, source, the token of the player who placed it)."""
    played: list[dict[str, tuple[str, str | None]]] = field(default_factory=list)
    """Who ordered each week that ran: site -> (source, player's token or None)."""
    co: dict[str, float] = field(default_factory=dict)  # the bot's order for every site, the open week
    opened: float = field(default_factory=time.monotonic)

    @property
    def game(self) -> Game:
        return self.table.game

    @functools.cached_property
    def optimal_costs(self) -> np.ndarray:
        """``[weeks, sites]``: the optimal team's cost per week on the team's demand, all weeks (computed once,
        by a fresh copy of the table's optimal policy)."""
        return optimal_team_costs(self.game, copy.deepcopy(self.fresh_optimal))

    @property
    def week(self) -> int:
        return self.table.week

    @property
    def over(self) -> bool:
        return self.week > self.game.periods

    def open_week(self) -> None:
        self.pending, self.opened = {}, time.monotonic()
        if not self.over:
            self.co = self.table.advise()

    def bot_order(self, site: str) -> int:
        return min(int(round(self.co[site])), self.table.max_order[self.table.scenario.index(site)])


@dataclass
class ClassGame:
    id: str
    code: str
    settings: GameSettings
    status: str  # lobby, running, paused, over
    teams: list[Team]
    seats: dict[tuple[int, str], Seat] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    """When the teacher created it (Unix time)."""
    archived: bool = False
    """Filed away by the teacher: listed apart, below the other games."""
    ended: tuple[float, str] | None = None
    """When the teacher ended it (monotonic clock) and its status before: what :meth:`Classroom.reopen` undoes."""

    @property
    def sites(self) -> list[str]:
        return list(self.teams[0].table.scenario.site_names)

    names: dict[str, str] = field(default_factory=dict)
    """The name of every seat token the game has had (freed seats included): the debrief's credits."""

    def seated(self, team: Team) -> bool:
        """Whether anyone joined the team."""
        return any((team.number, s) in self.seats for s in self.sites)

    def plays(self, team: Team, site: str) -> bool:
        """Whether a student plays the seat now (someone sits there and the teacher has not handed it to the
        bot): the week waits for their order."""
        seat = self.seats.get((team.number, site))
        return seat is not None and not seat.auto

    def player(self, team: Team, site: str) -> str | None:
        """The name of the player in a seat, or None where the bot plays it."""
        seat = self.seats.get((team.number, site))
        return None if seat is None else seat.name


class Classroom:
    """Every game of the server, kept in step with the store."""

    def __init__(self, store: Store):
        self.store = store
        self.games: dict[str, ClassGame] = {}
        self.by_code: dict[str, ClassGame] = {}
        self.by_token: dict[str, Seat] = {}
        self.by_client: dict[tuple[str, str], Seat] = {}
        """The seat each browser took, by (game id, client id)."""
        self.skipped: dict[str, str] = {}
        """Games of the store that :meth:`load` could not rebuild: id -> why (one line)."""
        self.teacher_token = store.setting("teacher_token", secrets.token_urlsafe(24))
        """The teacher's token, made once per database (it survives restarts)."""

    # ------------------------------------------------------------------ building
    @staticmethod
    def _make(game_id: str, code: str, settings: GameSettings, status: str, created: float | None = None,
              archived: bool = False) -> ClassGame:
        """A game's teams at the start of week 1, nothing registered or written (so it can be built in a
        worker thread). Raises :class:`Refused` for a game beyond the bounds, ConfigError for an unknown
        scenario or bot."""
        scenario = scenario_of(settings.scenario, settings.weeks, settings.setup)
        roles = list(load_scenario(scenario).site_names)
        check_size(settings, len(roles))
        first = Table(Game(scenario, settings.seed, settings.weeks, roles, others_spec(settings.bot)), _quiet)
        fresh = copy.deepcopy(first.optimal)
        teams = []
        for number in range(1, settings.teams + 1):  # every site is a role: advice is kept for every seat
            game = Game(scenario, settings.seed, settings.weeks, roles, others_spec(settings.bot))
            table = first if number == 1 else Table(game, _quiet, like=first)
            table.start()
            teams.append(Team(number, table, fresh))
        game = ClassGame(game_id, code, settings, status, teams, archived=archived)
        if created is not None:
            game.created = created
        return game

    def _register(self, game: ClassGame) -> ClassGame:
        self.games[game.id], self.by_code[game.code] = game, game
        return game

    def prepare(self, raw: Any) -> ClassGame:
        """A new game built from the teacher's settings, week 1 open, but not yet added: the slow part of
        :meth:`create` (up to about 2 s for :data:`MAX_WEEKS` weeks), which touches nothing shared and so
        runs in a worker thread while the server goes on serving."""
        settings = check_settings(raw)
        try:
            game = self._make(secrets.token_hex(6), "", settings, "lobby")
        except ConfigError as exc:  # an unknown scenario or bot
            raise Refused(str(exc).replace("--others", "bot").replace("--role", "scenario")) from None
        for team in game.teams:
            team.open_week()
        return game

    def add(self, game: ClassGame) -> ClassGame:
        """Add a prepared game: it gets its join code and is stored, in the lobby."""
        game.code = self._new_code()
        self.store.add_game(game.id, game.code, game.settings.model_dump())
        return self._register(game)

    def create(self, raw: Any) -> ClassGame:
        """A new game in the lobby, with a join code."""
        return self.add(self.prepare(raw))

    def _new_code(self) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I
        while True:
            code = "".join(secrets.choice(alphabet) for _ in range(6))
            if code not in self.by_code:
                return code

    def load(self, resume: bool = True) -> None:
        """Rebuild every game from the store: seats, and each team's weeks replayed from its orders.
        ``resume``: also run the weeks whose orders were all in (a server killed meanwhile); without it
        nothing is written (``echelon replay``). A game that cannot be rebuilt (its scenario file gone, or
        beyond today's bounds: a file from before them) is left in the store, its reason in
        :attr:`skipped`, and can be deleted."""
        for game_id, code, raw, status, created, archived in self.store.games():
            try:
                game = self._make(game_id, code, GameSettings(**raw), status, created, archived)
            except (ValidationError, ConfigError, Refused) as exc:
                reason = str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else \
                    check_problem(raw)
                self.skipped[game_id] = f"game {game_id} (join code {code}) not resumed: {reason}"
                continue
            self._register(game)
            game.names = self.store.players(game_id)
            for token, team, site, name, auto in self.store.seats(game_id):
                seat = Seat(token, game_id, team, site, name, auto)
                game.seats[(team, site)] = seat
                self.by_token[token] = seat
                game.names.setdefault(token, name)
            for client, token in self.store.clients(game_id).items():
                self.by_client[(game_id, client)] = self.by_token[token]
            by_week: dict[tuple[int, int], list[OrderRow]] = {}
            for row in self.store.orders(game_id):
                by_week.setdefault((row.team, row.week), []).append(row)
            for team in game.teams:
                team.open_week()
                while not team.over:
                    rows = by_week.get((team.number, team.week), [])
                    team.pending = {r.site: (r.quantity, r.source, r.seat) for r in rows}
                    if len(team.pending) < len(game.sites):
                        break
                    self._run(team)
            if game.status == "running" and resume:
                for team in game.teams:
                    self._advance_if_ready(game, team)

    def delete(self, game_id: str) -> ClassGame | None:
        """Delete a game and everything stored of it (seats, players' names, orders): its join code and seat
        tokens stop working. Returns the game (None for one that was not rebuilt, see :attr:`skipped`)."""
        if game_id not in self.games and game_id not in self.skipped:
            raise Refused("no such game")
        self.store.delete_game(game_id)
        self.skipped.pop(game_id, None)
        game = self.games.pop(game_id, None)
        if game is not None:
            del self.by_code[game.code]
            for seat in game.seats.values():
                self.by_token.pop(seat.token, None)
            for key in [k for k in self.by_client if k[0] == game_id]:
                del self.by_client[key]
        return game

    # ------------------------------------------------------------------ lookups
    def game(self, game_id: str) -> ClassGame:
        if game_id not in self.games:
            raise Refused("no such game")
        return self.games[game_id]

    def seat(self, token: Any) -> Seat:
        """The seat of a player's token (refused when missing or unknown)."""
        if not isinstance(token, str) or not token:
            raise Refused("missing seat token: join the game first")
        seat = self.by_token.get(token)
        if seat is None:
            raise Refused("unknown seat token: join the game again")
        return seat

    def is_teacher(self, token: Any) -> bool:
        return isinstance(token, str) and secrets.compare_digest(token, self.teacher_token)

    # ------------------------------------------------------------------ players
    def returning(self, game: ClassGame, client: Any) -> bool:
        """Whether the browser ``client`` already took a seat in ``game`` (joining again returns that seat)."""
        return isinstance(client, str) and (game.id, client) in self.by_client

    def join(self, code: Any, name: Any, team: Any = None, site: Any = None, client: Any = None) -> Seat:
        """Take a seat in the game of ``code``: the one asked for if free, else the first free one.

        ``client``: the browser's id. A browser that already took a seat in this game gets that seat back
        (a double tap on Join, a retry after a lost answer), whatever it sends; names are unique in a game
        (letter case and spacing aside), so two students are never confused in the debrief."""
        if not isinstance(code, str) or code.strip().upper() not in self.by_code:
            raise Refused("join code: no game has this code; check it with your teacher")
        game = self.by_code[code.strip().upper()]
        client = client_id(client)
        if client is not None and (game.id, client) in self.by_client:
            return self.by_client[(game.id, client)]
        if game.status == "over":
            raise Refused("this game is over")
        name = clean_name(name)
        if any(s.name.casefold() == name.casefold() for s in game.seats.values()):
            raise Refused(f"name: '{name}' is taken in this game; add an initial or a number")
        free = [(t.number, s) for t in game.teams for s in game.sites if (t.number, s) not in game.seats]
        if team not in (None, "") or site not in (None, ""):
            wanted = [(t, s) for t, s in free if team in (None, "") or str(t) == str(team)]
            wanted = [(t, s) for t, s in wanted if site in (None, "") or s == site]
            if not wanted:
                raise Refused("that seat is taken or does not exist; pick another or let the game place you")
            free = wanted
        if not free:
            raise Refused("every seat is taken")
        number, role = free[0]
        seat = Seat(secrets.token_urlsafe(24), game.id, number, role, name)
        self.store.add_seat(seat.token, game.id, number, role, name, client)
        game.seats[(number, role)], self.by_token[seat.token] = seat, seat
        game.names[seat.token] = name
        if client is not None:
            self.by_client[(game.id, client)] = seat
        return seat

    def order(self, token: Any, week: Any, quantity: Any) -> tuple[ClassGame, Team, bool]:
        """A player's order for their team's open week, committed before this returns.

        Returns the game, the team and whether the week ran (everyone had ordered)."""
        seat = self.seat(token)
        game = self.games[seat.game]
        team = game.teams[seat.team - 1]
        if game.status == "lobby":
            raise Refused("the game has not started yet")
        if game.status == "paused":
            raise Refused("the game is paused; wait for your teacher")
        if game.status == "over" or team.over:
            raise Refused("the game is over")
        whole = isinstance(week, int) and not isinstance(week, bool)
        if not whole or week != team.week:
            raise Refused(f"week {week} is closed; the open week is {team.week}" if whole and week < team.week
                          else f"orders are for the open week, {team.week}")
        if seat.auto:
            raise Refused("your teacher handed your seat to the bot for now; ask them to give it back")
        if seat.site in team.pending:
            raise Refused(f"you already ordered {team.pending[seat.site][0]} for week {team.week}")
        top = team.table.max_order[team.table.scenario.index(seat.site)]
        value = whole_order(quantity, top)
        self.store.add_orders(game.id, [OrderRow(team.number, team.week, seat.site, value, "player", seat.token)])
        team.pending[seat.site] = (value, "player", seat.token)
        return game, team, self._advance_if_ready(game, team)

    # ------------------------------------------------------------------ weeks
    def _advance_if_ready(self, game: ClassGame, team: Team, force: bool = False) -> bool:
        """Run the team's open week if every seated player has ordered (or ``force``): the bot orders for
        the empty seats and those handed to it ('bot') and, when forced, for the seated players who did not
        ('timeout')."""
        if game.status != "running" or team.over or not game.seated(team):
            return False  # a team nobody joined is not played
        missing = [s for s in game.sites if s not in team.pending]
        if not force and (any(game.plays(team, s) for s in missing) or not self._students(game, team)):
            return False  # a team whose students are all kicked or handed to the bot waits for one (or Force)
        self._bot_orders(game, team, missing)
        self._run(team)
        if all(t.over for t in game.teams if game.seated(t)):
            self._set_status(game, "over")
        return True

    @staticmethod
    def _students(game: ClassGame, team: Team) -> bool:
        """Whether a student plays one of the team's seats (else its weeks wait: the bot alone does not play)."""
        return any(game.plays(team, s) for s in game.sites)

    def _bot_orders(self, game: ClassGame, team: Team, sites: list[str]) -> None:
        """The bot orders for ``sites`` in the open week: 'timeout' where a student plays the seat, else 'bot'."""
        rows = [OrderRow(team.number, team.week, s, team.bot_order(s), "timeout" if game.plays(team, s) else "bot")
                for s in sites]
        if rows:
            self.store.add_orders(game.id, rows)
            team.pending.update({r.site: (r.quantity, r.source, None) for r in rows})

    @staticmethod
    def _run(team: Team) -> None:
        team.table.run_week({site: float(q) for site, (q, _, _) in team.pending.items()})
        team.played.append({site: (source, token) for site, (_, source, token) in team.pending.items()})
        team.open_week()

    def overdue(self, now: float | None = None) -> list[tuple[ClassGame, Team]]:
        """Teams whose week waited longer than their game's timeout: the bot orders for the missing players
        and the week runs. Returns the teams that moved."""
        now = time.monotonic() if now is None else now
        moved = []
        for game in self.games.values():
            if game.status != "running" or game.settings.timeout is None:
                continue
            for team in game.teams:
                if not team.over and self._students(game, team) and now - team.opened >= game.settings.timeout:
                    if self._advance_if_ready(game, team, force=True):
                        moved.append((game, team))
        return moved

    # ------------------------------------------------------------------ the teacher
    def start(self, game: ClassGame) -> list[Team]:
        if game.status != "lobby":
            raise Refused(f"the game is {game.status}; only a game in the lobby can start")
        self._set_status(game, "running")
        for team in game.teams:
            team.opened = time.monotonic()
        return [t for t in game.teams if self._advance_if_ready(game, t)]

    def pause(self, game: ClassGame) -> None:
        if game.status != "running":
            raise Refused(f"the game is {game.status}; only a running game can pause")
        self._set_status(game, "paused")

    def resume(self, game: ClassGame) -> list[Team]:
        if game.status != "paused":
            raise Refused(f"the game is {game.status}; only a paused game can resume")
        self._set_status(game, "running")
        for team in game.teams:
            team.opened = time.monotonic()  # the timeout counts from the resume
        return [t for t in game.teams if self._advance_if_ready(game, t)]

    def force(self, game: ClassGame, team: Any = "all", site: Any = None) -> list[Team]:
        """Run the open week of one team (its number) or of every team (``"all"``) now, the bot ordering for
        whoever has not; with ``site``, the bot orders for that one seat only (the week runs if it was the
        last one missing). The other teams' weeks are not touched. Returns the teams whose week ran."""
        if game.status != "running":
            raise Refused(f"the game is {game.status}; only a running game's week can be forced")
        if team == "all" and site is None:
            return [t for t in game.teams if self._advance_if_ready(game, t, force=True)]
        chosen = self._team(game, team, "force")
        if site is None:
            return [chosen] if self._advance_if_ready(game, chosen, force=True) else []
        if site not in game.sites:
            raise Refused(f"force: site must be one of {', '.join(game.sites)} (got {site!r})")
        if chosen.over or site in chosen.pending:
            raise Refused(f"force: team {chosen.number}'s {site} has ordered for this week already")
        self._bot_orders(game, chosen, [site])
        return [chosen] if self._advance_if_ready(game, chosen) else []

    @staticmethod
    def _team(game: ClassGame, team: Any, what: str) -> Team:
        number = team if isinstance(team, int) and not isinstance(team, bool) else None
        if number is None or not 1 <= number <= len(game.teams):
            raise Refused(f"{what}: team must be a team's number, 1 to {len(game.teams)}"
                          + (', or "all"' if what == "force" else "") + f" (got {team!r})")
        return game.teams[number - 1]

    def seat_at(self, game: ClassGame, team: Any, site: Any) -> Seat:
        """The seat a teacher's action names (refused when nobody sits there)."""
        seat = game.seats.get((team, site)) if isinstance(team, int) and not isinstance(team, bool) else None
        if seat is None:
            raise Refused(f"seat: nobody sits at team {team!r}, {site!r}")
        return seat

    def free(self, game: ClassGame, team: Any, site: Any) -> Seat:
        """Free a seat (kick a ghost seat, a student who left): the bot plays it from the next order on and
        another student may take it; the orders placed stay (credited to the student in the debrief). The
        week runs if it waited only for this seat. Returns the seat that was freed."""
        seat = self.seat_at(game, team, site)
        self.store.free_seat(seat.token)
        del game.seats[(seat.team, seat.site)], self.by_token[seat.token]
        for key in [k for k, v in self.by_client.items() if v is seat]:
            del self.by_client[key]
        self._advance_if_ready(game, game.teams[seat.team - 1])
        return seat

    def hand_to_bot(self, game: ClassGame, team: Any, site: Any, auto: bool = True) -> Seat:
        """Hand a seat to the bot (``auto``: the student keeps the seat but the bot orders every week, and the
        week no longer waits for them) or give it back to its student (from the next open week they order)."""
        seat = self.seat_at(game, team, site)
        if seat.auto == auto:
            raise Refused(f"seat: team {seat.team}'s {seat.site} is {'already' if auto else 'not'} played by the bot")
        self.store.set_auto(seat.token, auto)
        changed = self._replace(game, seat, auto=auto)
        self._advance_if_ready(game, game.teams[seat.team - 1])
        return changed

    def move(self, game: ClassGame, team: Any, site: Any, to_team: Any, to_site: Any) -> Seat:
        """Move a student to a free seat (another role or team); their page follows. An order they placed
        in the old seat's open week stays there; the weeks that waited only for the seat run."""
        seat = self.seat_at(game, team, site)
        target = self._team(game, to_team, "move")
        if to_site not in game.sites:
            raise Refused(f"move: site must be one of {', '.join(game.sites)} (got {to_site!r})")
        if (target.number, to_site) in game.seats:
            raise Refused(f"move: team {target.number}'s {to_site} is taken; free it first")
        self.store.move_seat(seat.token, target.number, to_site)
        del game.seats[(seat.team, seat.site)]
        moved = self._replace(game, seat, team=target.number, site=to_site)
        for number in {seat.team, target.number}:
            self._advance_if_ready(game, game.teams[number - 1])
        return moved

    def _replace(self, game: ClassGame, seat: Seat, **changes: Any) -> Seat:
        """Swap a seat for a changed copy everywhere it is looked up."""
        new = dataclasses.replace(seat, **changes)
        game.seats[(new.team, new.site)] = self.by_token[seat.token] = new
        for key in [k for k, v in self.by_client.items() if v is seat]:
            self.by_client[key] = new
        return new

    def rename(self, game: ClassGame, team: Any, site: Any, name: Any) -> Seat:
        """Give a seat's player another name (unique in the game, as when joining)."""
        seat = self.seat_at(game, team, site)
        name = clean_name(name)
        if any(s is not seat and s.name.casefold() == name.casefold() for s in game.seats.values()):
            raise Refused(f"name: '{name}' is taken in this game; add an initial or a number")
        self.store.rename_seat(seat.token, name)
        game.names[seat.token] = name
        return self._replace(game, seat, name=name)

    def end(self, game: ClassGame) -> None:
        """End the game for every team (undone by :meth:`reopen` within :data:`UNDO_END` seconds)."""
        if game.status == "over":
            raise Refused("the game is already over")
        game.ended = (time.monotonic(), game.status)
        self._set_status(game, "over")

    def reopen(self, game: ClassGame, now: float | None = None) -> list[Team]:
        """Undo :meth:`end` (within :data:`UNDO_END` seconds of it, and not after a server restart): the game
        goes back to where it was, each open week's clock restarting."""
        now = time.monotonic() if now is None else now
        if game.status != "over" or game.ended is None:
            raise Refused("undo: only a game the teacher has just ended can be reopened")
        if now - game.ended[0] > UNDO_END:
            raise Refused(f"undo: the game was ended more than {UNDO_END:.0f} s ago; it stays over")
        before, game.ended = game.ended[1], None
        self._set_status(game, before)
        for team in game.teams:
            team.opened = now
        return [t for t in game.teams if self._advance_if_ready(game, t)]

    def set_timeout(self, game: ClassGame, seconds: Any) -> None:
        """Change how long a week waits for a seated player (None: wait for ever); every open week's clock
        restarts, so nobody is timed out by surprise."""
        settings = check_settings({**game.settings.model_dump(), "timeout": seconds})
        self.store.set_settings(game.id, settings.model_dump())
        game.settings = settings
        now = time.monotonic()
        for team in game.teams:
            team.opened = now

    def archive(self, game: ClassGame, archived: bool = True) -> None:
        """File a game away (or bring it back): the teacher's list shows it apart, below the others."""
        self.store.set_archived(game.id, archived)
        game.archived = archived

    @staticmethod
    def seconds_left(game: ClassGame, team: Team, now: float | None = None) -> float | None:
        """Seconds before the bot orders for the team's missing players (None: no timeout, or nothing waits)."""
        if game.settings.timeout is None or game.status != "running" or team.over:
            return None
        if not Classroom._students(game, team):
            return None
        now = time.monotonic() if now is None else now
        return max(0.0, game.settings.timeout - (now - team.opened))

    def _set_status(self, game: ClassGame, status: str) -> None:
        self.store.set_status(game.id, status)
        game.status = status
