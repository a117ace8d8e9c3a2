"""Pydantic models of the HTTP requests and responses (they make the OpenAPI document). Requests
are strict (JSON types only, no coercion of "5" to 5) and refuse unknown fields; the same bounds
as :mod:`robomem.service.params` apply."""
from __future__ import annotations

from typing import Any, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from robomem.service.params import MAX_ID, MAX_LABEL_CHARS, MAX_LIMIT, MAX_STAMP_NS, MAX_TEXT_CHARS

Stamp = Field(None, ge=0, le=MAX_STAMP_NS, description="stamp in ns of data time")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ObjectsRequest(_Request):
    label: Optional[str] = Field(None, min_length=1, max_length=MAX_LABEL_CHARS, description="only this label")
    at_ns: Optional[int] = Field(None, ge=0, le=MAX_STAMP_NS, description="as last known at this stamp (ns)")
    limit: int = Field(1000, ge=1, le=MAX_LIMIT)


class WhereRequest(_Request):
    label: str = Field(..., min_length=1, max_length=MAX_LABEL_CHARS, examples=["mug"])
    limit: int = Field(100, ge=1, le=MAX_LIMIT)


class TimelineRequest(_Request):
    object_id: Optional[int] = Field(None, ge=0, le=MAX_ID)
    label: Optional[str] = Field(None, min_length=1, max_length=MAX_LABEL_CHARS)
    t0_ns: Optional[int] = Field(None, ge=0, le=MAX_STAMP_NS)
    t1_ns: Optional[int] = Field(None, ge=0, le=MAX_STAMP_NS)
    limit: int = Field(1000, ge=1, le=MAX_LIMIT)


class EventsRequest(_Request):
    object_id: Optional[int] = Field(None, ge=0, le=MAX_ID)
    t0_ns: Optional[int] = Field(None, ge=0, le=MAX_STAMP_NS)
    t1_ns: Optional[int] = Field(None, ge=0, le=MAX_STAMP_NS)
    kinds: Optional[List[Literal["appeared", "moved", "disappeared"]]] = Field(None, max_length=3)
    limit: int = Field(1000, ge=1, le=MAX_LIMIT)


class WhereWasIRequest(_Request):
    at_ns: int = Field(..., ge=0, le=MAX_STAMP_NS)


class VisitsRequest(_Request):
    room_id: int = Field(..., ge=0, le=MAX_ID)
    t0_ns: Optional[int] = Field(None, ge=0, le=MAX_STAMP_NS)
    t1_ns: Optional[int] = Field(None, ge=0, le=MAX_STAMP_NS)
    limit: int = Field(1000, ge=1, le=MAX_LIMIT)


class AskRequest(_Request):
    text: str = Field(..., max_length=MAX_TEXT_CHARS, examples=["where is the mug?"])
    now_ns: Optional[int] = Field(None, ge=0, le=MAX_STAMP_NS,
                                  description="what 'now' means in the question (default: the store's newest stamp)")


# ---------------------------------------------------------------- responses (documentation only)
class Error(BaseModel):
    error: str = Field(..., description="machine-readable kind: invalid_request, unauthorized, rate_limited, ...")
    message: str


class PlacementOut(BaseModel):
    object_id: int
    label: str
    position: List[float]
    room_id: Optional[int]
    receptacle_id: Optional[int]
    t_start_ns: int
    t_end_ns: int
    n_observations: int
    mean_confidence: float
    current: bool
    session_id: Optional[int]


class WhereOut(BaseModel):
    object_id: int
    label: str
    position: List[float]
    room_id: Optional[int]
    receptacle_id: Optional[int]
    since_ns: int
    last_seen_ns: int
    current: bool
    source: Literal["long-term", "short-term"]
    keyframe_ids: List[int]


class EventOut(BaseModel):
    event_id: int
    kind: Literal["appeared", "moved", "disappeared"]
    object_id: int
    label: Optional[str]
    stamp_ns: int
    position: List[float]
    previous_position: Optional[List[float]]
    room_id: Optional[int]
    receptacle_id: Optional[int]
    previous_receptacle_id: Optional[int]
    session_id: Optional[int]


class TimelineEntryOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    stamp_ns: int
    entry: Literal["placement", "event"]
    object_id: int


class PositionOut(BaseModel):
    stamp_ns: int
    position: List[float]
    room_id: Optional[int]


class VisitOut(BaseModel):
    room_id: int
    t_enter_ns: int
    t_exit_ns: Optional[int]
    last_pose_ns: int
    duration_ns: int


class InfoOut(BaseModel):
    robomem_version: str
    schema_version: int
    objects: int
    placements: int
    events: int
    sessions: int
    observations: int
    latest_stamp_ns: Optional[int]
    readonly: bool


class EvidenceOut(BaseModel):
    """Why an object is in an answer (``robomem.retrieval.Evidence.to_dict()``)."""
    object_id: int
    label: str
    position: Optional[List[float]]
    room_id: Optional[int]
    receptacle_id: Optional[int]
    first_seen_ns: Optional[int]
    last_seen_ns: Optional[int]
    last_missed_ns: Optional[int] = Field(None, description="latest time its place was in view and it was absent")
    since_ns: Optional[int]
    p_still_there: Optional[float] = Field(None, description="belief that it is still there now")
    keyframe_ids: List[int]
    source: str


class AnswerOut(BaseModel):
    """An answer of the retrieval engine (``robomem.retrieval.Answer.to_dict()``)."""
    kind: Literal["objects", "time", "count", "boolean", "room", "changes", "history", "pose", "visit", "dont_know",
                  "unsupported"]
    value: Any = Field(None, description="JSON; its shape depends on kind (robomem.retrieval.ANSWER_KINDS)")
    text: str
    confidence: float
    evidence: List[EvidenceOut]
    query: Optional[dict] = Field(None, description="the typed query answered (how the question was understood)")
