"""From declarations to answers: score, channel, base value and readable reasons."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pandas as pd

from riskscore.models.reasons import top_reasons
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
    features = scored.features
    explained = {}
    if scored.contributions is not None and scored.explained is not None:
        registry, names = model.registry, model.feature_names
        rows = scored.explained
        for row, declaration, contributions in zip(
            rows, _records(declarations, rows), scored.contributions, strict=True
        ):
            values = {name: column[row] for name, column in features.items()}
            reasons = top_reasons(contributions, registry, names, declaration, values, top_k)
            explained[int(row)] = [r.to_dict() for r in reasons]
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


def _records(
    declarations: Mapping[str, Sequence] | pd.DataFrame, rows: Sequence[int]
) -> list[dict[str, object]]:
    """The declarations at `rows` as field -> value, None for a missing value (never pd.NA,
    whose truth value is an error: the sentences test fields with `if value`)."""
    if isinstance(declarations, pd.DataFrame):
        part = declarations.iloc[rows].astype(object)
        return part.where(part.notna(), None).to_dict("records")
    return [{name: values[row] for name, values in declarations.items()} for row in rows]


def batch_answers(
    model: RiskModel, frame: pd.DataFrame, explain: str, top_k: int
) -> Iterator[list[dict]]:
    """Answers for a large frame, chunk by chunk, so the response can stream."""
    for start in range(0, len(frame), BATCH_CHUNK):
        chunk = frame.iloc[start : start + BATCH_CHUNK].reset_index(drop=True)
        yield answers(model, chunk, explain, top_k)
