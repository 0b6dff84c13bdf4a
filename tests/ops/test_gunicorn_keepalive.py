"""gunicorn keeps an idle connection open longer than a load balancer's idle timeout.

With gunicorn's default of 2 s, a balancer (or a client polling every 2 s on one session)
sends its next request on a connection gunicorn has just closed: 502 or "Connection aborted".
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from tests.servers import Gunicorn, web_environment
from tests.worker import wait_until

IDLE_SECONDS = 3  # longer than gunicorn's default keep-alive, far shorter than ours


@pytest.fixture
def start_gunicorn(tmp_path) -> Iterator[Callable[..., Gunicorn]]:
    servers: list[Gunicorn] = []

    def start(**extra: str) -> Gunicorn:
        env = web_environment(
            database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}",  # /healthz needs none
            tmp_path=tmp_path,
            WEB_CONCURRENCY="1",
            **extra,
        )
        server = Gunicorn(env=env, log=tmp_path / f"gunicorn-{len(servers)}.log")
        servers.append(server)
        return server.wait_ready()

    yield start
    for server in servers:
        server.stop()


def healthz(connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
    """GET /healthz on the connection, read whole (http.client reconnects only if told to)."""
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    return response


def closed_by_server(connection: socket.socket) -> bool:
    connection.setblocking(False)
    try:
        return connection.recv(1) == b""
    except BlockingIOError:
        return False  # open, nothing to read
    finally:
        connection.setblocking(True)


def test_an_idle_connection_outlives_gunicorns_default_and_is_reused(start_gunicorn):
    server = start_gunicorn()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        first = healthz(connection)
        kept = connection.sock
        time.sleep(IDLE_SECONDS)  # idle on purpose: what a load balancer's pooled connection does
        assert not closed_by_server(kept)
        second = healthz(connection)

        assert connection.sock is kept  # the same connection, not a new one
    finally:
        connection.close()
    assert (first.status, second.status) == (200, 200)
    assert first.getheader("Connection") == second.getheader("Connection") == "keep-alive"


def test_the_keep_alive_is_configurable(start_gunicorn):
    server = start_gunicorn(GUNICORN_KEEPALIVE="1")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        healthz(connection)
        kept = connection.sock
        wait_until(lambda: closed_by_server(kept), timeout=IDLE_SECONDS + 2, what="gunicorn to close it")
    finally:
        connection.close()
