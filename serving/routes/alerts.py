"""Analysts' alerts over HTTP: add, list and expire (keys with the analyst scope only)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from riskscore.models.alerts import Alert, AlertError
from riskscore.serving.deps import Key, ServicesDep
from riskscore.serving.keys import ApiKey
from riskscore.serving.routes.responses import KEY_ERRORS
from riskscore.serving.schemas import AlertIn, AlertOut, ExpireIn

router = APIRouter(tags=["alerts"])
_ERRORS = {**KEY_ERRORS, 403: {"description": "The key has no analyst scope"}}


def _analyst(key: ApiKey) -> None:
    if not key.analyst:
        raise HTTPException(
            403, f"key {key.key_id} may not manage alerts (create one with keys create --analyst)"
        )


def _out(alert: Alert) -> AlertOut:
    return AlertOut(**alert.to_dict(), active=alert.active())


def _who(body_author: str, key: ApiKey) -> str:
    """The analyst as the alert's history records them: the name given, and the key used."""
    return f"{body_author.strip()} (key {key.key_id}, {key.member})"


@router.post(
    "/v1/alerts",
    status_code=201,
    response_model=AlertOut,
    responses={**_ERRORS, 422: {"description": "A criterion, value, channel or date refused"}},
    summary="Add an alert: declarations it matches get at least its channel and its reason",
)
def add_alert(body: AlertIn, key: Key, services: ServicesDep) -> AlertOut:
    _analyst(key)
    try:
        alert = services.alerts.book.add(
            body.criteria,
            body.channel,
            body.message,
            author=_who(body.author, key),
            valid_from=body.valid_from,
            valid_until=body.valid_until,
        )
    except AlertError as exc:
        raise HTTPException(422, str(exc)) from None
    services.alerts.reload_now()
    return _out(alert)


@router.get(
    "/v1/alerts",
    response_model=list[AlertOut],
    responses=_ERRORS,
    summary="The alerts (expired ones too with all=true)",
)
def list_alerts(key: Key, services: ServicesDep, all: bool = False) -> list[AlertOut]:  # noqa: A002
    _analyst(key)
    alerts = services.alerts.book.list(active_only=not all)
    return [_out(a) for a in alerts]


@router.post(
    "/v1/alerts/{alert_id}/expire",
    response_model=AlertOut,
    responses={**_ERRORS, 404: {"description": "No such alert"}},
    summary="Withdraw an alert (its history and selections stay)",
)
def expire_alert(alert_id: str, body: ExpireIn, key: Key, services: ServicesDep) -> AlertOut:
    _analyst(key)
    try:
        alert = services.alerts.book.expire(alert_id, _who(body.author, key))
    except AlertError as exc:
        raise HTTPException(404, str(exc)) from None
    services.alerts.reload_now()
    return _out(alert)
