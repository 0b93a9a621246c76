"""The classroom's web server: pages, a small JSON API and websockets (Starlette, served by uvicorn).

* ``/`` the player page, ``/teacher`` the teacher's (its token given once in the address's ``#`` part, which
  the page removes from the address bar as it loads; the list of games, and ``/teacher?game=ID`` one game),
  ``/projector?game=ID`` the view for the wall (join code, QR, class chart, countdown; no token, no controls).
* ``POST /api/join`` {code, name, team?, site?} -> a seat token; the player page keeps it, so a reload
  or a dropped connection rejoins the same seat.
* ``/ws/player?token=`` a player's socket: the seat's view after every change; sends
  ``{"type": "order", "week": w, "quantity": q}``, answered ``accepted`` (after the commit) or
  ``error`` with the reason.
* ``/api/games...`` the teacher's actions (``Authorization: Bearer TOKEN`` or ``?token=``): create,
  start, pause, resume, force one team's week (``{"team": 2}``; every team's only when asked,
  ``{"team": "all"}``; one seat's with ``"site"``), end (undone by reopen within a minute), timeout
  (``{"seconds": s}``, changeable during the game), archive, a seat's free/bot/back/move/rename, the
  debrief as JSON, CSV, HTML and PNG; ``/ws/teacher`` the list of games, or with ``?game=ID`` one game's
  live state, team by team; ``/ws/projector?game=ID`` the wall's.

Everything runs on one event loop, so the game state changes one request at a time. A request body is at
most :data:`MAX_BODY` bytes, a socket message :data:`MAX_MESSAGE` characters, and a socket may send
:data:`RATE` refused messages a second (bursts of :data:`BURST`; an accepted order does not count, as
there is one per week); beyond, a message is refused unread and the state is not touched. Joining is
limited per address and per game (:mod:`echelon.classroom.limits`: HTTP 429 with ``Retry-After``). A new
game is built in a worker thread (up to about 2 s), so the class plays on meanwhile; ``DELETE
/api/games/{id}`` deletes a game and everything of it, its players' and projectors' sockets told and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from echelon.classroom import debrief
from echelon.classroom.limits import JOIN_PER_MINUTE, Bucket, Buckets
from echelon.classroom.session import ClassGame, Classroom, Refused, Team
from echelon.classroom.store import Store
from echelon.envs.scenario import available_scenarios, load_scenario
from echelon.play import PALETTE

MAX_BODY = 4096
"""Largest request body, bytes."""
MAX_MESSAGE = 1024
"""Largest socket message, characters (the server's socket limit closes anything over 16 KiB)."""
RATE, BURST = 10.0, 20
"""Socket messages a second, and the burst allowed (:class:`~echelon.classroom.limits.Bucket`)."""
BODY_SECONDS = 10.0
"""Seconds a request's body has to arrive (a client that dribbles it is refused)."""
TICK = 0.25
"""Seconds between checks of the weeks' timeouts."""


def player_message(room: Classroom, token: str) -> dict[str, Any]:
    """Everything a seat's player may see now (their own site only, plus who of the team has ordered)."""
    seat = room.by_token[token]
    game = room.games[seat.game]
    team = game.teams[seat.team - 1]
    settings = game.settings
    view = team.table.view(seat.site, customer_demand=settings.customer_demand)
    g = team.game
    i = game.sites.index(seat.site)
    mine = {"orders": [w[i] for w in g.orders], "costs": [w[i] for w in g.costs]}
    mates = [{"site": s, "name": game.player(team, s), "ordered": s in team.pending} for s in game.sites]
    ordered = team.pending.get(seat.site)
    out = {"type": "view", "status": game.status, "team": team.number, "site": seat.site, "name": seat.name,
           "auto": seat.auto, "over": team.over, "view": view, "ordered": None if ordered is None else ordered[0],
           "teammates": mates, "history": mine, "timeout": settings.timeout,
           "seconds_left": Classroom.seconds_left(game, team)}
    if team.over or game.status == "over":
        d = debrief.team_debrief(game, team)
        out["result"] = {"team_cost": d["cost"], "optimal_team_cost": d["optimal_cost"],
                         "your_cost": d["seats"][i]["cost"], "your_optimal_cost": d["seats"][i]["optimal_cost"]}
    return out


def team_state(game: ClassGame, team: Team) -> dict[str, Any]:
    """A team's live state for the teacher: players, who has ordered, and the weeks played."""
    g = team.game
    return {
        "team": team.number, "week": team.week, "over": team.over,
        "seconds_left": Classroom.seconds_left(game, team),
        "players": {s: game.player(team, s) for s in game.sites},
        "auto": [s for s in game.sites if (team.number, s) in game.seats and not game.plays(team, s)],
        "ordered": sorted(team.pending), "orders": g.orders, "on_hand": g.on_hand, "backlog": g.backlog,
        "costs": g.costs, "demand": g.demand,
    }


def game_state(game: ClassGame, base: str | None = None) -> dict[str, Any]:
    return {"type": "game", **summary(game, base), "settings": game.settings.model_dump(), "sites": game.sites,
            "teams": [team_state(game, t) for t in game.teams]}


def join_url(base: str | None, game: ClassGame) -> str | None:
    """The address the class opens to join (None: the page's own address, where no public one is known)."""
    return None if base is None else f"{base}/?code={game.code}"


def summary(game: ClassGame, base: str | None = None) -> dict[str, Any]:
    """A game as the teacher's list shows it."""
    played = [t for t in game.teams if game.seated(t)]
    return {"id": game.id, "code": game.code, "join_url": join_url(base, game), "status": game.status,
            "created": game.created,
            "archived": game.archived, "undo_end": game.ended is not None, "scenario": game.settings.scenario,
            "teams": len(game.teams), "players": len(game.seats), "weeks": game.settings.weeks,
            "week": min((t.week for t in played if not t.over), default=None)}


def games_list(room: Classroom, base: str | None = None) -> dict[str, Any]:
    """The teacher's list: every game's summary, and the games of the database not rebuilt (id -> why)."""
    return {"games": [summary(g, base) for g in room.games.values()], "skipped": room.skipped}


def projector_team(game: ClassGame, team: Team) -> dict[str, Any]:
    """What the wall shows of a team: its week, its cost week by week, the countdown (no names)."""
    return {"team": team.number, "week": min(team.week, game.settings.weeks), "over": team.over,
            "weekly_cost": [sum(w) for w in team.game.costs], "seconds_left": Classroom.seconds_left(game, team)}


def projector_state(game: ClassGame, base: str | None = None) -> dict[str, Any]:
    """The projector view: the join code, the status and the teams that play; no token, nothing to act on."""
    return {"type": "projector", "code": game.code, "join_url": join_url(base, game), "status": game.status,
            "weeks": game.settings.weeks,
            "timeout": game.settings.timeout, "players": len(game.seats),
            "teams": [projector_team(game, t) for t in game.teams if game.seated(t)]}


class Limited(Refused):
    """A request refused for its rate (HTTP 429); ``wait``: seconds until one would be allowed."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


class Hub:
    """The open sockets, and the messages that follow a change."""

    def __init__(self, room: Classroom, base: str | None = None):
        self.room = room
        self.base = base
        """The public address the class joins at (``echelon classroom --public-url``), if known."""
        self.players: dict[str, set[WebSocket]] = {}
        self.teachers: dict[WebSocket, str | None] = {}
        """The teachers' sockets and the game each follows (None: the list of games)."""
        self.projectors: dict[WebSocket, str] = {}
        """The projector views' sockets and their game."""

    async def send(self, ws: WebSocket, message: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # a socket closing meanwhile
            await ws.send_text(json.dumps(message))

    async def _views(self, game: ClassGame, teams: list[Team]) -> None:
        """Each connected player of ``teams`` gets their seat's view."""
        for team in teams:
            for s in game.sites:
                seat = game.seats.get((team.number, s))
                for ws in list(self.players.get(seat.token, ()) if seat is not None else ()):
                    await self.send(ws, player_message(self.room, seat.token))

    async def team_changed(self, game: ClassGame, team: Team) -> None:
        """One team's week moved or an order came in: its players, the teachers following the game (that team
        only: the page updates one card) and the projectors."""
        await self._views(game, [team])
        message = {"type": "team", "game": game.id, "status": game.status, **team_state(game, team)}
        for ws in [w for w, g in self.teachers.items() if g == game.id]:
            await self.send(ws, message)
        wall = {"type": "projector_team", "status": game.status, **projector_team(game, team)}
        for ws in [w for w, g in self.projectors.items() if g == game.id]:
            await self.send(ws, wall)

    async def game_changed(self, game: ClassGame) -> None:
        await self._views(game, game.teams)
        for ws, followed in list(self.teachers.items()):
            if followed == game.id:
                await self.send(ws, game_state(game, self.base))
            elif followed is None:
                await self.send(ws, {"type": "summary", **summary(game, self.base)})
        for ws in [w for w, g in self.projectors.items() if g == game.id]:
            await self.send(ws, projector_state(game, self.base))

    async def game_deleted(self, game_id: str, game: ClassGame | None) -> None:
        """The teacher deleted a game: its players' and projectors' sockets are told and closed, the teachers
        following it or the list are told."""
        tokens = [seat.token for seat in game.seats.values()] if game is not None else []
        gone = {"type": "error", "message": "your teacher deleted this game"}
        closing = [ws for token in tokens for ws in self.players.pop(token, set())]
        closing += [w for w, g in self.projectors.items() if g == game_id]
        for ws in closing:
            self.projectors.pop(ws, None)
            await self.send(ws, gone)
            with contextlib.suppress(Exception):
                await ws.close(code=4403)
        for ws, followed in list(self.teachers.items()):
            if followed in (None, game_id):
                await self.send(ws, {"type": "deleted", "game": game_id})


def create_app(db: str, tick: float = TICK, on_create: Callable[[ClassGame], None] | None = None,
               public_url: str | None = None, join_limit: int = JOIN_PER_MINUTE) -> Starlette:
    """The classroom app on the SQLite file ``db`` (games there are resumed); ``on_create`` is told of
    every new game (the server prints its join code); ``public_url``: the address phones reach the server at
    (its network address, or the HTTPS address of a reverse proxy), put in the QR code and shown to the class
    whatever address the teacher's browser used; ``join_limit``: join attempts a minute per address and new
    seats a minute per game (0: no limit)."""
    store = Store(db)
    room = Classroom(store)
    room.load()
    hub = Hub(room, public_url.rstrip("/") if public_url else None)
    by_address, by_game = Buckets(join_limit), Buckets(join_limit)
    """Join attempts per address, new seats per game."""

    def teacher(request: Request) -> None:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else request.query_params.get("token")
        if not room.is_teacher(token):
            raise Refused("teacher token missing or wrong")

    async def body(request: Request) -> dict[str, Any]:
        """The request's JSON object: refused by its Content-Length before reading, and read no further than
        :data:`MAX_BODY` bytes whatever the header says (a chunked or lying client)."""
        too_large = Refused(f"request too large (at most {MAX_BODY} bytes)")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdecimal() or int(declared) > MAX_BODY):
            raise too_large
        raw = b""
        try:
            async with asyncio.timeout(BODY_SECONDS):
                async for chunk in request.stream():
                    raw += chunk
                    if len(raw) > MAX_BODY:
                        raise too_large
        except TimeoutError:
            raise Refused(f"request body too slow (it must arrive within {BODY_SECONDS:g} s)") from None
        return json_object(raw or b"{}")

    def json_object(raw: bytes | str) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise Refused("the request is not JSON") from None
        if not isinstance(data, dict):
            raise Refused("the request must be a JSON object")
        return data

    def api(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except Limited as exc:
                return JSONResponse({"error": str(exc)}, status_code=429,
                                    headers={"Retry-After": str(max(1, math.ceil(exc.wait)))})
            except Refused as exc:
                status = 403 if "token" in str(exc) else 404 if str(exc) == "no such game" else 400
                return JSONResponse({"error": str(exc)}, status_code=status)
        return wrapped

    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        text = resources.files("echelon.classroom").joinpath("static", name).read_text(encoding="utf-8")

        async def serve(request: Request) -> Response:
            return HTMLResponse(text, headers={"Cache-Control": "no-store"})
        return serve

    common = resources.files("echelon.classroom").joinpath("static", "common.js").read_text(encoding="utf-8")
    common = common.replace("__PALETTE__", json.dumps(PALETTE))  # one colour per site, as in the PNG charts

    async def script(request: Request) -> Response:
        return Response(common, media_type="text/javascript", headers={"Cache-Control": "no-store"})

    def attempt(request: Request) -> None:
        """Count a join attempt against the client's address (refused beyond :data:`JOIN_PER_MINUTE`)."""
        wait = by_address.take(request.client.host if request.client is not None else "")
        if wait is not None:
            raise Limited(f"too many join attempts from your network; try again in {math.ceil(wait)} s", wait)

    @api
    async def join(request: Request) -> Response:
        attempt(request)
        data = await body(request)
        code, client = data.get("code"), data.get("client")
        game = room.by_code.get(code.strip().upper()) if isinstance(code, str) else None
        new = game is not None and not room.returning(game, client)  # (a browser rejoining takes no new seat)
        if new:
            wait = by_game.take(game.id)
            if wait is not None:
                raise Limited(f"too many players are joining this game at once; try again in {math.ceil(wait)} s",
                              wait)
        try:
            seat = room.join(code, data.get("name"), data.get("team"), data.get("site"), client)
        except Refused:
            if new:
                by_game.refund(game.id)
            raise
        game = room.games[seat.game]
        await hub.game_changed(game)
        return JSONResponse({"token": seat.token, "team": seat.team, "site": seat.site, "name": seat.name})

    @api
    async def lookup(request: Request) -> Response:
        """What the join form offers for a code: the teams and the roles (nothing else of the game)."""
        attempt(request)
        code = (await body(request)).get("code")
        game = room.by_code.get(code.strip().upper()) if isinstance(code, str) else None
        if game is None:
            raise Refused("join code: no game has this code; check it with your teacher")
        return JSONResponse({"teams": len(game.teams), "sites": game.sites, "status": game.status})

    @api
    async def seat_info(request: Request) -> Response:
        data = await body(request)
        return JSONResponse(player_message(room, room.seat(data.get("token")).token))

    @api
    async def scenarios(request: Request) -> Response:
        teacher(request)
        games = [n for n in available_scenarios() if len(load_scenario(n).sites) <= 8]
        return JSONResponse({"scenarios": games, "bots": ["sterman", "base_stock", "pass_through"]})

    @api
    async def games(request: Request) -> Response:
        teacher(request)
        if request.method == "POST":
            game = room.add(await asyncio.to_thread(room.prepare, await body(request)))
            if on_create is not None:
                on_create(game)
            await hub.game_changed(game)
            return JSONResponse(game_state(game, hub.base))
        return JSONResponse(games_list(room, hub.base))

    @api
    async def one_game(request: Request) -> Response:
        teacher(request)
        game_id = request.path_params["game"]
        if request.method == "DELETE":
            game = room.delete(game_id)
            if game is not None:
                by_game.forget(game.id)
            await hub.game_deleted(game_id, game)
            return JSONResponse({"deleted": game_id})
        return JSONResponse(game_state(room.game(game_id), hub.base))

    @api
    async def action(request: Request) -> Response:
        teacher(request)
        data = await body(request)
        game = room.game(request.path_params["game"])
        what = request.path_params["action"]
        moved: list[Team] = []
        if what == "start":
            moved = room.start(game)
        elif what == "pause":
            room.pause(game)
        elif what == "resume":
            moved = room.resume(game)
        elif what == "force":  # one team's week ({"team": 2}), or every team's only when asked ({"team": "all"})
            if "team" not in data:
                raise Refused('force: say which team ({"team": 2}) or every team ({"team": "all"})')
            moved = room.force(game, data["team"], data.get("site"))
        elif what == "end":
            room.end(game)
        elif what == "reopen":  # the undo of end, within a minute
            moved = room.reopen(game)
        elif what == "timeout":  # {"seconds": 60}, or {"seconds": null} to wait for ever
            if "seconds" not in data:
                raise Refused('timeout: say how long a week waits, {"seconds": 60}, or {"seconds": null} for ever')
            room.set_timeout(game, data["seconds"])
        elif what in ("archive", "unarchive"):
            room.archive(game, what == "archive")
        else:
            raise Refused(f"unknown action '{what}' (start, pause, resume, force, end, reopen, timeout, archive, "
                          "unarchive)")
        await hub.game_changed(game)
        return JSONResponse({"status": game.status, "moved": [t.number for t in moved]})

    @api
    async def seat_action(request: Request) -> Response:
        """The teacher acts on one seat, ``{"team": 1, "site": "retailer", "action": ...}``: ``free`` (kick: the
        bot plays it and another student may take it), ``bot`` (hand it to the bot, the student staying
        seated), ``back`` (give it back to its student), ``move`` (to ``to_team``'s ``to_site``, a free seat)
        or ``rename`` (``name``)."""
        teacher(request)
        data = await body(request)
        game = room.game(request.path_params["game"])
        what = data.get("action")
        team, site = data.get("team"), data.get("site")
        if what in ("bot", "back"):
            seat = room.hand_to_bot(game, team, site, auto=what == "bot")
        elif what == "move":
            seat = room.move(game, team, site, data.get("to_team"), data.get("to_site"))
        elif what == "free":
            seat = room.free(game, team, site)
            for ws in hub.players.pop(seat.token, set()):  # the freed player's page goes back to the join form
                await hub.send(ws, {"type": "error", "message": "your teacher freed this seat (its seat token "
                                                                 "is no longer valid): join the game again"})
                with contextlib.suppress(Exception):
                    await ws.close(code=4403)
        elif what == "rename":
            seat = room.rename(game, team, site, data.get("name"))
        else:
            raise Refused(f"seat: action must be 'free', 'bot', 'back', 'move' or 'rename' (got {what!r})")
        await hub.game_changed(game)
        return JSONResponse({"team": seat.team, "site": seat.site, "name": seat.name})

    @api
    async def export(request: Request) -> Response:
        teacher(request)
        game = room.game(request.path_params["game"])
        kind = request.path_params["kind"]
        stem = f"debrief-{game.code}"
        if kind == "json":
            return Response(debrief.to_json(game), media_type="application/json",
                            headers={"Content-Disposition": f"attachment; filename={stem}.json"})
        if kind == "csv":
            return Response(debrief.to_csv(game), media_type="text/csv",
                            headers={"Content-Disposition": f"attachment; filename={stem}.csv"})
        if kind == "html":
            return HTMLResponse(debrief.to_html(game))
        raise Refused("no such export (json, csv, html)")

    @api
    async def chart(request: Request) -> Response:
        teacher(request)
        game = room.game(request.path_params["game"])
        number = request.path_params["team"]
        if not 1 <= number <= len(game.teams):
            raise Refused("no such team")
        return Response(debrief.team_png(game, game.teams[number - 1]), media_type="image/png")

    @api
    async def qr(request: Request) -> Response:
        import segno

        game = room.game(request.path_params["game"])
        url = join_url(hub.base or str(request.base_url).rstrip("/"), game)
        buffer = io.BytesIO()
        segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2)
        return Response(buffer.getvalue(), media_type="image/svg+xml")

    async def receive(ws: WebSocket, bucket: Bucket) -> dict[str, Any] | None:
        """The next message as an object, or None after telling the client what was wrong with it."""
        text = await ws.receive_text()
        if not bucket.take():
            await ws.send_text(json.dumps({"type": "error", "message": "too many messages; slow down"}))
            return None
        if len(text) > MAX_MESSAGE:
            await ws.send_text(json.dumps({"type": "error", "message":
                                           f"message too large (at most {MAX_MESSAGE} characters)"}))
            return None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # (nested deeper than Python's stack: not a message of ours)
            data = None
        if not isinstance(data, dict):
            await ws.send_text(json.dumps({"type": "error", "message": "messages are JSON objects"}))
            return None
        return data

    async def player_socket(ws: WebSocket) -> None:
        await ws.accept()
        token = ws.query_params.get("token")
        try:
            room.seat(token)
        except Refused as exc:
            await ws.send_text(json.dumps({"type": "error", "message": str(exc)}))
            await ws.close(code=4403)
            return
        hub.players.setdefault(token, set()).add(ws)
        bucket = Bucket(RATE, BURST)
        try:
            await ws.send_text(json.dumps(player_message(room, token)))
            while True:
                data = await receive(ws, bucket)
                if data is None:
                    continue
                if data.get("type") != "order":
                    await ws.send_text(json.dumps({"type": "error", "message": "unknown message type"}))
                    continue
                try:
                    if data.get("token", token) != token:
                        raise Refused("this connection is another seat's: an order may only be placed for "
                                      "the seat the connection joined with")
                    game, team, ran = room.order(token, data.get("week"), data.get("quantity"))
                except Refused as exc:
                    await ws.send_text(json.dumps({"type": "error", "message": str(exc)}))
                    continue
                bucket.refund()
                await ws.send_text(json.dumps({"type": "accepted", "week": data["week"]}))
                await hub.team_changed(game, team)
                if ran and game.status == "over":
                    await hub.game_changed(game)
        except WebSocketDisconnect:
            pass
        finally:
            hub.players.get(token, set()).discard(ws)

    async def refuse(ws: WebSocket, message: str) -> None:
        await ws.send_text(json.dumps({"type": "error", "message": message}))
        await ws.close(code=4403)

    async def listen(ws: WebSocket, sockets: dict[WebSocket, Any], key: Any, first: list[dict[str, Any]]) -> None:
        """Keep a socket that only listens (the teacher acts through the API) until it closes."""
        sockets[ws] = key
        try:
            for message in first:
                await ws.send_text(json.dumps(message))
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            sockets.pop(ws, None)

    async def teacher_socket(ws: WebSocket) -> None:
        """``?game=ID``: that game's state, then each team's changes; without: the list of games, then each
        game's summary as it changes."""
        await ws.accept()
        if not room.is_teacher(ws.query_params.get("token")):
            return await refuse(ws, "teacher token missing or wrong")
        followed = ws.query_params.get("game")
        if followed is not None and followed not in room.games:
            return await refuse(ws, "no such game")
        first = ([game_state(room.games[followed], hub.base)] if followed is not None else
                 [{"type": "games", **games_list(room, hub.base)}])
        await listen(ws, hub.teachers, followed, first)

    async def projector_socket(ws: WebSocket) -> None:
        """``?game=ID``: what the wall shows (no token needed: it carries nothing a student could act with)."""
        await ws.accept()
        game = room.games.get(ws.query_params.get("game") or "")
        if game is None:
            return await refuse(ws, "no such game: open the projector view from the teacher's page")
        await listen(ws, hub.projectors, game.id, [projector_state(game, hub.base)])

    async def timeouts() -> None:
        while True:
            await asyncio.sleep(tick)
            for game, team in room.overdue():
                await hub.team_changed(game, team)
                if game.status == "over":
                    await hub.game_changed(game)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):  # noqa: ANN202 - Starlette's lifespan protocol
        task = asyncio.create_task(timeouts())
        yield
        task.cancel()
        store.close()

    routes = [
        Route("/", page("player.html")),
        Route("/teacher", page("teacher.html")),
        Route("/projector", page("projector.html")),
        Route("/static/common.js", script),
        Route("/api/join", join, methods=["POST"]),
        Route("/api/lookup", lookup, methods=["POST"]),
        Route("/api/seat", seat_info, methods=["POST"]),
        Route("/api/scenarios", scenarios),
        Route("/api/games", games, methods=["GET", "POST"]),
        Route("/api/games/{game}/qr.svg", qr),
        Route("/api/games/{game}/debrief.{kind}", export),
        Route("/api/games/{game}/teams/{team:int}/chart.png", chart),
        Route("/api/games/{game}", one_game, methods=["GET", "DELETE"]),
        Route("/api/games/{game}/seat", seat_action, methods=["POST"]),
        Route("/api/games/{game}/{action}", action, methods=["POST"]),
        WebSocketRoute("/ws/player", player_socket),
        WebSocketRoute("/ws/teacher", teacher_socket),
        WebSocketRoute("/ws/projector", projector_socket),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.room = room
    return app
