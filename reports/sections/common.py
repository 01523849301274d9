"""What the sections share: the note that stands in for a part needing the labelled history."""

from __future__ import annotations

from riskscore.reports.html import note

NO_STORE = (
    "This part needs the labelled history (the feature store). It is filled in when the report "
    "is made with `riskscore report --store DIR`, the version logged to the model's MLflow run."
)


def needs_history(parts: str = "") -> str:
    """The note shown instead of `parts` (e.g. 'Curves, calibration') when there is no store."""
    return note(f"{parts}: {NO_STORE}" if parts else NO_STORE)
