"""The reason-code index: scoring appends to its pending list, beat merges the list every few
seconds (`reason_codes_index_flush`), and searches find a prediction's reasons either way."""

import pytest
from django.db import connection

from predictions import services
from predictions.models import Prediction
from reviewapp.celery import app as celery_app

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("active_model")]


def _index_options() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'prediction_reason_codes'")
        return set(cursor.fetchone()[0] or [])


def _with_top_reason(feature: str) -> set[str]:
    found = Prediction.objects.filter(reason_codes__contains=[{"feature": feature}])
    return set(found.values_list("request_id", flat=True))


def test_the_index_takes_new_entries_in_a_pending_list_of_16_mib():
    assert _index_options() == {"fastupdate=on", "gin_pending_list_limit=16384"}


def test_scored_predictions_wait_in_the_pending_list_until_the_flush_merges_them(transactions):
    services.reason_codes_index_flush()  # whatever an earlier test left
    items = [{"request_id": f"order-{n}", "features": f} for n, f in enumerate(transactions(50))]
    created, _ = services.predictions_create_batch(api_key=None, items=items)
    feature = created[0].reason_codes[0]["feature"]
    expected = {p.request_id for p in created if any(r["feature"] == feature for r in p.reason_codes)}

    assert _with_top_reason(feature) == expected  # found in the pending list

    assert services.reason_codes_index_flush() > 0  # pages merged
    assert services.reason_codes_index_flush() == 0  # nothing left
    assert _with_top_reason(feature) == expected  # found in the index proper


def test_beat_flushes_it_every_five_seconds():
    entry = celery_app.conf.beat_schedule["flush-reason-codes-index"]

    assert entry["task"] == "predictions.tasks.reason_codes_index_flush"
    assert entry["schedule"].total_seconds() == 5
