"""Echelon environments: the batched core and its PettingZoo / Gymnasium shells.

Importing this package registers ``echelon/Central-v0`` and ``echelon/Hybrid-v0``
with Gymnasium.
"""

from gymnasium.envs.registration import register, registry

from echelon.envs.central import CentralSupplyChainEnv
from echelon.envs.core import Flows, State, initial_state, step
from echelon.envs.errors import ActionError, ConfigError, EchelonError
from echelon.envs.hybrid import HybridSupplyChainEnv
from echelon.envs.hybrid_marl import HybridControlEnv, hybrid_parallel_env
from echelon.envs.parallel import SupplyChainEnv, env, parallel_env, raw_env
from echelon.envs.params import CoreParams
from echelon.envs.scenario import Scenario, available_scenarios, load_scenario
from echelon.envs.simulator import Episode, Simulator, sample_episode

for _id, _entry in (
    ("echelon/Central-v0", "echelon.envs.central:CentralSupplyChainEnv"),
    ("echelon/Hybrid-v0", "echelon.envs.hybrid:HybridSupplyChainEnv"),
):
    if _id not in registry:
        register(id=_id, entry_point=_entry)

__all__ = [
    "ActionError", "CentralSupplyChainEnv", "HybridControlEnv", "hybrid_parallel_env", "ConfigError", "CoreParams",
    "EchelonError", "Episode", "Flows", "HybridSupplyChainEnv", "Scenario", "Simulator", "State", "SupplyChainEnv",
    "available_scenarios", "env", "initial_state", "load_scenario", "parallel_env", "raw_env",
    "sample_episode", "step",
]
