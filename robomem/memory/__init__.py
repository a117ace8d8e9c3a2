"""Dual memory: a bounded short-term working memory and a durable long-term SQLite store.

See docs/memory.md for the schema, the replacement/forgetting formulas and durability guarantees."""
from robomem.memory.consolidation import ConsolidationClock, ForgettingPolicy
from robomem.memory.errors import (
    CorruptStoreError,
    InvalidObservationError,
    InvalidQueryError,
    SessionError,
    NotARobomemStoreError,
    OutOfOrderError,
    ReadOnlyStoreError,
    StoreError,
    StoreFullError,
    StoreVersionError,
    UnknownObjectError,
)
from robomem.memory.keyframes import KeyframePolicy, decode_image, encode_image
from robomem.memory.keyframe_store import Keyframe
from robomem.memory.longterm import LongTermMemory
from robomem.memory.robot_queries import RobotPosition, RoomVisit
from robomem.memory.records import ForgetReport, IngestReport, ObjectRecord, Placement, StoredEvent
from robomem.memory.schema import SCHEMA_VERSION
from robomem.memory.shortterm import ShortTermMemory
from robomem.memory.trajectory import TrajectoryPoint, TrajectoryThinner
from robomem.memory.trajectory_summary import TrajectoryResolution

__all__ = [
    "LongTermMemory", "ShortTermMemory", "ForgettingPolicy", "ConsolidationClock", "KeyframePolicy",
    "TrajectoryThinner", "TrajectoryPoint", "TrajectoryResolution", "Placement", "StoredEvent", "ObjectRecord", "IngestReport",
    "ForgetReport", "Keyframe", "RobotPosition", "RoomVisit", "encode_image", "decode_image", "SCHEMA_VERSION",
    "StoreError", "NotARobomemStoreError", "CorruptStoreError", "StoreVersionError", "StoreFullError",
    "ReadOnlyStoreError", "InvalidObservationError", "UnknownObjectError", "OutOfOrderError", "InvalidQueryError",
    "SessionError",
]
