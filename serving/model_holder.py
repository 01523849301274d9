"""The model serving answers with: loaded by registry alias, cached locally, swapped atomically.

- At start: load `models:/<name>@<alias>`; if the registry cannot be reached, load the last model
  that loaded (the local cache) and say so.
- In the background: when the alias moves, load the new version, check it scores its own example,
  then swap. A request holds the `Loaded` it started with, so requests in flight finish on the
  old model; an artifact that fails to load or to score is refused and the current model kept.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from riskscore.models import registry
from riskscore.models.risk_model import RiskModel
from riskscore.settings import Settings

log = logging.getLogger("riskscore.serving")


@dataclass(frozen=True)
class Loaded:
    """A model ready to answer, with where it came from."""

    model: RiskModel
    name: str
    version: str
    alias: str
    source: str  # "registry" or "cache"
    loaded_at: str


@dataclass
class Status:
    registry_reachable: bool = False
    last_check: str | None = None
    last_error: str | None = None
    refused_versions: dict[str, str] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ModelHolder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.model_name
        self.alias = settings.model_alias
        self.cache_dir = settings.model_cache_dir
        self.current: Loaded | None = None
        self.status = Status()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swap_lock = threading.Lock()

    # -- registry ------------------------------------------------------------------------------

    def _registry_failed(self, exc: Exception) -> None:
        """Record why the registry gave no version: unreachable, or reachable but empty."""
        self.status.registry_reachable = isinstance(exc, registry.NoVersionError)
        reason = (
            str(exc) if isinstance(exc, registry.NoVersionError) else f"{type(exc).__name__}: {exc}"
        )
        self.status.last_error = f"registry: {reason}"[:500]

    def _fetch(self, version: str) -> RiskModel:
        return registry.load_model(f"models:/{self.name}/{version}")

    @staticmethod
    def _check(model: RiskModel) -> None:
        """A model that cannot score its own example is not served."""
        example = model.info.get("example")
        if example:
            model.score({k: [v] for k, v in example.items()}, explain="all")

    # -- cache ---------------------------------------------------------------------------------

    def _cache_paths(self) -> tuple[Path, Path]:
        return self.cache_dir / f"{self.name}.pkl", self.cache_dir / f"{self.name}.json"

    def _save_cache(self, loaded: Loaded) -> None:
        """One pickle holds the model and its name and version, replaced atomically, so a
        crash mid-save never pairs one version's model with another's label. The JSON beside
        it is for people."""
        model_path, meta_path = self._cache_paths()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        meta = {"name": loaded.name, "version": loaded.version, "alias": loaded.alias}
        meta["cached_at"] = _now()
        for path, write in (
            (model_path, lambda fh: pickle.dump((meta, loaded.model), fh, pickle.HIGHEST_PROTOCOL)),
            (meta_path, lambda fh: fh.write(json.dumps(meta).encode())),
        ):
            tmp = path.with_name(path.name + ".tmp")
            with tmp.open("wb") as fh:
                write(fh)
            os.replace(tmp, path)

    def _load_cache(self) -> Loaded | None:
        model_path, _ = self._cache_paths()
        if not model_path.exists():
            return None
        with model_path.open("rb") as fh:
            meta, model = pickle.load(fh)
        if not isinstance(model, RiskModel):
            raise TypeError(f"{model_path} does not hold a riskscore model")
        self._check(model)
        return Loaded(model, meta["name"], meta["version"], meta["alias"], "cache", _now())

    # -- lifecycle -----------------------------------------------------------------------------

    def load_initial(self) -> Loaded | None:
        """Load from the registry, else from the cache; None when neither has a model."""
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - any registry failure means: use the cache
            self._registry_failed(exc)
            log.warning("no model from the registry at start (%s); trying the local cache", exc)
            try:
                cached = self._load_cache()
            except Exception as cache_exc:  # noqa: BLE001
                log.error("local model cache unusable: %s", cache_exc)
                cached = None
            if cached is not None:
                self.current = cached
        return self.current

    def refresh(self) -> bool:
        """Load the alias's version if it is not the one served; True when a swap happened."""
        self.status.last_check = _now()
        version = registry.version_for_alias(self.name, self.alias)
        self.status.registry_reachable = True
        current = self.current
        if current is not None and current.version == version and current.source == "registry":
            self.status.last_error = None  # the alias is back on what we serve: nothing is wrong
            return False
        if version in self.status.refused_versions:
            reason = self.status.refused_versions[version]
            self.status.last_error = f"version {version} refused: {reason}"
            return False
        try:
            model = self._fetch(version)
            self._check(model)
        except Exception as exc:  # noqa: BLE001 - a bad artifact must never replace a good model
            reason = f"{type(exc).__name__}: {exc}"[:500]
            self.status.refused_versions[version] = reason
            self.status.last_error = f"version {version} refused: {reason}"
            log.error("refused %s version %s: %s", self.name, version, reason)
            return False
        loaded = Loaded(model, self.name, version, self.alias, "registry", _now())
        # Cached before it serves: pickling a model that requests are using can meet a dict
        # they are filling (e.g. the lazily computed base value) and fail.
        try:
            self._save_cache(loaded)
        except Exception as exc:  # noqa: BLE001 - a cache that cannot be written is no reason
            log.warning("could not cache the model: %s", exc)  # not to serve the new model
        with self._swap_lock:
            self.current = loaded  # one reference assignment: requests see old or new, whole
        self.status.last_error = None
        log.info("serving %s version %s (%s)", self.name, version, self.alias)
        return True

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
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - keep serving what we have
                self._registry_failed(exc)
