"""Safe file writing for every state file the product keeps: atomic replacement, private
permissions, one writer at a time, and an error that names the file when the disk refuses.

- `atomic_write(path, data)`: a reader sees the old content or the new, never a 0-byte or half
  file, even after a crash or a full disk (temporary beside the target, fsync, rename, fsync dir).
- `writer_lock(path)`: an inter-process lock (filelock) held around read-check-write sequences,
  so two jobs on one store or key file serialise instead of interleaving.
- `make_private(path)`: narrow a state file an older release left 0644 to 0600.
- `StorageError`: one line naming the file and the cause ("No space left on device").
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

PRIVATE = 0o600
LOCK_TIMEOUT = 600.0  # seconds a writer waits for another before giving up with a clear error
_TMP = ".tmp"


class StorageError(OSError):
    """A state file could not be written or read; the message names the file and the cause."""

    def __str__(self) -> str:
        # OSError's own form ("[Errno 28] ...: 'file'") repeats the file and is no sentence.
        return str(self.strerror) if self.strerror else super().__str__()


def describe(exc: OSError, path: Path | str, action: str = "write") -> StorageError:
    """`exc` as one line naming the file: 'cannot write store/x.json: No space left on device'."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    error = StorageError(exc.errno, f"cannot {action} {path}: {cause}")
    error.filename = str(path)
    return error


def _temporary_name(path: Path) -> Path:
    """A unique temporary beside `path` (same file system, so the rename is atomic)."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{_TMP}")


def atomic_write(path: Path, data: bytes | str, mode: int | None = None) -> None:
    """Replace `path` with `data` atomically and durably; raises StorageError naming the file.

    `mode` sets the permissions (e.g. PRIVATE); by default the process umask applies.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path = Path(path)
    tmp = _temporary_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE if mode else 0o666)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise describe(exc, path) from exc


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def make_private(path: Path) -> None:
    """Narrow an existing file to 0600 (files created before this release were 0644)."""
    with contextlib.suppress(FileNotFoundError):
        if Path(path).stat().st_mode & 0o077:
            os.chmod(path, PRIVATE)


@contextlib.contextmanager
def writer_lock(path: Path, timeout: float = LOCK_TIMEOUT, what: str = "") -> Iterator[None]:
    """Hold an exclusive inter-process lock on `path` (a `.lock` file) for the block.

    Raises StorageError naming the lock file when another writer holds it past `timeout`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), mode=PRIVATE)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        holder = f" ({what})" if what else ""
        raise StorageError(
            None, f"another writer holds {path}{holder} after {timeout:g} s; try again later"
        ) from None
    try:
        yield
    finally:
        lock.release()


def stale_temporaries(folder: Path, patterns: tuple[str, ...] = (f"*{_TMP}",)) -> list[Path]:
    """Temporaries a killed writer left in `folder` (only call while holding its writer lock)."""
    if not folder.is_dir():
        return []
    return sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
