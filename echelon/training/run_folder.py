"""What every trainer shares: the run folder, held-out evaluation, the learning curve and the run state.

A trainer (Stable-Baselines3 in :mod:`training.train`, RLlib in :mod:`training.rllib`, evolution
strategies in :mod:`training.es`) owns its models; :class:`RunBook` owns what does not depend on the
library: the scenario and the model groups of the config, the held-out episodes every evaluation
uses (common random numbers), the best base-stock policy's cost on them (the reference of every
gap; for a ``single_site`` learner, its site's best base-stock response to the co-players), the
evaluation history with the best cost so far, ``checkpoints/state.json``, ``eval.csv`` and
``learning_curve.png``.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import shutil
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.agents.run_record import RunFolder, read_run_config, reference_spec, run_fingerprint
from echelon.envs.errors import ConfigError, Interrupted
from echelon.envs.files import temporary_folder, write_atomic
from echelon.envs.scenario import load_scenario
from echelon.envs.validation import parse_model
from echelon.evaluation.metrics import compute_metrics
from echelon.evaluation.plots import learning_curve_plot
from echelon.evaluation.rollout import common_episodes, rollout
from echelon.training.config import RunRecord, TrainConfig, group_layout, load_train_config
from echelon.training.seal import seal, verify

EVAL_SEED_OFFSET = 10_000
GENERATIONS_KEPT = 2
"""Checkpoints kept: the newest, and the one before it to fall back on if the newest is damaged."""


@contextmanager
def uninterrupted() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) while files are written, then raise it: a checkpoint is never cut halfway
    (a signal landing in an import or a write would leave a half-imported module or a stale file)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            raise KeyboardInterrupt


@dataclass
class RunState:
    """What a checkpoint records besides the models."""

    timesteps: dict[str, int] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    best_cost: float = math.inf
    reference_cost: float = math.nan


class RunBook:
    """The library-independent half of a trainer (module docstring).

    A trainer that learns in iterations (RLlib, ES) implements :attr:`total`, :meth:`iterate`,
    :meth:`policy`, :meth:`save_models` and :meth:`checkpoint`, and :meth:`train` runs them."""

    tensorboard_folder = "run"
    """The subfolder of ``tb/`` its :attr:`writer` logs to."""
    evaluate_at_start = False
    """Evaluate (and keep, as the best so far) the model before the first step: set by a warm start."""

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None, trust_pickles: bool = False):
        import torch

        torch.set_num_threads(1)  # measured 10x faster than the default threads for these small networks
        self.config, self.out, self.progress = config, Path(out), progress
        self.trust_pickles = trust_pickles  # resume from checkpoints this machine did not seal (training.seal)
        self.scenario = load_scenario(config.scenario)
        self.layout = group_layout(config, self.scenario)
        self.state = RunState()
        self.generation: Path | None = None  # the checkpoint a resumed run started from
        self.fallback_note = ""  # why a newer checkpoint was passed over, if one was
        self._last_checkpoint = time.monotonic()
        self._writer: Any = None
        self.eval_episode = common_episodes(self.scenario, config.eval_episodes, config.seed + EVAL_SEED_OFFSET)
        if not resume:
            self.state.reference_cost = self.evaluate(self.reference_policy)["cost"]

    @functools.cached_property
    def reference_policy(self) -> Policy:
        """The policy learners are scored against, searched once per run: the best echelon base-stock
        policy (the Clark–Scarf optimum on serial chains); for a ``single_site`` learner, its site's best
        base-stock response to the same co-players (:mod:`agents.response`)."""
        return make_policy(reference_spec(self.config), self.scenario)

    @property
    def reference_label(self) -> str:
        """What :attr:`reference_policy` is, for reports."""
        if self.config.mode == "single_site":
            return f"best base-stock response at {self.config.site}"
        return "best base-stock policy"

    def resume_from(self, load: Callable[[Path], None]) -> None:
        """Resume from the newest checkpoint that loads, falling back to the one before it when the newest
        is damaged (``load`` builds the models from a checkpoint folder and raises if it cannot)."""
        reasons = []
        for gen in generations(self.out):
            try:
                if not self.trust_pickles:
                    verify(gen)
                state = read_state(gen)
                load(gen)
            except Exception as exc:  # noqa: BLE001 - a damaged checkpoint of any kind: try the previous one
                reasons.append(f"{gen.name}: {str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__}")
                continue
            self.state, self.generation = state, gen
            if reasons:
                self.fallback_note = f"newest checkpoint damaged ({reasons[0]}); resumed from {gen.name}"
            truncate_tensorboard(RunFolder(self.out).tensorboard, state.timesteps)
            return
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        raise ConfigError(f"{RunFolder(self.out).checkpoints}: no readable checkpoint to resume from{detail}")

    @property
    def writer(self) -> Any:
        """The TensorBoard writer (``tb/<tensorboard_folder>``), made on first use: building a trainer
        writes nothing."""
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(RunFolder(self.out).tensorboard / self.tensorboard_folder))
        return self._writer

    @property
    def total(self) -> int:
        """Timesteps trained so far."""
        raise NotImplementedError

    def iterate(self) -> None:
        """One training iteration (it advances :attr:`total`)."""
        raise NotImplementedError

    def policy(self) -> Policy:
        """The current models as a policy (what evaluation plays)."""
        raise NotImplementedError

    def save_models(self, folder: Path) -> None:
        """Write the current models into ``folder``, each whole or not at all."""
        raise NotImplementedError

    def log_scalar(self, tag: str, value: float) -> None:
        """Log one scalar at the current timestep (TensorBoard, ``tb/<tensorboard_folder>``)."""
        self.writer.add_scalar(tag, value, self.total)

    def evaluating(self) -> AbstractContextManager[None]:
        """The context evaluation runs in (SB3 freezes its observation statistics there)."""
        return nullcontext()

    def evaluate_now(self) -> dict[str, float]:
        """Evaluate the current models on the held-out episodes, log them, keep the best in ``models/``."""
        with self.evaluating():
            row, improved = self.assess(self.policy(), self.total)
        for tag, value in self.inventory_scalars(row).items():
            self.log_scalar(tag, value)
        if improved:
            with uninterrupted():
                self.save_models(RunFolder(self.out).models)
        return row

    def checkpoint(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the trainer holds (the TensorBoard writer; a subclass adds its own)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def train(self, n_timesteps: int) -> dict[str, float]:
        """Iterate until ``n_timesteps`` in all, evaluating every ``eval_freq`` and checkpointing when due;
        Ctrl-C saves a checkpoint and raises :class:`~envs.errors.Interrupted`. Returns the last evaluation."""
        cfg = self.config
        try:
            if self.evaluate_at_start and self.total == 0 and not self.state.history:
                self.evaluate_now()  # a warm start is a candidate too: the kept model is never worse than it
            while self.total < n_timesteps:
                before = self.total
                self.iterate()
                if self.total // cfg.eval_freq > before // cfg.eval_freq:
                    self.evaluate_now()
                if self.checkpoint_due(before, self.total):
                    self.checkpoint()
                if self.progress is not None:
                    self.progress(self.total, 0)
        except KeyboardInterrupt:
            self.checkpoint()
            self.close()
            raise Interrupted(f"interrupted at {self.total} timesteps: checkpoint saved in "
                              f"{RunFolder(self.out).checkpoints}; continue with --resume {self.out}") from None
        last = self.state.history[-1] if self.state.history else {}
        if last.get("timesteps") != self.total:
            last = self.evaluate_now()
        self.checkpoint()
        self.close()
        return last

    @staticmethod
    def total_of(state: RunState) -> int:
        return sum(state.timesteps.values())

    def checkpoint_due(self, before: int, after: int) -> bool:
        """Every ``checkpoint_freq`` timesteps, and every ``checkpoint_minutes`` of wall time."""
        cfg = self.config
        return (after // cfg.checkpoint_freq > before // cfg.checkpoint_freq
                or time.monotonic() - self._last_checkpoint >= 60.0 * cfg.checkpoint_minutes)

    def write_checkpoint(self, fill: Callable[[Path], None], timesteps: dict[str, int]) -> Path:
        """A new checkpoint generation ``checkpoints/<timesteps>``: ``fill`` writes the models into a
        temporary folder, the run state is added, and the folder is renamed into place whole; the
        newest :data:`GENERATIONS_KEPT` are kept. Ctrl-C is held until it is done."""
        with uninterrupted():
            self.state.timesteps = dict(timesteps)
            state = {"timesteps": self.state.timesteps, "history": self.state.history,
                     "best_cost": self.state.best_cost, "reference_cost": self.state.reference_cost}
            root = RunFolder(self.out).checkpoints
            root.mkdir(parents=True, exist_ok=True)
            tmp = temporary_folder(root, ".gen.")
            try:
                fill(tmp)
                write_atomic(tmp / "state.json", json.dumps(state, indent=1, allow_nan=True))
                seal(tmp)
                target = root / f"{sum(timesteps.values()):012d}"
                if target.exists():  # a checkpoint at the same count (the final one after a timed one)
                    shutil.rmtree(target)
                os.rename(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            for old in generations(self.out)[GENERATIONS_KEPT:]:
                if old != root:
                    shutil.rmtree(old, ignore_errors=True)
            self._last_checkpoint = time.monotonic()
            self.write_curve()
        return target

    def move_to(self, out: Path) -> None:
        """Write the run into ``out`` instead (another run took the planned name meanwhile)."""
        self.out = Path(out)

    def evaluate(self, policy: Policy) -> dict[str, float]:
        """Cost per period (with its 95% half-width), fill rate and bullwhip per echelon on the held-out episodes."""
        cfg = self.config
        trajectory = rollout(policy, self.scenario, cfg.eval_episodes, cfg.seed + EVAL_SEED_OFFSET,
                             self.eval_episode)
        m = compute_metrics(trajectory, self.scenario)
        row = {"cost": m.cost.mean, "cost_ci95": m.cost.half_width, "fill_rate": m.fill_rate_total}
        row |= {f"bullwhip_e{k + 1}": v for k, v in enumerate(m.echelon_bullwhip)}
        return row

    def assess(self, policy: Policy, timesteps: int) -> tuple[dict[str, float], bool]:
        """Evaluate the current ``policy``, add the row to the history; returns (row, whether it is the best yet)."""
        row = self.evaluate(policy)
        row["timesteps"] = timesteps
        row["gap_to_best_heuristic"] = row["cost"] / self.state.reference_cost - 1.0
        self.state.history.append(row)
        improved = row["cost"] < self.state.best_cost
        if improved:
            self.state.best_cost = row["cost"]
        return row, improved

    @staticmethod
    def inventory_scalars(row: dict[str, float]) -> dict[str, float]:
        """The ``inventory/`` TensorBoard scalars of an evaluation row (the cost as total_cost, NaN left out)."""
        return {f"inventory/{'total_cost' if key == 'cost' else key}": value for key, value in row.items()
                if key != "timesteps" and not (isinstance(value, float) and math.isnan(value))}

    def write_curve(self) -> None:
        """Write ``eval.csv`` and ``learning_curve.png`` from the evaluation history."""
        rows = self.state.history
        if not rows:
            return
        keys = list(dict.fromkeys(k for row in rows for k in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(RunFolder(self.out).eval_csv, buffer.getvalue())
        write_atomic(RunFolder(self.out).curve,
                     learning_curve_plot(rows, self.state.reference_cost, self.config.name,
                                         self.reference_label))


def generations(out: Path) -> list[Path]:
    """A run's checkpoint folders, newest first (a run written before generations: ``checkpoints/`` itself)."""
    root = RunFolder(Path(out)).checkpoints
    gens = sorted((p for p in root.glob("[0-9]*") if p.is_dir() and p.name.isdigit()), reverse=True) \
        if root.is_dir() else []
    if (root / "state.json").is_file():
        gens.append(root)
    return gens


def read_state(gen: Path) -> RunState:
    """The run state a checkpoint folder records."""
    path = gen / "state.json"
    try:
        data = json.loads(path.read_text())
        return RunState(dict(data["timesteps"]), list(data["history"]), float(data["best_cost"]),
                        float(data["reference_cost"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: unreadable run state ({exc.__class__.__name__})") from None


def truncate_tensorboard(folder: Path, timesteps: dict[str, int]) -> None:
    """Drop TensorBoard events logged after the checkpoint a run resumes from (by a run killed after
    it), so that the resumed run's steps never overlap earlier ones. A model group logs its own
    timesteps into ``tb/<group>_<n>/``; anything else (``tb/rllib``) logs the run's total.
    Event files are TFRecord files (a length, its CRC, the serialised Event, its CRC); records are
    copied byte for byte, so CRCs stay valid."""
    if not folder.is_dir():
        return
    from tensorboard.compat.proto.event_pb2 import Event

    total = sum(timesteps.values())
    for path in folder.rglob("events.out.tfevents.*"):
        group = path.parent.name.rsplit("_", 1)[0]
        step = timesteps.get(group, total)
        data, kept, pos, dropped = path.read_bytes(), bytearray(), 0, False
        while pos + 12 <= len(data):
            length = struct.unpack("<Q", data[pos:pos + 8])[0]
            end = pos + 12 + length + 4
            if end > len(data):
                dropped = True  # a record cut short by the kill
                break
            try:
                event = Event.FromString(data[pos + 12:pos + 12 + length])
            except Exception:  # noqa: BLE001 - an unreadable record: drop it
                event = None
            if event is not None and event.step <= step:
                kept += data[pos:end]
            else:
                dropped = True
            pos = end
        if dropped:
            write_atomic(path, bytes(kept))


@contextmanager
def discarded_on_failure(out: Path | None) -> Iterator[None]:
    """A new run that fails before its first checkpoint leaves no folder behind (``--out`` can be
    reused); one with a checkpoint is kept for ``--resume``. Ctrl-C checkpoints, so it is kept."""
    try:
        yield
    except BaseException:
        if out is not None and not generations(Path(out)):
            shutil.rmtree(out, ignore_errors=True)
        raise


def start_run(config: TrainConfig, out: Path) -> None:
    """Write the resolved config into a new run folder (``out`` is new or empty; config.yaml must not exist)."""
    scenario = load_scenario(config.scenario)
    resolved = config.as_dict() | {"groups": group_layout(config, scenario),
                                   "site_names": list(scenario.site_names)}
    resolved["fingerprint"] = run_fingerprint(resolved, scenario)
    write_atomic(RunFolder(out).config, yaml.safe_dump(resolved, sort_keys=False), exclusive=True)


def resume_config(out: Path) -> TrainConfig:
    """The config a run folder was started with."""
    where = str(RunFolder(Path(out)).config)
    record = parse_model(RunRecord, read_run_config(out), where)
    raw = record.model_dump(mode="json", exclude_unset=True, exclude={"groups", "site_names", "fingerprint"})
    return load_train_config(raw, where=where)
