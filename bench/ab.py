"""Run one benchmark under two versions of the code, alternately, and print them side by side.

    .venv/bin/python bench/ab.py --before f5e36d6 [--rounds 3] -- bench/bench_reliability.py ARGS

The benchmark script is always the working tree's; only the `riskscore` package it imports
changes. The package of commit `--before` is laid out as it installs (pyproject's package-dir)
in a temporary folder put first on PYTHONPATH, so the script, and any `riskscore` console script
it starts, runs on that code; "after" runs on the working tree laid out the same way. The script
must print a JSON object of figures (name -> number) as its last line; each figure's median over
the rounds is shown with the ratio after / before.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from datetime import date
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lay_out(source: Path, target: Path) -> Path:
    """Copy the package in `source` to `target` as it installs; returns `target`."""
    config = tomllib.loads((source / "pyproject.toml").read_text())["tool"]["setuptools"]
    for package, folder in config["package-dir"].items():
        shutil.copytree(
            source / folder,
            Path(target, *package.split(".")),
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    for data in (source / "riskscore").glob("mappings"):
        shutil.copytree(data, target / "riskscore" / "mappings", dirs_exist_ok=True)
    return target


def checkout(commit: str, target: Path) -> Path:
    """The files of `commit` in `target` (git archive: no work tree or index is touched)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target


def run_once(lib: Path, script: list[str]) -> dict[str, float]:
    """One run of the benchmark on the package in `lib`; its last line's figures."""
    env = os.environ | {"PYTHONPATH": str(lib)}
    done = subprocess.run(
        [sys.executable, *script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(script)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="commit of the baseline code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("script", nargs=argparse.REMAINDER, help="-- SCRIPT [ARGS]")
    args = parser.parse_args()
    script = [a for a in args.script if a != "--"] if args.script else []
    if not script:
        parser.error("name the benchmark script after --")
    with tempfile.TemporaryDirectory(prefix="riskscore-ab-") as tmp:
        before = lay_out(checkout(args.before, Path(tmp, "src")), Path(tmp, "before"))
        after = lay_out(ROOT, Path(tmp, "after"))
        runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for round_ in range(args.rounds):
            for side, lib in (("before", before), ("after", after)):
                runs[side].append(run_once(lib, script))
                print(f"round {round_ + 1} {side}: {runs[side][-1]}", file=sys.stderr)
    print(
        f"{date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}; medians of {args.rounds} alternating rounds"
    )
    print(f"| figure | before ({args.before}) | after | ratio |")
    print("|---|---:|---:|---:|")
    for name in runs["after"][0]:
        a = statistics.median(r[name] for r in runs["after"])
        seen = [r[name] for r in runs["before"] if name in r]
        if not seen:
            print(f"| {name} | - | {a:,.4g} | - |")
            continue
        b = statistics.median(seen)
        ratio = f"{a / b:.2f}" if b else "-"
        print(f"| {name} | {b:,.4g} | {a:,.4g} | {ratio} |")


if __name__ == "__main__":
    main()
