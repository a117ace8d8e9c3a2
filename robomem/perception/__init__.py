"""Perception: per-instance 3D segments from RGB-D frames, an object tracker with change detection,
and a pipeline that feeds the map and the scene graph.

``PerceptionPipeline(octree=None).process(frame) -> FrameResult`` is the one-step entry point."""
from robomem.perception.pipeline import FrameResult, PerceptionPipeline
from robomem.perception.segments import STRUCTURAL_CATEGORIES, LabelMismatchError, Segment, extract_segments
from robomem.perception.tracker import ObjectTracker, StaleFrameError, TrackedObject

__all__ = ["PerceptionPipeline", "FrameResult", "Segment", "extract_segments", "STRUCTURAL_CATEGORIES",
           "LabelMismatchError", "ObjectTracker", "TrackedObject", "StaleFrameError"]
