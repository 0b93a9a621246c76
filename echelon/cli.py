"""The ``echelon`` command line.

Every user error (a bad scenario, argument or file) prints one line
``echelon: error: ...`` to stderr and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Sequence

from echelon.classroom.limits import JOIN_PER_MINUTE
from echelon.commands import (
    cmd_benchmark,
    cmd_classroom,
    cmd_evaluate,
    cmd_history,
    cmd_nash,
    cmd_optimal,
    cmd_play,
    cmd_replay,
    cmd_reproduce,
    cmd_scenarios,
    cmd_scoreboard,
    cmd_show,
    cmd_speed,
    cmd_study,
    cmd_train,
)
from echelon.envs.errors import EchelonError, Interrupted
from echelon.envs.limits import (
    MAX_BATCH,
    MAX_GAME_WEEKS,
    MAX_PERIODS,
    MAX_SECONDS,
    MAX_SEED,
    MAX_SITES,
    MAX_TIMESTEPS,
)
from echelon.envs.validation import shown

EXAMPLES = """\
examples:
  echelon scenarios                      list the built-in scenarios
  echelon show beer_game                 validate a scenario and print its network
  echelon show my_network.yaml           ... or your own YAML file
  echelon speed                          throughput of the core and the ParallelEnv
  echelon history sales.csv              a demand history: series, means, variability, fitted models
  echelon optimal textbook_serial        exact Clark-Scarf levels and cost
  echelon optimal distribution --json    simulation-optimised levels, as JSON
  echelon optimal beer_game --compare    the optimum against the classic heuristics
  echelon optimal lost_sales --method dp the exact optimal policy (lost sales) and the heuristics' gaps
  echelon nash two_stage --share 0.5     selfish sites' equilibrium, its penalty, payments that align it
  echelon reproduce zipkin2008           Zipkin's lost-sales table: the DP, the heuristics, the core
  echelon benchmark heuristics           every heuristic on every built-in scenario
  echelon benchmark centralization       decentralized vs information sharing vs hybrid vs centralized
  echelon study centralization           the map: which control structure wins, by network, demand and maturity
  echelon benchmark my_bench.yaml --out results/mine
  echelon train quickstart --evaluate    train a shared PPO, then benchmark it against the heuristics
  echelon train shared_ppo_beer_game --timesteps 200000 --out runs/beer
  echelon train --resume runs/beer       continue an interrupted run
  echelon evaluate runs/beer             the learned policy against the heuristics and the optimum
  echelon play --role retailer           play the beer game's retailer against Sterman-like players
  echelon play beer_game --role retailer,factory --others base_stock --seed 7 --save game.json
  echelon replay game.json               the debrief of a saved game
  echelon classroom --host 0.0.0.0       the beer game in the browser for a whole class
  echelon scoreboard --quick             learned baselines against exact optima (reduced suite)
  echelon replay classroom.db            the debrief of every classroom game
"""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``echelon speed: error: ...``) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _bounded(low: float, high: float):
    """A number in (``low``, ``high``]: ``inf`` and ``nan`` are refused."""
    def parse(text: str) -> float:
        value = _number(text)
        if not low < value <= high:
            raise argparse.ArgumentTypeError(f"must be > {low:g} and at most {high:g}, got {text!r}")
        return value

    return parse


def _fraction(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text!r}")
    return value


def _batch_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be >= 1, got {text!r}")
    if max(values) > MAX_BATCH:
        raise argparse.ArgumentTypeError(f"batch sizes must be at most {MAX_BATCH:,} (one NumPy batch), got {text!r}")
    return values


def _whole_range(minimum: int, maximum: int | None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {text!r}")
        return value

    return parse


EPISODES = _whole_range(2, MAX_BATCH)  # a 95% CI needs two episodes; an evaluation batch at most MAX_BATCH
SEED = _whole_range(0, MAX_SEED)
TIMESTEPS = _whole_range(1, MAX_TIMESTEPS)


def _backend_options(p: argparse.ArgumentParser, what: str) -> None:
    """``--backend numpy|jax`` and ``--dtype`` (the JAX back end, :mod:`envs.jax_core`; needs echelon[jax])."""
    p.add_argument("--backend", choices=["numpy", "jax"], default="numpy",
                   help=f"jax: {what} (needs pip install 'echelon[jax]'; default: numpy)")
    p.add_argument("--dtype", choices=["float32", "float64"],
                   help="with --backend jax: precision (default: float64 on a CPU, float32 on an accelerator)")


def _version() -> str:
    """The installed distribution's version (``pyproject.toml``), or "unknown" for a bare source tree."""
    try:
        return importlib.metadata.version("echelon")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The ``echelon`` argument parser with every subcommand."""
    parser = OneLineParser(
        prog="echelon",
        description="Echelon: multi-agent reinforcement learning for multi-echelon inventory management.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"echelon {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    p = sub.add_parser("scenarios", help="list the built-in scenarios")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("show", help="validate a scenario and print its network",
                       epilog="example: echelon show textbook_serial")
    p.add_argument("scenario", help="built-in name (beer_game) or a YAML path")
    p.add_argument("--all", action="store_true", help="print every site (default: the first 50)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("speed", help="measure the throughput of the core and the ParallelEnv",
                       epilog="example: echelon speed --scenario beer_game --seconds 2")
    p.add_argument("--scenario", default="beer_game", help="scenario to time (default: beer_game)")
    p.add_argument("--batches", type=_batch_list, default=[1, 64, 1024, 16384],
                   help="comma-separated batch sizes (default: 1,64,1024,16384)")
    p.add_argument("--seconds", type=_bounded(0.0, MAX_SECONDS), default=2.0,
                   help=f"seconds per measurement, at most {MAX_SECONDS:g} (default: 2)")
    p.add_argument("--scale", action="store_true",
                   help="instead, site-steps/s of the core on distribution trees of 4 to 5,000 sites (batch 256)")
    p.add_argument("--episode", type=_whole_range(1, MAX_BATCH), metavar="BATCH",
                   help="instead, one whole episode of --scenario at BATCH copies (forecast base-stock "
                        "deciding): its time, site-steps/s and peak memory")
    p.add_argument("--validate", type=_whole_range(1, MAX_SITES), metavar="SITES",
                   help="instead, time reading and validating a YAML serial chain of SITES sites")
    p.add_argument("--classroom", type=_whole_range(1, 100), metavar="TEAMS",
                   help="instead, TEAMS teams of four play 36 weeks at once against a real 'echelon classroom' "
                        "on loopback: each week's turn-around (p50, p99), the server's CPU, orders checked in its "
                        "database")
    p.add_argument("--compare", metavar="REF",
                   help="instead, time this checkout against another (REF: the root of another checkout, e.g. a "
                        "git worktree of an earlier commit), the ParallelEnv and the core at --batches, side by "
                        "side in interleaved windows, per CPU second")
    p.add_argument("--rllib", metavar="CONFIG",
                   help="instead, RLlib's PPO training throughput on a training config (backend: rllib), its own "
                        "sampler against the batched core's, alternating iterations: agent steps per CPU second "
                        "and per wall second, and the time spent sampling and learning (needs echelon[rllib])")
    p.add_argument("--browser", action="store_true",
                   help="with --classroom: the teacher's page open in Chromium and two seats played by Chromium "
                        "phones; also the teacher page's cost per message early and late in the game")
    p.add_argument("--think", type=_bounded(0.0, 60.0), default=0.0, metavar="SECONDS",
                   help="with --classroom: each websocket player waits 0 to 2 x SECONDS (uniform) before each "
                        "order, as a class would (default 0: every order the moment the week opens, a burst)")
    _backend_options(p, "whole episodes of the JAX core on JAX's default device beside the NumPy core's: wall and "
                        "CPU time, compile time and the share of memory bandwidth")
    p.add_argument("--no-numpy", action="store_true",
                   help="with --backend jax: JAX rows only (batches the host could not run in NumPy)")
    p.set_defaults(func=cmd_speed)

    p = sub.add_parser("history", help="a demand-history CSV: each series' periods, mean, variability and fit",
                       epilog="example: echelon history sales.csv   (echelon history --sample sales.csv writes one)")
    p.add_argument("file", nargs="?", help="a long-format CSV: period or date, site, [product,] quantity")
    p.add_argument("--sample", metavar="OUT", help="instead, write a generated sample history to OUT (must not exist)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("optimal", help="optimal base-stock levels: exact (serial) or simulation-optimised",
                       epilog="example: echelon optimal textbook_serial --json")
    p.add_argument("scenario", help="built-in name or a YAML path")
    p.add_argument("--json", action="store_true", help="print JSON: method, echelon_levels, local_levels, "
                                                       "expected_cost")
    p.add_argument("--method", choices=("auto", "exact", "simulation", "dp"), default="auto",
                   help="auto (default): exact base-stock levels where theory covers the scenario, else "
                        "simulation; dp: the exact optimal policy of a one-site scenario by dynamic programming")
    p.add_argument("--episodes", type=EPISODES, default=None,
                   help="episodes per candidate in the search and the comparison (default: 200; fewer on "
                        "networks of more than 163 sites, episodes x sites <= 32,768, at least 8)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the episodes (default: 0)")
    p.add_argument("--compare", action="store_true",
                   help="also evaluate the classic heuristics on the same demand and print a table")
    p.add_argument("--optimum-only", action="store_true",
                   help="with --method dp: the optimum alone, without pricing the literature's heuristics")
    _backend_options(p, "simulate the search's candidates (and --compare's episodes) on JAX's default device, "
                        "demand drawn there")
    p.set_defaults(func=cmd_optimal)

    p = sub.add_parser("nash", help="selfish sites: their equilibrium, the competition penalty, aligning payments",
                       epilog="example: echelon nash two_stage --tracking echelon --share 0.5")
    p.add_argument("scenario", help="built-in name or a YAML path")
    p.add_argument("--tracking", choices=("local", "echelon"), default="local",
                   help="what each site orders up to: its local (default) or its echelon inventory position")
    p.add_argument("--share", type=_fraction, default=1.0,
                   help="customer-facing sites' share of their consumer backorder cost, the rest their "
                        "supplier's (Cachon & Zipkin's alpha; default: 1)")
    p.add_argument("--episodes", type=EPISODES, default=200, help="episodes per candidate (default: 200)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the episodes (default: 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_nash)

    p = sub.add_parser("reproduce", help="published figures beside Echelon's: zipkin2008, zheng_federgruen1991, "
                                         "dqn_beer_game",
                       epilog="example: echelon reproduce zipkin2008")
    p.add_argument("study", help="zipkin2008 | zheng_federgruen1991 | dqn_beer_game")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("benchmark", help="compare policies on scenarios: table, CSV/JSON, report and plots",
                       epilog="example: echelon benchmark centralization --episodes 200")
    p.add_argument("config", help="built-in benchmark (configs/benchmarks: heuristics, centralization) or a YAML path")
    p.add_argument("--out", help="output folder; must not exist (default: results/NAME, or NAME-2, ... if taken)")
    p.add_argument("--episodes", type=EPISODES, help="override the config's episodes per policy and scenario")
    p.add_argument("--seed", type=SEED, help="override the config's seed")
    p.add_argument("--periods", type=_whole_range(2, MAX_PERIODS), help="override every scenario's horizon")
    _backend_options(p, "simulate the episodes (and any levels: optimal search) on JAX's default device, demand "
                        "drawn there; every policy needs a device form")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="measure each (scenario, policy) pair as a Ray task on the cluster at ADDRESS (auto, "
                        "host:port or ray://host:10001); the same numbers as here")
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("study", help="a map of where each control structure wins (centralization)",
                       epilog="example: echelon study centralization --scenario my_network.yaml --out results/map")
    p.add_argument("config", nargs="?", default="centralization",
                   help="built-in study (configs/studies: centralization, advance_demand) or a YAML path")
    p.add_argument("--out", help="output folder; must not exist (default: results/NAME, or NAME-2, ... if taken)")
    p.add_argument("--episodes", type=EPISODES, help="override the config's episodes per structure and cell")
    p.add_argument("--scenario", action="append", metavar="SCENARIO",
                   help="map this network (a built-in name or your YAML, with its own demand) instead of the "
                        "config's; repeat for several")
    p.add_argument("--quick", action="store_true",
                   help="the map's two axes at their first and last values, the others at their first, fewer and "
                        "shorter episodes: a first look in about a minute")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="run the cells as Ray tasks on the cluster at ADDRESS (auto, host:port or "
                        "ray://host:10001); the same numbers as here")
    p.set_defaults(func=cmd_study)

    p = sub.add_parser("train", help="train agents (shared, central, single_site, independent): "
                       "Stable-Baselines3's PPO, A2C, DQN, SAC, TD3 or Echelon's evolution strategies (algo: es), "
                       "RLlib's PPO (backend: rllib), ES and PPO on the JAX device (backend: jax)",
                       epilog="example: echelon train quickstart --evaluate")
    p.add_argument("config", nargs="?", help="built-in training config (configs/training) or a YAML path")
    p.add_argument("--timesteps", type=TIMESTEPS, help="total timesteps (default: the config's n_timesteps)")
    p.add_argument("--seed", type=SEED, help="override the config's seed")
    p.add_argument("--out", help="run folder; must not exist (default: runs/NAME, or NAME-2, ... if taken)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--trust-pickles", action="store_true",
                   help="with --resume: load checkpoints this machine did not write (their files are pickles, "
                        "which can run code when loaded: only for run folders you trust)")
    p.add_argument("--evaluate", action="store_true", help="afterwards, benchmark the learned policy "
                                                          "(into RUN_DIR/benchmark)")
    p.add_argument("--episodes", type=EPISODES, help="episodes of the --evaluate benchmark (default: 1000)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="benchmark a trained run against the heuristics and the optimum",
                       epilog="example: echelon evaluate runs/quickstart --episodes 1000")
    p.add_argument("run", help="a run folder written by echelon train")
    p.add_argument("--episodes", type=EPISODES, help="episodes per policy (default: 1000)")
    p.add_argument("--seed", type=SEED, help="seed of the episodes (default: 0)")
    p.add_argument("--out", help="output folder (default: RUN_DIR/benchmark, or benchmark-2, ...)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("play", help="play sites of a network against agents, then a debrief (the beer game)",
                       epilog="example: echelon play beer_game --role retailer --others sterman --seed 1")
    p.add_argument("scenario", nargs="?", default="beer_game", help="scenario (default: beer_game)")
    p.add_argument("--role", default="retailer",
                   help="the site(s) people play, comma-separated for hot-seat (default: retailer)")
    p.add_argument("--others", default="sterman",
                   help="the other sites: a policy (sterman, base_stock, pass_through, ...) or a training run folder")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the demand: same seed, same game")
    p.add_argument("--periods", type=_whole_range(1, MAX_GAME_WEEKS),
                   help="weeks to play (default: the scenario's horizon)")
    p.add_argument("--save", help="save the game as JSON (must not exist)")
    p.add_argument("--chart", help="bullwhip chart PNG (default: next to --save, else games/SCENARIO-seedN.png)")
    p.set_defaults(func=cmd_play)

    p = sub.add_parser("scoreboard", help="learned baselines against exact optima and the best heuristics on a "
                       "fixed suite, over several seeds",
                       epilog="example: echelon scoreboard --quick")
    p.add_argument("config", nargs="?", default=None,
                   help="scoreboard config (built-in name or YAML path; default: configs/scoreboard/default.yaml)")
    p.add_argument("--quick", action="store_true", help="the config's reduced suite (for CI: about a minute)")
    p.add_argument("--out", help="output folder (default: results/scoreboard, or scoreboard-2, ...)")
    p.add_argument("--resume", metavar="DIR",
                   help="finish a stopped scoreboard: the seed runs it finished are kept, the others run")
    p.set_defaults(func=cmd_scoreboard)

    p = sub.add_parser("classroom", help="the beer game in the browser for a class: teams on their phones, "
                       "a teacher's dashboard and a debrief",
                       epilog="example: echelon classroom --host 0.0.0.0 --port 8000 --db class.db")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only; 0.0.0.0 for the "
                        "class's phones on the same network)")
    p.add_argument("--port", type=_whole_range(1, 65535), default=8000, help="port (default: 8000)")
    p.add_argument("--db", default="classroom.db",
                   help="SQLite file of the games (default: classroom.db); its games are resumed")
    p.add_argument("--public-url", metavar="URL",
                   help="the address the class's phones reach the server at, put in the QR code (default: this "
                        "computer's network address with --host 0.0.0.0); behind a reverse proxy, its HTTPS "
                        "address, e.g. https://beergame.example.org")
    p.add_argument("--join-limit", type=_whole_range(0, 100_000), default=JOIN_PER_MINUTE, metavar="N",
                   help=f"join attempts a minute from one address, and new seats a minute in one game (default: "
                        f"{JOIN_PER_MINUTE}, bursts as large; a class behind one school address shares it); 0: "
                        "no limit, e.g. for a load test")
    p.set_defaults(func=cmd_classroom)

    p = sub.add_parser("replay", help="replay a saved game (or a classroom database) and show its debrief",
                       epilog="example: echelon replay game.json")
    p.add_argument("file", help="a game saved with echelon play --save, or an echelon classroom database")
    p.add_argument("--chart", help="bullwhip chart PNG (default: the game file with .png)")
    p.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line and return 2, Ctrl-C returns 130."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    args.own_process = argv is None  # the command line itself, not a call from Python (may re-exec: cmd_train)
    try:
        return args.func(args)
    except Interrupted as exc:
        print(f"echelon: {exc}", file=sys.stderr)
        return 130
    except (EchelonError, ValueError, OSError) as exc:
        print(f"echelon: error: {shown(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("echelon: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
