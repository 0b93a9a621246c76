"""The classroom's debrief: per team and for the class, over the weeks played.

For each team: every seat's cost against the optimal team's (the best echelon
base-stock policy, :data:`echelon.play.OPTIMAL`) on the same demand, who
ordered each week (a week's cost is credited to whoever placed that week's
order: a student, or the bot for an empty seat, a seat handed to it or a
week the student let time out), so a student is graded on their own weeks
and a team partly played by the bot is marked in the ranking, the
orders week by week with customer demand first (the bullwhip chart), each
site's variance amplification (variance of its orders over the variance of
customer demand; Lee, Padmanabhan & Whang 1997), and what the optimal policy
would have ordered in each player's place. For the class: the ranking by team
cost. Exported as JSON, CSV (one row per team, week and site), a PNG chart
per team and one self-contained HTML page for the slides.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from typing import Any

import numpy as np

from echelon.classroom.session import ClassGame, Team
from echelon.play import LESSON, chart_png

BOT = "bot"
"""Who ordered a week the bot played."""


def _who(game: ClassGame, team: Team, site: str) -> str:
    return game.player(team, site) or BOT


def ordered_by(game: ClassGame, team: Team, site: str) -> list[str]:
    """Per week that ran: the name of the student who placed the site's order, or :data:`BOT`."""
    names = []
    for week in team.played:
        source, token = week[site]
        if source != "player":
            names.append(BOT)
        elif token is not None:
            names.append(game.names.get(token, "a student"))
        else:  # a file from before orders named their seat: the seat's player now
            names.append(game.player(team, site) or "a student")
    return names


def team_debrief(game: ClassGame, team: Team) -> dict[str, Any]:
    """One team's debrief over the weeks it played: per seat, the weeks and costs of each student who played
    it and of the bot, beside the optimal team's."""
    g, sites = team.game, game.sites
    weeks = len(g.orders)
    costs = np.array(g.costs).reshape(weeks, len(sites))
    best = team.optimal_costs[:weeks]
    orders = np.array(g.orders).reshape(weeks, len(sites))
    demand_var = float(np.var(g.demand, ddof=1)) if weeks > 1 else 0.0
    seats = []
    for i, site in enumerate(sites):
        amplification = float(np.var(orders[:, i], ddof=1)) / demand_var if demand_var > 0 else None
        by = np.array(ordered_by(game, team, site), dtype=object)
        students = [{"name": name, "weeks": int((by == name).sum()),
                     "cost": round(float(costs[by == name, i].sum()), 6),
                     "optimal_cost": round(float(best[by == name, i].sum()), 6)}
                    for name in dict.fromkeys(by) if name != BOT]
        bot = by == BOT
        seats.append({
            "site": site, "player": _who(game, team, site), "ordered_by": by.tolist(), "students": students,
            "student_weeks": int((~bot).sum()), "bot_weeks": int(bot.sum()),
            "student_cost": round(float(costs[~bot, i].sum()), 6), "bot_cost": round(float(costs[bot, i].sum()), 6),
            "cost": round(float(costs[:, i].sum()), 6), "optimal_cost": round(float(best[:, i].sum()), 6),
            "orders": g.inputs[site][:weeks], "optimal_orders": g.advice[site]["optimal"][:weeks],
            "variance_amplification": amplification,
        })
    total, optimal = float(costs.sum()), float(best.sum())
    bot_weeks = sum(s["bot_weeks"] for s in seats)
    return {
        "team": team.number, "weeks_played": weeks, "cost": round(total, 6), "optimal_cost": round(optimal, 6),
        "ratio": total / optimal if optimal > 0 else None, "customer_demand": g.demand[:weeks],
        "bot_weeks": bot_weeks, "with_bot": bot_weeks > 0, "seats": seats,
        "on_hand": g.on_hand[:weeks], "backlog": g.backlog[:weeks], "weekly_cost": g.costs[:weeks],
    }


def class_debrief(game: ClassGame) -> dict[str, Any]:
    """Every team that played, ranked by cost (lowest first), with the lesson."""
    teams = [team_debrief(game, t) for t in game.teams if game.seated(t)]
    ranked = sorted(teams, key=lambda t: (t["weeks_played"] == 0, t["cost"]))
    for rank, team in enumerate(ranked, 1):
        team["rank"] = rank
    s = game.settings
    return {"game": game.id, "scenario": s.scenario, "weeks": s.weeks, "seed": s.seed, "bot": s.bot,
            "status": game.status, "sites": game.sites, "teams": ranked, "lesson": lesson(ranked)}


def lesson(teams: list[dict[str, Any]]) -> str:
    """The lesson in plain words, with the class's own numbers where there are some."""
    words = [LESSON]
    played = [t for t in teams if t["weeks_played"] > 1 and t["ratio"] is not None]
    if played:
        worst = max(played, key=lambda t: t["ratio"])
        spent = (f"Team {worst['team']} spent {worst['ratio']:.1f} times" if len(played) == 1 else
                 f"The teams spent {min(t['ratio'] for t in played):.1f} to {worst['ratio']:.1f} times")
        top = worst["seats"][-1]
        words.append(f"{spent} the optimal team's cost on the same demand"
                     + (f"; in team {worst['team']} the {top['site']}'s orders had {top['variance_amplification']:.1f} "
                        "times the variance of customer demand." if top["variance_amplification"] else "."))
    return " ".join(words)


def to_json(game: ClassGame) -> str:
    return json.dumps(class_debrief(game), indent=1)


def to_csv(game: ClassGame) -> str:
    """One row per team, week and site: who ordered (``player``: the student's name or ``bot``; ``played_by``:
    student or bot), what the optimal policy would have, the state."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["team", "week", "site", "player", "played_by", "order", "optimal_order", "on_hand", "backlog",
                     "cost", "customer_demand"])
    for t in class_debrief(game)["teams"]:
        for w in range(t["weeks_played"]):
            for i, seat in enumerate(t["seats"]):
                by = seat["ordered_by"][w]
                writer.writerow([t["team"], w + 1, seat["site"], by, "bot" if by == BOT else "student",
                                 _g(seat["orders"][w]),
                                 _g(seat["optimal_orders"][w]), _g(t["on_hand"][w][i]), _g(t["backlog"][w][i]),
                                 _g(t["weekly_cost"][w][i]), _g(t["customer_demand"][w])])
    return out.getvalue()


def _ratio(team: dict[str, Any]) -> str:
    return "" if team["ratio"] is None else f"{team['ratio']:.2f}x"


def _g(x: float) -> str:
    return f"{x:.6g}"


def _team_name(team: dict[str, Any]) -> str:
    """'Team 3', marked with an asterisk where the bot played some of its seat-weeks (see :data:`BOT_NOTE`)."""
    return f"Team {team['team']}" + (" *" if team["with_bot"] else "")


BOT_NOTE = "* the bot played some of the team's seat-weeks (empty seats, seats handed to it, weeks timed out)."


def _played(seat: dict[str, Any]) -> str:
    """Who played a seat, e.g. 'Ann (30 wk), bot (6 wk)'."""
    parts = [f"{s['name']} ({s['weeks']} wk)" for s in seat["students"]]
    return ", ".join(parts + ([f"bot ({seat['bot_weeks']} wk)"] if seat["bot_weeks"] else [])) or "bot"


def team_png(game: ClassGame, team: Team) -> bytes:
    """The team's bullwhip chart: orders by week per site (players named), customer demand first."""
    labels = {s: f"{s} ({_who(game, team, s)})" for s in game.sites}
    return chart_png(team.game, labels, f"Team {team.number}: orders by week - the bullwhip effect")


def to_html(game: ClassGame) -> str:
    """One self-contained page (charts inline) for the slides."""
    d = class_debrief(game)
    e = html.escape
    rows = "".join(
        f"<tr><td>{t['rank']}</td><td>{_team_name(t)}</td><td>{t['weeks_played']}</td><td>{t['bot_weeks']}</td>"
        f"<td>{t['cost']:.1f}</td><td>{t['optimal_cost']:.1f}</td><td>{_ratio(t)}</td></tr>" for t in d["teams"])
    note = f"<p>{e(BOT_NOTE)}</p>" if any(t["with_bot"] for t in d["teams"]) else ""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Debrief {e(d['scenario'])}</title>"
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:.2em .6em;"
             "text-align:right}table{border-collapse:collapse}tr:nth-child(even){background:#f2f2f2}</style>"
             f"</head><body><h1>Debrief: {e(d['scenario'])}, {d['weeks']} weeks</h1>",
             "<h2>Ranking</h2><table><tr><th>rank</th><th>team</th><th>weeks</th><th>bot seat-weeks</th>"
             f"<th>cost</th><th>optimal team</th><th>ratio</th></tr>{rows}</table>{note}<p>{e(d['lesson'])}</p>"]
    for t in d["teams"]:
        team = game.teams[t["team"] - 1]
        seats = "".join(f"<tr><td>{e(s['site'])}</td><td>{e(_played(s))}</td><td>{s['cost']:.1f}</td>"
                        f"<td>{s['student_cost']:.1f}</td><td>{s['optimal_cost']:.1f}</td></tr>" for s in t["seats"])
        parts.append(f"<h2>{_team_name(t)}</h2><table><tr><th>site</th><th>played by</th><th>cost</th>"
                     f"<th>students' weeks</th><th>optimal team</th></tr>{seats}</table>")
        if t["weeks_played"]:
            png = base64.b64encode(team_png(game, team)).decode()
            parts.append(f"<img alt='Team {t['team']} orders by week' style='max-width:100%' "
                         f"src='data:image/png;base64,{png}'>")
    parts.append("</body></html>")
    return "".join(parts)


def to_text(game: ClassGame) -> str:
    """The class debrief in the terminal (``echelon replay FILE.db``)."""
    d = class_debrief(game)
    lines = [f"DEBRIEF - {d['scenario']}, {d['weeks']} weeks, seed {d['seed']}, {d['status']}", "",
             f"{'rank':<6}{'team':<10}{'weeks':>6}{'bot seat-weeks':>16}{'cost':>12}{'optimal team':>14}{'ratio':>8}"]
    for t in d["teams"]:
        lines.append(f"{t['rank']:<6}{_team_name(t):<10}{t['weeks_played']:>6}{t['bot_weeks']:>16}{t['cost']:>12.1f}"
                     f"{t['optimal_cost']:>14.1f}{_ratio(t):>8}")
    if any(t["with_bot"] for t in d["teams"]):
        lines.append(BOT_NOTE)
    for t in d["teams"]:
        lines += ["", f"{_team_name(t)}:", f"  {'site':<14}{'played by':<32}{'cost':>10}{'students weeks':>16}"
                  f"{'optimal team':>14}{'order var / demand var':>24}"]
        for s in t["seats"]:
            amp = "" if s["variance_amplification"] is None else f"{s['variance_amplification']:.1f}x"
            lines.append(f"  {s['site']:<14}{_played(s)[:31]:<32}{s['cost']:>10.1f}{s['student_cost']:>16.1f}"
                         f"{s['optimal_cost']:>14.1f}{amp:>24}")
    lines += ["", d["lesson"]]
    return "\n".join(lines)
