"""The classroom in a real browser (Debian's Chromium driven by Playwright): a teacher creates a game,
four players join one team and play all 36 weeks by typing orders, one reloads mid-game and carries on,
and the teacher's debrief shows the four costs the core computes for those orders, to the cent.

``ECHELON_SCREENSHOTS=FOLDER`` saves the teacher's dashboard and a player's page there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_classroom import SITES, core_costs

from echelon.classroom.process import ServerProcess as Server

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


def test_a_class_plays_the_beer_game_in_the_browser(browser, tmp_path):
    server = Server(tmp_path / "class.db")
    shots = os.environ.get("ECHELON_SCREENSHOTS")
    try:
        teacher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
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
        code = teacher.wait_for_selector(".code").inner_text()

        players = []
        for i, site in enumerate(SITES):
            page = browser.new_context(viewport={"width": 400, "height": 850}, is_mobile=True).new_page()
            page.goto(f"{server.url}/?code={code}")
            page.fill("#name", f"Student {i + 1}")
            page.select_option("#site", site)
            page.select_option("#team", "1")
            if i == 0:
                page.dblclick("#joinButton")  # a double tap is one seat (the count below stays 4)
            else:
                page.click("#joinButton")
            page.wait_for_selector("#game:not(.hidden)")
            assert page.inner_text("#who") == f"Student {i + 1}: you are the {site} of team 1."
            players.append(page)
        teacher.wait_for_function("document.querySelector('.status').textContent.includes('4 players joined')")
        teacher.click("button[data-act=start]")
        teacher.wait_for_selector("button[data-force='1']")  # each team has its own Force; none is game-wide
        assert teacher.query_selector("button[data-act=force]") is None
        teacher.once("dialog", lambda dialog: dialog.accept("Student One"))  # the teacher renames a player
        teacher.click("button[data-rename='1|retailer']")
        teacher.wait_for_function("document.querySelector('.teams').textContent.includes('Student One')")
        assert teacher.query_selector("button[data-free='1|wholesaler']") is not None

        for week in range(1, WEEKS + 1):
            for i, page in enumerate(players):
                if week == 18 and i == 1:
                    page.reload()  # a refresh mid-game rejoins the same seat
                    page.wait_for_selector("#game:not(.hidden)")
                    assert "wholesaler of team 1" in page.inner_text("#who")
                page.wait_for_function(
                    f"document.getElementById('orderWeek').textContent === '{week}' && "
                    "!document.getElementById('order').disabled")
                if week == 3 and i == 0:  # a wrong entry is explained, and nothing is sent
                    page.fill("#order", "twelve")
                    page.press("#order", "Enter")
                    assert "is not a whole number" in page.inner_text("#message")
                page.fill("#order", str(plan(week, i)))
                page.press("#order", "Enter")
                page.wait_for_function(f"document.getElementById('message').textContent.includes('You ordered') "
                                       f"|| document.getElementById('orderWeek').textContent !== '{week}'")
            if week == 20 and shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                players[0].screenshot(path=str(Path(shots) / "classroom-player.png"), full_page=True)
                teacher.screenshot(path=str(Path(shots) / "classroom-teacher.png"), full_page=False)

        for page in players:
            page.wait_for_selector("#result p")
        teacher.wait_for_selector("table.seats[data-team='1'] td.cost")
        shown = [float(t) for t in teacher.locator("table.seats[data-team='1'] td.cost").all_inner_texts()]
        orders = [[plan(w, i) for i in range(4)] for w in range(1, WEEKS + 1)]
        expected = core_costs(orders, seed=4, weeks=WEEKS)
        assert shown == [round(float(c), 2) for c in expected]
        if shots:
            teacher.screenshot(path=str(Path(shots) / "classroom-debrief.png"), full_page=True)
    finally:
        server.stop()
