"""The served model: what it is, what drives it, and its analyst report."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from riskscore.models.state import state_of
from riskscore.reports.build import logged_report
from riskscore.serving.deps import Key, ServedModel, ServicesDep
from riskscore.serving.routes.responses import KEY_ERRORS, MODEL_ERRORS, model_ref
from riskscore.serving.schemas import (
    CriterionImportance,
    ExplainerOut,
    FeatureOut,
    ImportanceResponse,
    ModelResponse,
    Thresholds,
)

# Not for API users: the salt would let a trader predict the random draw; the example and the
# drift bins are bulky internals (the bins are on /metrics as PSI).
_PRIVATE_INFO = ("random_salt", "example", "drift_reference")
router = APIRouter(tags=["model"])


@router.get(
    "/v1/model",
    response_model=ModelResponse,
    summary="The model being served",
    responses={**KEY_ERRORS, **MODEL_ERRORS},
)
def model_info(key: Key, loaded: ServedModel, services: ServicesDep) -> ModelResponse:
    model = loaded.model
    status = services.holder.status
    channels = model.channels
    used = state_of(model)
    return ModelResponse(
        **model_ref(loaded),
        source=loaded.source,
        loaded_at=loaded.loaded_at,
        registry_reachable=status.registry_reachable,
        last_error=status.last_error,
        cache_error=status.cache_error,
        info={k: v for k, v in model.info.items() if k not in _PRIVATE_INFO},
        state_created_at=used.created_at,
        state_age_seconds=used.age_seconds(),
        thresholds=Thresholds(
            red_share=channels.red_share,
            yellow_share=channels.yellow_share,
            random_share=channels.random_share,
            red_above_raw_score=channels.red_above,
            yellow_above_raw_score=channels.yellow_above,
        ),
        explainer=ExplainerOut(**model.explainer.info.to_dict()),
        features=[FeatureOut(**f.describe()) for f in model.registry],
    )


@router.get(
    "/v1/model/importance",
    response_model=ImportanceResponse,
    summary="Global SHAP importance by feature and criterion",
    responses={**KEY_ERRORS, **MODEL_ERRORS},
)
def importance(key: Key, loaded: ServedModel) -> ImportanceResponse:
    table = loaded.model.info.get("importance") or []
    by_criterion: dict[str, float] = {}
    for row in table:
        criterion = row["criterion"]
        by_criterion[criterion] = by_criterion.get(criterion, 0.0) + float(row["mean_abs_shap"])
    ranked = sorted(by_criterion.items(), key=lambda kv: -kv[1])
    return ImportanceResponse(
        by_feature=table,
        by_criterion=[CriterionImportance(criterion=c, mean_abs_shap=v) for c, v in ranked],
    )


@router.get(
    "/v1/model/report",
    response_class=HTMLResponse,
    responses={404: {"description": "no report logged for this version"}},
    summary="The analyst report of the served model (HTML, self-contained)",
)
def model_report(key: Key, loaded: ServedModel, services: ServicesDep) -> HTMLResponse:
    html = services.reports.get(loaded.version)
    if html is None:
        html = logged_report(loaded.name, loaded.version)
        if html is None:
            raise HTTPException(
                404,
                f"no report logged for {loaded.name} v{loaded.version}: run riskscore "
                f"report --model models:/{loaded.name}/{loaded.version} --store DIR",
            )
        services.reports[loaded.version] = html
    return HTMLResponse(html)
