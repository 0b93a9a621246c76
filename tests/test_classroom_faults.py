"""The classroom server killed mid-game (SIGKILL) and restarted, and a small load test, on real processes."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time

import pytest
from websockets.sync.client import connect

from echelon.classroom.load import run_load
from echelon.classroom.process import ServerProcess as Server
from echelon.classroom.process import post_json as post

pytestmark = pytest.mark.slow


def play(server: Server, seat: dict, acked: list, stop: threading.Event, weeks: int) -> None:
    """A player who orders (week + team) % 11 as soon as a week opens; ``acked`` gets every acknowledged order.
    Ends at the game's end, when ``stop`` is set, or when the server goes away."""
    try:
        with connect(f"ws://127.0.0.1:{server.port}/ws/player?token={seat['token']}", open_timeout=10) as ws:
            while not stop.is_set():
                m = json.loads(ws.recv(timeout=30))
                if m["type"] == "accepted":
                    acked.append((seat["team"], m["week"], seat["site"], pending.pop(seat["token"])))
                elif m["type"] == "view":
                    if m["over"]:
                        return
                    week = m["view"]["week"]
                    if m["status"] == "running" and m["ordered"] is None and seat["token"] not in pending:
                        pending[seat["token"]] = (week + seat["team"]) % 11
                        time.sleep(random.uniform(0, 0.01))
                        ws.send(json.dumps({"type": "order", "week": week, "quantity": pending[seat["token"]]}))
                elif m["type"] == "error":
                    raise AssertionError(m["message"])
    except (OSError, TimeoutError, Exception) as exc:  # the server was killed: the connection drops
        if "ConnectionClosed" not in type(exc).__name__ and not isinstance(exc, OSError | TimeoutError):
            raise


pending: dict[str, int] = {}


def db_orders(path) -> dict[tuple[int, int, str], tuple[int, str]]:
    with sqlite3.connect(path) as db:
        return {(t, w, s): (q, src) for t, w, s, q, src in db.execute(
            "SELECT team, week, site, quantity, source FROM orders")}


def test_a_server_killed_mid_game_resumes_every_game_with_no_order_lost(tmp_path):
    db = tmp_path / "class.db"
    weeks = 36
    server = Server(db)
    try:
        game = post(f"{server.url}/api/games", {"teams": 3, "weeks": weeks, "bot": "sterman"}, server.teacher)
        seats = [post(f"{server.url}/api/join", {"code": game["code"], "name": f"p{i}"}) for i in range(10)]
        post(f"{server.url}/api/games/{game['id']}/start", {}, server.teacher)
        acked: list = []
        stop = threading.Event()
        players = [threading.Thread(target=play, args=(server, s, acked, stop, weeks)) for s in seats]
        for p in players:
            p.start()
        target = random.randint(10 * weeks // 5, 10 * weeks * 4 // 5)  # a random moment mid-game
        deadline = time.monotonic() + 60
        while len(acked) < target and time.monotonic() < deadline:
            time.sleep(0.001)
        server.kill()  # orders in flight
        stop.set()
        for p in players:
            p.join(30)
    finally:
        server.stop()
    stored = db_orders(db)
    assert 0 < len(acked) < 10 * weeks, "the kill should come mid-game"
    for team, week, site, quantity in acked:  # every acknowledged order survived the kill
        assert stored[(team, week, site)] == (quantity, "player")

    again = Server(db)
    try:
        assert again.teacher == server.teacher
        pending.clear()
        acked_after: list = []
        stop = threading.Event()
        players = [threading.Thread(target=play, args=(again, s, acked_after, stop, weeks)) for s in seats]
        for p in players:
            p.start()
        for p in players:
            p.join(120)
        assert not any(p.is_alive() for p in players), "the resumed game did not finish"
    finally:
        again.stop()
    final = db_orders(db)
    assert len(final) == 3 * weeks * 4  # every week of every team, team 3's two empty seats by the bot
    assert sum(src == "player" for _, src in final.values()) == 10 * weeks
    for key, value in stored.items():  # nothing stored before the kill changed
        assert final[key] == value
    for team, week, site, quantity in acked + acked_after:
        assert final[(team, week, site)] == (quantity, "player")
    seated = {(s["team"], s["site"]) for s in seats}
    assert {(t, s) for (t, _, s), (_, src) in final.items() if src == "player"} == seated


def test_fifty_teams_of_four_play_at_once_without_losing_an_order():
    r = run_load(50, weeks=4, limit=120)
    assert r.orders_sent == r.orders_in_db == 50 * 4 * 4 and r.mismatched == 0
    assert r.p99_ms < 30_000
