"""Echelon's public API and command line.

>>> import echelon
>>> env = echelon.parallel_env(scenario="beer_game")
"""

from envs import (
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

__all__ = [
    "ActionError", "CentralSupplyChainEnv", "ConfigError", "EchelonError", "HybridSupplyChainEnv",
    "Scenario", "Simulator", "SupplyChainEnv", "available_scenarios", "env", "load_scenario", "parallel_env",
]
