"""Load benchmark of the scoring API on gunicorn, PostgreSQL, Redis and a Celery worker.

Starts the processes itself, drives them with locust (headless, closed loop, same machine) and
prints requests/s, predictions/s, p50/p99 latency and the resident memory of each process.

    .venv/bin/python bench/load.py --mode single --users 16 --duration 30
    .venv/bin/python bench/load.py --mode batch --users 2 --duration 30
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["single", "batch"], default="single")
    parser.add_argument("--users", type=int, default=16, help="concurrent closed-loop clients")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load after warm-up")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="gthread", help="as deploy/gunicorn.conf.py")
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    parser.add_argument("--port", type=int, default=8020)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/reviewapp_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    return parser.parse_args()


def environment(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        # One key drives the whole load: measure throughput, not the per-key rate limit.
        "API_RATE_LIMIT": "100000000/min",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_QUEUE": "bench",
        "MODEL_ARTIFACT_DIR": str(ROOT / "var" / "bench-models"),
        "STATIC_ROOT": str(workdir / "static"),
        "OMP_NUM_THREADS": "1",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def manage(env: dict[str, str], *command: str) -> str:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *command],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def wait_until_up(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def run_locust(
    args: argparse.Namespace, env: dict[str, str], prefix: Path, required: bool = True
) -> dict[str, str] | None:
    result = subprocess.run(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(args.users),
            "-r",
            str(args.users),
            "-t",
            f"{args.duration}s",
            "--host",
            f"http://127.0.0.1:{args.port}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**env, "BENCH_MODE": args.mode, "BENCH_BATCH_SIZE": str(args.batch_size)},
        check=False,
        capture_output=True,
        text=True,
    )
    with open(f"{prefix}_stats.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == args.mode]
    if not rows and required:
        raise SystemExit(f"locust made no requests:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return rows[0] if rows else None


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="reviewapp-bench-"))
    env = environment(args, workdir)
    create_database(args.database_url)
    manage(env, "migrate", "--noinput")
    manage(env, "ensure_model")
    api_key = manage(env, "create_api_key", f"bench-{int(time.time())}").strip()
    env["BENCH_API_KEY"] = api_key
    worker = subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "reviewapp",
            "worker",
            "-Q",
            "bench",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    web = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "reviewapp.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.web_workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{args.port}/healthz", time.monotonic() + 30)
        warm = argparse.Namespace(**{**vars(args), "duration": 10})
        run_locust(warm, env, workdir / "warmup", required=False)  # loads the model in every worker
        stats = run_locust(args, env, workdir / "run")
        report(args, stats, web=web.pid, worker=worker.pid)
    finally:
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            process.wait(timeout=30)


def report(args: argparse.Namespace, stats: dict[str, str], *, web: int, worker: int) -> None:
    requests = int(stats["Request Count"])
    failures = int(stats["Failure Count"])
    rps = float(stats["Requests/s"])
    rows = args.batch_size if args.mode == "batch" else 1
    print(
        f"mode={args.mode} users={args.users} duration={args.duration}s web_workers={args.web_workers} "
        f"cpus={os.cpu_count()}"
    )
    print(f"requests={requests} failures={failures} requests/s={rps:.1f} predictions/s={rps * rows:.1f}")
    print(
        f"latency_ms p50={stats['50%']} p90={stats['90%']} p99={stats['99%']} "
        f"max={stats['Max Response Time']}"
    )
    for pid in children(web):
        print(f"gunicorn worker pid={pid} rss_mib={rss_mib(pid):.0f}")
    print(f"celery worker (main) pid={worker} rss_mib={rss_mib(worker):.0f}")
    for pid in children(worker):
        print(f"celery worker (child) pid={pid} rss_mib={rss_mib(pid):.0f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
