"""Options that contradict each other are one error line before any work, never a traceback.

The checks live in the config objects (training/config.py), so the CLI and library callers
are refused alike.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("train", "--red-share", "0.6", "--yellow-share", "0.5"), "red_share plus yellow_share"),
        (("train", "--train-stats", "pit", "--red-share", "1.0"), "red_share plus yellow_share"),
        (("retrain", "--window-days", "30", "--valid-days", "60"), "window_days must be longer"),
    ],
)
def test_contradicting_options_are_one_error_line(invoke, tmp_path, args, says):
    store = tmp_path / "store"
    store.mkdir()
    result = invoke(*args, "--store", str(store))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and says in result.stderr
    assert "Traceback" not in result.output
