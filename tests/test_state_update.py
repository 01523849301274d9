"""An incremental refresh gives the state a full recomputation gives, and falls back to one
whenever folding in would not be exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
from factories import demo_store

from riskscore.features.dataset import load_history
from riskscore.features.ingest import ingest
from riskscore.features.pipeline import FeatureConfig, FeatureState
from riskscore.features.store import Store
from riskscore.synth.intelligence import cell_seizures, quiet_cell
from riskscore.training.state_update import Definition, compute_state

NO_OUTCOMES = pd.DataFrame({c: [] for c in ("declaration_id", "member", "illicit")})


def assert_same_state(got: FeatureState, want: FeatureState) -> None:
    assert got.as_of_day == want.as_of_day
    for name, snapshot in want.snapshots.items():
        folded = got.snapshots[name]
        assert set(folded.totals) == set(snapshot.totals), name
        keys = list(snapshot.totals)
        a = np.array([folded.totals[k] for k in keys], dtype="float64")
        b = np.array([snapshot.totals[k] for k in keys], dtype="float64")
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True), name


def document_seizures(store, as_of: pd.Timestamp, path) -> int:
    """Seizures that name the transport documents of records no seizure labels yet: six never
    inspected (a link relabels them) and two inspected and found compliant (their own outcome
    stands); returns how many of the first kind."""
    records = load_history(Store(store)).declarations
    candidates = records[
        records["transport_document"].notna()
        & records["link_method"].isna()
        & records["date"].between(as_of - pd.Timedelta(days=90), as_of - pd.Timedelta(days=10))
    ].drop_duplicates("transport_document")
    never = candidates[candidates["illicit"].isna()].head(6)
    compliant = candidates[candidates["illicit"] == 0].head(2)
    assert len(compliant) == 2
    chosen = pd.concat([never, compliant])
    pd.DataFrame(
        {
            "id": [f"DOC-SZ-{i}" for i in range(len(chosen))],
            "date": (chosen["date"] + pd.Timedelta(days=2)).dt.date.to_numpy(),
            "reporting_country": chosen["reporting_country"].to_numpy(),
            "commodity_category": "drugs",
            "transport_document": chosen["transport_document"].to_numpy(),
            "hs_code": chosen["hs_code"].to_numpy(),
            "origin_country": chosen["origin_country"].to_numpy(),
        }
    ).to_csv(path, index=False)
    return len(never)


def test_new_seizures_fold_into_the_state_exactly(tmp_path) -> None:
    _, store_dir = demo_store(tmp_path, 6000, seed=3)
    store = Store(store_dir)
    definition = Definition(FeatureConfig(), None, {})
    first = compute_state(store, definition, NO_OUTCOMES)
    assert first.mode == "full" and first.base is not None and first.base.complete

    unchanged = compute_state(store, definition, NO_OUTCOMES, (first.state, first.base))
    assert unchanged.mode == "unchanged" and unchanged.state is None

    rows = quiet_cell(store_dir)
    ingest("seizures", cell_seizures(rows, tmp_path / "cell.csv", 40), store_dir)
    assert document_seizures(store_dir, first.as_of, tmp_path / "docs.csv") >= 3
    ingest("seizures", tmp_path / "docs.csv", store_dir)

    folded = compute_state(store, definition, NO_OUTCOMES, (first.state, first.base))
    assert folded.mode == "incremental", folded.reason
    assert folded.counts["newly_irregular"] >= 3  # the document links relabel records
    full = compute_state(store, definition, NO_OUTCOMES)
    assert full.mode == "full"
    assert_same_state(folded.state, full.state)
    assert folded.base.linked == full.base.linked

    # New clearance records move the state's day and change every statistic: in full.
    late = (
        store.read("clearance")
        .tail(5)
        .assign(id=lambda f: "LATE-" + f["id"], date=first.as_of + pd.Timedelta(days=3))
    )
    late.drop(columns=[c for c in late if c.startswith("_")]).to_parquet(tmp_path / "late.parquet")
    ingest("clearance", tmp_path / "late.parquet", store_dir)
    again = compute_state(store, definition, NO_OUTCOMES, (folded.state, folded.base))
    assert again.mode == "full" and "clearance changed" in again.reason
    assert again.as_of > first.as_of


def test_outcomes_fed_back_or_an_explicit_day_recompute_in_full(tmp_path) -> None:
    _, store_dir = demo_store(tmp_path, 3000, seed=4)
    store = Store(store_dir)
    definition = Definition(FeatureConfig(), None, {})
    first = compute_state(store, definition, NO_OUTCOMES)
    fed = pd.DataFrame(
        {"declaration_id": ["X1"], "member": ["GB"], "illicit": [1], "revenue_recovered": [None],
         "inspection_date": ["2025-01-01"]}
    )  # fmt: skip
    again = compute_state(store, definition, fed, (first.state, first.base))
    assert again.mode == "full" and "outcomes" in again.reason
    day = compute_state(store, definition, NO_OUTCOMES, (first.state, first.base), first.as_of)
    assert day.mode == "full" and "--as-of" in day.reason
