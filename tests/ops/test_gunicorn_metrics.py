"""/metrics under gunicorn with two worker processes: every worker's counts, summed.

Runs deploy/gunicorn.conf.py as production does. On PostgreSQL gunicorn uses the test
database (committed data, so it sees the queue); on SQLite an empty file, so only the
counters that need no database are checked there.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.ops.conftest import parse_metrics, sample
from tests.reviews.factories import routed_items
from tests.worker import PROJECT_DIR, database_url, wait_until

ROUTE = "api-model-active"
PATH = "/api/v1/models/active/"  # answers 401 without a key: no database needed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, *, request_id: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id} if request_id else {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Gunicorn:
    def __init__(self, *, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py"],
            cwd=PROJECT_DIR,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
            stdin=subprocess.DEVNULL,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    def worker_pids(self) -> set[int]:
        return {
            int(pid)
            for pid in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        }

    def stop(self) -> None:
        """SIGTERM the group (master and workers), then SIGKILL whatever is left."""
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture
def gunicorn(transactional_db, tmp_path) -> Iterator[Gunicorn]:
    if connection.vendor == "postgresql":
        db_url = database_url(connection.settings_dict, application_name="tests-ops-gunicorn")
    else:
        db_url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reviewapp.settings",
        "DATABASE_URL": db_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "WEB_CONCURRENCY": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "MODEL_ARTIFACT_DIR": str(settings.MODEL_ARTIFACT_DIR),
        "DATABASE_CONN_MAX_AGE": "0",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "counter_999999.db").write_bytes(b"stale file of an earlier run")
    server = Gunicorn(env=env, log=tmp_path / "gunicorn.log")
    try:
        wait_until(lambda: _answers(server), timeout=60, what="gunicorn to answer /healthz")
        yield server
    finally:
        server.stop()


def _answers(server: Gunicorn) -> bool:
    if server.process.poll() is not None:
        raise AssertionError(f"gunicorn exited:\n{server.log.read_text()}")
    try:
        return get(f"{server.base}/healthz")[0] == 200
    except OSError:
        return False


def test_metrics_sum_the_counts_of_every_worker(gunicorn, tmp_path):
    sent = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        deadline = time.monotonic() + 60
        while True:
            statuses = list(
                pool.map(lambda n: get(gunicorn.base + PATH, request_id=f"mp-{n}")[0], range(sent, sent + 8))
            )
            sent += 8
            assert set(statuses) == {401}
            served_by = {line["pid"] for line in gunicorn.lines() if line.get("route") == ROUTE}
            if len(served_by) >= 2 or time.monotonic() > deadline:
                break
    assert len(served_by) == 2, f"one worker served all {sent} requests"
    assert not (tmp_path / "prometheus" / "counter_999999.db").exists(), "the stale file was kept"

    status, body = get(f"{gunicorn.base}/metrics")

    assert status == 200
    samples = parse_metrics(body.decode())
    labels = {"route": ROUTE, "method": "GET"}
    assert sample(samples, "reviewapp_http_responses_total", **labels, status="401") == sent
    assert sample(samples, "reviewapp_http_request_duration_seconds_count", **labels) == sent

    # A worker that exits (here: is told to) is replaced; what it counted still counts.
    os.kill(next(iter(served_by)), signal.SIGTERM)
    wait_until(
        lambda: len(gunicorn.worker_pids() - served_by) >= 1 and len(gunicorn.worker_pids()) == 2,
        timeout=60,
        what="gunicorn to replace the worker",
    )
    wait_until(lambda: _answers(gunicorn), timeout=30, what="gunicorn to answer again")
    samples = parse_metrics(get(f"{gunicorn.base}/metrics")[1].decode())
    assert sample(samples, "reviewapp_http_responses_total", **labels, status="401") == sent


@pytest.mark.postgres
def test_queue_gauges_come_from_the_database_whichever_worker_answers(gunicorn, review_model, transactions):
    routed_items(records=transactions(4))

    for _ in range(4):
        samples = parse_metrics(get(f"{gunicorn.base}/metrics")[1].decode())
        assert sample(samples, "reviewapp_review_queue_items", state="pending") == 4
        assert sample(samples, "reviewapp_review_queue_oldest_age_seconds") > 0
