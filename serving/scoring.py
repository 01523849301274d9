"""From declarations to answers: score, channel, base value and readable reasons."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from riskscore.models.alerts import Alert, Matcher, alert_reason, apply_alerts
from riskscore.models.reasons import explained_reasons
from riskscore.models.risk_model import RiskModel, Scored

BATCH_CHUNK = 20_000


def columns_of(declarations: Sequence[Mapping[str, object]]) -> dict[str, list]:
    """Field -> values, from a list of declarations (missing fields become None)."""
    names: dict[str, None] = {}
    for declaration in declarations:
        names.update(dict.fromkeys(declaration))
    return {name: [d.get(name) for d in declarations] for name in names}


def answers(
    model: RiskModel,
    declarations: Mapping[str, Sequence] | pd.DataFrame,
    explain: str,
    top_k: int,
    matcher: Matcher | None = None,
    observe: Callable[[RiskModel, Scored], None] | None = None,
) -> list[dict]:
    """One answer per declaration; reasons for the rows `explain` selects (all/flagged/none).
    `observe` sees each scored batch (the drift monitor).

    A declaration an analyst alert (`matcher`) matches gets at least the alert's channel, the
    ids of the alerts, an `alert` reason for each ahead of the model's, and `model_channel`:
    the model's score is the model's alone, so both stay visible.
    """
    scored = model.score(declarations, explain=explain if top_k > 0 else "none")
    if observe is not None:
        observe(model, scored)
    matches = matcher.match(declarations) if matcher is not None and len(matcher) else None
    ids = [str(v) for v in declarations["id"]]
    explained = {
        row: [r.to_dict() for r in reasons]
        for row, reasons in explained_reasons(model, declarations, scored, top_k).items()
    }
    base = round(model.base_value, 6)
    out = []
    for i, identifier in enumerate(ids):
        answer = {
            "id": identifier,
            "score": round(float(scored.score[i]), 6),
            "raw_score": round(float(scored.raw[i]), 6),
            "base_value": base,
            "channel": str(scored.channel[i]),
        }
        if i in explained:
            answer["reasons"] = explained[i]
        if matches is not None and matches[i]:
            _alerted(answer, matches[i])
        out.append(answer)
    return out


def _alerted(answer: dict, alerts: Sequence[Alert]) -> None:
    """The answer of a declaration alerts matched: channel raised, alerts named and explained."""
    answer["model_channel"] = channel = answer["channel"]
    answer["channel"] = apply_alerts(np.array([channel], dtype=object), [alerts])[0]
    answer["alerts"] = [a.id for a in alerts]
    answer["reasons"] = [alert_reason(a) for a in alerts] + answer.get("reasons", [])


def batch_answers(
    model: RiskModel,
    frame: pd.DataFrame,
    explain: str,
    top_k: int,
    matcher: Matcher | None = None,
    observe: Callable[[RiskModel, Scored], None] | None = None,
) -> Iterator[tuple[pd.DataFrame, list[dict]]]:
    """Answers for a large frame, chunk by chunk (with the chunk), so the response can stream."""
    for start in range(0, len(frame), BATCH_CHUNK):
        chunk = frame.iloc[start : start + BATCH_CHUNK].reset_index(drop=True)
        yield chunk, answers(model, chunk, explain, top_k, matcher, observe)
