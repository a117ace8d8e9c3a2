"""The retrieval engine behind ``ask`` and ``query`` for every interface: a question in words or a
typed query as JSON in, ``Answer.to_dict()`` out — exactly what ``robomem.retrieval.ask`` /
``answer`` return in Python (the schema of :mod:`robomem.retrieval`, docs/retrieval.md). Bad
input raises the retrieval package's ``InvalidQuestionError`` / ``InvalidQueryError`` (both
``InvalidInputError``, so a ``ValueError``) naming the bad field."""
from __future__ import annotations

from typing import Any, Optional

from robomem.errors import RobomemError


class EngineUnavailableError(RobomemError):
    """The retrieval package is not importable in this installation."""


def _retrieval():
    try:
        import robomem.retrieval as r
    except ImportError as exc:  # pragma: no cover - only without the retrieval package
        raise EngineUnavailableError(f"the retrieval engine is not available ({exc})") from None
    return r


def ask(stack, text: Any, now_ns: Optional[int] = None) -> dict:
    """Answer a question in words; the answer carries the typed query it was understood as."""
    return _retrieval().ask(stack, text, now_ns).to_dict()


def query(stack, q: Any, now_ns: Optional[int] = None) -> dict:
    """Answer a typed query given as JSON (``robomem.retrieval.query_to_dict`` form)."""
    r = _retrieval()
    return r.answer(stack, r.query_from_dict(q), now_ns).to_dict()


def parse(text: Any, now_ns: Optional[int] = None) -> dict:
    """How a question is understood, without a store: the typed query as JSON."""
    r = _retrieval()
    return r.query_to_dict(r.parse(text, now_ns))


def warm_up() -> None:
    """Load what the first question would otherwise load (the MiniLM label-embedding model, a few
    seconds of CPU), so that a server answers its first ``ask`` as fast as the others."""
    _retrieval()
    from robomem.retrieval import labels
    labels.embed(["mug"])


def query_schema() -> dict:
    """JSON Schema of a typed query (``robomem.retrieval.query_json_schema``)."""
    return _retrieval().query_json_schema()
