"""The exact optimal policy of one-site problems, played from the table the DP found (:mod:`agents.dp`).

``{policy: optimal_dp}`` in a config. Lost-sales sites look their order up by
the pipeline state, backlog sites by the inventory position, so benchmarks on
such scenarios show every heuristic's gap to the optimum.
"""

from __future__ import annotations

import functools

import numpy as np

from echelon.agents.dp import DPSolution, solve
from echelon.agents.policy import Policy
from echelon.agents.single_site import SiteModel, pipeline_state, site_models
from echelon.envs.core import State
from echelon.envs.positions import inventory_position
from echelon.envs.scenario import Scenario


@functools.lru_cache(maxsize=32)
def _solved(key: tuple) -> DPSolution:
    return solve(_MODELS[key])


_MODELS: dict[tuple, SiteModel] = {}


def solution_for(model: SiteModel) -> DPSolution:
    """The DP solution of a site model, solved once per distinct problem in a process."""
    key = (model.lost_sales, model.periods_ahead, model.pmf.tobytes(), model.holding, model.shortage,
           model.order_cost, model.fixed_cost, model.capacity)
    _MODELS.setdefault(key, model)
    return _solved(key)


class OptimalDP(Policy):
    """The DP's optimal policy of every site (each supplied from outside; see :mod:`agents.single_site`)."""

    name = "optimal_dp"

    def __init__(self, scenario: Scenario):
        super().__init__(scenario)
        self.models = site_models(scenario, "policy 'optimal_dp'")
        self.solutions = [solution_for(m) for m in self.models]

    def act(self, state: State) -> np.ndarray:
        orders = np.zeros_like(state.on_hand)
        for model, solution in zip(self.models, self.solutions, strict=True):
            if model.lost_sales:
                x = pipeline_state(state, self.params, model)
            else:
                x = inventory_position(state, self.params)[:, model.index]
            orders[:, model.index] = solution.orders(x)
        return orders

    def describe(self) -> str:
        return "; ".join(s.describe() for s in self.solutions)
