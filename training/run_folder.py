"""What every trainer shares: the run folder, held-out evaluation, the learning curve and the run state.

A trainer (Stable-Baselines3 in :mod:`training.train`, RLlib in :mod:`training.rllib`) owns its
models; :class:`RunBook` owns what does not depend on the library: the scenario and the model
groups of the config, the held-out episodes every evaluation uses (common random numbers), the
best base-stock policy's cost on them (the reference of every gap), the evaluation history with
the best cost so far, ``checkpoints/state.json``, ``eval.csv`` and ``learning_curve.png``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from echelon.agents.learned import read_run_config, run_fingerprint
from echelon.agents.policy import Policy
from echelon.agents.registry import make_policy
from echelon.envs.errors import ConfigError
from echelon.envs.files import write_atomic
from echelon.envs.scenario import load_scenario
from echelon.evaluation.metrics import compute_metrics
from echelon.evaluation.rollout import common_episodes, rollout
from echelon.training.config import TrainConfig, group_layout, load_train_config

EVAL_SEED_OFFSET = 10_000


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
    """The library-independent half of a trainer (module docstring)."""

    def __init__(self, config: TrainConfig, out: Path, resume: bool = False,
                 progress: Callable[[int, int], None] | None = None):
        import torch

        torch.set_num_threads(1)  # measured 10x faster than the default threads for these small networks
        self.config, self.out, self.progress = config, Path(out), progress
        self.scenario = load_scenario(config.scenario)
        self.layout = group_layout(config, self.scenario)
        self.state = self._read_state() if resume else RunState()
        self.eval_episode = common_episodes(self.scenario, config.eval_episodes, config.seed + EVAL_SEED_OFFSET)
        if math.isnan(self.state.reference_cost):
            best = make_policy({"policy": "echelon_base_stock", "levels": "optimal"}, self.scenario)
            self.state.reference_cost = self.evaluate(best)["cost"]

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

    def save_state(self, timesteps: dict[str, int]) -> None:
        """Write ``checkpoints/state.json`` (each file whole or not at all) and the learning curve."""
        self.state.timesteps = dict(timesteps)
        state = {"timesteps": self.state.timesteps, "history": self.state.history,
                 "best_cost": self.state.best_cost, "reference_cost": self.state.reference_cost}
        write_atomic(self.out / "checkpoints" / "state.json", json.dumps(state, indent=1, allow_nan=True))
        self.write_curve()

    def _read_state(self) -> RunState:
        path = self.out / "checkpoints" / "state.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: no readable checkpoint to resume from ({exc.__class__.__name__})") from None
        return RunState(data["timesteps"], data["history"], data["best_cost"], data["reference_cost"])

    def write_curve(self) -> None:
        """Write ``eval.csv`` and ``learning_curve.png`` from the evaluation history."""
        from echelon.evaluation.plots import learning_curve_plot

        rows = self.state.history
        if not rows:
            return
        keys = list(dict.fromkeys(k for row in rows for k in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomic(self.out / "eval.csv", buffer.getvalue())
        write_atomic(self.out / "learning_curve.png",
                     learning_curve_plot(rows, self.state.reference_cost, self.config.name))


def start_run(config: TrainConfig, out: Path) -> None:
    """Create a run folder with the resolved config (the folder must not exist yet)."""
    if out.exists():
        raise FileExistsError(f"{out}: already exists; choose another --out (or --resume {out})")
    scenario = load_scenario(config.scenario)
    resolved = config.as_dict() | {"groups": group_layout(config, scenario),
                                   "site_names": list(scenario.site_names)}
    resolved["fingerprint"] = run_fingerprint(resolved, scenario)
    write_atomic(out / "config.yaml", yaml.safe_dump(resolved, sort_keys=False))


def resume_config(out: Path) -> TrainConfig:
    """The config a run folder was started with."""
    raw = read_run_config(out)
    raw = {k: v for k, v in raw.items() if k not in ("groups", "site_names", "fingerprint")}
    return load_train_config(raw, where=str(Path(out) / "config.yaml"))
