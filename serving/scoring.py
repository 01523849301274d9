"""From declarations to answers: score, channel, base value and readable reasons."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pandas as pd

from riskscore.models.reasons import explained_reasons
from riskscore.models.risk_model import RiskModel

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
) -> list[dict]:
    """One answer per declaration; reasons for the rows `explain` selects (all/flagged/none)."""
    scored = model.score(declarations, explain=explain if top_k > 0 else "none")
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
        out.append(answer)
    return out


def batch_answers(
    model: RiskModel, frame: pd.DataFrame, explain: str, top_k: int
) -> Iterator[list[dict]]:
    """Answers for a large frame, chunk by chunk, so the response can stream."""
    for start in range(0, len(frame), BATCH_CHUNK):
        chunk = frame.iloc[start : start + BATCH_CHUNK].reset_index(drop=True)
        yield answers(model, chunk, explain, top_k)
