"""Reasons an officer can read: the top SHAP contributions, each named and put in a sentence."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskscore.features.hs_names import chapter_name, country_name
from riskscore.features.registry import NEVER_DAYS, Feature

if TYPE_CHECKING:
    from riskscore.models.risk_model import RiskModel, Scored

ROLE_NAMES = {"importer": "Importer", "exporter": "Exporter", "declarant": "Declarant"}


@dataclass(frozen=True)
class Reason:
    feature: str
    criterion: str
    value: object  # the declaration's value of the feature (None when missing)
    contribution: float  # SHAP, log-odds
    sentence: str

    def to_dict(self) -> dict:
        return {
            "feature": self.feature,
            "criterion": self.criterion,
            "value": self.value,
            "contribution": self.contribution,
            "sentence": self.sentence,
        }


Row = Mapping[str, object]  # the declaration's fields, and its feature values
Sentence = Callable[[object, Row, Row], str]


def _goods(declaration: Row) -> str:
    hs = str(declaration.get("hs_code") or "")
    description = declaration.get("goods_description")
    name = str(description).strip().capitalize() if description else ""
    name = name or (chapter_name(hs).capitalize() or "Goods")
    return f"{name} (HS {hs[:4]})" if hs else name


def _mode(declaration: Row) -> str | None:
    """The declared means of transport, None when not declared."""
    mode = declaration.get("transport_mode")
    return str(mode) if mode and mode != "unknown" else None


def _route(declaration: Row) -> str:
    origin = country_name(declaration.get("origin_country"))  # type: ignore[arg-type]
    mode = _mode(declaration)
    by = f" by {mode}" if mode else ""
    return f"shipped{by} from {origin}"


def _mode_origin(value: object, d: Row, f: Row) -> str:
    origin = country_name(d.get("origin_country"))  # type: ignore[arg-type]
    mode = _mode(d)
    which = (
        f"{mode} declarations from {origin}"
        if mode
        else (f"declarations from {origin} without a declared means of transport")
    )
    return f"{_percent(value)} of earlier {which} were irregular"


def _times(value: object) -> str:
    lift = float(value)  # type: ignore[arg-type]
    return f"{lift:.0f}x" if lift >= 10 else f"{lift:.1f}x"


def _percent(value: object) -> str:
    return f"{float(value) * 100:.0f} %"  # type: ignore[arg-type]


def _seizure(what: str) -> Sentence:
    return lambda v, d, f: (
        f"{_goods(d)} {_route(d)}: seizure rate of {what} is {_times(v)} the average"
    )


def _trader(role: str, kind: str) -> Sentence:
    def sentence(value: object, d: Row, f: Row) -> str:
        trader = d.get(f"{role}_id")
        if not trader:
            return f"No {role} declared"
        who = f"{ROLE_NAMES[role]} {trader}"
        v = float(value)  # type: ignore[arg-type]
        match kind:
            case "declarations":
                return f"{who} has {v:.0f} earlier declarations" if v else f"{who} is new"
            case "offences":
                return f"{who} has {v:.0f} offences on record"
            case "hit_rate":
                offences = f.get(f"{role}_offences") or 0
                return (
                    f"{who}: {_percent(v)} of earlier inspected declarations were irregular "
                    f"({offences:.0f} offences on record)"
                )
            case "days_known":
                return f"{who} first declared {v:.0f} days ago" if v else f"{who} is new"
            case _:
                if v >= NEVER_DAYS:
                    return f"{who} has no offence on record"
                if v < 0:  # a back-dated declaration, scored with today's records
                    return f"{who} has an offence on record {-v:.0f} days after this declaration"
                return f"{who}'s last offence was {v:.0f} days ago"

    return sentence


def _value_vs_reference(value: object, d: Row, f: Row) -> str:
    share = math.exp(float(value))  # type: ignore[arg-type]
    return (
        f"{_goods(d)} declared at {share * 100:.0f} % of the usual price per kg of this "
        "HS subheading"
    )


SENTENCES: dict[str, Sentence] = {
    "hs2": lambda v, d, f: f"HS chapter {v} ({chapter_name(str(v))})",
    "hs4": lambda v, d, f: f"HS heading {v}: {_goods(d)}",
    "hs6": lambda v, d, f: f"HS subheading {v}",
    "hs4_hit_rate": lambda v, d, f: (
        f"{_percent(v)} of earlier declarations under HS {str(d.get('hs_code'))[:4]} were irregular"
    ),
    "desc_hs_match": lambda v, d, f: (
        f"Description '{d.get('goods_description')}' is unusual for HS "
        f"{str(d.get('hs_code'))[:4]} ({_percent(v)} of its words usual there)"
    ),
    "desc_vague": lambda v, d, f: (
        f"Vague description of goods: '{d.get('goods_description') or '(none)'}'"
    ),
    "desc_words": lambda v, d, f: f"Description has {float(v):.0f} content words",  # type: ignore[arg-type]
    "origin_country": lambda v, d, f: f"Origin {country_name(v)}",  # type: ignore[arg-type]
    "origin_hit_rate": lambda v, d, f: (
        f"{_percent(v)} of earlier declarations from {country_name(d.get('origin_country'))} "  # type: ignore[arg-type]
        "were irregular"
    ),
    "departure_country": lambda v, d, f: f"Shipped from {country_name(v)}",  # type: ignore[arg-type]
    "origin_differs": lambda v, d, f: (
        f"Shipped from {country_name(d.get('departure_country'))} although the goods "  # type: ignore[arg-type]
        f"originate in {country_name(d.get('origin_country'))}"  # type: ignore[arg-type]
        if v
        else "Shipped from the country of origin"
    ),
    "n_transit": lambda v, d, f: f"{float(v):.0f} transit countries on the route",  # type: ignore[arg-type]
    "route_hit_rate": lambda v, d, f: (
        f"{_percent(v)} of earlier declarations on this route were irregular"
    ),
    "log_value": lambda v, d, f: f"Declared value {d.get('declared_value')}",
    "log_weight": lambda v, d, f: f"Weight {d.get('gross_weight_kg')} kg",
    "log_unit_value": lambda v, d, f: f"Declared value of {math.exp(float(v)):.2f} per kg",  # type: ignore[arg-type]
    "value_vs_reference": _value_vs_reference,
    "transport_mode": lambda v, d, f: (
        f"Transport by {v}" if v != "unknown" else "Means of transport not declared"
    ),
    "mode_origin_hit_rate": _mode_origin,
    "seizure_lift_hs4_origin": _seizure("this HS heading from this origin"),
    "seizure_lift_hs4_departure": _seizure("this HS heading shipped from this country"),
    "seizure_lift_route": _seizure("this route"),
    "seizure_lift_mode": _seizure("this means of transport"),
    **{
        f"{role}_{kind}": _trader(role, kind)
        for role in ROLE_NAMES
        for kind in ("declarations", "offences", "hit_rate", "days_known", "days_since_offence")
    },
}


def _plain(value: object) -> object:
    """JSON-friendly value: NaN and missing become None, numpy numbers Python numbers."""
    if value is None or value is np.nan:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def sentence(feature: Feature, value: object, declaration: Row, features: Row) -> str:
    """The plain-language sentence for one feature of one declaration."""
    if value is None:
        return f"{feature.description}: not declared"
    template = SENTENCES.get(feature.name)
    try:
        if template is not None:
            return template(value, declaration, features)
    except (TypeError, ValueError, OverflowError):
        pass  # an odd value gets the generic sentence below rather than no reason at all
    return f"{feature.description}: {value}"


def top_reasons(
    contributions: np.ndarray,
    registry: list[Feature] | Mapping[str, Feature],
    names: list[str],
    declaration: Row,
    features: Row,
    k: int = 5,
) -> list[Reason]:
    """The k largest contributions by size, each with its criterion and sentence (`registry`:
    the features, or a mapping of name -> feature built once for many rows)."""
    values = contributions[: len(names)]
    order = np.argsort(-np.abs(values), kind="stable")[:k]
    by_name = registry if isinstance(registry, Mapping) else {f.name: f for f in registry}
    reasons = []
    for j in order:
        name = names[j]
        feature = by_name[name]
        value = _plain(features.get(name))
        reasons.append(
            Reason(
                feature=name,
                criterion=feature.criterion.value,
                value=value,
                contribution=round(float(values[j]), 6),
                sentence=sentence(feature, value, declaration, features),
            )
        )
    return reasons


def explained_reasons(
    model: RiskModel,
    declarations: Mapping[str, Sequence] | pd.DataFrame,
    scored: Scored,
    k: int,
) -> dict[int, list[Reason]]:
    """Row position -> its top-k reasons, for every row `scored` explained.

    The one place reasons are put together: the API, batch files and case files give the
    same declaration the same reasons.
    """
    if scored.contributions is None or scored.explained is None or k <= 0:
        return {}
    by_name = {f.name: f for f in model.registry}
    names, rows = model.feature_names, scored.explained
    # Row dicts from column lists: one conversion per column, not one lookup per cell.
    features = _records(scored.features, rows)
    out = {}
    for row, declaration, values, contributions in zip(
        rows, _records(declarations, rows), features, scored.contributions, strict=True
    ):
        out[int(row)] = top_reasons(contributions, by_name, names, declaration, values, k)
    return out


def _records(
    columns: Mapping[str, Sequence] | pd.DataFrame, rows: Sequence[int]
) -> list[dict[str, object]]:
    """The rows at `rows` as field -> value, None for a missing value (never pd.NA, whose
    truth value is an error: the sentences test fields with `if value`)."""
    names = list(columns)
    picked = [_missing_as_none(columns[name], rows) for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*picked, strict=True)]


def _missing_as_none(column: Sequence | pd.Series, rows: Sequence[int]) -> list[object]:
    """The column's values at `rows`, None for a missing one."""
    if isinstance(column, pd.Series):
        part = column.iloc[rows]
        return part.astype(object).where(part.notna(), None).tolist()
    if isinstance(column, np.ndarray):
        values = column[np.asarray(rows, dtype=np.intp)].tolist()
    else:  # a plain sequence (the API's fields): taken as given, no dtype to coerce to
        values = [column[row] for row in rows]
    return [None if v is pd.NA else v for v in values]
