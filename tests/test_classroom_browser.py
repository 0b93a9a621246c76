"""The classroom in a real browser (Debian's Chromium driven by Playwright): a teacher creates a game,
four players join one team and play all 36 weeks by typing orders, one reloads mid-game and carries on,
and the teacher's debrief shows the four costs the core computes for those orders, to the cent.

``ECHELON_SCREENSHOTS=FOLDER`` saves the teacher's dashboard and a player's page there.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from test_classroom import SITES, beer_game_changed, core_costs

from echelon.classroom.process import ServerProcess as Server
from echelon.classroom.process import post_json
from echelon.envs.scenario import load_scenario
from echelon.envs.simulator import Simulator

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WEEKS = 36

pytestmark = pytest.mark.slow


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/setup installs it (apt-get install chromium)")
        pytest.skip("Chromium is not installed here (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def plan(week: int, seat: int) -> int:
    """The order typed by seat ``seat`` in week ``week``: varied, some large, some zero."""
    return (7 * week + 5 * seat * seat + (week // 9) * 6) % 19


def screenshots(page, folder: str, stem: str, full: bool = True) -> None:
    """``stem-1280.png`` (1280x720) and ``stem-360.png`` (360 px wide, the whole page) in ``folder``; the page's
    own size is restored. Each width, and 320 px, also checks that nothing scrolls sideways."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width, height in ((1280, 720), (360, 740), (320, 640)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(200)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (stem, width)
        if width != 320:
            page.screenshot(path=str(Path(folder) / f"{stem}-{width}.png"), full_page=full and width == 360)
    page.set_viewport_size(size)


def core_costs_of(db: Path, game_id: str, team: int, weeks: int, seed: int) -> list[float]:
    """Each site's cost over the weeks the team played, from the core run on the orders stored for it (the
    players', the bot's and the timeouts'), rounded to the cent."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT week, site, quantity FROM orders WHERE game = ? AND team = ?",
                            (game_id, team)).fetchall()
    by = {(w, s): q for w, s, q in rows}
    orders = [[by[(w, s)] for s in SITES] for w in range(1, weeks + 1)]
    return [round(float(c), 2) for c in core_costs(orders, seed=seed, weeks=weeks)]


def test_a_class_plays_the_beer_game_in_the_browser(browser, tmp_path):
    """The teacher creates a game from the list page (the token leaves the address bar), the projector view
    shows the join code with no token and no controls, a student double-taps Join and gets one seat, the
    teacher kicks a ghost seat and hands another to the bot, forces one team's week without touching the
    other's, an order typed while offline is sent when the connection is back, four students play 36 weeks
    (one reloads mid-game), and the debrief shows the core's costs to the cent and marks the bot's weeks."""
    server = Server(tmp_path / "class.db")
    shots = os.environ.get("ECHELON_SCREENSHOTS")
    try:
        teacher = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        teacher.goto(f"{server.url}/teacher#{server.teacher}")
        teacher.wait_for_selector("#scenario option", state="attached")
        assert server.teacher not in teacher.url and "#" not in teacher.url  # the token left the address bar
        teacher.reload()  # and the page still works from what the browser kept
        teacher.wait_for_selector("#scenario option", state="attached")
        assert server.teacher not in teacher.url
        teacher.fill("#teams", "2")
        teacher.fill("#weeks", str(WEEKS))
        teacher.fill("#seed", "4")
        teacher.click("#createButton")
        teacher.wait_for_url("**/teacher?game=*")
        code = teacher.wait_for_selector("#code:not(:empty)").inner_text()
        game_id = teacher.url.split("game=")[1]

        wall = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        wall.goto(f"{server.url}/projector?game={game_id}")
        wall.wait_for_function(f"document.getElementById('code').textContent === '{code}'")
        assert wall.query_selector_all("button, input, select, form") == []  # nothing to act on
        assert server.teacher not in wall.content() and server.teacher not in wall.url
        assert f"/?code={code}" in wall.inner_text("#address") and "Waiting to start" in wall.inner_text("#status")

        players = []
        for i, site in enumerate(SITES):
            page = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True).new_page()
            page.goto(f"{server.url}/?code={code}")
            page.fill("#name", f"Student {i + 1}")
            page.select_option("#site", site)
            page.select_option("#team", "1")
            if i == 0:
                page.dblclick("#joinButton")  # a double tap is one seat (the count below stays 4 + 2)
            else:
                page.click("#joinButton")
            page.wait_for_selector("#game:not(.hidden)")
            assert page.inner_text("#who") == f"Student {i + 1}: you are the {site} of team 1."
            players.append(page)
        ghost = post_json(f"{server.url}/api/join", {"code": code, "name": "Ghost", "team": 2, "site": "retailer"})
        post_json(f"{server.url}/api/join", {"code": code, "name": "Eve", "team": 2, "site": "wholesaler"})
        teacher.wait_for_function("document.getElementById('status').textContent.includes('6 players joined')")
        teacher.click("button[data-act=start]")
        teacher.wait_for_selector("button[data-force='1']")  # each team has its own Force; none is game-wide
        teacher.once("dialog", lambda dialog: dialog.accept())
        teacher.click("#team-2 .seat[data-site=retailer] button[data-seat=free]")  # kick the ghost seat
        teacher.wait_for_function("!document.querySelector('#team-2').textContent.includes('Ghost')")
        teacher.click("#team-2 .seat[data-site=wholesaler] button[data-seat=bot]")  # Eve: the bot, for now
        teacher.wait_for_selector("#team-2 .seat[data-site=wholesaler] button[data-seat=back]")
        teacher.click("#team-2 .seat[data-site=wholesaler] button[data-seat=back]")
        teacher.wait_for_selector("#team-2 .seat[data-site=wholesaler] button[data-seat=bot]")
        teacher.once("dialog", lambda dialog: dialog.accept("Student One"))  # the teacher renames a player
        teacher.click("#team-1 .seat[data-site=retailer] button[data-seat=rename]")
        teacher.wait_for_function("document.getElementById('teamCards').textContent.includes('Student One')")
        assert "seat token" not in players[0].inner_text("#joinMessage")
        assert ghost["token"] not in teacher.content()

        for week in range(1, WEEKS + 1):
            for i, page in enumerate(players):
                if week == 18 and i == 1:
                    page.reload()  # a refresh mid-game rejoins the same seat
                    page.wait_for_selector("#game:not(.hidden)")
                    assert "wholesaler of team 1" in page.inner_text("#who")
                if week == 1 and i == 3:  # the factory dawdles: the teacher forces team 1's week only
                    teacher.click("button[data-force='1']")
                    page.wait_for_function("document.getElementById('orderWeek').textContent === '2'")
                    assert "week 1 " in teacher.inner_text("#team-2")  # Eve has not ordered: team 2 waits
                    continue
                page.wait_for_function(
                    f"document.getElementById('orderWeek').textContent === '{week}' && "
                    "!document.getElementById('order').disabled")
                if week == 3 and i == 0:  # a wrong entry is explained, and nothing is sent
                    page.fill("#order", "twelve")
                    page.press("#order", "Enter")
                    assert "is not a whole number" in page.inner_text("#message")
                if week == 10 and i == 2:  # the connection drops: the order typed meanwhile is not lost
                    page.context.set_offline(True)
                    page.evaluate("socket.close()")
                    page.wait_for_selector("#connection:not(.hidden)")
                    page.fill("#order", str(plan(week, i)))
                    page.press("#order", "Enter")
                    assert "will be sent when the connection is back" in page.inner_text("#message")
                    page.context.set_offline(False)
                    page.wait_for_function("document.getElementById('message').textContent.includes('You ordered')",
                                           timeout=15000)
                    assert page.query_selector("#connection.hidden") is not None
                    continue
                page.fill("#order", str(plan(week, i)))
                page.press("#order", "Enter")
                page.wait_for_function(f"document.getElementById('message').textContent.includes('You ordered') "
                                       f"|| document.getElementById('orderWeek').textContent !== '{week}'")
            if week == 20:  # the wall follows the game: team 1 in week 21 ranked, team 2 still in week 1
                wall.wait_for_function("document.getElementById('ranking').textContent.includes('Team 1')")
                wall.wait_for_function("document.getElementById('status').textContent.includes('weeks 1 to 2')")
                assert wall.query_selector("#chart svg") is not None  # the class chart drawn
                assert teacher.query_selector("#classView svg") is not None
            if week == 20:  # (the widths are checked whether or not the pictures are kept)
                for name, page in [("player", players[0]), ("teacher", teacher), ("projector", wall)]:
                    screenshots(page, shots or str(tmp_path / "shots"), f"classroom-{name}")

        for _ in range(2):  # team 2 waits for Eve: the teacher ends the game, undoes it, and ends it again
            teacher.once("dialog", lambda dialog: dialog.accept())
            teacher.click("button[data-act=end]")
            teacher.wait_for_selector("#undo:not(.hidden) #undoButton")
            if _ == 0:
                teacher.click("#undoButton")
                teacher.wait_for_function("document.getElementById('status').textContent.includes('running')")
        for page in players:
            page.wait_for_selector("#result p")
            assert "The game is over" in page.inner_text("#message")  # never "Waiting for teammates"
        teacher.wait_for_selector("table.seats[data-team='1'] td.cost")
        shown = [float(t) for t in teacher.locator("table.seats[data-team='1'] td.cost").all_inner_texts()]
        assert shown == core_costs_of(tmp_path / "class.db", game_id, 1, WEEKS, seed=4)
        played_by = teacher.locator("table.seats[data-team='1'] td.by").all_inner_texts()
        assert played_by[3] == "Student 4 (35 wk), bot (1 wk)" and played_by[0] == "Student One (36 wk)"
        assert "Team 1 *" in teacher.inner_text("table.ranking")
        teacher.locator("#debrief").scroll_into_view_if_needed()
        screenshots(teacher, shots or str(tmp_path / "shots"), "classroom-debrief", full=False)
    finally:
        server.stop()


def test_a_game_set_up_in_the_page_is_played_to_the_end_at_the_cores_costs(browser, tmp_path):
    """The teacher sets costs per site, lead times, order delays and a demand typed week by week in the page
    (a wrong value first: the scenario file's one-line message, no game made); two students play it to the
    end at a phone's width, and the debrief shows the core's costs on that scenario, to the cent."""
    server = Server(tmp_path / "class.db")
    weeks, values = 8, [3, 5, 0, 9, 4, 4, 12, 1]
    try:
        teacher = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        teacher.goto(f"{server.url}/teacher#{server.teacher}")
        teacher.wait_for_selector("#scenario option", state="attached")
        teacher.fill("#teams", "1")
        teacher.fill("#weeks", str(weeks))
        teacher.fill("#seed", "3")
        teacher.click("#setup summary")
        teacher.fill("#holding_cost", "1, 0.5, -0.25, 2")
        teacher.click("#createButton")
        teacher.wait_for_function("document.getElementById('error').textContent.includes('holding_cost')")
        assert teacher.inner_text("#error") == ("setup: site 'distributor': field 'holding_cost' must be >= 0 "
                                                "(got -0.25)")
        teacher.fill("#holding_cost", "1, 0.5, 0.25, 2")
        teacher.fill("#backlog_cost", "3")
        teacher.fill("#lead_time", "1")
        teacher.fill("#order_delay", "1")
        teacher.select_option("#demandKind", "sequence")
        teacher.fill("#sequence", " ".join(map(str, values)))
        teacher.click("#createButton")
        teacher.wait_for_url("**/teacher?game=*")
        code = teacher.wait_for_selector("#code:not(:empty)").inner_text()
        game_id = teacher.url.split("game=")[1]
        players = []
        for i, site in enumerate(["retailer", "factory"]):
            page = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True).new_page()
            page.goto(f"{server.url}/?code={code}")
            page.fill("#name", f"Student {i + 1}")
            page.select_option("#site", site)
            page.click("#joinButton")
            page.wait_for_selector("#game:not(.hidden)")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
            players.append(page)
        teacher.click("button[data-act=start]")
        for week in range(1, weeks + 1):
            for i, page in enumerate(players):
                page.wait_for_function(f"document.getElementById('orderWeek').textContent === '{week}' && "
                                       "!document.getElementById('order').disabled")
                page.fill("#order", str((3 * week + 4 * i) % 10))
                page.press("#order", "Enter")
                page.wait_for_function(f"document.getElementById('message').textContent.includes('You ordered') "
                                       f"|| document.getElementById('orderWeek').textContent !== '{week}'")
        teacher.wait_for_selector("table.seats[data-team='1'] td.cost")
        shown = [float(t) for t in teacher.locator("table.seats[data-team='1'] td.cost").all_inner_texts()]
        with sqlite3.connect(tmp_path / "class.db") as conn:
            rows = conn.execute("SELECT week, site, quantity FROM orders WHERE game = ?", (game_id,)).fetchall()
        by = {(w, s): q for w, s, q in rows}
        scenario = load_scenario(beer_game_changed(holding_cost=[1, 0.5, 0.25, 2], backlog_cost=3, lead_time=1,
                                                   order_delay=1, demand={"kind": "sequence", "values": values},
                                                   periods=weeks))
        sim = Simulator(scenario, batch=1)
        sim.reset(np.random.default_rng(3))
        costs = sum(sim.step(np.array([[by[(w, s)] for s in SITES]], dtype=float)).cost[0]
                    for w in range(1, weeks + 1))
        assert shown == [round(float(c), 2) for c in costs]
        assert teacher.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        server.stop()


def test_the_teacher_archives_and_deletes_a_game_from_the_list(browser, tmp_path):
    """An archived game has a delete button; deleting asks first, and the game leaves the list, the store and
    a second teacher page's list (told over its socket); the kept game stays."""
    server = Server(tmp_path / "class.db")
    try:
        kept = post_json(f"{server.url}/api/games", {"weeks": 3}, server.teacher)
        doomed = post_json(f"{server.url}/api/games", {"weeks": 3}, server.teacher)
        pages = [browser.new_context().new_page() for _ in range(2)]
        for page in pages:
            page.goto(f"{server.url}/teacher#{server.teacher}")
            page.wait_for_selector(f"li[data-id='{doomed['id']}']")
        teacher, other = pages
        assert teacher.query_selector(f"li[data-id='{doomed['id']}'] button[data-delete]") is None  # archive first
        teacher.click(f"li[data-id='{doomed['id']}'] button[data-archive=archive]")
        teacher.click("#archivedBox summary")
        button = f"#archived li[data-id='{doomed['id']}'] button[data-delete]"
        teacher.wait_for_selector(button)
        teacher.once("dialog", lambda dialog: dialog.dismiss())  # "Cancel": nothing happens
        teacher.click(button)
        assert teacher.query_selector(button) is not None
        teacher.once("dialog", lambda dialog: dialog.accept())
        teacher.click(button)
        teacher.wait_for_selector(f"li[data-id='{doomed['id']}']", state="detached")
        other.wait_for_selector(f"li[data-id='{doomed['id']}']", state="detached")
        assert teacher.query_selector(f"li[data-id='{kept['id']}']") is not None
        assert teacher.inner_text("#error") == ""
        with sqlite3.connect(tmp_path / "class.db") as db:
            assert [r[0] for r in db.execute("SELECT id FROM games")] == [kept["id"]]
    finally:
        server.stop()
