"""Celery adapters: primitive arguments in, a service call, nothing else."""

from datetime import datetime

from celery import Task, shared_task

from lifecycle import retraining, services
from lifecycle.models import ShadowPeriod


# predictions sends this task by name (predictions.services.SHADOW_TASK): keep the two in step.
# Acked late like every task (reviewapp/celery.py): a worker dying mid-batch leaves it to
# another, and the insert is idempotent.
@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    time_limit=120,
    soft_time_limit=100,
)
def shadow_scores_create(prediction_ids: list[int]) -> int:
    return services.shadow_scores_create(prediction_ids=prediction_ids)


@shared_task(time_limit=120, soft_time_limit=100)
def shadow_sweep() -> int:
    return services.shadow_sweep()


# A backfill asked for from a page or the API: a run takes up to BACKFILL_RUN predictions
# (well within its time limit at ~1,000 a second) and sends itself again for the rest.
BACKFILL_RUN = 20_000


@shared_task(bind=True, time_limit=120, soft_time_limit=100)
def shadow_backfill(self: Task, period_id: int, since: str) -> int:
    period = ShadowPeriod.objects.select_related("model_version").get(pk=period_id)
    taken = services.shadow_backfill(period=period, since=datetime.fromisoformat(since), limit=BACKFILL_RUN)
    if taken == BACKFILL_RUN:
        self.apply_async(kwargs={"period_id": period_id, "since": since})
    return taken


# On RETRAIN_SCHEDULE (reviewapp/celery.py), off by default. No retries: a refusal (too few
# labels) is logged and returned by the service, and anything else would fail again at once.
# The hard limit stays below the broker's visibility timeout (600 s), so it is never run twice.
@shared_task(time_limit=540, soft_time_limit=500)
def model_retrain() -> int | None:
    version = retraining.model_retrain()
    return version.version if version else None
