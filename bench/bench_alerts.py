"""Analyst alerts: what matching costs per declaration, with 0, 10, 1,000 and 10,000 alerts.

    .venv/bin/python bench/bench_alerts.py [--singles 5000] [--batch 100000] [--seed 7]

Alerts are drawn as analysts write them: mostly a trader, a transport document or an HS heading
from a country, some broad ones (a country by a mode), 2 % naming a 20,000-entry watch list of
traders. Declarations are drawn from the same vocabularies, so some of them match. Reported per
number of alerts: the time per declaration when each is matched alone (a single-declaration API
call: `Matcher.match` on one-row columns, median of 5 rounds) and within one batch, and the
mean number of alerts matched. The baseline is a matcher without alerts. The last line is a JSON
object of figures (bench/ab.py reads it).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from riskscore.models.alerts import Alert, Matcher, WatchList

COUNTRIES = "CO EC PA NL BE DE ES CN IN VN TH BR PE MX US GB FR IT TR AE".split()
MODES = ["sea", "air", "road", "courier", "postal"]
HEADINGS = [f"{c:02d}{h:02d}" for c in range(1, 98) if c != 77 for h in range(1, 20)]
FIELDS = ("importer_id", "exporter_id", "declarant_id")


def trader(rng: random.Random) -> str:
    return f"IMP-{rng.randrange(50_000):05d}"


def document(rng: random.Random) -> str:
    return f"MSCU{rng.randrange(200_000):07d}"


def draw_alert(rng: random.Random, number: int) -> Alert:
    kind = rng.random()
    if kind < 0.02:
        criteria = {"trader": ["@suspects"], "origin": [rng.choice(COUNTRIES)]}
    elif kind < 0.40:
        criteria = {rng.choice(["importer", "trader"]): [trader(rng)]}
    elif kind < 0.60:
        criteria = {"document": [document(rng)]}
    elif kind < 0.95:
        heading = rng.choice(HEADINGS)
        criteria = {"hs": [heading + rng.choice(["", "30"])], "origin": rng.sample(COUNTRIES, 2)}
    else:
        criteria = {"origin": [rng.choice(COUNTRIES)], "mode": [rng.choice(MODES)]}
    return Alert(f"A{number:05d}", criteria, rng.choice(["red", "yellow"]), "bench", "bench")


def draw_declarations(rng: random.Random, n: int) -> list[dict]:
    return [
        {
            "date": "2025-06-15",
            "hs_code": rng.choice(HEADINGS) + f"{rng.randrange(100):02d}00",
            "origin_country": rng.choice(COUNTRIES),
            "departure_country": rng.choice(COUNTRIES),
            "transit_countries": ";".join(rng.sample(COUNTRIES, rng.randrange(3))),
            "transport_mode": rng.choice(MODES),
            "importer_id": trader(rng),
            "exporter_id": f"EXP-{rng.randrange(20_000):05d}",
            "declarant_id": f"DEC-{rng.randrange(500):03d}",
            "transport_document": document(rng),
        }
        for _ in range(n)
    ]


def as_columns(rows: list[dict]) -> dict[str, list]:
    return {k: [r[k] for r in rows] for k in rows[0]}


def measure(matcher: Matcher, singles: list[dict[str, list]], batch: dict[str, list]) -> dict:
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for one in singles:
            matcher.match(one)
        rounds.append((time.perf_counter() - started) / len(singles))
    n = len(batch["date"])
    started = time.perf_counter()
    found = matcher.match(batch)
    batch_seconds = time.perf_counter() - started
    return {
        "single_us": statistics.median(rounds) * 1e6,
        "batch_us": batch_seconds / n * 1e6,
        "matches": sum(map(len, found)) / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    suspects = frozenset(trader(rng) for _ in range(20_000))
    lists = {"suspects": WatchList("suspects", "trader", suspects)}
    singles = [as_columns([row]) for row in draw_declarations(rng, args.singles)]
    batch = as_columns(draw_declarations(rng, args.batch))
    pool = [draw_alert(rng, i + 1) for i in range(10_000)]

    figures: dict[str, float] = {}
    print(f"{'alerts':>7} {'single µs/decl':>15} {'batch µs/decl':>14} {'matches/decl':>13}")
    for count in (0, 10, 1000, 10_000):
        started = time.perf_counter()
        matcher = Matcher.build(pool[:count], lists)
        build_ms = (time.perf_counter() - started) * 1e3
        result = measure(matcher, singles, batch)
        print(
            f"{count:>7} {result['single_us']:>15.2f} {result['batch_us']:>14.2f} "
            f"{result['matches']:>13.4f}"
        )
        for key, value in {**result, "build_ms": build_ms}.items():
            figures[f"{key}.{count}"] = value
    base = figures["single_us.0"]
    for count in (10, 1000, 10_000):
        figures[f"single_over_baseline_us.{count}"] = figures[f"single_us.{count}"] - base
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
