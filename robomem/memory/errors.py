"""Errors raised by the memory store.

Bad input is an :class:`~robomem.errors.InvalidInputError` (a ``ValueError``) and leaves the store
unchanged; problems with the store file itself are :class:`StoreError` subclasses."""
from __future__ import annotations

from robomem.errors import InvalidInputError, RobomemError


class InvalidObservationError(InvalidInputError):
    """An observation/event/pose record is malformed (non-finite position, bad type, bad stamp)."""


class UnknownObjectError(InvalidInputError):
    """A record refers to an object id that the store has never seen."""


class OutOfOrderError(InvalidInputError):
    """A timestamp is further in the past than the store's reorder tolerance allows."""


class SessionError(InvalidInputError):
    """A session call does not fit the store's session state (e.g. ending a session that never began)."""


class InvalidQueryError(InvalidInputError):
    """A query argument has the wrong type or range (the message names the argument)."""


class StoreError(RobomemError):
    """The store file cannot be used as asked."""


class NotARobomemStoreError(StoreError):
    """The file exists but is not a robomem store (another SQLite database or not SQLite at all).
    It is never modified."""


class CorruptStoreError(StoreError):
    """The file looks like a robomem store but SQLite reports it as damaged."""


class StoreVersionError(StoreError):
    """The store was written by a newer robomem (schema version above what this code knows)."""


class StoreFullError(StoreError, OSError):
    """The disk (or the configured size cap) is full. The failed write was rolled back; everything
    committed before it is intact."""


class ReadOnlyStoreError(StoreError):
    """A write was attempted on a store opened read-only."""
