"""The classroom's debrief: per team and for the class, over the weeks played.

For each team: every seat's cost against the optimal team's (the best echelon
base-stock policy, :data:`echelon.play.OPTIMAL`) on the same demand, the
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


def _who(game: ClassGame, team: Team, site: str) -> str:
    return game.player(team, site) or "bot"


def team_debrief(game: ClassGame, team: Team) -> dict[str, Any]:
    """One team's debrief over the weeks it played."""
    g, sites = team.game, game.sites
    weeks = len(g.orders)
    costs = np.array(g.costs).reshape(weeks, len(sites))
    best = team.optimal_costs[:weeks]
    orders = np.array(g.orders).reshape(weeks, len(sites))
    demand_var = float(np.var(g.demand, ddof=1)) if weeks > 1 else 0.0
    seats = []
    for i, site in enumerate(sites):
        amplification = float(np.var(orders[:, i], ddof=1)) / demand_var if demand_var > 0 else None
        seats.append({
            "site": site, "player": _who(game, team, site),
            "cost": round(float(costs[:, i].sum()), 6), "optimal_cost": round(float(best[:, i].sum()), 6),
            "orders": g.inputs[site][:weeks], "optimal_orders": g.advice[site]["optimal"][:weeks],
            "variance_amplification": amplification,
        })
    total, optimal = float(costs.sum()), float(best.sum())
    return {
        "team": team.number, "weeks_played": weeks, "cost": round(total, 6), "optimal_cost": round(optimal, 6),
        "ratio": total / optimal if optimal > 0 else None, "customer_demand": g.demand[:weeks],
        "seats": seats,
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
    """One row per team, week and site: who ordered what, what the optimal policy would have, the state."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["team", "week", "site", "player", "order", "optimal_order", "on_hand", "backlog", "cost",
                     "customer_demand"])
    for t in class_debrief(game)["teams"]:
        for w in range(t["weeks_played"]):
            for i, seat in enumerate(t["seats"]):
                writer.writerow([t["team"], w + 1, seat["site"], seat["player"], _g(seat["orders"][w]),
                                 _g(seat["optimal_orders"][w]), _g(t["on_hand"][w][i]), _g(t["backlog"][w][i]),
                                 _g(t["weekly_cost"][w][i]), _g(t["customer_demand"][w])])
    return out.getvalue()


def _ratio(team: dict[str, Any]) -> str:
    return "" if team["ratio"] is None else f"{team['ratio']:.2f}x"


def _g(x: float) -> str:
    return f"{x:.6g}"


def team_png(game: ClassGame, team: Team) -> bytes:
    """The team's bullwhip chart: orders by week per site (players named), customer demand first."""
    labels = {s: f"{s} ({_who(game, team, s)})" for s in game.sites}
    return chart_png(team.game, labels, f"Team {team.number}: orders by week - the bullwhip effect")


def to_html(game: ClassGame) -> str:
    """One self-contained page (charts inline) for the slides."""
    d = class_debrief(game)
    e = html.escape
    rows = "".join(
        f"<tr><td>{t['rank']}</td><td>Team {t['team']}</td><td>{t['weeks_played']}</td><td>{t['cost']:.1f}</td>"
        f"<td>{t['optimal_cost']:.1f}</td><td>{_ratio(t)}</td></tr>" for t in d["teams"])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Debrief {e(d['scenario'])}</title>"
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:.2em .6em;"
             "text-align:right}table{border-collapse:collapse}tr:nth-child(even){background:#f2f2f2}</style>"
             f"</head><body><h1>Debrief: {e(d['scenario'])}, {d['weeks']} weeks</h1>",
             "<h2>Ranking</h2><table><tr><th>rank</th><th>team</th><th>weeks</th><th>cost</th>"
             f"<th>optimal team</th><th>ratio</th></tr>{rows}</table><p>{e(d['lesson'])}</p>"]
    for t in d["teams"]:
        team = game.teams[t["team"] - 1]
        seats = "".join(f"<tr><td>{e(s['site'])}</td><td>{e(s['player'])}</td><td>{s['cost']:.1f}</td>"
                        f"<td>{s['optimal_cost']:.1f}</td></tr>" for s in t["seats"])
        parts.append(f"<h2>Team {t['team']}</h2><table><tr><th>site</th><th>player</th><th>cost</th>"
                     f"<th>optimal team</th></tr>{seats}</table>")
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
             f"{'rank':<6}{'team':<8}{'weeks':>6}{'cost':>12}{'optimal team':>14}{'ratio':>8}"]
    for t in d["teams"]:
        lines.append(f"{t['rank']:<6}{t['team']:<8}{t['weeks_played']:>6}{t['cost']:>12.1f}{t['optimal_cost']:>14.1f}"
                     f"{_ratio(t):>8}")
    for t in d["teams"]:
        lines += ["", f"Team {t['team']}:", f"  {'site':<14}{'player':<20}{'cost':>10}{'optimal team':>14}"
                  f"{'order variance / demand variance':>34}"]
        for s in t["seats"]:
            amp = "" if s["variance_amplification"] is None else f"{s['variance_amplification']:.1f}x"
            lines.append(f"  {s['site']:<14}{s['player'][:19]:<20}{s['cost']:>10.1f}{s['optimal_cost']:>14.1f}"
                         f"{amp:>34}")
    lines += ["", d["lesson"]]
    return "\n".join(lines)
