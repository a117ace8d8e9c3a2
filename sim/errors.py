"""Errors raised by the simulator package. All derive from robomem's ``InvalidInputError`` (a
``ValueError``), and every message names the offending input."""
from __future__ import annotations

from robomem.errors import InvalidInputError


class SceneError(InvalidInputError):
    """A scene-building call was invalid; the scene was left unchanged."""


class UnknownCategoryError(SceneError):
    """A category or room type is not in the vocabulary (``sim.categories``)."""


class InvalidPolygonError(SceneError):
    """A room or surface polygon is empty, too small, self-intersecting or overlaps another room."""


class PlacementError(SceneError):
    """An object cannot be placed where asked (outside every room, off its receptacle, too tall,
    overlapping another object, unknown receptacle)."""


class SceneFileError(SceneError):
    """A scene or mesh file is missing, unreadable or malformed."""
