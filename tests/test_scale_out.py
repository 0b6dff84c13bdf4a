"""Scale-out on one machine: two web servers and two Celery workers on one PostgreSQL and one
Redis, with one beat, and traffic spread over both web servers.

What must hold however many processes serve: one prediction per request_id whichever server
is asked and however many times at once, every low-confidence prediction routed into the queue
exactly once, two analysts on different servers never handed the same item, the audit chain
intact, and scheduled tasks sent once however many workers consume them.

Everything runs as in production (serve.py, `celery worker`, `celery beat`) on
the test database and a Redis queue of this test's own.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from io import StringIO

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client

from audit.models import AuditLink, AuditPending
from predictions import registry, services
from predictions.models import Prediction
from reviews.models import Decision, ReviewItem
from reviews.selectors import review_digest
from tests.servers import Background, WebServer, web_environment
from tests.worker import CeleryWorker, database_url, purge_queue, wait_until, worker_environment

pytestmark = pytest.mark.integration

AUDIT_LINK_EVERY_SECONDS = 5  # reviewapp/celery.py: audit-chain-extend


@dataclass
class Cluster:
    webs: list[WebServer]
    workers: list[CeleryWorker]
    beat: Background
    api_key: str


def database_sessions(prefix: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s", [f"{prefix}%"])
        return cursor.fetchone()[0]


@pytest.fixture
def cluster(transactional_db, active_model, tmp_path) -> Iterator[Cluster]:
    queue = f"reviewapp-scale-{uuid.uuid4().hex[:12]}"
    purge_queue(redis_url=settings.REDIS_URL, queue=queue)
    _, secret = services.api_key_create(name="checkout")
    production_like = {
        "MODEL_REFRESH_SECONDS": "2",
        "API_KEY_CACHE_SECONDS": "10",
        "AUDIT_LINK_ON_COMMIT": "0",  # linking is beat's: every 5 s
        "LOG_FORMAT": "json",
    }
    env = worker_environment(queue=queue, **production_like)
    webs = [
        WebServer(
            env=web_environment(
                database_url=database_url(connection.settings_dict, application_name=f"{queue}-web{n}"),
                tmp_path=tmp_path,
                REDIS_URL=settings.REDIS_URL,
                CELERY_QUEUE=queue,
                PROMETHEUS_MULTIPROC_DIR=str(tmp_path / f"metrics-{n}"),
                **production_like,
            ),
            log=tmp_path / f"web{n}.log",
        )
        for n in (1, 2)
    ]
    workers = [CeleryWorker(env=env, queue=queue, hostname=f"{queue}-{n}@%h") for n in (1, 2)]
    beat = None
    try:
        for worker in workers:
            worker.start()
        beat = Background(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "reviewapp",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(tmp_path / "beat-schedule"),
            ],
            env=env,
            log=tmp_path / "beat.log",
        )
        for web in webs:
            web.wait_ready()
        yield Cluster(webs=webs, workers=workers, beat=beat, api_key=secret)
    finally:
        for process in [*webs, *([beat] if beat else [])]:
            process.stop()
        for worker in workers:
            worker.kill()
        purge_queue(redis_url=settings.REDIS_URL, queue=queue)
        # The flush that ends the test must not wait on their database sessions.
        wait_until(lambda: database_sessions(queue) == 0, timeout=30, what="their database sessions to end")


def score(cluster: Cluster, n: int, request_id: str, features: dict) -> requests.Response:
    """Scoring request number n, sent to web server n % 2."""
    return requests.post(
        f"{cluster.webs[n % 2].base}/api/v1/predictions/",
        json={"request_id": request_id, "features": features},
        headers={"Authorization": f"Api-Key {cluster.api_key}"},
        timeout=30,
    )


def scored(active_model, transactions, *, uncertain: bool, count: int, seed: int) -> list[dict]:
    """Transactions the active model is sure (or unsure) about."""
    records = transactions(2_000, seed=seed)
    scores = registry.get_active_model().scorer.score(records)
    chosen = [
        r
        for r, s in zip(records, scores, strict=True)
        if (s.confidence < active_model.review_threshold) == uncertain
    ]
    assert len(chosen) >= count
    return chosen[:count]


def test_two_web_servers_and_two_workers_stay_correct(cluster, active_model, transactions, make_user):
    sure = scored(active_model, transactions, uncertain=False, count=16, seed=31)
    unsure = scored(active_model, transactions, uncertain=True, count=24, seed=32)

    one_prediction_per_request_id_from_both_servers(cluster, sure)
    items = low_confidence_routed_exactly_once(cluster, unsure)
    analysts_on_two_servers_never_share_an_item(
        cluster, items, [make_user("analyst", f"analyst-{n}") for n in (1, 2)]
    )
    the_audit_chain_is_linked_by_beat_and_verifies()
    scheduled_tasks_are_sent_once(cluster)


def one_prediction_per_request_id_from_both_servers(cluster: Cluster, sure: list[dict]) -> None:
    """The same request_id sent to both servers at once: one 201, the original answer as 200 to
    every repeat, 409 to the same request_id with other features; one row, one audit event."""
    sends = []  # (request_id, which features, features)
    for k in range(8):  # each sent 6 times with the same features
        sends += [(f"dup-{k}", "a", sure[k])] * 6
    for k in range(4):  # 4 times with one set of features, twice with another
        sends += [(f"clash-{k}", "a", sure[8 + k])] * 4 + [(f"clash-{k}", "b", sure[12 + k])] * 2
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(lambda n: (sends[n], score(cluster, n, sends[n][0], sends[n][2])), range(len(sends)))
        )

    by_request: dict[str, list[tuple[str, int, dict]]] = defaultdict(list)
    for (request_id, variant, _), response in answers:
        by_request[request_id].append((variant, response.status_code, response.json()))
    for request_id, got in by_request.items():
        created = [(variant, body) for variant, status, body in got if status == 201]
        assert len(created) == 1, f"{request_id}: {[status for _, status, _ in got]}"
        winner, original = created[0]
        for variant, status, body in got:
            if variant == winner and status != 201:
                assert (status, body) == (200, original), request_id
            elif variant != winner:
                assert status == 409, request_id
    assert Prediction.objects.filter(request_id__in=by_request).count() == len(by_request)
    stored = list(Prediction.objects.filter(request_id__in=by_request).values_list("pk", flat=True))
    in_chain = Counter(
        [
            *AuditPending.objects.filter(source="prediction", object_id__in=stored).values_list(
                "object_id", flat=True
            ),
            *AuditLink.objects.filter(source="prediction", object_id__in=stored).values_list(
                "object_id", flat=True
            ),
        ]
    )
    assert in_chain == Counter(stored)  # each once, linked or queued


def low_confidence_routed_exactly_once(cluster: Cluster, unsure: list[dict]) -> list[ReviewItem]:
    """Each sent to both servers at once; routed by both workers, one review item each."""
    routed_ids = [f"unsure-{k}" for k in range(len(unsure))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda n: score(cluster, n, routed_ids[n // 2], unsure[n // 2]).status_code, range(48))
        )
    assert sorted(Counter(statuses).items()) == [(200, 24), (201, 24)]

    def routed() -> int:
        return Prediction.objects.filter(
            request_id__in=routed_ids, routing_state=Prediction.RoutingState.DONE
        ).count()

    wait_until(lambda: routed() == len(routed_ids), timeout=30, what="every low-confidence prediction routed")
    items = list(ReviewItem.objects.filter(prediction__request_id__in=routed_ids))
    assert sorted(item.prediction.request_id for item in items) == sorted(routed_ids)
    assert ReviewItem.objects.count() == len(routed_ids)  # the confident ones were not routed
    routing_runs = Counter(
        worker.hostname
        for worker in cluster.workers
        for line in worker_lines(worker)
        if line.get("message") == "task started" and line.get("task") == "reviews.tasks.review_items_route"
    )
    assert len(routing_runs) == 2, f"one worker did all the routing: {routing_runs}"
    return items


def analysts_on_two_servers_never_share_an_item(cluster: Cluster, items: list[ReviewItem], analysts) -> None:
    """Each works the queue through a server of their own, at the same time, until it is empty."""
    decided: dict[str, list[int]] = {}

    def work_the_queue(n: int) -> None:
        try:
            decided[analysts[n].username] = work(cluster.webs[n].base, analysts[n])
        finally:
            connection.close()  # this thread's: the test database is dropped at the end

    threads = [threading.Thread(target=work_the_queue, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    first, second = (decided[analyst.username] for analyst in analysts)
    assert first and second, "one analyst had the queue to themselves"
    assert not set(first) & set(second), "an item was handed to both analysts"
    assert sorted(first + second) == sorted(item.pk for item in items)
    decisions = Decision.objects.filter(review_item__in=items)
    assert decisions.count() == len(items)
    for analyst, pks in zip(analysts, (first, second), strict=True):
        assert set(decisions.filter(reviewer=analyst).values_list("review_item_id", flat=True)) == set(pks)


def the_audit_chain_is_linked_by_beat_and_verifies() -> None:
    wait_until(
        lambda: not AuditPending.objects.exists(),
        timeout=3 * AUDIT_LINK_EVERY_SECONDS,
        what="beat's audit-chain-extend to link every event and prediction",
    )
    out = StringIO()
    call_command("verify_audit_log", "--no-link", stdout=out)
    assert re.match(r"verified \d+ events \(0 not linked yet\)", out.getvalue()), out.getvalue()


def scheduled_tasks_are_sent_once(cluster: Cluster) -> None:
    """Beat sends audit-chain-extend every 5 s; whichever worker runs it, it runs that often,
    not twice as often (a second beat, or a worker that also beats, would double it)."""

    def link_runs() -> list[datetime]:
        return sorted(
            datetime.fromisoformat(line["time"])
            for worker in cluster.workers
            for line in worker_lines(worker)
            if line.get("message") == "task started" and line.get("task") == "audit.tasks.audit_chain_extend"
        )

    runs = wait_until(
        lambda: (r := link_runs()) and len(r) >= 4 and r, timeout=40, what="beat to send 4 links"
    )
    span = (runs[-1] - runs[0]).total_seconds()
    # Over `span`, span / 5 + 1 runs, one more for jitter; two beats made 4 in 5 s.
    assert len(runs) <= span / AUDIT_LINK_EVERY_SECONDS + 2, [run.isoformat() for run in runs]


def worker_lines(worker: CeleryWorker) -> list[dict]:
    return [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]


def work(base: str, analyst) -> list[int]:
    """An analyst's browser: claim the next item, decide it (which claims the next), until the
    queue is empty. The ids of the items it decided, in order."""
    session = requests.Session()
    browser = Client()
    browser.force_login(analyst)
    token = secrets.token_hex(16)  # any 32 characters: the cookie and the header must match
    session.cookies.set("sessionid", browser.cookies["sessionid"].value)
    session.cookies.set("csrftoken", token)
    headers = {"X-CSRFToken": token}
    decided = []
    response = session.post(f"{base}/reviews/next/", headers=headers, allow_redirects=False, timeout=30)
    while True:
        assert response.status_code == 302, response.text[:500]
        match = re.fullmatch(r"/reviews/items/(\d+)/", response.headers["Location"])
        if match is None:
            assert response.headers["Location"] == "/reviews/"  # the queue is empty
            return decided
        pk = int(match.group(1))
        item = ReviewItem.objects.select_related("prediction").get(pk=pk)
        assert item.claimed_by_id == analyst.pk
        response = session.post(
            f"{base}/reviews/items/{pk}/decide/",
            data={"outcome": "confirmed", "digest": review_digest(item.prediction, blind=item.blind)},
            headers=headers,
            allow_redirects=False,
            timeout=30,
        )
        decided.append(pk)
