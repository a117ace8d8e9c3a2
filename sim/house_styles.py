"""Every house style the generator offers: the original layouts of :mod:`sim.houses` and the
``"real"`` style of :mod:`sim.houses_real` (open plan, flush/tucked/stacked furniture, things on
shelves and in cabinets, look-alike objects). ``generate_house`` without a style draws among the
original layouts, so older seeds give the same houses as before."""
from __future__ import annotations

from typing import Optional

import numpy as np

from sim import houses
from sim.errors import SceneError
from sim.houses_real import generate_real_house
from sim.scene import Scene

#: Every style, original ones first.
LAYOUT_STYLES = (*houses.LAYOUT_STYLES, "real")


def generate_house(seed: int = 0, style: Optional[str] = None, n_rooms: Optional[int] = None,
                   n_objects: Optional[int] = None, agent_radius: float = 0.18) -> Scene:
    """A random, fully connected, furnished house, identical for identical arguments; see
    :func:`sim.houses.generate_house` (``style`` may also be ``"real"``)."""
    if style != "real":
        return houses.generate_house(seed, style, n_rooms, n_objects, agent_radius)
    rng = np.random.default_rng(seed)
    n_rooms = int(n_rooms if n_rooms is not None else rng.integers(4, 9))
    if not 3 <= n_rooms <= 8:
        raise SceneError(f"n_rooms must be in 3..8, got {n_rooms}")
    n_objects = int(n_objects if n_objects is not None else rng.integers(40, 91))
    if not 0 <= n_objects <= 200:
        raise SceneError(f"n_objects must be in 0..200, got {n_objects}")
    return generate_real_house(seed, n_rooms, n_objects, agent_radius)
