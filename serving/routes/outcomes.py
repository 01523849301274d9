"""Outcomes: inspection results fed back for retraining, kept per reporting member."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from riskscore.features.outcomes import Outcome, OutcomeConflict
from riskscore.files import StorageError
from riskscore.serving.deps import InScope, ServicesDep
from riskscore.serving.routes.responses import BODY_ERRORS, KEY_ERRORS
from riskscore.serving.schemas import OutcomesRequest, OutcomesResponse

router = APIRouter(tags=["outcomes"])


@router.post(
    "/v1/outcomes",
    response_model=OutcomesResponse,
    summary="Feed inspection results back for retraining",
    responses={
        **BODY_ERRORS,
        **KEY_ERRORS,
        409: {"description": "This member already stored a different outcome; nothing stored"},
        503: {"description": "The outcome store cannot be written (the cause is named)"},
    },
)
def post_outcomes(
    body: OutcomesRequest, in_scope: InScope, services: ServicesDep
) -> OutcomesResponse:
    # Sync: the store writes SQLite synchronously, so this runs in the thread pool. An outcome
    # is stored under its reporting_country, the member the key acts for (any, for a "*" key).
    in_scope.check({o.reporting_country for o in body.outcomes})
    outcomes = [
        Outcome(
            o.declaration_id,
            o.reporting_country,
            o.illicit,
            o.revenue_recovered,
            o.inspection_date.isoformat(),
        )
        for o in body.outcomes
    ]
    try:
        counts = services.outcomes.add(outcomes)
    except OutcomeConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except StorageError as exc:  # a full disk: the cause, and that nothing was stored
        raise HTTPException(503, str(exc)) from None
    return OutcomesResponse(**counts, received=len(body.outcomes))
