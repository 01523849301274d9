"""Settings come from the environment once per command; a wrong one is one line, not a trace."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("RISKSCORE_TOP_K", "100", "less than or equal to 64"),
        ("RISKSCORE_PORT", "abc", "valid integer"),
    ],
)
def test_a_bad_setting_is_one_error_line_naming_the_variable(
    invoke, monkeypatch, variable, value, says
):
    monkeypatch.setenv(variable, value)
    result = invoke("keys", "list")
    assert result.exit_code == 2
    assert f"error: {variable}='{value}'" in result.stderr and says in result.stderr
    assert "Traceback" not in result.output


def test_each_command_reads_the_environment_as_it_is_then(invoke, monkeypatch, tmp_path):
    for member in ("GB", "FR"):
        monkeypatch.setenv("RISKSCORE_STATE_DIR", str(tmp_path / member))
        assert invoke("keys", "create", "--member", member).exit_code == 0
    monkeypatch.setenv("RISKSCORE_STATE_DIR", str(tmp_path / "FR"))
    listed = invoke("keys", "list", "--json")
    assert '"member": "FR"' in listed.stdout and '"member": "GB"' not in listed.stdout
