"""A load test of the classroom: many teams of four play a whole game at once against a real server.

``echelon speed --classroom TEAMS`` starts ``echelon classroom`` in its own process on a free loopback
port with a fresh database, creates a game, joins ``4 x TEAMS`` players and plays every week with one
websocket client per player, all in this process (asyncio). Each player orders as soon as it sees its
week open (orders drawn from a seeded generator). Measured:

* the turn-around of a week: from the submission of the order that completes a team's week (the last of
  the four) to the moment the last of the four players has the next week's view, over every team-week
  (p50, p99, max);
* the server's CPU time (user + system, from ``/proc``) over the game, and as a share of one core;
* the database afterwards: exactly one order per team, week and site, each the quantity its player sent.

With ``browser`` (``--browser``), a class as it would be: the teacher's page open in Chromium on the game,
two of the seats (the last team's distributor and factory) played by Chromium phones that join through
the page and type their orders, the other seats by websocket clients. Also measured: what each message
cost the teacher's page (its team card's redraw, p50 and p99, for the messages of weeks 1-5 and of weeks
30 on: flat if the page updates one card per message whatever the week and the number of teams) and the
class view's redraws (at most one a frame).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from echelon.classroom.process import ServerProcess, post_json
from echelon.envs.errors import ConfigError


@dataclass(frozen=True)
class LoadResult:
    teams: int
    weeks: int
    seconds: float  # wall time of the game, start to the last view
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float
    orders_in_db: int
    orders_sent: int
    mismatched: int  # orders in the database that differ from what was sent (or are missing, or extra)
    render: dict[str, tuple[float, float, int]] | None = None
    """With a browser: the teacher page's cost per message, ms (p50, p99, count): 'early' (weeks 1-5), 'late'
    (weeks 30 on), 'class_view' (the class view's redraws)."""

    @property
    def server_cpu_share(self) -> float:
        return self.server_cpu_s / self.seconds


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Sent = dict[tuple[int, str, int], int]


async def _play(url: str, seats: list[dict[str, Any]], weeks: int, seed: int, limit: float, sent: Sent,
                think: float = 0.0) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], float]]:
    """Every player's client; returns (team, week) -> last submission time and (team, week) -> last time a
    player saw week + 1; what each seat sent goes in ``sent``. ``think``: each player waits a time drawn
    uniformly from 0 to twice this many seconds before each order (a class, not a burst)."""
    from websockets.asyncio.client import connect

    submitted: dict[tuple[int, int], float] = {}
    seen: dict[tuple[int, int], float] = {}
    rng = np.random.default_rng(seed)
    pause = np.random.default_rng([seed, 1])
    plans = {s["token"]: rng.integers(0, 17, size=weeks) for s in seats}

    async def player(seat: dict[str, Any]) -> None:
        team, site, plan = seat["team"], seat["site"], plans[seat["token"]]
        async with connect(f"{url.replace('http', 'ws')}/ws/player?token={seat['token']}", max_size=2**22) as ws:
            latest = 1  # the week this player last saw open: the first view of a later one is its arrival
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] == "error":
                    raise RuntimeError(f"team {team} {site}: {m['message']}")
                if m["type"] != "view":
                    continue
                week = m["view"]["week"]
                if week > latest:
                    seen[(team, week - 1)] = max(seen.get((team, week - 1), 0.0), time.perf_counter())
                    latest = week
                if m["over"]:
                    return
                if m["status"] == "running" and m["ordered"] is None and (team, site, week) not in sent:
                    sent[(team, site, week)] = int(plan[week - 1])
                    if think:
                        await asyncio.sleep(float(pause.uniform(0, 2 * think)))
                    submitted[(team, week)] = max(submitted.get((team, week), 0.0), time.perf_counter())
                    await ws.send(json.dumps({"type": "order", "week": week, "quantity": int(plan[week - 1])}))

    await asyncio.wait_for(asyncio.gather(*(player(s) for s in seats)), limit)
    return submitted, seen


PHONES = ("distributor", "factory")
"""The last team's seats that Chromium phones play with ``browser``."""


async def _phone(page: Any, team: int, site: str, weeks: int, seed: int, sent: Sent,
                 submitted: dict[tuple[int, int], float]) -> None:
    """A student on a phone: types each week's order once the week is open (``submitted``: when it pressed
    Enter, so the team's turn-around counts from the last order, whoever placed it)."""
    plan = np.random.default_rng([seed, team, PHONES.index(site)]).integers(0, 17, size=weeks)
    for week in range(1, weeks + 1):
        await page.wait_for_function(f"document.getElementById('orderWeek').textContent === '{week}' && "
                                     "!document.getElementById('order').disabled", timeout=60000, polling=50)
        sent[(team, site, week)] = int(plan[week - 1])
        await page.fill("#order", str(int(plan[week - 1])))
        submitted[(team, week)] = max(submitted.get((team, week), 0.0), time.perf_counter())
        await page.press("#order", "Enter")
        await page.wait_for_function(f"document.getElementById('message').textContent.includes('You ordered') || "
                                     f"document.getElementById('orderWeek').textContent !== '{week}'",
                                     timeout=60000, polling=50)


def _stats(values: list[float]) -> tuple[float, float, int]:
    return (float(np.percentile(values, 50)), float(np.percentile(values, 99)), len(values)) if values else (
        float("nan"), float("nan"), 0)


async def _class(server: ServerProcess, game: dict[str, Any], seats: list[dict[str, Any]], weeks: int, seed: int,
                 limit: float, sent: Sent, browser: bool, think: float) -> tuple[Any, Any, dict[str, Any] | None]:
    """The game played: websocket clients (and, with ``browser``, the teacher's page and two phones)."""
    start_url = f"{server.url}/api/games/{game['id']}/start"
    if not browser:
        task = asyncio.create_task(_play(server.url, seats, weeks, seed, limit, sent, think))
        await asyncio.sleep(0.5)  # every client connected and waiting
        await asyncio.to_thread(post_json, start_url, {}, server.teacher)
        submitted, seen = await task
        return submitted, seen, None
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        teacher = await (await chromium.new_context(viewport={"width": 1280, "height": 720})).new_page()
        await teacher.goto(f"{server.url}/teacher?game={game['id']}#{server.teacher}")
        await teacher.wait_for_selector("#code:not(:empty)")
        team = len(game["teams"]) if isinstance(game["teams"], list) else game["teams"]
        phones = []
        for site in PHONES:
            page = await (await chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)).new_page()
            await page.goto(f"{server.url}/?code={game['code']}")
            await page.fill("#name", f"phone {site}")
            await page.select_option("#team", str(team))
            await page.select_option("#site", site)
            await page.click("#joinButton")
            await page.wait_for_selector("#game:not(.hidden)")
            phones.append((page, site))
        task = asyncio.create_task(_play(server.url, seats, weeks, seed, limit, sent, think))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(post_json, start_url, {}, server.teacher)
        typed: dict[tuple[int, int], float] = {}
        await asyncio.wait_for(asyncio.gather(*(_phone(page, team, site, weeks, seed, sent, typed)
                                                for page, site in phones)), limit)
        submitted, seen = await task
        for key, at in typed.items():
            submitted[key] = max(submitted.get(key, 0.0), at)
        await teacher.wait_for_timeout(500)  # the last messages drawn
        cost = await teacher.evaluate("window.renderCost")
        await chromium.close()
    messages = cost["messages"]
    render = {"early": _stats([m["ms"] for m in messages if m["week"] <= 5]),
              "late": _stats([m["ms"] for m in messages if m["week"] >= 30]),
              "class_view": _stats(cost["classView"])}
    return submitted, seen, render


def chromium_path() -> str:
    """Debian's Chromium (``apt-get install chromium``), or a one-line error."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise ConfigError("--browser: Chromium is not installed (apt-get install chromium)")
    return found


def run_load(teams: int, weeks: int = 36, seed: int = 0, limit: float = 600.0, browser: bool = False,
             think: float = 0.0) -> LoadResult:
    """Play ``teams`` teams of four for ``weeks`` weeks against a fresh server (see the module); ``think``:
    the websocket players' mean seconds before each order (0: at once)."""
    if browser:
        chromium_path()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.db"
        server = ServerProcess(db, options=("--join-limit", "0"))  # (every player joins from this address)
        try:
            game = post_json(f"{server.url}/api/games", {"teams": teams, "weeks": weeks}, server.teacher)
            wanted = [(t, s) for t in range(1, teams + 1) for s in ("retailer", "wholesaler", *PHONES)]
            if browser:
                wanted = [(t, s) for t, s in wanted if not (t == teams and s in PHONES)]
            seats = [post_json(f"{server.url}/api/join", {"code": game["code"], "name": f"p{i}", "team": t, "site": s})
                     for i, (t, s) in enumerate(wanted)]
            cpu = _cpu_seconds(server.process.pid)
            start = time.perf_counter()
            sent: Sent = {}
            submitted, seen, render = asyncio.run(_class(server, game, seats, weeks, seed, limit, sent, browser,
                                                               think))
            seconds = time.perf_counter() - start
            cpu = _cpu_seconds(server.process.pid) - cpu
        finally:
            server.stop()
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT team, site, week, quantity, source FROM orders").fetchall()
    stored = {(t, s, w): q for t, s, w, q, source in rows if source == "player"}
    mismatched = len(set(stored.items()) ^ set(sent.items())) + sum(1 for r in rows if r[4] != "player")
    turn = np.array([seen[k] - submitted[k] for k in submitted if k in seen]) * 1000
    return LoadResult(teams, weeks, seconds, float(np.percentile(turn, 50)), float(np.percentile(turn, 99)),
                      float(turn.max()), cpu, len(rows), len(sent), mismatched, render)
