"""The web server stops gracefully: a request in flight when it is told to stop is answered,
and what it answered is stored, before the server exits (a rollout's SIGTERM)."""

from __future__ import annotations

import signal
import threading

import pytest
import requests
from django.db import connection

from predictions.models import Prediction
from tests.predictions.helpers import predictions_table_locked
from tests.servers import WebServer, web_environment
from tests.worker import database_url, wait_until

pytestmark = pytest.mark.postgres

APPLICATION_NAME = "tests-ops-shutdown"


def web_waits_on_the_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'",
            [APPLICATION_NAME],
        )
        return cursor.fetchone()[0] == 1


def test_a_request_in_flight_is_answered_and_stored_before_the_server_exits(
    transactional_db, active_model, api_key_and_secret, transactions, tmp_path
):
    env = web_environment(
        database_url=database_url(connection.settings_dict, application_name=APPLICATION_NAME),
        tmp_path=tmp_path,
        REDIS_URL="",  # routing in-process: nothing else to wait for
        WEB_CONCURRENCY="1",
    )
    server = WebServer(env=env, log=tmp_path / "web.log").wait_ready()
    answer: dict[str, requests.Response] = {}

    def score() -> None:
        answer["response"] = requests.post(
            f"{server.base}/api/v1/predictions/",
            json={"request_id": "in-flight-at-sigterm", "features": transactions(1)[0]},
            headers={"Authorization": f"Api-Key {api_key_and_secret[1]}"},
            timeout=60,
        )

    try:
        with predictions_table_locked():
            request = threading.Thread(target=score)
            request.start()
            wait_until(web_waits_on_the_lock, timeout=30, what="the request to wait on the lock")
            server.process.send_signal(signal.SIGTERM)
            # Told to stop, the server still holds on: its one request is not finished.
            wait_until(lambda: "Shutting down" in server.log.read_text(), timeout=30, what="the shutdown")
            assert server.process.poll() is None
        request.join(timeout=60)
        exit_code = server.process.wait(timeout=60)
    finally:
        server.stop()

    assert answer["response"].status_code == 201
    assert exit_code == 0
    assert Prediction.objects.filter(request_id="in-flight-at-sigterm").exists()
