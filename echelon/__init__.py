"""Echelon's public API and command line.

>>> import echelon
>>> env = echelon.parallel_env(scenario="beer_game")
>>> scen = echelon.load_scenario("textbook_serial")
>>> best = echelon.optimal_levels(scen)                       # exact Clark-Scarf levels
>>> policy = echelon.make_policy({"policy": "echelon_base_stock", "levels": "optimal"}, scen)
>>> costs = echelon.rollout(policy, scen, episodes=100, seed=0).episode_cost
"""

from agents.optimal import optimal_levels
from agents.policy import Policy
from agents.registry import POLICIES, make_policy
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
from evaluation.rollout import rollout

__all__ = [
    "ActionError", "CentralSupplyChainEnv", "ConfigError", "EchelonError", "HybridSupplyChainEnv",
    "Scenario", "Simulator", "SupplyChainEnv", "available_scenarios", "env", "load_scenario", "parallel_env",
    "POLICIES", "Policy", "make_policy", "optimal_levels", "rollout",
]
