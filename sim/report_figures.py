"""The demo report's pictures (matplotlib, Agg): every map has a title, a scale bar, a legend and
labels placed so that they do not overlap (:func:`place_labels`, a greedy search over offsets in
screen space); :func:`label_overlaps` counts overlapping texts for the tests.

Maps are drawn on the robot's OWN map (the memory's occupancy octree projected to the floor);
room names come from the simulator's floor plan (the robot's room segmentation is not named)."""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar  # noqa: E402

__all__ = ["place_labels", "label_overlaps", "map_axes", "QUESTION_COLORS"]

#: One colour per question (paths on the day-2 map and the question figures).
QUESTION_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")

_OFFSETS = [(8, 6), (8, -14), (-8, 6), (-8, -14), (0, 12), (0, -18), (14, -4), (-14, -4),
            (18, 16), (18, -24), (-18, 16), (-18, -24), (0, 26), (0, -30), (30, -4), (-30, -4),
            (30, 24), (-30, 24), (30, -34), (-30, -34), (0, 40), (0, -44), (40, 40), (-40, 40), (40, -50),
            (-40, -50), (0, 56), (0, -60), (56, 8), (-56, 8), (60, 56), (-60, 56), (60, -66), (-60, -66)]


def _text_box(t, renderer):
    """The box of a text's characters only (an annotation's own extent includes its leader line)."""
    from matplotlib.text import Text
    if hasattr(t, "update_positions"):
        t.update_positions(renderer)
    return Text.get_window_extent(t, renderer)


def _overlap(a, b, pad: float = 1.0) -> bool:
    return not (a.x1 + pad <= b.x0 or b.x1 + pad <= a.x0 or a.y1 + pad <= b.y0 or b.y1 + pad <= a.y0)


def place_labels(ax, xy: Sequence, texts: Sequence[str], *, avoid: Sequence = (), fontsize: float = 8,
                 color="black", box: bool = True, zorder: int = 6) -> list:
    """Label points ``xy`` (data coordinates) with ``texts``, each at the first offset whose text box
    overlaps no label placed before (in this axes: also texts already on it and the ``avoid``
    artists) and stays inside the axes; a leader line joins a label to its point when it sits far
    away. Returns the annotation artists."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    taken = [_text_box(t, renderer) for t in ax.texts if t.get_visible() and t.get_text()]
    taken += [a.get_window_extent(renderer) for a in avoid]
    frame = ax.get_window_extent(renderer)
    out = []
    colors = color if isinstance(color, (list, tuple)) and len(color) == len(texts) else [color] * len(texts)
    for (x, y), s, c in zip(xy, texts, colors):
        best, best_bad = None, None
        for dx, dy in _OFFSETS:
            far = math.hypot(dx, dy) > 20
            ann = ax.annotate(s, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize, color=c,
                              ha="left" if dx > 0 else ("right" if dx < 0 else "center"), va="bottom",
                              zorder=zorder, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8)
                              if box else None,
                              arrowprops=dict(arrowstyle="-", color="0.4", lw=0.6) if far else None)
            bb = _text_box(ann, renderer)
            inside = frame.x0 <= bb.x0 and bb.x1 <= frame.x1 and frame.y0 <= bb.y0 and bb.y1 <= frame.y1
            bad = sum(_overlap(bb, t) for t in taken) + (0 if inside else 10)
            if bad == 0:
                best = (ann, bb)
                break
            if best_bad is None or bad < best_bad[0]:
                if best_bad is not None:
                    best_bad[1].remove()
                best_bad = (bad, ann, bb)
            else:
                ann.remove()
        if best is None:
            best = (best_bad[1], best_bad[2])
        elif best_bad is not None:
            best_bad[1].remove()
        taken.append(best[1])
        out.append(best[0])
    return out


def label_overlaps(fig) -> int:
    """Pairs of visible texts in the same axes (titles and legends excluded) whose boxes overlap."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    n = 0
    for ax in fig.axes:
        boxes = [_text_box(t, r) for t in ax.texts if t.get_visible() and t.get_text().strip()]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                n += _overlap(boxes[i], boxes[j], pad=-0.5)
    return n


def scale_bar(ax, length_m: float = 1.0) -> None:
    bar = AnchoredSizeBar(ax.transData, length_m, f"{length_m:g} m", "lower left", pad=0.4, sep=3,
                          frameon=True, size_vertical=0.05, fontproperties={"size": 8})
    bar.patch.set_alpha(0.85)
    ax.add_artist(bar)


_MAP_CMAP = ListedColormap(["#d9d9d9", "#ffffff", "#3b4252"])   # unknown, free, occupied


def map_axes(ax, grid, bounds, scene=None, *, title: str = "", room_labels: bool = True) -> None:
    """Draw the robot's own map (``OccupancyGrid2D``) clipped to ``bounds`` (x0, y0, x1, y1), with a
    scale bar and, from ``scene``, the room names (a little below the room's centre, where the
    look-out points usually are)."""
    d = grid.data
    img = np.where(d < 0, 0, np.where(d >= 50, 2, 1))
    h, w = d.shape
    ox, oy = grid.origin
    ax.imshow(img, cmap=_MAP_CMAP, vmin=0, vmax=2, origin="lower", interpolation="nearest",
              extent=(ox, ox + w * grid.resolution, oy, oy + h * grid.resolution), zorder=0)
    x0, y0, x1, y1 = bounds
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)", fontsize=8)
    ax.set_ylabel("y (m)", fontsize=8)
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    scale_bar(ax, 1.0)
    if scene is not None and room_labels:
        for room in scene.rooms.values():
            p = room.polygon.representative_point()
            ax.text(p.x, p.y - 0.4, room.room_id.replace("_0", "").replace("_", " "), fontsize=9, color="#5e81ac",
                    ha="center", va="center", style="italic", alpha=0.9, zorder=1)


def map_bounds(scene, pad: float = 0.4) -> tuple:
    x0, y0, x1, y1 = scene.outline.bounds
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def new_figure(w: float, h: float):
    return plt.figure(figsize=(w, h), dpi=110)


def save(fig, path) -> int:
    """Save and close; returns the number of overlapping labels (0 expected)."""
    n = label_overlaps(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return n


def legend_handles(*items) -> list:
    """Legend proxies: (kind, label, style dict) with kind "line", "marker" or "patch"."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    out = []
    for kind, label, st in items:
        if kind == "patch":
            out.append(Patch(label=label, **st))
        elif kind == "line":
            out.append(Line2D([], [], label=label, **st))
        else:
            out.append(Line2D([], [], ls="none", label=label, **st))
    return out


MAP_LEGEND = (("patch", "free (robot's map)", {"fc": "white", "ec": "0.6"}),
              ("patch", "occupied (robot's map)", {"fc": "#3b4252"}),
              ("patch", "unknown", {"fc": "#d9d9d9"}))
