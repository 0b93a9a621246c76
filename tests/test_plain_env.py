"""The plain beer game (the yardstick of ``echelon speed``) against Echelon's env: the same costs.

Two implementations written apart (Echelon's batched core in its board-game timing, and a plain object
per site with deques) must charge every site the same cost every week for the same orders; a disagreement
is a bug in one of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from echelon.envs.parallel import SupplyChainEnv
from echelon.experiments.plain_env import PlainBeerGame


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_plain_beer_game_charges_what_echelons_core_charges(seed):
    rng = np.random.default_rng(seed)
    plain, env = PlainBeerGame.beer_game(), SupplyChainEnv(scenario="beer_game")
    plain.reset()
    env.reset(seed=seed)
    for week in range(36):
        orders = {a: int(rng.integers(0, 20)) for a in env.possible_agents}
        _, _, _, plain_done, plain_info = plain.step(orders)
        _, _, _, done, info = env.step(orders)
        assert [plain_info[a]["cost"] for a in orders] == pytest.approx([info[a]["cost"] for a in orders],
                                                                          abs=1e-9), week
        assert plain_done == done
    assert plain.agents == env.agents == []


def test_the_plain_beer_game_in_steady_state_costs_what_sterman_says():
    """Ordering 4 a week before the step and nothing changing: 12 cases on hand cost 6 a week at each site
    (Sterman 1989: equilibrium at 12 cases, holding 0.50)."""
    plain = PlainBeerGame.beer_game()
    plain.reset()
    for _ in range(3):
        _, _, _, _, info = plain.step(dict.fromkeys(plain.possible_agents, 4))
        assert [info[a]["cost"] for a in plain.possible_agents] == [6.0] * 4
