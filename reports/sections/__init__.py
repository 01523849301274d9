"""The sections of the analyst report, one module each: its tables turned into HTML with its
plots. `TITLES` maps each section id to its title, in the order of the page."""

from __future__ import annotations

from riskscore.reports.sections import (
    alerts,
    audit,
    importance,
    learning_loop,
    model_card,
    performance,
    seizure_intelligence,
)
from riskscore.reports.sections.alerts import alerts_section
from riskscore.reports.sections.audit import audit_section
from riskscore.reports.sections.importance import importance_section
from riskscore.reports.sections.learning_loop import drift_section, selection_section
from riskscore.reports.sections.model_card import model_card_section
from riskscore.reports.sections.performance import performance_section
from riskscore.reports.sections.seizure_intelligence import seizure_section

TITLES = {
    "importance": importance.TITLE,
    "performance": performance.TITLE,
    "selection-bias": learning_loop.SELECTION_TITLE,
    "drift": learning_loop.DRIFT_TITLE,
    "seizure-intelligence": seizure_intelligence.TITLE,
    "audit": audit.TITLE,
    "alerts": alerts.TITLE,
    "model-card": model_card.TITLE,
}

__all__ = [
    "TITLES",
    "alerts_section",
    "audit_section",
    "drift_section",
    "importance_section",
    "model_card_section",
    "performance_section",
    "seizure_section",
    "selection_section",
]
