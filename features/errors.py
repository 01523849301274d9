"""Errors that stop a whole file, with a message a user can act on."""

from __future__ import annotations

from pathlib import Path


class BadInputError(Exception):
    """A file (or mapping) that cannot be ingested at all; nothing has been written."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
