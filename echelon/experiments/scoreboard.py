"""The research scoreboard: learned baselines against exact optima and the best heuristics on a fixed suite.

``echelon scoreboard [CONFIG]`` (default ``configs/scoreboard/default.yaml``) runs, per instance and
training seed, the learned baseline within its budget and reports its cost beside the reference:

* **Zipkin's lost-sales instances** (2008, Poisson demand mean 5, h = 1; lead times L and lost-sale
  penalties p): the rollout learner of :mod:`training.dcl` (approximate policy iteration, Temizöz et al.
  2023). Every cost here is exact (:func:`agents.dp.evaluate`), so the gaps to the DP optimum and to the
  best base-stock and capped base-stock policies carry no sampling error; they are differences of
  exact long-run costs per period.
* **Trained networks** (``textbook_serial`` with the Clark–Scarf optimum, ``beer_game``,
  ``distribution``, ``lost_sales_capacitated``, ...): the training config's learner (SB3), trained
  for its budget from the seed; its cost is the held-out evaluation of the model the run folder keeps (the best
  one on the held-out episodes), against the best base-stock policy on the same held-out episodes (on a
  serial backlog chain that policy is the Clark–Scarf optimum); that model is then compared with the best
  base-stock policy on fresh test episodes, paired (common random numbers), with a 95% interval.

Across seeds each instance gets its mean gap and the range; across the suite, the interquartile mean
(IQM) of the gaps to the reference with a 95% stratified bootstrap interval (rliable: Agarwal et al.
2021, "Deep reinforcement learning at the edge of the statistical precipice"). Each number comes with
its training budget (iterations or timesteps, CPU minutes).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from echelon.agents.dp import solve
from echelon.agents.lost_sales import literature_table
from echelon.agents.registry import make_policy
from echelon.agents.single_site import single_site_model
from echelon.envs.errors import ConfigError
from echelon.envs.files import read_input, write_atomic
from echelon.envs.limits import MAX_SEED, MAX_TIMESTEPS
from echelon.envs.scenario import Scenario, load_scenario, read_yaml, resolve_yaml
from echelon.envs.validation import FileName, no_bool, parse_model
from echelon.evaluation.metrics import Estimate, measure, paired_difference
from echelon.evaluation.plots import plt, png_bytes
from echelon.evaluation.reproduce import zipkin_scenario
from echelon.training.config import load_train_config, validate
from echelon.training.dcl import DCLConfig, Grid, train
from echelon.training.run_folder import start_run
from echelon.training.trainers import make_trainer

if TYPE_CHECKING:
    from echelon.agents.policy import Policy
    from echelon.training.config import TrainConfig

SCOREBOARD_DIR = Path(__file__).resolve().parent.parent / "configs" / "scoreboard"


class ZipkinSection(BaseModel):
    """Zipkin's lost-sales instances (and other one-site lost-sales scenarios) and the rollout learner's budget."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    lead_times: list[Annotated[int, Field(ge=1, le=4)]] = [1, 2, 3]
    """Zipkin's lead times L (an order covers L + 1 periods of demand)."""
    penalties: list[Annotated[float, Field(gt=0, le=1000)]] = [4, 9, 19]
    """Lost-sale penalties p (h = 1)."""
    iterations: Annotated[int, Field(ge=1, le=50)] = 5
    """Policy-iteration steps of the learner."""
    paths: Annotated[int, Field(ge=8, le=65536)] = 1024
    """Demand paths per state in the rollouts."""
    horizon: Annotated[int, Field(ge=1, le=1000)] = 40
    """Periods of each rollout."""
    scenarios: list[Annotated[str, Field(min_length=1)]] = []
    """Other one-site lost-sales scenarios learned the same way (built-in names or YAML paths)."""


class TrainedInstance(BaseModel):
    """One instance learned by a training config."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: FileName
    """The instance's name in the scoreboard."""
    config: Annotated[str, Field(min_length=1)]
    """A training config (built-in name or YAML path)."""
    timesteps: Annotated[int, Field(ge=1, le=MAX_TIMESTEPS)] | None = None
    """Training budget (default: the config's)."""
    site: Annotated[str, Field(min_length=1)] | None = None
    """The learning site of a ``single_site`` config (default: the config's), so one config serves every role."""
    test_episodes: Annotated[int, Field(ge=2, le=100_000)] = 1000
    """Fresh episodes on which the trained policy and the best base-stock policy are compared, paired."""


class ScoreboardFile(BaseModel):
    """A scoreboard: the suite, the seeds and the budgets."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    name: str = "scoreboard"
    seeds: list[Annotated[int, Field(ge=0, le=MAX_SEED)]] = [0, 1, 2]
    """Training seeds (each instance is learned once per seed)."""
    zipkin: ZipkinSection | None = ZipkinSection()
    """Zipkin's lost-sales instances (null: none)."""
    trained: list[TrainedInstance] = []
    """Instances learned by training configs."""
    quick: dict[str, Any] = {}
    """What ``--quick`` changes (for CI): ``seeds``, ``lead_times``, ``penalties``, ``iterations``, ``paths``,
    ``horizon``, ``scenarios``, ``timesteps`` (every trained instance), ``trained`` (names kept)."""


@dataclass(frozen=True)
class Row:
    """One learned run on one instance."""

    instance: str
    seed: int
    method: str
    cost: float  # long-run (or held-out) cost per period of the learned policy
    reference: str  # what the gap is measured against
    reference_cost: float
    gap: float  # cost / reference_cost - 1
    base_stock_cost: float  # the best base-stock policy's cost on the same footing
    best_heuristic: str
    best_heuristic_cost: float
    budget: str  # iterations or timesteps
    cpu_minutes: float
    exact: bool  # costs exact (True) or estimated on held-out episodes (False)
    vs_base_stock: float  # cost per period minus the best base-stock policy's: exact, or paired on fresh episodes
    vs_base_stock_ci95: float  # its 95% half-width (0 where exact)


_ROW_TYPES: dict[str, Any] = {
    "str": Annotated[str, Field(strict=True)], "bool": Annotated[bool, Field(strict=True)],
    "int": Annotated[int, Field(strict=True), BeforeValidator(no_bool)],
    "float": Annotated[float, Field(strict=True), BeforeValidator(no_bool)]}
ROW_FILE = create_model("RowFile", __config__=ConfigDict(extra="forbid"),
                        **{f.name: (_ROW_TYPES[str(f.type)], ...) for f in fields(Row)})
"""A :class:`Row` as its file holds it, every field checked for its type (a float may be inf or NaN: a
diverged learner's cost), so a damaged file is one line naming the field, not a crash in the table."""


def load_scoreboard(name_or_path: str | Path | None) -> tuple[ScoreboardFile, str]:
    path = resolve_yaml(name_or_path or "default", SCOREBOARD_DIR, "scoreboard")
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a scoreboard must be a mapping of keys")
    return parse_model(ScoreboardFile, raw, str(path)), str(path)


def check_scoreboard(board: ScoreboardFile, src: str) -> None:
    """What spans several keys, before any work: every training config loads, instance names are unique."""
    names = [t.name for t in board.trained]
    twice = [n for i, n in enumerate(names) if n in names[:i]]
    if twice:
        raise ConfigError(f"{src}: trained: instance '{twice[0]}' is named twice")
    for t in board.trained:
        instance_config(t, src)
    if board.zipkin is not None:
        for name in board.zipkin.scenarios:
            Grid(single_site_model(load_scenario(name), f"{src}: zipkin: scenarios: the rollout learner"))
    if not board.seeds:
        raise ConfigError(f"{src}: seeds: give at least one seed")


def instance_config(instance: TrainedInstance, src: str) -> TrainConfig:
    """The instance's training config, with its ``site`` where it names one (checked as the config's own)."""
    config = load_train_config(instance.config)
    if instance.site is not None:
        config = config.model_copy(update={"site": instance.site})
        validate(config, f"{src}: trained: {instance.name}")
    return config


def quick_version(board: ScoreboardFile) -> ScoreboardFile:
    """The reduced suite ``--quick`` runs (the file's ``quick`` block)."""
    q = board.quick
    zipkin = board.zipkin
    if zipkin is not None:
        zipkin = zipkin.model_copy(update={k: q[k] for k in ("lead_times", "penalties", "iterations", "paths",
                                                             "horizon", "scenarios") if k in q})
    trained = [t for t in board.trained if "trained" not in q or t.name in q["trained"]]
    if "timesteps" in q:
        trained = [t.model_copy(update={"timesteps": int(q["timesteps"])}) for t in trained]
    return board.model_copy(update={"seeds": q.get("seeds", board.seeds), "zipkin": zipkin, "trained": trained})


# --------------------------------------------------------------------------- the instances

class Ledger:
    """The seed runs a scoreboard folder has finished, one ``rows/KEY-seedS.json`` each, written whole as
    each finishes: a killed scoreboard resumes from them (``echelon scoreboard --resume DIR``) and redoes
    only the seed runs it had not finished."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "rows"
        self.rows: dict[tuple[str, int], Row] = {}
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.json")):
                try:
                    raw = json.loads(read_input(path, "a scoreboard row"))
                except (ValueError, RecursionError) as exc:
                    raise ConfigError(f"{path}: not a scoreboard row (not JSON: {exc})") from None
                row = Row(**parse_model(ROW_FILE, raw, str(path)).model_dump())
                self.rows[(row.instance, row.seed)] = row
        self.written = len(self.rows)

    def get(self, instance: str, seed: int) -> Row | None:
        """The recorded row of ``instance`` and ``seed``, if that seed run finished."""
        return self.rows.get((instance, seed))

    def put(self, key: str, row: Row) -> None:
        """Record a finished seed run (``key``: the instance's place in the suite, ``z3`` or ``t0``, a plain
        file name where the instance's own name may not be one)."""
        write_atomic(self.folder / f"{key}-seed{row.seed}.json", json.dumps(asdict(row)))
        self.rows[(row.instance, row.seed)] = row


def zipkin_rows(section: ZipkinSection, seeds: list[int], say: Callable[[str], None], ledger: Ledger) -> list[Row]:
    """The rollout learner on each of Zipkin's instances and seeds, every cost exact."""
    import torch

    torch.set_num_threads(1)
    rows = []
    instances = [(f"zipkin L={lead} p={penalty:g}", zipkin_scenario(lead, penalty))
                 for lead in section.lead_times for penalty in section.penalties]
    instances += [(str(name), name) for name in section.scenarios]
    for index, (name, spec) in enumerate(instances):
        if all(ledger.get(name, seed) for seed in seeds):
            rows += [ledger.get(name, seed) for seed in seeds]
            continue
        model = single_site_model(load_scenario(spec), "the scoreboard")
        optimum = solve(model).cost
        table = literature_table(model, optimum)[1:]
        base = next(cost for label, _, cost in table if label == "base-stock, best")
        best_label, _, best_cost = table[0]
        for seed in seeds:
            done = ledger.get(name, seed)
            if done is not None:
                rows.append(done)
                continue
            cpu = time.process_time()
            result = train(model, DCLConfig(iterations=section.iterations, paths=section.paths,
                                            horizon=section.horizon, seed=seed))
            minutes = (time.process_time() - cpu) / 60
            rows.append(Row(name, seed, "rollout policy iteration (training.dcl)", result.cost, "DP optimum",
                            optimum, result.cost / optimum - 1, base, best_label, best_cost,
                            f"{section.iterations} iterations x {section.paths} paths", minutes, True,
                            result.cost - base, 0.0))
            ledger.put(f"z{index}", rows[-1])
            say(f"{name} seed {seed}: {result.cost:.4f} ({result.cost / optimum - 1:+.2%} to the optimum, "
                f"{result.cost / base - 1:+.2%} to the best base-stock) in {minutes:.1f} CPU-min")
    return rows


def trained_rows(instance: TrainedInstance, seeds: list[int], out: Path, say: Callable[[str], None],
                 ledger: Ledger, index: int) -> list[Row]:
    """A training config's learner per seed: held-out cost against the best base-stock policy."""
    rows = []
    for seed in seeds:
        done = ledger.get(instance.name, seed)
        if done is not None:
            rows.append(done)
            continue
        config = instance_config(instance, "scoreboard")
        config.seed = seed
        total = instance.timesteps or config.n_timesteps
        config.n_timesteps = total
        folder = out / "runs" / f"{instance.name}-seed{seed}"
        if folder.parent.is_symlink():  # what is deleted and written stays inside the folder named
            raise ConfigError(f"{folder.parent}: a link; a scoreboard writes only inside its own folder")
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.is_dir() and not folder.is_symlink():  # a seed run killed before it finished: redone whole
            shutil.rmtree(folder)
        cpu = time.process_time()
        trainer = make_trainer(config, folder)
        folder.mkdir()
        start_run(config, folder)
        trainer.train(total)
        minutes = (time.process_time() - cpu) / 60
        reference, cost = trainer.state.reference_cost, trainer.state.best_cost
        paired = paired_test(folder, trainer.scenario, trainer.reference_policy, seed, instance.test_episodes)
        label = trainer.reference_label
        rows.append(Row(instance.name, seed, f"{config.mode} {config.algo.upper()} ({instance.config})",
                        cost, f"{label} (held-out)", reference, cost / reference - 1,
                        reference, label, reference, f"{total:,} timesteps", minutes, False,
                        paired.mean, paired.half_width))
        ledger.put(f"t{index}", rows[-1])
        say(f"{instance.name} seed {seed}: {cost:.2f} ({cost / reference - 1:+.2%} to the {label}, "
            f"{reference:.2f}) in {minutes:.1f} CPU-min; on {instance.test_episodes:,} fresh episodes "
            f"{paired.mean:+.3f} ± {paired.half_width:.3f} per period against it (paired)")
    return rows


def paired_test(run: Path, scenario: Scenario, reference: Policy, seed: int, episodes: int) -> Estimate:
    """The run folder's model (the one ``echelon evaluate`` loads: the best on the held-out episodes) minus
    ``reference`` (the trainer's :attr:`~echelon.training.run_folder.RunBook.reference_policy`), cost per
    period paired on ``episodes`` fresh episodes that neither training nor model selection saw."""
    seed += TEST_SEED_OFFSET
    learned, _ = measure(make_policy({"policy": "learned", "run": str(run)}, scenario), scenario, episodes, seed)
    base, _ = measure(reference, scenario, episodes, seed)
    return paired_difference(learned, base)


TEST_SEED_OFFSET = 20_000
"""Seed offset of the scoreboard's fresh test episodes (training draws from the seed, held-out evaluation
from seed + EVAL_SEED_OFFSET)."""


# --------------------------------------------------------------------------- summaries

def iqm_interval(rows: list[Row], reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """IQM of the gaps over every run of the suite, with rliable's 95% stratified bootstrap interval
    (runs = seeds, tasks = instances)."""
    from rliable import library as rly
    from rliable import metrics

    instances = sorted({r.instance for r in rows})
    seeds = sorted({r.seed for r in rows})
    gaps = {(r.instance, r.seed): r.gap for r in rows}
    scores = np.array([[gaps.get((i, s), np.nan) for i in instances] for s in seeds])
    if np.isnan(scores).any():
        raise ValueError("every instance needs every seed for the suite's IQM")
    np.random.seed(seed)  # rliable draws its bootstrap from NumPy's global generator
    point, interval = rly.get_interval_estimates(
        {"learned": scores}, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=reps)
    return float(point["learned"][0]), float(interval["learned"][0, 0]), float(interval["learned"][1, 0])


def summary(rows: list[Row]) -> list[dict[str, Any]]:
    """Per instance: the mean gap across seeds, its range, against base-stock and the best heuristic."""
    out = []
    for name in dict.fromkeys(r.instance for r in rows):
        runs = [r for r in rows if r.instance == name]
        gaps = np.array([r.gap for r in runs])
        vs_base = np.array([r.cost / r.base_stock_cost - 1 for r in runs])
        vs_best = np.array([r.cost / r.best_heuristic_cost - 1 for r in runs])
        upper = np.array([r.vs_base_stock + r.vs_base_stock_ci95 for r in runs])
        first = runs[0]
        out.append({
            "instance": name, "method": first.method, "reference": first.reference, "seeds": len(runs),
            "reference_cost": first.reference_cost, "mean_cost": float(np.mean([r.cost for r in runs])),
            "gap_mean": float(gaps.mean()), "gap_min": float(gaps.min()), "gap_max": float(gaps.max()),
            "vs_base_stock_mean": float(vs_base.mean()), "vs_base_stock_max": float(vs_base.max()),
            "vs_base_stock_upper_max": float(upper.max()), "seeds_ahead_of_base_stock": int((upper < 0).sum()),
            "best_heuristic": first.best_heuristic, "vs_best_heuristic_mean": float(vs_best.mean()),
            "budget": first.budget, "cpu_minutes_mean": float(np.mean([r.cpu_minutes for r in runs])),
            "cpu_minutes_max": float(np.max([r.cpu_minutes for r in runs])), "exact": first.exact,
        })
    return out


def figure_png(rows: list[Row]) -> bytes:
    """Gap to the reference per instance, one dot per seed."""
    names = list(dict.fromkeys(r.instance for r in rows))
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.5), layout="constrained")
    for i, name in enumerate(names):
        gaps = [100 * r.gap for r in rows if r.instance == name]
        ax.scatter(gaps, [i] * len(gaps), color="tab:blue", s=18)
        ax.plot([np.mean(gaps)] * 2, [i - 0.3, i + 0.3], color="black")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("gap to the reference (optimum or best base-stock), % (dots: seeds, bar: mean)")
    ax.set_title("Echelon scoreboard: learned baselines")
    return png_bytes(fig)


def report(board: ScoreboardFile, rows: list[Row], iqm: tuple[float, float, float] | None, quick: bool) -> str:
    lines = [f"# {board.name}{' (quick)' if quick else ''}", "",
             f"Seeds {', '.join(map(str, sorted({r.seed for r in rows})))}. Gap: cost / reference - 1.", "",
             "| instance | method | reference | reference cost | mean cost | gap (mean, range) | vs best base-stock "
             "| seeds surely ahead of base-stock | vs best heuristic | budget | CPU-min (mean, max) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary(rows):
        lines.append(f"| {s['instance']} | {s['method']} | {s['reference']} | {s['reference_cost']:.4f} | "
                     f"{s['mean_cost']:.4f} | {s['gap_mean']:+.2%} ({s['gap_min']:+.2%} to {s['gap_max']:+.2%}) | "
                     f"{s['vs_base_stock_mean']:+.2%} (worst seed {s['vs_base_stock_max']:+.2%}) | "
                     f"{s['seeds_ahead_of_base_stock']} of {s['seeds']} | "
                     f"{s['vs_best_heuristic_mean']:+.2%} ({s['best_heuristic']}) | {s['budget']} | "
                     f"{s['cpu_minutes_mean']:.1f}, {s['cpu_minutes_max']:.1f} |")
    if iqm is not None:
        lines += ["", f"Across the suite: IQM of the gaps {iqm[0]:+.2%}, 95% stratified bootstrap interval "
                      f"[{iqm[1]:+.2%}, {iqm[2]:+.2%}] (rliable)."]
    lines += ["", "Zipkin rows: exact long-run costs (agents.dp.evaluate), no sampling error; trained rows: the "
                  "trainer's held-out episodes. A seed is surely ahead of base-stock when its cost is below the best "
                  "base-stock policy's: exactly (Zipkin rows), or with the whole 95% interval of the paired "
                  "difference on the instance's fresh test episodes below zero (trained rows). A single-site "
                  "learner's base-stock policy is its site's best base-stock response to the same co-players "
                  "(agents.response)."]
    return "\n".join(lines) + "\n"


SAVED = "scoreboard.json"
"""The suite a scoreboard folder runs (the config as run, ``--quick`` applied), written before any work."""


def start_scoreboard(board: ScoreboardFile, quick: bool, out: Path) -> None:
    """Write the suite into a freshly claimed folder ``out``, so that a killed run can be resumed."""
    write_atomic(out / SAVED, json.dumps({"quick": quick, "board": board.model_dump(mode="json")}, indent=1))


def resume_scoreboard(out: Path) -> tuple[ScoreboardFile, bool]:
    """The suite and ``--quick`` flag of an unfinished scoreboard folder (one-line errors for anything else)."""
    if not out.is_dir():
        raise ConfigError(f"{out}: no such scoreboard folder")
    if (out / "report.md").exists():
        raise ConfigError(f"{out}: this scoreboard finished (report.md is there); nothing to resume")
    saved = out / SAVED
    if not saved.exists():
        raise ConfigError(f"{out}: not a scoreboard folder ({SAVED} is missing)")
    try:
        raw = json.loads(read_input(saved, "the scoreboard's suite"))
    except ValueError as exc:
        raise ConfigError(f"{saved}: not JSON ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("quick"), bool) or not isinstance(raw.get("board"), dict):
        raise ConfigError(f"{saved}: expected keys 'quick' (true/false) and 'board' (the suite)")
    board = parse_model(ScoreboardFile, raw["board"], str(saved))
    check_scoreboard(board, str(saved))
    return board, raw["quick"]


def run_scoreboard(board: ScoreboardFile, out: Path, quick: bool, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the suite into ``out`` (its own folder; seed runs it finished before are not run again):
    results.json, results.csv, report.md, scoreboard.png."""
    ledger = Ledger(out)
    if ledger.written:
        say(f"resuming {out}: {ledger.written} seed runs finished before")
    rows: list[Row] = []
    if board.zipkin is not None:
        rows += zipkin_rows(board.zipkin, board.seeds, say, ledger)
    for index, instance in enumerate(board.trained):
        rows += trained_rows(instance, board.seeds, out, say, ledger, index)
    iqm = iqm_interval(rows) if rows and len(board.seeds) > 1 else None
    result = {"name": board.name, "quick": quick, "rows": [asdict(r) for r in rows], "summary": summary(rows),
              "iqm": None if iqm is None else {"iqm": iqm[0], "low": iqm[1], "high": iqm[2]}}
    write_atomic(out / "results.json", json.dumps(result, indent=1))
    header = list(asdict(rows[0])) if rows else []
    write_atomic(out / "results.csv", "\n".join([",".join(header)] + [
        ",".join(f'"{v}"' if isinstance(v, str) else f"{v}" for v in asdict(r).values()) for r in rows]) + "\n")
    text = report(board, rows, iqm, quick)
    write_atomic(out / "report.md", text)
    if rows:
        write_atomic(out / "scoreboard.png", figure_png(rows))
    return {"report": text, **result}
