"""Errors raised by retrieval. All are ``ValueError`` subclasses (bad input), except none: a
question robomem cannot answer is not an error, it is an ``Answer`` of kind ``"unsupported"``."""
from __future__ import annotations

from robomem.errors import InvalidInputError


class InvalidQueryError(InvalidInputError):
    """A typed query (or its JSON form) is malformed: unknown type or field, wrong field type,
    absurd or reversed time, over-long text. The message names the bad field."""


class InvalidQuestionError(InvalidInputError):
    """A natural-language question cannot be read at all (not text, not UTF-8, empty, too long)."""
