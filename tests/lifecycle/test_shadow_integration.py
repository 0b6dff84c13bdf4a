"""A challenger shadowing through a real Celery worker, Redis and PostgreSQL.

The scoring requests here publish as a web process does: after the commit, coalesced, by the
task's name; the worker (a separate `celery -A reviewapp worker` process) scores and explains
them with the challenger.
"""

from __future__ import annotations

import pytest

from lifecycle import services
from lifecycle.models import ShadowScore
from predictions.models import Prediction
from tests.predictions.test_routing_integration import worker, worker_queue  # noqa: F401  fixtures
from tests.worker import wait_until

pytestmark = pytest.mark.integration


def test_every_live_prediction_is_scored_by_the_challenger_in_the_worker(
    worker,  # noqa: F811
    active_model,
    register_model,
    api_client,
    transactions,
    settings,
):
    settings.TASK_COALESCE_SECONDS = 0.3  # several requests' predictions in one message
    challenger = register_model(activate=False)
    services.shadow_start(version=challenger.version, actor="test")
    worker.start()

    request_ids = []
    for features in transactions(6, seed=31):
        response = api_client.post("/api/v1/predictions/", {"features": features}, format="json")
        assert response.status_code == 201
        request_ids.append(response.json()["request_id"])

    def shadowed() -> int:
        return ShadowScore.objects.filter(
            model_version=challenger, prediction__request_id__in=request_ids
        ).count()

    wait_until(lambda: shadowed() == len(request_ids), timeout=30, what=f"6 shadow scores ({shadowed()})")
    # The same trained model: the challenger's score is the active one's.
    for prediction in Prediction.objects.filter(request_id__in=request_ids):
        assert prediction.shadow_scores.get().score == pytest.approx(prediction.score)
