"""``echelon speed --compare REF``: this checkout against another, timed side by side, interleaved.

Two worker processes, one importing this checkout's ``echelon`` and one importing REF's, each keep the
objects they measure warm; for every row the parent asks them for one window at a time, alternately
(this, REF, then REF, this, ...), so both see the same machine state, load included. Each window reports
calls per wall second and per CPU second of its own process; a row's figure is the median over the
windows. The workers use only what every version of Echelon has (``Simulator`` and the parallel env),
so REF may be any earlier commit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from echelon.envs.errors import ConfigError

WORKER = r'''
import json, sys, time
import numpy as np

def core(scenario, batch):
    from echelon.envs.simulator import Simulator
    sim = Simulator(scenario, batch=batch)
    rng = np.random.default_rng(0)
    sim.reset(rng)
    orders = np.full((batch, sim.n_sites), 4.0)
    def step():
        if sim.done:
            sim.reset(rng)
        sim.step(orders, validate=False)
    return step, batch * sim.n_sites

def parallel(scenario, batch):
    from echelon.envs.parallel import SupplyChainEnv
    env = SupplyChainEnv(scenario=scenario)
    env.reset(seed=0)
    actions = {a: 4 for a in env.possible_agents}
    def step():
        if not env.agents:
            env.reset()
        env.step(actions)
    return step, len(env.possible_agents)

made = {}
for line in sys.stdin:
    ask = json.loads(line)
    key = (ask["kind"], ask["scenario"], ask["batch"])
    try:
        if key not in made:
            made[key] = {"core": core, "parallel": parallel}[ask["kind"]](ask["scenario"], ask["batch"])
            for _ in range(20):
                made[key][0]()
        step, per_call = made[key]
        calls, start, cpu = 0, time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - start) < ask["seconds"]:
            for _ in range(10):
                step()
            calls += 10
        reply = {"wall": calls / elapsed, "cpu": calls / max(time.process_time() - cpu, 1e-9), "per_call": per_call}
    except Exception as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(reply), flush=True)
'''
"""The measuring process: JSON asks on stdin (kind, scenario, batch, seconds), one JSON answer a line."""


@dataclass(frozen=True)
class Side:
    """One checkout's figures for a row: site-steps per wall second and per CPU second (medians)."""

    wall: float
    cpu: float


@dataclass(frozen=True)
class Compared:
    label: str
    batch: int
    this: Side
    ref: Side

    @property
    def ratio(self) -> float:
        """This checkout over REF, per CPU second (above 1: this one is faster)."""
        return self.this.cpu / self.ref.cpu


def checkout_root(path: str | Path, noun: str = "--compare") -> Path:
    """The folder holding a checkout's ``echelon`` package (the checkout itself), or a one-line error."""
    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"{noun}: {path} is not a folder (give the root of another checkout of Echelon)")
    if not (root / "echelon" / "__init__.py").is_file():
        raise ConfigError(f"{noun}: {path} is not a checkout of Echelon (it has no echelon/ package)")
    return root.resolve()


class Worker:
    """A measuring process importing the ``echelon`` of one checkout."""

    def __init__(self, root: Path, name: str):
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        self.process = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root,
                                        env=env)

    def window(self, kind: str, scenario: str, batch: int, seconds: float) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps({"kind": kind, "scenario": scenario, "batch": batch,
                                                 "seconds": seconds}) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            err = (self.process.stderr.read() if self.process.stderr else "").strip().splitlines()
            why = err[-1] if err else "no message"
            raise ConfigError(f"--compare: the {self.name} checkout's worker stopped ({why})")
        reply = json.loads(line)
        if "error" in reply:
            raise ConfigError(f"--compare: the {self.name} checkout could not measure {kind} at batch {batch} "
                              f"({reply['error']})")
        return reply

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def compare(ref: str | Path, scenario: str, batches: list[int], seconds: float, windows: int = 9
            ) -> list[Compared]:
    """The ParallelEnv (batch 1) and the core at each batch, on ``scenario``, in this checkout and in
    ``ref``, ``windows`` interleaved windows of ``seconds / windows`` each."""
    this_root = Path(__file__).resolve().parents[2]
    workers = [Worker(this_root, "this"), Worker(checkout_root(ref), "REF")]
    rows = [("parallel", 1, f"ParallelEnv {scenario}")] + [("core", b, f"core {scenario}") for b in batches]
    out = []
    try:
        for kind, batch, label in rows:
            got: list[list[dict[str, Any]]] = [[], []]
            for w in range(windows):
                order = (0, 1) if w % 2 == 0 else (1, 0)
                for i in order:
                    got[i].append(workers[i].window(kind, scenario, batch, seconds / windows))
            sides = [Side(float(np.median([r["wall"] * r["per_call"] for r in g])),
                          float(np.median([r["cpu"] * r["per_call"] for r in g]))) for g in got]
            out.append(Compared(label, batch, sides[0], sides[1]))
    finally:
        for worker in workers:
            worker.close()
    return out
