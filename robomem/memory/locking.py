"""The one-writer lock of a store file and the mapping of SQLite errors to robomem's."""
from __future__ import annotations

import fcntl
import os
import sqlite3
from typing import Optional

from robomem.memory.errors import CorruptStoreError, StoreError, StoreFullError


class WriterLock:
    """An exclusive ``flock`` on the store's database file itself, held while the writer is open
    (the kernel drops it when the process dies). Locking the database file's inode, not a side
    file, means deleting or replacing a lock file cannot let a second writer in.

    ``flock`` locks are independent of the POSIX (``fcntl``) locks SQLite takes on the same file on
    Linux, so readers are not affected. Closing a descriptor of a file drops the POSIX locks this
    process holds on it, so this class keeps one descriptor per file per process and never opens a
    second one while a writer of that file is open here (a second writer in the same process is
    refused from the registry, without touching the file)."""

    _held: dict = {}  # (st_dev, st_ino) -> path, writers open in this process

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: Optional[int] = None
        try:
            st = os.stat(path)
        except OSError as exc:
            raise StoreError(f"{path}: cannot stat the store file ({exc})") from None
        self._key = (st.st_dev, st.st_ino)
        if self._key in WriterLock._held:
            raise StoreError(_BUSY.format(path=path))
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the store file to lock it ({exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreError(_BUSY.format(path=path)) from None
        self._fd = fd
        WriterLock._held[self._key] = path

    def close(self) -> None:
        """Release the lock (idempotent). Call after the SQLite connection is closed."""
        if self._fd is None:
            return
        WriterLock._held.pop(self._key, None)
        fd, self._fd = self._fd, None
        os.close(fd)  # drops the flock


_BUSY = ("{path} is already open for writing by another LongTermMemory/MemoryStack "
         "(one writer per store; open it with readonly=True to query)")


def acquire_writer_lock(path: str, conn: sqlite3.Connection) -> WriterLock:
    """Take the writer lock of the store at ``path``; on failure close ``conn`` and raise
    :class:`StoreError`."""
    try:
        return WriterLock(path)
    except StoreError:
        conn.close()
        raise


def map_error(path: str, exc: sqlite3.Error) -> Exception:
    msg = str(exc)
    if "full" in msg:
        return StoreFullError(f"{path}: {msg}; the write was rolled back, earlier data is intact")
    if "malformed" in msg or "not a database" in msg:
        return CorruptStoreError(f"{path}: {msg}")
    if "locked" in msg or "busy" in msg:
        return StoreError(f"{path}: {msg} (another writer holds the store)")
    return StoreError(f"{path}: {msg}")

