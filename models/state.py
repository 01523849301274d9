"""Feature states published beside a registered model version (`riskscore refresh`).

A version's booster, encoders and calibration never change once registered; its feature state
(trader records, hit rates, seizure rates, reference prices) is recomputed from the store by
`riskscore refresh` and published as an artifact of the version's run:

    <run>/feature_state/state-<stamp>.pkl     the pickled FeatureState
    version tag riskscore.state               JSON: stamp, as_of, created_at, sha256, path

Setting the tag is the publication, in one registry call: a reader sees the old state or the
new one, never half of one, and a refresh that fails before it leaves the served state as it
was. Loaders (the server, `riskscore score`) read the tag, fetch the artifact, check its
checksum before unpickling, and score with it (`with_state`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from riskscore.features.pipeline import FeaturePipeline, FeatureState
from riskscore.models.risk_model import RiskModel

log = logging.getLogger(__name__)

STATE_TAG = "riskscore.state"
STATE_DIR = "feature_state"
KEEP_STATES = 3  # published states kept per run: the served one and two to fall back on
TRAINED = "trained"  # the state version of a model as training left it


class StateError(Exception):
    """A published state that cannot be used; the message names it and why. `retry`: it could
    not be fetched (the artifact store may be back later), as opposed to a state that is bad."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class StateRef:
    """Which feature state a model scores with."""

    version: str  # the refresh's UTC stamp, or "trained"
    as_of: str | None  # first day the state does not hold: records dated before it
    created_at: str | None  # when it was computed (ISO, UTC)
    sha256: str | None = None
    path: str | None = None  # artifact path in the version's run
    seconds: float | None = None  # how long the refresh took
    base: str | None = None  # artifact of what the state was computed from (the next refresh's)
    base_sha256: str | None = None
    mode: str | None = None  # "full" or "incremental"

    def to_dict(self) -> dict:
        return asdict(self)

    def age_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the state was computed (None when unknown)."""
        if not self.created_at:
            return None
        created = datetime.fromisoformat(self.created_at)
        return ((now or datetime.now(UTC)) - created).total_seconds()


def published(tags: dict[str, str] | None) -> StateRef | None:
    """The state a version's tags publish, or None (none published, or a tag not ours)."""
    text = (tags or {}).get(STATE_TAG)
    if not text:
        return None
    try:
        found = json.loads(text)
        return StateRef(**{k: found.get(k) for k in StateRef.__dataclass_fields__})
    except (ValueError, TypeError, AttributeError):
        log.warning("ignored the %s tag: not a state reference: %.200s", STATE_TAG, text)
        return None


def state_of(model: RiskModel) -> StateRef:
    """The state `model` scores with: a published one, or the one training left."""
    found = model.info.get("state")
    if isinstance(found, dict) and found.get("version"):
        return StateRef(**{k: found.get(k) for k in StateRef.__dataclass_fields__})
    return StateRef(TRAINED, model.info.get("state_as_of"), model.info.get("trained_at"))


def with_state(model: RiskModel, state: FeatureState, ref: StateRef) -> RiskModel:
    """`model` scoring with `state`: the same booster, encoders, calibration and explainer."""
    # A shallow copy through __dict__: copy.copy would go through __getstate__, which drops
    # the explainer's tables, and a state refresh must not rebuild them.
    refreshed = object.__new__(RiskModel)
    refreshed.__dict__.update(model.__dict__)
    refreshed.pipeline = FeaturePipeline(model.pipeline.config, state)
    refreshed.info = model.info | {"state": ref.to_dict(), "state_as_of": ref.as_of}
    return refreshed


def publish(
    name: str,
    version: str,
    run_id: str,
    state: FeatureState,
    as_of: str,
    seconds: float,
    base: object = None,
    mode: str = "full",
) -> StateRef:
    """Log `state` (and `base`, what the next refresh folds new records into) in the version's
    run, then point the version's tag at them (the publication); older published states of the
    run beyond KEEP_STATES are deleted."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    files = {f"state-{stamp}.pkl": payload}
    base_sha = None
    if base is not None:
        files[f"base-{stamp}.pkl"] = base_payload = pickle.dumps(base, pickle.HIGHEST_PROTOCOL)
        base_sha = hashlib.sha256(base_payload).hexdigest()
    ref = StateRef(
        version=stamp,
        as_of=as_of,
        created_at=now.isoformat(timespec="seconds"),
        sha256=hashlib.sha256(payload).hexdigest(),
        path=f"{STATE_DIR}/state-{stamp}.pkl",
        seconds=round(seconds, 3),
        base=f"{STATE_DIR}/base-{stamp}.pkl" if base is not None else None,
        base_sha256=base_sha,
        mode=mode,
    )
    client = MlflowClient()
    with tempfile.TemporaryDirectory() as tmp:
        for file_name, content in files.items():
            (Path(tmp) / file_name).write_bytes(content)
            client.log_artifact(run_id, str(Path(tmp) / file_name), STATE_DIR)
    client.set_model_version_tag(name, version, STATE_TAG, json.dumps(ref.to_dict()))
    client.set_model_version_tag(name, version, "state_as_of", as_of)  # for `models list`
    _prune(client, run_id, ref)
    return ref


def fetch(run_id: str, ref: StateRef) -> FeatureState:
    """The state `ref` names, from the version's run, its checksum verified before unpickling.

    Raises StateError when it cannot be fetched, fails its checksum or is not a state.
    """
    state = _unpickled(run_id, ref, ref.path, ref.sha256)
    if not isinstance(state, FeatureState):
        raise StateError(f"state {ref.version} ({ref.path}) does not hold a feature state")
    return state


def fetch_base(run_id: str, ref: StateRef) -> object:
    """What the state `ref` names was computed from (see training.refresh), checksum verified."""
    return _unpickled(run_id, ref, ref.base, ref.base_sha256)


def _unpickled(run_id: str, ref: StateRef, path: str | None, sha256: str | None) -> object:
    if not path or not sha256:
        raise StateError(f"state {ref.version}: the tag names no artifact or checksum")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=path, dst_path=tmp
            )
            payload = Path(local).read_bytes()
    except (MlflowException, OSError) as exc:
        raise StateError(
            f"state {ref.version} ({path}) cannot be fetched: {exc}", retry=True
        ) from None
    got = hashlib.sha256(payload).hexdigest()
    if got != sha256:
        raise StateError(
            f"state {ref.version} ({path}) failed its checksum (expected {sha256}, got {got})"
        )
    return pickle.loads(payload)


def load_published(model: RiskModel, run_id: str | None, tags: dict | None) -> RiskModel:
    """`model` with the state its version's tags publish (as it is when none is published)."""
    ref = published(tags)
    if ref is None or not run_id:
        return model
    return with_state(model, fetch(run_id, ref), ref)


def _prune(client: MlflowClient, run_id: str, keep: StateRef) -> None:
    """Delete the run's published states beyond the newest KEEP_STATES (best effort: a store
    that cannot delete keeps them, which costs only space)."""
    try:
        paths = [f.path for f in client.list_artifacts(run_id, STATE_DIR) if not f.is_dir]
        stamp = lambda path: Path(path).stem.split("-", 1)[-1]  # noqa: E731 - state-<stamp>
        kept = sorted({stamp(p) for p in paths}, reverse=True)[:KEEP_STATES] + [keep.version]
        stale = [p for p in paths if stamp(p) not in kept]
        if not stale:
            return
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repo = get_artifact_repository(client.get_run(run_id).info.artifact_uri)
        for path in stale:
            repo.delete_artifacts(path)
    except Exception as exc:  # noqa: BLE001 - pruning is housekeeping, never a failed refresh
        log.warning("could not prune old feature states of run %s: %s", run_id, exc)
