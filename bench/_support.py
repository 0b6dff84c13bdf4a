"""What the bench scripts share: a PostgreSQL database of their own, Django set up as in
production (DEBUG off) and pointed at it, a seed run step by step in one transaction, index
sets put in place or taken away, and requests timed through the test client with their plans.

Imported by the scripts beside it (`python bench/<script>.py` puts bench/ on the path); Django
is imported only once `configure` has set its environment.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def parser(description: str | None, database_url: str) -> argparse.ArgumentParser:
    """The options every seeded bench has; the script adds its own after them."""
    result = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    result.add_argument("--database-url", default=database_url)
    result.add_argument("--rows", type=int, default=1_000_000, help="predictions to seed")
    result.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    return result


def timing_options(parser: argparse.ArgumentParser, *, each: str) -> None:
    parser.add_argument("--runs", type=int, default=30, help=f"timed runs per {each}, after warm-up")
    parser.add_argument("--warmup", type=int, default=3)


# --- the database and Django ---------------------------------------------------------------


def create_database(url: str, *, drop: bool = False) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        if drop:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def configure(database_url: str, *, models: str) -> None:
    """The environment of a production process (DEBUG off), pointed at the bench database;
    model artifacts in var/<models>."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="reviewapp.settings",
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key",
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",  # the test client speaks plain HTTP
        DATABASE_URL=database_url,
        REDIS_URL="",
        MODEL_ARTIFACT_DIR=str(ROOT / "var" / models),
        OMP_NUM_THREADS="1",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    # whitenoise warns that there is no collectstatic output; nothing here serves static files.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.conf import settings

    # No collectstatic here: the plain storage, as in the tests (its URLs cost the same).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def migrate() -> None:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrate: {time.perf_counter() - started:.1f} s")


def seeded_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM predictions_prediction")
        return cursor.fetchone()[0]


def database_ready(
    args: argparse.Namespace, *, models: str, seed: Callable[[argparse.Namespace], None]
) -> None:
    """Create (or with --reseed recreate) the database, set Django up on it, migrate, and seed
    it unless it already holds --rows predictions."""
    create_database(args.database_url, drop=args.reseed)
    configure(args.database_url, models=models)
    from predictions.models import ModelVersion

    print(f"database {args.database_url.rsplit('/', 1)[1]}, cpus={os.cpu_count()}")
    migrate()
    count = seeded_count()
    if count != args.rows:
        if count or ModelVersion.objects.exists():
            raise SystemExit(
                f"{count:,} predictions there, not {args.rows:,} (or a seed failed): use --reseed"
            )
        seed(args)
    else:
        print(f"seed: {count:,} predictions already there; skipping (--reseed to start over)")


# --- seeding -----------------------------------------------------------------------------

Step = Callable[[Any, dict[str, Any]], int]


def seed_steps(
    *,
    started: float,
    load_pool: Callable[[Any], None],
    steps: Sequence[tuple[str, Step]],
    context: dict[str, Any],
    tables: Sequence[str],
) -> None:
    """In one transaction: the pool of rows, then each step (an INSERT ... SELECT returning its
    row count), timed; then VACUUM ANALYZE of the tables and the total since `started`."""
    from django.db import transaction

    with transaction.atomic():
        cursor = session_cursor()
        load_pool(cursor)
        for label, step in steps:
            step_started = time.perf_counter()
            count = step(cursor, context)
            elapsed = time.perf_counter() - step_started
            print(f"seed: {count:>9,} {label} in {elapsed:5.1f} s ({count / elapsed:,.0f} rows/s)")
    vacuum_started = time.perf_counter()
    vacuum_analyze(tables)
    print(f"seed: VACUUM ANALYZE in {time.perf_counter() - vacuum_started:.1f} s")
    print(f"seed: total {time.perf_counter() - started:.1f} s")


def session_cursor() -> Any:
    from django.db import connection

    cursor = connection.cursor()
    # Session settings only: nothing here changes the shared server's configuration.
    cursor.execute("SET LOCAL synchronous_commit = off")
    cursor.execute("SET LOCAL work_mem = '256MB'")  # one-batch hash joins keep the insert order
    cursor.execute("SELECT setseed(0.42)")
    return cursor


def vacuum_analyze(tables: Sequence[str]) -> None:
    """What autovacuum would reach in time: statistics and the visibility map."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def people(*, analysts: Sequence[str], auditors: Sequence[str] = ()) -> dict[str, int]:
    """Analysts who decide and auditors who read: their ids by name."""
    from django.contrib.auth.models import Group, User

    from reviewapp.roles import ANALYST, AUDITOR

    ids = {}
    for names, role in ((analysts, ANALYST), (auditors, AUDITOR)):
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            user, _ = User.objects.get_or_create(username=name)
            user.groups.add(group)
            ids[name] = user.pk
    return ids


# --- indexes -------------------------------------------------------------------------------


def migration_indexes(suffix: str) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]]]:
    """(model, index) for each index that the migrations named *<suffix> add, and for each they
    remove (its definition taken from the migration that added it)."""
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    added, removed_names = [], set()
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if not name.endswith(suffix):
            continue
        for operation in migration.operations:
            if hasattr(operation, "index"):
                added.append((apps.get_model(app, operation.model_name), operation.index))
            else:
                removed_names.add(operation.name)
    removed = [
        (apps.get_model(app, operation.model_name), operation.index)
        for (app, _), migration in sorted(loader.disk_migrations.items())
        for operation in migration.operations
        if getattr(getattr(operation, "index", None), "name", None) in removed_names
    ]
    return added, removed


def indexes_put(suffix: str, *, present: bool) -> None:
    """The indexes as the migrations named *<suffix> leave them, or as they were before them
    (for the figures without): built concurrently where missing, dropped where not wanted.

    Done beside the migrations rather than by migrating back, which would also undo any later
    migration of the same apps.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        existing = {row[0] for row in cursor.fetchall()}
    added, removed = migration_indexes(suffix)
    wanted = [(model, index, present) for model, index in added] + [(m, i, not present) for m, i in removed]
    for model, index, want in wanted:
        if want == (index.name in existing):
            continue
        started = time.perf_counter()
        if want:
            with connection.schema_editor(atomic=False) as editor:
                editor.add_index(model, index, concurrently=True)
        else:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP INDEX "{index.name}"')
        print(f"{'built' if want else 'dropped'} index {index.name} in {time.perf_counter() - started:.1f} s")


# --- measuring ---------------------------------------------------------------------------


def logged_in_client(username: str) -> Any:
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(
    client: Any,
    name: str,
    path: str,
    params: Callable[[int], dict[str, Any]],
    *,
    runs: int,
    warmup: int,
    runs_if_slow: int | None = None,
) -> dict[str, Any]:
    """GET `path` with params(i) `runs` times after `warmup` runs: p50, p95 and max in ms, this
    process's CPU ms (p50); then once more to capture its queries ("queries", "response").

    With `runs_if_slow`, a request whose warm-up took over a second a run is run only that many
    times: a few runs show it is plainly too slow without hogging a shared machine for minutes.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    for i in range(warmup):
        client.get(path, params(i + 100))
    if runs_if_slow is not None and time.perf_counter() - started >= warmup:
        runs = runs_if_slow
    timings, cpu = [], []
    for i in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(path, params(i))
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{name}: HTTP {response.status_code} {response.content[:300]!r}")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params(0))
    timings.sort()
    cpu.sort()
    return {
        "name": name,
        "p50": timings[len(timings) // 2],
        "p95": timings[math.ceil(0.95 * len(timings)) - 1],
        "max": timings[-1],
        "cpu": cpu[len(cpu) // 2],
        "runs": runs,
        "queries": captured.captured_queries,
        "response": response,
    }


def explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cursor.fetchall()]


def plan_summary(plan: list[str], node: Callable[[str], str | None]) -> str:
    """A plan in one line: what `node` makes of each node's head (None: left out), then the
    execution time, and JIT if it compiled."""
    parts = []
    for line in plan:
        part = node(line.strip().removeprefix("->").strip().split("  (")[0])
        if part is not None:
            parts.append(part)
    timing = next((line.strip() for line in plan if line.startswith("Execution Time")), "")
    jit = " JIT" if any(line.startswith("JIT") for line in plan) else ""
    return f"{'; '.join(parts)} | {timing}{jit}"
