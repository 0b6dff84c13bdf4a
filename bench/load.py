"""Load benchmark of the scoring API on granian (serve.py), PostgreSQL, Redis and a Celery worker.

Starts the processes itself, drives them from the same machine with closed-loop clients and
prints requests/s, predictions/s, p50/p99 latency and the resident memory of each process;
after batches, also the rate of a plain COPY of the rows just stored and the API's ratio to it.
Requests are driven by wrk (C, a few per cent of a core at 1,000 requests/s; bench/wrk_scoring.lua
writes the bodies), so the load generator does not take the CPU the server is measured on;
locust (Python: 11-13 ms of CPU a 1,000-row batch, which it also reads back) on request.

    .venv/bin/python bench/load.py --mode single --users 16 --duration 30
    .venv/bin/python bench/load.py --mode single --client locust --users 16 --duration 30
    .venv/bin/python bench/load.py --mode batch --users 2 --duration 30
    .venv/bin/python bench/load.py --mode batch --client locust --users 2 --duration 30
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import signal
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
    parser.add_argument("--client", choices=["wrk", "locust"], default="wrk")
    parser.add_argument("--users", type=int, default=16, help="concurrent closed-loop clients")
    parser.add_argument("--duration", type=int, default=30, help="seconds of load after warm-up")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--web-workers", type=int, default=2, help="web server worker processes")
    parser.add_argument(
        "--threads", type=int, default=8, help="Python threads per web worker (serve.py's default)"
    )
    parser.add_argument(
        "--challenger",
        action="store_true",
        help="a second model version shadows the load (scored off the hot path): what that costs the API",
    )
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
        # The production default: one JSON access line per request (written to /dev/null).
        "LOG_LEVEL": "INFO",
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


def shadow_set(args: argparse.Namespace, env: dict[str, str]) -> None:
    """With --challenger, a staged version (trained once, kept) shadows the load; else none does."""
    import psycopg

    with psycopg.connect(args.database_url, autocommit=True) as connection:
        shadowing = connection.execute(
            "SELECT version FROM predictions_modelversion WHERE status = 'shadow'"
        ).fetchone()
        if not args.challenger:
            if shadowing:
                manage(env, "shadow_model", "--stop")
            return
        if shadowing:
            return
        staged = "SELECT max(version) FROM predictions_modelversion WHERE status = 'staged'"
        if connection.execute(staged).fetchone()[0] is None:
            manage(env, "train_model", "--rows", "30000", "--seed", "7")
        manage(env, "shadow_model", str(connection.execute(staged).fetchone()[0]))


def shadow_report(args: argparse.Namespace) -> None:
    """Whether the challenger kept up: the predictions of its shadow period it scored, at the end
    of the load and once the queue has drained."""
    import psycopg

    count = """
        SELECT count(*), count(s.id) FROM predictions_prediction p
        JOIN lifecycle_shadowperiod period ON period.ended_at IS NULL AND p.created_at >= period.started_at
        LEFT JOIN lifecycle_shadowscore s
            ON s.prediction_id = p.id AND s.model_version_id = period.model_version_id
    """
    with psycopg.connect(args.database_url, autocommit=True) as connection:
        made, shadowed = connection.execute(count).fetchone()
        print(
            f"shadow: {shadowed} of the {made} predictions made while shadowing scored at the end of the load"
        )
        started = time.monotonic()
        while shadowed < made and time.monotonic() - started < 300:
            time.sleep(1)
            made, shadowed = connection.execute(count).fetchone()
        print(f"shadow: {shadowed} of {made} scored {time.monotonic() - started:.0f} s later")


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_groups(*, web: int, worker: int) -> dict[str, list[int]]:
    def named(name: str) -> list[int]:
        out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    return {
        "web": [web, *children(web)],
        "celery": [worker, *children(worker)],
        "postgres": named("postgres"),
        "redis": named("redis-server"),
    }


def cpu_by_group(groups: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def run_load(
    args: argparse.Namespace, env: dict[str, str], workdir: Path, name: str
) -> dict[str, float] | None:
    """Drive the server for args.duration seconds; figures as requests, failures, rps and ms."""
    if args.client == "wrk":
        return run_wrk(args, env, workdir)
    return run_locust(args, env, workdir / name, required=name != "warmup")


def run_wrk(args: argparse.Namespace, env: dict[str, str], workdir: Path) -> dict[str, float]:
    pool = workdir / "pool.jsonl"
    if not pool.exists():
        sys.path.insert(0, str(ROOT))
        from predictions.training import DEMO_SCHEMA, frame_to_records, generate_transactions

        records = frame_to_records(generate_transactions(rows=5_000, seed=99), DEMO_SCHEMA)
        pool.write_text("".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records))
    result = subprocess.run(
        [
            "wrk",
            "--threads",
            "2",
            "--connections",
            str(args.users),
            "--duration",
            f"{args.duration}s",
            "--timeout",
            "10s",
            "--script",
            str(ROOT / "bench" / "wrk_scoring.lua"),
            f"http://127.0.0.1:{args.port}",
        ],
        env={
            **env,
            "BENCH_POOL": str(pool),
            "BENCH_MODE": args.mode,
            "BENCH_BATCH_SIZE": str(args.batch_size),
        },
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("WRK "))
    figures = dict(part.split("=") for part in line.split()[1:])
    seconds = int(figures["duration_us"]) / 1e6
    return {
        "requests": int(figures["requests"]),
        "failures": int(figures["errors"]),
        "rps": int(figures["requests"]) / seconds,
        **{key: int(figures[f"{key}_us"]) / 1000 for key in ("p50", "p90", "p99", "max")},
    }


def run_locust(
    args: argparse.Namespace, env: dict[str, str], prefix: Path, required: bool = True
) -> dict[str, float] | None:
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
    if not rows:
        return None
    row = rows[0]
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        **{key: float(row[column]) for key, column in [("p50", "50%"), ("p90", "90%"), ("p99", "99%")]},
        "max": float(row["Max Response Time"]),
    }


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="reviewapp-bench-"))
    env = environment(args, workdir)
    create_database(args.database_url)
    manage(env, "migrate", "--noinput")
    manage(env, "ensure_model")
    shadow_set(args, env)
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
            # Beat in the worker, as one process: it links the audit events into the hash
            # chain every 5 s, work each prediction costs in production too.
            "--beat",
            "--schedule",
            str(workdir / "celerybeat-schedule"),
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a process group of its own: stopped whole, see stop()
    )
    command, web_env = web_command(args, env)
    web = subprocess.Popen(
        command,
        cwd=ROOT,
        env=web_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{args.port}/healthz", time.monotonic() + 30)
        warm = argparse.Namespace(**{**vars(args), "duration": 10})
        run_load(warm, env, workdir, "warmup")  # loads the model in every worker
        groups = process_groups(web=web.pid, worker=worker.pid)
        before, client_before = cpu_by_group(groups), os.times()
        commits_before = commit_groups(args.port)
        stats = run_load(args, env, workdir, "run")
        after, client_after = cpu_by_group(groups), os.times()
        commits_after = commit_groups(args.port)
        spent = {name: after[name] - before[name] for name in groups}
        spent["load generator"] = (client_after.children_user + client_after.children_system) - (
            client_before.children_user + client_before.children_system
        )
        report(args, stats, web=web.pid, worker=worker.pid, cpu=spent)
        statements, rows = (
            after - before for after, before in zip(commits_after, commits_before, strict=True)
        )
        if statements:
            print(
                f"commit_groups statements={statements:.0f} rows={rows:.0f} "
                f"rows_per_statement={rows / statements:.2f}"
            )
        if args.challenger:
            shadow_report(args)
        if args.mode == "batch":
            copy_baseline(args, served_rows_per_s=stats["rps"] * args.batch_size)
    finally:
        stop(web, worker)


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """Stop each process and everything it started, whatever state it got to.

    Stopped by its own pid only, a Celery worker once left one of its processes behind,
    orphaned, which went on taking later runs' tasks from the bench queue, unmeasured. So each
    process's group is signalled whole, and whatever outlives the wait is killed.
    """
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        _signal_group(process, signal.SIGKILL)  # what is left of the group, if anything
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(process.pid, signum)


# The floor a database gives for the same rows: each stored prediction with its explanation as
# one row of a table with only a primary key, written with COPY, no checks, no audit, no index
# but the key's. What the API does per row beyond that is the ratio's other side.
_COPY_TABLE = """
    CREATE TABLE bench_copy_baseline (
        request_id text PRIMARY KEY, features jsonb NOT NULL, score float8 NOT NULL, label text NOT NULL,
        confidence float8 NOT NULL, routing text NOT NULL, base_value float8, contributions jsonb,
        created_at timestamptz NOT NULL
    )
"""
_STORED_ROWS = """
    SELECT p.request_id, p.features::text, p.score, p.label, p.confidence, p.routing, e.base_value,
           e."values"::text, p.created_at
    FROM predictions_prediction p JOIN predictions_explanation e ON e.prediction_id = p.id
    ORDER BY p.id DESC LIMIT %s
"""


def copy_baseline(args: argparse.Namespace, *, served_rows_per_s: float, rows: int = 50_000) -> None:
    """Time a plain COPY of rows the API just stored and print the API's rate against it."""
    import psycopg

    with psycopg.connect(args.database_url, autocommit=True) as connection:
        stored = connection.execute(_STORED_ROWS, [rows]).fetchall()
        connection.execute("DROP TABLE IF EXISTS bench_copy_baseline")
        connection.execute(_COPY_TABLE)
        started = time.perf_counter()
        with connection.cursor().copy(
            "COPY bench_copy_baseline (request_id, features, score, label, confidence, routing, "
            "base_value, contributions, created_at) FROM STDIN"
        ) as copy:
            for row in stored:
                copy.write_row(row)
        seconds = time.perf_counter() - started
        connection.execute("DROP TABLE bench_copy_baseline")
    copy_rate = len(stored) / seconds
    print(
        f"copy_baseline rows={len(stored)} rows/s={copy_rate:.0f} "
        f"api_rows/s={served_rows_per_s:.0f} api_to_copy={served_rows_per_s / copy_rate:.3f}"
    )


def web_command(args: argparse.Namespace, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """serve.py, as production starts the web server, on the bench's port, workers and threads."""
    settings = {
        "WEB_LISTEN": f"127.0.0.1:{args.port}",
        "WEB_CONCURRENCY": str(args.web_workers),
        "WEB_THREADS": str(args.threads),
    }
    return [str(BIN / "python"), "serve.py"], {**env, **settings}


def commit_groups(port: int) -> tuple[float, float]:
    """Statements the web processes' group commit ran so far, and the rows they stored
    (`reviewapp_prediction_commit_group_rows` on /metrics; batches are not counted there)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    figures = {"_count": 0.0, "_sum": 0.0}
    for line in text.splitlines():
        for suffix in figures:
            if line.startswith(f"reviewapp_prediction_commit_group_rows{suffix} "):
                figures[suffix] = float(line.split()[1])
    return figures["_count"], figures["_sum"]


def report(
    args: argparse.Namespace, stats: dict[str, float], *, web: int, worker: int, cpu: dict[str, float]
) -> None:
    rps = stats["rps"]
    rows = args.batch_size if args.mode == "batch" else 1
    print(
        f"mode={args.mode} client={args.client} users={args.users} duration={args.duration}s "
        f"web_workers={args.web_workers} threads={args.threads} "
        f"challenger={'yes' if args.challenger else 'no'} cpus={os.cpu_count()}"
    )
    print(
        f"requests={stats['requests']:.0f} failures={stats['failures']:.0f} requests/s={rps:.1f} "
        f"predictions/s={rps * rows:.1f}"
    )
    print(
        f"latency_ms p50={stats['p50']:.1f} p90={stats['p90']:.1f} p99={stats['p99']:.1f} "
        f"max={stats['max']:.1f}"
    )
    # Where the machine's CPU went while the load ran: ms of CPU per request, by process group.
    per_request = {name: 1000 * seconds / max(stats["requests"], 1) for name, seconds in cpu.items()}
    print(
        "cpu_ms_per_request "
        + " ".join(f"{name.replace(' ', '_')}={ms:.2f}" for name, ms in per_request.items())
        + f" total={sum(per_request.values()):.2f} (machine: {os.cpu_count()} cores x {args.duration}s)"
    )
    for pid in children(web):
        print(f"web worker pid={pid} rss_mib={rss_mib(pid):.0f}")
    print(f"celery worker (main) pid={worker} rss_mib={rss_mib(worker):.0f}")
    for pid in children(worker):
        print(f"celery worker (child) pid={pid} rss_mib={rss_mib(pid):.0f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
