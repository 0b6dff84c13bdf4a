"""Celery adapters: primitive arguments in, a service call, nothing else."""

from celery import shared_task

from predictions import services


@shared_task(time_limit=120, soft_time_limit=100)
def routing_sweep() -> int:
    return services.routing_sweep()


@shared_task(time_limit=120, soft_time_limit=100)
def reason_codes_index_flush() -> int:
    return services.reason_codes_index_flush()
