"""Serving benchmark: latency of one declaration, throughput against `mlflow models serve`,
and a 100k-declaration batch.

    .venv/bin/python bench/bench_serving.py [--work /tmp/riskscore-serving-bench] [--data kcs]

It trains and registers a model in a private MLflow store (on demo data, or with `--data kcs` on
the KCS benchmark's train.csv and valid.csv as a new user would: ingest both, `riskscore train`
with its defaults), then starts both servers on loopback, one at a time, with the same model:
- ours: `riskscore serve` (uvicorn, one process);
- baseline: `mlflow models serve -m models:/customs-risk@champion --env-manager local`.

Latency: sequential requests on one keep-alive connection (score + top-5 reasons), client-side;
the baseline's the same way, scoring without reasons (it has none).
Throughput: `wrk` (Debian package) with 8 connections for 10 s each, score only on both sides
(our `top_k=0`), the same 20 declarations per round robin. Requests are bounded in count and time
and only ever sent to 127.0.0.1.
Alerts: the latency run again with `--alerts N` (default 1000) active analyst alerts in the
server's alert book (few match), p50 side by side with none.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VENV_BIN = Path(sys.executable).parent
KCS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kcs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    # mlflow models serve starts `uvicorn` by name: it must find the venv's.
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        RISKSCORE_STORE_DIR=str(work / "store"),
        RISKSCORE_MLRUNS_DIR=str(work / "mlruns"),
        RISKSCORE_STATE_DIR=str(work / "var"),
        RISKSCORE_DEMO_DIR=str(work / "demo"),
        MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlruns' / 'mlflow.db'}",
    )
    return env


def prepare(work: Path, declarations: int) -> str:
    """Demo data, store, model and an API key; returns the key."""
    env = env_for(work)
    key_file = work / "var" / "demo-api-key"
    if not key_file.exists():
        subprocess.run(
            [str(VENV_BIN / "riskscore"), "run", "--no-serve", "--declarations", str(declarations)],
            env=env,
            cwd=work,
            check=True,
            capture_output=True,
        )
    return key_file.read_text().strip()


def prepare_kcs(work: Path, data: Path) -> str:
    """The KCS files ingested, a model trained with the defaults and registered; an API key."""
    from riskscore.training.benchmark import kcs_mapping

    env = env_for(work)
    key_file = work / "var" / "bench-api-key"
    if key_file.exists():
        return key_file.read_text().strip()
    cli = str(VENV_BIN / "riskscore")
    mapping = str(kcs_mapping())
    for name in ("train", "valid"):
        subprocess.run(
            [cli, "ingest", "declarations", str(data / f"{name}.csv"), "--mapping", mapping],
            env=env, cwd=work, check=True, capture_output=True,
        )  # fmt: skip
    trained = subprocess.run([cli, "train"], env=env, cwd=work, capture_output=True, text=True)
    (work / "train.log").write_text(trained.stdout + trained.stderr)
    trained.check_returncode()
    made = subprocess.run(
        [cli, "keys", "create", "--member", "*"], env=env, cwd=work, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    key = next(w for w in made.stdout.split() if w.startswith("rsk_"))
    key_file.write_text(key)
    return key


def kcs_frame(work: Path):  # noqa: ANN201 - pandas imported lazily
    """The declarations of the last three months (valid.csv), as stored, without outcomes."""
    from riskscore.features.dataset import load_history
    from riskscore.features.store import Store

    frame = load_history(Store(work / "store")).declarations
    frame = frame[frame["date"] >= frame["date"].max() - np.timedelta64(90, "D")]
    return frame.drop(columns=[c for c in ("label", "illicit") if c in frame])


def wait_ready(port: int, path: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"server on {port} not ready")


def records(work: Path, n: int, data: str) -> list[dict]:
    import pandas as pd

    from riskscore.features.contracts import declaration_records

    if data == "kcs":
        frame = kcs_frame(work).tail(n)
    else:
        frame = pd.read_parquet(work / "demo" / "clearance.parquet").tail(n)
    frame["date"] = pd.to_datetime(frame["date"])
    return declaration_records(frame)


def latency(
    port: int, headers: dict[str, str], bodies: list[bytes], n: int, path: str = "/v1/score"
) -> np.ndarray:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = np.empty(n)
    for i in range(n):
        started = time.perf_counter()
        conn.request("POST", path, bodies[i % len(bodies)], headers)
        response = conn.getresponse()
        response.read()
        out[i] = time.perf_counter() - started
        assert response.status == 200, response.status
    return out


def wrk(port: int, path: str, bodies: list[bytes], headers: dict[str, str], seconds: int) -> float:
    """Requests per second from wrk, rotating over the bodies."""
    lua = "bodies = {" + ",".join(json.dumps(b.decode()) for b in bodies) + "}\n"
    lua += "i = 0\nwrk.method = 'POST'\n"
    for name, value in headers.items():
        lua += f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}\n"
    lua += "request = function()\n i = i % #bodies + 1\n"
    lua += f" return wrk.format(nil, {json.dumps(path)}, nil, bodies[i])\nend\n"
    lua += "done = function(summary, latency, requests)\n"
    lua += " io.write(string.format('RPS %f\\nERR %d\\n', summary.requests / "
    lua += "(summary.duration / 1e6), summary.errors.status + summary.errors.connect + "
    lua += "summary.errors.read + summary.errors.write + summary.errors.timeout))\nend\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua)
    done = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", fh.name, f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(fh.name)
    figures = dict(line.split() for line in done.stdout.splitlines() if line[:3] in ("RPS", "ERR"))
    if int(figures["ERR"]):
        raise RuntimeError(f"wrk saw {figures['ERR']} errors on {path}")
    return float(figures["RPS"])


def get(port: int, path: str, headers: dict[str, str]) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers)
    return conn.getresponse().read()


def start(cmd: list[str], env: dict[str, str], work: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def batch(port: int, key: str, work: Path, rows: int, data: str) -> tuple[float, int, int]:
    import pandas as pd

    if data == "kcs":  # three months of declarations, drawn again under new ids up to `rows`
        frame = kcs_frame(work).sample(rows, replace=True, random_state=0)
        frame["id"] = [f"B{i:07d}" for i in range(rows)]
        frame = frame.drop(columns=["label_source", "link_method"], errors="ignore")
    else:
        frame = pd.read_parquet(work / "demo" / "clearance.parquet").head(rows)
    path = work / "batch.parquet"
    frame.to_parquet(path)
    body = path.read_bytes()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"X-API-Key": key, "Content-Type": "application/vnd.apache.parquet"}
    started = time.perf_counter()
    conn.request("POST", "/v1/score/batch", body, headers)
    response = conn.getresponse()
    lines = response.read().splitlines()
    seconds = time.perf_counter() - started
    answers = [json.loads(line) for line in lines[:-1]]
    explained = sum(1 for a in answers if "reasons" in a)
    return seconds, len(answers), explained


def with_alerts(
    work: Path, env: dict[str, str], headers: dict[str, str], bodies: list[bytes], n: int
) -> np.ndarray:
    """Per-request seconds of single declarations with `n` active alerts (few match)."""
    from riskscore.models.alert_book import AlertBook

    book = AlertBook(work / "var" / "alerts.sqlite")
    have = len(book.list(active_only=True))
    rng = np.random.default_rng(0)
    countries = ["CN", "CO", "EC", "AE", "TR", "VN", "IN", "BR", "NG", "PK"]
    modes = ["sea", "air", "road", "postal", "courier"]
    for i in range(have, n):  # a mix of criteria, as analysts write them
        heading = int(rng.integers(100, 9700))
        heading += 100 if heading // 100 == 77 else 0  # chapter 77 is reserved in the HS
        criteria: dict[str, list[str]] = {"hs": [f"{heading:04d}"]}
        if i % 2:
            criteria["origin"] = [str(rng.choice(countries))]
        if i % 3 == 0:
            criteria["mode"] = [str(rng.choice(modes))]
        if i % 5 == 0:
            criteria = {"importer": [f"IMP-BENCH-{i:05d}"]}
        book.add(criteria, "yellow", f"bench alert {i}", author="bench")
    book.close()
    server, port = start_ours(env, work)
    try:
        return single_latency(port, headers, bodies)
    finally:
        stop(server)


def start_ours(env: dict[str, str], work: Path) -> tuple[subprocess.Popen, int]:
    """`riskscore serve` on a free port, not polling the registry; ready when it returns."""
    port = free_port()
    server = start(
        [str(VENV_BIN / "riskscore"), "serve", "--port", str(port), "--reload-seconds", "0"],
        env,
        work,
    )
    try:
        wait_ready(port, "/readyz")
    except BaseException:
        stop(server)
        raise
    return server, port


def single_latency(port: int, headers: dict[str, str], bodies: list[bytes]) -> np.ndarray:
    """Milliseconds of 2000 sequential single-declaration requests, after 200 to warm up."""
    latency(port, headers, bodies, 200)
    return latency(port, headers, bodies, 2000) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/riskscore-serving-bench"))
    parser.add_argument("--declarations", type=int, default=120_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--skip-baseline", action="store_true", help="only our server")
    parser.add_argument("--data", choices=("demo", "kcs"), default="demo")
    parser.add_argument("--kcs-dir", type=Path, default=KCS_DIR)
    parser.add_argument(
        "--alerts", type=int, default=1000, help="active analyst alerts for a second p50 run"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the throughput part: apt-get install wrk")
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    if args.data == "kcs":
        key = prepare_kcs(work, args.kcs_dir)
    else:
        key = prepare(work, args.declarations)
    env = env_for(work)
    sample = records(work, 20, args.data)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    single = [json.dumps({"declarations": [r], "top_k": 5}).encode() for r in sample]
    score_only = [json.dumps({"declarations": [r], "top_k": 0}).encode() for r in sample]
    mlflow_bodies = [json.dumps({"dataframe_records": [r]}).encode() for r in sample]

    ours, port = start_ours(env, work)
    try:
        seconds = single_latency(port, headers, single)
        model = json.loads(get(port, "/v1/model", headers))
        ours_rps = wrk(port, "/v1/score", score_only, headers, args.seconds)
        batch_s, batch_n, batch_explained = batch(port, key, work, 100_000, args.data)
    finally:
        stop(ours)
    alerted = with_alerts(work, env, headers, single, args.alerts) if args.alerts else None

    mlflow_rps = mlflow_p50 = float("nan")
    port = free_port()
    baseline = (
        None
        if args.skip_baseline
        else start(
            [
                str(VENV_BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                "models:/customs-risk@champion",
                "--env-manager",
                "local",
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
            ],
            env,
            work,
        )
    )
    if baseline is not None:
        try:
            wait_ready(port, "/ping")
            invocations = {"Content-Type": "application/json"}
            latency(port, invocations, mlflow_bodies, 200, "/invocations")  # warm-up
            mlflow_p50 = float(
                np.median(latency(port, invocations, mlflow_bodies, 2000, "/invocations")) * 1000
            )
            mlflow_rps = wrk(
                port,
                "/invocations",
                mlflow_bodies,
                {"Content-Type": "application/json"},
                args.seconds,
            )
        finally:
            stop(baseline)

    p50, p99 = np.percentile(seconds, [50, 99])
    explainer = model.get("explainer") or {}
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(
        f"model: {args.data}, {model.get('info', {}).get('shape', '?')}; explainer "
        f"{explainer.get('kind')}, {explainer.get('trees')} trees, {explainer.get('leaves')} leaves"
    )
    print(f"one declaration, score + top-5 reasons, HTTP keep-alive, n={len(seconds)}:")
    print(f"  p50 {p50:.2f} ms (budget 2)   p99 {p99:.2f} ms (budget 10)")
    print(
        f"  mlflow models serve, score only: p50 {mlflow_p50:.2f} ms "
        f"(ours / theirs {p50 / mlflow_p50:.2f}, budget <= 0.5)"
    )
    if alerted is not None:
        a50, a99 = np.percentile(alerted, [50, 99])
        print(
            f"  with {args.alerts} active alerts: p50 {a50:.2f} ms, p99 {a99:.2f} ms "
            f"(p50 ratio to none {a50 / p50:.2f})"
        )
    print("throughput, score only, wrk 8 connections:")
    print(f"  riskscore serve       {ours_rps:8.0f} req/s")
    print(f"  mlflow models serve   {mlflow_rps:8.0f} req/s")
    print(f"  ratio                 {ours_rps / mlflow_rps:8.1f}x (budget >= 3x)")
    print(
        f"batch: {batch_n:,} declarations in {batch_s:.2f} s (budget 10 s), "
        f"{batch_explained:,} explained (red and yellow)"
    )
    figures = {
        "p50_ms": p50,
        "p99_ms": p99,
        "mlflow_p50_ms": mlflow_p50,
        "req_per_s": ours_rps,
        "batch_100k_s": batch_s,
    }
    if alerted is not None:
        figures["p50_ms_with_alerts"] = float(np.percentile(alerted, 50))
        figures["alerts"] = args.alerts
    print(json.dumps(figures))  # for bench/ab.py


if __name__ == "__main__":
    main()
