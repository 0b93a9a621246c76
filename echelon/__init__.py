"""Echelon's public API and command line.

>>> import echelon                                            # also registers the Gymnasium ids
>>> env = echelon.parallel_env(scenario="beer_game")          # PettingZoo ParallelEnv, one agent per site
>>> vec = echelon.make_vec_env("textbook_serial", n_envs=8)    # fast Stable-Baselines3 VecEnv
>>> scen = echelon.load_scenario("textbook_serial")
>>> best = echelon.optimal_levels(scen)                       # exact Clark-Scarf levels
>>> policy = echelon.make_policy({"policy": "echelon_base_stock", "levels": "optimal"}, scen)
>>> costs = echelon.rollout(policy, scen, episodes=100, seed=0).episode_cost

The subpackages are ``echelon.envs`` (simulator core and env shells), ``echelon.agents``
(policies), ``echelon.training`` (learning) and ``echelon.evaluation`` (benchmarks, reports);
the built-in scenarios and configs ship as package data in ``echelon/configs``. In a source
checkout they are the repository's top-level folders ``envs/ agents/ training/ evaluation/
configs/``: the wheel maps them under ``echelon`` (``pyproject.toml``), and below the
checkout's own ``echelon`` package finds them beside itself, so nothing named ``envs`` is
ever installed at the top level where a user's own folder could shadow it.

Everything but the environments is imported on first use (PEP 562), so ``import echelon``
(and Gymnasium's ``"echelon:echelon/Central-v0"`` form) stays light.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
_CHECKOUT = _HERE.parent
if not (_HERE / "envs").is_dir() and (_CHECKOUT / "envs" / "__init__.py").is_file() \
        and (_CHECKOUT / "pyproject.toml").is_file():
    # A source checkout: echelon.envs, echelon.agents, ... are the repository's top-level folders.
    __path__.append(str(_CHECKOUT))  # type: ignore[name-defined]  # noqa: F821

from echelon.envs import (  # noqa: E402  (registers echelon/Central-v0 and echelon/Hybrid-v0)
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
