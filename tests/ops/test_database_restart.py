"""PostgreSQL restarting under traffic: 503 with Retry-After while it is away, never 500, and
nothing answered 201 lost; the web server heals by itself.

The shared server cannot be restarted from a test, so the web server reaches it through a proxy that
does to its connections what a restart does: drops every open one and refuses new ones
for a while, then lets them through again. Traffic runs throughout: scoring (the lean route),
the DRF API with an API key, and a page for a signed-in analyst (the queue's counts: a page
whose template needs no static files, which tests have no manifest for).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import requests
from django.db import connection
from django.test import Client

from predictions.models import Prediction
from tests.servers import WebServer, web_environment
from tests.worker import database_url, wait_until

pytestmark = pytest.mark.postgres


class RestartingProxy:
    """A TCP proxy to one server that can drop every connection and refuse new ones."""

    def __init__(self, *, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def down(self) -> None:
        """As PostgreSQL going down: open connections end, new ones are closed at once."""
        self.up.clear()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def close(self) -> None:
        self.down()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.up.is_set():
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                self._open |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._open -= {source, sink}


@dataclass
class Answers:
    """Every answer, by kind of request; shared by the traffic threads."""

    statuses: dict[str, Counter] = field(default_factory=dict)
    retry_after: Counter = field(default_factory=Counter)
    stored: list[str] = field(default_factory=list)  # request_ids answered 201 (or 200)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, response: requests.Response | None, request_id: str = "") -> None:
        status = "no answer" if response is None else response.status_code
        with self.lock:
            self.statuses.setdefault(kind, Counter())[status] += 1
            if response is not None and response.status_code == 503:
                self.retry_after[response.headers.get("Retry-After")] += 1
            if kind == "scoring" and status in (200, 201):
                self.stored.append(request_id)

    def count(self, kind: str, status: int) -> int:
        with self.lock:
            return self.statuses.get(kind, Counter())[status]

    def failures(self, kind: str) -> int:
        with self.lock:
            return sum(
                n for status, n in self.statuses.get(kind, Counter()).items() if status not in (200, 201)
            )


@pytest.fixture
def proxy() -> Iterator[RestartingProxy]:
    settings_dict = connection.settings_dict
    restarting = RestartingProxy(
        host=settings_dict["HOST"] or "127.0.0.1", port=int(settings_dict["PORT"] or 5432)
    )
    yield restarting
    restarting.close()


@pytest.fixture
def web(transactional_db, active_model, proxy, tmp_path) -> Iterator[WebServer]:
    through_proxy = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": str(proxy.port)}
    env = web_environment(
        database_url=database_url(through_proxy, application_name="tests-ops-restart"),
        tmp_path=tmp_path,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        REDIS_URL="",  # no broker: routing runs in-process, as it does when Redis is away
    )
    server = WebServer(env=env, log=tmp_path / "web.log")
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def run_traffic(answers: Answers, stop: threading.Event, send: Callable[[requests.Session], None]) -> None:
    with requests.Session() as session:
        while not stop.is_set():
            send(session)


def test_a_restart_under_traffic_answers_503_never_500_and_loses_nothing(
    web, proxy, api_key_and_secret, make_user, transactions
):
    key = {"Authorization": f"Api-Key {api_key_and_secret[1]}"}
    browser = Client()
    browser.force_login(make_user("analyst"))
    cookie = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}", "Accept": "text/html"}
    records = itertools.cycle(transactions(500))  # each sent under a new request_id
    records_lock = threading.Lock()
    answers = Answers()

    def score(session: requests.Session) -> None:
        request_id = f"restart-{uuid.uuid4().hex}"
        with records_lock:
            features = next(records)
        try:
            response = session.post(
                f"{web.base}/api/v1/predictions/",
                json={"request_id": request_id, "features": features},
                headers=key,
                timeout=30,
            )
        except requests.ConnectionError:
            response = None
        answers.add("scoring", response, request_id)

    def read(kind: str, path: str, headers: dict[str, str]) -> Callable[[requests.Session], None]:
        def send(session: requests.Session) -> None:
            try:
                response = session.get(f"{web.base}{path}", headers=headers, timeout=30)
            except requests.ConnectionError:
                response = None
            answers.add(kind, response)

        return send

    senders = [
        score,
        score,
        score,
        read("api", "/api/v1/models/active/", key),
        read("page", "/reviews/counts/", cookie),
    ]
    stop = threading.Event()
    threads = [threading.Thread(target=run_traffic, args=(answers, stop, send)) for send in senders]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: answers.count("scoring", 201) >= 30, timeout=60, what="scoring to run")
        proxy.down()
        wait_until(
            lambda: all(answers.failures(kind) >= 3 for kind in ("scoring", "api", "page")),
            timeout=60,
            what="every kind of request to meet the outage",
        )
        stored_before = answers.count("scoring", 201)
        proxy.up.set()
        wait_until(
            lambda: (
                answers.count("scoring", 201) >= stored_before + 30
                and answers.count("api", 200) >= 3
                and answers.count("page", 200) >= 3
            ),
            timeout=60,
            what="the web server to heal",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    assert set(answers.statuses["scoring"]) <= {200, 201, 503}, answers.statuses
    assert set(answers.statuses["api"]) <= {200, 503}, answers.statuses
    assert set(answers.statuses["page"]) <= {200, 503}, answers.statuses
    assert set(answers.retry_after) == {"5"}
    stored = set(
        Prediction.objects.filter(request_id__in=answers.stored).values_list("request_id", flat=True)
    )
    assert stored == set(answers.stored)
    assert not [line for line in web.lines() if line.get("status") == 500]
