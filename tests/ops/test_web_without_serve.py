"""/metrics is right however the web server is started, or refuses to answer.

Started without serve.py (`granian --interface wsgi --workers 2 reviewapp.wsgi:application`),
the workers set a shared metrics directory up themselves (reviewapp/wsgi.py), named after their
master; if that cannot be done, a worker refuses to serve its own share of the counts as if it
were all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from reviewapp import metrics
from tests.ops.conftest import parse_metrics, sample, scrape_once_counted
from tests.servers import WebServer, get, web_environment

ROUTE = "api-model-active"
PATH = "/api/v1/models/active/"  # answers 401 without a key: no database needed
# granian's own command line, as an operator might start it instead of serve.py.
GRANIAN = (
    "-m",
    "granian",
    "--interface",
    "wsgi",
    "--host",
    "127.0.0.1",
    "--port",
    "{port}",
    "--workers",
    "2",
    "--no-ws",
    "reviewapp.wsgi:application",
)


@pytest.fixture
def start_granian(tmp_path) -> Iterator[Callable[[], WebServer]]:
    servers: list[WebServer] = []

    def start() -> WebServer:
        env = web_environment(
            database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
            tmp_path=tmp_path,
            TMPDIR=str(tmp_path),  # where the workers make their directory: gone with the test's
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        server = WebServer(env=env, log=tmp_path / f"granian-{len(servers)}.log", command=GRANIAN)
        servers.append(server)
        return server.wait_ready()

    yield start
    for server in servers:
        server.stop()


def requests_until_both_workers_served(server: WebServer) -> int:
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


def metrics_directory(server: WebServer) -> str:
    (line,) = [line for line in server.lines() if "without serve.py" in line["message"]][:1]
    return line["message"].split(" in ", 1)[1].split(",", 1)[0]


def test_metrics_sum_every_worker_without_serve_py(start_granian):
    server = start_granian()

    sent = requests_until_both_workers_served(server)
    scrape_once_counted(
        f"{server.base}/metrics",
        "reviewapp_http_responses_total",
        sent,
        route=ROUTE,
        method="GET",
        status="401",
    )
    scrapes = [get(f"{server.base}/metrics") for _ in range(4)]  # whichever worker answers

    for status, _headers, body in scrapes:
        assert status == 200
        samples = parse_metrics(body.decode())
        assert (
            sample(samples, "reviewapp_http_responses_total", route=ROUTE, method="GET", status="401") == sent
        )
    # One directory, named after this server's master: another server never shares it.
    assert f"reviewapp-metrics-{server.process.pid}-" in metrics_directory(server)


def test_two_servers_without_serve_py_count_apart(start_granian):
    first = start_granian()
    second = start_granian()

    sent = requests_until_both_workers_served(first)

    assert metrics_directory(first) != metrics_directory(second)
    scrape_once_counted(
        f"{first.base}/metrics",
        "reviewapp_http_responses_total",
        sent,
        route=ROUTE,
        method="GET",
        status="401",
    )
    samples = parse_metrics(get(f"{second.base}/metrics")[2].decode())
    assert sample(samples, "reviewapp_http_responses_total", route=ROUTE, method="GET", status="401") == 0


def test_a_server_worker_counting_alone_refuses_to_serve_metrics(db, monkeypatch, log_lines):
    # As when something imported prometheus_client before reviewapp.wsgi could set a directory:
    # this test process counts in memory, and now says it is a granian worker.
    monkeypatch.setattr(metrics, "in_server_worker", lambda: True)

    response = Client().get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 500
    assert b"this web server worker counts in its own memory" in response.content
    assert b"PROMETHEUS_MULTIPROC_DIR" in response.content
    (line,) = [line for line in log_lines() if line["message"].startswith("/metrics refused")]
    assert line["level"] == "ERROR"
