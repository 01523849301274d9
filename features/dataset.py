"""Assemble the labelled history from the store, and the feature table built from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.features.linking import (
    LinkResult,
    labels_from_links,
    link_seizures,
    resolve_outcomes,
)
from riskscore.features.membership import is_in
from riskscore.features.pipeline import LABEL, FeatureConfig, FeaturePipeline
from riskscore.features.store import INGESTED_AT, ROW_HASH, SOURCE_FILE, Store

META = ["id", "date", LABEL, "label_source", "link_method"]
_BOOKKEEPING = [ROW_HASH, SOURCE_FILE, INGESTED_AT]


@dataclass
class History:
    """Every declaration we know of, labelled, and the seizure database."""

    declarations: pd.DataFrame  # clearance fields (+ x_* extras), label, label_source, link_method
    seizures: pd.DataFrame
    links: LinkResult | None
    label_counts: dict[str, int]


def load_history(store: Store, outcomes: pd.DataFrame | None = None) -> History:
    """Clearance records and labelled declarations as one table, with labels resolved.

    A record present in both keeps the member's own declaration (it carries the inspection
    outcome). `outcomes` are inspection results fed back through the API (declaration_id,
    illicit, revenue_recovered); they label records that have no outcome of their own. Labels:
    the inspection outcome where there is one, else 1 when a seizure links to the record, else
    0 (docs/labels.md). A store where an id is stored twice is refused (DamagedStoreError).
    """
    records, fed_back = load_records(store, outcomes)
    seizures = store.read_unique("seizures")

    links = None
    labels = labels_from_links(pd.DataFrame({"clearance_id": [], "method": [], "seizure_id": []}))
    if len(seizures) and len(records):
        links = link_seizures(seizures, records)
        labels = labels_from_links(links.links)
    resolved = resolve_outcomes(records, labels)
    records[LABEL] = resolved.frame["label"].to_numpy()
    records["label_source"] = resolved.frame["label_source"].to_numpy()
    records["link_method"] = resolved.frame["link_method"].to_numpy()
    counts = resolved.counts() | fed_back
    if links is not None:
        counts |= {f"seizures_{k}": v for k, v in links.counts().items()}
    return History(records, seizures, links, counts)


def load_records(
    store: Store, outcomes: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The records of `load_history` before any seizure is linked: declarations and clearance
    records (a member's own declaration replacing the clearance record of the same id), sorted
    by date and id, with the API's outcomes applied; and the counts of those outcomes."""
    clearance = store.read_unique("clearance")
    declared = store.read_unique("declarations")
    clearance = clearance[~is_in(clearance["id"], declared["id"])]
    records = pd.concat([declared, clearance], ignore_index=True)
    records = records.drop(columns=[c for c in _BOOKKEEPING if c in records])
    records = records.sort_values(["date", "id"], kind="stable").reset_index(drop=True)
    return records, _apply_outcomes(records, outcomes)


def _apply_outcomes(records: pd.DataFrame, outcomes: pd.DataFrame | None) -> dict[str, int]:
    """Write API-fed outcomes into `records` where a record has none; returns the counts.

    An outcome labels only the record of its own member (`reporting_country` == `member`):
    another member's report about the same declaration id must not label it. Counts:
    `api_outcomes_applied`; `api_outcomes_without_record`, outcomes matching no record of their
    member; `api_outcomes_other_member`, those of them whose id is another member's record.
    """
    if outcomes is None or outcomes.empty:
        return {
            "api_outcomes_applied": 0,
            "api_outcomes_without_record": 0,
            "api_outcomes_other_member": 0,
        }
    if "illicit" not in records:
        records["illicit"] = pd.Series(pd.NA, index=records.index, dtype="Int8")
    if "revenue_recovered" not in records:
        records["revenue_recovered"] = np.nan
    key = ["member", "declaration_id"]
    fed = outcomes.drop_duplicates(key).set_index(key)
    owned = pd.MultiIndex.from_arrays([records["reporting_country"], records["id"]])
    open_rows = owned.isin(fed.index) & records["illicit"].isna().to_numpy()
    applied = fed.loc[owned[open_rows]]
    records.loc[open_rows, "illicit"] = applied["illicit"].to_numpy()
    # float: a column of NULLs reads back as None objects, which a float column refuses
    revenue = applied["revenue_recovered"].astype("float64")
    records.loc[open_rows, "revenue_recovered"] = revenue.to_numpy()
    without = ~fed.index.isin(owned)
    other = without & fed.index.get_level_values("declaration_id").isin(records["id"])
    return {
        "api_outcomes_applied": int(open_rows.sum()),
        "api_outcomes_without_record": int(without.sum()),
        "api_outcomes_other_member": int(other.sum()),
    }


def build_feature_table(store_dir: Path, out: Path, outcomes: pd.DataFrame | None = None) -> dict:
    """Write the point-in-time feature table (one row per declaration) and return a summary.

    `outcomes` (fed back through the API) label records as in training. Beside `out` go the
    seizure link report files (`<out stem>-links/`).
    """
    store = Store(store_dir)
    history = load_history(store, outcomes=outcomes)
    pipeline = FeaturePipeline(FeatureConfig())
    features = pipeline.historical(history.declarations, history.seizures)
    table = pd.concat([history.declarations[META].reset_index(drop=True), features], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out, index=False)
    summary = {
        "rows": len(table),
        "features": len(features.columns),
        "positives": int(table[LABEL].sum()),
        "labels": history.label_counts,
        "out": str(out),
    }
    if history.links is not None:
        summary["link_files"] = history.links.write(out.parent / f"{out.stem}-links")
    (out.parent / f"{out.stem}-summary.json").write_text(json.dumps(summary, indent=2))
    return summary
