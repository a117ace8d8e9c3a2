"""Simulators for robomem: scenes of labelled parts, procedural houses, the embedded Open3D
simulator (default) and the Habitat backend. ``sim`` imports ``robomem``, never the reverse.

Heavy parts (Open3D, Habitat) load lazily on first attribute access."""
from __future__ import annotations

from sim.base import (ACTIONS, DEFAULT_START_NS, AgentState, PathFinder, SemanticObject, Simulator,
                      SimulatorError, StepResult, camera_pose)
from sim.categories import CATEGORIES, CATEGORY_INDEX, ROOM_TYPES, CategoryInfo, category_info
from sim.errors import (InvalidPolygonError, PlacementError, SceneError, SceneFileError,
                        UnknownCategoryError)
from sim.scene import Door, Receptacle, Room, Scene, SceneObject, Wall

_LAZY = {
    "EmbeddedSim": "sim.embedded",
    "Observation": "sim.embedded",
    "GridPathFinder": "sim.pathfinder",
    "generate_house": "sim.house_styles",
    "LAYOUT_STYLES": "sim.house_styles",
    "load_mesh_parts": "sim.meshes",
    "scene_from_mesh_file": "sim.meshes",
    "follow_path": "sim.walk",
    "walk_to": "sim.walk",
    "floor_plan": "sim.viz",
    "frame_strip": "sim.viz",
    "HabitatSim": "sim.habitat",
    "habitat_available": "sim.habitat",
    "Scenario": "sim.scenario",
    "ScenarioConfig": "sim.scenario",
    "HouseholdDynamics": "sim.dynamics",
    "QuestionGenerator": "sim.questions",
}

__all__ = [
    "ACTIONS", "DEFAULT_START_NS", "AgentState", "PathFinder", "SemanticObject", "Simulator", "SimulatorError",
    "StepResult", "camera_pose", "CATEGORIES", "CATEGORY_INDEX", "ROOM_TYPES", "CategoryInfo", "category_info",
    "InvalidPolygonError", "PlacementError", "SceneError", "SceneFileError", "UnknownCategoryError",
    "Door", "Receptacle", "Room", "Scene", "SceneObject", "Wall", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
