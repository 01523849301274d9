"""What the routes share: the services of one app, and the dependencies that hand them out.

`create_app` builds one `Services` and keeps it on `app.state`; routes reach it, and the key,
model and member checks built on it, through the `Annotated[..., Depends(...)]` aliases below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from riskscore.database import locate
from riskscore.features.outcomes import OutcomeStore
from riskscore.models.alert_book import AlertBook
from riskscore.models.selection_log import SelectionLog
from riskscore.serving.alert_watch import AlertWatch
from riskscore.serving.audit import AuditLog, SharedAuditLog, audit_log
from riskscore.serving.bulk_proxy import BulkProxy
from riskscore.serving.drift_monitor import DriftMonitor
from riskscore.serving.keys import ApiKey, KeyStore, SharedKeyStore, key_store
from riskscore.serving.lanes import BulkLane
from riskscore.serving.lifecycle import Drain
from riskscore.serving.metrics import Metrics
from riskscore.serving.model_holder import Loaded, ModelHolder
from riskscore.serving.selection_writer import SelectionWriter
from riskscore.settings import Settings


@dataclass(frozen=True)
class Services:
    """Everything the routes use, built once per app."""

    settings: Settings
    holder: ModelHolder
    keys: KeyStore | SharedKeyStore
    audit: AuditLog | SharedAuditLog
    outcomes: OutcomeStore
    metrics: Metrics
    alerts: AlertWatch
    selections: SelectionWriter
    drift: DriftMonitor
    lanes: BulkLane  # the bulk lane and its admission (serving.lanes)
    bulk: BulkProxy | None  # the bulk pool, when there is one and this is not it
    drain: Drain  # draining at SIGTERM (serving.lifecycle)
    reports: dict[str, str] = field(default_factory=dict)  # model version -> its logged report

    @classmethod
    def build(cls, settings: Settings, holder: ModelHolder | None = None) -> Services:
        """The services for `settings`; `holder` replaces the model holder (tests).

        The state is in the state dir's files, or in the shared database of the replicas
        (RISKSCORE_DATABASE_URL); the model cache, drift window and metrics stay per server."""
        metrics, drift = Metrics(), DriftMonitor(settings.drift_window)
        metrics.registry.register(drift)  # PSI computed when /metrics is scraped
        where = locate(settings)
        return cls(
            settings=settings,
            holder=holder or ModelHolder(settings),
            keys=key_store(settings),
            audit=audit_log(settings),
            outcomes=OutcomeStore(where.outcomes),
            metrics=metrics,
            alerts=AlertWatch(AlertBook(where.alerts), settings.reload_seconds),
            selections=SelectionWriter(SelectionLog(where.selections)),
            drift=drift,
            lanes=BulkLane(settings.bulk_threads, settings.bulk_queue, settings.bulk_per_key),
            bulk=BulkProxy(settings.bulk_socket) if settings.bulk_socket else None,
            drain=Drain(settings.drain_seconds),
        )

    def close(self) -> None:
        """Let bulk answers in flight finish (they are audited), store the queued selection
        records; close the audit log, the outcome store, the alert book, the selection log and
        the key store (at shutdown)."""
        self.lanes.close()
        self.selections.close()
        self.audit.close()
        self.outcomes.close()
        self.alerts.book.close()
        self.keys.close()


async def get_services(request: Request) -> Services:
    """The services of the app answering this request."""
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(services: ServicesDep) -> Settings:
    """The settings the app was built with."""
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def require_key(request: Request, services: ServicesDep) -> ApiKey:
    """The active key sent as `X-API-Key` or `Authorization: Bearer`, else 401."""
    presented = request.headers.get("x-api-key")
    if presented is None:
        bearer = request.headers.get("authorization", "")
        presented = bearer[7:] if bearer.lower().startswith("bearer ") else None
    # From memory on the event loop (the hot path: a thread hop waits for the interpreter lock
    # twice when a bulk thread holds it); when the file or table must be read, in the pool.
    keys = services.keys
    if keys.in_memory():
        key = keys.authenticate(presented, from_memory=True)
    else:
        key = await run_in_threadpool(keys.authenticate, presented)
    if key is None:
        raise HTTPException(
            401, "missing or invalid API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return key


Key = Annotated[ApiKey, Depends(require_key)]


def model_or_503(services: Services) -> Loaded:
    """The model being served, else 503 naming why (registry down, cache refused, no version
    with the alias). Held by the request, so a hot swap cannot change it."""
    loaded = services.holder.current
    if loaded is None:
        raise HTTPException(503, f"no model to serve: {services.holder.unavailable_reason()}")
    return loaded


async def served_model(services: ServicesDep) -> Loaded:
    """`model_or_503` as a dependency."""
    return model_or_503(services)


ServedModel = Annotated[Loaded, Depends(served_model)]


@dataclass(frozen=True)
class MemberScope:
    """The members a request's key may act for; `check` answers 403 for any other."""

    key: ApiKey

    def check(self, members: Iterable[str | None]) -> None:
        outside = sorted(m for m in members if m is not None and not self.key.may_act_for(m))
        if outside:
            raise HTTPException(
                403, f"this key is for member {self.key.member}, not {', '.join(outside)}"
            )


async def member_scope(key: Key) -> MemberScope:
    """The member check of the request's key (authenticated once, shared with `Key`)."""
    return MemberScope(key)


InScope = Annotated[MemberScope, Depends(member_scope)]
