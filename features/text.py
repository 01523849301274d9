"""Goods-description signals: tokens, and the vague wording risk officers look for."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

_TOKEN = re.compile(r"[a-z]{3,}")
STOPWORDS = frozenset(
    "and the for with of from other not new used made parts part type kind set sets pcs".split()
)
# Descriptions that name no goods at all are a classic indicator (WCO risk management compendium).
VAGUE_TERMS = frozenset(
    "goods general cargo merchandise sample samples gift gifts personal effects stc said "
    "contain contains various misc miscellaneous assorted commodity spare item items".split()
)
MAX_TOKENS = 8


def tokens(description: str | None) -> list[str]:
    """Distinct content words of a description, in order, at most MAX_TOKENS."""
    if not isinstance(description, str) or not description:
        return []
    seen: dict[str, None] = {}
    for word in _TOKEN.findall(str(description).lower()):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
            if len(seen) == MAX_TOKENS:
                break
    return list(seen)


def tokenise(descriptions: Iterable[str | None]) -> np.ndarray:
    """tokens() of every description (an object array of lists), once per distinct text."""
    table: dict[str | None, list[str]] = {}
    values = list(descriptions)
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        found = table.get(value)
        if found is None:
            found = table[value] = tokens(value if isinstance(value, str) else None)
        out[i] = found
    return out


def vague_share(token_lists: Iterable[list[str]]) -> np.ndarray:
    """Share of a description's words that are vague; 1.0 for an empty description."""
    return np.array(
        [(sum(t in VAGUE_TERMS for t in ts) / len(ts)) if ts else 1.0 for ts in token_lists],
        dtype="float64",
    )
