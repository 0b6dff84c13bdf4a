"""Celery adapters: primitive arguments in, a service call, nothing else."""

from celery import shared_task

from lifecycle import retraining, services


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


# On RETRAIN_SCHEDULE (reviewapp/celery.py), off by default. No retries: a refusal (too few
# labels) is logged and returned by the service, and anything else would fail again at once.
# The hard limit stays below the broker's visibility timeout (600 s), so it is never run twice.
@shared_task(time_limit=540, soft_time_limit=500)
def model_retrain() -> int | None:
    version = retraining.model_retrain()
    return version.version if version else None
