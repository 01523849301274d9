"""Load benchmark of `riskscore serve`: throughput against workers, singles beside a bulk client,
and a soak at 80 % of the measured maximum.

    .venv/bin/python bench/bench_load.py [--work /tmp/riskscore-load-bench] [--soak-seconds 600]

It trains and registers a demo model as bench_serving.py does, then starts `riskscore serve` on
loopback with RISKSCORE_WORKERS=1 and =2 (an environment variable, so that `bench/ab.py` can run
the same script on a release without `--workers`). Clients are Debian's `wrk` and `hey`, separate
processes; every request goes to 127.0.0.1, bounded in time.

- Throughput: `wrk` with 16 connections for `--seconds` on single declarations with 5 reasons;
  the client's CPU seconds are read from its rusage (it shares the 2 cores with the server).
- Mixed: four `hey` send single declarations at 50 req/s in all for `--seconds`, alone,
  then beside a second `hey` posting 1000-declaration requests back to back; p50/p99 of the
  singles, and how many bulk requests got through or were told to come back (429/503).
- Soak: `hey` at 80 % of the 2-worker maximum for `--soak-seconds`; p50/p99 per minute, errors,
  and the resident memory of the server's processes sampled every 5 s. Drift compares the last
  minute with the second (the first warms up).

The last line is a JSON object of the figures (for bench/ab.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serving import env_for, free_port, prepare, records, stop, wait_ready, wrk  # noqa: E402

VENV_BIN = Path(sys.executable).parent
BULK_ROWS = 1000


def start_server(env: dict[str, str], work: Path, workers: int) -> tuple[subprocess.Popen, int]:
    """`riskscore serve` with `workers` processes on a free port; ready when it returns."""
    port = free_port()
    env = env | {"RISKSCORE_WORKERS": str(workers), "RISKSCORE_MAX_DECLARATIONS": "1000"}
    server = subprocess.Popen(
        [str(VENV_BIN / "riskscore"), "serve", "--port", str(port), "--reload-seconds", "0"],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=(work / f"serve-{workers}.log").open("w"),
    )
    try:
        wait_ready(port, "/readyz")
        time.sleep(2 if workers > 1 else 0)  # every worker up, not only the first
    except BaseException:
        stop(server)
        raise
    return server, port


def client_cpu() -> float:
    """CPU seconds (user + system) of the children waited for so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def throughput(port: int, headers: dict[str, str], bodies: list[bytes], seconds: int) -> tuple:
    """(requests per second, the client's share of one core) over `seconds`."""
    wrk(port, "/v1/score", bodies, headers, 2)  # warm-up
    before = client_cpu()
    rps = wrk(port, "/v1/score", bodies, headers, seconds)
    return rps, (client_cpu() - before) / seconds


def hey(
    port: int,
    key: str,
    body: Path,
    seconds: float,
    connections: int,
    rate: float | None,
    out: Path,
) -> subprocess.Popen:
    """`hey` posting `body` for `seconds`; per-request CSV (latency, status, offset) to `out`."""
    cmd = ["hey", "-z", f"{seconds}s", "-c", str(connections), "-t", "60", "-o", "csv"]
    if rate is not None:
        cmd += ["-q", f"{rate / connections:.3f}"]
    cmd += ["-m", "POST", "-T", "application/json", "-H", f"X-API-Key: {key}", "-D", str(body)]
    cmd.append(f"http://127.0.0.1:{port}/v1/score")
    return subprocess.Popen(cmd, stdout=out.open("w"), stderr=subprocess.DEVNULL)


def read_hey(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(latency ms, status, offset s) of each request in a hey CSV."""
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    latency = np.array([float(r["response-time"]) * 1000 for r in rows])
    status = np.array([int(r["status-code"]) for r in rows])
    offset = np.array([float(r["offset"]) for r in rows])
    return latency, status, offset


def mixed(port: int, key: str, work: Path, single: bytes, bulk: bytes, seconds: int) -> dict:
    """Singles alone, then beside a bulk client: p50/p99 and the bulk client's answers."""
    single_file, bulk_file = work / "single.json", work / "bulk.json"
    single_file.write_bytes(single)
    bulk_file.write_bytes(bulk)
    figures: dict[str, float] = {}
    for phase in ("alone", "beside_bulk"):
        bulk_client = None
        if phase == "beside_bulk":
            bulk_client = hey(port, key, bulk_file, seconds + 4, 1, None, work / "bulk.csv")
            time.sleep(2)  # the bulk client is busy before the singles start
        # Four clients of 12.5 req/s each, started 20 ms apart: one client of 4 connections
        # would fire them on the same tick and time its own queue.
        parts = []
        for i in range(4):
            out = work / f"singles-{phase}-{i}.csv"
            parts.append((hey(port, key, single_file, seconds, 1, 12.5, out), out))
            time.sleep(0.02)
        for process, _ in parts:
            process.wait()
        if bulk_client is not None:
            bulk_client.wait()
        read = [read_hey(out) for _, out in parts]
        latency = np.concatenate([r[0] for r in read])
        status = np.concatenate([r[1] for r in read])
        ok = latency[status == 200]
        figures[f"single_p50_ms_{phase}"] = float(np.percentile(ok, 50))
        figures[f"single_p99_ms_{phase}"] = float(np.percentile(ok, 99))
        figures[f"single_errors_{phase}"] = int((status != 200).sum())
    bulk_latency, bulk_status, _ = read_hey(work / "bulk.csv")
    figures["bulk_requests_answered"] = int((bulk_status == 200).sum())
    figures["bulk_requests_turned_away"] = int(np.isin(bulk_status, (429, 503)).sum())
    ok = bulk_latency[bulk_status == 200]
    figures["bulk_p50_ms"] = float(np.percentile(ok, 50)) if len(ok) else float("nan")
    figures["single_p99_ratio"] = (
        figures["single_p99_ms_beside_bulk"] / figures["single_p99_ms_alone"]
    )
    return figures


def tree_rss(pid: int) -> float:
    """Resident MB of `pid` and its descendants (from /proc)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            # A child is listed under the thread that started it (the bulk pool's restarts).
            tasks = Path(f"/proc/{current}/task").glob("*/children")
            children = [c for task in tasks for c in task.read_text().split()]
        except OSError:
            continue
        todo += [int(c) for c in children]
    return total


def soak(
    server: subprocess.Popen, port: int, key: str, work: Path, single: bytes, rate: float, seconds
) -> dict:
    """`rate` req/s for `seconds`: errors, p50/p99 per minute, memory over time."""
    body = work / "single.json"
    body.write_bytes(single)
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        started = time.monotonic()
        while not done.wait(5):
            samples.append((time.monotonic() - started, tree_rss(server.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    hey(port, key, body, seconds, 16, rate, work / "soak.csv").wait()
    done.set()
    sampler.join()
    latency, status, offset = read_hey(work / "soak.csv")
    minute = (offset // 60).astype(int)
    per_minute = [
        (
            int(m),
            float(np.percentile(latency[(minute == m) & (status == 200)], 50)),
            float(np.percentile(latency[(minute == m) & (status == 200)], 99)),
            int((minute == m).sum()),
        )
        for m in np.unique(minute)
        if ((minute == m) & (status == 200)).sum() > 100
    ]
    print("\nsoak, per minute: minute, p50 ms, p99 ms, requests")
    for row in per_minute:
        print(f"  {row[0]:>3}  {row[1]:7.2f}  {row[2]:7.2f}  {row[3]:>7}")
    shown = samples[:: max(1, len(samples) // 20)]
    print("memory (s: MB):", ", ".join(f"{t:.0f}: {m:.0f}" for t, m in shown))
    full = [row for row in per_minute if row[3] > 0.5 * rate * 60]
    first, last = (full[1] if len(full) > 2 else full[0]), full[-1]
    settled = [m for t, m in samples if t >= 60] or [m for _, m in samples]
    return {
        "soak_rate": rate,
        "soak_requests": int(len(status)),
        "soak_achieved_rps": len(status) / seconds,
        "soak_errors": int((status != 200).sum()),
        "soak_p50_ms": float(np.percentile(latency[status == 200], 50)),
        "soak_p99_ms": float(np.percentile(latency[status == 200], 99)),
        "soak_p99_drift": (last[2] - first[2]) / first[2],
        "soak_rss_mb_start": settled[0],
        "soak_rss_mb_end": settled[-1],
        "soak_rss_drift": (settled[-1] - settled[0]) / settled[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/riskscore-load-bench"))
    parser.add_argument("--declarations", type=int, default=120_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--soak-seconds", type=int, default=600, help="0: no soak")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    for tool in ("wrk", "hey"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt-get install {tool}")
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    key = prepare(work, args.declarations)
    env = env_for(work)
    sample = records(work, BULK_ROWS, "demo")
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    singles = [json.dumps({"declarations": [r], "top_k": 5}).encode() for r in sample[:20]]
    bulk = json.dumps({"declarations": sample, "top_k": 5}).encode()

    figures: dict[str, float] = {}
    for workers in args.workers:
        server, port = start_server(env, work, workers)
        try:
            if not args.skip_throughput:
                rps, cpu = throughput(port, headers, singles, args.seconds)
                figures[f"rps_{workers}w"] = rps
                figures[f"client_cores_{workers}w"] = cpu
            for name, value in mixed(port, key, work, singles[0], bulk, args.seconds).items():
                figures[f"{name}_{workers}w"] = value
            if args.soak_seconds and workers == max(args.workers):
                rate = 0.8 * figures.get(f"rps_{workers}w", 500.0)
                figures |= soak(server, port, key, work, singles[0], rate, args.soak_seconds)
        finally:
            stop(server)
    if {"rps_1w", "rps_2w"} <= figures.keys():
        figures["rps_ratio_2w_1w"] = figures["rps_2w"] / figures["rps_1w"]

    print(f"\n{'figure':<40} value")
    for name, value in figures.items():
        print(f"{name:<40} {value:.3f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
