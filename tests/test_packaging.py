"""The package list in pyproject.toml names every sub-package, so a wheel ships all of them.

The editable install finds a sub-package that is not listed, so nothing else would notice one
missing until a user installs the wheel.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for package, folder in config["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            parts = init.parent.relative_to(base).parts
            found.add(".".join((package, *parts)))
    assert found, "no package found: is package-dir right?"
    assert sorted(found - set(config["packages"])) == []
    assert sorted(set(config["packages"]) - found) == []
