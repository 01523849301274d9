"""Check the layers declared in pyproject.toml ([tool.importlinter]) with import-linter.

The `riskscore` package installs from several top-level folders (features/, models/, ...: see
[tool.setuptools] package-dir), while import-linter's graph builder reads a package from one
folder. This copies the package as it is installed into a temporary folder, puts that first on
the path, and runs `lint-imports` there; its exit code is this script's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    with tempfile.TemporaryDirectory() as tmp:
        for package, folder in config["package-dir"].items():
            target = Path(tmp, *package.split("."))
            shutil.copytree(
                ROOT / folder,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        env = os.environ | {"PYTHONPATH": tmp}
        lint = Path(sys.executable).parent / "lint-imports"
        command = [str(lint), str(ROOT / "pyproject.toml")]
        return subprocess.run(command, cwd=tmp, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
