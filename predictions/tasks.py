"""Celery adapters: primitive arguments in, a service call, nothing else."""

from celery import shared_task

from predictions import services


@shared_task(
    bind=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=10,
    time_limit=60,
    soft_time_limit=50,
)
def route_predictions(self, prediction_ids: list[int]) -> int:
    return services.predictions_route(prediction_ids=prediction_ids)


@shared_task(time_limit=120, soft_time_limit=100)
def sweep_routing() -> int:
    return services.routing_sweep()
