"""The bodies of the ``echelon`` commands; :mod:`echelon.cli` parses the arguments and dispatches here.

Each ``cmd_*`` takes the parsed arguments and returns the exit status. Heavy
imports (torch, Stable-Baselines3, matplotlib) happen inside the commands, so ``echelon
--help`` and argument errors answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import Any

from echelon.envs.errors import ConfigError, Interrupted


def _console():  # noqa: ANN202 - a rich Console
    """A rich console; when output goes to a file or pipe, 120 columns so the tables are not cut."""
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=120)


def cmd_scenarios(args: argparse.Namespace) -> int:
    """``echelon scenarios``: the built-in scenarios, one line each (cut to the terminal's width)."""
    import shutil

    from echelon.envs.scenario import available_scenarios, load_scenario

    names = available_scenarios()
    width = max(map(len, names))
    room = max(shutil.get_terminal_size((100, 24)).columns, 60)
    print(f"{'name':<{width}}  {'sites':>5}  {'periods':>7}  what it is")
    for name in names:
        scen = load_scenario(name)
        line = f"{name:<{width}}  {len(scen.sites):>5}  {scen.periods:>7}  {summary(scen.description)}"
        print(line if len(line) <= room else line[:room - 1] + "…")
    print("echelon show NAME: the whole description, the network and its demand")
    return 0


def summary(description: str) -> str:
    """A scenario's description in a few words: its first sentence up to the first parenthesis, colon or
    semicolon (the citation and the details are for ``echelon show``)."""
    first = " ".join(description.split(". ")[0].split())
    for mark in (" (", ": ", "; "):
        first = first.split(mark)[0]
    return first.strip().rstrip(".,")


SHOW_ROWS = 50
"""Sites ``echelon show`` prints unless ``--all``: a table of 10,000 rows takes rich minutes to lay out."""


def _scenario_notes(scen: Any) -> list[str]:
    """What ``echelon show`` says of a scenario beyond its table: internal sites with demand of their own,
    clipped seasons, a consolidated purchase order."""
    notes = []
    internal = [name for name in scen.demand if scen.customers(name)]
    if internal:
        notes.append(f"note: {', '.join(internal[:5])}{' ...' if len(internal) > 5 else ''} also supplies other "
                     "sites and faces customer demand of its own (served from the same stock); the exact solvers "
                     "do not cover that")
    seasonal = [name for name, m in scen.demand.items() if getattr(m, "clip", False)]
    if seasonal:
        notes.append(f"note: the seasonal demand of {', '.join(seasonal[:5])} is clipped at 0 (clip: true)")
    if scen.joint_order_cost:
        notes.append(f"joint_order_cost {scen.joint_order_cost:g}: one purchase order to the outside supplier a "
                     "period, shared by the sites without a supplier that order in it")
    return notes


def cmd_show(args: argparse.Namespace) -> int:
    """``echelon show``: validate a scenario and print its sites."""
    from rich.table import Table

    from echelon.envs.scenario import load_scenario

    scen = load_scenario(args.scenario)
    console = _console()
    size = f"{len(scen.sites)} sites"
    if scen.products:
        places = len({scen.node(i)[0] for i in range(len(scen.sites))})
        size = f"{len(scen.sites)} nodes ({places} sites, {len(scen.products)} products; a node is site/product)"
    console.print(f"[bold]{scen.name}[/bold] ({scen.source}): {size}, "
                  f"{scen.periods} periods, {scen.timing.replace('_', '-')} timing, allocation {scen.allocation}, "
                  f"pipeline holding {'on' if scen.pipeline_holding else 'off'}")
    if scen.description:
        console.print(scen.description.strip())
    for note in _scenario_notes(scen):
        console.print(note)
    table = Table()
    from echelon.envs.demand import demand_summary

    for col in ("#", "site", "supplier", "L (Echelon's)", "l_o", "h'", "p", "unmet", "capacity", "demand"):
        table.add_column(col)
    shown = scen.sites if args.all else scen.sites[:SHOW_ROWS]
    for i, s in enumerate(shown):
        lead = str(s.lead_time.values[0]) if s.lead_time.fixed else f"~{s.lead_time.mean:g}"
        demand = scen.demand.get(s.name)
        table.add_row(
            str(i), s.name, s.supplier or "(outside)", lead, str(s.order_delay), f"{s.holding_cost:g}",
            f"{s.shortage_cost:g}", "lost" if s.lost_sales else "backlog",
            "" if s.capacity == float("inf") else f"{s.capacity:g}",
            "" if demand is None else demand_summary(demand, scen.periods),
        )
    console.print(table)
    if len(shown) < len(scen.sites):
        console.print(f"... and {len(scen.sites) - len(shown):,} more sites (--all prints every one)")
    for cap in scen.capacities:
        members = ", ".join(scen.sites[i].name for i in cap.sites)
        console.print(f"bottleneck [bold]{cap.name}[/bold]: the orders of {members} total at most {cap.limit:g} "
                      f"per period (cut {'in list order' if cap.rule == 'priority' else 'in proportion'})")
    return 0


def cmd_speed(args: argparse.Namespace) -> int:
    """``echelon speed``: throughput of the ParallelEnv, of the SB3 vector env and of the batched core."""
    if args.browser and not args.classroom:
        raise ConfigError("--browser: only with --classroom TEAMS (the class's game in Chromium)")
    if args.think and not args.classroom:
        raise ConfigError("--think: only with --classroom TEAMS")
    if args.compare is not None:
        return _speed_compare(args)
    if args.backend == "jax":  # (before the NumPy rows' imports: a GPU image may lack SB3 and torch)
        from echelon.envs.scenario import load_scenario

        load_scenario(args.scenario)
        return _speed_jax(args)
    from rich.console import Console
    from rich.table import Table

    from echelon.envs.scenario import load_scenario
    from echelon.experiments.throughput import (
        core_throughput,
        parallel_env_throughput,
        plain_env_throughput,
        validation_time,
        vec_env_throughput,
    )

    if args.scale:
        from echelon.experiments.throughput import SCALE_SIZES, scale_throughput

        table = Table(title=f"Site-steps/s by network size (core, batch 256, {args.seconds:g} s per row)")
        for col in ("what", "sites", "steps/s", "site-steps/s", "vs 50 sites"):
            table.add_column(col, justify="right")
        rows = [scale_throughput(n, 256, args.seconds) for n in SCALE_SIZES]
        ref = next(r.site_steps_per_s for r, n in zip(rows, SCALE_SIZES, strict=True) if n == 50)
        for r, n in zip(rows, SCALE_SIZES, strict=True):
            table.add_row(r.label, f"{n:,}", f"{r.steps_per_s:,.0f}", f"{r.site_steps_per_s:,.3g}",
                          f"{r.site_steps_per_s / ref:.2f}x")
        Console().print(table)
        return 0
    if args.episode:
        from echelon.experiments.throughput import episode_footprint

        f = episode_footprint(args.scenario, args.episode)
        print(f"{args.scenario}: one {f.periods}-period episode of {f.sites:,} sites at batch {f.batch:,} "
              f"(forecast base-stock deciding) in {f.seconds:.1f} s, {f.site_steps_per_s:,.3g} site-steps/s; "
              f"peak memory {f.peak_mb:,.0f} MB (resident; {f.rss_before_mb:,.0f} MB before the episode)")
        return 0
    if args.classroom:
        from echelon.classroom.load import run_load

        r = run_load(args.classroom, browser=args.browser, think=args.think)
        pace = ("every player ordering the moment its week opened" if not args.think else
                f"each websocket player thinking 0 to {2 * args.think:g} s before each order")
        print(f"classroom: {r.teams} teams of 4 played {r.weeks} weeks at once over loopback websockets in "
              f"{r.seconds:.1f} s ({r.teams * r.weeks:,} team-weeks, {pace})\n  week turn-around (the last "
              f"order of a team's week to all four players seeing the next week): p50 {r.p50_ms:.0f} ms, "
              f"p99 {r.p99_ms:.0f} ms, max {r.max_ms:.0f} ms\n  server CPU "
              f"{r.server_cpu_s:.1f} s ({r.server_cpu_share:.0%} of one core)\n  orders: {r.orders_sent:,} sent, "
              f"{r.orders_in_db:,} in the database, {r.mismatched} lost, duplicated or different")
        if r.render is not None:
            (e50, e99, en), (l50, l99, ln), (c50, c99, cn) = (r.render[k] for k in ("early", "late", "class_view"))
            print(f"  teacher's page in Chromium (2 of the seats on Chromium phones): each message redraws its "
                  f"team's card: weeks 1-5 p50 {e50:.1f} ms, p99 {e99:.1f} ms ({en:,} messages); weeks 30-"
                  f"{r.weeks} p50 {l50:.1f} ms, p99 {l99:.1f} ms ({ln:,}); the class view, at most once a frame: "
                  f"p50 {c50:.1f} ms, p99 {c99:.1f} ms ({cn:,} redraws)")
        return 0 if r.mismatched == 0 and r.orders_in_db == r.orders_sent else 1
    if args.rllib:
        return _speed_rllib(args.rllib)
    if args.validate:
        t = validation_time(args.validate)
        print(f"scenario validation: a {t.sites:,}-site serial chain read in {t.read_s:.2f} s (YAML) and "
              f"validated in {t.check_s:.2f} s; {t.read_s + t.check_s:.2f} s in all")
        return 0
    load_scenario(args.scenario)  # fail fast on a bad name
    before = _load()
    # batch-1 rows first: on this machine a batch-1 loop measured right after the
    # 16384-copy run reads up to 15% slower (cache and clock state), not its own speed
    rows = [parallel_env_throughput(args.scenario, args.seconds)]
    if args.scenario == "beer_game":  # the yardstick: the same game written the plain way
        rows.append(plain_env_throughput(args.seconds))
    rows += [vec_env_throughput(args.scenario, copies, args.seconds) for copies in (16, 256)]
    rows += [core_throughput(args.scenario, b, args.seconds) for b in args.batches]
    table = Table(title=f"Throughput on {args.scenario} ({args.seconds:g} s per row, median of 9 windows; per "
                        f"wall second and per second of this process's CPU time)")
    for col in ("what", "batch", "steps/s", "site-steps/s", "steps/CPU-s", "site-steps/CPU-s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r.label, str(r.batch), f"{r.steps_per_s:,.0f}", f"{r.site_steps_per_s:,.3g}",
                      f"{r.steps_per_cpu_s:,.0f}", f"{r.site_steps_per_cpu_s:,.3g}")
    Console(width=max(Console().width, 110)).print(table)
    print(f"machine: {os.cpu_count()} CPUs; load average (1 min) {before:.2f} before, {_load():.2f} after: a load "
          f"above the CPU count means other work shared them, and the wall-time columns read low")
    if args.scenario == "beer_game":
        ratio = rows[0].steps_per_cpu_s / rows[1].steps_per_cpu_s
        print(f"ParallelEnv / plain dict env (steps per CPU second): {ratio:.2f}")
    return 0


def _speed_rllib(config_name: str) -> int:
    """``echelon speed --rllib CONFIG``: RLlib's own sampler against the batched core's
    (:mod:`experiments.rllib_speed`)."""
    from echelon.agents.rllib_model import RLLIB_HINT
    from echelon.training.config import load_train_config

    config = load_train_config(config_name)
    if config.backend != "rllib":
        raise ConfigError(f"--rllib: {config_name} is a backend {config.backend} config; give a backend rllib one "
                          "(rllib_independent_textbook, rllib_shared_textbook or your own)")
    try:
        import ray.rllib  # noqa: F401
    except ImportError:
        raise ConfigError(RLLIB_HINT) from None
    from echelon.experiments.rllib_speed import rllib_speed

    before = _load()
    figures, config = rllib_speed(config_name)
    hyper = {k: v for k, v in config.hyperparams.items() if k in ("train_batch_size_per_learner", "minibatch_size",
                                                                   "num_epochs")}
    print(f"RLlib PPO on {config.scenario} ({config.mode}, {config.ray.get('num_envs_per_env_runner')} envs, "
          f"{', '.join(f'{k} {v}' for k, v in hyper.items())}; 3 timed iterations each, alternating):")
    for f in figures:
        share = f.sampling_s / max(f.sampling_s + f.learning_s, 1e-9)
        print(f"  {f.sampler:<20} {f.per_cpu_s:>8,.0f} agent-steps per CPU-s, {f.per_wall_s:>8,.0f} per wall s "
              f"({f.agent_steps:,} agent steps; sampling {share:.0%} of the iteration, learning {1 - share:.0%})")
    print(f"  the batched core: {figures[1].per_cpu_s / figures[0].per_cpu_s:.1f}x per CPU second")
    print(f"machine: {os.cpu_count()} CPUs; load average (1 min) {before:.2f} before, {_load():.2f} after")
    return 0


def _speed_compare(args: argparse.Namespace) -> int:
    """``echelon speed --compare REF``: this checkout and REF side by side (:mod:`experiments.compare`)."""
    from rich.console import Console
    from rich.table import Table

    from echelon.envs.scenario import load_scenario
    from echelon.experiments.compare import checkout_root, compare

    load_scenario(args.scenario)
    checkout_root(args.compare)
    before = _load()
    rows = compare(args.compare, args.scenario, args.batches, args.seconds)
    table = Table(title=f"This checkout against {args.compare} on {args.scenario} (site-steps per second; medians "
                        f"of 9 interleaved windows of {args.seconds / 9:.2g} s each)")
    for col in ("what", "batch", "this /CPU-s", "REF /CPU-s", "this / REF", "this /s", "REF /s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r.label, f"{r.batch:,}", f"{r.this.cpu:.3g}", f"{r.ref.cpu:.3g}", f"{r.ratio:.2f}x",
                      f"{r.this.wall:.3g}", f"{r.ref.wall:.3g}")
    Console(width=max(Console().width, 110)).print(table)
    print(f"machine: {os.cpu_count()} CPUs; load average (1 min) {before:.2f} before, {_load():.2f} after")
    return 0


def _load() -> float:
    """The machine's 1-minute load average (NaN where the system has none)."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return float("nan")


def _speed_jax(args: argparse.Namespace) -> int:
    """``echelon speed --backend jax``: whole episodes of the JAX core beside the NumPy core's."""
    import jax
    from rich.console import Console
    from rich.table import Table

    from echelon.experiments import device_throughput as dt

    on_cpu = jax.default_backend() == "cpu"
    dtype = args.dtype or ("float64" if on_cpu else "float32")
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    batches = args.batches if args.batches != [1, 64, 1024, 16384] else [1024, 16384]
    bandwidth = dt.memory_bandwidth() if on_cpu else None
    rows = dt.compare(args.scenario, batches, dtype=dtype, numpy=not args.no_numpy)
    title = (f"Whole episodes of {args.scenario}: NumPy core and JAX core ({dt.device_name()}, {dtype}), every site "
             f"ordering {dt.ORDER:g} a period, demand drawn by each back end")
    table = Table(title=title)
    for col in ("backend", "batch", "wall s", "CPU s", "site-steps/s", "/CPU-s", "compile s", "of bw"):
        table.add_column(col, justify="right")
    for r in rows:
        share = "" if bandwidth is None else f"{dt.bound_share(r, bandwidth):.0%}"
        table.add_row(r.backend, f"{r.batch:,}", f"{r.wall_s:.3f}", f"{r.cpu_s:.3f}", f"{r.site_steps_per_s:.3g}",
                      f"{r.site_steps_per_cpu_s:.3g}", f"{r.compile_s:.2f}" if r.backend == "jax" else "", share)
    Console(width=max(Console().width, 100)).print(table)
    if bandwidth is not None:
        print(f"of bw: site-steps/s x {rows[-1].state_bytes} bytes (the state a site-step must read and write "
              f"once) over this machine's memory bandwidth, {bandwidth / 1e9:.1f} GB/s (a 256 MB copy); above "
              "100%: the state stays in the caches")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """``echelon history``: read a demand-history CSV and show each series with its fitted model."""
    import json
    from pathlib import Path

    from rich.table import Table

    from echelon.envs.errors import ConfigError
    from echelon.envs.files import Output
    from echelon.envs.history import fit, read_history, sample_history

    if args.sample is not None:
        if args.file is not None:
            raise ValueError("give a history FILE to read, or --sample OUT to write one (not both)")
        out = Output(Path(args.sample), noun="--sample")
        out.check()
        print(f"wrote a generated sample history to {out.write_file(sample_history())}")
        return 0
    if args.file is None:
        raise ValueError("give a demand-history CSV to read (or --sample OUT to write one)")
    history = read_history(Path(args.file))
    rows = []
    for (site, product), values in history.series.items():
        row = {"site": site, "product": product, "periods": len(values), "mean": float(values.mean()),
               "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
        try:
            fitted = fit(values, f"{history.source}: site '{site}'")
            row |= {"dispersion": fitted.dispersion, "fit": fitted.spec()}
        except ConfigError as exc:
            row |= {"dispersion": None, "fit": None, "note": str(exc).split(": ")[-1]}
        rows.append(row)
    if args.json:
        print(json.dumps({"source": history.source, "period_days": history.period_days, "series": rows}, indent=1))
        return 0
    unit = {1: "daily", 7: "weekly"}.get(history.period_days or 0, f"{history.period_days}-day"
                                          if history.period_days else "numbered")
    table = Table(title=f"{history.source}: {len(rows)} series, {unit} periods")
    for col in ("site", "product", "periods", "mean", "std", "var/mean", "fitted model"):
        table.add_column(col, justify="left" if col in ("site", "product", "fitted model") else "right")
    for r in rows:
        spec = r["fit"]
        model = "" if spec is None else ", ".join(f"{k}: {v:g}" if isinstance(v, float) else f"{k}: {v}"
                                                   for k, v in spec.items())
        table.add_row(r["site"], r["product"], str(r["periods"]), f"{r['mean']:.2f}", f"{r['std']:.2f}",
                      "" if r["dispersion"] is None else f"{r['dispersion']:.2f}", model or r.get("note", ""))
    _console().print(table)
    return 0


def cmd_optimal(args: argparse.Namespace) -> int:
    """``echelon optimal``: exact or simulation-optimised base-stock levels, optionally against heuristics."""
    import json

    from rich.table import Table

    from echelon.agents.optimal import optimal_levels
    from echelon.agents.search import FREE_SEARCH_MAX_SITES
    from echelon.envs.scenario import load_scenario

    scen = load_scenario(args.scenario)
    if args.method == "dp":
        return _optimal_dp(scen, args.json, _device_rvi(args) if args.backend == "jax" else None, args.optimum_only)
    from echelon.agents.search import search_episodes

    episodes = search_episodes(scen) if args.episodes is None else args.episodes
    searching, measure_on = _backend(args)
    with searching:
        best = optimal_levels(scen, method=args.method, episodes=episodes, seed=args.seed)
    import math

    numbers = [best.expected_cost, *best.echelon_levels, *best.local_levels]
    if not all(math.isfinite(x) for x in numbers):
        raise ValueError(f"{scen.source}: the optimum overflowed float64 (cost {best.expected_cost}); "
                         "use smaller cost rates or units")
    if args.json:
        print(json.dumps(best.as_dict(), indent=2))
        return 0
    console = _console()
    how = {
        "clark_scarf": "exact optimum (Clark & Scarf 1960; Chen & Zheng 1994), long-run cost per period",
        "newsvendor": "exact optimum (newsvendor), long-run cost per period",
        "simulation": f"simulation-optimised echelon base-stock levels ({episodes} episodes, common random "
                      f"numbers), mean cost per period over the scenario's {scen.periods}-period episodes",
    }[best.method]
    console.print(f"[bold]{scen.name}[/bold]: {how}")
    table = Table()
    for col in ("site", "echelon level S^e", "local level S"):
        table.add_column(col, justify="right")
    rows = list(zip(best.sites, best.echelon_levels, best.local_levels, strict=True))
    for name, e, loc in rows[:SHOW_ROWS]:
        table.add_row(name, f"{e:g}", f"{loc:g}")
    console.print(table)
    if len(rows) > SHOW_ROWS:
        console.print(f"... and {len(rows) - SHOW_ROWS:,} more sites (--json prints every level)")
    if best.method == "simulation" and len(rows) > FREE_SEARCH_MAX_SITES:
        console.print(f"(more than {FREE_SEARCH_MAX_SITES} sites: one safety factor per echelon was searched, "
                      "S_j = m_j + z_k sqrt(m_j))")
    ci = f" ± {best.half_width:.2f} (95% CI)" if best.half_width else ""
    console.print(f"expected cost per period: [bold]{best.expected_cost:.4f}[/bold]{ci}")
    if best.local_cost is not None:
        console.print(f"(local levels searched on their own: {best.local_cost:.4f} per period)")
    if args.compare:
        from echelon.evaluation.benchmark import optimum_benchmark, run_benchmark

        result = run_benchmark(optimum_benchmark(scen, best, episodes=max(episodes, 2), seed=args.seed),
                               measure_on=measure_on)
        console.print(_benchmark_table(result))
    return 0


def _device_rvi(args: argparse.Namespace) -> tuple[Any, int]:
    """``--method dp --backend jax``: the device's value iteration (float64) and its size limit (the host's on a
    CPU; :data:`agents.jax_dp.DEVICE_MAX_CELLS` on an accelerator)."""
    from echelon.agents.dp import MAX_CELLS
    from echelon.agents.jax_dp import DEVICE_MAX_CELLS, jax_relative_value_iteration
    from echelon.envs.jax_core import jax
    from echelon.evaluation.device import as_dtype

    if args.dtype == "float32":
        raise ValueError("--method dp: the value iteration stops at 1e-10 relative, which needs float64 (leave out "
                         "--dtype float32)")
    dtype = as_dtype("float64")
    on_cpu = jax.default_backend() == "cpu"
    return (lambda arrays: jax_relative_value_iteration(arrays, dtype)), MAX_CELLS if on_cpu else DEVICE_MAX_CELLS


def _optimal_dp(scen, as_json: bool, device: tuple[Any, int] | None = None,  # noqa: ANN001 - a Scenario
                optimum_only: bool = False) -> int:
    """``echelon optimal --method dp``: the exact DP, and on lost sales every literature heuristic priced exactly
    (where their Markov chains fit; ``device``: the value iteration to use and its size limit)."""
    import json

    from rich.table import Table

    from echelon.agents.dp import MAX_CELLS, solve
    from echelon.agents.lost_sales import literature_table
    from echelon.agents.single_site import single_site_model
    from echelon.envs.errors import ConfigError

    model = single_site_model(scen, "the exact DP")
    rvi, limit = device or (None, MAX_CELLS)
    solution = solve(model, limit, rvi)
    rows = [("optimal (DP)", "", solution.cost)]
    if model.lost_sales and not optimum_only:
        try:
            rows = literature_table(model, solution.cost)
        except ConfigError as exc:  # (a chain too large to price exactly: the optimum alone)
            solution.checks.append(f"heuristics not priced: {exc}")
    if solution.reorder is not None:
        rows[0] = ("optimal (DP)", f"s={solution.reorder[0]}, S={solution.reorder[1]}", solution.cost)
    if as_json:
        print(json.dumps({
            "method": "dp", "site": model.site, "unmet": "lost" if model.lost_sales else "backlog",
            "expected_cost": solution.cost, "half_width": solution.half_width, "states": solution.states,
            "bounds": solution.bounds, "bounds_checked": solution.checks, "iterations": solution.iterations,
            "seconds": round(solution.seconds, 3),
            "reorder_point_and_level": list(solution.reorder) if solution.reorder else None,
            "policies": [{"policy": p, "parameters": q, "expected_cost": c} for p, q, c in rows],
        }, indent=2))
        return 0
    console = _console()
    unmet = "lost sales" if model.lost_sales else "backlog"
    console.print(f"[bold]{scen.name}[/bold]: exact optimum by dynamic programming (relative value iteration), "
                  f"long-run cost per period")
    console.print(f"site {model.site}: {unmet}; an order is on hand {model.periods_ahead} periods after it is "
                  f"placed (Zipkin's lead time {model.pipeline_length}); mean demand {model.mean:g}")
    bounds = ", ".join(f"{name} <= {value}" if "lowest" not in name else f"{name} {value}"
                       for name, value in solution.bounds.items())
    console.print(f"state bounds: {bounds}: {solution.states:,} states; {'; '.join(solution.checks)}")
    console.print(f"solved in {solution.seconds:.2f} s ({solution.iterations} iterations); optimal cost per period "
                  f"[bold]{solution.cost:.4f}[/bold] (exact to ± {max(solution.half_width, 1e-12):.0e})")
    table = Table(title="every policy priced exactly (long-run cost per period)")
    for col in ("policy", "parameters", "cost", "gap to optimum"):
        table.add_column(col, justify="left" if col in ("policy", "parameters") else "right")
    for policy, parameters, cost in rows:
        table.add_row(policy, parameters, f"{cost:.4f}", f"{cost / solution.cost - 1:+.1%}")
    console.print(table)
    return 0


def cmd_nash(args: argparse.Namespace) -> int:
    """``echelon nash``: selfish sites' equilibrium, its competition penalty, and the payments that align it."""
    import json

    from rich.table import Table

    from echelon.agents.contract import align
    from echelon.agents.nash import Game
    from echelon.envs.scenario import load_scenario

    scen = load_scenario(args.scenario)
    game = Game(scen, args.tracking, args.share, episodes=args.episodes, seed=args.seed)
    result = align(game)
    if args.json:
        print(json.dumps(result.as_dict(scen.site_names), indent=2))
        return 0
    console = _console()
    console.print(f"[bold]{scen.name}[/bold]: selfish sites choosing {args.tracking} base-stock levels for their own "
                  f"cost (Cachon & Zipkin 1999); customer-facing sites bear {args.share:g} of their consumer "
                  f"backorder cost, their suppliers the rest; {args.episodes} episodes, common random numbers")
    table = Table()
    for col in ("site", "team level", "selfish level", "aligned level"):
        table.add_column(col, justify="right")
    aligned = [f"{x:.4g}" for x in result.aligned_levels] if result.aligned_levels is not None else ["-"] * game.n
    for name, team, selfish, ours in zip(scen.site_names, result.team_levels, result.selfish_levels, aligned,
                                         strict=True):
        table.add_row(name, f"{team:.4g}", f"{selfish:.4g}", ours)
    console.print(table)
    console.print(f"team cost per period at the team levels {result.team_cost:.3f}, at the selfish equilibrium "
                  f"{result.selfish_cost:.3f} ± {result.half_width:.3f}: competition penalty "
                  f"[bold]{result.competition_penalty:.3f}[/bold]")
    if args.tracking == "echelon":
        console.print("convention: each site orders up to its level on its echelon position, so a supplier's "
                      "level below its customer's caps the stock of the whole chain below it")
    for name, (gain, half) in result.selfish_deviations.items():
        weak = (" (weak: it loses nothing by moving)" if name in result.weak_sites else
                " (its interval reaches 0: more episodes would tell)" if name in result.unresolved_sites else "")
        console.print(f"  {name}: best own-cost gain from a one-unit move at the selfish equilibrium "
                      f"{gain:+.4f} ± {half:.4f}{weak}")
    if result.weak_sites:
        console.print(f"the selfish equilibrium is [bold]weak[/bold]: {', '.join(result.weak_sites)} "
                      f"{'is' if len(result.weak_sites) == 1 else 'are'} indifferent to moving, so other levels "
                      f"are equilibria too and the competition penalty depends on which one is played")
    if not result.found:
        console.print(f"no linear payments of this form make the team levels an equilibrium: under the best of "
                      f"them a site still gains {-result.margin:.4f} per period by moving")
        return 0
    console.print("linear transfer payments, per period:")
    for line in result.contract.describe(scen.site_names, game.supplier):
        console.print(f"  {line}")
    for lane_name, amount in result.payments.items():
        console.print(f"  at the team levels, {lane_name}: {amount:+.3f} per period on average")
    verdict = "[bold]the team optimum[/bold]" if result.reaches_team_optimum else "NOT the team optimum"
    console.print(f"from the selfish equilibrium, best responses under the payments end at {verdict} "
                  f"(team cost {result.aligned_cost:.3f}); smallest in-sample margin {result.margin:.4f}")
    for name, (gain, half) in result.deviations.items():
        console.print(f"  {name}: best own-cost gain from a one-unit move at the team levels {gain:+.4f} "
                      f"± {half:.4f} (fresh episodes)")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """``echelon reproduce``: a published table beside the figures Echelon computes for it."""
    from rich.table import Table

    from echelon.evaluation.reproduce import STUDIES, run_study

    if args.study not in STUDIES:
        raise ValueError(f"unknown study '{args.study}' (studies: {', '.join(STUDIES)})")
    console = _console()
    wall = time.perf_counter()
    study = run_study(args.study)
    for part in (study, *study.sections):
        table = Table(title=part.title)
        for col in part.columns:
            table.add_column(col, justify="right")
        for row in part.rows:
            table.add_row(*row)
        console.print(table)
        for note in part.notes:
            console.print(f"- {note}")
    console.print(f"({time.perf_counter() - wall:.0f} s)")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    """``echelon benchmark``: run a benchmark config into a new run folder."""
    from pathlib import Path

    from echelon.envs.files import Output
    from echelon.evaluation.benchmark import load_benchmark

    config = load_benchmark(args.config, episodes=args.episodes, seed=args.seed, periods=args.periods)
    if args.ray is not None:
        from echelon.envs.validation import check_address

        check_address(args.ray, "--ray")
        if args.backend == "jax":
            raise ConfigError("--ray: with the NumPy back end only (a cluster's nodes measure on their CPUs)")
    searching, measure_on = _backend(args)
    if measure_on is not None:
        from echelon.evaluation.device import check_on_device

        check_on_device([(f"{config.source}: policies[{i}]", e.spec) for i, e in enumerate(config.policies)],
                        list(config.scenarios))
    with searching:
        return _run_benchmark(config, Output.plan(args.out, Path("results"), config.name), measure_on, args.ray)


def _backend(args: argparse.Namespace) -> tuple[Any, Any]:
    """What ``--backend`` changes: (a context in which level searches simulate their candidates, a benchmark
    measure). NumPy: (no change, None); jax: both on JAX's default device, in ``--dtype``."""
    if args.backend != "jax":
        return contextlib.nullcontext(), None
    from echelon.agents.jax_search import device_evaluator
    from echelon.agents.search import evaluating_with
    from echelon.evaluation.device import as_dtype, device_measure

    dtype = as_dtype(args.dtype)

    def measure_on(policy, scenario, episodes, seed, warmup):  # noqa: ANN001, ANN202 - benchmark.Measure
        return device_measure(policy, scenario, episodes, seed, warmup, dtype)

    return evaluating_with(device_evaluator(dtype)), measure_on


def _run_benchmark(config, out, measure_on=None, ray=None) -> int:  # noqa: ANN001 - BenchmarkConfig, Output, Measure
    from echelon.envs.limits import check_work, estimate_words
    from echelon.evaluation.benchmark import run_benchmark
    from echelon.evaluation.output import write_benchmark
    from echelon.progress import Progress

    out.check()
    console = _console()
    total = len(config.scenarios) * len(config.policies)
    steps = sum(len(s.sites) * s.periods for s in config.scenarios) * config.episodes * len(config.policies)
    seconds = check_work(steps, f"benchmark {config.name}", "fewer --episodes or --periods")
    if seconds > 60:
        console.print(f"{steps:.3g} site-periods to simulate: {estimate_words(seconds)}")
    with Progress(console, f"benchmark {config.name}", total) as progress:
        step = progress.advance
        if ray is not None:
            from echelon.evaluation.on_ray import run_benchmark_on_ray

            result = run_benchmark_on_ray(config, ray, step)
        else:
            result = run_benchmark(config, step, measure_on)
    console.print(_benchmark_table(result))
    written = write_benchmark(result, out)
    final = written[0].parent
    console.print(f"wrote {len(written)} files to [bold]{final}[/bold] (report: {final / 'report.md'})")
    return 0


def _benchmark_table(result):  # noqa: ANN001, ANN202 - rich table of a BenchmarkResult
    import math

    from rich.table import Table

    cfg = result.config
    caption = None
    if result.optimum:
        known = ", ".join(f"{name} {cost:.2f}" for name, cost in result.optimum.items())
        caption = (f"vs exact optimum: the simulated cost against the exact long-run optimal cost C* ({known}); "
                   "≈: C* lies inside the row's 95% CI (no measurable gap: the difference is sampling noise)")
    table = Table(title=f"{cfg.name}: team cost per period, {cfg.episodes} episodes, common random numbers",
                  caption=caption, caption_justify="left")
    columns = ["scenario", "policy", "cost", "95% CI", f"vs {cfg.baseline}", "vs exact optimum", "fill rate",
               "on hand", "bullwhip (top)", "bottleneck use / binds"]
    if not result.optimum:
        columns.remove("vs exact optimum")
    if not any(s.capacities for s in cfg.scenarios):
        columns.remove("bottleneck use / binds")
    names = {"scenario": [s.name for s in cfg.scenarios], "policy": [r.label for r in result.rows]}
    for col in columns:
        if col in names:  # names whole, never cut or wrapped (the numbers' columns give way)
            table.add_column(col, justify="left", no_wrap=True, min_width=max(map(len, names[col])))
        else:
            table.add_column(col, justify="right")
    for scen in cfg.scenarios:
        rows = sorted((r for r in result.rows if r.scenario == scen.name), key=lambda r: r.metrics.cost.mean)
        for i, r in enumerate(rows):
            m = r.metrics
            fill = "n/a" if math.isnan(m.fill_rate_total) else f"{m.fill_rate_total:.1%}"
            top = m.echelon_bullwhip[-1]
            cells = [
                scen.name if i == 0 else "", r.label, f"{m.cost.mean:.2f}", f"± {m.cost.half_width:.2f}",
                "baseline" if r.label == cfg.baseline else f"{r.vs_baseline.mean:+.2f}",
                _gap_to_optimum(r.gap_to_optimum, m.cost, result.optimum.get(scen.name)),
                fill, f"{sum(m.on_hand.values()):.1f}", "n/a" if math.isnan(top) else f"{top:.2f}",
                ", ".join(f"{k} {b.utilisation:.0%} / {b.binding:.0%}" for k, b in m.bottlenecks.items()),
            ]
            if not result.optimum:
                del cells[5]
            if len(cells) > len(columns):
                del cells[-1]
            table.add_row(*cells, end_section=i == len(rows) - 1)
    return table


def _gap_to_optimum(gap: float | None, cost, optimum: float | None) -> str:  # noqa: ANN001 - stats.Estimate
    """The relative gap to the exact optimum C*, marked ``≈`` where C* lies inside the cost's 95% CI."""
    if gap is None or optimum is None:
        return ""
    return f"{'≈ ' if abs(cost.mean - optimum) <= cost.half_width else ''}{gap:+.1%}"


def cmd_study(args: argparse.Namespace) -> int:
    """``echelon study``: run a study config into a new folder (map, report, results, recommendation)."""
    import dataclasses
    from pathlib import Path

    from echelon.envs.files import Output
    from echelon.envs.limits import check_work, estimate_words
    from echelon.envs.validation import check_address
    from echelon.evaluation.buying_power import measure_buying_power, measured_networks
    from echelon.evaluation.study import run_study
    from echelon.evaluation.study_config import load_study, study_cell_count, study_site_steps
    from echelon.evaluation.study_report import recommendation, sentence, write_study
    from echelon.progress import Progress

    config = load_study(args.config, args.scenario)
    if args.ray is not None:
        check_address(args.ray, "--ray")
        config = dataclasses.replace(config, ray_address=args.ray)
    if args.quick:
        config = config.quick()
    if args.episodes is not None:
        config = dataclasses.replace(config, episodes=args.episodes)
    name = config.name if not args.scenario else f"{config.name}-{'-'.join(s.name for s in config.scenarios)}"
    out = Output.plan(args.out, Path("results"), name)
    out.check()
    console = _console()
    cells = study_cell_count(config)
    buyers = measured_networks(config)
    steps = study_site_steps(config)
    seconds = check_work(steps, f"study {config.name}", "fewer axis values, --episodes or periods")
    if seconds > 60:
        console.print(f"{cells} cells: {estimate_words(seconds)}")
    wall, cpu = time.perf_counter(), time.process_time()
    with Progress(console, f"study {config.name}", cells + len(buyers)) as progress:
        step = progress.advance
        if config.ray_address is not None:
            from echelon.evaluation.on_ray import run_study_on_ray

            results = run_study_on_ray(config, config.ray_address, step)
        else:
            results = run_study(config, step)
        buying = []
        for scen in buyers:
            progress.set(progress.done, f"{scen.name}: buying power")
            buying.append(measure_buying_power(config, scen))
            progress.advance()
    for cell in results:
        console.print(f"- {sentence(cell)}")
    console.print("Recommendation:")
    for line in recommendation(config, results):
        console.print(f"- {line.replace('**', '')}")
    final = write_study(config, results, out, buying)[0].parent
    took = f"{time.perf_counter() - wall:.0f} s (CPU {time.process_time() - cpu:.0f} s)"
    console.print(f"{len(results)} cells in {took}; wrote {final} (report: {final / 'report.md'}, "
                  f"map: {final / 'map.png'})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """``echelon train``: start or resume a training run; ``--evaluate`` benchmarks it afterwards."""
    from pathlib import Path

    from echelon.agents.run_record import RunFolder
    from echelon.envs.files import Output
    from echelon.progress import Progress
    from echelon.training.config import load_train_config
    from echelon.training.run_folder import discarded_on_failure, resume_config, start_run
    from echelon.training.trainers import make_trainer

    if (args.config is None) == (args.resume is None):
        raise ValueError("give a training config, or --resume RUN_DIR (not both)")
    if getattr(args, "own_process", False):
        import signal

        # A shell without job control starts background commands with SIGINT ignored, and Python then keeps
        # it ignored: `kill -INT` to a training run started by a script would do nothing. A run asked to stop
        # stops with a checkpoint, however it was started.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.resume is not None and (args.seed is not None or args.out is not None):
        raise ValueError("--resume continues a run as it was started: --seed and --out do not apply")
    if args.resume is not None:
        out = Path(args.resume)
        config = resume_config(out)
        planned = None
    else:
        config = load_train_config(args.config)
        if args.seed is not None:
            config.seed = args.seed
        if args.timesteps is not None:
            config.n_timesteps = args.timesteps  # stored in the run folder: a plain --resume trains as long
        planned = Output.plan(args.out, Path("runs"), config.name)
        planned.check()
        out = planned.path
    if config.backend == "rllib" and getattr(args, "own_process", False) and "PYTHONHASHSEED" not in os.environ:
        # RLlib iterates sets of agent and module ids, so its runs repeat only under a fixed hash seed
        os.execve(sys.executable, [sys.executable, "-m", "echelon", *sys.argv[1:]],
                  os.environ | {"PYTHONHASHSEED": "0"})
    total = args.timesteps or config.n_timesteps
    console = _console()
    # every model is built (and may refuse its arguments) before the run folder exists
    if args.trust_pickles and args.resume is None:
        raise ValueError("--trust-pickles applies to --resume only")
    trainer = make_trainer(config, out, resume=args.resume is not None, trust_pickles=args.trust_pickles)
    if planned is not None:
        out = planned.claim_dir()
        trainer.move_to(out)
        start_run(config, out)
    console.print(f"training [bold]{config.name}[/bold]: {config.mode} {config.algo.upper()} on {config.scenario}, "
                  f"{total:,} timesteps, run folder {out}")
    wall, cpu = time.perf_counter(), time.process_time()
    with Progress(console, f"{config.name}: timesteps", total) as progress:
        trainer.progress = lambda done, _: progress.set(done)
        progress.set(trainer.total)
        if config.backend == "rllib":
            console.print(f"on Ray at {trainer.ray_address}")
        with discarded_on_failure(out if planned is not None else None):
            last = trainer.train(total)
    minutes = (time.perf_counter() - wall) / 60, (time.process_time() - cpu) / 60
    console.print(f"done in {minutes[0]:.1f} min ({minutes[1]:.1f} CPU-min): {trainer.total:,} timesteps; "
                  f"held-out cost per period {last['cost']:.2f} "
                  f"({last['gap_to_best_heuristic']:+.1%} against the {trainer.reference_label}, "
                  f"{trainer.state.reference_cost:.2f}); best {trainer.state.best_cost:.2f}")
    folder = RunFolder(out)
    console.print(f"learning curve: {folder.curve}; TensorBoard: tensorboard --logdir {folder.tensorboard}")
    if args.evaluate:
        args.run = str(out)
        args.out = None
        return cmd_evaluate(args)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``echelon evaluate``: a trained run against the heuristics and the best base-stock levels."""
    from pathlib import Path

    from echelon.evaluation.benchmark import learned_benchmark

    run = Path(args.run)
    config = learned_benchmark(run, episodes=args.episodes or 1000, seed=args.seed or 0)
    args.config = config
    from echelon.envs.files import Output

    return _run_benchmark(config, Output.plan(args.out, run, "benchmark"))


def cmd_play(args: argparse.Namespace) -> int:
    """``echelon play``: people play sites against agents, then the debrief."""

    from echelon.envs.limits import MAX_GAME_WEEKS
    from echelon.play import Game, Table, others_spec

    roles = [r.strip() for r in args.role.split(",") if r.strip()]
    game = Game(args.scenario, args.seed, 0, roles, others_spec(args.others))
    game.periods = args.periods or _horizon(args.scenario)
    if game.periods > MAX_GAME_WEEKS:
        raise ValueError(f"{args.scenario}: a horizon of {game.periods:,} periods is more weeks than people play "
                         f"({MAX_GAME_WEEKS:,}): give --periods")
    table = Table(game, print)
    save, chart = _game_outputs(args.save, args.chart, f"{game.scenario}-seed{game.seed}")
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
    return _finish_game(game, save, chart)


def cmd_scoreboard(args: argparse.Namespace) -> int:
    """``echelon scoreboard``: the learned baselines on the research suite."""
    from pathlib import Path

    from echelon.envs.files import Output
    from echelon.experiments.scoreboard import (
        SAVED,
        check_scoreboard,
        load_scoreboard,
        quick_version,
        resume_scoreboard,
        run_scoreboard,
        start_scoreboard,
    )

    try:
        import rliable  # noqa: F401 - checked before any work
    except ImportError:
        raise ValueError("echelon scoreboard needs rliable: pip install 'echelon[scoreboard]'") from None
    if args.resume is not None:
        if args.config is not None or args.quick or args.out is not None:
            raise ValueError("--resume continues a scoreboard as it was started: CONFIG, --quick and --out do "
                             "not apply")
        final = Path(args.resume)
        board, quick = resume_scoreboard(final)
    else:
        board, src = load_scoreboard(args.config)
        quick = args.quick
        if quick:
            board = quick_version(board)
        check_scoreboard(board, src)
        out = Output.plan(args.out, Path("results"), "scoreboard")
        if args.out is not None and (Path(args.out) / SAVED).is_file() and not (Path(args.out) / "report.md").exists():
            raise FileExistsError(f"{args.out}: already exists; to finish that scoreboard: echelon scoreboard "
                                  f"--resume {args.out}")
        out.check()
        final = out.claim_dir()  # the folder is claimed at once and filled as seed runs finish: resumable
        start_scoreboard(board, quick, final)
    print(f"scoreboard {board.name} in {final} (if stopped: echelon scoreboard --resume {final})")
    result = run_scoreboard(board, final, quick, print)
    print(result["report"])
    print(f"wrote the scoreboard to {final} (report.md, results.json, results.csv, scoreboard.png)")
    return 0


def cmd_classroom(args: argparse.Namespace) -> int:
    """``echelon classroom``: the web server of a class's beer games."""
    from echelon.classroom.serve import serve

    return serve(args.host, args.port, args.db, args.public_url, args.join_limit)


def cmd_replay(args: argparse.Namespace) -> int:
    """``echelon replay``: play a saved game back to its debrief (or every game of a classroom database)."""
    from pathlib import Path

    from echelon.play import Game, Table

    if _is_sqlite(Path(args.file)):
        from echelon.classroom import debrief
        from echelon.classroom.session import Classroom
        from echelon.classroom.store import Store

        room = Classroom(Store(args.file, read_only=True))
        room.load(resume=False)
        if not room.games:
            raise ValueError(f"{args.file}: the classroom database has no games")
        for game in room.games.values():
            print(f"game {game.id}, join code {game.code}")
            print(debrief.to_text(game), end="\n\n")
        return 0
    game = Game.from_file(args.file)
    _, chart = _game_outputs(None, args.chart or str(Path(args.file).with_suffix(".png")), "")
    replayed = Game(game.scenario, game.seed, game.periods, game.roles, game.others, inputs=game.inputs)
    Table(replayed, print).play(lambda prompt, role: "", replay=True)
    return _finish_game(replayed, None, chart)


def _is_sqlite(path: object) -> bool:
    from pathlib import Path

    try:
        if not Path(str(path)).is_file():  # (a pipe would block the read; read_input refuses it later)
            return False
        with Path(str(path)).open("rb") as file:
            return file.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _game_outputs(save: str | None, chart: str | None, name: str):  # noqa: ANN202 - two optional Outputs
    """The game file (must not exist) and the chart (replaced if named; else a fresh name), both
    checked before the game starts."""
    from pathlib import Path

    from echelon.envs.files import Output

    save_out = None if save is None else Output(Path(save), noun="--save")
    if chart is not None:
        chart_out = Output(Path(chart), noun="--chart", replace=True)
    elif save is not None:
        chart_out = Output(Path(save).with_suffix(".png"), noun="--chart", replace=True)
    else:
        chart_out = Output.plan(None, Path("games"), name, ".png", noun="--chart")
    for out in (save_out, chart_out):
        if out is not None:
            out.check()
    if save_out is not None and chart_out.path.resolve() == save_out.path.resolve():
        raise ValueError(f"{save}: --save and --chart name the same file")
    return save_out, chart_out


def _horizon(scenario: str) -> int:
    from echelon.envs.scenario import load_scenario

    return load_scenario(scenario).periods


def _finish_game(game, save, chart) -> int:  # noqa: ANN001 - a Game and its Outputs (save may be None)
    from echelon.play import chart_png, debrief

    print(debrief(game))
    if save is not None:
        path = save.write_file(game.to_json())
        print(f"game saved to {path} (replay it with: echelon replay {path})")
    print(f"bullwhip chart: {chart.write_file(chart_png(game))}")
    return 0
