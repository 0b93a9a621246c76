"""Rendering of a simulator's first batch copy: ``ansi`` text, ``rgb_array`` images, and ``human`` (the ansi
text printed after every reset and step, as Gymnasium's convention for that mode)."""

from __future__ import annotations

import numpy as np

from echelon.envs.core import total
from echelon.envs.positions import backlog_total, inventory_position
from echelon.envs.simulator import Simulator

RENDER_MODES = ("ansi", "rgb_array", "human")


def render_ansi(sim: Simulator) -> str:
    """A text table of every site at the end of the current period."""
    s, p = sim.state, sim.params
    backlog = backlog_total(s, p)[0]
    position = inventory_position(s, p)[0]
    in_transit = total(s.transit, s.on_hand)[0]
    width = max(len(n) for n in p.names)
    lines = [
        f"{sim.scenario.name}  period {sim.period}/{sim.periods}",
        f"{'site':<{width}}  {'on_hand':>8} {'backlog':>8} {'transit':>8} {'position':>9} "
        f"{'incoming':>8} {'ordered':>8}",
    ]
    for i, name in enumerate(p.names):
        lines.append(
            f"{name:<{width}}  {s.on_hand[0, i]:8.1f} {backlog[i]:8.1f} {in_transit[i]:8.1f} "
            f"{position[i]:9.1f} {s.incoming[0, i]:8.1f} {s.last_order[0, i]:8.1f}"
        )
    return "\n".join(lines) + "\n"


def render_rgb(sim: Simulator, height: int = 200, bar: int = 40, gap: int = 12) -> np.ndarray:
    """An ``[H, W, 3]`` uint8 picture: per site, on-hand (green) up and backlog (red) down.

    Bars share one scale (the largest on-hand or backlog, at least 1); the
    inventory position is a blue tick. Sites run left (downstream) to right.
    """
    s, p = sim.state, sim.params
    on_hand = s.on_hand[0]
    backlog = backlog_total(s, p)[0]
    position = inventory_position(s, p)[0]
    scale = max(1.0, float(np.abs(np.concatenate([on_hand, backlog, position])).max()))
    n = p.n_sites
    width = gap + n * (bar + gap)
    img = np.full((height, width, 3), 255, dtype=np.uint8)
    mid = height // 2
    img[mid, :, :] = 80
    half = mid - 4
    for i in range(n):
        x0 = gap + i * (bar + gap)
        up = int(round(half * on_hand[i] / scale))
        down = int(round(half * backlog[i] / scale))
        img[mid - up : mid, x0 : x0 + bar] = (46, 160, 67)
        img[mid + 1 : mid + 1 + down, x0 : x0 + bar] = (207, 34, 46)
        tick = int(np.clip(mid - round(half * position[i] / scale), 0, height - 2))
        img[tick : tick + 2, x0 - 3 : x0 + bar + 3] = (9, 105, 218)
    return img
