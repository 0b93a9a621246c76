"""The ``echelon`` command line.

Every user error (a bad scenario, argument or file) prints one line
``echelon: error: ...`` to stderr and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from envs.errors import EchelonError, Interrupted

EXAMPLES = """\
examples:
  echelon scenarios                      list the built-in scenarios
  echelon show beer_game                 validate a scenario and print its network
  echelon show my_network.yaml           ... or your own YAML file
  echelon speed                          throughput of the core and the ParallelEnv
  echelon optimal textbook_serial        exact Clark-Scarf levels and cost
  echelon optimal distribution --json    simulation-optimised levels, as JSON
  echelon optimal beer_game --compare    the optimum against the classic heuristics
  echelon benchmark heuristics           every heuristic on every built-in scenario
  echelon benchmark centralization       decentralized vs information sharing vs hybrid vs centralized
  echelon benchmark my_bench.yaml --out results/mine
  echelon train quickstart --evaluate    train a shared PPO, then benchmark it against the heuristics
  echelon train shared_ppo_beer_game --timesteps 200000 --out runs/beer
  echelon train --resume runs/beer       continue an interrupted run
  echelon evaluate runs/beer             the learned policy against the heuristics and the optimum
  echelon play --role retailer           play the beer game's retailer against Sterman-like players
  echelon play beer_game --role retailer,factory --others base_stock --seed 7 --save game.json
  echelon replay game.json               the debrief of a saved game
"""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``echelon speed: error: ...``) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _console():  # noqa: ANN202 - a rich Console
    """A rich console; when output goes to a file or pipe, 120 columns so the tables are not cut."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=120)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _batch_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"batch sizes must be >= 1, got {text!r}")
    return values


def cmd_scenarios(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from envs.scenario import available_scenarios, load_scenario

    table = Table(title="Built-in scenarios (configs/scenarios)")
    for col in ("name", "sites", "periods", "description"):
        table.add_column(col)
    for name in available_scenarios():
        scen = load_scenario(name)
        first = scen.description.split(". ")[0].strip().rstrip(".") + "."
        table.add_row(name, str(len(scen.sites)), str(scen.periods), first)
    Console().print(table)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from rich.table import Table

    from envs.scenario import load_scenario

    scen = load_scenario(args.scenario)
    console = _console()
    console.print(f"[bold]{scen.name}[/bold] ({scen.source}): {len(scen.sites)} sites, "
                  f"{scen.periods} periods, allocation {scen.allocation}, "
                  f"pipeline holding {'on' if scen.pipeline_holding else 'off'}")
    if scen.description:
        console.print(scen.description.strip())
    table = Table()
    for col in ("#", "site", "supplier", "L", "l_o", "h'", "p", "unmet", "capacity", "demand"):
        table.add_column(col)
    for i, s in enumerate(scen.sites):
        lead = str(s.lead_time.values[0]) if s.lead_time.fixed else f"~{s.lead_time.mean:g}"
        demand = scen.demand.get(s.name)
        table.add_row(
            str(i), s.name, s.supplier or "(outside)", lead, str(s.order_delay), f"{s.holding_cost:g}",
            f"{s.shortage_cost:g}", "lost" if s.lost_sales else "backlog",
            "" if s.capacity == float("inf") else f"{s.capacity:g}",
            "" if demand is None else f"{type(demand).__name__} mean {demand.mean:g}",
        )
    console.print(table)
    return 0


def cmd_speed(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from envs.scenario import load_scenario
    from evaluation.throughput import core_throughput, parallel_env_throughput

    load_scenario(args.scenario)  # fail fast on a bad name
    table = Table(title=f"Throughput on {args.scenario} ({args.seconds:g} s per row, median of 9 windows)")
    for col in ("what", "batch", "steps/s", "site-steps/s"):
        table.add_column(col, justify="right")
    # batch-1 rows first: on this machine a batch-1 loop measured right after the
    # 16384-copy run reads up to 15% slower (cache and clock state), not its own speed
    rows = [parallel_env_throughput(args.scenario, args.seconds)]
    rows += [core_throughput(args.scenario, b, args.seconds) for b in args.batches]
    for r in rows:
        table.add_row(r.label, str(r.batch), f"{r.steps_per_s:,.0f}", f"{r.site_steps_per_s:,.3g}")
    Console().print(table)
    return 0


def _whole(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text!r}")
        return value

    return parse


def cmd_optimal(args: argparse.Namespace) -> int:
    import json

    from rich.table import Table

    from agents.optimal import optimal_levels
    from envs.scenario import load_scenario

    scen = load_scenario(args.scenario)
    best = optimal_levels(scen, method=args.method, episodes=args.episodes, seed=args.seed)
    if args.json:
        print(json.dumps(best.as_dict(), indent=2))
        return 0
    console = _console()
    how = {
        "clark_scarf": "exact optimum (Clark & Scarf 1960; Chen & Zheng 1994), long-run cost per period",
        "newsvendor": "exact optimum (newsvendor), long-run cost per period",
        "simulation": f"simulation-optimised echelon base-stock levels ({args.episodes} episodes, common random "
                      f"numbers), mean cost per period over the scenario's {scen.periods}-period episodes",
    }[best.method]
    console.print(f"[bold]{scen.name}[/bold]: {how}")
    table = Table()
    for col in ("site", "echelon level S^e", "local level S"):
        table.add_column(col, justify="right")
    for name, e, loc in zip(best.sites, best.echelon_levels, best.local_levels, strict=True):
        table.add_row(name, f"{e:g}", f"{loc:g}")
    console.print(table)
    ci = f" ± {best.half_width:.2f} (95% CI)" if best.half_width else ""
    console.print(f"expected cost per period: [bold]{best.expected_cost:.4f}[/bold]{ci}")
    if best.local_cost is not None:
        console.print(f"(local levels searched on their own: {best.local_cost:.4f} per period)")
    if args.compare:
        from evaluation.compare import compare_with_heuristics

        rows = compare_with_heuristics(scen, best, episodes=args.episodes, seed=args.seed)
        console.print(f"Against the classic heuristics ({args.episodes} episodes of {scen.periods} periods, "
                      "the same demand for every policy):")
        table = Table()
        for col in ("policy", "cost / period", "95% CI", "vs optimum"):
            table.add_column(col, justify="right" if col != "policy" else "left")
        for row in rows:
            table.add_row(row.label, f"{row.mean:.2f}", f"± {row.half_width:.2f}", f"{row.gap:+.1%}")
        console.print(table)
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from pathlib import Path

    from envs.files import fresh_dir
    from evaluation.benchmark import load_benchmark

    config = load_benchmark(args.config, episodes=args.episodes, seed=args.seed, periods=args.periods)
    out = Path(args.out) if args.out is not None else fresh_dir(Path("results"), config.name)
    return _run_benchmark(config, out)


def _run_benchmark(config, out) -> int:  # noqa: ANN001 - a BenchmarkConfig and a Path
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from evaluation.benchmark import run_benchmark
    from evaluation.output import write_benchmark

    if out.exists():
        raise FileExistsError(f"{out}: already exists; choose another --out (earlier runs are never overwritten)")
    console = _console()
    total = len(config.scenarios) * len(config.policies)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(f"benchmark {config.name}", total=total)
        result = run_benchmark(config, lambda message: progress.update(task, advance=1, description=message))
    console.print(_benchmark_table(result))
    written = write_benchmark(result, out)
    console.print(f"wrote {len(written)} files to [bold]{out}[/bold] (report: {out / 'report.md'})")
    return 0


def _benchmark_table(result):  # noqa: ANN001, ANN202 - rich table of a BenchmarkResult
    import math

    from rich.table import Table

    cfg = result.config
    table = Table(title=f"{cfg.name}: team cost per period, {cfg.episodes} episodes, common random numbers")
    for col in ("scenario", "policy", "cost", "95% CI", f"vs {cfg.baseline}", "fill rate", "on hand",
                "bullwhip (top)"):
        table.add_column(col, justify="left" if col in ("scenario", "policy") else "right")
    for scen in cfg.scenarios:
        rows = sorted((r for r in result.rows if r.scenario == scen.name), key=lambda r: r.metrics.cost.mean)
        for i, r in enumerate(rows):
            m = r.metrics
            fill = "n/a" if math.isnan(m.fill_rate_total) else f"{m.fill_rate_total:.1%}"
            top = m.echelon_bullwhip[-1]
            table.add_row(
                scen.name if i == 0 else "", r.label, f"{m.cost.mean:.2f}", f"± {m.cost.half_width:.2f}",
                "baseline" if r.label == cfg.baseline else f"{r.vs_baseline.mean:+.2f}",
                fill, f"{sum(m.on_hand.values()):.1f}", "n/a" if math.isnan(top) else f"{top:.2f}",
                end_section=i == len(rows) - 1,
            )
    return table


def cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from envs.files import fresh_dir
    from training.config import load_train_config
    from training.train import Trainer, resume_config, start_run

    if (args.config is None) == (args.resume is None):
        raise ValueError("give a training config, or --resume RUN_DIR (not both)")
    if args.resume is not None:
        out = Path(args.resume)
        config = resume_config(out)
    else:
        config = load_train_config(args.config)
        if args.seed is not None:
            config.seed = args.seed
        out = Path(args.out) if args.out else fresh_dir(Path("runs"), config.name)
    total = args.timesteps or config.n_timesteps
    console = _console()
    if args.resume is None:
        start_run(config, out)
    console.print(f"training [bold]{config.name}[/bold]: {config.mode} {config.algo.upper()} on {config.scenario}, "
                  f"{total:,} timesteps, run folder {out}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("timesteps", total=total)
        trainer = Trainer(config, out, resume=args.resume is not None,
                          progress=lambda done, _: progress.update(task, completed=done))
        progress.update(task, completed=trainer.total)
        last = trainer.train(total)
    console.print(f"done: {trainer.total:,} timesteps; held-out cost per period {last['cost']:.2f} "
                  f"({last['gap_to_best_heuristic']:+.1%} against the best base-stock policy, "
                  f"{trainer.state.reference_cost:.2f}); best {trainer.state.best_cost:.2f}")
    console.print(f"learning curve: {out / 'learning_curve.png'}; TensorBoard: tensorboard --logdir {out / 'tb'}")
    if args.evaluate:
        args.run = str(out)
        args.out = None
        return cmd_evaluate(args)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evaluation.benchmark import learned_benchmark

    run = Path(args.run)
    config = learned_benchmark(run, episodes=args.episodes or 1000, seed=args.seed or 0)
    args.config = config
    if args.out is None:
        from envs.files import fresh_dir

        args.out = str(fresh_dir(run, "benchmark"))
    return _run_benchmark(config, Path(args.out))


def cmd_play(args: argparse.Namespace) -> int:
    from pathlib import Path

    from echelon.play import Game, Table, others_spec

    roles = [r.strip() for r in args.role.split(",") if r.strip()]
    game = Game(args.scenario, args.seed, 0, roles, others_spec(args.others))
    game.periods = args.periods or _horizon(args.scenario)
    table = Table(game, print)
    if args.save is not None and Path(args.save).exists():
        raise FileExistsError(f"{args.save}: already exists; choose another --save file")
    print(f"Echelon play: {game.scenario}, {game.periods} weeks, seed {game.seed}. You play: {', '.join(roles)}; "
          f"the other sites follow '{args.others}'. Each week, type how many units to order.")
    last = {"role": None}

    def ask(prompt: str, role: str) -> str:
        if len(roles) > 1 and role != last["role"]:
            print(f"--- {role}, your turn ---")
        last["role"] = role
        return input(prompt)

    try:
        table.play(ask)
    except (EOFError, KeyboardInterrupt):
        print()
        raise Interrupted(f"game abandoned in week {len(game.orders) + 1}; nothing was saved") from None
    return _finish_game(game, args.save, args.chart)


def cmd_replay(args: argparse.Namespace) -> int:
    from pathlib import Path

    from echelon.play import Game, Table

    game = Game.from_file(args.file)
    replayed = Game(game.scenario, game.seed, game.periods, game.roles, game.others, inputs=game.inputs)
    Table(replayed, print).play(lambda prompt, role: "", replay=True)
    return _finish_game(replayed, None, args.chart or str(Path(args.file).with_suffix(".png")))


def _horizon(scenario: str) -> int:
    from envs.scenario import load_scenario

    return load_scenario(scenario).periods


def _finish_game(game, save, chart) -> int:  # noqa: ANN001 - a Game and optional paths
    from pathlib import Path

    from echelon.play import chart_png, debrief, save_game
    from envs.files import fresh_dir, write_atomic

    print(debrief(game))
    if save is not None:
        save_game(game, Path(save))
        print(f"game saved to {save} (replay it with: echelon replay {save})")
    if chart is None:
        chart = str(Path(save).with_suffix(".png")) if save else str(fresh_dir(Path("games"),
                                                                              f"{game.scenario}-seed{game.seed}",
                                                                              ".png"))
    write_atomic(Path(chart), chart_png(game))
    print(f"bullwhip chart: {chart}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="echelon",
        description="Echelon: multi-agent reinforcement learning for multi-echelon inventory management.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    p = sub.add_parser("scenarios", help="list the built-in scenarios")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("show", help="validate a scenario and print its network",
                       epilog="example: echelon show textbook_serial")
    p.add_argument("scenario", help="built-in name (beer_game) or a YAML path")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("speed", help="measure the throughput of the core and the ParallelEnv",
                       epilog="example: echelon speed --scenario beer_game --seconds 2")
    p.add_argument("--scenario", default="beer_game", help="scenario to time (default: beer_game)")
    p.add_argument("--batches", type=_batch_list, default=[1, 64, 1024, 16384],
                   help="comma-separated batch sizes (default: 1,64,1024,16384)")
    p.add_argument("--seconds", type=_positive_float, default=2.0, help="seconds per measurement (default: 2)")
    p.set_defaults(func=cmd_speed)

    p = sub.add_parser("optimal", help="optimal base-stock levels: exact (serial) or simulation-optimised",
                       epilog="example: echelon optimal textbook_serial --json")
    p.add_argument("scenario", help="built-in name or a YAML path")
    p.add_argument("--json", action="store_true", help="print JSON: method, echelon_levels, local_levels, "
                                                       "expected_cost")
    p.add_argument("--method", choices=("auto", "exact", "simulation"), default="auto",
                   help="auto (default): exact where theory covers the scenario, else simulation")
    p.add_argument("--episodes", type=_whole(1), default=200,
                   help="episodes per candidate in the search and the comparison (default: 200)")
    p.add_argument("--seed", type=_whole(0), default=0, help="seed of the episodes (default: 0)")
    p.add_argument("--compare", action="store_true",
                   help="also evaluate the classic heuristics on the same demand and print a table")
    p.set_defaults(func=cmd_optimal)

    p = sub.add_parser("benchmark", help="compare policies on scenarios: table, CSV/JSON, report and plots",
                       epilog="example: echelon benchmark centralization --episodes 200")
    p.add_argument("config", help="built-in benchmark (configs/benchmarks: heuristics, centralization) or a YAML path")
    p.add_argument("--out", help="output folder; must not exist (default: results/NAME, or NAME-2, ... if taken)")
    p.add_argument("--episodes", type=_whole(1), help="override the config's episodes per policy and scenario")
    p.add_argument("--seed", type=_whole(0), help="override the config's seed")
    p.add_argument("--periods", type=_whole(2), help="override every scenario's horizon")
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("train", help="train agents with Stable-Baselines3 (shared, central, single_site, independent)",
                       epilog="example: echelon train quickstart --evaluate")
    p.add_argument("config", nargs="?", help="built-in training config (configs/training) or a YAML path")
    p.add_argument("--timesteps", type=_whole(1), help="total timesteps (default: the config's n_timesteps)")
    p.add_argument("--seed", type=_whole(0), help="override the config's seed")
    p.add_argument("--out", help="run folder; must not exist (default: runs/NAME, or NAME-2, ... if taken)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint")
    p.add_argument("--evaluate", action="store_true", help="afterwards, benchmark the learned policy "
                                                          "(into RUN_DIR/benchmark)")
    p.add_argument("--episodes", type=_whole(1), help="episodes of the --evaluate benchmark (default: 1000)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="benchmark a trained run against the heuristics and the optimum",
                       epilog="example: echelon evaluate runs/quickstart --episodes 1000")
    p.add_argument("run", help="a run folder written by echelon train")
    p.add_argument("--episodes", type=_whole(1), help="episodes per policy (default: 1000)")
    p.add_argument("--seed", type=_whole(0), help="seed of the episodes (default: 0)")
    p.add_argument("--out", help="output folder (default: RUN_DIR/benchmark, or benchmark-2, ...)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("play", help="play sites of a network against agents, then a debrief (the beer game)",
                       epilog="example: echelon play beer_game --role retailer --others sterman --seed 1")
    p.add_argument("scenario", nargs="?", default="beer_game", help="scenario (default: beer_game)")
    p.add_argument("--role", default="retailer",
                   help="the site(s) people play, comma-separated for hot-seat (default: retailer)")
    p.add_argument("--others", default="sterman",
                   help="the other sites: a policy (sterman, base_stock, pass_through, ...) or a training run folder")
    p.add_argument("--seed", type=_whole(0), default=0, help="seed of the demand: same seed, same game")
    p.add_argument("--periods", type=_whole(1), help="weeks to play (default: the scenario's horizon)")
    p.add_argument("--save", help="save the game as JSON (must not exist)")
    p.add_argument("--chart", help="bullwhip chart PNG (default: next to --save, else games/SCENARIO-seedN.png)")
    p.set_defaults(func=cmd_play)

    p = sub.add_parser("replay", help="replay a saved game and show its debrief",
                       epilog="example: echelon replay game.json")
    p.add_argument("file", help="a game saved with echelon play --save")
    p.add_argument("--chart", help="bullwhip chart PNG (default: the game file with .png)")
    p.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except Interrupted as exc:
        print(f"echelon: {exc}", file=sys.stderr)
        return 130
    except (EchelonError, ValueError, OSError) as exc:
        print(f"echelon: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("echelon: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
