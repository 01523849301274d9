"""CLI verbs for training, evaluation, the registry, retraining, benchmarks and batch scoring."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the training verbs to the `riskscore` app."""
