"""Walking to a goal with the discrete actions, greedy on the geodesic distance field (the way
Habitat's shortest-path follower works): turn toward the reachable heading that lowers the
geodesic distance most, step forward when already facing it."""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from scipy.sparse.csgraph import dijkstra

from sim.base import StepResult


def follow_path(sim, waypoints: np.ndarray, max_steps: int = 500, tolerance: float = 0.2) -> Iterator[StepResult]:
    """Drive ``sim`` to the last of ``waypoints`` ((N, 3) world), yielding each
    :class:`StepResult`. Stops within ``tolerance`` of the goal, after ``max_steps``, or when no
    action makes progress."""
    if len(waypoints) == 0:
        return
    yield from walk_to(sim, np.asarray(waypoints)[-1], max_steps, tolerance)


def walk_to(sim, goal, max_steps: int = 500, tolerance: float = 0.2) -> Iterator[StepResult]:
    """Greedy geodesic walk to ``goal`` (see module doc)."""
    pf = sim.pathfinder
    goal = np.asarray(goal, dtype=np.float64)
    gy, gx = pf.world_to_cell(goal)
    field = dijkstra(pf.graph, indices=gy * pf.shape[1] + gx).reshape(pf.shape)
    turn = getattr(sim, "turn", math.radians(10.0))
    step = getattr(sim, "forward_step", 0.25)

    def cost(p) -> float:
        iy, ix = pf.world_to_cell(p)
        if not (0 <= iy < pf.shape[0] and 0 <= ix < pf.shape[1]) or not pf.navigable[iy, ix]:
            return math.inf
        return float(field[iy, ix])

    stalls = 0
    n_head = int(round(2 * math.pi / turn))
    for _ in range(max_steps):
        s = sim.agent_state()
        if float(np.hypot(*(goal[:2] - s.position[:2]))) < tolerance:
            return
        here = cost(s.position)
        best_k, best = 0, here
        for k in range(-(n_head // 2) + 1, n_head // 2 + 1):
            yaw = s.yaw + k * turn
            p = s.position + step * np.array([math.cos(yaw), math.sin(yaw), 0.0])
            if not pf.segment_free(s.position, p):
                continue
            c = cost(p) + 1e-3 * abs(k)  # prefer fewer turns on ties
            if c < best - 1e-9:
                best_k, best = k, c
        if best_k == 0 and best >= here:
            # No full step helps (goal closer than a step, or wedged): creep straight at the goal.
            err = math.remainder(math.atan2(goal[1] - s.position[1], goal[0] - s.position[0]) - s.yaw, 2 * math.pi)
            action = "move_forward" if abs(err) <= turn / 2 else ("turn_left" if err > 0 else "turn_right")
        elif best_k == 0:
            action = "move_forward"
        else:
            action = "turn_left" if best_k > 0 else "turn_right"
        before = s.position
        res = sim.step(action)
        yield res
        moved = float(np.hypot(*(sim.agent_state().position[:2] - before[:2])))
        stalls = stalls + 1 if action == "move_forward" and moved < 1e-3 else 0
        if stalls >= 3:
            return
