"""Errors that stop a whole file, with a message a user can act on."""

from __future__ import annotations

from pathlib import Path

from riskscore.files import StorageError


class BadInputError(Exception):
    """A file (or mapping) that cannot be ingested at all; nothing has been written."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DamagedStoreError(BadInputError):
    """A store holding what ingestion never writes (an id stored twice, e.g. by two writers
    at once before the store had a lock); the message says how to repair it."""


class StoreWriteError(StorageError, BadInputError):
    """The store could not be written (a full disk, permissions); one line naming the file.

    Ingestion rolls back what it had written first, so, like a BadInputError, nothing has
    changed: callers that show a BadInputError as one line show this one too, and callers
    that handle storage failures (OSError, StorageError) catch it as well.
    """

    def __init__(self, error: StorageError) -> None:
        StorageError.__init__(self, error.errno, error.strerror)
        self.filename = error.filename
        self.path = str(error.filename or "")
        self.problem = str(error.strerror)
