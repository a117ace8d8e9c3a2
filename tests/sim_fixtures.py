"""Shared hand-built scenes for the sim tests."""
from __future__ import annotations

import sim


def two_rooms(door: bool = True) -> "sim.Scene":
    """Living room [0,4]x[0,3] and kitchen [4,7]x[0,3]; a 0.9 m door centred at (4, 1.5)."""
    s = sim.Scene("two-rooms")
    s.add_room("living", "living_room", [(0, 0), (4, 0), (4, 3), (0, 3)])
    s.add_room("kitchen", "kitchen", [(4, 0), (7, 0), (7, 3), (4, 3)])
    if door:
        s.add_door("living", "kitchen", width=0.9, position=(4.0, 1.5))
    return s
