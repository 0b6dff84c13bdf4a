"""/metrics is right however gunicorn is started, or refuses to answer.

Started without deploy/gunicorn.conf.py (`gunicorn -w 2 reviewapp.wsgi`), the workers set a
shared metrics directory up themselves (reviewapp/wsgi.py), named after their master; if that
cannot be done, a worker refuses to serve its own share of the counts as if it were all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from tests.ops.conftest import parse_metrics, sample
from tests.servers import Gunicorn, get, web_environment

ROUTE = "api-model-active"
PATH = "/api/v1/models/active/"  # answers 401 without a key: no database needed


@pytest.fixture
def start_gunicorn(tmp_path) -> Iterator[Callable[..., Gunicorn]]:
    servers: list[Gunicorn] = []

    def start(*args: str) -> Gunicorn:
        env = web_environment(
            database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
            tmp_path=tmp_path,
            TMPDIR=str(tmp_path),  # where the workers make their directory: gone with the test's
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        server = Gunicorn(env=env, log=tmp_path / f"gunicorn-{len(servers)}.log", args=args)
        servers.append(server)
        return server.wait_ready()

    yield start
    for server in servers:
        server.stop()


def requests_until_both_workers_served(server: Gunicorn) -> int:
    sent = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        deadline = time.monotonic() + 60
        while True:
            statuses = list(pool.map(lambda _: get(server.base + PATH)[0], range(8)))
            sent += 8
            assert set(statuses) == {401}
            served_by = {line["pid"] for line in server.lines() if line.get("route") == ROUTE}
            if len(served_by) >= 2:
                return sent
            assert time.monotonic() < deadline, f"one worker served all {sent} requests"


def metrics_directory(server: Gunicorn) -> str:
    (line,) = [line for line in server.lines() if "without deploy/gunicorn.conf.py" in line["message"]][:1]
    return line["message"].split(" in ", 1)[1].split(",", 1)[0]


@pytest.mark.parametrize("preload", [False, True], ids=["workers load the app", "--preload"])
def test_metrics_sum_every_worker_without_the_conf(start_gunicorn, preload):
    server = start_gunicorn(
        "--workers", "2", *(["--preload"] if preload else []), "reviewapp.wsgi:application"
    )

    sent = requests_until_both_workers_served(server)
    scrapes = [get(f"{server.base}/metrics") for _ in range(4)]  # whichever worker answers

    for status, _headers, body in scrapes:
        assert status == 200
        samples = parse_metrics(body.decode())
        assert (
            sample(samples, "reviewapp_http_responses_total", route=ROUTE, method="GET", status="401") == sent
        )
    # One directory, named after this gunicorn's master: another gunicorn never shares it.
    assert f"reviewapp-metrics-{server.process.pid}-" in metrics_directory(server)


def test_two_gunicorns_without_the_conf_count_apart(start_gunicorn):
    first = start_gunicorn("--workers", "2", "reviewapp.wsgi:application")
    second = start_gunicorn("--workers", "2", "reviewapp.wsgi:application")

    sent = requests_until_both_workers_served(first)

    assert metrics_directory(first) != metrics_directory(second)
    samples = parse_metrics(get(f"{second.base}/metrics")[2].decode())
    assert sample(samples, "reviewapp_http_responses_total", route=ROUTE, method="GET", status="401") == 0
    samples = parse_metrics(get(f"{first.base}/metrics")[2].decode())
    assert sample(samples, "reviewapp_http_responses_total", route=ROUTE, method="GET", status="401") == sent


def test_a_gunicorn_worker_counting_alone_refuses_to_serve_metrics(db, monkeypatch, log_lines):
    # As when something imported prometheus_client before reviewapp.wsgi could set a directory:
    # this test process counts in memory, and now says it is a gunicorn worker.
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/27.0.1")

    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 500
    assert b"this gunicorn worker counts in its own memory" in response.content
    assert b"PROMETHEUS_MULTIPROC_DIR" in response.content
    (line,) = [line for line in log_lines() if line["message"].startswith("/metrics refused")]
    assert line["level"] == "ERROR"
