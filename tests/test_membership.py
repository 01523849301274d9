"""`is_in` answers as Python's set membership does, for every input shape the pipeline uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from riskscore.features.membership import is_in

ids = st.lists(st.one_of(st.none(), st.sampled_from(["A1", "a1", "B2", "", "Ü-3", "C 4"])))


@given(values=ids, pool=ids)
def test_is_in_equals_set_membership(values, pool) -> None:
    wanted = [v is not None and v in {p for p in pool if p is not None} for v in values]
    series = pd.Series(values, dtype="string")
    assert is_in(series, pd.Series(pool, dtype="string")).tolist() == wanted
    assert is_in(np.array(values, dtype=object), pd.Index(pool, dtype=object)).tolist() == wanted
    assert is_in(series, list(pool)).dtype == bool


def test_missing_values_are_never_in_the_pool() -> None:
    assert is_in(pd.Series(["x", None, pd.NA], dtype="string"), ["x", None]).tolist() == [
        True,
        False,
        False,
    ]
