"""Echelon's public API and command line.

>>> import echelon                                            # also registers the Gymnasium ids
>>> env = echelon.parallel_env(scenario="beer_game")          # PettingZoo ParallelEnv, one agent per site
>>> vec = echelon.make_vec_env("textbook_serial", copies=8)    # fast Stable-Baselines3 VecEnv
>>> scen = echelon.load_scenario("textbook_serial")
>>> best = echelon.optimal_levels(scen)                       # exact Clark-Scarf levels
>>> policy = echelon.make_policy({"policy": "echelon_base_stock", "levels": "optimal"}, scen)
>>> costs = echelon.rollout(policy, scen, episodes=100, seed=0).episode_cost

The sub-packages, floors that import only downwards: ``echelon.envs`` (the simulator core, the
scenarios and the env shells), ``echelon.agents`` (policies and exact solvers),
``echelon.evaluation`` (rollouts, benchmarks, reports, studies), ``echelon.training`` (learning
and the run folder), ``echelon.experiments`` (what trains and measures at once: the scoreboard,
throughput), then the command line (``echelon.cli``, ``echelon.commands``, ``echelon.play``,
``echelon.classroom``). The built-in scenarios and configs ship as package data in
``echelon/configs``.

Everything but the environments is imported on first use (PEP 562), so ``import echelon``
(and Gymnasium's ``"echelon:echelon/Central-v0"`` form) stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from echelon.envs import (  # (registers echelon/Central-v0 and echelon/Hybrid-v0)
    ActionError,
    CentralSupplyChainEnv,
    ConfigError,
    EchelonError,
    HybridSupplyChainEnv,
    Scenario,
    Simulator,
    SupplyChainEnv,
    available_scenarios,
    env,
    load_scenario,
    parallel_env,
)

_LAZY = {
    "optimal_levels": "echelon.agents.optimal",
    "Policy": "echelon.agents.policy",
    "POLICIES": "echelon.agents.registry",
    "make_policy": "echelon.agents.registry",
    "rollout": "echelon.evaluation.rollout",
    "make_vec_env": "echelon.training.vec_env",
}


def __getattr__(name: str) -> Any:
    """The public names that need the policy, training or evaluation packages, imported on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'echelon' has no attribute {name!r}")


__all__ = [
    "ActionError", "CentralSupplyChainEnv", "ConfigError", "EchelonError", "HybridSupplyChainEnv",
    "Scenario", "Simulator", "SupplyChainEnv", "available_scenarios", "env", "load_scenario", "parallel_env",
    "POLICIES", "Policy", "make_policy", "make_vec_env", "optimal_levels", "rollout",
]
