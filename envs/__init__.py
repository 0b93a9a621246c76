"""Echelon environments: the batched core and its PettingZoo / Gymnasium shells.

Importing this package registers ``echelon/Central-v0`` and ``echelon/Hybrid-v0``
with Gymnasium.
"""

from gymnasium.envs.registration import register, registry

from envs.central import CentralSupplyChainEnv
from envs.core import CoreParams, Flows, State, initial_state, step
from envs.errors import ActionError, ConfigError, EchelonError
from envs.hybrid import HybridSupplyChainEnv
from envs.hybrid_marl import HybridControlEnv, hybrid_parallel_env
from envs.parallel import SupplyChainEnv, env, parallel_env, raw_env
from envs.scenario import Scenario, available_scenarios, load_scenario
from envs.simulator import Episode, Simulator, sample_episode

for _id, _entry in (
    ("echelon/Central-v0", "envs.central:CentralSupplyChainEnv"),
    ("echelon/Hybrid-v0", "envs.hybrid:HybridSupplyChainEnv"),
):
    if _id not in registry:
        register(id=_id, entry_point=_entry)

__all__ = [
    "ActionError", "CentralSupplyChainEnv", "HybridControlEnv", "hybrid_parallel_env", "ConfigError", "CoreParams",
    "EchelonError", "Episode", "Flows", "HybridSupplyChainEnv", "Scenario", "Simulator", "State", "SupplyChainEnv",
    "available_scenarios", "env", "initial_state", "load_scenario", "parallel_env", "raw_env",
    "sample_episode", "step",
]
