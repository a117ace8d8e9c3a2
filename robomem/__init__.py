"""robomem: memory for robots and embodied agents.

Core types are importable from the top level; each part lives in its own subpackage
(``robomem.mapping``, ``robomem.perception``, ``robomem.scenegraph``, ``robomem.memory``)."""
from robomem.camera import TUM_FR1, CameraIntrinsics
from robomem.errors import (
    InvalidImageError,
    InvalidInputError,
    InvalidIntrinsicsError,
    InvalidMapError,
    InvalidPoseError,
    RobomemError,
)
from robomem.frame import Frame
from robomem.stack import MemoryStack, WhereAnswer, open  # noqa: A001 - robomem.open("house.db") is the entry point
from robomem.observations import EventKind, ObjectEvent, ObjectObservation
from robomem.pose import (
    invert_pose,
    make_pose,
    matrix_to_quaternion,
    quaternion_to_matrix,
    transform_points,
    validate_pose,
)

__version__ = "0.1.0"

__all__ = [
    "open", "MemoryStack", "WhereAnswer",
    "CameraIntrinsics", "TUM_FR1", "Frame",
    "EventKind", "ObjectEvent", "ObjectObservation",
    "RobomemError", "InvalidInputError", "InvalidPoseError", "InvalidImageError",
    "InvalidIntrinsicsError", "InvalidMapError",
    "invert_pose", "make_pose", "matrix_to_quaternion", "quaternion_to_matrix",
    "transform_points", "validate_pose",
]
