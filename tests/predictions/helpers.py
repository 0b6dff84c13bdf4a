import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, connections
from rest_framework.test import APIClient

PREDICT_URL = "/api/v1/predictions/"
BATCH_URL = "/api/v1/predictions/batch/"


def post_json(client, url: str, payload):
    """POST a body as JSON text, so tests can also send what json.dumps would not write."""
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(url, body, content_type="application/json")


@contextmanager
def predictions_table_locked() -> Iterator[None]:
    """Block every insert into the predictions table (reads go on) until the block ends."""
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("LOCK TABLE predictions_prediction IN EXCLUSIVE MODE")
        yield
    finally:
        other.rollback()
        other.close()


def detail_url(request_id: str) -> str:
    return f"{PREDICT_URL}{request_id}/"


def artifact_tamper(version) -> None:
    """Flip one byte of the version's artifact where processes load it from: the database."""
    from predictions.models import ModelArtifact

    data = bytearray(ModelArtifact.objects.get(pk=version.pk).data)
    data[len(data) // 2] ^= 0x01
    ModelArtifact.objects.filter(pk=version.pk).update(data=bytes(data))


def artifact_remove(version) -> None:
    """Lose every copy of the version's artifact: the database's and the file."""
    from predictions import registry
    from predictions.models import ModelArtifact

    ModelArtifact.objects.filter(pk=version.pk).delete()
    registry.artifact_full_path(version).unlink(missing_ok=True)


def post_at_once(secret: str, payload: dict, *, threads: int = 8) -> list[tuple[int, dict]]:
    """The same scoring request from `threads` clients released together; (status, JSON) each."""
    start = threading.Barrier(threads)
    answers: list[tuple[int, dict]] = []

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        try:
            start.wait(timeout=30)
            response = post_json(client, PREDICT_URL, payload)
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    workers = [threading.Thread(target=post) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return answers


def chain_entries(request_ids: list[str]) -> int:
    """How many times the audit chain holds these predictions, linked or queued: once each, if all is well."""
    from audit.models import AuditLink, AuditPending
    from predictions.models import Prediction

    ids = list(Prediction.objects.filter(request_id__in=request_ids).values_list("pk", flat=True))
    queued = AuditPending.objects.filter(source="prediction", object_id__in=ids).count()
    return queued + AuditLink.objects.filter(source="prediction", object_id__in=ids).count()
