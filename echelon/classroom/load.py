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
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from echelon.classroom.process import ServerProcess, post_json


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

    @property
    def server_cpu_share(self) -> float:
        return self.server_cpu_s / self.seconds


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _play(url: str, seats: list[dict[str, Any]], weeks: int, seed: int, limit: float
                ) -> tuple[dict[tuple[int, int], float], dict[tuple[int, int], float], dict[tuple[int, str, int], int]]:
    """Every player's client; returns (team, week) -> last submission time, (team, week) -> last time a
    player saw week + 1, and what each seat sent."""
    from websockets.asyncio.client import connect

    submitted: dict[tuple[int, int], float] = {}
    seen: dict[tuple[int, int], float] = {}
    sent: dict[tuple[int, str, int], int] = {}
    rng = np.random.default_rng(seed)
    plans = {s["token"]: rng.integers(0, 17, size=weeks) for s in seats}

    async def player(seat: dict[str, Any]) -> None:
        team, site, plan = seat["team"], seat["site"], plans[seat["token"]]
        async with connect(f"{url.replace('http', 'ws')}/ws/player?token={seat['token']}", max_size=2**22) as ws:
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] == "error":
                    raise RuntimeError(f"team {team} {site}: {m['message']}")
                if m["type"] != "view":
                    continue
                week = m["view"]["week"]
                if week > 1:
                    seen[(team, week - 1)] = max(seen.get((team, week - 1), 0.0), time.perf_counter())
                if m["over"]:
                    return
                if m["status"] == "running" and m["ordered"] is None and (team, site, week) not in sent:
                    sent[(team, site, week)] = int(plan[week - 1])
                    submitted[(team, week)] = max(submitted.get((team, week), 0.0), time.perf_counter())
                    await ws.send(json.dumps({"type": "order", "week": week, "quantity": int(plan[week - 1])}))

    await asyncio.wait_for(asyncio.gather(*(player(s) for s in seats)), limit)
    return submitted, seen, sent


def run_load(teams: int, weeks: int = 36, seed: int = 0, limit: float = 600.0) -> LoadResult:
    """Play ``teams`` teams of four for ``weeks`` weeks against a fresh server (see the module)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.db"
        server = ServerProcess(db)
        try:
            game = post_json(f"{server.url}/api/games", {"teams": teams, "weeks": weeks}, server.teacher)
            seats = [post_json(f"{server.url}/api/join", {"code": game["code"], "name": f"p{i}"})
                     for i in range(4 * teams)]
            cpu = _cpu_seconds(server.process.pid)
            start = time.perf_counter()

            async def main() -> Any:
                task = asyncio.create_task(_play(server.url, seats, weeks, seed, limit))
                await asyncio.sleep(0.5)  # every client connected and waiting
                await asyncio.to_thread(post_json, f"{server.url}/api/games/{game['id']}/start", {}, server.teacher)
                return await task

            submitted, seen, sent = asyncio.run(main())
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
                      float(turn.max()), cpu, len(rows), len(sent), mismatched)
