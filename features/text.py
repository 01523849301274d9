"""Goods-description signals: tokens, and the vague wording risk officers look for."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

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
    if not description or description is pd.NA:
        return []
    seen: dict[str, None] = {}
    for word in _TOKEN.findall(str(description).lower()):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
            if len(seen) == MAX_TOKENS:
                break
    return list(seen)


def tokenise(descriptions: pd.Series) -> pd.Series:
    """tokens() for every row, computed once per distinct description."""
    values = descriptions.astype("string").fillna("").tolist()
    table = {u: tokens(u) for u in set(values)}
    return pd.Series([table[v] for v in values], index=descriptions.index, dtype=object)


def vague_share(token_lists: pd.Series) -> np.ndarray:
    """Share of a description's words that are vague; 1.0 for an empty description."""
    return np.array(
        [(sum(t in VAGUE_TERMS for t in ts) / len(ts)) if ts else 1.0 for ts in token_lists],
        dtype="float64",
    )
