"""``echelon play`` and ``echelon replay``: people play sites of a network against agents, then a debrief.

The game runs on the PettingZoo AEC env, one site at a time in site order; a
person plays each site in ``--role`` (several roles share one terminal, hot-seat),
the other sites follow ``--others`` (a policy name such as ``sterman`` or
``base_stock``, or a training run folder). Each week a player sees their
site's stock, backorders, the order that came in, what is on the way and the
week's cost, and types an order; anything that is not a whole number in range
is asked again. The demand comes from ``--seed``, so a class can play the same
game.

The debrief compares every site's cost with the optimal team (the best
base-stock policy on the same demand), charts the orders of every site (the
bullwhip effect) in the terminal and as a PNG, and shows, week by week, what
the optimal policy and the co-players' rule would have ordered in the player's
place. ``--save FILE`` writes the game as JSON; ``echelon replay FILE`` plays
it back to the same debrief.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.agents.run_record import OPTIMAL_SPEC
from echelon.envs.actions import default_max_order
from echelon.envs.errors import ConfigError
from echelon.envs.files import read_input
from echelon.envs.limits import MAX_GAME_WEEKS
from echelon.envs.positions import backlog_total, pipeline
from echelon.envs.scenario import Scenario, load_scenario
from echelon.envs.simulator import Episode
from echelon.envs.validation import check_model

GAME_VERSION = 1
LESSON = ("The lesson: each site reacts to the orders it sees, not to customer demand, and stock on the way is "
          "easy to forget. Orders swing more and more upstream; ordering what you were asked plus a correction "
          "for the stock on order (base-stock) keeps the chain calm.")
OPTIMAL = OPTIMAL_SPEC


def others_spec(text: str) -> dict[str, Any]:
    """``--others``: a policy name (``base_stock`` means the best levels) or a training run folder."""
    if Path(text).is_dir():
        return {"policy": "learned", "run": text}
    if text in ("base_stock", "echelon_base_stock"):
        return {"policy": text, "levels": "optimal"}
    return {"policy": text}


@dataclass
class Game:
    """Everything needed to replay a game, and what happened in it."""

    scenario: str | Scenario  # a name or path (saved games); a class game's custom setup is a Scenario
    seed: int
    periods: int
    roles: list[str]
    others: dict[str, Any]
    inputs: dict[str, list[float]] = field(default_factory=dict)  # role -> the orders typed, week by week
    orders: list[list[float]] = field(default_factory=list)  # week -> every site's order
    costs: list[list[float]] = field(default_factory=list)  # week -> every site's cost
    on_hand: list[list[float]] = field(default_factory=list)
    backlog: list[list[float]] = field(default_factory=list)
    incoming: list[list[float]] = field(default_factory=list)
    demand: list[float] = field(default_factory=list)  # end-customer demand per week
    advice: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # role -> rule -> orders
    episode: Episode | None = field(default=None, repr=False)  # the demand the env drew (not saved: replay redraws)

    def to_json(self) -> str:
        """The saved-game file."""
        saved = {k: v for k, v in self.__dict__.items() if k != "episode"}
        return json.dumps({"version": GAME_VERSION, **saved}, indent=1)

    @classmethod
    def from_file(cls, path: Path) -> Game:
        """Read a saved game; a one-line ConfigError if it is not one."""
        try:
            data = json.loads(read_input(Path(path), "a saved game").decode("utf-8"))
        except ConfigError:
            raise
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the saved game ({exc.__class__.__name__})") from None
        except RecursionError:
            raise ConfigError(f"{path}: not a saved game (JSON nested too deeply)") from None
        except ValueError as exc:
            raise ConfigError(f"{path}: not a saved game (malformed JSON: {exc})") from None
        if not isinstance(data, dict) or data.get("version") != GAME_VERSION:
            raise ConfigError(f"{path}: not a saved game of this version of echelon")
        data.pop("version")
        game = cls(**check_model(SavedGame, data, str(path), "saved game"))
        for role in game.roles:
            if len(game.inputs.get(role, ())) != game.periods:
                raise ConfigError(f"{path}: role '{role}' has {len(game.inputs.get(role, ()))} orders "
                                  f"for {game.periods} weeks")
        return game


Count = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)] | Annotated[int, Field(ge=0, strict=True)]
Weeks = list[list[Annotated[float, Field(allow_inf_nan=False)]]]


class SavedGame(BaseModel):
    """The fields of a saved-game file (``echelon play --save``), checked before a replay starts."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, strict=True)

    scenario: Annotated[str, Field(min_length=1)]
    """The scenario played (built-in name or YAML path)."""
    seed: Annotated[int, Field(ge=0)]
    """The demand's seed."""
    periods: Annotated[int, Field(ge=1, le=MAX_GAME_WEEKS)]
    """Weeks played."""
    roles: Annotated[list[str], Field(min_length=1)]
    """The sites people played."""
    others: dict[str, Any]
    """The other sites' policy."""
    inputs: dict[str, list[Count]] = {}
    """Per role, the orders typed week by week (whole numbers >= 0)."""
    orders: Weeks = []
    """Per week, every site's order."""
    costs: Weeks = []
    """Per week, every site's cost."""
    on_hand: Weeks = []
    """Per week, every site's stock."""
    backlog: Weeks = []
    """Per week, every site's backlog."""
    incoming: Weeks = []
    """Per week, every site's receipts."""
    demand: list[Annotated[float, Field(allow_inf_nan=False)]] = []
    """End-customer demand per week."""
    advice: dict[str, dict[str, list[Annotated[float, Field(allow_inf_nan=False)]]]] = {}
    """Per role, what each classic rule would have ordered."""


Ask = Callable[[str, str], str]  # (prompt, role) -> a line typed (EOFError ends the game)


class Table:
    """The game loop on the AEC env: people for the roles, policies for the other sites."""

    def __init__(self, game: Game, out: Callable[[str], None], like: Table | None = None):
        """``like``: a table of the same scenario and co-players whose policies are copied (no second search
        of the optimal levels; the classroom builds one table per team)."""
        from echelon import envs

        self.game, self.out = game, out
        self.scenario = load_scenario(game.scenario).with_periods(game.periods)
        unknown = [r for r in game.roles if r not in self.scenario.site_names]
        if unknown or not game.roles:
            raise ConfigError(f"--role: unknown site '{unknown[0] if unknown else ''}' "
                              f"(sites: {', '.join(self.scenario.site_names)})")
        twice = [r for i, r in enumerate(game.roles) if r in game.roles[:i]]
        if twice:
            raise ConfigError(f"--role: site '{twice[0]}' is named twice (each site has one player)")
        self.max_order = [4 * int(v) for v in default_max_order(self.scenario)]
        self.aec = envs.env(scenario=self.scenario, action="discrete", max_order=self.max_order)
        self.env = self.aec.unwrapped
        if like is not None:
            self.co_players: Policy = copy.deepcopy(like.co_players)
            self.optimal: Policy = copy.deepcopy(like.optimal)
        else:
            self.co_players = make_policy(game.others, self.scenario, where="--others")
            self.optimal = make_policy(OPTIMAL, self.scenario)
        rng = np.random.default_rng(game.seed)
        for p in (self.co_players, self.optimal):
            p.reset(1, rng)

    def play(self, ask: Ask, replay: bool = False) -> Game:
        """Play every week; ``ask`` gets the players' orders (or, replaying, the saved ones are used)."""
        game, names = self.game, list(self.scenario.site_names)
        self.start(keep_inputs=replay)
        for week in range(1, game.periods + 1):
            orders = self.advise()
            for role in (n for n in names if n in game.roles):
                if replay:
                    orders[role] = game.inputs[role][week - 1]
                else:
                    self.out(self.status(role, week))
                    orders[role] = self._ask(ask, role, week)
            self.run_week(orders)
        return game

    # ------------------------------------------------------------ one week at a time (also the classroom's)
    def start(self, keep_inputs: bool = False) -> None:
        """Reset the env to the game's seed: week 1 is open. ``keep_inputs``: the saved orders stay (replay)."""
        game = self.game
        self.aec.reset(seed=game.seed)
        game.episode = self.env.sim.episode
        for role in game.roles:
            game.advice.setdefault(role, {"optimal": [], "co-players": []})
            if not keep_inputs:
                game.inputs[role] = []

    @property
    def week(self) -> int:
        """The week open for orders (1-based); ``periods + 1`` once the game is over."""
        return self.env.sim.period + 1

    def advise(self) -> dict[str, float]:
        """Call once at the start of each week: the co-players' rule's order for every site, from the state all
        sites see now; records the co-players' and the optimal policy's orders in each role's place."""
        state, names = self.env.sim.state, self.scenario.site_names
        co = self.co_players.act(state)[0]
        best = self.optimal.act(state)[0]
        for role in self.game.roles:
            i = self.scenario.index(role)
            self.game.advice[role]["co-players"].append(float(co[i]))
            self.game.advice[role]["optimal"].append(float(best[i]))
        return {n: float(co[i]) for i, n in enumerate(names)}

    def run_week(self, orders: dict[str, float]) -> None:
        """Run the open week with every site's order (rounded, capped at the site's largest order) and record
        it; the players' orders go to ``game.inputs``."""
        for role in self.game.roles:
            self.game.inputs.setdefault(role, [])
            if len(self.game.inputs[role]) < self.week:
                self.game.inputs[role].append(float(orders[role]))
        for i, name in enumerate(self.scenario.site_names):
            if self.aec.agent_selection != name:  # the env's turn order is the site order
                raise RuntimeError(f"the env expected an order from {self.aec.agent_selection}, not {name}")
            self.aec.step(min(int(round(orders[name])), self.max_order[i]))
        self._record(self.env.sim)

    def _record(self, sim: Any) -> None:
        s, game = sim.state, self.game
        game.orders.append(s.last_order[0].tolist())
        game.on_hand.append(s.on_hand[0].tolist())
        game.backlog.append(backlog_total(s, sim.params)[0].tolist())
        game.incoming.append(s.incoming[0].tolist())
        game.demand.append(float(s.demand[0].sum()))
        game.costs.append(self._last_costs.tolist())

    @property
    def _last_costs(self) -> np.ndarray:
        infos = self.aec.infos  # the AEC env's infos after the week ran: each site's cost
        return np.array([infos[n]["cost"] for n in self.scenario.site_names])

    def view(self, role: str, customer_demand: bool = False) -> dict[str, Any]:
        """What the player of ``role`` may know at the start of the open week: their own site's stock,
        backorders, the order that came in, what is on the way, last week's cost and their total (and,
        with ``customer_demand``, last week's end-customer demand); nothing of any other site."""
        sim = self.env.sim
        s, i = sim.state, self.scenario.index(role)
        costs = self.game.costs
        seen = {
            "site": role, "week": self.week, "weeks": self.game.periods,
            "on_hand": float(s.on_hand[0, i]), "backorders": float(backlog_total(s, sim.params)[0, i]),
            "incoming_order": float(s.incoming[0, i]), "on_the_way": float(pipeline(s)[0, i]),
            "received": float(s.received[0, i]), "last_order": float(s.last_order[0, i]),
            "last_cost": costs[-1][i] if costs else 0.0, "total_cost": float(sum(c[i] for c in costs)),
            "max_order": self.max_order[i],
        }
        if customer_demand:
            seen["customer_demand"] = self.game.demand[-1] if self.game.demand else None
        return seen

    def status(self, role: str, week: int) -> str:
        """What a player sees before ordering: stock, backorders, incoming order, pipeline, costs."""
        v = self.view(role)
        who = f"[{role}] " if len(self.game.roles) > 1 else ""
        return (
            f"\n{who}week {week} of {self.game.periods} - you are the {role}\n"
            f"  on hand {v['on_hand']:g}   backorders {v['backorders']:g}   "
            f"incoming order last week {v['incoming_order']:g}\n"
            f"  on the way to you {v['on_the_way']:g}   received last week {v['received']:g}   "
            f"your last order {v['last_order']:g}\n"
            f"  cost last week {v['last_cost']:.1f}   your total {v['total_cost']:.1f}"
        )

    def _ask(self, ask: Ask, role: str, week: int) -> float:
        top = self.max_order[self.scenario.index(role)]
        while True:
            text = ask(f"  order for week {week} (0-{top}): ", role).strip()
            try:
                value = int(text)
            except ValueError:
                self.out(f"  '{text}' is not a whole number: type how many units to order, 0 to {top}")
                continue
            if not 0 <= value <= top:
                self.out(f"  {value} is out of range: order between 0 and {top} units")
                continue
            return float(value)


# --------------------------------------------------------------------------- debrief

def optimal_team_costs(game: Game, policy: Policy | None = None) -> np.ndarray:
    """Per-site cost per week of the best base-stock team on the game's demand (the episode the game drew).
    ``policy``: that team's policy, already built (else its levels are searched)."""
    from echelon.evaluation.rollout import rollout

    if game.episode is None:
        raise ValueError("the debrief needs a played game (Table.play draws its demand)")
    scenario = load_scenario(game.scenario).with_periods(game.periods)
    trajectory = rollout(policy or make_policy(OPTIMAL, scenario), scenario, 1, game.seed, game.episode)
    return trajectory.cost[:, 0, :]


def debrief(game: Game) -> str:
    """The plain-text debrief: costs against the optimal team, the orders chart, the advice."""
    scenario = load_scenario(game.scenario)
    names = list(scenario.site_names)
    costs = np.array(game.costs)
    best = optimal_team_costs(game)
    lines = ["", "=" * 72, f"DEBRIEF - {game.scenario}, {game.periods} weeks, seed {game.seed}", "=" * 72, ""]
    lines.append(f"{'site':<14}{'played by':<14}{'your cost':>11}{'optimal team':>14}{'difference':>12}")
    for i, name in enumerate(names):
        who = "you" if name in game.roles else _who(game.others)
        lines.append(f"{name:<14}{who:<14}{costs[:, i].sum():>11.1f}{best[:, i].sum():>14.1f}"
                     f"{costs[:, i].sum() - best[:, i].sum():>+12.1f}")
    total, optimal = costs.sum(), best.sum()
    lines.append(f"{'team':<28}{total:>11.1f}{optimal:>14.1f}{total - optimal:>+12.1f}")
    lines += ["", f"The team spent {total / max(optimal, 1e-9):.1f} times what the optimal team spends on the "
              "same demand." if optimal > 0 else ""]
    lines += ["", "Orders week by week (customer demand first): the bullwhip effect", ""]
    lines += orders_chart(game, names)
    demand_var = float(np.var(game.demand, ddof=1)) if len(game.demand) > 1 else 0.0
    orders = np.array(game.orders)
    lines.append("")
    for i, name in enumerate(names):
        spread = float(np.std(orders[:, i], ddof=1)) if len(orders) > 1 else 0.0
        ratio = f"{np.var(orders[:, i], ddof=1) / demand_var:.1f}x the variance of demand" if demand_var > 0 \
            else f"standard deviation {spread:.1f} (demand: {np.std(game.demand, ddof=1):.1f})"
        lines.append(f"  {name:<12} orders ranged {orders[:, i].min():g} to {orders[:, i].max():g}, {ratio}")
    for role in game.roles:
        i = names.index(role)
        advice = game.advice[role]
        lines += ["", f"In your place ({role}), week by week:",
                  f"  {'week':>4} {'incoming':>9} {'you':>6} {'optimal':>8} {_who(game.others):>14}"]
        for w in range(game.periods):
            incoming = game.incoming[w - 1][i] if w > 0 else float("nan")
            lines.append(f"  {w + 1:>4} {_num(incoming):>9} {game.inputs[role][w]:>6g} "
                         f"{advice['optimal'][w]:>8.1f} {advice['co-players'][w]:>14.1f}")
        gap = costs[:, i].sum() - best[:, i].sum()
        lines.append(f"  Your site cost {gap:+.1f} against the optimal policy's site cost.")
    lines += ["", LESSON, ""]
    return "\n".join(lines)


def _num(x: float) -> str:
    return "" if math.isnan(x) else f"{x:g}"


def _who(others: dict[str, Any]) -> str:
    return "learned" if others.get("policy") == "learned" else str(others.get("policy"))


def orders_chart(game: Game, names: list[str], width: int = 60) -> list[str]:
    """A text sparkline per site of its orders (and the customer demand), on one shared scale."""
    bars = " .:-=+*#%@"
    orders = np.array(game.orders)
    series = [("customers", np.array(game.demand))] + [(n, orders[:, i]) for i, n in enumerate(names)]
    top = max(1.0, max(float(s.max()) for _, s in series))
    lines = []
    for name, values in series:
        values = values[:width]
        cells = "".join(bars[min(len(bars) - 1, int(round(v / top * (len(bars) - 1))))] for v in values)
        lines.append(f"  {name:<12}|{cells}| max {values.max():g}")
    lines.append(f"  {'':<12} scale: ' ' = 0 ... '@' = {top:g} units")
    return lines


PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#997700", "#332288", "#882255", "#666666")
"""One colour per site (the i-th site's everywhere: the classroom's pages, the PNG charts): Okabe & Ito's
colour-blind-safe set with its yellow and sky blue darkened or replaced, each at least 3:1 against white
(WCAG 2.1, non-text contrast). Customer demand is drawn in black."""


def chart_png(game: Game, labels: dict[str, str] | None = None, title: str | None = None) -> bytes:
    """Orders per site over the weeks played, with customer demand: the bullwhip chart. ``labels``: each
    site's legend entry (default: the site, marked 'you' for the people's roles)."""
    from echelon.evaluation.plots import plt, png_bytes

    names = list(load_scenario(game.scenario).site_names)
    orders = np.array(game.orders).reshape(-1, len(names))
    weeks = np.arange(1, len(orders) + 1)
    labels = labels or {n: f"{n}{' (you)' if n in game.roles else ''}" for n in names}
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    ax.plot(weeks, game.demand, color="black", linewidth=2, label="customer demand")
    for i, name in enumerate(names):
        style = "-" if name in game.roles else "--"
        ax.plot(weeks, orders[:, i], style, linewidth=1.3, label=labels[name], color=PALETTE[i % len(PALETTE)])
    ax.set_xlabel("week")
    ax.set_ylabel("units ordered")
    ax.set_title(title or f"{game.scenario}: orders by site (seed {game.seed}) - the bullwhip effect")
    ax.legend(fontsize=8)
    return png_bytes(fig)
