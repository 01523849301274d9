"""What `generate` returns: the paths it wrote and their row counts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class SynthSummary:
    """What `generate` wrote: paths and row counts."""

    out_dir: Path
    clearance_path: Path
    declarations_path: Path
    seizures_xlsx_path: Path
    seizures_csv_path: Path
    clearance_rows: int
    declarations_rows: int
    illicit_declarations: int
    seizures: int  # clean seizures (seizures.csv)
    linked_seizures: int  # of which linked to a clearance record
    linked_by_document: int  # of which carry the shipment's transport document
    regional_seizures: int  # of which reported by other countries of the region
    bad_seizure_rows: int  # rows of seizures.xlsx invalid on purpose (not in seizures.csv)
    seed: int
    truth_path: Path | None = None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view (paths as strings)."""
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
