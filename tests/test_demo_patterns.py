"""From demo files to the feature table: every planted pattern shows in its feature."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskscore.features.dataset import build_feature_table
from riskscore.features.ingest import ingest
from riskscore.synth import generate

# pattern -> (feature that should reveal it, direction: +1 higher for the pattern's offences)
EXPECTED = {
    "rice_cocaine": ("seizure_lift_hs4_origin", +1),
    "cigarette_hub": ("origin_differs", +1),
    "undervaluation": ("value_vs_reference", -1),
    "repeat_offender": ("importer_hit_rate", +1),
    "new_trader": ("importer_days_known", -1),
    "parcel_drugs": ("mode_origin_hit_rate", +1),
    "description_mismatch": ("desc_hs_match", -1),
    "timber_origin": ("origin_hit_rate", +1),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("demo")
    summary = generate(root / "data", declarations=30_000, seed=11, truth=True)
    store = root / "store"
    reports = {
        "seizures": ingest("seizures", summary.seizures_xlsx_path, store),
        "clearance": ingest("clearance", summary.clearance_path, store),
        "declarations": ingest("declarations", summary.declarations_path, store),
    }
    table_info = build_feature_table(store, root / "features.parquet")
    table = pd.read_parquet(root / "features.parquet")
    truth = pd.read_parquet(summary.truth_path)
    return {
        "summary": summary,
        "reports": reports,
        "info": table_info,
        "table": table.merge(truth[["id", "pattern"]], on="id"),
    }


def test_the_messy_workbook_loses_only_its_bad_rows(demo):
    summary, reports = demo["summary"], demo["reports"]
    seizures = reports["seizures"]
    assert seizures.rows_quarantined == summary.bad_seizure_rows
    assert seizures.rows_accepted == summary.seizures
    assert reports["clearance"].rows_accepted == summary.clearance_rows
    assert reports["declarations"].rows_accepted == summary.declarations_rows


def test_seizures_label_clearance_records(demo):
    labels = demo["info"]["labels"]
    assert labels["seizures_linked_document"] > 0
    assert labels["seizures_linked_trader_route"] > 0
    statuses = ("linked_document", "linked_trader_route", "ambiguous", "unlinked", "not_eligible")
    assert sum(labels[f"seizures_{s}"] for s in statuses) == labels["seizures_total"]
    assert demo["info"]["rows"] == demo["summary"].clearance_rows


@pytest.mark.parametrize("pattern", sorted(EXPECTED))
def test_each_planted_pattern_separates_its_offences_from_compliant_rows(demo, pattern):
    table = demo["table"]
    feature, direction = EXPECTED[pattern]
    offences = table[(table["pattern"] == pattern) & (table["label"] == 1)]
    compliant = table[table["label"] == 0]
    assert len(offences) >= 15, f"too few {pattern} offences to judge"
    values = pd.concat([offences[feature], compliant[feature]]).fillna(compliant[feature].median())
    truth = [1] * len(offences) + [0] * len(compliant)
    auc = roc_auc_score(truth, direction * values)
    assert auc > 0.7, f"{feature} does not reveal {pattern}: AUC {auc:.2f}"
