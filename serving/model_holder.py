"""The model serving answers with: loaded by registry alias, cached locally, swapped atomically.

- At start: load `models:/<name>@<alias>`. Only when the registry cannot be reached, load the
  last model that loaded (the local cache) and say so. The cache carries the SHA-256 of its
  pickle and is verified before anything in it is unpickled; a cache that fails is refused.
- In the background: when the alias moves, load the new version, check it scores its own example,
  then swap. A request holds the `Loaded` it started with, so requests in flight finish on the
  old model; an artifact that fails to load or to score is refused and the current model kept.
- When the registry answers that no version has the alias, the champion was withdrawn: stop
  serving it and delete its cache, so that it cannot come back from there after a restart.
- Every message kept in the status or logged has the user info of its URLs redacted.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import pickle
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from riskscore.files import PRIVATE, atomic_write
from riskscore.models import registry, state
from riskscore.models.risk_model import RiskModel
from riskscore.redact import redact
from riskscore.settings import Settings

log = logging.getLogger("riskscore.serving")

CACHE_MAGIC = b"riskscore-model-cache 1\n"  # then one JSON header line, then the pickle
_LABELS = ("name", "version", "alias")
_REWRITTEN = "it is rewritten on the next successful registry load"
# A version whose artifact could not be fetched (the artifact store was down) is tried again
# after this long; one that loaded but failed to score its own example stays refused.
RETRY_UNLOADABLE_SECONDS = 600.0


@dataclass(frozen=True)
class Loaded:
    """A model ready to answer, with where it came from."""

    model: RiskModel
    name: str
    version: str
    alias: str
    source: str  # "registry" or "cache"
    loaded_at: str

    @cached_property  # read on every answer: computed once per swap
    def ref(self) -> dict[str, str | None]:
        """Which model and feature state answer: name, version, alias, state version and date."""
        used = state.state_of(self.model)
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "state_version": used.version,
            "state_as_of": used.as_of,
        }


@dataclass
class Status:
    registry_reachable: bool = False
    last_check: str | None = None
    last_error: str | None = None
    cache_error: str | None = None  # why the local cache was refused (or could not be written)
    refused_versions: dict[str, str] = field(default_factory=dict)
    retry_after: dict[str, float] = field(default_factory=dict)  # monotonic time, by version
    refused: dict[str, str] = field(default_factory=dict)  # feature state version -> why


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clip(text: str) -> str:
    """A message fit to keep, return and log: credentials redacted, at most 500 characters."""
    return (redact(text) or "")[:500]


def settle_heap() -> None:
    """Collect once, then put every surviving object out of the cyclic collector's reach
    (gc.freeze). A served process holds ~0.5M long-lived objects (the model, MLflow, pandas):
    each full collection traversed them all and stopped every thread for ~280 ms, every few
    bulk requests. Unfreezing first lets the collection free the replaced model's cycles."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class CacheError(Exception):
    """The local model cache cannot be trusted; the message names the file and why."""


class ModelCache:
    """The last model that loaded, one file per model name.

    The file is a header line (JSON: name, version, alias, SHA-256 of the pickle) and the
    pickle of (labels, model), replaced in one atomic write: a crash mid-save never pairs one
    version's model with another's label. The JSON beside it is for people.
    """

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / f"{name}.pkl"
        self.meta_path = folder / f"{name}.json"

    def save(self, loaded: Loaded) -> None:
        labels = {k: getattr(loaded, k) for k in _LABELS}
        payload = pickle.dumps((labels, loaded.model), pickle.HIGHEST_PROTOCOL)
        header = labels | {"sha256": hashlib.sha256(payload).hexdigest(), "cached_at": _now()}
        line = json.dumps(header).encode()
        atomic_write(self.path, CACHE_MAGIC + line + b"\n" + payload, mode=PRIVATE)
        atomic_write(self.meta_path, json.dumps(header, indent=1) + "\n", mode=PRIVATE)

    def header(self) -> dict | None:
        """The header of the cache file without reading the pickle (None: no readable header)."""
        try:
            with self.path.open("rb") as fh:
                if fh.read(len(CACHE_MAGIC)) != CACHE_MAGIC:
                    return None
                found = json.loads(fh.readline(1 << 16))
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def load(self, name: str, alias: str) -> tuple[str, RiskModel] | None:
        """(version, model) of the cache of `name`@`alias`; None when there is no cache.

        Raises CacheError for a cache that fails its checksum, has none, or holds another
        model or alias. Nothing is unpickled before the checksum matched.
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CacheError(f"model cache {self.path} cannot be read: {exc.strerror}") from None
        header, payload = self._split(data)
        got = hashlib.sha256(payload).hexdigest()
        if got != header.get("sha256"):
            raise CacheError(
                f"model cache {self.path} failed its checksum "
                f"(expected {header.get('sha256')}, got {got}); {_REWRITTEN}"
            )
        if (header.get("name"), header.get("alias")) != (name, alias):
            raise CacheError(
                f"model cache {self.path} holds {header.get('name')} alias {header.get('alias')}, "
                f"not {name} alias {alias}; {_REWRITTEN}"
            )
        try:
            labels, model = pickle.loads(payload)
        except Exception as exc:  # noqa: BLE001 - verified bytes an older release cannot read
            raise CacheError(f"model cache {self.path} cannot be unpickled: {exc!r}") from None
        if not isinstance(model, RiskModel) or labels != {k: header.get(k) for k in _LABELS}:
            raise CacheError(f"model cache {self.path} does not hold the model its header names")
        return str(labels["version"]), model

    def _split(self, data: bytes) -> tuple[dict, bytes]:
        """(header, pickle bytes); CacheError for a file without a readable header."""
        if not data.startswith(CACHE_MAGIC):
            what = (
                "has no checksum (an older release wrote it)"
                if data.startswith(b"\x80")  # a bare pickle: the format before checksums
                else "is not a riskscore model cache"
            )
            raise CacheError(f"model cache {self.path} {what}; refused, {_REWRITTEN}")
        line, _, payload = data[len(CACHE_MAGIC) :].partition(b"\n")
        try:
            header = json.loads(line)
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise CacheError(f"model cache {self.path} has a damaged header; {_REWRITTEN}")
        return header, payload

    def drop(self, name: str, alias: str) -> str | None:
        """Delete the cache when it holds `name`@`alias`; the version it held, else None."""
        header = self.header()
        if not header or (header.get("name"), header.get("alias")) != (name, alias):
            return None
        for path in (self.path, self.meta_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return str(header.get("version"))


class ModelHolder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.model_name
        self.alias = settings.model_alias
        self.cache_dir = settings.model_cache_dir
        self.cache = ModelCache(self.cache_dir, self.name)
        self._cache_tried = False  # the cache is asked at start only, and only without registry
        self.current: Loaded | None = None
        self.status = Status()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swap_lock = threading.Lock()

    # -- registry ------------------------------------------------------------------------------

    def _unreachable(self, exc: Exception) -> None:
        """The registry gave no answer: keep serving what we have (the cache, at start)."""
        self.status.registry_reachable = False
        message = _clip(f"registry unreachable: {type(exc).__name__}: {exc}")
        if message != self.status.last_error:  # once per new trouble, not every check
            log.warning("%s", message)
        self.status.last_error = message

    def _alias_gone(self, exc: registry.NoVersionError) -> None:
        """The registry answered that no version has the alias: the champion was withdrawn (or
        never set). Serving it on would keep a model in service that was taken out of it."""
        self.status.registry_reachable = True
        with self._swap_lock:
            stopped, self.current = self.current, None
        dropped = self.cache.drop(self.name, self.alias)
        if stopped is not None:
            message = f"alias {self.alias} removed: {exc}; stopped serving version "
            message += stopped.version
        elif dropped is not None:
            message = f"registry: {exc}; the cached version {dropped} of that alias was deleted"
        else:
            message = f"registry: {exc}"
        self.status.last_error = _clip(message)
        if stopped is not None or dropped is not None:
            log.error("%s", self.status.last_error)

    def _fetch(self, version: str) -> RiskModel:
        return registry.load_model(f"models:/{self.name}/{version}")

    def _check(self, model: RiskModel) -> None:
        """Build the model's SHAP explainer; a model that cannot score its own example is not
        served (scoring it also compiles the explainer's kernels before the first request)."""
        info = model.prepare_explainer(self.settings.shap_table_cap_mb * 2**20).info
        if info.fallback_reason:
            log.warning("%s: SHAP by pred_contrib: %s", self.name, info.fallback_reason)
        if info.note:
            log.warning("%s: SHAP tables limited: %s", self.name, info.note)
        log.info(
            "%s: SHAP by %s, %s trees, %.1f MiB of tables built in %.2f s; few rows: %s",
            self.name, info.kind, info.trees, info.table_bytes / 2**20, info.build_seconds,
            info.few_rows,
        )  # fmt: skip
        self._score_example(model)

    @staticmethod
    def _score_example(model: RiskModel) -> None:
        example = model.info.get("example")
        if example:
            model.score({k: [v] for k, v in example.items()}, explain="all")

    # -- cache ---------------------------------------------------------------------------------

    def _save_cache(self, loaded: Loaded) -> None:
        try:
            self.cache.save(loaded)
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is no reason
            self.status.cache_error = _clip(f"could not write the model cache: {exc}")
            log.warning("%s", self.status.cache_error)  # not to serve the new model
        else:
            self.status.cache_error = None

    def _serve_cache(self) -> None:
        """Serve the cached model if it is intact and scores its own example."""
        self._cache_tried = True
        try:
            found = self.cache.load(self.name, self.alias)
            if found is None:
                return
            version, model = found
            self._check(model)
        except CacheError as exc:
            self.status.cache_error = _clip(str(exc))
        except Exception as exc:  # noqa: BLE001 - a cached model that cannot score is refused
            reason = f"{type(exc).__name__}: {exc}"
            self.status.cache_error = _clip(f"model cache {self.cache.path} refused: {reason}")
        else:
            self.status.cache_error = None
            with self._swap_lock:
                self.current = Loaded(model, self.name, version, self.alias, "cache", _now())
            log.warning("serving %s version %s from the local cache", self.name, version)
            return
        log.error("local model cache unusable: %s", self.status.cache_error)

    def unavailable_reason(self) -> str:
        """Why no model serves, from what the registry and the cache said (for 503 answers)."""
        status = self.status
        if status.last_check is None:
            return "the model is still loading"
        causes = [status.last_error or "the registry named no model to serve"]
        if self._cache_tried and not status.registry_reachable:
            causes.append(status.cache_error or f"no model cache at {self.cache.path}")
        return "; ".join(causes)

    # -- lifecycle -----------------------------------------------------------------------------

    def load_initial(self) -> Loaded | None:
        """Load from the registry; from the cache only when the registry cannot be reached.

        None when neither has a model (`unavailable_reason` says why).
        """
        self.check()
        if self.current is None and not self.status.registry_reachable:
            self._serve_cache()
        if self.current is None:
            log.error("no model to serve: %s", self.unavailable_reason())
        return self.current

    def check(self) -> None:
        """One look at the registry: follow the alias, stop serving a withdrawn one, and keep
        serving what we have when the registry cannot be reached."""
        try:
            self.refresh()
        except registry.NoVersionError as exc:
            self._alias_gone(exc)
        except Exception as exc:  # noqa: BLE001 - any other failure: no answer from the registry
            self._unreachable(exc)

    def refresh(self) -> bool:
        """Load the alias's version if it is not the one served; True when a swap happened.

        Raises NoVersionError when the registry has no version with the alias, and whatever
        the client raised when the registry cannot be reached.
        """
        self.status.last_check = _now()
        target = registry.alias_target(self.name, self.alias)
        version = target.version
        self.status.registry_reachable = True
        current = self.current
        if current is not None and current.version == version and current.source == "registry":
            if self._state_refreshed(current, target):
                return True
            if self.status.last_error and not self.status.last_error.startswith("state "):
                self.status.last_error = None  # the alias is back on what we serve
            return False
        if self._still_refused(version):
            reason = self.status.refused_versions[version]
            self.status.last_error = f"version {version} refused: {reason}"
            return False
        try:
            model = self._fetch(version)
        except Exception as exc:  # noqa: BLE001 - maybe the artifact store is down: retry later
            self._refuse(version, exc, retry=True)
            return False
        try:
            self._check(model)
        except Exception as exc:  # noqa: BLE001 - a bad artifact must never replace a good model
            self._refuse(version, exc, retry=False)
            return False
        self.status.last_error = None
        model = self._with_published_state(model, target)
        self._swap(Loaded(model, self.name, version, self.alias, "registry", _now()))
        log.info(
            "serving %s version %s (%s), feature state %s",
            self.name, version, self.alias, state.state_of(model).version,
        )  # fmt: skip
        return True

    def _swap(self, loaded: Loaded) -> None:
        # Cached before it serves: pickling a model that requests are using can meet a dict
        # they are filling (e.g. the lazily computed base value) and fail.
        self._save_cache(loaded)
        with self._swap_lock:
            self.current = loaded  # one reference assignment: requests see old or new, whole
        settle_heap()

    # -- feature state ------------------------------------------------------------------------

    def _state_refreshed(self, current: Loaded, target: registry.Target) -> bool:
        """Swap in the feature state `riskscore refresh` published for the served version, if
        it is new; True when it was swapped in."""
        ref = state.published(target.tags)
        served = state.state_of(current.model)
        if ref is None or ref.version == served.version or ref.version in self.status.refused:
            return False
        model = self._with_published_state(current.model, target)
        if model is current.model:
            return False
        self._swap(Loaded(model, self.name, current.version, self.alias, "registry", _now()))
        log.info(
            "serving %s version %s with feature state %s (records before %s)",
            self.name, current.version, ref.version, ref.as_of,
        )  # fmt: skip
        return True

    def _with_published_state(self, model: RiskModel, target: registry.Target) -> RiskModel:
        """`model` with its version's published state; `model` itself when none is published
        or the published one fails (fetch, checksum, or scoring the example): a state that
        fails is refused and never tried again (one that could not be fetched is tried again on
        the next check), and the state served stays as it was."""
        ref = state.published(target.tags)
        if ref is None or ref.version in self.status.refused or not target.run_id:
            return model
        try:
            refreshed = state.with_state(model, state.fetch(target.run_id, ref), ref)
            self._score_example(refreshed)
        except Exception as exc:  # noqa: BLE001 - a bad state must never replace a good one
            if isinstance(exc, state.StateError) and exc.retry:  # tried again on the next check
                reason = _clip(f"state {ref.version} not loaded yet: {exc}")
            else:
                reason = _clip(f"state {ref.version} refused: {type(exc).__name__}: {exc}")
                self.status.refused[ref.version] = reason
            if reason != self.status.last_error:
                log.error("%s: %s", self.name, reason)
            self.status.last_error = reason
            return model
        if self.status.last_error and self.status.last_error.startswith("state "):
            self.status.last_error = None
        return refreshed

    def _still_refused(self, version: str) -> bool:
        """Whether `version` was refused and is not due for another try."""
        status = self.status
        if version not in status.refused_versions:
            return False
        due = status.retry_after.get(version)
        if due is not None and time.monotonic() >= due:
            del status.refused_versions[version], status.retry_after[version]
            return False
        return True

    def _refuse(self, version: str, exc: Exception, retry: bool) -> None:
        reason = _clip(f"{type(exc).__name__}: {exc}")
        self.status.refused_versions[version] = reason
        if retry:
            self.status.retry_after[version] = time.monotonic() + RETRY_UNLOADABLE_SECONDS
        self.status.last_error = f"version {version} refused: {reason}"
        log.error("refused %s version %s: %s", self.name, version, reason)

    def start(self) -> None:
        if self._thread is not None or self.settings.reload_seconds <= 0:
            return
        self._thread = threading.Thread(target=self._watch, name="model-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self.settings.reload_seconds):
            self.check()
