"""/metrics under the web server with two worker processes: every worker's counts, summed.

Runs serve.py as production does. On PostgreSQL the server uses the test database (committed
data, so it sees the queue); on SQLite an empty file, so only the counters that need no
database are checked there.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests import servers
from tests.ops.conftest import parse_metrics, sample, scrape_once_counted
from tests.reviews.factories import routed_items
from tests.servers import WebServer, web_environment
from tests.worker import database_url, wait_until

ROUTE = "api-model-active"
PATH = "/api/v1/models/active/"  # answers 401 without a key: no database needed


def get(url: str, *, request_id: str | None = None) -> tuple[int, bytes]:
    status, _, body = servers.get(url, headers={"X-Request-ID": request_id} if request_id else None)
    return status, body


@pytest.fixture
def web(transactional_db, tmp_path) -> Iterator[WebServer]:
    if connection.vendor == "postgresql":
        db_url = database_url(connection.settings_dict, application_name="tests-ops-web")
    else:
        db_url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    env = web_environment(
        database_url=db_url,
        tmp_path=tmp_path,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        DATABASE_CONN_MAX_AGE="0",
    )
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "counter_999999.db").write_bytes(b"stale file of an earlier run")
    server = WebServer(env=env, log=tmp_path / "web.log")
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def test_metrics_sum_the_counts_of_every_worker(web, tmp_path):
    sent = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        deadline = time.monotonic() + 60
        while True:
            statuses = list(
                pool.map(lambda n: get(web.base + PATH, request_id=f"mp-{n}")[0], range(sent, sent + 8))
            )
            sent += 8
            assert set(statuses) == {401}
            served_by = {line["pid"] for line in web.lines() if line.get("route") == ROUTE}
            if len(served_by) >= 2 or time.monotonic() > deadline:
                break
    assert len(served_by) == 2, f"one worker served all {sent} requests"
    assert not (tmp_path / "prometheus" / "counter_999999.db").exists(), "the stale file was kept"

    labels = {"route": ROUTE, "method": "GET"}
    samples = scrape_once_counted(
        f"{web.base}/metrics", "reviewapp_http_responses_total", sent, **labels, status="401"
    )

    assert sample(samples, "reviewapp_http_request_duration_seconds_count", **labels) == sent

    # A worker that exits (here: is told to) is replaced; what it counted still counts.
    os.kill(next(iter(served_by)), signal.SIGTERM)
    wait_until(
        lambda: len(web.worker_pids() - served_by) >= 1 and len(web.worker_pids()) == 2,
        timeout=60,
        what="the server to replace the worker",
    )
    web.wait_ready(timeout=30)
    samples = parse_metrics(get(f"{web.base}/metrics")[1].decode())
    assert sample(samples, "reviewapp_http_responses_total", **labels, status="401") == sent


@pytest.mark.postgres
def test_queue_gauges_come_from_the_database_whichever_worker_answers(web, review_model, transactions):
    routed_items(records=transactions(4))

    for _ in range(4):
        samples = parse_metrics(get(f"{web.base}/metrics")[1].decode())
        assert sample(samples, "reviewapp_review_queue_items", state="pending") == 4
        assert sample(samples, "reviewapp_review_queue_oldest_age_seconds") > 0
