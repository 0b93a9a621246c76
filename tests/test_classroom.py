"""The classroom: seats, weeks, bots, timeouts, resume from SQLite, security and the debrief.

Costs are checked against the core run independently (a Simulator stepped with the same orders on the
same seed), never against the classroom's own bookkeeping.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from starlette.testclient import TestClient

from echelon.classroom import debrief
from echelon.classroom.server import MAX_MESSAGE, create_app
from echelon.classroom.session import Classroom, Refused
from echelon.classroom.store import Store
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator

SITES = ["retailer", "wholesaler", "distributor", "factory"]


def core_costs(orders: list[list[int]], seed: int = 0, weeks: int = 36) -> np.ndarray:
    """Per-site cost over the weeks of ``orders`` (week -> order per site), from the core directly."""
    sim = Simulator(load_scenario("beer_game").with_periods(weeks), batch=1)
    sim.reset(np.random.default_rng(seed))
    total = np.zeros(4)
    for week in orders:
        total += sim.step(np.array([week], dtype=float)).cost[0]
    return total


@pytest.fixture
def room(tmp_path):
    return Classroom(Store(tmp_path / "class.db"))


def orders_in_db(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]


def test_a_team_of_four_plays_and_its_costs_are_the_cores(room):
    game = room.create({"teams": 2, "weeks": 10, "seed": 3})
    seats = [room.join(game.code, f"player {i}") for i in range(4)]
    assert [(s.team, s.site) for s in seats] == [(1, s) for s in SITES]
    room.start(game)
    plan = [[(3 * w + 2 * i) % 13 for i in range(4)] for w in range(10)]
    for w, week in enumerate(plan, 1):
        for seat, q in zip(seats, week, strict=True):
            assert room.order(seat.token, w, q)[2] == (seat.site == "factory")  # runs when the last one orders
    team = game.teams[0]
    assert team.over and game.status == "over"  # team 2 had nobody: not played
    d = debrief.team_debrief(game, team)
    assert [s["cost"] for s in d["seats"]] == pytest.approx(core_costs(plan, seed=3, weeks=10).tolist(), abs=1e-9)
    assert [s["player"] for s in d["seats"]] == [f"player {i}" for i in range(4)]
    assert d["seats"][0]["orders"] == [float(w[0]) for w in plan]


def test_empty_seats_are_played_by_the_bot_and_recorded(room, tmp_path):
    game = room.create({"weeks": 8, "bot": "pass_through"})
    retailer = room.join(game.code, "Ann", site="retailer")
    room.start(game)
    for w in range(1, 9):
        room.order(retailer.token, w, 7)
    rows = Store(tmp_path / "class.db").orders(game.id)
    assert len(rows) == 32
    assert {r.source for r in rows if r.site != "retailer"} == {"bot"}
    # pass-through orders what came in: the wholesaler's orders go from the steady 4 to the retailer's 7
    wholesaler = [r.quantity for r in rows if r.site == "wholesaler"]
    assert wholesaler[0] == 4 and wholesaler[-1] == 7 and wholesaler == sorted(wholesaler)


def test_a_seated_player_who_does_not_order_in_time_is_replaced_for_that_week(room):
    game = room.create({"weeks": 4, "timeout": 30})
    ann, bob = room.join(game.code, "Ann"), room.join(game.code, "Bob")
    room.start(game)
    room.order(ann.token, 1, 4)
    team = game.teams[0]
    assert room.overdue(now=team.opened + 29) == []
    assert [t.number for _, t in room.overdue(now=team.opened + 30)] == [1]
    assert team.week == 2 and team.game.inputs["wholesaler"][0] == team.game.inputs["wholesaler"][0]
    room.order(bob.token, 2, 5)  # Bob is back the next week
    room.order(ann.token, 2, 5)
    assert team.week == 3


def test_refusals_leave_the_state_unchanged(room, tmp_path):
    game = room.create({"weeks": 5})
    ann, bob = room.join(game.code, "Ann"), room.join(game.code, "Bob")
    with pytest.raises(Refused, match="not started"):
        room.order(ann.token, 1, 4)
    room.start(game)
    room.order(ann.token, 1, 4)
    before = orders_in_db(tmp_path / "class.db")
    cases = [
        (None, 1, 4, "missing seat token"),
        ("forged-token", 1, 4, "unknown seat token"),
        (ann.token, 1, 5, "already ordered 4 for week 1"),
        (bob.token, 2, 4, "open week, 1"),
        (bob.token, 1, -1, "out of range"),
        (bob.token, 1, 10**6, "out of range"),
        (bob.token, 1, "12x", "not a whole number"),
        (bob.token, 1, 2.5, "not a whole number"),
        (bob.token, 1, True, "whole number"),
        (bob.token, 1, None, "whole number"),
        (bob.token, "1", 4, "open week"),
        (bob.token, 1, "1_0", "'1_0' is not a whole number"),  # Python's int() would read 10
        (bob.token, 1, "+5", "not a whole number"),
        (bob.token, 1, "\u0663", "not a whole number"),  # an Arabic-Indic 3: int() reads it
        (bob.token, 1, "1e1", "not a whole number"),
        (bob.token, 1, float("nan"), "not a whole number"),
    ]
    for token, week, q, message in cases:
        with pytest.raises(Refused, match=message):
            room.order(token, week, q)
    assert orders_in_db(tmp_path / "class.db") == before
    room.order(bob.token, 1, "6")  # a number typed as text is fine
    assert game.teams[0].week == 2
    room.force(game)  # (every team, as the API's {"team": "all"})
    with pytest.raises(Refused, match="week 1 is closed; the open week is 3"):
        room.order(ann.token, 1, 4)
    room.pause(game)
    with pytest.raises(Refused, match="paused"):
        room.order(ann.token, 2, 4)


def test_bad_game_settings_and_joins_are_refused(room):
    for settings, message in [({"teams": 0}, "teams"), ({"weeks": "x"}, "weeks"), ({"scenario": "nope"}, "nope"),
                              ({"bot": "nobody"}, "nobody"), ({"colour": 1}, "colour"), ({"timeout": -1}, "timeout")]:
        with pytest.raises(Refused, match=message):
            room.create(settings)
    assert room.games == {}
    game = room.create({"teams": 1})
    for name, message in [("", "type your name"), ("x" * 41, "at most 40"), ("a\x00b", "letters"), (7, "name")]:
        with pytest.raises(Refused, match=message):
            room.join(game.code, name)
    with pytest.raises(Refused, match="join code"):
        room.join("NOPE", "Ann")
    for i in range(4):
        room.join(game.code.lower(), f"p{i}")
    with pytest.raises(Refused, match="every seat is taken"):
        room.join(game.code, "late")


def test_joining_twice_from_one_browser_gives_one_seat_and_names_are_unique(tmp_path):
    """A double tap on Join (or a retry after a lost answer) returns the browser's seat, also after a restart;
    a second student with a name already taken is refused (letter case and spaces aside), and a malformed
    browser id is refused."""
    path = tmp_path / "class.db"
    room = Classroom(Store(path))
    game = room.create({"teams": 2})
    first = room.join(game.code, "Ann", client="browser-one-0001")
    again = room.join(game.code, "Ann", client="browser-one-0001")
    assert again.token == first.token and len(game.seats) == 1
    for name in ("Ann", "ann", "  ANN "):
        with pytest.raises(Refused, match="'.*' is taken in this game"):
            room.join(game.code, name, client="browser-two-0002")
    bob = room.join(game.code, "Bob", client="browser-two-0002")
    assert bob.token != first.token and len(game.seats) == 2
    for bad in ("short", "x" * 65, "has space!", 7):
        with pytest.raises(Refused, match="client: 8 to 64"):
            room.join(game.code, "Cy", client=bad)
    restarted = Classroom(Store(path))
    restarted.load()
    assert restarted.join(game.code, "anything", client="browser-one-0001").token == first.token
    assert len(restarted.games[game.id].seats) == 2
    other = room.create({"teams": 1})  # the same browser in another game takes a new seat there
    assert room.join(other.code, "Ann", client="browser-one-0001").token != first.token


def test_a_database_from_before_browser_ids_still_loads(tmp_path):
    """A classroom file written before the clients and players tables and the seats' ``auto`` and orders'
    ``seat`` columns: its games load, replay reads it read-only (a student's weeks credited to the seat's
    player), and a writable open adds what is missing."""
    path = tmp_path / "old.db"
    room = Classroom(Store(path))
    game = room.create({"teams": 1, "weeks": 3})
    ann = room.join(game.code, "Ann")
    room.start(game)
    room.order(ann.token, 1, 4)
    room.store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE clients")
        db.execute("DROP TABLE players")
        db.execute("ALTER TABLE seats DROP COLUMN auto")
        db.execute("ALTER TABLE orders DROP COLUMN seat")
    read = Classroom(Store(path, read_only=True))
    read.load(resume=False)
    old = read.games[game.id]
    assert [s.name for s in old.seats.values()] == ["Ann"]
    assert debrief.team_debrief(old, old.teams[0])["seats"][0]["ordered_by"] == ["Ann"]
    again = Classroom(Store(path))  # a writable open adds the tables and columns
    again.load()
    assert again.join(game.code, "Bob", client="browser-three-3").name == "Bob"
    again.hand_to_bot(again.games[game.id], 1, "retailer")
    assert again.games[game.id].teams[0].week == 2  # Bob has not ordered: the week still waits


def test_a_restarted_classroom_is_exactly_where_it_was(tmp_path):
    path = tmp_path / "class.db"
    room = Classroom(Store(path))
    game = room.create({"teams": 3, "weeks": 8, "seed": 5, "bot": "sterman"})
    seats = [room.join(game.code, f"p{i}") for i in range(6)]  # team 1 full, team 2 half
    room.start(game)
    for w in range(1, 6):
        for s in seats:
            room.order(s.token, w, (w + len(s.name)) % 9)
    room.order(seats[0].token, 6, 3)  # a week half ordered
    again = Classroom(Store(path))
    again.load()
    assert again.teacher_token == room.teacher_token
    moved = again.games[game.id]
    for old, new in zip(game.teams, moved.teams, strict=True):
        assert new.week == old.week
        assert new.pending == old.pending
        assert new.game.costs == old.game.costs and new.game.advice == old.game.advice
    with pytest.raises(Refused, match="already ordered 3"):
        again.order(seats[0].token, 6, 3)


def core_weekly_costs(orders: list[list[int]], seed: int, weeks: int) -> np.ndarray:
    """``[weeks, sites]``: the cost of each week and site from the core directly."""
    sim = Simulator(load_scenario("beer_game").with_periods(weeks), batch=1)
    sim.reset(np.random.default_rng(seed))
    return np.array([sim.step(np.array([week], dtype=float)).cost[0] for week in orders])


def test_the_teacher_hands_seats_to_the_bot_moves_them_and_the_debrief_credits_who_ordered(tmp_path):
    """Ann plays the retailer, is handed to the bot for weeks 3-4 (the week stops waiting for her, her orders
    are refused) and gets the seat back; Bob joins the wholesaler late (week 3); Cy's week 2 is forced for
    his seat alone, then he is moved to team 2. The debrief credits each week to who ordered it, its costs
    are the core's over those weeks, team 1 is marked as played partly by the bot, and all of it survives a
    restart."""
    path = tmp_path / "class.db"
    room = Classroom(Store(path))
    game = room.create({"teams": 2, "weeks": 6, "seed": 2, "bot": "base_stock"})
    ann = room.join(game.code, "Ann", team=1, site="retailer")
    cy = room.join(game.code, "Cy", team=1, site="distributor")
    room.start(game)
    team = game.teams[0]
    room.order(ann.token, 1, 5)
    room.order(cy.token, 1, 6)
    assert team.week == 2
    room.order(ann.token, 2, 7)
    assert room.force(game, 1, "distributor") == [team] and team.week == 3  # Cy's seat alone: the week runs
    bob = room.join(game.code, "Bob", team=1, site="wholesaler")
    room.hand_to_bot(game, 1, "retailer")
    with pytest.raises(Refused, match="handed your seat to the bot"):
        room.order(ann.token, 3, 4)
    with pytest.raises(Refused, match="already played by the bot"):
        room.hand_to_bot(game, 1, "retailer")
    room.order(bob.token, 3, 4)
    room.order(cy.token, 3, 4)
    assert team.week == 4  # nobody waited for Ann
    moved = room.move(game, 1, "distributor", 2, "factory")
    assert (moved.team, moved.site) == (2, "factory") and room.seat(cy.token) == moved
    with pytest.raises(Refused, match="is taken"):
        room.move(game, 1, "wholesaler", 2, "factory")
    room.order(bob.token, 4, 3)  # Ann with the bot, Cy gone: Bob's order runs week 4
    assert team.week == 5
    room.hand_to_bot(game, 1, "retailer", auto=False)
    for w in (5, 6):
        room.order(ann.token, w, 4)
        room.order(bob.token, w, 4)
    assert team.over
    d = debrief.team_debrief(game, team)
    by = {s["site"]: s for s in d["seats"]}
    assert by["retailer"]["ordered_by"] == ["Ann", "Ann", "bot", "bot", "Ann", "Ann"]
    assert by["wholesaler"]["ordered_by"] == ["bot", "bot", "Bob", "Bob", "Bob", "Bob"]
    assert by["distributor"]["ordered_by"] == ["Cy", "bot", "Cy", "bot", "bot", "bot"]
    assert by["factory"]["ordered_by"] == ["bot"] * 6
    assert (by["retailer"]["student_weeks"], by["retailer"]["bot_weeks"]) == (4, 2)
    assert d["bot_weeks"] == 2 + 2 + 4 + 6 and d["with_bot"]
    weekly = core_weekly_costs([[int(x) for x in w] for w in team.game.orders], seed=2, weeks=6)
    student = [w - 1 for w in (1, 2, 5, 6)]
    assert by["retailer"]["student_cost"] == pytest.approx(weekly[student, 0].sum(), abs=1e-9)
    assert by["retailer"]["students"] == [{"name": "Ann", "weeks": 4, "cost": pytest.approx(weekly[student, 0].sum()),
                                           "optimal_cost": pytest.approx(team.optimal_costs[student, 0].sum())}]
    assert by["distributor"]["student_cost"] + by["distributor"]["bot_cost"] == pytest.approx(weekly[:, 2].sum())
    rows = [r.split(",") for r in debrief.to_csv(game).splitlines()[1:] if r.startswith("1,")]
    assert [(r[1], r[3], r[4]) for r in rows if r[2] == "distributor"][:2] == [("1", "Cy", "student"),
                                                                              ("2", "bot", "bot")]
    assert "Team 1 *" in debrief.to_text(game) and "Ann (4 wk), bot (2 wk)" in debrief.to_text(game)
    again = Classroom(Store(path))
    again.load()
    assert debrief.team_debrief(again.games[game.id], again.games[game.id].teams[0]) == d
    assert again.seat(cy.token).team == 2


def test_replay_reads_a_classroom_database(tmp_path, capsys):
    from echelon.cli import main

    path = tmp_path / "class.db"
    room = Classroom(Store(path))
    game = room.create({"weeks": 2})
    seat = room.join(game.code, "Ann")
    room.start(game)
    room.order(seat.token, 1, 4)
    room.order(seat.token, 2, 4)
    assert main(["replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"join code {game.code}" in out and "Ann" in out and "The lesson" in out


def test_the_exports(room):
    game = room.create({"weeks": 3, "seed": 1})
    seat = room.join(game.code, "Ann")
    room.start(game)
    for w in (1, 2, 3):
        room.order(seat.token, w, 5)
    data = json.loads(debrief.to_json(game))
    assert data["teams"][0]["rank"] == 1 and data["teams"][0]["weeks_played"] == 3
    rows = debrief.to_csv(game).splitlines()
    assert rows[0].startswith("team,week,site,player,played_by,order,optimal_order") and len(rows) == 1 + 3 * 4
    assert "data:image/png;base64," in debrief.to_html(game)
    assert debrief.team_png(game, game.teams[0])[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------------------- the web app

@pytest.fixture
def client(tmp_path):
    app = create_app(str(tmp_path / "class.db"))
    with TestClient(app) as c:
        c.teacher = app.state.room.teacher_token
        c.db = tmp_path / "class.db"
        yield c


def _teacher(client):
    return {"Authorization": f"Bearer {client.teacher}"}


def _until(ws, wanted):
    """The next message ``wanted`` accepts (views of teammates' changes come in between)."""
    while True:
        message = ws.receive_json()
        if wanted(message):
            return message


def test_the_app_plays_a_week_over_websockets(client):
    game = client.post("/api/games", json={"weeks": 2}, headers=_teacher(client)).json()
    seats = [client.post("/api/join", json={"code": game["code"], "name": f"p{i}"}).json() for i in range(4)]
    started = client.post(f"/api/games/{game['id']}/start", json={}, headers=_teacher(client)).json()
    assert started["status"] == "running"
    sockets = [client.websocket_connect(f"/ws/player?token={s['token']}") for s in seats]
    try:
        views = [ws.__enter__().receive_json() for ws in sockets]
        assert [v["site"] for v in views] == SITES and views[0]["view"]["week"] == 1
        assert "customer_demand" not in views[1]["view"]
        for i, ws in enumerate(sockets):
            ws.send_json({"type": "order", "week": 1, "quantity": 4 + i})
            assert _until(ws, lambda m: m["type"] != "view") == {"type": "accepted", "week": 1}
        # every player gets views as teammates order; the last one shows week 2
        last = _until(sockets[0], lambda m: m["type"] == "view" and m["view"]["week"] == 2)
        assert last["view"]["last_order"] == 4
        assert set(last["view"]) >= {"on_hand", "backorders", "incoming_order", "on_the_way", "last_cost"}
        assert "orders" not in json.dumps(last["teammates"])  # nobody sees a teammate's order
    finally:
        for ws in sockets:
            ws.__exit__(None, None, None)


def test_the_app_answers_a_double_tap_with_the_same_seat(client):
    """Two join requests from one browser (its id in the body) are one seat; a taken name is a 400 with a reason."""
    game = client.post("/api/games", json={"teams": 1}, headers=_teacher(client)).json()
    body = {"code": game["code"], "name": "Ann", "client": "0123456789abcdef"}
    first, second = client.post("/api/join", json=body), client.post("/api/join", json=body)
    assert first.status_code == second.status_code == 200
    assert first.json()["token"] == second.json()["token"]
    taken = client.post("/api/join", json={"code": game["code"], "name": "ann", "client": "fedcba9876543210"})
    assert taken.status_code == 400 and "taken in this game" in taken.json()["error"]
    teams = client.get(f"/api/games/{game['id']}", headers=_teacher(client)).json()["teams"]
    assert sum(p is not None for p in teams[0]["players"].values()) == 1


def test_force_runs_one_teams_week_and_every_teams_only_when_asked(client):
    """Forcing is per team: team 1's week runs, team 2's (just opened, one order in) is untouched; every team
    only with {"team": "all"}; no team named is a 400 with what to send."""
    game = client.post("/api/games", json={"teams": 2}, headers=_teacher(client)).json()
    ann = client.post("/api/join", json={"code": game["code"], "name": "Ann", "team": 1}).json()
    bob = client.post("/api/join", json={"code": game["code"], "name": "Bob", "team": 2}).json()
    cy = client.post("/api/join", json={"code": game["code"], "name": "Cy", "team": 2}).json()
    assert ann["team"] == 1 and bob["team"] == cy["team"] == 2
    client.post(f"/api/games/{game['id']}/start", json={}, headers=_teacher(client))
    with client.websocket_connect(f"/ws/player?token={bob['token']}") as ws:
        _until(ws, lambda m: m.get("type") == "view")
        ws.send_json({"type": "order", "week": 1, "quantity": 4})
        _until(ws, lambda m: m.get("type") == "accepted")
    missing = client.post(f"/api/games/{game['id']}/force", json={}, headers=_teacher(client))
    assert missing.status_code == 400 and '{"team": "all"}' in missing.json()["error"]
    bad = client.post(f"/api/games/{game['id']}/force", json={"team": 3}, headers=_teacher(client))
    assert bad.status_code == 400 and "1 to 2" in bad.json()["error"]
    one = client.post(f"/api/games/{game['id']}/force", json={"team": 1}, headers=_teacher(client)).json()
    assert one["moved"] == [1]
    teams = client.get(f"/api/games/{game['id']}", headers=_teacher(client)).json()["teams"]
    assert teams[0]["week"] == 2 and teams[1]["week"] == 1 and teams[1]["ordered"] == [bob_site(teams, "Bob")]
    every = client.post(f"/api/games/{game['id']}/force", json={"team": "all"}, headers=_teacher(client)).json()
    assert every["moved"] == [1, 2]


def test_the_teacher_frees_a_ghost_seat_and_renames_a_player(client):
    """A freed seat goes to the bot (the week runs without it) and its browser back to the join form; another
    student takes it; renaming keeps names unique; both survive a restart."""
    game = client.post("/api/games", json={"teams": 1, "weeks": 4}, headers=_teacher(client)).json()
    ghost = client.post("/api/join", json={"code": game["code"], "name": "Ghost", "site": "retailer",
                                           "client": "ghost-browser-1"}).json()
    ann = client.post("/api/join", json={"code": game["code"], "name": "Ann", "site": "wholesaler"}).json()
    client.post(f"/api/games/{game['id']}/start", json={}, headers=_teacher(client))
    url = f"/api/games/{game['id']}/seat"
    with client.websocket_connect(f"/ws/player?token={ghost['token']}") as gone:
        _until(gone, lambda m: m.get("type") == "view")
        freed = client.post(url, json={"team": 1, "site": "retailer", "action": "free"}, headers=_teacher(client))
        assert freed.status_code == 200
        assert "join the game again" in _until(gone, lambda m: m.get("type") == "error")["message"]
    with client.websocket_connect(f"/ws/player?token={ann['token']}") as ws:  # Ann alone: her order runs the week
        _until(ws, lambda m: m.get("type") == "view")
        ws.send_json({"type": "order", "week": 1, "quantity": 4})
        _until(ws, lambda m: m.get("type") == "accepted")
    teams = client.get(f"/api/games/{game['id']}", headers=_teacher(client)).json()["teams"]
    assert teams[0]["week"] == 2 and teams[0]["players"]["retailer"] is None
    late = client.post("/api/join", json={"code": game["code"], "name": "Late", "site": "retailer"})
    assert late.status_code == 200 and late.json()["site"] == "retailer"
    again = client.post("/api/join", json={"code": game["code"], "name": "Ghost", "client": "ghost-browser-1"})
    assert again.json()["token"] != ghost["token"] and again.json()["site"] not in ("retailer", "wholesaler")
    renamed = client.post(url, json={"team": 1, "site": "wholesaler", "action": "rename", "name": "Ann B."},
                          headers=_teacher(client))
    assert renamed.json()["name"] == "Ann B."
    taken = client.post(url, json={"team": 1, "site": "wholesaler", "action": "rename", "name": "late"},
                        headers=_teacher(client))
    assert taken.status_code == 400 and "taken" in taken.json()["error"]
    for body, message in [({"team": 1, "site": "nowhere", "action": "free"}, "nobody sits"),
                          ({"team": 1, "site": "retailer", "action": "explode"}, "'free', 'bot', 'back'")]:
        r = client.post(url, json=body, headers=_teacher(client))
        assert r.status_code == 400 and message in r.json()["error"]
    assert client.post(url, json={"team": 1, "site": "retailer", "action": "free"}).status_code in (401, 403)
    restarted = Classroom(Store(client.db))
    restarted.load()
    names = {s.site: s.name for s in restarted.games[game["id"]].seats.values()}
    assert names == {"retailer": "Late", "wholesaler": "Ann B.", again.json()["site"]: "Ghost"}


def bob_site(teams, name):
    return next(site for site, player in teams[1]["players"].items() if player == name)


def test_the_apps_security(client):
    game = client.post("/api/games", json={"weeks": 3}, headers=_teacher(client)).json()
    ann = client.post("/api/join", json={"code": game["code"], "name": "Ann"}).json()
    bob = client.post("/api/join", json={"code": game["code"], "name": "Bob"}).json()
    # teacher actions need the teacher's token
    for headers in ({}, {"Authorization": "Bearer " + ann["token"]}, {"Authorization": "Bearer x"}):
        r = client.post(f"/api/games/{game['id']}/start", json={}, headers=headers)
        assert r.status_code == 403 and r.json() == {"error": "teacher token missing or wrong"}
        assert client.get(f"/api/games/{game['id']}/debrief.json", headers=headers).status_code == 403
    client.post(f"/api/games/{game['id']}/start", json={}, headers=_teacher(client))
    r = client.post("/api/join", content=b"{" + b" " * 5000 + b"}", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "too large" in r.json()["error"]
    with client.websocket_connect("/ws/player?token=forged") as ws:
        assert ws.receive_json() == {"type": "error", "message": "unknown seat token: join the game again"}
    with client.websocket_connect("/ws/player") as ws:
        assert "missing seat token" in ws.receive_json()["message"]
    before = orders_in_db(client.db)
    with client.websocket_connect(f"/ws/player?token={ann['token']}") as ws:
        ws.receive_json()
        refusals = [
            ({"type": "order", "week": 1, "quantity": 4, "token": bob["token"]}, "another seat's"),
            ({"type": "order", "week": 2, "quantity": 4}, "open week, 1"),
            ({"type": "order", "week": 1, "quantity": 999}, "out of range"),
            ({"type": "order", "week": 1, "quantity": "lots"}, "not a whole number"),
            ({"type": "order", "week": 1, "quantity": 4, "pad": "x" * MAX_MESSAGE}, "too large"),
            ({"type": "shout"}, "unknown message type"),
        ]
        for message, expected in refusals:
            ws.send_text(json.dumps(message))
            reply = ws.receive_json()
            assert reply["type"] == "error" and expected in reply["message"], (message, reply)
        ws.send_text("not json")
        assert ws.receive_json()["message"] == "messages are JSON objects"
        assert orders_in_db(client.db) == before
        for _ in range(40):  # a flood: refused beyond the burst, nothing changes
            ws.send_text(json.dumps({"type": "order", "week": 9, "quantity": 1}))
        replies = [ws.receive_json()["message"] for _ in range(40)]
        assert "too many messages; slow down" in replies
        assert orders_in_db(client.db) == before
    with client.websocket_connect(f"/ws/teacher?token={ann['token']}") as ws:
        assert ws.receive_json()["message"] == "teacher token missing or wrong"


def test_the_teacher_socket_and_exports(client):
    game = client.post("/api/games", json={"weeks": 2, "teams": 2}, headers=_teacher(client)).json()
    with client.websocket_connect(f"/ws/teacher?token={client.teacher}") as listing, \
            client.websocket_connect(f"/ws/teacher?token={client.teacher}&game={game['id']}") as ws:
        games = listing.receive_json()
        assert games["type"] == "games" and [g["code"] for g in games["games"]] == [game["code"]]
        first = ws.receive_json()
        assert first["type"] == "game" and first["code"] == game["code"] and len(first["teams"]) == 2
        seat = client.post("/api/join", json={"code": game["code"], "name": "Ann", "team": 2}).json()
        assert seat["team"] == 2
        assert ws.receive_json()["teams"][1]["players"]["retailer"] == "Ann"
        assert listing.receive_json() == {"type": "summary", **client.get("/api/games", headers=_teacher(
            client)).json()["games"][0]}
    with client.websocket_connect(f"/ws/teacher?token={client.teacher}&game=nope") as ws:
        assert ws.receive_json()["message"] == "no such game"
    assert client.get(f"/api/games/{game['id']}/qr.svg").content.startswith(b"<?xml")
    offered = client.post("/api/lookup", json={"code": game["code"].lower()}).json()
    assert offered == {"teams": 2, "sites": SITES, "status": "lobby"}
    assert client.post("/api/lookup", json={"code": "ZZZZZZ"}).status_code == 400
    r = client.get(f"/api/games/{game['id']}/debrief.csv?token={client.teacher}")
    assert r.status_code == 200 and r.text.startswith("team,week")
    r = client.post(f"/api/games/{game['id']}/fly", json={}, headers=_teacher(client))
    assert r.status_code == 400 and "unknown action" in r.json()["error"]
    assert client.post("/api/games/nope/start", json={}, headers=_teacher(client)).status_code == 404


def test_the_servers_clock_lets_the_bot_order_for_a_player_who_left(tmp_path):
    app = create_app(str(tmp_path / "class.db"), tick=0.05)
    with TestClient(app) as client:
        client.teacher = app.state.room.teacher_token
        game = client.post("/api/games", json={"weeks": 3, "timeout": 0.3}, headers=_teacher(client)).json()
        ann = client.post("/api/join", json={"code": game["code"], "name": "Ann"}).json()
        client.post("/api/join", json={"code": game["code"], "name": "Bob"})  # Bob never connects
        client.post(f"/api/games/{game['id']}/start", json={}, headers=_teacher(client))
        with client.websocket_connect(f"/ws/player?token={ann['token']}") as ws:
            ws.receive_json()
            ws.send_json({"type": "order", "week": 1, "quantity": 6})
            view = _until(ws, lambda m: m["type"] == "view" and m["view"]["week"] == 2)
            assert view["teammates"][1] == {"site": "wholesaler", "name": "Bob", "ordered": False}
    rows = Store(tmp_path / "class.db").orders(game["id"])
    assert {(r.site, r.source) for r in rows if r.week == 1} == {
        ("retailer", "player"), ("wholesaler", "timeout"), ("distributor", "bot"), ("factory", "bot")}


def test_the_projector_view_the_countdown_the_changeable_timeout_and_the_undo_of_end(client):
    """The projector's socket needs no token and carries no names or tokens; the countdown is in every view and
    restarts when the teacher changes the timeout during the game; End is undone within the minute."""
    room = client.app.state.room
    game = client.post("/api/games", json={"weeks": 3, "teams": 2}, headers=_teacher(client)).json()
    ann = client.post("/api/join", json={"code": game["code"], "name": "Ann", "team": 1}).json()
    client.post(f"/api/games/{game['id']}/start", json={}, headers=_teacher(client))
    assert client.get("/projector").status_code == 200
    with client.websocket_connect(f"/ws/projector?game={game['id']}") as wall, \
            client.websocket_connect(f"/ws/player?token={ann['token']}") as phone:
        state = wall.receive_json()
        assert state["type"] == "projector" and state["code"] == game["code"] and state["status"] == "running"
        assert [t["team"] for t in state["teams"]] == [1] and state["teams"][0]["seconds_left"] is None
        text = json.dumps(state)
        assert ann["token"] not in text and client.teacher not in text and "Ann" not in text
        assert phone.receive_json()["seconds_left"] is None
        url = f"/api/games/{game['id']}/timeout"
        for body, message in [({}, "say how long"), ({"seconds": -5}, "timeout"), ({"seconds": "soon"}, "timeout")]:
            r = client.post(url, json=body, headers=_teacher(client))
            assert r.status_code == 400 and message in r.json()["error"]
        assert client.post(url, json={"seconds": 90}, headers=_teacher(client)).status_code == 200
        assert 89 < _until(phone, lambda m: m.get("type") == "view")["seconds_left"] <= 90
        assert 89 < _until(wall, lambda m: m["type"] == "projector")["teams"][0]["seconds_left"] <= 90
        phone.send_json({"type": "order", "week": 1, "quantity": 4})
        moved = _until(wall, lambda m: m["type"] == "projector_team")
        assert moved["week"] == 2 and len(moved["weekly_cost"]) == 1 and "players" not in moved
        client.post(f"/api/games/{game['id']}/end", json={}, headers=_teacher(client))
        assert _until(phone, lambda m: m.get("type") == "view" and m["view"]["week"] == 2)["ordered"] is None
        assert _until(phone, lambda m: m.get("type") == "view")["status"] == "over"
        summary = client.get("/api/games", headers=_teacher(client)).json()["games"][0]
        assert summary["status"] == "over" and summary["undo_end"]
        assert client.post(f"/api/games/{game['id']}/reopen", json={}, headers=_teacher(client)).json()[
            "status"] == "running"
        assert _until(phone, lambda m: m.get("type") == "view")["status"] == "running"
    assert room.games[game["id"]].settings.timeout == 90
    restarted = Classroom(Store(client.db))
    restarted.load()
    assert restarted.games[game["id"]].settings.timeout == 90  # kept across restarts
    g = room.games[game["id"]]
    room.end(g)
    with pytest.raises(Refused, match="more than 60 s ago"):
        room.reopen(g, now=g.ended[0] + 61)
    with client.websocket_connect("/ws/projector?game=nope") as wall:
        assert "no such game" in wall.receive_json()["message"]


def test_the_games_list_archives(client):
    """The list gives each game's summary (no teams' details); a game archived is flagged, and unarchived."""
    ids = [client.post("/api/games", json={"weeks": 2}, headers=_teacher(client)).json()["id"] for _ in range(3)]
    listed = client.get("/api/games", headers=_teacher(client)).json()["games"]
    assert [g["id"] for g in listed] == ids and "teams" in listed[0] and listed[0]["teams"] == 1
    assert set(listed[0]) >= {"code", "status", "created", "archived", "players", "weeks", "join_url"}
    assert client.post(f"/api/games/{ids[1]}/archive", json={}, headers=_teacher(client)).status_code == 200
    assert [g["archived"] for g in client.get("/api/games", headers=_teacher(client)).json()["games"]] == [
        False, True, False]
    restarted = Classroom(Store(client.db))
    restarted.load()
    assert restarted.games[ids[1]].archived
    client.post(f"/api/games/{ids[1]}/unarchive", json={}, headers=_teacher(client))
    assert not client.app.state.room.games[ids[1]].archived
    assert client.get(f"/api/games/{ids[1]}").status_code == 403


def beer_game_changed(**fields) -> dict:
    """The beer game's file with fields set on every site (written here, not by the classroom's setup)."""
    from echelon.envs.scenario import read_yaml, resolve_scenario_path

    raw = read_yaml(resolve_scenario_path("beer_game"))
    demand = fields.pop("demand", None)
    periods = fields.pop("periods", 8)
    for site in raw["sites"]:
        site.update({k: (v[raw["sites"].index(site)] if isinstance(v, list) else v) for k, v in fields.items()})
    if demand is not None:
        raw["demand"] = {"retailer": demand}
    raw["periods"] = periods
    return raw


def test_a_game_set_up_with_its_own_costs_delays_and_demand_costs_what_the_core_says(room):
    """Costs per site, lead times, order delays, opening stock and a demand typed week by week: the team's
    costs are the core's on the same scenario written independently, and the demand is the list typed."""
    values = [3, 5, 0, 9, 4, 4, 12, 1]
    setup = {"holding_cost": [1, 0.5, 0.25, 2], "backlog_cost": 3, "lead_time": 1, "order_delay": 1,
             "initial_inventory": 6, "demand": {"kind": "sequence", "values": values}}
    game = room.create({"weeks": 8, "seed": 3, "setup": setup, "bot": "base_stock"})
    ann = room.join(game.code, "Ann", site="distributor")
    room.start(game)
    for w in range(1, 9):
        room.order(ann.token, w, (5 * w) % 11)
    team = game.teams[0]
    assert team.over and team.game.demand == [float(v) for v in values]
    scenario = load_scenario(beer_game_changed(holding_cost=[1, 0.5, 0.25, 2], backlog_cost=3, lead_time=1,
                                               order_delay=1, initial_inventory=6,
                                               demand={"kind": "sequence", "values": values})).with_periods(8)
    sim = Simulator(scenario, batch=1)
    sim.reset(np.random.default_rng(3))
    costs = sum(sim.step(np.array([w], dtype=float)).cost[0] for w in team.game.orders)
    d = debrief.team_debrief(game, team)
    assert [s["cost"] for s in d["seats"]] == pytest.approx(costs.tolist(), abs=1e-9)
    plain = core_costs([[int(x) for x in w] for w in team.game.orders], seed=3, weeks=8)
    assert abs(plain.sum() - costs.sum()) > 1  # the setup changed the game
    again = Classroom(Store(room.store.path))
    again.load()  # the setup is kept with the game
    assert again.games[game.id].settings.setup.lead_time == 1
    assert again.games[game.id].teams[0].game.costs == team.game.costs


@pytest.mark.parametrize(("setup", "message"), [
    ({"holding_cost": -1}, "setup: site 'retailer': field 'holding_cost' must be >= 0 (got -1)"),
    ({"backlog_cost": [1, 2]}, "setup: backlog_cost: give one value for every site or one per site (4:"),
    ({"lead_time": 0}, "setup: site 'retailer': field 'lead_time' must be a whole number >= 1"),
    ({"order_delay": "two"}, "setup: site 'retailer': field 'order_delay' must be a whole number (got 'two')"),
    ({"demand": {"kind": "uniform", "low": 0, "high": "x"}}, "setup: demand of site 'retailer': field 'high'"),
    ({"demand": {"kind": "sequence", "values": [4, 8]}}, "the sequence has 2 periods, fewer than the 36"),
    ({"demand": {"kind": "step", "before": 4, "after": 8, "at": 40}}, "the step at period 40 never comes"),
    ({"demand": {"kind": "wave"}}, "setup: demand of site 'retailer': field 'kind' must be one of"),
    ({"colour": "red"}, "colour"),
])
def test_a_wrong_setup_gets_the_scenario_files_one_line_message(room, setup, message):
    with pytest.raises(Refused) as refused:
        room.create({"setup": setup})
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert room.games == {}


def test_the_palette_is_colour_blind_safe_and_readable_on_white():
    """Every site's colour has at least 3:1 contrast on white (WCAG 2.1 non-text contrast), and the page's
    script gets the one palette the PNG charts use."""
    from echelon.play import PALETTE

    def luminance(colour: str) -> float:
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    assert all(1.05 / (luminance(c) + 0.05) >= 3 for c in PALETTE) and len(set(PALETTE)) == len(PALETTE)
    assert "#0072B2" in PALETTE and "#E69F00" not in PALETTE  # Okabe-Ito's blue kept, its light orange not


def test_the_pages_script_carries_the_palette(client):
    script = client.get("/static/common.js").text
    assert "__PALETTE__" not in script and json.dumps(list(__import__("echelon.play").play.PALETTE)) in script


def test_the_public_address_goes_in_the_join_address(tmp_path):
    """With --public-url (or the network address the server found), the pages and the QR code give the class
    that address, whatever address the teacher's browser used."""
    app = create_app(str(tmp_path / "class.db"), public_url="https://beer.example.org/")
    with TestClient(app) as c:
        token = {"Authorization": f"Bearer {app.state.room.teacher_token}"}
        game = c.post("/api/games", json={}, headers=token).json()
        assert game["join_url"] == f"https://beer.example.org/?code={game['code']}"
        assert c.get("/api/games", headers=token).json()["games"][0]["join_url"] == game["join_url"]
        with c.websocket_connect(f"/ws/projector?game={game['id']}") as wall:
            assert wall.receive_json()["join_url"] == game["join_url"]


def test_bodies_are_capped_before_they_are_read_and_deep_json_is_refused_not_crashed(client):
    """A body larger than 4 KB is refused by its Content-Length before it is read, and a body that streams on
    past it (no length given) is cut there; JSON nested deeper than Python's stack is a 400 or an error
    message, never a 500 or a dropped socket."""
    game = client.post("/api/games", json={}, headers=_teacher(client)).json()
    huge = client.post("/api/join", content=b"x" * 100, headers={"Content-Length": "67108864"})
    assert huge.status_code == 400 and "request too large" in huge.json()["error"]

    def chunks():
        for _ in range(64):
            yield b" " * 1024

    streamed = client.post("/api/join", content=chunks())
    assert streamed.status_code == 400 and "request too large" in streamed.json()["error"]
    deep = client.post("/api/join", content=b"[" * 4000)
    assert deep.status_code == 400 and "not JSON" in deep.json()["error"]
    seat = client.post("/api/join", json={"code": game["code"], "name": "Ann"}).json()
    with client.websocket_connect(f"/ws/player?token={seat['token']}") as ws:
        _until(ws, lambda m: m.get("type") == "view")
        ws.send_text("[" * 1000)
        assert _until(ws, lambda m: m.get("type") == "error")["message"] == "messages are JSON objects"
        ws.send_json({"type": "order", "week": 1, "quantity": "1_0"})
        assert "not started" in _until(ws, lambda m: m.get("type") == "error")["message"]
