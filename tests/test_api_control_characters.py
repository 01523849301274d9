"""The API refuses and cleans control characters as ingestion does (issue 10, item 12)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from riskscore.serving.schemas import EXAMPLE, Declaration, OutcomeIn

OUTCOME = {
    "declaration_id": "CLR-1",
    "reporting_country": "GB",
    "illicit": 1,
    "inspection_date": "2026-01-02",
}


@pytest.mark.parametrize("bad", ["CLR\x00-1", "CLR-1\x07", "\x1bCLR", "C\x85L"])
def test_an_outcome_id_with_a_control_character_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="declaration_id"):
        OutcomeIn(**OUTCOME | {"declaration_id": bad})


def test_an_outcome_id_keeps_its_characters_otherwise() -> None:
    assert OutcomeIn(**OUTCOME | {"declaration_id": "CLR/ü-1 a"}).declaration_id == "CLR/ü-1 a"


def test_a_declaration_id_with_a_nul_is_refused() -> None:
    with pytest.raises(ValidationError, match="id"):
        Declaration(**EXAMPLE | {"id": "A\x00"})


def test_free_text_loses_control_characters_but_keeps_line_breaks() -> None:
    text = "frozen\x00 fish\x07\nfillets\tIQF"
    declaration = Declaration(**EXAMPLE | {"goods_description": text})
    assert declaration.goods_description == "frozen fish\nfillets\tIQF"
