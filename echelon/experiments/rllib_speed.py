"""RLlib's training throughput, its own runner against the batched core's: ``echelon speed --rllib CONFIG``.

Each sampler trains the config's PPO for a few iterations in this process (``num_env_runners: 0``, a local
Ray): after one warm-up iteration, the agent steps of the timed ones per second of this process's CPU time
and per wall second, and the share of the iteration spent sampling and learning (RLlib's own timers). The
two samplers alternate iteration by iteration, so a busy machine slows both alike. Figures are printed,
never asserted in tests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from echelon.agents.rllib_model import quiet_ray
from echelon.envs.scenario import load_scenario
from echelon.training.config import group_layout, load_train_config
from echelon.training.rllib import agent_steps, algorithm_config

SAMPLERS = ("RLlib's own runner", "batched core")


@dataclass
class RLlibSpeed:
    """One sampler's figures."""

    sampler: str
    agent_steps: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    sampling_s: float = 0.0
    learning_s: float = 0.0

    @property
    def per_cpu_s(self) -> float:
        return self.agent_steps / self.cpu_s

    @property
    def per_wall_s(self) -> float:
        return self.agent_steps / self.wall_s


def rllib_speed(config_name: str, iterations: int = 3) -> tuple[list[RLlibSpeed], Any]:
    """Both samplers' figures on ``config_name``'s PPO settings (and the config)."""
    import ray

    config = load_train_config(config_name)
    config.ray = {**config.ray, "num_env_runners": 0}
    scenario = load_scenario(config.scenario)
    layout = group_layout(config, scenario)
    quiet_ray()
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=config.ray.get("num_cpus"), include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")
    try:
        algos = []
        for own in (True, False):
            algo_config = algorithm_config(config, scenario, layout)
            if own:
                algo_config.env_runners(env_runner_cls=None)
            algos.append(algo_config.build_algo())
        figures = [RLlibSpeed(name) for name in SAMPLERS]
        for algo in algos:
            algo.train()  # warm-up: modules built, first episodes
        for _ in range(iterations):
            for algo, f in zip(algos, figures, strict=True):
                wall, cpu = time.perf_counter(), time.process_time()
                result = algo.train()
                f.cpu_s += time.process_time() - cpu
                f.wall_s += time.perf_counter() - wall
                f.agent_steps += agent_steps(result)
                timers = result.get("timers", {})
                f.sampling_s += float(timers.get("env_runner_sampling_timer", 0.0))
                f.learning_s += float(timers.get("learner_update_timer", 0.0))
        for algo in algos:
            algo.stop()
    finally:
        if started:
            ray.shutdown()
    return figures, config
