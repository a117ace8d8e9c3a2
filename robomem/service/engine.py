"""The retrieval engine behind ``ask`` and ``query`` for every interface: a question in words or a
typed query as JSON in, ``Answer.to_dict()`` out (the schema of :mod:`robomem.retrieval`)."""
from __future__ import annotations

from typing import Optional

from robomem.errors import InvalidInputError, RobomemError
from robomem.service.params import MAX_TEXT_CHARS, check_stamp, check_text


class EngineUnavailableError(RobomemError):
    """The retrieval package is not importable in this installation."""


def _retrieval():
    try:
        import robomem.retrieval as r
    except ImportError as exc:  # pragma: no cover - only without the retrieval package
        raise EngineUnavailableError(f"the retrieval engine is not available ({exc})") from None
    return r


def ask(stack, text: str, now_ns: Optional[int] = None) -> dict:
    """Answer a question in words; the answer carries the typed query it was understood as."""
    text = check_text(text, "text", MAX_TEXT_CHARS)
    now = check_stamp(now_ns, "now_ns", optional=True)
    r = _retrieval()
    return r.ask(stack, text, now_ns=now).to_dict()


def query(stack, q: dict) -> dict:
    """Answer a typed query given as JSON (``robomem.retrieval.query_to_dict`` form); unknown
    fields and bad values raise :class:`InvalidInputError`."""
    if not isinstance(q, dict):
        raise InvalidInputError(f"query must be a JSON object, got {type(q).__name__}")
    r = _retrieval()
    return r.answer(stack, r.query_from_dict(q)).to_dict()


def parse(text: str, now_ns: Optional[int] = None) -> dict:
    """How a question is understood, without a store: the typed query as JSON."""
    text = check_text(text, "text", MAX_TEXT_CHARS)
    now = check_stamp(now_ns, "now_ns", optional=True)
    r = _retrieval()
    return r.query_to_dict(r.parse(text, now_ns=now))
